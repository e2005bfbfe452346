// Package storetest is the conformance suite for implementations of
// store.Store. Every store of this module runs it (store/memstore,
// store/sqlitestore, store/pgstore), and a host that writes its own store
// runs it the same way:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, storetest.Harness{
//			NewStore: func(t *testing.T) store.Store {
//				s := mystore.Open(…) // an empty store
//				t.Cleanup(func() { s.Close() })
//				return s
//			},
//		})
//	}
//
// # What it checks
//
// Every method of store.Store, one subtest each, and the properties the
// engine relies on across methods:
//
//   - blasts: creation, optimistic concurrency (Version), newest-first
//     keyset pagination, status filters, the active-blast query;
//   - the ledger: idempotent row insertion (Add Recipients and resumed
//     ledger writes never duplicate a patient), due-time ordering of
//     claims, lease ownership of outcomes, the forward-only state machine
//     of the store package documentation, lease expiry turning rows that
//     may have been sent into in_doubt (never back to queued), Retry
//     Failed touching only failed (and optionally in_doubt) rows, keyset
//     pagination with every filter;
//   - aggregates: Stats, Engagement and Analytics against counts computed
//     independently from the rows;
//   - events: deduplication by event ID, event moves that follow the state
//     machine, engagement counters, suppressions;
//   - tenant isolation: every read and write through another
//     organization's ID sees nothing;
//   - concurrency: many goroutines (and, when Harness.OpenPeer is set,
//     several store handles on the same database, as several processes
//     would) claim a blast's rows and no row is claimed twice.
//
// # Harness and capabilities
//
// Harness.NewStore is the only required field. Harness.OpenPeer, when set,
// opens a second handle on the same data (a second process's view), which
// enables the multi-instance tests: concurrent claimers spread over both
// handles, a lease taken through one expired through the other, and a
// shared send budget. Optional store interfaces are detected and tested
// when present, skipped otherwise: store.RateBudget (slots of one key
// never exceed Burst + Rate over any one-second window, whichever handle
// reserved them), store.PendingCounter (agrees with the ledger),
// store.BlastHeaders (every field but the content) and store.LinkIndex
// (links kept in order, replaced, per organization). ListBlasts and
// ActiveBlasts must leave the content out.
// Harness.Claimers and Harness.ConcurrentRows size the concurrency test.
//
// # Saved cohorts
//
// RunCohorts is the suite of cohort.Store (saved cohorts): IDs assigned,
// CreatedAt kept on replace, name-then-ID order, organization isolation,
// ErrNotFound and ErrInvalidCohort, contact lists round-tripping. It runs
// against cohort.MemStore here and against the SQL stores in their
// packages.
//
// # A benchmark
//
// BenchLedgerCycle measures a store's share of one message (insert,
// claim, record sent, in batches of 500) so stores can be compared on the
// engine's hot path; memstore, sqlitestore and pgstore each call it from a
// BenchmarkLedgerCycle.
//
// # Times
//
// The suite uses UTC instants with whole microseconds, the precision of
// PostgreSQL's timestamptz, and compares times with time.Time.Equal, so a
// store may return them in any location.
package storetest
