package store

import (
	"context"
	"errors"
	"time"

	"github.com/carecast/carecast"
)

// Sentinel errors. Stores may wrap them; callers test with errors.Is.
var (
	// ErrNotFound is returned when the blast or row asked for does not
	// exist in the given organization.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict is returned by UpdateBlast when the stored version is
	// not the version the caller read (someone else updated the blast
	// in between), and by CreateBlast when the ID already exists.
	ErrConflict = errors.New("store: conflict")
)

// BlastStatus is the lifecycle state of a blast.
type BlastStatus string

// Blast statuses. A blast is created as a draft; Send makes it sending
// (or scheduled, then sending when its time comes); it becomes completed
// when no row is queued or sending, and may go back to sending when the
// user retries failed rows or adds recipients. The engine pauses a
// sending blast the provider keeps refusing for the sender's sake; Resume
// makes it sending again. Cancel makes it cancelled, which is final.
const (
	// BlastDraft: being composed; no ledger rows exist.
	BlastDraft BlastStatus = "draft"
	// BlastScheduled: Send was called with a time in the future; the
	// ledger is written when that time comes.
	BlastScheduled BlastStatus = "scheduled"
	// BlastSending: the ledger is being written or rows are being sent.
	BlastSending BlastStatus = "sending"
	// BlastCompleted: every row reached a settled status.
	BlastCompleted BlastStatus = "completed"
	// BlastCancelled: cancelled by the user; queued rows were cancelled.
	BlastCancelled BlastStatus = "cancelled"
	// BlastPaused: sending stopped because the provider refused the
	// sender (a reputation block, carrier filtering); queued rows wait
	// until the user resumes or cancels it. ActiveBlasts does not return
	// it.
	BlastPaused BlastStatus = "paused"
)

// Valid reports whether s is one of the defined blast statuses.
func (s BlastStatus) Valid() bool {
	switch s {
	case BlastDraft, BlastScheduled, BlastSending, BlastCompleted, BlastCancelled, BlastPaused:
		return true
	}
	return false
}

// Blast is the stored form of one blast. Stores keep every field
// verbatim; only the engine interprets them.
type Blast struct {
	// ID identifies the blast; the engine assigns it (a UUID). Unique
	// across all organizations.
	ID string
	// OrgID is the organization the blast belongs to.
	OrgID string
	// Name is the blast's display name.
	Name string
	// Channel is SMS or email.
	Channel carecast.Channel
	// Purpose is marketing or transactional.
	Purpose carecast.Purpose
	// CohortIDs are the audience's cohorts, in the order the user chose.
	CohortIDs []string
	// Status is the lifecycle state.
	Status BlastStatus
	// Content is the engine's own encoding (JSON) of the message content
	// and send settings. Stores persist it as an opaque blob.
	Content []byte
	// DuplicatedFrom is the ID of the blast this one was duplicated from,
	// or "".
	DuplicatedFrom string
	// CreatedBy is the host's opaque ID of the staff user who created
	// the blast, or "".
	CreatedBy string
	// LedgerDone is true once every recipient row of the audience has
	// been written. A sending blast with LedgerDone false had its ledger
	// write interrupted; the engine resumes it (InsertRows is idempotent).
	LedgerDone bool
	// CreatedAt and UpdatedAt are set by the engine.
	CreatedAt time.Time
	UpdatedAt time.Time
	// ScheduledAt is when a scheduled blast starts sending; zero when
	// the blast was sent immediately or is a draft.
	ScheduledAt time.Time
	// StartedAt is when sending started (the ledger write began).
	StartedAt time.Time
	// CompletedAt is when the blast last became completed; zero before.
	CompletedAt time.Time
	// CancelledAt is when the blast was cancelled; zero if it was not.
	CancelledAt time.Time
	// Version is incremented by the store on every successful
	// UpdateBlast; CreateBlast stores version 1. It implements optimistic
	// concurrency.
	Version int64
}

// RowStatus is the state of one recipient's ledger row.
type RowStatus string

// Row statuses. See the package documentation for the transitions.
const (
	// RowQueued: will be sent once due (NextAttemptAt ≤ now).
	RowQueued RowStatus = "queued"
	// RowSending: claimed by a worker under a lease.
	RowSending RowStatus = "sending"
	// RowSent: the provider accepted the message.
	RowSent RowStatus = "sent"
	// RowDelivered: the provider confirmed delivery.
	RowDelivered RowStatus = "delivered"
	// RowFailed: the send failed permanently, ran out of attempts, or
	// a sent message was later reported undelivered or bounced.
	RowFailed RowStatus = "failed"
	// RowInDoubt: the provider may have accepted the message (ambiguous
	// answer, or the lease expired mid-send). Never resent automatically.
	RowInDoubt RowStatus = "in_doubt"
	// RowSkipped: intentionally not sent; Reason says why.
	RowSkipped RowStatus = "skipped"
	// RowOptedOut: the provider refused because the recipient opted out
	// (Twilio 21610).
	RowOptedOut RowStatus = "opted_out"
	// RowCancelled: the blast was cancelled before this row was sent.
	RowCancelled RowStatus = "cancelled"
)

// AllRowStatuses lists every row status in display order.
var AllRowStatuses = [...]RowStatus{RowQueued, RowSending, RowSent, RowDelivered, RowFailed, RowInDoubt, RowSkipped, RowOptedOut, RowCancelled}

// Valid reports whether s is one of the defined row statuses.
func (s RowStatus) Valid() bool {
	for _, x := range AllRowStatuses {
		if s == x {
			return true
		}
	}
	return false
}

// Settled reports whether a row in status s needs no more work from the
// engine's workers: everything but queued and sending.
func (s RowStatus) Settled() bool { return s != RowQueued && s != RowSending }

// NewRow is one recipient row to insert. The store assigns ID and the
// timestamps it is not given.
type NewRow struct {
	// PatientID is the recipient; unique within a blast's ledger.
	PatientID string
	// Status is RowQueued or RowSkipped; anything else is an error.
	Status RowStatus
	// Reason is the skip reason for skipped rows, else "": an
	// eligibility reason key such as "no_contact_info"
	// (eligibility.KeyNoContact) or "landline" (eligibility.KeyLandline).
	Reason string
	// Address is the normalised phone number (E.164) or email address
	// the message goes to, when known. It is PHI: stores keep it only
	// in the row and never log it.
	Address string
	// NextAttemptAt is when a queued row becomes due; zero means now.
	NextAttemptAt time.Time
}

// Row is one recipient's ledger row.
type Row struct {
	// ID is assigned by the store: unique across the store, and
	// increasing in insertion order within a blast (keyset pagination
	// and claim order use it).
	ID int64
	// OrgID, BlastID and Channel identify the blast the row belongs to.
	OrgID   string
	BlastID string
	Channel carecast.Channel
	// PatientID is the recipient.
	PatientID string
	// Status is the row's state.
	Status RowStatus
	// Reason qualifies Status: the skip reason for RowSkipped (an
	// eligibility reason key, eligibility.Key*), the
	// provider error class name ("permanent", "ambiguous", "lease_expired",
	// "bounce", …) for RowFailed and RowInDoubt, "" otherwise.
	Reason string
	// ErrorCode is the vendor's PHI-free error code of the last failure.
	ErrorCode string
	// Address is the normalised destination (see NewRow.Address).
	Address string
	// Attempts counts provider calls made for the row.
	Attempts int
	// NextAttemptAt is when a queued row becomes due.
	NextAttemptAt time.Time
	// LeaseOwner and LeaseUntil describe the current (or, for a row
	// moved to in_doubt by ExpireLeases, the last) lease.
	LeaseOwner string
	LeaseUntil time.Time
	// ProviderMessageID is the vendor's message ID once sent.
	ProviderMessageID string
	// Segments is the billed SMS segment count (0 for email).
	Segments int
	// Cost is what the message cost (zero when it was not sent).
	Cost carecast.Money
	// CreatedAt is when the row was inserted; UpdatedAt when it last
	// changed; SentAt when the provider accepted it; DeliveredAt when
	// delivery was confirmed; FailedAt when it last failed.
	CreatedAt   time.Time
	UpdatedAt   time.Time
	SentAt      time.Time
	DeliveredAt time.Time
	FailedAt    time.Time
	// Opens, Clicks and Replies count engagement events; FirstOpenAt,
	// FirstClickAt and LastReplyAt are their times (zero when none).
	Opens        int
	Clicks       int
	Replies      int
	FirstOpenAt  time.Time
	FirstClickAt time.Time
	LastReplyAt  time.Time
	// MachineOpens and MachineClicks count machine events
	// (EventMachineOpen, EventMachineClick: mail privacy proxies, link
	// scanners; compliance.md TR-04, TR-05). They are kept for audit and
	// never counted in Opens, Clicks, Stats.Opened/Clicked, Engagement or
	// Analytics. A store that does not keep them leaves them zero.
	MachineOpens  int
	MachineClicks int
}

// ClaimParams selects queued rows for a worker to send.
type ClaimParams struct {
	// OrgID and BlastID name the blast whose rows are claimed.
	OrgID   string
	BlastID string
	// Owner identifies the claiming worker (unique per engine instance
	// and worker); RecordOutcomes only applies outcomes with the same
	// owner.
	Owner string
	// Now is the current time: only rows with NextAttemptAt ≤ Now are due.
	Now time.Time
	// LeaseUntil is when the lease expires (after Now).
	LeaseUntil time.Time
	// Limit is the largest number of rows to claim (> 0).
	Limit int
}

// Outcome is the result of one claimed row, recorded by RecordOutcomes.
type Outcome struct {
	// RowID is the claimed row.
	RowID int64
	// Owner must equal the row's LeaseOwner, or the outcome is ignored.
	Owner string
	// Status is the row's new status: RowSent, RowFailed, RowInDoubt,
	// RowSkipped, RowOptedOut, or RowQueued (retry later, or release).
	Status RowStatus
	// Reason and ErrorCode replace the row's (see Row.Reason).
	Reason    string
	ErrorCode string
	// Address, when not "", replaces the row's address (the address the
	// message was actually sent to after the claim-time re-check).
	Address string
	// Attempted is true when a provider call was made: Attempts is then
	// incremented. A release (no call made) or a quiet-hours deferral
	// sets it false.
	Attempted bool
	// NextAttemptAt is when a RowQueued outcome becomes due again.
	NextAttemptAt time.Time
	// ProviderMessageID, Segments and Cost describe an accepted message
	// (RowSent, and RowInDoubt when known).
	ProviderMessageID string
	Segments          int
	Cost              carecast.Money
	// At is when the outcome happened: SentAt for RowSent, FailedAt for
	// RowFailed, and UpdatedAt in every case.
	At time.Time
}

// Match is one term of a row filter: a row matches when its status is
// Status and, if Reason is not "", its reason is Reason.
type Match struct {
	// Status is the row status the term requires.
	Status RowStatus
	// Reason, when not "", is the Row.Reason the term also requires
	// (for example "opted_out" among skipped rows).
	Reason string
}

// RowFilter selects rows of a blast. The zero value selects every row.
type RowFilter struct {
	// Any, when not empty, keeps rows matching at least one term.
	Any []Match
	// Opened, Clicked and Replied, when true, keep only rows with at
	// least one open, click or reply respectively.
	Opened  bool
	Clicked bool
	Replied bool
}

// ListRowsParams pages through a blast's rows in ascending ID order.
type ListRowsParams struct {
	// OrgID and BlastID name the blast; a blast of another organization
	// is ErrNotFound.
	OrgID   string
	BlastID string
	// Filter selects rows.
	Filter RowFilter
	// AfterID is the keyset cursor: only rows with ID > AfterID.
	AfterID int64
	// Limit is the page size (> 0).
	Limit int
}

// ListBlastsParams pages through an organization's blasts, newest first.
type ListBlastsParams struct {
	// OrgID is the organization whose blasts are listed.
	OrgID string
	// Statuses, when not empty, keeps only blasts in one of them.
	Statuses []BlastStatus
	// Before is the keyset cursor: when Before.ID is not "", only blasts
	// ordered after it, i.e. with (CreatedAt, ID) < (Before.CreatedAt,
	// Before.ID).
	Before Blast
	// Limit is the page size (> 0).
	Limit int
}

// Stats aggregates a blast's ledger: one count per status, skip counts per
// reason, engagement and spend. Counts are of rows (recipients).
type Stats struct {
	// ByStatus counts rows per status.
	ByStatus map[RowStatus]int
	// SkippedBy counts skipped rows per reason (Row.Reason).
	SkippedBy map[string]int
	// FailedBy counts failed rows per reason.
	FailedBy map[string]int
	// Opened, Clicked and Replied count rows with at least one open,
	// click or reply.
	Opened  int
	Clicked int
	Replied int
	// MachineOpened and MachineClicked count rows with at least one
	// machine open or click (Row.MachineOpens, Row.MachineClicks); zero
	// from a store that does not keep them.
	MachineOpened  int
	MachineClicked int
	// Segments and Cost sum the rows' segments and cost.
	Segments int64
	Cost     carecast.Money
	// FirstSentAt and LastSentAt bound the rows' SentAt (zero if none).
	FirstSentAt time.Time
	LastSentAt  time.Time
}

// Total returns the number of rows: the sum of ByStatus, which counts
// every row exactly once.
func (s Stats) Total() int {
	n := 0
	for _, c := range s.ByStatus {
		n += c
	}
	return n
}

// EventParams is one provider or tracking event to apply to a row.
type EventParams struct {
	// EventID deduplicates: an EventID already applied makes ApplyEvent
	// a no-op returning false. Must not be "".
	EventID string
	// OrgID and RowID name the row.
	OrgID string
	RowID int64
	// Kind is what happened.
	Kind EventKind
	// At is when it happened.
	At time.Time
	// Reason and ErrorCode describe an EventFailed (for example
	// "undelivered" or "bounce", and the vendor code).
	Reason    string
	ErrorCode string
	// ProviderMessageID, when not "", is recorded as the row's
	// ProviderMessageID by an EventSent, EventDelivered or EventFailed
	// that moves the row out of in_doubt and only when the row has none
	// yet: the vendor's ID of a message whose send answer was lost,
	// learned from a delivery receipt or a reconciliation. It never
	// replaces an ID the row already has.
	ProviderMessageID string
}

// EventKind is the effect of an event on a row.
type EventKind string

// Event kinds and their effect on the row.
const (
	// EventDelivered: sent or in_doubt → delivered (DeliveredAt set).
	EventDelivered EventKind = "delivered"
	// EventSent: in_doubt → sent (the provider proved it accepted it).
	EventSent EventKind = "sent"
	// EventFailed: sent, delivered or in_doubt → failed (undelivered,
	// bounce). FailedAt, Reason and ErrorCode set.
	EventFailed EventKind = "failed"
	// EventOpen, EventClick and EventReply increment Opens, Clicks or
	// Replies (and set FirstOpenAt, FirstClickAt, LastReplyAt) on a row
	// in any status.
	EventOpen  EventKind = "open"
	EventClick EventKind = "click"
	EventReply EventKind = "reply"
	// EventMachineOpen and EventMachineClick are opens and clicks made
	// by software, not the patient (compliance.md TR-04, TR-05); Reason
	// says why ("apple_mpp", "prefetch", "head_request", "fast_click",
	// "scanner", "click_burst", "provider"). They increment
	// Row.MachineOpens or Row.MachineClicks in any status and change
	// nothing else: never Opens, Clicks or their first times. A store
	// that does not keep machine counters must still record the EventID
	// (so the event is deduplicated and its ID, which the engine makes
	// self-describing, is kept) and return false.
	EventMachineOpen  EventKind = "machine_open"
	EventMachineClick EventKind = "machine_click"
)

// Suppression blocks one address on one channel for an organization,
// independently of the host's patient records (a STOP from a number no
// patient has, a bounce the host has not stored yet).
type Suppression struct {
	// OrgID scopes the suppression: other organizations are unaffected.
	OrgID string
	// Channel is the channel blocked (an SMS STOP does not block email).
	Channel carecast.Channel
	// Address is the normalised phone number or email address.
	Address string
	// Reason is why: "opted_out" (STOP), "bounce", "complaint",
	// "unsubscribed".
	Reason string
	// At is when the suppression was recorded.
	At time.Time
}

// AnalyticsParams selects the rows aggregated by Analytics.
type AnalyticsParams struct {
	// OrgID is the organization aggregated; only its rows count.
	OrgID string
	// From and To bound SentAt: From ≤ SentAt < To.
	From, To time.Time
	// Bucket is the width of each bucket (for example 24h); bucket i
	// covers [From+i·Bucket, From+(i+1)·Bucket).
	Bucket time.Duration
}

// AnalyticsBucket aggregates the sent rows of one channel in one bucket.
type AnalyticsBucket struct {
	// Start is the bucket's start.
	Start time.Time
	// Channel is the channel aggregated.
	Channel carecast.Channel
	// Sent counts rows with SentAt in the bucket (any later status:
	// sent, delivered, or failed after being sent).
	Sent int
	// Delivered counts those now delivered.
	Delivered int
	// Opened, Clicked and Replied count those with engagement.
	Opened  int
	Clicked int
	Replied int
	// Cost sums their cost.
	Cost carecast.Money
	// Blasts counts the distinct blasts they belong to.
	Blasts int
}

// EngagementParams asks for the first-open and first-click histogram of a
// blast.
type EngagementParams struct {
	// OrgID and BlastID name the blast; a blast of another organization
	// is ErrNotFound.
	OrgID   string
	BlastID string
	// Start is the origin; Step the bucket width; Buckets their number.
	Start   time.Time
	Step    time.Duration
	Buckets int
}

// Engagement is a histogram: Opens[i] and Clicks[i] count rows whose first
// open (click) fell in [Start+i·Step, Start+(i+1)·Step). Events before
// Start count in bucket 0; after the last bucket they are not counted.
type Engagement struct {
	// Opens has Buckets entries: first opens per bucket (not
	// cumulative; the engine accumulates them for the chart).
	Opens []int
	// Clicks has Buckets entries: first clicks per bucket.
	Clicks []int
}

// Store is everything the engine persists. Implementations must be safe
// for concurrent use by many goroutines (and, for SQL stores, by several
// processes sharing the database). Methods honour ctx cancellation where
// the backend allows it. Returned slices and structs are owned by the
// caller; argument slices are not retained after a method returns.
type Store interface {
	BlastStore
	LedgerStore
	EventStore
}

// BlastStore persists blasts.
type BlastStore interface {
	// CreateBlast stores a new blast with Version 1 and returns it.
	// b.ID and b.OrgID must not be "". An existing ID is ErrConflict.
	CreateBlast(ctx context.Context, b Blast) (Blast, error)

	// Blast returns the blast with the given ID in organization orgID,
	// or ErrNotFound (also when the blast belongs to another
	// organization).
	Blast(ctx context.Context, orgID, id string) (Blast, error)

	// UpdateBlast replaces the stored blast b.ID (in b.OrgID) by b if
	// the stored Version equals b.Version, increments Version and returns
	// the stored result. A different version is ErrConflict (re-read and
	// retry); a missing blast is ErrNotFound. ID, OrgID and CreatedAt
	// are never changed.
	UpdateBlast(ctx context.Context, b Blast) (Blast, error)

	// ListBlasts returns a page of an organization's blasts ordered by
	// CreatedAt descending, then ID descending, without their Content
	// (nil): a page of 200 blasts must not read 200 blasts' attachments.
	// An organization with no blasts gives an empty slice and a nil
	// error.
	ListBlasts(ctx context.Context, p ListBlastsParams) ([]Blast, error)

	// ActiveBlasts returns the blasts of every organization that need
	// the workers: status sending, plus status scheduled with
	// ScheduledAt ≤ now. Order is unspecified. It is called by the
	// engine's scheduler a few times a second and must be cheap (an
	// index on status): like ListBlasts it leaves Content nil (the
	// engine reads the content with Blast when it compiles a blast).
	ActiveBlasts(ctx context.Context, now time.Time) ([]Blast, error)
}

// LedgerStore persists the per-recipient rows of blasts.
type LedgerStore interface {
	// InsertRows writes rows for blast blastID of organization orgID,
	// in one transaction, and returns how many were inserted. A row whose
	// PatientID already has a row in this blast (including earlier in
	// the same slice) is left out without error: the method is
	// idempotent, which makes a resumed ledger write and Add Recipients
	// safe. Rows get the blast's Channel, Attempts 0, CreatedAt and
	// UpdatedAt = at, and NextAttemptAt = at when zero. A Status other
	// than queued or skipped is an error; a missing blast ErrNotFound.
	// An empty rows slice inserts nothing and returns 0 (after checking
	// the blast exists). Safe to call concurrently for the same blast:
	// the uniqueness of (blast, patient) holds across callers.
	InsertRows(ctx context.Context, orgID, blastID string, rows []NewRow, at time.Time) (int, error)

	// ExistingPatients returns the subset of patientIDs that already
	// have a row in the blast, in the order given. It lets Add Recipients
	// report "Send to N patient(s)" before writing.
	ExistingPatients(ctx context.Context, orgID, blastID string, patientIDs []string) ([]string, error)

	// ClaimRows atomically moves up to p.Limit due queued rows (status
	// queued, NextAttemptAt ≤ p.Now) of one blast to sending, sets
	// LeaseOwner = p.Owner and LeaseUntil = p.LeaseUntil, and returns
	// them (with their new status) in ascending ID order. Rows are
	// claimed lowest NextAttemptAt/ID first as far as the backend allows.
	// Concurrent claims never return the same row twice. No due rows
	// gives an empty slice and a nil error; a missing blast too. A Limit
	// below 1 is an error. Claiming does not count an attempt: Attempts
	// only grows when an outcome says a provider call was made.
	ClaimRows(ctx context.Context, p ClaimParams) ([]Row, error)

	// RecordOutcomes applies outcomes of claimed rows, in one
	// transaction where the backend allows, and returns how many were
	// applied. An outcome is applied only if the row is sending with
	// LeaseOwner == o.Owner, or in_doubt with LeaseOwner == o.Owner and
	// o.Status settled (the late answer of a worker whose lease
	// expired); otherwise it is skipped without error (the lease was lost
	// and the row is someone else's). Applying clears the lease for
	// settled statuses and for RowQueued, which becomes due at
	// NextAttemptAt. An empty slice is a no-op; outcomes naming unknown
	// rows are skipped like lost leases. Outcomes of one call may belong
	// to different blasts and organizations.
	RecordOutcomes(ctx context.Context, outcomes []Outcome) (int, error)

	// ExpireLeases moves every sending row (of any organization) whose
	// LeaseUntil < now to in_doubt with Reason "lease_expired", keeping
	// LeaseOwner, and returns how many moved. The message may have
	// reached the provider, so the row is never re-queued automatically.
	ExpireLeases(ctx context.Context, now time.Time) (int, error)

	// CancelQueued moves every queued row of the blast to cancelled and
	// returns how many moved. Sending rows are left to finish.
	CancelQueued(ctx context.Context, orgID, blastID string, at time.Time) (int, error)

	// RequeueFailed moves every failed row of the blast (and every
	// in_doubt row when includeInDoubt) to queued, due at, with Attempts
	// reset to 0, Reason and ErrorCode cleared, and returns how many
	// moved. Sent, delivered and every other status are never touched.
	RequeueFailed(ctx context.Context, orgID, blastID string, includeInDoubt bool, at time.Time) (int, error)

	// Row returns one row of organization orgID by ID, or ErrNotFound.
	Row(ctx context.Context, orgID string, id int64) (Row, error)

	// RowByProviderMessageID returns the row whose ProviderMessageID is
	// id, in any organization (webhooks may not know it), or ErrNotFound.
	RowByProviderMessageID(ctx context.Context, id string) (Row, error)

	// LatestSentTo returns the row of organization orgID on channel ch
	// with Address == address and the latest SentAt ≥ since (rows sent,
	// delivered, or failed after sending), or ErrNotFound. Inbound
	// replies are attributed with it.
	LatestSentTo(ctx context.Context, orgID string, ch carecast.Channel, address string, since time.Time) (Row, error)

	// ListRows returns a page of a blast's rows matching p.Filter in
	// ascending ID order, starting after p.AfterID. The next page starts
	// after the last returned ID; an empty page means the end.
	ListRows(ctx context.Context, p ListRowsParams) ([]Row, error)

	// Stats aggregates one blast's rows in one query. A blast with no
	// rows gives zero counts (non-nil maps); a missing blast ErrNotFound.
	Stats(ctx context.Context, orgID, blastID string) (Stats, error)

	// Engagement returns the first-open and first-click histogram of a
	// blast (see Engagement). A missing blast is ErrNotFound.
	Engagement(ctx context.Context, p EngagementParams) (Engagement, error)

	// Analytics aggregates an organization's sent rows over time, per
	// channel: one AnalyticsBucket per (bucket, channel) that has at
	// least one row, ordered by Start then Channel.
	Analytics(ctx context.Context, p AnalyticsParams) ([]AnalyticsBucket, error)
}

// EventStore persists provider events and suppressions.
type EventStore interface {
	// ApplyEvent records p.EventID and applies the event to the row in
	// one transaction. It returns false (and changes nothing) when the
	// EventID was already recorded, or when the row's status does not
	// allow the move (the event ID is then still recorded, so replays
	// stay no-ops). A missing row is ErrNotFound (the event ID is not
	// recorded). Status moves follow the package's state machine; counts
	// (opens, clicks, replies) apply in any status.
	ApplyEvent(ctx context.Context, p EventParams) (bool, error)

	// MarkEvent records an event ID that does not concern a row (an
	// inbound STOP, a complaint about an unknown message) and returns
	// false if it was already recorded.
	MarkEvent(ctx context.Context, eventID string, at time.Time) (bool, error)

	// Suppress records s, replacing an existing suppression of the same
	// (OrgID, Channel, Address). Idempotent.
	Suppress(ctx context.Context, s Suppression) error

	// Unsuppress removes the suppressions of (orgID, ch, address) whose
	// Reason is one of reasons, and returns how many were removed.
	Unsuppress(ctx context.Context, orgID string, ch carecast.Channel, address string, reasons []string) (int, error)

	// Suppressed returns the suppressions among addresses for
	// (orgID, ch), at most one per address, in unspecified order.
	// The engine calls it once per claimed batch. No addresses give a
	// nil slice and a nil error.
	Suppressed(ctx context.Context, orgID string, ch carecast.Channel, addresses []string) ([]Suppression, error)
}
