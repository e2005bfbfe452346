package memstore

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/store"
)

// Store is an in-memory store.Store. The zero value is not usable; call New.
type Store struct {
	mu      sync.Mutex
	blasts  map[string]*store.Blast
	ledgers map[string]*ledger
	rows    rowSlab // row ID i is rows.at(i)
	byPMID  map[string]int64
	sentTo  map[string][]int64 // address → rows sent to it
	// unindexed lists rows whose ProviderMessageID or sending address is
	// not in byPMID/sentTo yet: the hot path only appends here, and the
	// lookups that need the indexes (webhooks, replies) catch up first.
	unindexed []int64
	events    map[string]struct{}
	supp      map[addrKey]store.Suppression
	domains   map[domainKey]*store.DomainDay // DomainHealth
	audit     []store.AuditEntry             // AuditLog: entry Seq i is audit[i-1]
	links     map[string][]string            // LinkIndex, by blast ID

	rateMu sync.Mutex           // guards tats (see ratebudget.go)
	tats   map[string]time.Time // RateBudget: theoretical arrival time per key
}

var _ store.Store = (*Store)(nil)

type addrKey struct {
	org  string
	ch   carecast.Channel
	addr string
}

// rowSlab stores rows in fixed-size chunks: appending never moves a row
// (pointers stay valid and nothing is copied as the store grows).
type rowSlab struct {
	chunks [][]store.Row
	n      int64
}

const slabChunk = 4096

func (s *rowSlab) add() *store.Row {
	i := s.n % slabChunk
	if i == 0 {
		s.chunks = append(s.chunks, make([]store.Row, slabChunk))
	}
	s.n++
	return &s.chunks[len(s.chunks)-1][i]
}

// at returns the row with ID id (1-based).
func (s *rowSlab) at(id int64) *store.Row {
	return &s.chunks[(id-1)/slabChunk][(id-1)%slabChunk]
}

// ledger is one blast's rows and indexes.
type ledger struct {
	blast    *store.Blast
	patients map[string]int64
	ids      []int64 // ascending
	ready    []int64 // due queued rows (may hold stale IDs, checked on claim)
	head     int
	deferred deferHeap
	c        counters
}

type counters struct {
	byStatus  map[store.RowStatus]int
	skippedBy map[string]int
	failedBy  map[string]int
	opened    int
	clicked   int
	replied   int
	// machineOpened and machineClicked count rows with machine events.
	machineOpened  int
	machineClicked int
	segments       int64
	cost           carecast.Money
}

type deferred struct {
	at time.Time
	id int64
}

type deferHeap []deferred

func (h deferHeap) Len() int { return len(h) }
func (h deferHeap) Less(i, j int) bool {
	if c := h[i].at.Compare(h[j].at); c != 0 {
		return c < 0
	}
	return h[i].id < h[j].id
}
func (h deferHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *deferHeap) Push(x any)   { *h = append(*h, x.(deferred)) }
func (h *deferHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// New returns an empty store.
func New() *Store {
	return &Store{
		blasts:  make(map[string]*store.Blast),
		ledgers: make(map[string]*ledger),
		byPMID:  make(map[string]int64),
		sentTo:  make(map[string][]int64),
		events:  make(map[string]struct{}),
		supp:    make(map[addrKey]store.Suppression),
		links:   make(map[string][]string),
	}
}

func cloneBlast(b store.Blast) store.Blast {
	b.CohortIDs = slices.Clone(b.CohortIDs)
	b.Content = slices.Clone(b.Content)
	return b
}

func notFound(what string) error { return fmt.Errorf("memstore: %s: %w", what, store.ErrNotFound) }

// CreateBlast implements store.BlastStore.
func (s *Store) CreateBlast(ctx context.Context, b store.Blast) (store.Blast, error) {
	if err := ctx.Err(); err != nil {
		return store.Blast{}, err
	}
	if b.ID == "" || b.OrgID == "" {
		return store.Blast{}, fmt.Errorf("memstore: CreateBlast: ID and OrgID are required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.blasts[b.ID]; ok {
		return store.Blast{}, fmt.Errorf("memstore: blast %s exists: %w", b.ID, store.ErrConflict)
	}
	b = cloneBlast(b)
	b.Version = 1
	s.blasts[b.ID] = &b
	s.ledgers[b.ID] = &ledger{blast: &b, patients: make(map[string]int64), c: newCounters()}
	return cloneBlast(b), nil
}

func newCounters() counters {
	return counters{byStatus: make(map[store.RowStatus]int), skippedBy: make(map[string]int), failedBy: make(map[string]int)}
}

func (s *Store) blast(orgID, id string) (*store.Blast, error) {
	b, ok := s.blasts[id]
	if !ok || b.OrgID != orgID {
		return nil, notFound("blast " + id)
	}
	return b, nil
}

// Blast implements store.BlastStore.
func (s *Store) Blast(ctx context.Context, orgID, id string) (store.Blast, error) {
	return s.readBlast(ctx, orgID, id, func(b *store.Blast) store.Blast { return cloneBlast(*b) })
}

// readBlast returns the organization's blast id as out copies it.
func (s *Store) readBlast(ctx context.Context, orgID, id string, out func(*store.Blast) store.Blast) (store.Blast, error) {
	if err := ctx.Err(); err != nil {
		return store.Blast{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.blast(orgID, id)
	if err != nil {
		return store.Blast{}, err
	}
	return out(b), nil
}

// headerOf copies a blast without its content.
func headerOf(b *store.Blast) store.Blast {
	h := *b
	h.Content = nil
	h.CohortIDs = slices.Clone(b.CohortIDs)
	return h
}

var _ store.BlastHeaders = (*Store)(nil)

// BlastHeader implements store.BlastHeaders.
func (s *Store) BlastHeader(ctx context.Context, orgID, id string) (store.Blast, error) {
	return s.readBlast(ctx, orgID, id, headerOf)
}

var _ store.LinkIndex = (*Store)(nil)

// SaveLinks implements store.LinkIndex.
func (s *Store) SaveLinks(ctx context.Context, orgID, blastID string, links []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.blast(orgID, blastID); err != nil {
		return err
	}
	s.links[blastID] = append([]string{}, links...)
	return nil
}

// Links implements store.LinkIndex.
func (s *Store) Links(ctx context.Context, orgID, blastID string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.blast(orgID, blastID); err != nil {
		return nil, err
	}
	links, ok := s.links[blastID]
	if !ok {
		return nil, notFound("links of blast " + blastID)
	}
	return slices.Clone(links), nil
}

// UpdateBlast implements store.BlastStore.
func (s *Store) UpdateBlast(ctx context.Context, nb store.Blast) (store.Blast, error) {
	if err := ctx.Err(); err != nil {
		return store.Blast{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.blast(nb.OrgID, nb.ID)
	if err != nil {
		return store.Blast{}, err
	}
	if b.Version != nb.Version {
		return store.Blast{}, fmt.Errorf("memstore: blast %s version %d, stored %d: %w", nb.ID, nb.Version, b.Version, store.ErrConflict)
	}
	nb = cloneBlast(nb)
	nb.CreatedAt = b.CreatedAt
	nb.Version = b.Version + 1
	*b = nb
	return cloneBlast(nb), nil
}

// ListBlasts implements store.BlastStore.
func (s *Store) ListBlasts(ctx context.Context, p store.ListBlastsParams) ([]store.Blast, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p.Limit <= 0 {
		return nil, fmt.Errorf("memstore: ListBlasts: Limit must be positive")
	}
	s.mu.Lock()
	var out []store.Blast
	for _, b := range s.blasts {
		if b.OrgID != p.OrgID || (len(p.Statuses) > 0 && !slices.Contains(p.Statuses, b.Status)) {
			continue
		}
		if p.Before.ID != "" && blastOrder(*b, p.Before) <= 0 {
			continue
		}
		out = append(out, headerOf(b))
	}
	s.mu.Unlock()
	slices.SortFunc(out, blastOrder)
	if len(out) > p.Limit {
		out = out[:p.Limit]
	}
	return out, nil
}

// blastOrder orders blasts newest first: negative when a is newer than b
// by (CreatedAt, ID).
func blastOrder(a, b store.Blast) int {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return -c
	}
	return -cmp.Compare(a.ID, b.ID)
}

// ActiveBlasts implements store.BlastStore.
func (s *Store) ActiveBlasts(ctx context.Context, now time.Time) ([]store.Blast, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Blast
	for _, b := range s.blasts {
		if b.Status == store.BlastSending || (b.Status == store.BlastScheduled && !b.ScheduledAt.After(now)) {
			out = append(out, headerOf(b))
		}
	}
	return out, nil
}

func (l *ledger) account(r *store.Row, sign int) {
	c := &l.c
	c.byStatus[r.Status] += sign
	switch r.Status {
	case store.RowSkipped:
		c.skippedBy[r.Reason] += sign
	case store.RowFailed:
		c.failedBy[r.Reason] += sign
	}
	if r.Opens > 0 {
		c.opened += sign
	}
	if r.Clicks > 0 {
		c.clicked += sign
	}
	if r.Replies > 0 {
		c.replied += sign
	}
	if r.MachineOpens > 0 {
		c.machineOpened += sign
	}
	if r.MachineClicks > 0 {
		c.machineClicked += sign
	}
	c.segments += int64(sign * r.Segments)
	c.cost += carecast.Money(sign) * r.Cost
}

func (l *ledger) enqueue(r *store.Row, now time.Time) {
	if r.NextAttemptAt.After(now) {
		heap.Push(&l.deferred, deferred{r.NextAttemptAt, r.ID})
		return
	}
	l.ready = append(l.ready, r.ID)
}

// InsertRows implements store.LedgerStore.
func (s *Store) InsertRows(ctx context.Context, orgID, blastID string, rows []store.NewRow, at time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	for i := range rows {
		if st := rows[i].Status; st != store.RowQueued && st != store.RowSkipped {
			return 0, fmt.Errorf("memstore: InsertRows: row %d has status %q, want queued or skipped", i, st)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.blast(orgID, blastID)
	if err != nil {
		return 0, err
	}
	l := s.ledgers[blastID]
	n := 0
	for i := range rows {
		nr := &rows[i]
		if _, dup := l.patients[nr.PatientID]; dup {
			continue
		}
		id := s.rows.n + 1
		next := nr.NextAttemptAt
		if next.IsZero() {
			next = at
		}
		r := s.rows.add()
		*r = store.Row{
			ID: id, OrgID: orgID, BlastID: blastID, Channel: b.Channel,
			PatientID: nr.PatientID, Status: nr.Status, Reason: nr.Reason, Address: nr.Address,
			NextAttemptAt: next, CreatedAt: at, UpdatedAt: at,
		}
		l.patients[nr.PatientID] = id
		l.ids = append(l.ids, id)
		l.account(r, 1)
		if r.Status == store.RowQueued {
			l.enqueue(r, at)
		}
		n++
	}
	return n, nil
}

// ExistingPatients implements store.LedgerStore.
func (s *Store) ExistingPatients(ctx context.Context, orgID, blastID string, patientIDs []string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.blast(orgID, blastID); err != nil {
		return nil, err
	}
	l := s.ledgers[blastID]
	var out []string
	for _, p := range patientIDs {
		if _, ok := l.patients[p]; ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// ClaimRows implements store.LedgerStore.
func (s *Store) ClaimRows(ctx context.Context, p store.ClaimParams) ([]store.Row, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p.Limit <= 0 {
		return nil, fmt.Errorf("memstore: ClaimRows: Limit must be positive")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blasts[p.BlastID]
	if !ok || b.OrgID != p.OrgID {
		return nil, nil
	}
	l := s.ledgers[p.BlastID]
	for l.deferred.Len() > 0 && !l.deferred[0].at.After(p.Now) {
		d := heap.Pop(&l.deferred).(deferred)
		l.ready = append(l.ready, d.id)
	}
	out := make([]store.Row, 0, min(p.Limit, len(l.ready)-l.head))
	for l.head < len(l.ready) && len(out) < p.Limit {
		id := l.ready[l.head]
		l.head++
		r := s.rows.at(id)
		if r.Status != store.RowQueued {
			continue // stale entry
		}
		if r.NextAttemptAt.After(p.Now) {
			heap.Push(&l.deferred, deferred{r.NextAttemptAt, id})
			continue
		}
		l.account(r, -1)
		r.Status = store.RowSending
		r.LeaseOwner, r.LeaseUntil, r.UpdatedAt = p.Owner, p.LeaseUntil, p.Now
		l.account(r, 1)
		out = append(out, *r)
	}
	if l.head > 1024 && l.head*2 > len(l.ready) {
		l.ready = append(l.ready[:0], l.ready[l.head:]...)
		l.head = 0
	}
	slices.SortFunc(out, func(a, b store.Row) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

func (s *Store) row(id int64) *store.Row {
	if id <= 0 || id > s.rows.n {
		return nil
	}
	return s.rows.at(id)
}

// RecordOutcomes implements store.LedgerStore.
func (s *Store) RecordOutcomes(ctx context.Context, outcomes []store.Outcome) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for i := range outcomes {
		o := &outcomes[i]
		r := s.row(o.RowID)
		if r == nil || r.LeaseOwner != o.Owner {
			continue
		}
		switch {
		case r.Status == store.RowSending:
			if o.Status == store.RowSending || !o.Status.Valid() || o.Status == store.RowDelivered || o.Status == store.RowCancelled {
				continue
			}
		case r.Status == store.RowInDoubt:
			if !o.Status.Settled() || o.Status == store.RowInDoubt || o.Status == store.RowDelivered || o.Status == store.RowCancelled {
				continue
			}
		default:
			continue
		}
		l := s.ledgers[r.BlastID]
		l.account(r, -1)
		r.Status, r.Reason, r.ErrorCode, r.UpdatedAt = o.Status, o.Reason, o.ErrorCode, o.At
		if o.Address != "" {
			r.Address = o.Address
		}
		if o.Attempted {
			r.Attempts++
		}
		if o.ProviderMessageID != "" {
			r.ProviderMessageID = o.ProviderMessageID
			s.unindexed = append(s.unindexed, r.ID)
		}
		if o.Segments != 0 || o.Cost != 0 {
			r.Segments, r.Cost = o.Segments, o.Cost
		}
		switch o.Status {
		case store.RowSent:
			r.SentAt = o.At
			if o.ProviderMessageID == "" {
				s.unindexed = append(s.unindexed, r.ID)
			}
		case store.RowFailed:
			r.FailedAt = o.At
		}
		r.LeaseUntil, r.LeaseOwner = time.Time{}, ""
		l.account(r, 1)
		if o.Status == store.RowQueued {
			r.NextAttemptAt = o.NextAttemptAt
			if r.NextAttemptAt.IsZero() {
				r.NextAttemptAt = o.At
			}
			l.enqueue(r, o.At)
		}
		n++
	}
	return n, nil
}

// catchUp adds the unindexed rows to byPMID and sentTo. A row appears in
// sentTo once, when it first got a SentAt.
func (s *Store) catchUp() {
	for _, id := range s.unindexed {
		r := s.rows.at(id)
		if r.ProviderMessageID != "" {
			s.byPMID[r.ProviderMessageID] = id
		}
		if wasSent(r) && !slices.Contains(s.sentTo[r.Address], id) {
			s.sentTo[r.Address] = append(s.sentTo[r.Address], id)
		}
	}
	s.unindexed = s.unindexed[:0]
}

// ExpireLeases implements store.LedgerStore.
func (s *Store) ExpireLeases(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, l := range s.ledgers {
		if l.c.byStatus[store.RowSending] == 0 {
			continue
		}
		for _, id := range l.ids {
			r := s.rows.at(id)
			if r.Status == store.RowSending && r.LeaseUntil.Before(now) {
				l.account(r, -1)
				r.Status, r.Reason, r.UpdatedAt = store.RowInDoubt, "lease_expired", now
				l.account(r, 1)
				n++
			}
		}
	}
	return n, nil
}

func (s *Store) bulkMove(orgID, blastID string, from func(*store.Row) bool, move func(*store.Row)) (int, error) {
	if _, err := s.blast(orgID, blastID); err != nil {
		return 0, err
	}
	l := s.ledgers[blastID]
	n := 0
	for _, id := range l.ids {
		r := s.rows.at(id)
		if !from(r) {
			continue
		}
		l.account(r, -1)
		move(r)
		l.account(r, 1)
		n++
	}
	return n, nil
}

// CancelQueued implements store.LedgerStore.
func (s *Store) CancelQueued(ctx context.Context, orgID, blastID string, at time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bulkMove(orgID, blastID,
		func(r *store.Row) bool { return r.Status == store.RowQueued },
		func(r *store.Row) { r.Status, r.UpdatedAt = store.RowCancelled, at })
}

// RequeueFailed implements store.LedgerStore.
func (s *Store) RequeueFailed(ctx context.Context, orgID, blastID string, includeInDoubt bool, at time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.ledgers[blastID]
	return s.bulkMove(orgID, blastID,
		func(r *store.Row) bool {
			return r.Status == store.RowFailed || (includeInDoubt && r.Status == store.RowInDoubt)
		},
		func(r *store.Row) {
			r.Status, r.Reason, r.ErrorCode, r.Attempts = store.RowQueued, "", "", 0
			r.LeaseOwner, r.LeaseUntil = "", time.Time{}
			r.NextAttemptAt, r.UpdatedAt = at, at
			l.ready = append(l.ready, r.ID)
		})
}

// Row implements store.LedgerStore.
func (s *Store) Row(ctx context.Context, orgID string, id int64) (store.Row, error) {
	if err := ctx.Err(); err != nil {
		return store.Row{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.row(id)
	if r == nil || r.OrgID != orgID {
		return store.Row{}, notFound("row")
	}
	return *r, nil
}

// RowByProviderMessageID implements store.LedgerStore.
func (s *Store) RowByProviderMessageID(ctx context.Context, id string) (store.Row, error) {
	if err := ctx.Err(); err != nil {
		return store.Row{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.catchUp()
	rid, ok := s.byPMID[id]
	if !ok || id == "" {
		return store.Row{}, notFound("provider message")
	}
	return *s.rows.at(rid), nil
}

func wasSent(r *store.Row) bool { return !r.SentAt.IsZero() }

// LatestSentTo implements store.LedgerStore.
func (s *Store) LatestSentTo(ctx context.Context, orgID string, ch carecast.Channel, address string, since time.Time) (store.Row, error) {
	if err := ctx.Err(); err != nil {
		return store.Row{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *store.Row
	s.catchUp()
	for _, id := range s.sentTo[address] {
		r := s.rows.at(id)
		if r.OrgID != orgID || r.Channel != ch || r.Address != address || !wasSent(r) || r.SentAt.Before(since) {
			continue
		}
		if best == nil || r.SentAt.After(best.SentAt) || (r.SentAt.Equal(best.SentAt) && r.ID > best.ID) {
			best = r
		}
	}
	if best == nil {
		return store.Row{}, notFound("sent message")
	}
	return *best, nil
}

func matches(r *store.Row, f *store.RowFilter) bool {
	if len(f.Any) > 0 {
		ok := false
		for _, m := range f.Any {
			if r.Status == m.Status && (m.Reason == "" || r.Reason == m.Reason) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return (!f.Opened || r.Opens > 0) && (!f.Clicked || r.Clicks > 0) && (!f.Replied || r.Replies > 0)
}

// ListRows implements store.LedgerStore.
func (s *Store) ListRows(ctx context.Context, p store.ListRowsParams) ([]store.Row, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p.Limit <= 0 {
		return nil, fmt.Errorf("memstore: ListRows: Limit must be positive")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.blast(p.OrgID, p.BlastID); err != nil {
		return nil, err
	}
	l := s.ledgers[p.BlastID]
	i := sort.Search(len(l.ids), func(i int) bool { return l.ids[i] > p.AfterID })
	var out []store.Row
	for ; i < len(l.ids) && len(out) < p.Limit; i++ {
		r := s.rows.at(l.ids[i])
		if matches(r, &p.Filter) {
			out = append(out, *r)
		}
	}
	return out, nil
}

// Stats implements store.LedgerStore.
func (s *Store) Stats(ctx context.Context, orgID, blastID string) (store.Stats, error) {
	if err := ctx.Err(); err != nil {
		return store.Stats{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.blast(orgID, blastID); err != nil {
		return store.Stats{}, err
	}
	l := s.ledgers[blastID]
	st := store.Stats{
		ByStatus: make(map[store.RowStatus]int), SkippedBy: make(map[string]int), FailedBy: make(map[string]int),
		Opened: l.c.opened, Clicked: l.c.clicked, Replied: l.c.replied,
		MachineOpened: l.c.machineOpened, MachineClicked: l.c.machineClicked, Segments: l.c.segments, Cost: l.c.cost,
	}
	copyPositive(st.ByStatus, l.c.byStatus)
	copyPositive(st.SkippedBy, l.c.skippedBy)
	copyPositive(st.FailedBy, l.c.failedBy)
	for _, id := range l.ids {
		r := s.rows.at(id)
		if !wasSent(r) {
			continue
		}
		if st.FirstSentAt.IsZero() || r.SentAt.Before(st.FirstSentAt) {
			st.FirstSentAt = r.SentAt
		}
		if r.SentAt.After(st.LastSentAt) {
			st.LastSentAt = r.SentAt
		}
	}
	return st, nil
}

func copyPositive[K comparable](dst, src map[K]int) {
	for k, v := range src {
		if v > 0 {
			dst[k] = v
		}
	}
}

// Engagement implements store.LedgerStore.
func (s *Store) Engagement(ctx context.Context, p store.EngagementParams) (store.Engagement, error) {
	if err := ctx.Err(); err != nil {
		return store.Engagement{}, err
	}
	if p.Buckets < 0 || p.Step <= 0 {
		return store.Engagement{}, fmt.Errorf("memstore: Engagement: Step must be positive and Buckets non-negative")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.blast(p.OrgID, p.BlastID); err != nil {
		return store.Engagement{}, err
	}
	e := store.Engagement{Opens: make([]int, p.Buckets), Clicks: make([]int, p.Buckets)}
	bucket := func(t time.Time) int {
		if t.Before(p.Start) {
			return 0
		}
		return int(t.Sub(p.Start) / p.Step)
	}
	for _, id := range s.ledgers[p.BlastID].ids {
		r := s.rows.at(id)
		if !r.FirstOpenAt.IsZero() {
			if i := bucket(r.FirstOpenAt); i < p.Buckets {
				e.Opens[i]++
			}
		}
		if !r.FirstClickAt.IsZero() {
			if i := bucket(r.FirstClickAt); i < p.Buckets {
				e.Clicks[i]++
			}
		}
	}
	return e, nil
}

// Analytics implements store.LedgerStore.
func (s *Store) Analytics(ctx context.Context, p store.AnalyticsParams) ([]store.AnalyticsBucket, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p.Bucket <= 0 {
		return nil, fmt.Errorf("memstore: Analytics: Bucket must be positive")
	}
	type key struct {
		i  int64
		ch carecast.Channel
	}
	agg := make(map[key]*store.AnalyticsBucket)
	blasts := make(map[key]map[string]struct{})
	s.mu.Lock()
	for _, l := range s.ledgers {
		if l.blast.OrgID != p.OrgID {
			continue
		}
		for _, id := range l.ids {
			r := s.rows.at(id)
			if !wasSent(r) || r.SentAt.Before(p.From) || !r.SentAt.Before(p.To) {
				continue
			}
			k := key{int64(r.SentAt.Sub(p.From) / p.Bucket), r.Channel}
			a := agg[k]
			if a == nil {
				a = &store.AnalyticsBucket{Start: p.From.Add(time.Duration(k.i) * p.Bucket), Channel: r.Channel}
				agg[k] = a
				blasts[k] = make(map[string]struct{})
			}
			a.Sent++
			if r.Status == store.RowDelivered {
				a.Delivered++
			}
			if r.Opens > 0 {
				a.Opened++
			}
			if r.Clicks > 0 {
				a.Clicked++
			}
			if r.Replies > 0 {
				a.Replied++
			}
			a.Cost += r.Cost
			blasts[k][r.BlastID] = struct{}{}
		}
	}
	s.mu.Unlock()
	out := make([]store.AnalyticsBucket, 0, len(agg))
	for k, a := range agg {
		a.Blasts = len(blasts[k])
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b store.AnalyticsBucket) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return cmp.Compare(a.Channel, b.Channel)
	})
	return out, nil
}

// ApplyEvent implements store.EventStore.
func (s *Store) ApplyEvent(ctx context.Context, p store.EventParams) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if p.EventID == "" {
		return false, fmt.Errorf("memstore: ApplyEvent: EventID is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.row(p.RowID)
	if r == nil || r.OrgID != p.OrgID {
		return false, notFound("row")
	}
	if _, dup := s.events[p.EventID]; dup {
		return false, nil
	}
	s.events[p.EventID] = struct{}{}
	l := s.ledgers[r.BlastID]
	before := *r
	ok := applyEvent(r, &p)
	if ok && before.Status == store.RowInDoubt && r.ProviderMessageID == "" && p.ProviderMessageID != "" &&
		(p.Kind == store.EventSent || p.Kind == store.EventDelivered || p.Kind == store.EventFailed) {
		r.ProviderMessageID = p.ProviderMessageID
		s.unindexed = append(s.unindexed, r.ID)
	}
	if ok {
		l.account(&before, -1)
		l.account(r, 1)
		r.UpdatedAt = p.At
		if r.Status == store.RowSent && before.SentAt.IsZero() {
			s.unindexed = append(s.unindexed, r.ID)
		}
	}
	return ok, nil
}

// applyEvent mutates r per the state machine and reports whether it did.
func applyEvent(r *store.Row, p *store.EventParams) bool {
	switch p.Kind {
	case store.EventDelivered:
		if r.Status != store.RowSent && r.Status != store.RowInDoubt {
			return false
		}
		if r.SentAt.IsZero() {
			r.SentAt = p.At
		}
		r.Status, r.Reason, r.DeliveredAt = store.RowDelivered, "", p.At
	case store.EventSent:
		if r.Status != store.RowInDoubt {
			return false
		}
		r.Status, r.Reason, r.SentAt = store.RowSent, "", p.At
	case store.EventFailed:
		if r.Status != store.RowSent && r.Status != store.RowDelivered && r.Status != store.RowInDoubt {
			return false
		}
		r.Status, r.Reason, r.ErrorCode, r.FailedAt = store.RowFailed, p.Reason, p.ErrorCode, p.At
	case store.EventOpen:
		r.Opens++
		if r.FirstOpenAt.IsZero() || p.At.Before(r.FirstOpenAt) {
			r.FirstOpenAt = p.At
		}
	case store.EventClick:
		r.Clicks++
		if r.FirstClickAt.IsZero() || p.At.Before(r.FirstClickAt) {
			r.FirstClickAt = p.At
		}
	case store.EventMachineOpen:
		r.MachineOpens++
	case store.EventMachineClick:
		r.MachineClicks++
	case store.EventReply:
		r.Replies++
		if p.At.After(r.LastReplyAt) {
			r.LastReplyAt = p.At
		}
	default:
		return false
	}
	return true
}

// MarkEvent implements store.EventStore.
func (s *Store) MarkEvent(ctx context.Context, eventID string, at time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if eventID == "" {
		return false, fmt.Errorf("memstore: MarkEvent: eventID is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.events[eventID]; dup {
		return false, nil
	}
	s.events[eventID] = struct{}{}
	return true, nil
}

// Suppress implements store.EventStore.
func (s *Store) Suppress(ctx context.Context, sp store.Suppression) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.supp[addrKey{sp.OrgID, sp.Channel, sp.Address}] = sp
	return nil
}

// Unsuppress implements store.EventStore.
func (s *Store) Unsuppress(ctx context.Context, orgID string, ch carecast.Channel, address string, reasons []string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := addrKey{orgID, ch, address}
	if sp, ok := s.supp[k]; ok && slices.Contains(reasons, sp.Reason) {
		delete(s.supp, k)
		return 1, nil
	}
	return 0, nil
}

// Suppressed implements store.EventStore.
func (s *Store) Suppressed(ctx context.Context, orgID string, ch carecast.Channel, addresses []string) ([]store.Suppression, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.supp) == 0 {
		return nil, nil
	}
	var out []store.Suppression
	seen := make(map[string]bool)
	for _, a := range addresses {
		if sp, ok := s.supp[addrKey{orgID, ch, a}]; ok && !seen[a] {
			seen[a] = true
			out = append(out, sp)
		}
	}
	return out, nil
}

var _ store.SentCounter = (*Store)(nil)

// SentCounts implements store.SentCounter.
func (s *Store) SentCounts(ctx context.Context, orgID string, ch carecast.Channel, pu carecast.Purpose, addresses []string, since time.Time) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.catchUp()
	out := make(map[string]int)
	for _, address := range addresses {
		if _, done := out[address]; done {
			continue
		}
		for _, id := range s.sentTo[address] {
			r := s.rows.at(id)
			if r.OrgID != orgID || r.Channel != ch || r.Address != address || !wasSent(r) || r.SentAt.Before(since) {
				continue
			}
			if b, err := s.blast(orgID, r.BlastID); err == nil && b.Purpose == pu {
				out[address]++
			}
		}
	}
	return out, nil
}

var _ store.FailureLog = (*Store)(nil)

// FailureTimes implements store.FailureLog.
func (s *Store) FailureTimes(ctx context.Context, orgID string, ch carecast.Channel, address, reason string, since time.Time) ([]time.Time, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.catchUp()
	var out []time.Time
	for _, id := range s.sentTo[address] {
		r := s.rows.at(id)
		if r.OrgID == orgID && r.Channel == ch && r.Address == address && r.Status == store.RowFailed && !r.SentAt.IsZero() &&
			r.Reason == reason && !r.FailedAt.Before(since) {
			out = append(out, r.FailedAt)
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out, nil
}

var _ store.DomainHealth = (*Store)(nil)

type domainKey struct {
	org, domain string
	day         int64
}

// AddDomainCounts implements store.DomainHealth.
func (s *Store) AddDomainCounts(ctx context.Context, orgID, domain string, at time.Time, delivered, complaints int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.domains == nil {
		s.domains = make(map[domainKey]*store.DomainDay)
	}
	k := domainKey{orgID, domain, store.UnixDay(at)}
	d := s.domains[k]
	if d == nil {
		d = &store.DomainDay{Day: store.DayStart(k.day)}
		s.domains[k] = d
	}
	d.Delivered += delivered
	d.Complaints += complaints
	return nil
}

// DomainDays implements store.DomainHealth.
func (s *Store) DomainDays(ctx context.Context, orgID, domain string, from, to time.Time) ([]store.DomainDay, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []store.DomainDay{}
	for day := store.UnixDay(from); day <= store.UnixDay(to); day++ {
		if d := s.domains[domainKey{orgID, domain, day}]; d != nil {
			out = append(out, *d)
		}
	}
	return out, nil
}

var _ store.AuditLog = (*Store)(nil)

// AppendAudit implements store.AuditLog.
func (s *Store) AppendAudit(ctx context.Context, entries []store.AuditEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range entries {
		a.Seq = int64(len(s.audit)) + 1
		s.audit = append(s.audit, a)
	}
	return nil
}

// AuditEntries implements store.AuditLog.
func (s *Store) AuditEntries(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q.Limit <= 0 {
		return nil, errors.New("memstore: AuditEntries: Limit must be positive")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []store.AuditEntry{}
	for _, a := range s.audit[min(max(q.AfterSeq, 0), int64(len(s.audit))):] {
		if a.OrgID != q.OrgID || q.BlastID != "" && a.BlastID != q.BlastID {
			continue
		}
		out = append(out, a)
		if len(out) == q.Limit {
			break
		}
	}
	return out, nil
}
