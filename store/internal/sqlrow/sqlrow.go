// Package sqlrow holds what the SQL stores (store/sqlitestore,
// store/pgstore) share about their tables: the time encoding, the ledger
// row's column list and scanner, and the folding of Stats groups.
package sqlrow

import (
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/store"
)

// NS encodes t as Unix nanoseconds, 0 for the zero time.
func NS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// Time decodes Unix nanoseconds to a UTC time, the zero time for 0.
func Time(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// Scanner is satisfied by *sql.Row, *sql.Rows, pgx.Row and pgx.Rows.
type Scanner interface{ Scan(dest ...any) error }

// RowColumns selects a ledger row joined with its blast (aliases r and b)
// in the order ScanRow reads them.
const RowColumns = `r.id, b.org_id, b.id, b.channel, r.patient_id, r.status, r.reason, r.error_code, r.address, r.attempts,
	r.next_attempt_at, r.lease_owner, r.lease_until, COALESCE(r.provider_message_id, ''), r.segments, r.cost,
	r.created_at, r.updated_at, r.sent_at, r.delivered_at, r.failed_at, r.opens, r.clicks, r.replies,
	r.first_open_at, r.first_click_at, r.last_reply_at, r.machine_opens, r.machine_clicks`

// ScanRow reads one row selected with RowColumns.
func ScanRow(sc Scanner) (store.Row, error) {
	var (
		r                                       store.Row
		ch, status                              string
		next, lease, created, updated, sent     int64
		delivered, failed, fOpen, fClick, lRepl int64
		cost                                    int64
	)
	err := sc.Scan(&r.ID, &r.OrgID, &r.BlastID, &ch, &r.PatientID, &status, &r.Reason, &r.ErrorCode, &r.Address, &r.Attempts,
		&next, &r.LeaseOwner, &lease, &r.ProviderMessageID, &r.Segments, &cost,
		&created, &updated, &sent, &delivered, &failed, &r.Opens, &r.Clicks, &r.Replies, &fOpen, &fClick, &lRepl,
		&r.MachineOpens, &r.MachineClicks)
	if err != nil {
		return r, err
	}
	r.Channel, r.Status, r.Cost = carecast.Channel(ch), store.RowStatus(status), carecast.Money(cost)
	r.NextAttemptAt, r.LeaseUntil, r.CreatedAt, r.UpdatedAt = Time(next), Time(lease), Time(created), Time(updated)
	r.SentAt, r.DeliveredAt, r.FailedAt = Time(sent), Time(delivered), Time(failed)
	r.FirstOpenAt, r.FirstClickAt, r.LastReplyAt = Time(fOpen), Time(fClick), Time(lRepl)
	return r, nil
}

// NewStats returns empty Stats with non-nil maps.
func NewStats() store.Stats {
	return store.Stats{ByStatus: map[store.RowStatus]int{}, SkippedBy: map[string]int{}, FailedBy: map[string]int{}}
}

// Group is one (status, reason) group of the Stats query.
type Group struct {
	Status                        string
	Reason                        string
	N, Opened, Clicked, Replied   int64
	MachineOpened, MachineClicked int64
	Segments, Cost                int64
	FirstSent, LastSent           int64 // Unix ns, 0 when none
}

// Dest returns the scan destinations of g in the Stats query's column
// order: status, reason, count, opened, clicked, replied, machine opened,
// machine clicked, segments, cost, first sent, last sent.
func (g *Group) Dest() []any {
	return []any{&g.Status, &g.Reason, &g.N, &g.Opened, &g.Clicked, &g.Replied, &g.MachineOpened, &g.MachineClicked,
		&g.Segments, &g.Cost, &g.FirstSent, &g.LastSent}
}

// Add folds g into st.
func Add(st *store.Stats, g *Group) {
	status := store.RowStatus(g.Status)
	st.ByStatus[status] += int(g.N)
	switch status {
	case store.RowSkipped:
		st.SkippedBy[g.Reason] += int(g.N)
	case store.RowFailed:
		st.FailedBy[g.Reason] += int(g.N)
	}
	st.Opened += int(g.Opened)
	st.Clicked += int(g.Clicked)
	st.Replied += int(g.Replied)
	st.MachineOpened += int(g.MachineOpened)
	st.MachineClicked += int(g.MachineClicked)
	st.Segments += g.Segments
	st.Cost += carecast.Money(g.Cost)
	if f := Time(g.FirstSent); !f.IsZero() && (st.FirstSentAt.IsZero() || f.Before(st.FirstSentAt)) {
		st.FirstSentAt = f
	}
	if l := Time(g.LastSent); l.After(st.LastSentAt) {
		st.LastSentAt = l
	}
}
