// Package pgstore is a store.Store in PostgreSQL (through
// github.com/jackc/pgx/v5), for hosts that run several engine instances
// against one database. Most code should use package blast; this package
// only opens the store. It passes the store/storetest conformance suite.
//
//	st, err := pgstore.Open(ctx, &pgstore.Config{
//		ConnString: "postgres://carecast@db:5432/clinic?sslmode=require",
//	})
//	if err != nil { … }
//	defer st.Close()
//
// # Several processes, one blast
//
// Every engine instance opens its own Store on the same database (and
// schema) and uses a distinct blast.Config.InstanceID. Then:
//
//   - no row is claimed twice: ClaimRows selects due rows with
//     FOR UPDATE SKIP LOCKED and moves them to sending under a lease in
//     the same statement, so concurrent claimers (goroutines or
//     processes) take disjoint rows without waiting for each other;
//   - when an instance dies, its leases expire and ExpireLeases (run by
//     any surviving instance) marks its in-flight rows in doubt, while
//     the rows it never claimed are simply claimed by the others;
//   - the send rate is one budget for the account: the Store implements
//     store.RateBudget, a GCRA token bucket kept in one table row per
//     provider key and advanced atomically, so a limit of 100/s is 100/s
//     across all instances, not per instance.
//
// # Migrations
//
// The schema lives in versioned SQL files embedded in the binary
// (migrations/NNNN_name.sql). Open applies the pending ones, unless
// Config.SkipMigrate is set; Migrate applies them explicitly (for example
// from a deploy step, with a role allowed to change the schema, before
// starting instances whose role is not). Both run in one transaction under
// a transaction-scoped advisory lock, so instances starting together
// migrate once, and both record versions in schema_migrations. A database
// migrated by a newer version of this package is refused.
//
// # Schemas
//
// Config.Schema names the schema holding the tables (default "public");
// the migrations create it if missing, and it is the search_path of every
// pooled connection. Tests give each test its own schema and drop it afterwards,
// so test runs never collide.
//
// # Bulk paths
//
// InsertRows writes a ledger batch with COPY (falling back to
// INSERT … ON CONFLICT DO NOTHING when some patients already have rows, as
// on a resumed ledger write or Add Recipients); RecordOutcomes applies a
// whole batch with one UPDATE … FROM unnest(…) statement; Stats,
// Engagement and Analytics are single aggregate queries.
//
// # Claims on a busy table
//
// Every ledger update in PostgreSQL leaves the old row version in each
// index until VACUUM removes it, so a claim that always read the claim
// index from its start would step over the entries of every row already
// sent. ClaimRows therefore resumes where this Store's previous claim of
// the blast ended and scans from the start only when that comes up short
// (and every 16th claim, so rows another instance released behind the
// cursor wait a few batches at most). The blast's key is a scalar
// subquery, so even a table without statistics (autovacuum off, or a blast
// written faster than autoanalyze runs) gets the plan that reads the first
// due entries of the index.
//
// Outcome and ledger-insert transactions commit with
// synchronous_commit=off: if the database server crashes, a lost outcome
// leaves its row sending, so it becomes in doubt when the lease expires
// (never sent again), and lost ledger rows are rewritten by the engine's
// resumed ledger write. Claims always commit synchronously: a lost claim
// could let a sent row be claimed again.
//
// # Beyond store.Store
//
// The Store also implements store.RateBudget, store.PendingCounter,
// store.SentCounter (from the (address, sent_at) index),
// store.DomainHealth (the domain_days table), store.AuditLog (the
// audit table, append-only by trigger), store.BlastHeaders,
// store.LinkIndex (the blast_links table) and
// cohort.Store (saved cohorts in a jsonb column, time-ordered UUIDv7 IDs).
//
// # Representation
//
// Times are bigint Unix nanoseconds (0 means unset), keeping the engine
// clock's full precision; money is bigint micro-units; row IDs come from
// an identity column and increase in insertion order.
//
// # Testing
//
// The package's tests run when CARECAST_TEST_POSTGRES holds a connection
// string, for example
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable; otherwise they
// skip, saying so.
package pgstore
