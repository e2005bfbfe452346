// Package memstore is an in-memory implementation of store.Store: the
// store of the blast package's Examples, of blast/blasttest and of
// benchmarks. It passes the store/storetest conformance suite.
//
// memstore should not be used in production: nothing survives the process,
// so the ledger's crash guarantees hold only while it lives. Use
// store/sqlitestore (one process) or store/pgstore (several) instead.
//
// # Performance
//
// Rows live in one slice indexed by ID; each blast keeps a FIFO of due
// queued rows and a heap of deferred ones, so ClaimRows and
// RecordOutcomes cost O(batch) under one mutex, and per-blast counters are
// maintained incrementally so Stats is O(number of distinct reasons).
package memstore
