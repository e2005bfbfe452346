package store

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/carecast/carecast"
)

// RateBudget is an optional interface of stores that several engine
// processes share (store/pgstore, store/sqlitestore): it hands out send
// slots from one budget per key, so a limit of 100 messages a second is
// 100 a second for the account, not per process. The engine detects it
// with a type assertion; a store without it leaves rate limiting to each
// process's own limiter.
//
// The budget is a GCRA token bucket (generic cell rate algorithm): one
// "theoretical arrival time" per key, advanced atomically. Over any
// interval of length d, the slots of one key, whichever process reserved
// them, never number more than Burst + Rate·d (rounded down).
type RateBudget interface {
	// ReserveSends reserves p.N consecutive send slots of budget p.Key
	// and returns when each may be used, in ascending order, none before
	// p.Now. The caller must not send before a slot's time; a slot it
	// does not use is lost (the flow becomes slower, never faster), so
	// reserve only what is about to be sent. Reservations are not
	// cancellable. Safe for concurrent use by goroutines and processes;
	// processes must have synchronised clocks (p.Now is the caller's).
	// Invalid params (see RateParams.Validate) are an error.
	ReserveSends(ctx context.Context, p RateParams) ([]time.Time, error)
}

// RateParams asks a RateBudget for send slots.
type RateParams struct {
	// Key names the budget: one per provider account or sender (for
	// example "sms" or "sms:MG123").
	Key string
	// Rate is the sustained number of slots per second (> 0).
	Rate float64
	// Burst is how many slots may be handed out at once after a quiet
	// period (≥ 1).
	Burst int
	// N is the number of slots to reserve (≥ 1).
	N int
	// Now is the current time.
	Now time.Time
}

// Validate reports whether p can be served.
func (p RateParams) Validate() error {
	switch {
	case p.Key == "":
		return fmt.Errorf("store: RateParams.Key is required")
	case !(p.Rate > 0) || math.IsInf(p.Rate, 0):
		return fmt.Errorf("store: RateParams.Rate must be positive and finite")
	case p.Burst < 1:
		return fmt.Errorf("store: RateParams.Burst must be at least 1, got %d", p.Burst)
	case p.N < 1:
		return fmt.Errorf("store: RateParams.N must be at least 1, got %d", p.N)
	}
	return nil
}

// Interval returns the GCRA emission interval, 1/Rate, rounded up to the
// nanosecond (rounding up keeps the budget a ceiling).
func (p RateParams) Interval() time.Duration {
	return time.Duration(math.Ceil(float64(time.Second) / p.Rate))
}

// Slots computes a reservation for a store implementing RateBudget. tat
// is the key's stored theoretical arrival time (zero for a new key); it
// returns the slots for p and the new tat to store, atomically with the
// read. Stores share it so that they agree on the arithmetic:
//
//	base    = max(tat, Now)
//	slot i  = max(Now, base + i·Interval − (Burst−1)·Interval)
//	new tat = base + N·Interval
func (p RateParams) Slots(tat time.Time) (slots []time.Time, newTAT time.Time) {
	iv := p.Interval()
	base := tat
	if base.Before(p.Now) {
		base = p.Now
	}
	tau := time.Duration(p.Burst-1) * iv
	slots = make([]time.Time, p.N)
	for i := range slots {
		t := base.Add(time.Duration(i)*iv - tau)
		if t.Before(p.Now) {
			t = p.Now
		}
		slots[i] = t
	}
	return slots, base.Add(time.Duration(p.N) * iv)
}

// PendingCounter is an optional interface of stores that can count a
// blast's unfinished rows without aggregating its whole ledger (the SQL
// stores count entries of their partial claim and lease indexes). The
// engine uses it, when present, to decide whether a blast is complete:
// Stats scans every row, which on a million-row blast takes a second.
type PendingCounter interface {
	// PendingRows returns how many rows of the blast are queued and how
	// many are sending. A missing blast (or one of another organization)
	// is ErrNotFound.
	PendingRows(ctx context.Context, orgID, blastID string) (queued, sending int, err error)
}

// SentCounter is an optional interface of stores that count recent sends
// to one address, for per-recipient frequency caps (compliance.md TM-02:
// Florida, Oklahoma and Maryland allow at most three marketing texts a
// number in 24 hours). All the stores of this module implement it; the
// engine detects it with a type assertion and, without it, cannot apply
// the caps (it logs that once). The engine asks once per claimed batch,
// for the batch's addresses.
type SentCounter interface {
	// SentCounts returns, for each of addresses that has any, how many
	// ledger rows of organization orgID's blasts on channel ch with
	// purpose pu were sent to it (their SentAt is set) at or after since.
	// Addresses without such rows are absent from the map. Rows of other
	// organizations, channels or purposes never count.
	SentCounts(ctx context.Context, orgID string, ch carecast.Channel, pu carecast.Purpose, addresses []string, since time.Time) (map[string]int, error)
}

// FailureLog is an optional interface of stores that list an address's
// recent failures of one kind, for suppressing an address that keeps
// failing softly (compliance.md BO-02: a mailbox full on three days
// spread over 72 hours; SF-01: a handset unreachable three times in four
// days). All the stores of this module implement it; without it the engine
// does not suppress for repeated soft failures (it logs that once).
type FailureLog interface {
	// FailureTimes returns, oldest first, the FailedAt times of
	// organization orgID's ledger rows on channel ch to address that were
	// sent (SentAt set), then failed with Reason reason (a provider event)
	// at or after since.
	FailureTimes(ctx context.Context, orgID string, ch carecast.Channel, address, reason string, since time.Time) ([]time.Time, error)
}

// DomainHealth is an optional interface of stores that keep daily counts
// of delivered emails and complaints per sending domain, for the
// complaint-rate guardrail (compliance.md EM-08: Gmail's 0.1% warning and
// 0.3% limit). All the stores of this module implement it; without it the
// engine cannot apply the guardrail (it logs that once).
type DomainHealth interface {
	// AddDomainCounts adds delivered and complaints to the counts of
	// organization orgID's sending domain on the UTC day of at.
	AddDomainCounts(ctx context.Context, orgID, domain string, at time.Time, delivered, complaints int) error
	// DomainDays returns the domain's counts for the UTC days from the
	// day of from through the day of to, oldest first; days without
	// counts are omitted.
	DomainDays(ctx context.Context, orgID, domain string, from, to time.Time) ([]DomainDay, error)
}

// DomainDay is one UTC day of a sending domain's counts.
type DomainDay struct {
	// Day is the day's midnight, UTC.
	Day                   time.Time
	Delivered, Complaints int
}

// UnixDay is the number of the UTC day of t (days since 1970-01-01),
// the key stores use for DomainDay.
func UnixDay(t time.Time) int64 {
	s := t.Unix()
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return d
}

// DayStart is the midnight (UTC) of day number d.
func DayStart(d int64) time.Time { return time.Unix(d*86400, 0).UTC() }

// AuditLog is an optional interface of stores that keep an append-only
// audit trail (compliance.md HI-09, 45 CFR 164.312(b)): who created, sent,
// scheduled or cancelled each blast, consent changes with their source,
// and provider-driven state changes. It has no method that changes or
// removes an entry, and the SQL stores also refuse UPDATE and DELETE on
// the table with triggers. Per-recipient inclusion and exclusion with the
// reason is the ledger itself (rows are never deleted, statuses only move
// forward). Retention is the host's: HIPAA documentation is kept six years
// (45 CFR 164.316(b)(2)).
type AuditLog interface {
	// AppendAudit records the entries in order; the store assigns
	// their Seq.
	AppendAudit(ctx context.Context, entries []AuditEntry) error
	// AuditEntries returns organization q.OrgID's entries (of blast
	// q.BlastID when set) with Seq > q.AfterSeq, in Seq order, at most
	// q.Limit (> 0).
	AuditEntries(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
}

// AuditEntry is one audited action. Its fields hold identifiers, codes
// and counts, never message bodies, names, phone numbers or emails.
type AuditEntry struct {
	// Seq orders the entries; the store assigns it.
	Seq int64
	// OrgID is the organization; At when the action happened.
	OrgID string
	At    time.Time
	// Actor is the staff user's opaque ID, "system" or "provider".
	Actor string
	// Action names what happened ("blast.sent", "consent.sms_opt_out",
	// "event.delivered", …).
	Action string
	// BlastID, PatientID and RowID name what it happened to, when any.
	BlastID   string
	PatientID string
	RowID     int64
	// Detail is a PHI-free note: a version, counts, a source.
	Detail string
}

// AuditQuery selects audit entries.
type AuditQuery struct {
	OrgID    string
	BlastID  string
	AfterSeq int64
	Limit    int
}

// BlastHeaders is an optional interface of stores that can read a blast
// without its Content. The engine's status, results, Add Recipients and
// tracking paths read blasts through it, so checking a blast's status
// never reads its attachments (a sent email may carry tens of megabytes).
// A store without it is read with BlastStore.Blast and the content
// dropped.
type BlastHeaders interface {
	// BlastHeader returns the blast exactly as BlastStore.Blast does,
	// with Content nil; ErrNotFound likewise.
	BlastHeader(ctx context.Context, orgID, id string) (Blast, error)
}

// LinkIndex is an optional interface of stores that keep a sent email's
// link targets apart from its content, so that a tracked click is
// answered with one small read: no content is loaded and nothing is
// compiled. The engine saves the links when an email blast is sent or
// scheduled; without a LinkIndex (or for a blast whose links were never
// saved) it compiles the email once to find them and keeps only the
// links, in a bounded cache.
type LinkIndex interface {
	// SaveLinks records the link targets of the organization's blast,
	// in link-index order, replacing any recorded before. An empty list
	// records that the email has no tracked links.
	SaveLinks(ctx context.Context, orgID, blastID string, links []string) error
	// Links returns the links SaveLinks recorded for the blast, or an
	// error wrapping ErrNotFound when none were (another organization's
	// blast included).
	Links(ctx context.Context, orgID, blastID string) ([]string, error)
}
