package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/store"
	"github.com/carecast/carecast/store/memstore"
)

var t0 = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)

func newBlast(t *testing.T, s *memstore.Store, org, id string, n int) {
	t.Helper()
	ctx := context.Background()
	_, err := s.CreateBlast(ctx, store.Blast{ID: id, OrgID: org, Channel: carecast.SMS, Status: store.BlastSending, CreatedAt: t0})
	require.NoError(t, err)
	rows := make([]store.NewRow, n)
	for i := range rows {
		rows[i] = store.NewRow{PatientID: fmt.Sprintf("p%03d", i), Status: store.RowQueued, Address: fmt.Sprintf("+1555000%04d", i)}
	}
	got, err := s.InsertRows(ctx, org, id, rows, t0)
	require.NoError(t, err)
	require.Equal(t, n, got)
}

func TestLeaseLifecycle(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	newBlast(t, s, "org", "b1", 5)

	// Idempotent insert.
	n, err := s.InsertRows(ctx, "org", "b1", []store.NewRow{{PatientID: "p001", Status: store.RowQueued}, {PatientID: "new", Status: store.RowSkipped, Reason: "landline"}}, t0)
	require.NoError(t, err)
	assert.Equal(t, 1, n)

	rows, err := s.ClaimRows(ctx, store.ClaimParams{OrgID: "org", BlastID: "b1", Owner: "w1", Now: t0, LeaseUntil: t0.Add(time.Minute), Limit: 3})
	require.NoError(t, err)
	require.Len(t, rows, 3)
	assert.Equal(t, store.RowSending, rows[0].Status)

	// A foreign owner cannot record.
	n, err = s.RecordOutcomes(ctx, []store.Outcome{{RowID: rows[0].ID, Owner: "w2", Status: store.RowSent, At: t0}})
	require.NoError(t, err)
	assert.Zero(t, n)

	n, err = s.RecordOutcomes(ctx, []store.Outcome{
		{RowID: rows[0].ID, Owner: "w1", Status: store.RowSent, ProviderMessageID: "SM1", Cost: 7900, Segments: 1, Attempted: true, At: t0},
		{RowID: rows[1].ID, Owner: "w1", Status: store.RowQueued, NextAttemptAt: t0.Add(time.Hour), Attempted: true, At: t0},
	})
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	// rows[2] is still leased; expiring makes it in_doubt, never queued.
	moved, err := s.ExpireLeases(ctx, t0.Add(2*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, 1, moved)
	r2, err := s.Row(ctx, "org", rows[2].ID)
	require.NoError(t, err)
	assert.Equal(t, store.RowInDoubt, r2.Status)
	// The late answer of the expired owner resolves the doubt.
	n, err = s.RecordOutcomes(ctx, []store.Outcome{{RowID: rows[2].ID, Owner: "w1", Status: store.RowSent, ProviderMessageID: "SM3", At: t0}})
	require.NoError(t, err)
	assert.Equal(t, 1, n)

	// The deferred row is not due before its time.
	rows2, err := s.ClaimRows(ctx, store.ClaimParams{OrgID: "org", BlastID: "b1", Owner: "w1", Now: t0.Add(time.Minute), LeaseUntil: t0.Add(2 * time.Minute), Limit: 10})
	require.NoError(t, err)
	assert.Len(t, rows2, 2)
	rows3, err := s.ClaimRows(ctx, store.ClaimParams{OrgID: "org", BlastID: "b1", Owner: "w1", Now: t0.Add(time.Hour), LeaseUntil: t0.Add(2 * time.Hour), Limit: 10})
	require.NoError(t, err)
	require.Len(t, rows3, 1)
	assert.Equal(t, rows[1].ID, rows3[0].ID)
	assert.Equal(t, 1, rows3[0].Attempts)

	st, err := s.Stats(ctx, "org", "b1")
	require.NoError(t, err)
	assert.Equal(t, 6, st.Total())
	assert.Equal(t, 2, st.ByStatus[store.RowSent])
	assert.Equal(t, 3, st.ByStatus[store.RowSending])
	assert.Equal(t, 1, st.SkippedBy["landline"])
	assert.Equal(t, carecast.Money(7900), st.Cost)

	// Events: idempotent, forward only.
	r, err := s.RowByProviderMessageID(ctx, "SM1")
	require.NoError(t, err)
	ok, err := s.ApplyEvent(ctx, store.EventParams{EventID: "e1", OrgID: "org", RowID: r.ID, Kind: store.EventDelivered, At: t0})
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = s.ApplyEvent(ctx, store.EventParams{EventID: "e1", OrgID: "org", RowID: r.ID, Kind: store.EventDelivered, At: t0})
	require.NoError(t, err)
	assert.False(t, ok)
	ok, err = s.ApplyEvent(ctx, store.EventParams{EventID: "e2", OrgID: "org", RowID: r.ID, Kind: store.EventSent, At: t0})
	require.NoError(t, err)
	assert.False(t, ok, "delivered never moves back to sent")
	_, err = s.ApplyEvent(ctx, store.EventParams{EventID: "e3", OrgID: "other", RowID: r.ID, Kind: store.EventOpen, At: t0})
	assert.True(t, errors.Is(err, store.ErrNotFound))

	latest, err := s.LatestSentTo(ctx, "org", carecast.SMS, r.Address, t0.Add(-time.Hour))
	require.NoError(t, err)
	assert.Equal(t, r.ID, latest.ID)
}

func TestCancelAndRequeue(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	newBlast(t, s, "org", "b", 4)
	rows, err := s.ClaimRows(ctx, store.ClaimParams{OrgID: "org", BlastID: "b", Owner: "w", Now: t0, LeaseUntil: t0.Add(time.Minute), Limit: 2})
	require.NoError(t, err)
	_, err = s.RecordOutcomes(ctx, []store.Outcome{
		{RowID: rows[0].ID, Owner: "w", Status: store.RowSent, At: t0},
		{RowID: rows[1].ID, Owner: "w", Status: store.RowFailed, Reason: "permanent", At: t0},
	})
	require.NoError(t, err)
	n, err := s.CancelQueued(ctx, "org", "b", t0)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	n, err = s.RequeueFailed(ctx, "org", "b", false, t0)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	again, err := s.ClaimRows(ctx, store.ClaimParams{OrgID: "org", BlastID: "b", Owner: "w", Now: t0, LeaseUntil: t0.Add(time.Minute), Limit: 10})
	require.NoError(t, err)
	require.Len(t, again, 1)
	assert.Equal(t, rows[1].ID, again[0].ID, "only the failed row is re-queued")

	page, err := s.ListRows(ctx, store.ListRowsParams{OrgID: "org", BlastID: "b", Filter: store.RowFilter{Any: []store.Match{{Status: store.RowCancelled}}}, Limit: 1})
	require.NoError(t, err)
	require.Len(t, page, 1)
	page2, err := s.ListRows(ctx, store.ListRowsParams{OrgID: "org", BlastID: "b", Filter: store.RowFilter{Any: []store.Match{{Status: store.RowCancelled}}}, AfterID: page[0].ID, Limit: 5})
	require.NoError(t, err)
	require.Len(t, page2, 1)
	assert.Greater(t, page2[0].ID, page[0].ID)

	_, err = s.Blast(ctx, "other", "b")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func TestConcurrentClaimsNeverOverlap(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	newBlast(t, s, "org", "b", 1000)
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for {
				rows, err := s.ClaimRows(ctx, store.ClaimParams{OrgID: "org", BlastID: "b", Owner: fmt.Sprint(w), Now: t0, LeaseUntil: t0.Add(time.Minute), Limit: 7})
				if err != nil || len(rows) == 0 {
					return
				}
				mu.Lock()
				for _, r := range rows {
					seen[r.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Len(t, seen, 1000)
	for id, c := range seen {
		assert.Equal(t, 1, c, "row %d", id)
	}
}

func TestUpdateBlastOptimistic(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	b, err := s.CreateBlast(ctx, store.Blast{ID: "b", OrgID: "o", Name: "x", CreatedAt: t0})
	require.NoError(t, err)
	b.Name = "y"
	b2, err := s.UpdateBlast(ctx, b)
	require.NoError(t, err)
	assert.Equal(t, int64(2), b2.Version)
	_, err = s.UpdateBlast(ctx, b)
	assert.ErrorIs(t, err, store.ErrConflict)
	list, err := s.ListBlasts(ctx, store.ListBlastsParams{OrgID: "o", Limit: 10})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "y", list[0].Name)
}

// Machine opens and clicks (store.EventMachineOpen, EventMachineClick)
// are counted apart from opens and clicks, and deduplicated.
func TestMachineEvents(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	newBlast(t, s, "org", "b1", 2)
	rows, err := s.ClaimRows(ctx, store.ClaimParams{OrgID: "org", BlastID: "b1", Owner: "w", Now: t0, LeaseUntil: t0.Add(time.Minute), Limit: 2})
	require.NoError(t, err)
	require.Len(t, rows, 2)
	apply := func(id string, row int64, k store.EventKind) bool {
		ok, err := s.ApplyEvent(ctx, store.EventParams{EventID: id, OrgID: "org", RowID: row, Kind: k, Reason: "apple_mpp", At: t0.Add(time.Minute)})
		require.NoError(t, err)
		return ok
	}
	assert.True(t, apply("m1", rows[0].ID, store.EventMachineOpen))
	assert.False(t, apply("m1", rows[0].ID, store.EventMachineOpen), "duplicate")
	assert.True(t, apply("m2", rows[0].ID, store.EventMachineOpen))
	assert.True(t, apply("m3", rows[0].ID, store.EventMachineClick))
	assert.True(t, apply("h1", rows[1].ID, store.EventOpen))

	r, err := s.Row(ctx, "org", rows[0].ID)
	require.NoError(t, err)
	assert.Equal(t, [4]int{0, 0, 2, 1}, [4]int{r.Opens, r.Clicks, r.MachineOpens, r.MachineClicks})
	assert.True(t, r.FirstOpenAt.IsZero(), "a machine open sets no open time")
	st, err := s.Stats(ctx, "org", "b1")
	require.NoError(t, err)
	assert.Equal(t, [4]int{1, 0, 1, 1}, [4]int{st.Opened, st.Clicked, st.MachineOpened, st.MachineClicked})
	eng, err := s.Engagement(ctx, store.EngagementParams{OrgID: "org", BlastID: "b1", Start: t0, Step: time.Hour, Buckets: 1})
	require.NoError(t, err)
	assert.Equal(t, []int{1}, eng.Opens)
	assert.Equal(t, []int{0}, eng.Clicks)
}
