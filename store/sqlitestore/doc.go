// Package sqlitestore is the embedded default store.Store: the whole
// ledger in one SQLite file, through the pure-Go driver modernc.org/sqlite
// (no cgo). A file path is all it needs:
//
//	st, err := sqlitestore.Open(ctx, "/var/lib/clinic/carecast.db", nil)
//	if err != nil { … }
//	defer st.Close()
//	engine, err := blast.New(st, …)
//
// Most code should use package blast; this package only opens the store.
// It passes the store/storetest conformance suite.
//
// # Schema and migrations
//
// The schema is created and migrated on Open from versioned SQL files
// embedded in the binary (migrations/NNNN_name.sql). Pending migrations
// are applied in one transaction and recorded in the schema_migrations
// table; a database written by a newer version of this package is refused
// rather than guessed at. Times are stored as INTEGER Unix nanoseconds
// (0 means unset), money as INTEGER micro-units.
//
// # Connections: one writer
//
// SQLite allows one writer at a time per database file. The Store
// therefore holds exactly one write connection, fed by a single writer
// goroutine, and a separate pool of read-only connections (Config.ReadConns)
// for queries; the database runs in WAL mode, so readers never block the
// writer nor the writer the readers. Other settings: synchronous=NORMAL
// (a commit is durable against a process crash, the last transactions may
// be lost on power failure), busy_timeout (Config.BusyTimeout), foreign
// keys on, immediate transactions.
//
// Concurrent writes from many goroutines are grouped: the writer takes
// every write request waiting at that moment (up to Config.MaxBatch) and
// commits them in one transaction, each under its own savepoint so that one
// failing request is rolled back alone. Per-call latency stays that of one
// transaction while a burst of engine workers pays for one commit. Bulk
// methods (InsertRows, ClaimRows, RecordOutcomes) are batches of their own:
// multi-row INSERTs of 100 rows, one UPDATE … RETURNING per claim, one
// prepared statement per outcome batch.
//
// # The single-writer caveat
//
// Several processes may open the same file (the conformance suite runs a
// second Store on it, and a lease taken by one process expires through
// another), but they then compete for SQLite's one write lock: each waits
// up to BusyTimeout and throughput does not grow with processes. Run one
// engine process per SQLite file; for several instances sharing a blast,
// use store/pgstore. The file must be on a local disk (WAL needs shared
// memory; network file systems are not supported).
//
// # Memory and checkpoints
//
// The store's memory does not grow with the audience: page caches are
// bounded (Config.WriteCacheKiB, Config.ReadCacheKiB per reader), Stats is
// one pass without a sort, and claims and outcomes are batches. The WAL is
// checkpointed every 10,000 pages (about 40 MB of WAL on disk): rows that
// a claim and an outcome rewrite within that span reach the database file
// once.
//
// # IDs
//
// Ledger row IDs are SQLite rowids: time-ordered integers increasing in
// insertion order, which keeps inserts appending to the end of the B-tree
// (random keys are several times slower). Blast IDs are the engine's
// (time-ordered UUIDv7 from github.com/google/uuid are the fastest choice);
// the rows reference blasts through a compact integer key, not the string.
//
// # Beyond store.Store
//
// The Store also implements store.RateBudget (a send budget shared by
// every process using the file), store.PendingCounter (a blast's queued
// and sending rows counted from the partial indexes), store.SentCounter
// (recent sends to an address, for frequency caps), store.DomainHealth
// (daily delivered and complaint counts per sending domain),
// store.AuditLog (an append-only audit table, enforced by triggers),
// store.BlastHeaders, store.LinkIndex (the blast_links table) and
// cohort.Store (saved cohorts as JSON, with time-ordered UUIDv7 IDs), so
// one file holds everything the engine persists.
//
// # Indexes
//
// Partial indexes keep the hot path cheap: a row is in the claim index
// only while queued and in the lease index only while sending, so each
// status change touches at most two small indexes.
package sqlitestore
