// Package store defines the persistence interface of the blast engine: the
// blasts, the durable per-recipient send ledger, provider events and
// suppressions. Most code should use package blast; this package is for
// writing and configuring stores.
//
// Stability: the interfaces here are implemented by the stores of this
// module (store/memstore, store/sqlitestore, store/pgstore). Hosts may
// implement them for another database, but every implementation must pass
// the conformance suite in store/storetest; methods may be added in minor
// versions.
//
// # The ledger
//
// Sending a blast writes one [Row] per recipient: [RowQueued] for patients
// who will be sent the message, or [RowSkipped] with the eligibility reason
// for those who will not. Workers claim queued rows with a lease
// ([Store.ClaimRows]), send, and record the outcome ([Store.RecordOutcomes]).
// A row whose lease expires while it is [RowSending] may already have been
// accepted by the provider, so [Store.ExpireLeases] moves it to
// [RowInDoubt]; it is never claimed again automatically. This is how a
// crash neither loses nor doubles a confirmed send.
//
// # Row state machine
//
// Statuses only move forward. The complete set of transitions a store
// performs (and the conformance suite checks) is:
//
//	(new)      → queued | skipped               InsertRows
//	queued     → sending                        ClaimRows (due rows only)
//	queued     → cancelled                      CancelQueued
//	sending    → sent | failed | in_doubt |
//	             skipped | opted_out | queued   RecordOutcomes (lease owner only)
//	sending    → in_doubt                       ExpireLeases (lease expired)
//	in_doubt   → sent | failed | skipped |
//	             opted_out                      RecordOutcomes (the late answer of
//	                                            the owner whose lease expired)
//	failed     → queued                         RequeueFailed (Retry Failed)
//	in_doubt   → queued                         RequeueFailed with IncludeInDoubt
//	sent       → delivered | failed             ApplyEvent (delivered, undelivered)
//	delivered  → failed                         ApplyEvent (a late bounce)
//	in_doubt   → sent | delivered | failed      ApplyEvent (the provider knew it)
//
// sending → queued is a retry (or the release of a row never handed to the
// provider) and never skips the lease rules; every other move not listed is
// refused silently by the store (the outcome or event is not applied).
//
// # Scale
//
// Every write that touches many rows is a batch: [Store.InsertRows],
// [Store.ClaimRows] and [Store.RecordOutcomes] take or return slices so a
// SQL store can make one round trip per batch, and [Store.Stats] is one
// aggregate query. A SQL store needs these indexes: rows (blast_id,
// patient_id) unique; rows (blast_id, status, next_attempt_at, id);
// rows (status, lease_until); rows (provider_message_id); rows (org_id,
// channel, address, sent_at); events (id) unique; suppressions (org_id,
// channel, address).
//
// # Optional capabilities
//
// The engine detects these with type assertions; every store of this
// module implements them, and a host's store may leave any out (the
// engine then logs which feature is off): [RateBudget] (one rate limit
// shared by every process), [PendingCounter], [SentCounter] (state
// frequency caps and the healthcare-exemption limit), [FailureLog]
// (suppressing an address that keeps failing softly), [DomainHealth]
// (the complaint-rate guardrail), [AuditLog] (the append-only audit
// trail), [BlastHeaders] (status reads without the content) and
// [LinkIndex] (tracked clicks answered without the content).
//
// ListBlasts and ActiveBlasts never return a blast's Content: a list, or
// the scheduler's poll, must not read attachments.
//
// # Multi-tenancy
//
// Every method that reads or writes a blast's data takes the organization
// ID and must behave as if rows of other organizations did not exist: a
// blast of organization A looked up with organization B's ID is
// [ErrNotFound].
//
// # Errors
//
// Stores return [ErrNotFound] for a missing blast or row and [ErrConflict]
// for an optimistic-concurrency failure, possibly wrapped (test with
// errors.Is). Any other error is a storage failure the engine reports or
// retries. Errors never contain PHI.
package store
