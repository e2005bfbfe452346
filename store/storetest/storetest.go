package storetest

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/store"
)

// Harness tells the suite how to make stores and what they support.
type Harness struct {
	// NewStore returns a new, empty store for one test. It is required.
	// Register cleanup (closing, dropping a schema) with t.Cleanup.
	NewStore func(t *testing.T) store.Store
	// OpenPeer, when set, returns another handle on the same data as s,
	// the way a second engine process would open the same database. The
	// multi-instance tests run only when it is set.
	OpenPeer func(t *testing.T, s store.Store) store.Store
	// Claimers is the number of concurrent goroutines of the concurrent
	// claim test. Defaults to 8.
	Claimers int
	// ConcurrentRows is the number of rows those goroutines claim.
	// Defaults to 2,000.
	ConcurrentRows int
}

// Run runs the whole suite against h, one subtest per behaviour. Subtests
// do not run in parallel with each other.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.NewStore == nil {
		t.Fatal("storetest: Harness.NewStore is required")
	}
	if h.Claimers == 0 {
		h.Claimers = 8
	}
	if h.ConcurrentRows == 0 {
		h.ConcurrentRows = 2000
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, h *Harness)
	}{
		{"CreateAndGetBlast", testCreateBlast},
		{"UpdateBlastVersions", testUpdateBlast},
		{"ListBlastsOrderAndPagination", testListBlasts},
		{"ActiveBlasts", testActiveBlasts},
		{"InsertRowsIdempotent", testInsertRows},
		{"ConcurrentInsertRows", testConcurrentInsert},
		{"ExistingPatients", testExistingPatients},
		{"ClaimDueRowsInOrder", testClaimRows},
		{"RecordOutcomesOwnerAndFields", testRecordOutcomes},
		{"ForwardOnlyStatuses", testForwardOnly},
		{"InDoubtResolutionLearnsProviderID", testInDoubtProviderID},
		{"LeaseExpiryMakesInDoubt", testExpireLeases},
		{"CancelQueued", testCancelQueued},
		{"RequeueFailed", testRequeueFailed},
		{"ReclaimedRowKeepsHistory", testReclaimHistory},
		{"RowLookups", testRowLookups},
		{"ListRowsPaginationAndFilters", testListRows},
		{"Stats", testStats},
		{"Engagement", testEngagement},
		{"Analytics", testAnalytics},
		{"ApplyEventIdempotentAndStateMachine", testApplyEvent},
		{"MachineEventsCountApart", testMachineEvents},
		{"MarkEvent", testMarkEvent},
		{"Suppressions", testSuppressions},
		{"TenantIsolation", testTenantIsolation},
		{"ConcurrentClaimers", testConcurrentClaimers},
		{"PeersShareTheLedger", testPeers},
		{"RateBudgetSharedCeiling", testRateBudget},
		{"PendingCounter", testPending},
		{"SentCounter", testSentCount},
		{"FailureLog", testFailureLog},
		{"DomainHealth", testDomainHealth},
		{"AuditLog", testAuditLog},
		{"BlastHeaders", testBlastHeaders},
		{"LinkIndex", testLinkIndex},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, &h) })
	}
}

// T0 is the suite's reference instant.
var T0 = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return T0.Add(d) }

const (
	orgA = "org-a"
	orgB = "org-b"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func sampleBlast(org, id string, created time.Time) store.Blast {
	return store.Blast{
		ID: id, OrgID: org, Name: "Spring " + id, Channel: carecast.SMS, Purpose: carecast.Marketing,
		CohortIDs: []string{"c1", "c2"}, Status: store.BlastSending, Content: []byte(`{"body":"hi @first_name"}`),
		DuplicatedFrom: "", CreatedBy: "staff-1", LedgerDone: false,
		CreatedAt: created, UpdatedAt: created, StartedAt: created,
	}
}

func mustBlast(t *testing.T, s store.Store, org, id string, ch carecast.Channel) store.Blast {
	t.Helper()
	b := sampleBlast(org, id, T0)
	b.Channel = ch
	got, err := s.CreateBlast(ctxT(t), b)
	require.NoError(t, err)
	return got
}

func patient(i int) string { return fmt.Sprintf("p%05d", i) }
func phone(i int) string   { return fmt.Sprintf("+1555%07d", i) }
func email(i int) string   { return fmt.Sprintf("patient%d@example.com", i) }

// queued returns n queued rows for patients from..from+n-1.
func queued(from, n int) []store.NewRow {
	rows := make([]store.NewRow, n)
	for i := range rows {
		rows[i] = store.NewRow{PatientID: patient(from + i), Status: store.RowQueued, Address: phone(from + i)}
	}
	return rows
}

func mustInsert(t *testing.T, s store.Store, org, blast string, rows []store.NewRow, when time.Time) {
	t.Helper()
	n, err := s.InsertRows(ctxT(t), org, blast, rows, when)
	require.NoError(t, err)
	require.Equal(t, len(rows), n)
}

func claim(t *testing.T, s store.Store, org, blast, owner string, now time.Time, limit int) []store.Row {
	t.Helper()
	rows, err := s.ClaimRows(ctxT(t), store.ClaimParams{OrgID: org, BlastID: blast, Owner: owner, Now: now, LeaseUntil: now.Add(time.Minute), Limit: limit})
	require.NoError(t, err)
	return rows
}

func record(t *testing.T, s store.Store, outs ...store.Outcome) int {
	t.Helper()
	n, err := s.RecordOutcomes(ctxT(t), outs)
	require.NoError(t, err)
	return n
}

func getRow(t *testing.T, s store.Store, org string, id int64) store.Row {
	t.Helper()
	r, err := s.Row(ctxT(t), org, id)
	require.NoError(t, err)
	return r
}

func sameTime(t *testing.T, want, got time.Time, what string) {
	t.Helper()
	assert.Truef(t, want.Equal(got), "%s: want %v, got %v", what, want, got)
}

// sameRow checks that a row returned by one method equals the stored row
// in every field (times compared with Equal).
func sameRow(t *testing.T, want, got store.Row, what string) {
	t.Helper()
	times := func(r *store.Row) []time.Time {
		return []time.Time{r.NextAttemptAt, r.LeaseUntil, r.CreatedAt, r.UpdatedAt, r.SentAt, r.DeliveredAt, r.FailedAt,
			r.FirstOpenAt, r.FirstClickAt, r.LastReplyAt}
	}
	wt, gt := times(&want), times(&got)
	for i := range wt {
		assert.Truef(t, wt[i].Equal(gt[i]), "%s: time field %d: want %v, got %v", what, i, wt[i], gt[i])
	}
	for _, r := range []*store.Row{&want, &got} {
		r.NextAttemptAt, r.LeaseUntil, r.CreatedAt, r.UpdatedAt, r.SentAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
		r.DeliveredAt, r.FailedAt, r.FirstOpenAt, r.FirstClickAt, r.LastReplyAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	}
	assert.Equalf(t, want, got, "%s", what)
}

func ids(rows []store.Row) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	return out
}

func testCreateBlast(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	b := sampleBlast(orgA, "b-1", T0)
	b.ScheduledAt, b.CompletedAt, b.CancelledAt = at(time.Hour), at(2*time.Hour), at(3*time.Hour)
	b.DuplicatedFrom, b.LedgerDone, b.Version = "b-0", true, 42
	got, err := s.CreateBlast(ctx, b)
	require.NoError(t, err)
	assert.Equal(t, int64(1), got.Version, "CreateBlast stores version 1")

	read, err := s.Blast(ctx, orgA, "b-1")
	require.NoError(t, err)
	assert.Equal(t, b.ID, read.ID)
	assert.Equal(t, b.OrgID, read.OrgID)
	assert.Equal(t, b.Name, read.Name)
	assert.Equal(t, b.Channel, read.Channel)
	assert.Equal(t, b.Purpose, read.Purpose)
	assert.Equal(t, b.CohortIDs, read.CohortIDs)
	assert.Equal(t, b.Status, read.Status)
	assert.Equal(t, b.Content, read.Content)
	assert.Equal(t, "b-0", read.DuplicatedFrom)
	assert.Equal(t, "staff-1", read.CreatedBy)
	assert.True(t, read.LedgerDone)
	assert.Equal(t, int64(1), read.Version)
	sameTime(t, b.CreatedAt, read.CreatedAt, "CreatedAt")
	sameTime(t, b.UpdatedAt, read.UpdatedAt, "UpdatedAt")
	sameTime(t, b.StartedAt, read.StartedAt, "StartedAt")
	sameTime(t, b.ScheduledAt, read.ScheduledAt, "ScheduledAt")
	sameTime(t, b.CompletedAt, read.CompletedAt, "CompletedAt")
	sameTime(t, b.CancelledAt, read.CancelledAt, "CancelledAt")

	// Zero times stay zero; empty cohorts round-trip as empty.
	z := store.Blast{ID: "b-zero", OrgID: orgA, Channel: carecast.Email, Purpose: carecast.Transactional, Status: store.BlastDraft}
	_, err = s.CreateBlast(ctx, z)
	require.NoError(t, err)
	zr, err := s.Blast(ctx, orgA, "b-zero")
	require.NoError(t, err)
	assert.True(t, zr.CreatedAt.IsZero() && zr.ScheduledAt.IsZero() && zr.CompletedAt.IsZero(), "zero times stay zero")
	assert.Empty(t, zr.CohortIDs)
	assert.Empty(t, zr.Content)

	_, err = s.CreateBlast(ctx, b)
	assert.ErrorIs(t, err, store.ErrConflict, "duplicate ID")
	_, err = s.CreateBlast(ctx, store.Blast{OrgID: orgA})
	assert.Error(t, err, "missing ID")
	_, err = s.CreateBlast(ctx, store.Blast{ID: "x"})
	assert.Error(t, err, "missing OrgID")

	_, err = s.Blast(ctx, orgA, "missing")
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Blast(ctx, orgB, "b-1")
	assert.ErrorIs(t, err, store.ErrNotFound, "another organization's blast")
}

func testUpdateBlast(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	b := mustBlast(t, s, orgA, "b-1", carecast.SMS)

	b.Name, b.Status, b.LedgerDone, b.CohortIDs = "Renamed", store.BlastCompleted, true, []string{"c9"}
	b.CompletedAt = at(time.Hour)
	b.CreatedAt = at(99 * time.Hour) // must be ignored
	up, err := s.UpdateBlast(ctx, b)
	require.NoError(t, err)
	assert.Equal(t, int64(2), up.Version)
	read, err := s.Blast(ctx, orgA, "b-1")
	require.NoError(t, err)
	assert.Equal(t, "Renamed", read.Name)
	assert.Equal(t, store.BlastCompleted, read.Status)
	assert.True(t, read.LedgerDone)
	assert.Equal(t, []string{"c9"}, read.CohortIDs)
	assert.Equal(t, int64(2), read.Version)
	sameTime(t, T0, read.CreatedAt, "CreatedAt is never changed")
	sameTime(t, at(time.Hour), read.CompletedAt, "CompletedAt")

	// A stale version is a conflict and changes nothing.
	stale := b // still version 1
	stale.Name = "Stale"
	_, err = s.UpdateBlast(ctx, stale)
	assert.ErrorIs(t, err, store.ErrConflict)
	read, _ = s.Blast(ctx, orgA, "b-1")
	assert.Equal(t, "Renamed", read.Name)

	up.Name = "Third"
	up3, err := s.UpdateBlast(ctx, up)
	require.NoError(t, err)
	assert.Equal(t, int64(3), up3.Version)

	missing := up3
	missing.ID = "nope"
	_, err = s.UpdateBlast(ctx, missing)
	assert.ErrorIs(t, err, store.ErrNotFound)
	other := up3
	other.OrgID = orgB
	_, err = s.UpdateBlast(ctx, other)
	assert.ErrorIs(t, err, store.ErrNotFound, "update through another organization")
}

func testListBlasts(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	// 7 blasts; b-3 and b-4 share a CreatedAt (ties break by ID desc).
	created := []time.Duration{0, time.Minute, 2 * time.Minute, 3 * time.Minute, 3 * time.Minute, 5 * time.Minute, 6 * time.Minute}
	for i, d := range created {
		b := sampleBlast(orgA, fmt.Sprintf("b-%d", i), at(d))
		if i%2 == 1 {
			b.Status = store.BlastDraft
		}
		_, err := s.CreateBlast(ctx, b)
		require.NoError(t, err)
	}
	_, err := s.CreateBlast(ctx, sampleBlast(orgB, "other", at(time.Hour)))
	require.NoError(t, err)

	var got []string
	p := store.ListBlastsParams{OrgID: orgA, Limit: 3}
	for {
		page, err := s.ListBlasts(ctx, p)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page), 3)
		if len(page) == 0 {
			break
		}
		for _, b := range page {
			got = append(got, b.ID)
			assert.Nil(t, b.Content, "ListBlasts leaves the content out")
			assert.Equal(t, "Spring "+b.ID, b.Name, "every other field is listed")
			assert.Equal(t, []string{"c1", "c2"}, b.CohortIDs)
		}
		p.Before = page[len(page)-1]
	}
	assert.Equal(t, []string{"b-6", "b-5", "b-4", "b-3", "b-2", "b-1", "b-0"}, got, "newest first, ties by ID descending, pages without gaps")

	drafts, err := s.ListBlasts(ctx, store.ListBlastsParams{OrgID: orgA, Statuses: []store.BlastStatus{store.BlastDraft}, Limit: 10})
	require.NoError(t, err)
	var dn []string
	for _, b := range drafts {
		dn = append(dn, b.ID)
	}
	assert.Equal(t, []string{"b-5", "b-3", "b-1"}, dn)

	none, err := s.ListBlasts(ctx, store.ListBlastsParams{OrgID: "org-empty", Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, none)
	_, err = s.ListBlasts(ctx, store.ListBlastsParams{OrgID: orgA})
	assert.Error(t, err, "Limit 0 is an error")
}

func testActiveBlasts(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	mk := func(id, org string, st store.BlastStatus, sched time.Time) {
		b := sampleBlast(org, id, T0)
		b.Status, b.ScheduledAt = st, sched
		_, err := s.CreateBlast(ctx, b)
		require.NoError(t, err)
	}
	mk("sending-a", orgA, store.BlastSending, time.Time{})
	mk("sending-b", orgB, store.BlastSending, time.Time{})
	mk("due", orgA, store.BlastScheduled, at(time.Minute))
	mk("due-exact", orgA, store.BlastScheduled, at(2*time.Minute))
	mk("future", orgA, store.BlastScheduled, at(time.Hour))
	mk("draft", orgA, store.BlastDraft, time.Time{})
	mk("done", orgA, store.BlastCompleted, time.Time{})
	mk("cancelled", orgA, store.BlastCancelled, time.Time{})
	mk("paused", orgA, store.BlastPaused, time.Time{})
	got, err := s.ActiveBlasts(ctx, at(2*time.Minute))
	require.NoError(t, err)
	var names []string
	for _, b := range got {
		names = append(names, b.ID)
		assert.Nil(t, b.Content, "ActiveBlasts leaves the content out")
	}
	sort.Strings(names)
	assert.Equal(t, []string{"due", "due-exact", "sending-a", "sending-b"}, names)
}

func testInsertRows(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	mustBlast(t, s, orgA, "b-1", carecast.Email)
	rows := queued(0, 3)
	rows = append(rows,
		store.NewRow{PatientID: patient(3), Status: store.RowSkipped, Reason: "no_contact"},
		store.NewRow{PatientID: patient(1), Status: store.RowQueued}, // duplicate within the slice
		store.NewRow{PatientID: patient(4), Status: store.RowQueued, Address: "x@example.com", NextAttemptAt: at(time.Hour)},
	)
	n, err := s.InsertRows(ctx, orgA, "b-1", rows, T0)
	require.NoError(t, err)
	assert.Equal(t, 5, n, "the duplicate patient within the slice is left out")

	// A resumed ledger write / Add Recipients: only new patients are written.
	n, err = s.InsertRows(ctx, orgA, "b-1", queued(2, 4), at(time.Second))
	require.NoError(t, err)
	assert.Equal(t, 1, n, "only p00005 is new")

	all, err := s.ListRows(ctx, store.ListRowsParams{OrgID: orgA, BlastID: "b-1", Limit: 100})
	require.NoError(t, err)
	require.Len(t, all, 6)
	seen := map[string]bool{}
	for i, r := range all {
		assert.False(t, seen[r.PatientID], "one row per patient")
		seen[r.PatientID] = true
		if i > 0 {
			assert.Greater(t, r.ID, all[i-1].ID, "IDs increase in insertion order")
		}
		assert.Equal(t, carecast.Email, r.Channel, "rows take the blast's channel")
		assert.Equal(t, orgA, r.OrgID)
		assert.Equal(t, "b-1", r.BlastID)
		assert.Zero(t, r.Attempts)
	}
	byP := map[string]store.Row{}
	for _, r := range all {
		byP[r.PatientID] = r
	}
	assert.Equal(t, store.RowSkipped, byP[patient(3)].Status)
	assert.Equal(t, "no_contact", byP[patient(3)].Reason)
	assert.Equal(t, phone(1), byP[patient(1)].Address, "the first row of a duplicated patient wins")
	sameTime(t, T0, byP[patient(0)].NextAttemptAt, "zero NextAttemptAt defaults to at")
	sameTime(t, T0, byP[patient(0)].CreatedAt, "CreatedAt")
	sameTime(t, T0, byP[patient(0)].UpdatedAt, "UpdatedAt")
	sameTime(t, at(time.Hour), byP[patient(4)].NextAttemptAt, "explicit NextAttemptAt")
	assert.Equal(t, "x@example.com", byP[patient(4)].Address)
	sameTime(t, at(time.Second), byP[patient(5)].CreatedAt, "later insert's CreatedAt")

	_, err = s.InsertRows(ctx, orgA, "b-1", []store.NewRow{{PatientID: "bad", Status: store.RowSent}}, T0)
	assert.Error(t, err, "status other than queued/skipped")
	_, err = s.InsertRows(ctx, orgA, "missing", queued(0, 1), T0)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.InsertRows(ctx, orgB, "b-1", queued(100, 1), T0)
	assert.ErrorIs(t, err, store.ErrNotFound, "another organization's blast")
	n, err = s.InsertRows(ctx, orgA, "b-1", nil, T0)
	require.NoError(t, err)
	assert.Zero(t, n)
	_, err = s.InsertRows(ctx, orgA, "missing", nil, T0)
	assert.ErrorIs(t, err, store.ErrNotFound, "an empty slice still checks the blast")

	// A large batch round-trips.
	mustBlast(t, s, orgA, "b-big", carecast.SMS)
	mustInsert(t, s, orgA, "b-big", queued(0, 2500), T0)
	st, err := s.Stats(ctx, orgA, "b-big")
	require.NoError(t, err)
	assert.Equal(t, 2500, st.ByStatus[store.RowQueued])
}

func testExistingPatients(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	mustBlast(t, s, orgA, "b-1", carecast.SMS)
	mustInsert(t, s, orgA, "b-1", queued(0, 5), T0)
	got, err := s.ExistingPatients(ctx, orgA, "b-1", []string{patient(9), patient(3), "zz", patient(0)})
	require.NoError(t, err)
	assert.Equal(t, []string{patient(3), patient(0)}, got, "subset, in the order given")
	got, err = s.ExistingPatients(ctx, orgA, "b-1", []string{"zz"})
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = s.ExistingPatients(ctx, orgB, "b-1", []string{patient(0)})
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func testClaimRows(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	mustBlast(t, s, orgA, "b-1", carecast.SMS)
	rows := queued(0, 6)
	rows[1].NextAttemptAt = at(10 * time.Minute) // deferred
	rows[4].NextAttemptAt = at(5 * time.Minute)  // deferred, due earlier
	rows = append(rows, store.NewRow{PatientID: "skipped", Status: store.RowSkipped, Reason: "landline"})
	mustInsert(t, s, orgA, "b-1", rows, T0)

	got, err := s.ClaimRows(ctx, store.ClaimParams{OrgID: orgA, BlastID: "b-1", Owner: "w1", Now: T0, LeaseUntil: at(time.Minute), Limit: 3})
	require.NoError(t, err)
	require.Len(t, got, 3)
	for i, r := range got {
		assert.Equal(t, store.RowSending, r.Status, "claimed rows are returned as sending")
		assert.Zero(t, r.Attempts, "claiming does not count an attempt")
		assert.Equal(t, "w1", r.LeaseOwner)
		sameTime(t, at(time.Minute), r.LeaseUntil, "LeaseUntil")
		if i > 0 {
			assert.Greater(t, r.ID, got[i-1].ID, "ascending ID order")
		}
	}
	assert.Equal(t, []string{patient(0), patient(2), patient(3)}, []string{got[0].PatientID, got[1].PatientID, got[2].PatientID})
	for _, r := range got {
		sameRow(t, getRow(t, s, orgA, r.ID), r, "a claimed row as returned and as stored")
	}
	stored := getRow(t, s, orgA, got[0].ID)
	assert.Equal(t, store.RowSending, stored.Status)
	assert.Equal(t, "w1", stored.LeaseOwner)

	more := claim(t, s, orgA, "b-1", "w2", T0, 10)
	require.Len(t, more, 1, "only p00005 is still due")
	assert.Equal(t, patient(5), more[0].PatientID)
	assert.Empty(t, claim(t, s, orgA, "b-1", "w2", T0, 10), "nothing due")

	// Deferred rows become due at their time, earliest first.
	later := claim(t, s, orgA, "b-1", "w2", at(time.Hour), 1)
	require.Len(t, later, 1)
	assert.Equal(t, patient(4), later[0].PatientID, "lowest NextAttemptAt first")
	later = claim(t, s, orgA, "b-1", "w2", at(time.Hour), 5)
	require.Len(t, later, 1)
	assert.Equal(t, patient(1), later[0].PatientID)

	none, err := s.ClaimRows(ctx, store.ClaimParams{OrgID: orgA, BlastID: "missing", Owner: "w", Now: T0, LeaseUntil: at(time.Minute), Limit: 5})
	require.NoError(t, err, "a missing blast is not an error")
	assert.Empty(t, none)
	_, err = s.ClaimRows(ctx, store.ClaimParams{OrgID: orgA, BlastID: "b-1", Owner: "w", Now: T0, LeaseUntil: at(time.Minute)})
	assert.Error(t, err, "Limit 0 is an error")
}

func testRecordOutcomes(t *testing.T, h *Harness) {
	s := h.NewStore(t)
	mustBlast(t, s, orgA, "b-1", carecast.SMS)
	mustInsert(t, s, orgA, "b-1", queued(0, 6), T0)
	c := claim(t, s, orgA, "b-1", "w1", T0, 6)
	require.Len(t, c, 6)

	assert.Zero(t, record(t, s, store.Outcome{RowID: c[0].ID, Owner: "w2", Status: store.RowSent, At: at(time.Second)}), "another owner's outcome is ignored")
	assert.Equal(t, store.RowSending, getRow(t, s, orgA, c[0].ID).Status)

	n := record(t, s,
		store.Outcome{RowID: c[0].ID, Owner: "w1", Status: store.RowSent, Attempted: true, ProviderMessageID: "SM0",
			Segments: 2, Cost: 15800, Address: "+15550009999", At: at(time.Second)},
		store.Outcome{RowID: c[1].ID, Owner: "w1", Status: store.RowFailed, Reason: "permanent", ErrorCode: "21211", Attempted: true, At: at(2 * time.Second)},
		store.Outcome{RowID: c[2].ID, Owner: "w1", Status: store.RowQueued, Attempted: true, Reason: "transient", NextAttemptAt: at(time.Hour), At: at(3 * time.Second)},
		store.Outcome{RowID: c[3].ID, Owner: "w1", Status: store.RowSkipped, Reason: "landline", At: at(4 * time.Second)},
		store.Outcome{RowID: c[4].ID, Owner: "w1", Status: store.RowOptedOut, Attempted: true, ErrorCode: "21610", At: at(5 * time.Second)},
		store.Outcome{RowID: c[5].ID, Owner: "w1", Status: store.RowInDoubt, Reason: "ambiguous", Attempted: true, At: at(6 * time.Second)},
	)
	assert.Equal(t, 6, n)

	r0 := getRow(t, s, orgA, c[0].ID)
	assert.Equal(t, store.RowSent, r0.Status)
	assert.Equal(t, 1, r0.Attempts)
	assert.Equal(t, "SM0", r0.ProviderMessageID)
	assert.Equal(t, 2, r0.Segments)
	assert.Equal(t, carecast.Money(15800), r0.Cost)
	assert.Equal(t, "+15550009999", r0.Address, "the address actually sent to replaces the row's")
	sameTime(t, at(time.Second), r0.SentAt, "SentAt")
	sameTime(t, at(time.Second), r0.UpdatedAt, "UpdatedAt")
	assert.Empty(t, r0.LeaseOwner, "a settled row's lease is cleared")
	assert.True(t, r0.LeaseUntil.IsZero())

	r1 := getRow(t, s, orgA, c[1].ID)
	assert.Equal(t, store.RowFailed, r1.Status)
	assert.Equal(t, "permanent", r1.Reason)
	assert.Equal(t, "21211", r1.ErrorCode)
	sameTime(t, at(2*time.Second), r1.FailedAt, "FailedAt")
	assert.True(t, r1.SentAt.IsZero())
	assert.Equal(t, phone(1), r1.Address, "an empty Outcome.Address keeps the row's")

	r2 := getRow(t, s, orgA, c[2].ID)
	assert.Equal(t, store.RowQueued, r2.Status)
	assert.Equal(t, 1, r2.Attempts)
	sameTime(t, at(time.Hour), r2.NextAttemptAt, "retry due time")
	assert.Empty(t, r2.LeaseOwner)
	assert.Empty(t, claim(t, s, orgA, "b-1", "w1", at(time.Minute), 10), "the retry is not due yet")
	re := claim(t, s, orgA, "b-1", "w3", at(time.Hour), 10)
	require.Len(t, re, 1)
	assert.Equal(t, c[2].ID, re[0].ID)
	assert.Equal(t, 1, re[0].Attempts)
	assert.Equal(t, "transient", re[0].Reason, "a re-claimed row keeps what its last attempt recorded")
	sameRow(t, getRow(t, s, orgA, re[0].ID), re[0], "a re-claimed row as returned and as stored")
	// A release (no provider call) does not count an attempt and becomes due at At.
	assert.Equal(t, 1, record(t, s, store.Outcome{RowID: c[2].ID, Owner: "w3", Status: store.RowQueued, At: at(2 * time.Hour)}))
	r2 = getRow(t, s, orgA, c[2].ID)
	assert.Equal(t, 1, r2.Attempts)
	sameTime(t, at(2*time.Hour), r2.NextAttemptAt, "zero NextAttemptAt of a queued outcome means At")

	r3 := getRow(t, s, orgA, c[3].ID)
	assert.Equal(t, store.RowSkipped, r3.Status)
	assert.Equal(t, "landline", r3.Reason)
	assert.Zero(t, r3.Attempts, "Attempted false does not count")
	assert.Equal(t, store.RowOptedOut, getRow(t, s, orgA, c[4].ID).Status)

	// An in_doubt outcome settles the row and clears its lease: only a
	// provider event can resolve it now (ExpireLeases, by contrast, keeps
	// the owner so its late answer can).
	r5 := getRow(t, s, orgA, c[5].ID)
	assert.Equal(t, store.RowInDoubt, r5.Status)
	assert.Equal(t, "ambiguous", r5.Reason)
	assert.Empty(t, r5.LeaseOwner)
	assert.Zero(t, record(t, s, store.Outcome{RowID: c[5].ID, Owner: "w1", Status: store.RowSent, ProviderMessageID: "SM5", At: at(7 * time.Second)}))
	assert.Equal(t, store.RowInDoubt, getRow(t, s, orgA, c[5].ID).Status)

	// Outcomes for settled rows are ignored; an empty slice is fine.
	assert.Zero(t, record(t, s, store.Outcome{RowID: c[0].ID, Owner: "w1", Status: store.RowFailed, At: at(time.Hour)}))
	assert.Zero(t, record(t, s))
	assert.Zero(t, record(t, s, store.Outcome{RowID: 987654321, Owner: "w1", Status: store.RowSent, At: T0}), "unknown row")

	// One call may carry outcomes of several blasts and organizations.
	mustBlast(t, s, orgA, "b-2", carecast.SMS)
	mustBlast(t, s, orgB, "b-3", carecast.Email)
	mustInsert(t, s, orgA, "b-2", queued(100, 2), T0)
	mustInsert(t, s, orgB, "b-3", queued(200, 2), T0)
	x := append(claim(t, s, orgA, "b-2", "w9", T0, 2), claim(t, s, orgB, "b-3", "w9", T0, 2)...)
	require.Len(t, x, 4)
	var outs []store.Outcome
	for _, r := range x {
		outs = append(outs, store.Outcome{RowID: r.ID, Owner: "w9", Status: store.RowSent, Attempted: true, At: at(time.Minute)})
	}
	outs = append(outs, store.Outcome{RowID: 987654321, Owner: "w9", Status: store.RowSent, At: T0})
	assert.Equal(t, 4, record(t, s, outs...), "every known row of every blast, the unknown one skipped")
	assert.Equal(t, store.RowSent, getRow(t, s, orgB, x[3].ID).Status)
}

// testForwardOnly checks that no method moves a row backwards.
func testForwardOnly(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	mustBlast(t, s, orgA, "b-1", carecast.SMS)
	mustInsert(t, s, orgA, "b-1", queued(0, 4), T0)
	c := claim(t, s, orgA, "b-1", "w1", T0, 4)
	require.Len(t, c, 4)

	// From sending, sending/delivered/cancelled are not outcomes.
	for _, bad := range []store.RowStatus{store.RowSending, store.RowDelivered, store.RowCancelled, "bogus"} {
		assert.Zerof(t, record(t, s, store.Outcome{RowID: c[0].ID, Owner: "w1", Status: bad, At: at(time.Second)}), "sending → %s", bad)
	}
	assert.Equal(t, 1, record(t, s, store.Outcome{RowID: c[0].ID, Owner: "w1", Status: store.RowSent, ProviderMessageID: "SMa", At: at(time.Second)}))
	// A sent row is never re-queued, re-claimed, cancelled or requeued by Retry Failed.
	_, err := s.CancelQueued(ctx, orgA, "b-1", at(2*time.Second))
	require.NoError(t, err)
	_, err = s.RequeueFailed(ctx, orgA, "b-1", true, at(2*time.Second))
	require.NoError(t, err)
	assert.Equal(t, store.RowSent, getRow(t, s, orgA, c[0].ID).Status)

	// in_doubt never goes back to queued or sending through outcomes.
	assert.Equal(t, 1, record(t, s, store.Outcome{RowID: c[1].ID, Owner: "w1", Status: store.RowInDoubt, Reason: "ambiguous", At: at(time.Second)}))
	for _, bad := range []store.RowStatus{store.RowQueued, store.RowSending, store.RowInDoubt, store.RowDelivered, store.RowCancelled} {
		assert.Zerof(t, record(t, s, store.Outcome{RowID: c[1].ID, Owner: "w1", Status: bad, At: at(time.Second)}), "in_doubt → %s", bad)
	}
	assert.Equal(t, store.RowInDoubt, getRow(t, s, orgA, c[1].ID).Status)

	// Events: delivered never goes back to sent; failed never back to delivered.
	ok, err := s.ApplyEvent(ctx, store.EventParams{EventID: "e1", OrgID: orgA, RowID: c[0].ID, Kind: store.EventDelivered, At: at(time.Minute)})
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = s.ApplyEvent(ctx, store.EventParams{EventID: "e2", OrgID: orgA, RowID: c[0].ID, Kind: store.EventSent, At: at(time.Minute)})
	require.NoError(t, err)
	assert.False(t, ok, "delivered → sent refused")
	ok, err = s.ApplyEvent(ctx, store.EventParams{EventID: "e3", OrgID: orgA, RowID: c[0].ID, Kind: store.EventFailed, Reason: "bounce", At: at(2 * time.Minute)})
	require.NoError(t, err)
	assert.True(t, ok, "delivered → failed (a late bounce)")
	ok, err = s.ApplyEvent(ctx, store.EventParams{EventID: "e4", OrgID: orgA, RowID: c[0].ID, Kind: store.EventDelivered, At: at(3 * time.Minute)})
	require.NoError(t, err)
	assert.False(t, ok, "failed → delivered refused")
	assert.Equal(t, store.RowFailed, getRow(t, s, orgA, c[0].ID).Status)

	// Events do not touch queued, sending, skipped or cancelled rows' statuses.
	ok, err = s.ApplyEvent(ctx, store.EventParams{EventID: "e5", OrgID: orgA, RowID: c[2].ID, Kind: store.EventDelivered, At: at(time.Minute)})
	require.NoError(t, err)
	assert.False(t, ok, "sending → delivered by event refused")
	assert.Equal(t, store.RowSending, getRow(t, s, orgA, c[2].ID).Status)
}

// testInDoubtProviderID checks EventParams.ProviderMessageID: recorded
// when an event moves a row out of in_doubt and the row has none (a lost
// send answer, resolved by a receipt or a reconciliation), findable by
// RowByProviderMessageID; never replacing an ID a row already has.
func testInDoubtProviderID(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	mustBlast(t, s, orgA, "b-1", carecast.SMS)
	mustInsert(t, s, orgA, "b-1", queued(0, 4), T0)
	c := claim(t, s, orgA, "b-1", "w1", T0, 4)
	require.Len(t, c, 4)
	assert.Equal(t, 4, record(t, s,
		store.Outcome{RowID: c[0].ID, Owner: "w1", Status: store.RowInDoubt, Reason: "ambiguous", At: at(time.Second)},
		store.Outcome{RowID: c[1].ID, Owner: "w1", Status: store.RowInDoubt, Reason: "ambiguous", At: at(time.Second)},
		store.Outcome{RowID: c[2].ID, Owner: "w1", Status: store.RowInDoubt, Reason: "ambiguous", At: at(time.Second)},
		store.Outcome{RowID: c[3].ID, Owner: "w1", Status: store.RowSent, ProviderMessageID: "SMsent", At: at(time.Second)}))

	for i, k := range []store.EventKind{store.EventDelivered, store.EventSent, store.EventFailed} {
		pmid := fmt.Sprintf("SMdoubt%d", i)
		ok, err := s.ApplyEvent(ctx, store.EventParams{EventID: "r" + pmid, OrgID: orgA, RowID: c[i].ID, Kind: k, Reason: "undelivered", ProviderMessageID: pmid, At: at(time.Minute)})
		require.NoError(t, err)
		assert.Truef(t, ok, "in_doubt → %s", k)
		r := getRow(t, s, orgA, c[i].ID)
		assert.Equalf(t, pmid, r.ProviderMessageID, "%s records the learned provider ID", k)
		found, err := s.RowByProviderMessageID(ctx, pmid)
		require.NoError(t, err)
		assert.Equal(t, c[i].ID, found.ID)
	}
	// A row that has its ID keeps it.
	ok, err := s.ApplyEvent(ctx, store.EventParams{EventID: "x", OrgID: orgA, RowID: c[3].ID, Kind: store.EventDelivered, ProviderMessageID: "SMother", At: at(time.Minute)})
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, "SMsent", getRow(t, s, orgA, c[3].ID).ProviderMessageID)
	_, err = s.RowByProviderMessageID(ctx, "SMother")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func testExpireLeases(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	mustBlast(t, s, orgA, "b-1", carecast.SMS)
	mustBlast(t, s, orgB, "b-2", carecast.SMS)
	mustInsert(t, s, orgA, "b-1", queued(0, 4), T0)
	mustInsert(t, s, orgB, "b-2", queued(0, 1), T0)
	short, err := s.ClaimRows(ctx, store.ClaimParams{OrgID: orgA, BlastID: "b-1", Owner: "dead", Now: T0, LeaseUntil: at(time.Minute), Limit: 2})
	require.NoError(t, err)
	long, err := s.ClaimRows(ctx, store.ClaimParams{OrgID: orgA, BlastID: "b-1", Owner: "alive", Now: T0, LeaseUntil: at(time.Hour), Limit: 1})
	require.NoError(t, err)
	other, err := s.ClaimRows(ctx, store.ClaimParams{OrgID: orgB, BlastID: "b-2", Owner: "deadB", Now: T0, LeaseUntil: at(time.Minute), Limit: 1})
	require.NoError(t, err)
	require.Len(t, short, 2)
	require.Len(t, long, 1)
	require.Len(t, other, 1)

	n, err := s.ExpireLeases(ctx, at(time.Minute))
	require.NoError(t, err)
	assert.Zero(t, n, "a lease expiring exactly now is still held")
	n, err = s.ExpireLeases(ctx, at(time.Minute+time.Millisecond))
	require.NoError(t, err)
	assert.Equal(t, 3, n, "expired leases of every organization")

	for _, r := range append(short, other[0]) {
		org := orgA
		if r.BlastID == "b-2" {
			org = orgB
		}
		got := getRow(t, s, org, r.ID)
		assert.Equal(t, store.RowInDoubt, got.Status, "the send may have started: in doubt, never re-queued")
		assert.Equal(t, "lease_expired", got.Reason)
		assert.Equal(t, r.LeaseOwner, got.LeaseOwner, "the last lease owner is kept")
	}
	assert.Equal(t, store.RowSending, getRow(t, s, orgA, long[0].ID).Status)

	// In-doubt rows are never claimed again automatically.
	rest := claim(t, s, orgA, "b-1", "w2", at(2*time.Hour), 10)
	require.Len(t, rest, 1, "only the never-claimed row")
	assert.NotContains(t, ids(short), rest[0].ID)
	// The live owner's lease is untouched until it expires too.
	n, err = s.ExpireLeases(ctx, at(30*time.Minute))
	require.NoError(t, err)
	assert.Zero(t, n)
	// A late outcome of the dead owner settles its row.
	assert.Equal(t, 1, record(t, s, store.Outcome{RowID: short[0].ID, Owner: "dead", Status: store.RowFailed, Reason: "permanent", At: at(3 * time.Minute)}))
	assert.Equal(t, store.RowFailed, getRow(t, s, orgA, short[0].ID).Status)
}

func testCancelQueued(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	mustBlast(t, s, orgA, "b-1", carecast.SMS)
	mustBlast(t, s, orgA, "b-2", carecast.SMS)
	mustInsert(t, s, orgA, "b-1", queued(0, 5), T0)
	mustInsert(t, s, orgA, "b-2", queued(0, 2), T0)
	c := claim(t, s, orgA, "b-1", "w1", T0, 2)
	record(t, s, store.Outcome{RowID: c[0].ID, Owner: "w1", Status: store.RowSent, At: T0})

	n, err := s.CancelQueued(ctx, orgA, "b-1", at(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	st, err := s.Stats(ctx, orgA, "b-1")
	require.NoError(t, err)
	assert.Equal(t, map[store.RowStatus]int{store.RowCancelled: 3, store.RowSent: 1, store.RowSending: 1}, st.ByStatus,
		"sent stays sent, sending is left to finish")
	st2, err := s.Stats(ctx, orgA, "b-2")
	require.NoError(t, err)
	assert.Equal(t, 2, st2.ByStatus[store.RowQueued], "other blasts are untouched")
	assert.Empty(t, claim(t, s, orgA, "b-1", "w1", at(time.Hour), 10))
	_, err = s.CancelQueued(ctx, orgB, "b-1", T0)
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func testRequeueFailed(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	mustBlast(t, s, orgA, "b-1", carecast.SMS)
	mustInsert(t, s, orgA, "b-1", queued(0, 5), T0)
	c := claim(t, s, orgA, "b-1", "w1", T0, 4)
	require.Len(t, c, 4)
	unclaimed, err := s.ListRows(ctx, store.ListRowsParams{OrgID: orgA, BlastID: "b-1", Filter: store.RowFilter{Any: []store.Match{{Status: store.RowQueued}}}, Limit: 10})
	require.NoError(t, err)
	require.Len(t, unclaimed, 1)
	record(t, s,
		store.Outcome{RowID: c[0].ID, Owner: "w1", Status: store.RowSent, Attempted: true, At: T0},
		store.Outcome{RowID: c[1].ID, Owner: "w1", Status: store.RowFailed, Reason: "permanent", ErrorCode: "21211", Attempted: true, At: T0},
		store.Outcome{RowID: c[2].ID, Owner: "w1", Status: store.RowInDoubt, Reason: "ambiguous", Attempted: true, At: T0},
		store.Outcome{RowID: c[3].ID, Owner: "w1", Status: store.RowSkipped, Reason: "landline", At: T0},
	)
	n, err := s.RequeueFailed(ctx, orgA, "b-1", false, at(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 1, n, "only the failed row")
	r1 := getRow(t, s, orgA, c[1].ID)
	assert.Equal(t, store.RowQueued, r1.Status)
	assert.Zero(t, r1.Attempts)
	assert.Empty(t, r1.Reason)
	assert.Empty(t, r1.ErrorCode)
	sameTime(t, at(time.Hour), r1.NextAttemptAt, "due at")
	assert.Equal(t, store.RowInDoubt, getRow(t, s, orgA, c[2].ID).Status)

	n, err = s.RequeueFailed(ctx, orgA, "b-1", true, at(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the in_doubt row, on request")
	assert.Equal(t, store.RowSent, getRow(t, s, orgA, c[0].ID).Status, "sent is never requeued")
	assert.Equal(t, store.RowSkipped, getRow(t, s, orgA, c[3].ID).Status)

	again := claim(t, s, orgA, "b-1", "w2", at(time.Hour), 10)
	assert.ElementsMatch(t, []int64{c[1].ID, c[2].ID, unclaimed[0].ID}, ids(again))
	for _, r := range again {
		sameRow(t, getRow(t, s, orgA, r.ID), r, "a requeued row as claimed and as stored")
	}
	_, err = s.RequeueFailed(ctx, orgB, "b-1", false, T0)
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func testRowLookups(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	mustBlast(t, s, orgA, "b-1", carecast.SMS)
	mustBlast(t, s, orgA, "b-2", carecast.SMS)
	mustBlast(t, s, orgA, "b-mail", carecast.Email)
	addr := phone(7)
	for _, b := range []string{"b-1", "b-2", "b-mail"} {
		mustInsert(t, s, orgA, b, []store.NewRow{{PatientID: "p", Status: store.RowQueued, Address: addr}}, T0)
	}
	c1 := claim(t, s, orgA, "b-1", "w", T0, 1)
	c2 := claim(t, s, orgA, "b-2", "w", T0, 1)
	cm := claim(t, s, orgA, "b-mail", "w", T0, 1)
	record(t, s,
		store.Outcome{RowID: c1[0].ID, Owner: "w", Status: store.RowSent, ProviderMessageID: "SM1", At: at(time.Minute)},
		store.Outcome{RowID: c2[0].ID, Owner: "w", Status: store.RowSent, ProviderMessageID: "SM2", At: at(2 * time.Minute)},
		store.Outcome{RowID: cm[0].ID, Owner: "w", Status: store.RowSent, ProviderMessageID: "EM1", At: at(3 * time.Minute)},
	)

	r, err := s.RowByProviderMessageID(ctx, "SM2")
	require.NoError(t, err)
	assert.Equal(t, c2[0].ID, r.ID)
	assert.Equal(t, orgA, r.OrgID, "found without knowing the organization")
	_, err = s.RowByProviderMessageID(ctx, "nope")
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.RowByProviderMessageID(ctx, "")
	assert.ErrorIs(t, err, store.ErrNotFound, "an empty ID matches nothing")

	latest, err := s.LatestSentTo(ctx, orgA, carecast.SMS, addr, T0)
	require.NoError(t, err)
	assert.Equal(t, c2[0].ID, latest.ID, "the most recent SMS to the number")
	latest, err = s.LatestSentTo(ctx, orgA, carecast.Email, addr, T0)
	require.NoError(t, err)
	assert.Equal(t, cm[0].ID, latest.ID, "per channel")
	_, err = s.LatestSentTo(ctx, orgA, carecast.SMS, addr, at(3*time.Minute))
	assert.ErrorIs(t, err, store.ErrNotFound, "nothing sent since")
	latest, err = s.LatestSentTo(ctx, orgA, carecast.SMS, addr, at(2*time.Minute))
	require.NoError(t, err, "since is inclusive")
	assert.Equal(t, c2[0].ID, latest.ID)
	_, err = s.LatestSentTo(ctx, orgB, carecast.SMS, addr, T0)
	assert.ErrorIs(t, err, store.ErrNotFound, "another organization")
	_, err = s.LatestSentTo(ctx, orgA, carecast.SMS, phone(8), T0)
	assert.ErrorIs(t, err, store.ErrNotFound)

	// A sent message later failed (undelivered) still counts as sent to.
	_, err = s.ApplyEvent(ctx, store.EventParams{EventID: "u1", OrgID: orgA, RowID: c2[0].ID, Kind: store.EventFailed, Reason: "undelivered", At: at(5 * time.Minute)})
	require.NoError(t, err)
	latest, err = s.LatestSentTo(ctx, orgA, carecast.SMS, addr, T0)
	require.NoError(t, err)
	assert.Equal(t, c2[0].ID, latest.ID)

	_, err = s.Row(ctx, orgA, 987654321)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Row(ctx, orgB, c1[0].ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "another organization's row")
}

func testListRows(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	mustBlast(t, s, orgA, "b-1", carecast.SMS)
	mustBlast(t, s, orgA, "b-2", carecast.SMS)
	rows := queued(0, 20)
	for i := 20; i < 25; i++ {
		rows = append(rows, store.NewRow{PatientID: patient(i), Status: store.RowSkipped, Reason: "no_contact"})
	}
	rows = append(rows, store.NewRow{PatientID: patient(25), Status: store.RowSkipped, Reason: "landline"})
	mustInsert(t, s, orgA, "b-1", rows, T0)
	mustInsert(t, s, orgA, "b-2", queued(0, 3), T0) // interleaved blast must not leak in
	c := claim(t, s, orgA, "b-1", "w", T0, 20)
	var outs []store.Outcome
	for i, r := range c {
		st := store.RowSent
		if i%4 == 3 {
			st = store.RowFailed
		}
		outs = append(outs, store.Outcome{RowID: r.ID, Owner: "w", Status: st, Reason: map[bool]string{true: "permanent"}[st == store.RowFailed], At: at(time.Second)})
	}
	record(t, s, outs...)
	for i, r := range c[:6] {
		kind := store.EventOpen
		if i%2 == 1 {
			kind = store.EventReply
		}
		_, err := s.ApplyEvent(ctx, store.EventParams{EventID: fmt.Sprintf("ev-%d", i), OrgID: orgA, RowID: r.ID, Kind: kind, At: at(time.Minute)})
		require.NoError(t, err)
	}

	page := func(f store.RowFilter, size int) []store.Row {
		var all []store.Row
		p := store.ListRowsParams{OrgID: orgA, BlastID: "b-1", Filter: f, Limit: size}
		for {
			got, err := s.ListRows(ctx, p)
			require.NoError(t, err)
			require.LessOrEqual(t, len(got), size)
			if len(got) == 0 {
				return all
			}
			all = append(all, got...)
			p.AfterID = got[len(got)-1].ID
		}
	}
	all := page(store.RowFilter{}, 7)
	require.Len(t, all, 26, "every row of the blast, none of the other")
	for i := 1; i < len(all); i++ {
		require.Greater(t, all[i].ID, all[i-1].ID, "ascending, no duplicates across pages")
	}
	count := func(pred func(store.Row) bool) int {
		n := 0
		for _, r := range all {
			if pred(r) {
				n++
			}
		}
		return n
	}
	cases := []struct {
		name string
		f    store.RowFilter
		want func(store.Row) bool
	}{
		{"sent", store.RowFilter{Any: []store.Match{{Status: store.RowSent}}}, func(r store.Row) bool { return r.Status == store.RowSent }},
		{"skipped no_contact", store.RowFilter{Any: []store.Match{{Status: store.RowSkipped, Reason: "no_contact"}}},
			func(r store.Row) bool { return r.Status == store.RowSkipped && r.Reason == "no_contact" }},
		{"failed or landline", store.RowFilter{Any: []store.Match{{Status: store.RowFailed}, {Status: store.RowSkipped, Reason: "landline"}}},
			func(r store.Row) bool { return r.Status == store.RowFailed || r.Reason == "landline" }},
		{"opened", store.RowFilter{Opened: true}, func(r store.Row) bool { return r.Opens > 0 }},
		{"replied", store.RowFilter{Replied: true}, func(r store.Row) bool { return r.Replies > 0 }},
		{"sent and opened", store.RowFilter{Any: []store.Match{{Status: store.RowSent}}, Opened: true},
			func(r store.Row) bool { return r.Status == store.RowSent && r.Opens > 0 }},
		{"clicked", store.RowFilter{Clicked: true}, func(r store.Row) bool { return r.Clicks > 0 }},
	}
	for _, tc := range cases {
		got := page(tc.f, 2)
		assert.Equalf(t, count(tc.want), len(got), "filter %s", tc.name)
		for _, r := range got {
			assert.Truef(t, tc.want(r), "filter %s returned a non-matching row", tc.name)
		}
	}
	assert.Equal(t, 3, count(func(r store.Row) bool { return r.Opens > 0 }), "the fixture has opens")

	_, err := s.ListRows(ctx, store.ListRowsParams{OrgID: orgB, BlastID: "b-1", Limit: 10})
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.ListRows(ctx, store.ListRowsParams{OrgID: orgA, BlastID: "b-1"})
	assert.Error(t, err, "Limit 0 is an error")
}

func testStats(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	mustBlast(t, s, orgA, "empty", carecast.SMS)
	st, err := s.Stats(ctx, orgA, "empty")
	require.NoError(t, err)
	assert.NotNil(t, st.ByStatus)
	assert.NotNil(t, st.SkippedBy)
	assert.NotNil(t, st.FailedBy)
	assert.Zero(t, st.Total())
	assert.True(t, st.FirstSentAt.IsZero())

	mustBlast(t, s, orgA, "b-1", carecast.SMS)
	rows := queued(0, 10)
	rows = append(rows,
		store.NewRow{PatientID: "s1", Status: store.RowSkipped, Reason: "no_contact"},
		store.NewRow{PatientID: "s2", Status: store.RowSkipped, Reason: "no_contact"},
		store.NewRow{PatientID: "s3", Status: store.RowSkipped, Reason: "landline"})
	mustInsert(t, s, orgA, "b-1", rows, T0)
	c := claim(t, s, orgA, "b-1", "w", T0, 8)
	record(t, s,
		store.Outcome{RowID: c[0].ID, Owner: "w", Status: store.RowSent, Segments: 1, Cost: 7900, At: at(3 * time.Second)},
		store.Outcome{RowID: c[1].ID, Owner: "w", Status: store.RowSent, Segments: 2, Cost: 15800, At: at(time.Second)},
		store.Outcome{RowID: c[2].ID, Owner: "w", Status: store.RowSent, Segments: 1, Cost: 7900, At: at(5 * time.Second)},
		store.Outcome{RowID: c[3].ID, Owner: "w", Status: store.RowFailed, Reason: "permanent", At: at(time.Second)},
		store.Outcome{RowID: c[4].ID, Owner: "w", Status: store.RowFailed, Reason: "attempts", At: at(time.Second)},
		store.Outcome{RowID: c[5].ID, Owner: "w", Status: store.RowInDoubt, Reason: "ambiguous", At: at(time.Second)},
		store.Outcome{RowID: c[6].ID, Owner: "w", Status: store.RowOptedOut, At: at(time.Second)},
	)
	for i, k := range []store.EventKind{store.EventOpen, store.EventOpen, store.EventClick, store.EventReply} {
		_, err := s.ApplyEvent(ctx, store.EventParams{EventID: fmt.Sprintf("e%d", i), OrgID: orgA, RowID: c[i%2].ID, Kind: k, At: at(time.Minute)})
		require.NoError(t, err)
	}
	_, err = s.ApplyEvent(ctx, store.EventParams{EventID: "d", OrgID: orgA, RowID: c[2].ID, Kind: store.EventDelivered, At: at(time.Minute)})
	require.NoError(t, err)

	st, err = s.Stats(ctx, orgA, "b-1")
	require.NoError(t, err)
	assert.Equal(t, map[store.RowStatus]int{
		store.RowSent: 2, store.RowDelivered: 1, store.RowFailed: 2, store.RowInDoubt: 1, store.RowOptedOut: 1,
		store.RowSending: 1, store.RowQueued: 2, store.RowSkipped: 3,
	}, st.ByStatus)
	assert.Equal(t, 13, st.Total())
	assert.Equal(t, map[string]int{"no_contact": 2, "landline": 1}, st.SkippedBy)
	assert.Equal(t, map[string]int{"permanent": 1, "attempts": 1}, st.FailedBy)
	assert.Equal(t, 2, st.Opened, "rows with an open: c0 (two opens) and c1")
	assert.Equal(t, 1, st.Clicked)
	assert.Equal(t, 1, st.Replied)
	assert.Equal(t, int64(4), st.Segments)
	assert.Equal(t, carecast.Money(31600), st.Cost)
	sameTime(t, at(time.Second), st.FirstSentAt, "FirstSentAt")
	sameTime(t, at(5*time.Second), st.LastSentAt, "LastSentAt")

	_, err = s.Stats(ctx, orgB, "b-1")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func testEngagement(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	mustBlast(t, s, orgA, "b-1", carecast.Email)
	mustInsert(t, s, orgA, "b-1", queued(0, 6), T0)
	c := claim(t, s, orgA, "b-1", "w", T0, 6)
	var outs []store.Outcome
	for _, r := range c {
		outs = append(outs, store.Outcome{RowID: r.ID, Owner: "w", Status: store.RowSent, At: T0})
	}
	record(t, s, outs...)
	ev := 0
	apply := func(row int, k store.EventKind, d time.Duration) {
		ev++
		_, err := s.ApplyEvent(ctx, store.EventParams{EventID: fmt.Sprintf("e%d", ev), OrgID: orgA, RowID: c[row].ID, Kind: k, At: at(d)})
		require.NoError(t, err)
	}
	apply(0, store.EventOpen, 10*time.Minute)
	apply(0, store.EventOpen, 5*time.Minute) // earlier open becomes the first
	apply(1, store.EventOpen, 70*time.Minute)
	apply(2, store.EventOpen, -time.Minute) // before Start: bucket 0
	apply(3, store.EventOpen, 10*time.Hour) // after the last bucket: not counted
	apply(1, store.EventClick, 65*time.Minute)
	apply(4, store.EventClick, 150*time.Minute)

	e, err := s.Engagement(ctx, store.EngagementParams{OrgID: orgA, BlastID: "b-1", Start: T0, Step: time.Hour, Buckets: 3})
	require.NoError(t, err)
	assert.Equal(t, []int{2, 1, 0}, e.Opens)
	assert.Equal(t, []int{0, 1, 1}, e.Clicks)
	r0 := getRow(t, s, orgA, c[0].ID)
	assert.Equal(t, 2, r0.Opens)
	sameTime(t, at(5*time.Minute), r0.FirstOpenAt, "FirstOpenAt is the earliest")

	_, err = s.Engagement(ctx, store.EngagementParams{OrgID: orgB, BlastID: "b-1", Start: T0, Step: time.Hour, Buckets: 3})
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Engagement(ctx, store.EngagementParams{OrgID: orgA, BlastID: "b-1", Start: T0, Step: 0, Buckets: 3})
	assert.Error(t, err, "Step 0")
}

func testAnalytics(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	mustBlast(t, s, orgA, "sms-1", carecast.SMS)
	mustBlast(t, s, orgA, "sms-2", carecast.SMS)
	mustBlast(t, s, orgA, "mail", carecast.Email)
	mustBlast(t, s, orgB, "other", carecast.SMS)
	day := 24 * time.Hour
	send := func(org, blast string, n int, when time.Time, cost carecast.Money) []store.Row {
		from := int(when.Sub(T0) / time.Minute)
		mustInsert(t, s, org, blast, queued(from*100, n), T0)
		c := claim(t, s, org, blast, "w", at(400*day), n)
		require.Len(t, c, n)
		var outs []store.Outcome
		for _, r := range c {
			outs = append(outs, store.Outcome{RowID: r.ID, Owner: "w", Status: store.RowSent, Cost: cost, Segments: 1, At: when})
		}
		record(t, s, outs...)
		return c
	}
	a := send(orgA, "sms-1", 3, at(time.Hour), 100)
	send(orgA, "sms-2", 2, at(2*time.Hour), 100)
	m := send(orgA, "mail", 2, at(day+time.Hour), 10)
	send(orgA, "sms-1", 1, at(2*day+time.Hour), 100)
	send(orgA, "sms-1", 1, at(-time.Hour), 100) // before From
	send(orgB, "other", 5, at(time.Hour), 100)
	_, err := s.ApplyEvent(ctx, store.EventParams{EventID: "d1", OrgID: orgA, RowID: a[0].ID, Kind: store.EventDelivered, At: at(2 * time.Hour)})
	require.NoError(t, err)
	_, err = s.ApplyEvent(ctx, store.EventParams{EventID: "f1", OrgID: orgA, RowID: a[1].ID, Kind: store.EventFailed, Reason: "undelivered", At: at(2 * time.Hour)})
	require.NoError(t, err)
	_, err = s.ApplyEvent(ctx, store.EventParams{EventID: "o1", OrgID: orgA, RowID: m[0].ID, Kind: store.EventOpen, At: at(day + 2*time.Hour)})
	require.NoError(t, err)
	_, err = s.ApplyEvent(ctx, store.EventParams{EventID: "c1", OrgID: orgA, RowID: m[0].ID, Kind: store.EventClick, At: at(day + 2*time.Hour)})
	require.NoError(t, err)
	_, err = s.ApplyEvent(ctx, store.EventParams{EventID: "r1", OrgID: orgA, RowID: a[2].ID, Kind: store.EventReply, At: at(day + 2*time.Hour)})
	require.NoError(t, err)

	got, err := s.Analytics(ctx, store.AnalyticsParams{OrgID: orgA, From: T0, To: at(2 * day), Bucket: day})
	require.NoError(t, err)
	require.Len(t, got, 2, "day 0 SMS and day 1 email; day 2 is outside To, the early row before From")
	sameTime(t, T0, got[0].Start, "bucket 0 start")
	assert.Equal(t, carecast.SMS, got[0].Channel)
	assert.Equal(t, 5, got[0].Sent, "a failed-after-sent row still counts as sent")
	assert.Equal(t, 1, got[0].Delivered)
	assert.Equal(t, 1, got[0].Replied)
	assert.Equal(t, carecast.Money(500), got[0].Cost)
	assert.Equal(t, 2, got[0].Blasts)
	sameTime(t, at(day), got[1].Start, "bucket 1 start")
	assert.Equal(t, carecast.Email, got[1].Channel)
	assert.Equal(t, 2, got[1].Sent)
	assert.Equal(t, 1, got[1].Opened)
	assert.Equal(t, 1, got[1].Clicked)
	assert.Equal(t, carecast.Money(20), got[1].Cost)
	assert.Equal(t, 1, got[1].Blasts)

	// Two channels in one bucket are ordered by channel.
	wide, err := s.Analytics(ctx, store.AnalyticsParams{OrgID: orgA, From: T0, To: at(3 * day), Bucket: 7 * day})
	require.NoError(t, err)
	require.Len(t, wide, 2)
	assert.Equal(t, carecast.Email, wide[0].Channel)
	assert.Equal(t, carecast.SMS, wide[1].Channel)
	assert.Equal(t, 6, wide[1].Sent)

	none, err := s.Analytics(ctx, store.AnalyticsParams{OrgID: "org-empty", From: T0, To: at(day), Bucket: day})
	require.NoError(t, err)
	assert.Empty(t, none)
	_, err = s.Analytics(ctx, store.AnalyticsParams{OrgID: orgA, From: T0, To: at(day)})
	assert.Error(t, err, "Bucket 0")
}

func testApplyEvent(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	mustBlast(t, s, orgA, "b-1", carecast.SMS)
	mustInsert(t, s, orgA, "b-1", queued(0, 3), T0)
	c := claim(t, s, orgA, "b-1", "w", T0, 3)
	record(t, s,
		store.Outcome{RowID: c[0].ID, Owner: "w", Status: store.RowSent, ProviderMessageID: "SM0", At: at(time.Second)},
		store.Outcome{RowID: c[1].ID, Owner: "w", Status: store.RowInDoubt, Reason: "ambiguous", At: at(time.Second)},
		store.Outcome{RowID: c[2].ID, Owner: "w", Status: store.RowInDoubt, Reason: "ambiguous", At: at(time.Second)},
	)
	apply := func(id string, row int64, k store.EventKind, d time.Duration) bool {
		t.Helper()
		ok, err := s.ApplyEvent(ctx, store.EventParams{EventID: id, OrgID: orgA, RowID: row, Kind: k, At: at(d), Reason: "undelivered", ErrorCode: "30005"})
		require.NoError(t, err)
		return ok
	}
	assert.True(t, apply("d0", c[0].ID, store.EventDelivered, time.Minute))
	assert.False(t, apply("d0", c[0].ID, store.EventDelivered, time.Minute), "the same event ID twice is a no-op")
	r0 := getRow(t, s, orgA, c[0].ID)
	assert.Equal(t, store.RowDelivered, r0.Status)
	sameTime(t, at(time.Minute), r0.DeliveredAt, "DeliveredAt")
	sameTime(t, at(time.Second), r0.SentAt, "SentAt kept")

	// in_doubt resolved by the provider: sent, or delivered (SentAt filled in).
	assert.True(t, apply("s1", c[1].ID, store.EventSent, 2*time.Minute))
	r1 := getRow(t, s, orgA, c[1].ID)
	assert.Equal(t, store.RowSent, r1.Status)
	assert.Empty(t, r1.Reason)
	sameTime(t, at(2*time.Minute), r1.SentAt, "SentAt from the event")
	assert.True(t, apply("d2", c[2].ID, store.EventDelivered, 3*time.Minute))
	r2 := getRow(t, s, orgA, c[2].ID)
	assert.Equal(t, store.RowDelivered, r2.Status)
	sameTime(t, at(3*time.Minute), r2.SentAt, "SentAt set when unknown")

	assert.True(t, apply("f1", c[1].ID, store.EventFailed, 4*time.Minute))
	r1 = getRow(t, s, orgA, c[1].ID)
	assert.Equal(t, store.RowFailed, r1.Status)
	assert.Equal(t, "undelivered", r1.Reason)
	assert.Equal(t, "30005", r1.ErrorCode)
	sameTime(t, at(4*time.Minute), r1.FailedAt, "FailedAt")

	// A refused move still records the event ID: replays stay no-ops.
	assert.False(t, apply("late", c[1].ID, store.EventSent, 5*time.Minute))
	assert.False(t, apply("late", c[1].ID, store.EventSent, 5*time.Minute))
	assert.Equal(t, store.RowFailed, getRow(t, s, orgA, c[1].ID).Status)

	// Counters apply in any status, once per event ID.
	assert.True(t, apply("r1", c[1].ID, store.EventReply, 6*time.Minute))
	assert.True(t, apply("r2", c[1].ID, store.EventReply, 5*time.Minute))
	assert.False(t, apply("r2", c[1].ID, store.EventReply, 9*time.Minute))
	r1 = getRow(t, s, orgA, c[1].ID)
	assert.Equal(t, 2, r1.Replies)
	sameTime(t, at(6*time.Minute), r1.LastReplyAt, "LastReplyAt is the latest")
	assert.True(t, apply("c1", c[0].ID, store.EventClick, 7*time.Minute))
	assert.True(t, apply("c2", c[0].ID, store.EventClick, 8*time.Minute))
	r0 = getRow(t, s, orgA, c[0].ID)
	assert.Equal(t, 2, r0.Clicks)
	sameTime(t, at(7*time.Minute), r0.FirstClickAt, "FirstClickAt")

	// A missing row is ErrNotFound and does not record the event ID.
	_, err := s.ApplyEvent(ctx, store.EventParams{EventID: "ghost", OrgID: orgA, RowID: 987654321, Kind: store.EventOpen, At: T0})
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.ApplyEvent(ctx, store.EventParams{EventID: "ghost", OrgID: orgB, RowID: c[0].ID, Kind: store.EventOpen, At: T0})
	assert.ErrorIs(t, err, store.ErrNotFound, "another organization's row")
	assert.True(t, apply("ghost", c[0].ID, store.EventOpen, 9*time.Minute), "the ID was not recorded by the failed calls")
	_, err = s.ApplyEvent(ctx, store.EventParams{OrgID: orgA, RowID: c[0].ID, Kind: store.EventOpen, At: T0})
	assert.Error(t, err, "an empty EventID")
}

func testMarkEvent(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	ok, err := s.MarkEvent(ctx, "in-1", T0)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = s.MarkEvent(ctx, "in-1", at(time.Minute))
	require.NoError(t, err)
	assert.False(t, ok, "already recorded")
	_, err = s.MarkEvent(ctx, "", T0)
	assert.Error(t, err)

	// MarkEvent and ApplyEvent share one ID space.
	mustBlast(t, s, orgA, "b-1", carecast.SMS)
	mustInsert(t, s, orgA, "b-1", queued(0, 1), T0)
	rows, err := s.ListRows(ctx, store.ListRowsParams{OrgID: orgA, BlastID: "b-1", Limit: 1})
	require.NoError(t, err)
	ok, err = s.ApplyEvent(ctx, store.EventParams{EventID: "in-1", OrgID: orgA, RowID: rows[0].ID, Kind: store.EventOpen, At: T0})
	require.NoError(t, err)
	assert.False(t, ok)
}

func testSuppressions(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	a1, a2, a3 := phone(1), phone(2), phone(3)
	require.NoError(t, s.Suppress(ctx, store.Suppression{OrgID: orgA, Channel: carecast.SMS, Address: a1, Reason: "opted_out", At: T0}))
	require.NoError(t, s.Suppress(ctx, store.Suppression{OrgID: orgA, Channel: carecast.SMS, Address: a2, Reason: "opted_out", At: T0}))
	require.NoError(t, s.Suppress(ctx, store.Suppression{OrgID: orgA, Channel: carecast.Email, Address: a3, Reason: "bounce", At: T0}))
	require.NoError(t, s.Suppress(ctx, store.Suppression{OrgID: orgB, Channel: carecast.SMS, Address: a3, Reason: "opted_out", At: T0}))
	// Replacing keeps one per address.
	require.NoError(t, s.Suppress(ctx, store.Suppression{OrgID: orgA, Channel: carecast.SMS, Address: a2, Reason: "complaint", At: at(time.Minute)}))

	got, err := s.Suppressed(ctx, orgA, carecast.SMS, []string{a1, a2, a3, a1})
	require.NoError(t, err)
	sort.Slice(got, func(i, j int) bool { return got[i].Address < got[j].Address })
	require.Len(t, got, 2, "one per address; other channels and organizations excluded")
	assert.Equal(t, a1, got[0].Address)
	assert.Equal(t, "opted_out", got[0].Reason)
	assert.Equal(t, orgA, got[0].OrgID)
	assert.Equal(t, carecast.SMS, got[0].Channel)
	sameTime(t, T0, got[0].At, "At")
	assert.Equal(t, "complaint", got[1].Reason, "replaced")
	sameTime(t, at(time.Minute), got[1].At, "replaced At")

	n, err := s.Unsuppress(ctx, orgA, carecast.SMS, a2, []string{"opted_out"})
	require.NoError(t, err)
	assert.Zero(t, n, "reason does not match")
	n, err = s.Unsuppress(ctx, orgA, carecast.SMS, a1, []string{"bounce", "opted_out"})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	got, err = s.Suppressed(ctx, orgA, carecast.SMS, []string{a1, a2})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, a2, got[0].Address)
	got, err = s.Suppressed(ctx, orgA, carecast.SMS, nil)
	require.NoError(t, err)
	assert.Empty(t, got)

	// Many addresses in one call (the engine passes a claimed batch).
	var many []string
	for i := range 1500 {
		many = append(many, phone(1000+i))
	}
	require.NoError(t, s.Suppress(ctx, store.Suppression{OrgID: orgA, Channel: carecast.SMS, Address: many[1234], Reason: "opted_out", At: T0}))
	got, err = s.Suppressed(ctx, orgA, carecast.SMS, many)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, many[1234], got[0].Address)
}

// testTenantIsolation runs every organization-scoped method through the
// other organization's ID and checks it sees and changes nothing.
func testTenantIsolation(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	mustBlast(t, s, orgA, "b-a", carecast.SMS)
	mustInsert(t, s, orgA, "b-a", queued(0, 3), T0)
	c := claim(t, s, orgA, "b-a", "w", T0, 1)
	require.Len(t, c, 1)

	got, err := s.ClaimRows(ctx, store.ClaimParams{OrgID: orgB, BlastID: "b-a", Owner: "x", Now: T0, LeaseUntil: at(time.Minute), Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, got, "claims through another organization")
	list, err := s.ListBlasts(ctx, store.ListBlastsParams{OrgID: orgB, Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, list)
	_, err = s.CancelQueued(ctx, orgB, "b-a", T0)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.RequeueFailed(ctx, orgB, "b-a", true, T0)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Stats(ctx, orgB, "b-a")
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Row(ctx, orgB, c[0].ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.ListRows(ctx, store.ListRowsParams{OrgID: orgB, BlastID: "b-a", Limit: 5})
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.ExistingPatients(ctx, orgB, "b-a", []string{patient(0)})
	assert.ErrorIs(t, err, store.ErrNotFound)
	an, err := s.Analytics(ctx, store.AnalyticsParams{OrgID: orgB, From: T0.Add(-time.Hour), To: at(time.Hour), Bucket: time.Hour})
	require.NoError(t, err)
	assert.Empty(t, an)

	st, err := s.Stats(ctx, orgA, "b-a")
	require.NoError(t, err)
	assert.Equal(t, map[store.RowStatus]int{store.RowQueued: 2, store.RowSending: 1}, st.ByStatus, "nothing changed")
	// The same blast ID cannot exist twice, even in another organization.
	_, err = s.CreateBlast(ctx, sampleBlast(orgB, "b-a", T0))
	assert.ErrorIs(t, err, store.ErrConflict)
	// The same patient ID in two organizations' blasts are distinct rows.
	mustBlast(t, s, orgB, "b-b", carecast.SMS)
	mustInsert(t, s, orgB, "b-b", queued(0, 3), T0)
}

func testConcurrentClaimers(t *testing.T, h *Harness) {
	s := h.NewStore(t)
	stores := []store.Store{s}
	if h.OpenPeer != nil {
		stores = append(stores, h.OpenPeer(t, s))
	}
	claimAll(t, stores, h.Claimers, h.ConcurrentRows)
}

// claimAll inserts n rows and has k goroutines spread over stores claim
// and settle them concurrently; it checks each row was claimed exactly once.
func claimAll(t *testing.T, stores []store.Store, k, n int) {
	ctx := ctxT(t)
	s := stores[0]
	mustBlast(t, s, orgA, "b-c", carecast.SMS)
	mustBlast(t, s, orgB, "b-noise", carecast.SMS)
	for off := 0; off < n; off += 1000 {
		mustInsert(t, s, orgA, "b-c", queued(off, min(1000, n-off)), T0)
	}
	mustInsert(t, s, orgB, "b-noise", queued(0, 50), T0)

	var (
		mu      sync.Mutex
		claimed = make(map[int64]string)
		dups    []int64
		wg      sync.WaitGroup
		errs    = make(chan error, k)
	)
	for w := range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := stores[w%len(stores)]
			owner := fmt.Sprintf("w%d", w)
			for {
				rows, err := st.ClaimRows(ctx, store.ClaimParams{OrgID: orgA, BlastID: "b-c", Owner: owner, Now: T0, LeaseUntil: at(time.Hour), Limit: 1 + w*7%40})
				if err != nil {
					errs <- err
					return
				}
				if len(rows) == 0 {
					return
				}
				outs := make([]store.Outcome, len(rows))
				mu.Lock()
				for i, r := range rows {
					if _, dup := claimed[r.ID]; dup {
						dups = append(dups, r.ID)
					}
					claimed[r.ID] = owner
					outs[i] = store.Outcome{RowID: r.ID, Owner: owner, Status: store.RowSent, Attempted: true, At: T0}
				}
				mu.Unlock()
				got, err := st.RecordOutcomes(ctx, outs)
				if err != nil {
					errs <- err
					return
				}
				if got != len(outs) {
					errs <- fmt.Errorf("owner %s recorded %d of %d outcomes", owner, got, len(outs))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Empty(t, dups, "rows claimed twice")
	assert.Len(t, claimed, n, "every row claimed")
	st, err := s.Stats(ctx, orgA, "b-c")
	require.NoError(t, err)
	assert.Equal(t, map[store.RowStatus]int{store.RowSent: n}, st.ByStatus)
	noise, err := s.Stats(ctx, orgB, "b-noise")
	require.NoError(t, err)
	assert.Equal(t, map[store.RowStatus]int{store.RowQueued: 50}, noise.ByStatus, "another organization's blast untouched")
}

// testPeers checks that two handles on one database see each other's
// writes, and that a lease taken through one expires through the other.
func testPeers(t *testing.T, h *Harness) {
	if h.OpenPeer == nil {
		t.Skip("storetest: Harness.OpenPeer is not set; the store has no second handle on the same data")
	}
	ctx := ctxT(t)
	s1 := h.NewStore(t)
	s2 := h.OpenPeer(t, s1)
	mustBlast(t, s1, orgA, "b-1", carecast.SMS)
	b, err := s2.Blast(ctx, orgA, "b-1")
	require.NoError(t, err)
	assert.Equal(t, "b-1", b.ID)
	mustInsert(t, s2, orgA, "b-1", queued(0, 4), T0)

	dead := claim(t, s1, orgA, "b-1", "process-1", T0, 2) // process 1 dies holding 2 rows
	require.Len(t, dead, 2)
	n, err := s2.ExpireLeases(ctx, at(2*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	rest := claim(t, s2, orgA, "b-1", "process-2", at(2*time.Minute), 10)
	assert.Len(t, rest, 2, "the survivor finishes the remaining rows")
	assert.NotContains(t, ids(rest), dead[0].ID)
	assert.NotContains(t, ids(rest), dead[1].ID)
	for _, r := range dead {
		assert.Equal(t, store.RowInDoubt, getRow(t, s1, orgA, r.ID).Status)
	}
}

// testRateBudget checks store.RateBudget, when implemented: goroutines on
// every handle reserve slots of one key concurrently; together the slots
// never exceed Burst + Rate over any one-second window, and another key
// has its own budget.
func testRateBudget(t *testing.T, h *Harness) {
	s := h.NewStore(t)
	if _, ok := s.(store.RateBudget); !ok {
		t.Skip("storetest: the store does not implement store.RateBudget")
	}
	ctx := ctxT(t)
	handles := []store.RateBudget{s.(store.RateBudget)}
	if h.OpenPeer != nil {
		handles = append(handles, h.OpenPeer(t, s).(store.RateBudget))
	}
	const (
		rate  = 200.0
		burst = 5
	)
	var (
		mu    sync.Mutex
		slots []time.Time
		wg    sync.WaitGroup
		errs  = make(chan error, 8)
	)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rb := handles[w%len(handles)]
			for i := range 25 {
				// Simulated clocks advance 4 ms per reservation round.
				now := at(time.Duration(i) * 4 * time.Millisecond)
				got, err := rb.ReserveSends(ctx, store.RateParams{Key: "sms", Rate: rate, Burst: burst, N: 1 + w%3, Now: now})
				if err != nil {
					errs <- err
					return
				}
				for _, sl := range got {
					if sl.Before(now) {
						errs <- fmt.Errorf("slot %v before now %v", sl, now)
						return
					}
				}
				mu.Lock()
				slots = append(slots, got...)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	sort.Slice(slots, func(i, j int) bool { return slots[i].Before(slots[j]) })
	busiest, j := 0, 0
	for i := range slots {
		for slots[i].Sub(slots[j]) >= time.Second {
			j++
		}
		busiest = max(busiest, i-j+1)
	}
	assert.LessOrEqual(t, busiest, int(rate)+burst, "slots in the busiest one-second window")
	wantSpan := time.Duration(float64(len(slots)-burst) / rate * float64(time.Second))
	assert.InDelta(t, wantSpan.Seconds(), slots[len(slots)-1].Sub(slots[0]).Seconds(), 0.05,
		"the shared budget is used, not wasted")

	other, err := handles[0].ReserveSends(ctx, store.RateParams{Key: "email", Rate: rate, Burst: burst, N: 1, Now: T0})
	require.NoError(t, err)
	sameTime(t, T0, other[0], "another key has its own budget")
	_, err = handles[0].ReserveSends(ctx, store.RateParams{Key: "sms", Rate: 0, Burst: 1, N: 1, Now: T0})
	assert.Error(t, err, "Rate 0")
}

// testReclaimHistory re-claims a row with a full history (sent, opened,
// clicked, replied, then bounced, then Retry Failed) and checks the claim
// returns every field as stored.
func testReclaimHistory(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	mustBlast(t, s, orgA, "b-1", carecast.Email)
	mustInsert(t, s, orgA, "b-1", queued(0, 1), T0)
	c := claim(t, s, orgA, "b-1", "w", T0, 1)
	require.Len(t, c, 1)
	record(t, s, store.Outcome{RowID: c[0].ID, Owner: "w", Status: store.RowSent, Attempted: true, ProviderMessageID: "EM1",
		Segments: 0, Cost: 100, At: at(time.Second)})
	for i, k := range []store.EventKind{store.EventOpen, store.EventClick, store.EventReply, store.EventMachineOpen, store.EventMachineClick} {
		_, err := s.ApplyEvent(ctx, store.EventParams{EventID: fmt.Sprintf("h%d", i), OrgID: orgA, RowID: c[0].ID, Kind: k, At: at(time.Minute)})
		require.NoError(t, err)
	}
	_, err := s.ApplyEvent(ctx, store.EventParams{EventID: "bounce", OrgID: orgA, RowID: c[0].ID, Kind: store.EventFailed,
		Reason: "bounce", ErrorCode: "5.1.1", At: at(time.Hour)})
	require.NoError(t, err)
	n, err := s.RequeueFailed(ctx, orgA, "b-1", false, at(2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	re := claim(t, s, orgA, "b-1", "w2", at(2*time.Hour), 5)
	require.Len(t, re, 1)
	stored := getRow(t, s, orgA, c[0].ID)
	sameRow(t, stored, re[0], "a re-claimed row with history")
	assert.Equal(t, "EM1", re[0].ProviderMessageID)
	assert.Equal(t, 1, re[0].Opens)
	assert.Equal(t, 1, re[0].Clicks)
	assert.Equal(t, 1, re[0].Replies)
	assert.Equal(t, carecast.Money(100), re[0].Cost)
	sameTime(t, at(time.Second), re[0].SentAt, "SentAt of the earlier send")
	sameTime(t, at(time.Hour), re[0].FailedAt, "FailedAt of the bounce")
}

// testPending checks store.PendingCounter, when implemented, against
// Stats.
func testPending(t *testing.T, h *Harness) {
	s := h.NewStore(t)
	pc, ok := s.(store.PendingCounter)
	if !ok {
		t.Skip("storetest: the store does not implement store.PendingCounter")
	}
	ctx := ctxT(t)
	mustBlast(t, s, orgA, "b-1", carecast.SMS)
	mustBlast(t, s, orgA, "b-2", carecast.SMS)
	mustInsert(t, s, orgA, "b-1", queued(0, 10), T0)
	mustInsert(t, s, orgA, "b-2", queued(0, 4), T0)
	claim(t, s, orgA, "b-2", "w", T0, 4) // another blast's sending rows do not count
	c := claim(t, s, orgA, "b-1", "w", T0, 6)
	record(t, s, store.Outcome{RowID: c[0].ID, Owner: "w", Status: store.RowSent, At: T0},
		store.Outcome{RowID: c[1].ID, Owner: "w", Status: store.RowQueued, At: T0})
	q, snd, err := pc.PendingRows(ctx, orgA, "b-1")
	require.NoError(t, err)
	assert.Equal(t, 5, q, "4 never claimed + 1 released")
	assert.Equal(t, 4, snd)
	_, _, err = pc.PendingRows(ctx, orgB, "b-1")
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, _, err = pc.PendingRows(ctx, orgA, "missing")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

// testConcurrentInsert has several writers (on every handle) insert
// overlapping batches of one blast's ledger at once, as engine instances
// resuming the same ledger do: every patient gets exactly one row and the
// inserted counts add up to the number of patients.
func testConcurrentInsert(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	stores := []store.Store{s}
	if h.OpenPeer != nil {
		stores = append(stores, h.OpenPeer(t, s))
	}
	mustBlast(t, s, orgA, "b-1", carecast.SMS)
	const patients, writers = 1200, 4
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int
		errs  = make(chan error, writers)
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := stores[w%len(stores)]
			// Writer w starts at a different offset and wraps around, in
			// batches of 100, so batches overlap partly and wholly.
			for k := range patients / 100 {
				from := (w*300 + k*100) % patients
				n, err := st.InsertRows(ctx, orgA, "b-1", queued(from, 100), T0)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				total += n
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, patients, total, "inserted counts add up to the patients")
	st, err := s.Stats(ctx, orgA, "b-1")
	require.NoError(t, err)
	assert.Equal(t, patients, st.ByStatus[store.RowQueued], "one row per patient")
}

// testMachineEvents checks EventMachineOpen and EventMachineClick: they are
// deduplicated like every event and never count as the patient's opens or
// clicks. A store that keeps machine counters increments them (ApplyEvent
// true); one that does not returns false and leaves them zero.
func testMachineEvents(t *testing.T, h *Harness) {
	ctx := ctxT(t)
	s := h.NewStore(t)
	mustBlast(t, s, orgA, "b-1", carecast.Email)
	mustInsert(t, s, orgA, "b-1", queued(0, 2), T0)
	c := claim(t, s, orgA, "b-1", "w", T0, 2)
	record(t, s, store.Outcome{RowID: c[0].ID, Owner: "w", Status: store.RowSent, At: T0},
		store.Outcome{RowID: c[1].ID, Owner: "w", Status: store.RowSent, At: T0})
	apply := func(id string, k store.EventKind) bool {
		t.Helper()
		ok, err := s.ApplyEvent(ctx, store.EventParams{EventID: id, OrgID: orgA, RowID: c[0].ID, Kind: k, Reason: "apple_mpp", At: at(time.Minute)})
		require.NoError(t, err)
		return ok
	}
	kept := apply("m1", store.EventMachineOpen)
	assert.False(t, apply("m1", store.EventMachineOpen), "a machine event ID is deduplicated too")
	assert.Equal(t, kept, apply("m2", store.EventMachineClick), "both kinds are kept, or neither")
	r := getRow(t, s, orgA, c[0].ID)
	assert.Zero(t, r.Opens, "machine opens are never the patient's")
	assert.Zero(t, r.Clicks)
	assert.True(t, r.FirstOpenAt.IsZero())
	st, err := s.Stats(ctx, orgA, "b-1")
	require.NoError(t, err)
	assert.Zero(t, st.Opened)
	assert.Zero(t, st.Clicked)
	e, err := s.Engagement(ctx, store.EngagementParams{OrgID: orgA, BlastID: "b-1", Start: T0, Step: time.Hour, Buckets: 1})
	require.NoError(t, err)
	assert.Equal(t, []int{0}, e.Opens, "not in the engagement histogram")
	if kept {
		assert.Equal(t, 1, r.MachineOpens)
		assert.Equal(t, 1, r.MachineClicks)
		assert.Equal(t, 1, st.MachineOpened)
		assert.Equal(t, 1, st.MachineClicked)
	} else {
		assert.Zero(t, r.MachineOpens+r.MachineClicks+st.MachineOpened+st.MachineClicked)
	}
	// A real open afterwards counts normally.
	assert.True(t, apply("o1", store.EventOpen))
	assert.Equal(t, 1, getRow(t, s, orgA, c[0].ID).Opens)
}

// testSentCount checks store.SentCounter, when implemented: only sent rows
// of the organization's blasts with the channel and purpose count, from
// since on.
func testSentCount(t *testing.T, h *Harness) {
	s := h.NewStore(t)
	sc, ok := s.(store.SentCounter)
	if !ok {
		t.Skip("storetest: the store does not implement store.SentCounter")
	}
	ctx := ctxT(t)
	addr := phone(1)
	send := func(org, id string, ch carecast.Channel, pu carecast.Purpose, sent int, when time.Time) {
		t.Helper()
		b := sampleBlast(org, id, T0)
		b.Channel, b.Purpose = ch, pu
		_, err := s.CreateBlast(ctx, b)
		require.NoError(t, err)
		rows := make([]store.NewRow, sent+1)
		for i := range rows {
			rows[i] = store.NewRow{PatientID: patient(i), Status: store.RowQueued, Address: addr}
		}
		mustInsert(t, s, org, id, rows, T0)
		c := claim(t, s, org, id, "w", T0, len(rows))
		require.Len(t, c, len(rows))
		outs := []store.Outcome{{RowID: c[0].ID, Owner: "w", Status: store.RowFailed, Reason: "permanent", At: when}}
		for _, r := range c[1:] {
			outs = append(outs, store.Outcome{RowID: r.ID, Owner: "w", Status: store.RowSent, Attempted: true, At: when})
		}
		record(t, s, outs...)
	}
	send(orgA, "m-1", carecast.SMS, carecast.Marketing, 2, at(time.Hour))
	send(orgA, "m-2", carecast.SMS, carecast.Marketing, 1, at(3*time.Hour))
	send(orgA, "t-1", carecast.SMS, carecast.Transactional, 3, at(3*time.Hour))
	send(orgB, "m-3", carecast.SMS, carecast.Marketing, 4, at(3*time.Hour))
	count := func(org string, ch carecast.Channel, pu carecast.Purpose, address string, since time.Time) int {
		t.Helper()
		got, err := sc.SentCounts(ctx, org, ch, pu, []string{address}, since)
		require.NoError(t, err)
		if n, ok := got[address]; ok {
			assert.Positive(t, n, "addresses without sends are absent")
		}
		return got[address]
	}
	assert.Equal(t, 3, count(orgA, carecast.SMS, carecast.Marketing, addr, T0), "failed rows do not count")
	assert.Equal(t, 1, count(orgA, carecast.SMS, carecast.Marketing, addr, at(2*time.Hour)), "sends before since do not count")
	assert.Equal(t, 1, count(orgA, carecast.SMS, carecast.Marketing, addr, at(3*time.Hour)), "since is inclusive")
	assert.Equal(t, 3, count(orgA, carecast.SMS, carecast.Transactional, addr, T0))
	assert.Equal(t, 4, count(orgB, carecast.SMS, carecast.Marketing, addr, T0))
	assert.Zero(t, count(orgA, carecast.Email, carecast.Marketing, addr, T0))
	assert.Zero(t, count(orgA, carecast.SMS, carecast.Marketing, phone(2), T0))
	// Several addresses in one call, one of them twice.
	many, err := sc.SentCounts(ctx, orgA, carecast.SMS, carecast.Marketing, []string{phone(2), addr, addr}, T0)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{addr: 3}, many)
	none, err := sc.SentCounts(ctx, orgA, carecast.SMS, carecast.Marketing, nil, T0)
	require.NoError(t, err)
	assert.Empty(t, none)
}

// testFailureLog checks store.FailureLog, when implemented: only rows
// that were sent and then failed with the reason count, per organization
// and channel, since inclusive, oldest first.
func testFailureLog(t *testing.T, h *Harness) {
	s := h.NewStore(t)
	fl, ok := s.(store.FailureLog)
	if !ok {
		t.Skip("storetest: the store does not implement store.FailureLog")
	}
	ctx := ctxT(t)
	addr := email(1)
	// fail sends one row of a new blast to addr and fails it with reason
	// at when (by a provider event when sent, else at send time).
	fail := func(org, id string, ch carecast.Channel, reason string, sent bool, when time.Time) {
		t.Helper()
		_, err := s.CreateBlast(ctx, func() store.Blast { b := sampleBlast(org, id, T0); b.Channel = ch; return b }())
		require.NoError(t, err)
		mustInsert(t, s, org, id, []store.NewRow{{PatientID: patient(1), Status: store.RowQueued, Address: addr}}, T0)
		c := claim(t, s, org, id, "w", T0, 1)
		require.Len(t, c, 1)
		if !sent {
			record(t, s, store.Outcome{RowID: c[0].ID, Owner: "w", Status: store.RowFailed, Reason: reason, Attempted: true, At: when})
			return
		}
		record(t, s, store.Outcome{RowID: c[0].ID, Owner: "w", Status: store.RowSent, Attempted: true, ProviderMessageID: "pm-" + id, At: T0})
		applied, err := s.ApplyEvent(ctx, store.EventParams{EventID: "ev-" + id, OrgID: org, RowID: c[0].ID, Kind: store.EventFailed, Reason: reason, At: when})
		require.NoError(t, err)
		require.True(t, applied)
	}
	fail(orgA, "f-3", carecast.Email, "soft_bounce", true, at(72*time.Hour))
	fail(orgA, "f-1", carecast.Email, "soft_bounce", true, at(time.Hour))
	fail(orgA, "f-2", carecast.Email, "soft_bounce", true, at(25*time.Hour))
	fail(orgA, "hard", carecast.Email, "bounce", true, at(2*time.Hour))
	fail(orgA, "never-sent", carecast.Email, "soft_bounce", false, at(3*time.Hour))
	fail(orgA, "sms", carecast.SMS, "soft_bounce", true, at(4*time.Hour))
	fail(orgB, "other-org", carecast.Email, "soft_bounce", true, at(5*time.Hour))
	got, err := fl.FailureTimes(ctx, orgA, carecast.Email, addr, "soft_bounce", T0)
	require.NoError(t, err)
	require.Len(t, got, 3, "sent-then-failed rows with the reason, of this organization and channel")
	for i, want := range []time.Time{at(time.Hour), at(25 * time.Hour), at(72 * time.Hour)} {
		assert.True(t, want.Equal(got[i]), "failure %d: %v, want %v (oldest first)", i, got[i], want)
	}
	got, err = fl.FailureTimes(ctx, orgA, carecast.Email, addr, "soft_bounce", at(25*time.Hour))
	require.NoError(t, err)
	assert.Len(t, got, 2, "since is inclusive")
	got, err = fl.FailureTimes(ctx, orgA, carecast.Email, email(2), "soft_bounce", T0)
	require.NoError(t, err)
	assert.Empty(t, got)
}

// testDomainHealth checks store.DomainHealth, when implemented: counts
// add up per organization, domain and UTC day, and DomainDays returns the
// days in range, oldest first.
func testDomainHealth(t *testing.T, h *Harness) {
	s := h.NewStore(t)
	dh, ok := s.(store.DomainHealth)
	if !ok {
		t.Skip("storetest: the store does not implement store.DomainHealth")
	}
	ctx := ctxT(t)
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	add := func(org, domain string, at time.Time, delivered, complaints int) {
		t.Helper()
		require.NoError(t, dh.AddDomainCounts(ctx, org, domain, at, delivered, complaints))
	}
	add(orgA, "mail.clinic.example", day.Add(time.Hour), 100, 0)
	add(orgA, "mail.clinic.example", day.Add(23*time.Hour+59*time.Minute), 50, 2)
	add(orgA, "mail.clinic.example", day.Add(24*time.Hour), 10, 1) // the next day
	// Midnight in New York is still the previous UTC day.
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	add(orgA, "mail.clinic.example", time.Date(2026, 3, 9, 23, 0, 0, 0, ny), 7, 0) // 03:00 UTC on 10 March
	add(orgA, "other.example", day, 1000, 0)
	add(orgB, "mail.clinic.example", day, 1000, 9)

	got, err := dh.DomainDays(ctx, orgA, "mail.clinic.example", day.Add(-48*time.Hour), day.Add(48*time.Hour))
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.True(t, got[0].Day.Equal(day), "day %s", got[0].Day)
	assert.Equal(t, 157, got[0].Delivered)
	assert.Equal(t, 2, got[0].Complaints)
	assert.True(t, got[1].Day.Equal(day.Add(24*time.Hour)))
	assert.Equal(t, store.DomainDay{Day: got[1].Day, Delivered: 10, Complaints: 1}, got[1])

	only, err := dh.DomainDays(ctx, orgA, "mail.clinic.example", day.Add(24*time.Hour), day.Add(24*time.Hour))
	require.NoError(t, err)
	require.Len(t, only, 1, "from and to are inclusive days")
	assert.Equal(t, 10, only[0].Delivered)
	none, err := dh.DomainDays(ctx, orgA, "unknown.example", day, day)
	require.NoError(t, err)
	assert.Empty(t, none)
}

// testAuditLog checks store.AuditLog, when implemented: entries come back
// in order with increasing Seq and every field kept, filtered by
// organization and blast, paged by AfterSeq.
func testAuditLog(t *testing.T, h *Harness) {
	s := h.NewStore(t)
	al, ok := s.(store.AuditLog)
	if !ok {
		t.Skip("storetest: the store does not implement store.AuditLog")
	}
	ctx := ctxT(t)
	in := []store.AuditEntry{
		{OrgID: orgA, At: at(time.Second), Actor: "staff-1", Action: "blast.created", BlastID: "b-1", Detail: "version=1"},
		{OrgID: orgB, At: at(2 * time.Second), Actor: "staff-9", Action: "blast.created", BlastID: "b-9"},
		{OrgID: orgA, At: at(3 * time.Second), Actor: "provider", Action: "event.delivered", BlastID: "b-1", PatientID: patient(1), RowID: 42},
		{OrgID: orgA, At: at(4 * time.Second), Actor: "system", Action: "consent.sms_opt_out", PatientID: patient(2), Detail: "inbound STOP"},
	}
	require.NoError(t, al.AppendAudit(ctx, in[:2]))
	require.NoError(t, al.AppendAudit(ctx, in[2:]))
	require.NoError(t, al.AppendAudit(ctx, nil))

	all, err := al.AuditEntries(ctx, store.AuditQuery{OrgID: orgA, Limit: 10})
	require.NoError(t, err)
	require.Len(t, all, 3, "only the organization's entries")
	want := []store.AuditEntry{in[0], in[2], in[3]}
	for i := range all {
		if i > 0 {
			assert.Greater(t, all[i].Seq, all[i-1].Seq, "Seq increases")
		}
		sameTime(t, want[i].At, all[i].At, "At")
		got := all[i]
		got.Seq, got.At, want[i].At = 0, time.Time{}, time.Time{}
		assert.Equal(t, want[i], got)
	}
	page, err := al.AuditEntries(ctx, store.AuditQuery{OrgID: orgA, AfterSeq: all[0].Seq, Limit: 1})
	require.NoError(t, err)
	require.Len(t, page, 1)
	assert.Equal(t, all[1].Seq, page[0].Seq, "AfterSeq pages")
	byBlast, err := al.AuditEntries(ctx, store.AuditQuery{OrgID: orgA, BlastID: "b-1", Limit: 10})
	require.NoError(t, err)
	require.Len(t, byBlast, 2)
	assert.Equal(t, "event.delivered", byBlast[1].Action)
	none, err := al.AuditEntries(ctx, store.AuditQuery{OrgID: orgA, AfterSeq: all[2].Seq, Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, none)
	_, err = al.AuditEntries(ctx, store.AuditQuery{OrgID: orgA})
	assert.Error(t, err, "Limit must be positive")
}

func testBlastHeaders(t *testing.T, h *Harness) {
	s := h.NewStore(t)
	bh, ok := s.(store.BlastHeaders)
	if !ok {
		t.Skip("storetest: the store does not implement store.BlastHeaders")
	}
	ctx := ctxT(t)
	full := mustBlast(t, s, orgA, "b-1", carecast.Email)
	got, err := bh.BlastHeader(ctx, orgA, "b-1")
	require.NoError(t, err)
	assert.Nil(t, got.Content, "no content")
	full.Content = nil
	sameTime(t, full.CreatedAt, got.CreatedAt, "CreatedAt")
	full.CreatedAt, got.CreatedAt = time.Time{}, time.Time{}
	sameTime(t, full.UpdatedAt, got.UpdatedAt, "UpdatedAt")
	sameTime(t, full.StartedAt, got.StartedAt, "StartedAt")
	full.UpdatedAt, got.UpdatedAt, full.StartedAt, got.StartedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	assert.Equal(t, full, got, "every other field as Blast returns it")
	_, err = bh.BlastHeader(ctx, orgB, "b-1")
	assert.ErrorIs(t, err, store.ErrNotFound, "another organization's blast")
	_, err = bh.BlastHeader(ctx, orgA, "nope")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func testLinkIndex(t *testing.T, h *Harness) {
	s := h.NewStore(t)
	li, ok := s.(store.LinkIndex)
	if !ok {
		t.Skip("storetest: the store does not implement store.LinkIndex")
	}
	ctx := ctxT(t)
	mustBlast(t, s, orgA, "b-1", carecast.Email)
	mustBlast(t, s, orgA, "b-2", carecast.Email)
	_, err := li.Links(ctx, orgA, "b-1")
	assert.ErrorIs(t, err, store.ErrNotFound, "never saved")

	links := []string{"https://clinic.example/a", "https://clinic.example/b?x=1&y=2", "https://clinic.example/a"}
	require.NoError(t, li.SaveLinks(ctx, orgA, "b-1", links))
	require.NoError(t, li.SaveLinks(ctx, orgA, "b-2", nil))
	got, err := li.Links(ctx, orgA, "b-1")
	require.NoError(t, err)
	assert.Equal(t, links, got, "in order, duplicates kept")
	got, err = li.Links(ctx, orgA, "b-2")
	require.NoError(t, err)
	assert.Empty(t, got, "an email without links is recorded as such")

	require.NoError(t, li.SaveLinks(ctx, orgA, "b-1", links[:1]))
	got, err = li.Links(ctx, orgA, "b-1")
	require.NoError(t, err)
	assert.Equal(t, links[:1], got, "saving again replaces")

	_, err = li.Links(ctx, orgB, "b-1")
	assert.ErrorIs(t, err, store.ErrNotFound, "another organization's blast")
	assert.ErrorIs(t, li.SaveLinks(ctx, orgB, "b-1", links), store.ErrNotFound, "another organization's blast")
	got, err = li.Links(ctx, orgA, "b-1")
	require.NoError(t, err)
	assert.Equal(t, links[:1], got, "untouched by the other organization")
}
