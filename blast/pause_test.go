package blast_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasttest"
	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/fake"
	"github.com/carecast/carecast/store"
)

// pauseWatch checks the ledger's invariants at every step of a run driven
// on the manual clock: no row is ever in doubt (the fake only refuses with
// a 429 and then accepts, so nothing may have gone out unrecorded), and a
// blast reported completed has no row left to send.
type pauseWatch struct {
	t       *testing.T
	h       *blasttest.Harness
	blastID string
	// callsAtCompletion is the provider's call count when the blast was
	// first seen completed (-1 before).
	callsAtCompletion int
	// inDoubt is set when a row was seen in doubt.
	inDoubt string
}

func (w *pauseWatch) check() {
	rows := ledger(w.t, w.h, w.blastID)
	pending := 0
	for _, r := range rows {
		switch r.Status {
		case store.RowInDoubt:
			if w.inDoubt == "" {
				w.inDoubt = fmt.Sprintf("row %d in doubt (%s, %d attempts) at +%s", r.ID, r.Reason, r.Attempts, w.h.Clock.Now().Sub(blasttest.Epoch))
			}
		case store.RowQueued, store.RowSending:
			pending++
		}
	}
	b, err := w.h.Engine.Get(ctx, org, w.blastID)
	require.NoError(w.t, err)
	if b.Status == blast.StatusCompleted && w.callsAtCompletion < 0 {
		assert.Zero(w.t, pending, "completed at +%s with rows still to send", w.h.Clock.Now().Sub(blasttest.Epoch))
		w.callsAtCompletion = w.h.SMS.Calls()
	}
}

// ledger returns every row of the blast.
func ledger(t *testing.T, h *blasttest.Harness, blastID string) []store.Row {
	t.Helper()
	rows, err := h.Store.ListRows(ctx, store.ListRowsParams{OrgID: org, BlastID: blastID, Limit: 1000})
	require.NoError(t, err)
	return rows
}

// runTo drives the engine until the clock has reached at and the engine is
// idle, checking the invariants at every step.
func (w *pauseWatch) runTo(at time.Time) {
	w.h.RunUntil(w.t, func() bool {
		w.check()
		return w.h.Engine.Idle() && !w.h.Clock.Now().Before(at)
	}, func() blast.Summary { return blast.Summary{} })
}

// issue 13 §1: a provider's 429 with a Retry-After shorter than, longer
// than and far longer than the lease, with and without a Cancel during
// the pause. The refused row is queued again (never in doubt), no wait
// outlives the lease, a pause longer than the lease hands the batch back
// due at the pause's end, no claim is made for the paused provider, the
// blast completes only once every row is sent, and nothing is sent after
// Cancel returns.
func TestRateLimitPauseHonoursLeaseAndCancel(t *testing.T) {
	const n = 5
	for _, retryAfter := range []time.Duration{time.Minute, 5 * time.Minute, time.Hour} {
		for _, cancel := range []bool{false, true} {
			name := retryAfter.String()
			if cancel {
				name += "/cancel"
			}
			t.Run(name, func(t *testing.T) {
				h, everyone := setup(t, population(n, nil), &blasttest.Options{Config: func(c *blast.Config) {
					c.SMSRate, c.Workers = 10, 2
					c.Lease, c.SendTimeout = 2*time.Minute, 30*time.Second
					c.PollInterval = 10 * time.Second
				}})
				h.SMS.FailNext(fake.RateLimited(retryAfter))
				b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Hi {{first_name}}", "", everyone.ID))
				require.NoError(t, err)
				_, err = h.Engine.Send(ctx, org, b.ID, nil)
				require.NoError(t, err)
				w := &pauseWatch{t: t, h: h, blastID: b.ID, callsAtCompletion: -1}

				// Run to the middle of the pause.
				h.RunUntil(t, func() bool { w.check(); return h.SMS.Calls() > 0 }, func() blast.Summary { return blast.Summary{} })
				refused := h.SMS.Received()[0]
				require.NotEmpty(t, refused.Err, "the first call was refused")
				pauseEnd := refused.At.Add(retryAfter)
				w.runTo(refused.At.Add(retryAfter / 2))
				assert.Equal(t, 1, h.SMS.Calls(), "no call during the pause")

				// The refused row is queued again, due at the pause's end,
				// with the refused call counted.
				id, err := strconv.ParseInt(refused.ID, 10, 64)
				require.NoError(t, err)
				r, err := h.Store.Row(ctx, org, id)
				require.NoError(t, err)
				assert.Equal(t, store.RowQueued, r.Status, "the refused row is queued again")
				assert.Equal(t, 1, r.Attempts)
				assert.False(t, r.NextAttemptAt.Before(pauseEnd), "due %s, before the pause's end", r.NextAttemptAt.Sub(refused.At))
				if retryAfter > 2*time.Minute {
					// A pause longer than the lease: the batch was handed
					// back, due at the pause's end, no attempt counted.
					for _, r := range ledger(t, h, b.ID) {
						if r.ID == id {
							continue
						}
						assert.Equal(t, store.RowQueued, r.Status, "row %d handed back", r.ID)
						assert.Zero(t, r.Attempts, "row %d", r.ID)
						assert.False(t, r.NextAttemptAt.Before(pauseEnd), "row %d due %s after the 429", r.ID, r.NextAttemptAt.Sub(refused.At))
					}
				}

				var sum blast.Summary
				if cancel {
					k, err := h.Engine.Cancel(ctx, org, b.ID)
					require.NoError(t, err)
					calls := h.SMS.Calls()
					// Run well past the pause's end and every lease.
					sum = h.Run(t, org, b.ID)
					w.runTo(pauseEnd.Add(3 * time.Minute))
					assert.Equal(t, calls, h.SMS.Calls(), "a provider call after Cancel returned")
					sum, err = h.Engine.Summary(ctx, org, b.ID)
					require.NoError(t, err)
					assert.Equal(t, blast.StatusCancelled, sum.Status)
					assert.Equal(t, 0, sum.Sent)
					assert.Equal(t, n, sum.Cancelled)
					assert.LessOrEqual(t, k, n)
					assert.Equal(t, 0, sum.Failed)
				} else {
					sum = h.Run(t, org, b.ID)
					w.runTo(pauseEnd.Add(3 * time.Minute))
					sum, err = h.Engine.Summary(ctx, org, b.ID)
					require.NoError(t, err)
					assert.Equal(t, blast.StatusCompleted, sum.Status)
					assert.Equal(t, n, sum.Sent)
					assert.Equal(t, 0, sum.Failed)
					assert.Equal(t, 0, sum.Cancelled)
					requireExactlyOnce(t, h, n)
					assert.Equal(t, 2, h.SMS.Attempts(refused.ID), "the refused row was sent on its second call")
					for _, m := range h.SMS.Sent() {
						assert.False(t, m.At.Before(pauseEnd), "sent %s into a %s pause", m.At.Sub(refused.At), retryAfter)
					}
					assert.Equal(t, n+1, h.SMS.Calls(), "one refusal, then one call per row")
					assert.Equal(t, n+1, w.callsAtCompletion, "a provider call after the blast was reported completed")
				}
				assert.Equal(t, 0, sum.InDoubt)
				assert.Empty(t, w.inDoubt)
				for _, r := range ledger(t, h, b.ID) {
					assert.False(t, r.Status == store.RowInDoubt && r.Attempts == 0, "row %d in doubt with no call made", r.ID)
				}
			})
		}
	}
}

// heldCall holds the provider's first call of row 1 until released,
// then answers it.
type heldCall struct {
	inCall, release chan struct{}
	once            sync.Once
	returned        atomic.Bool // the held call has returned
}

func holdFirstCall(t *testing.T, h *blasttest.Harness, answer error) *heldCall {
	c := &heldCall{inCall: make(chan struct{}), release: make(chan struct{})}
	t.Cleanup(c.free) // registered after the harness's Stop: runs first
	h.SMS.Script(func(m *fake.Message, attempt int) error {
		if m.ID == "1" && attempt == 1 {
			close(c.inCall)
			<-c.release
			c.returned.Store(true)
			return answer
		}
		return nil
	})
	return c
}

func (c *heldCall) free() { c.once.Do(func() { close(c.release) }) }

// cancelResult is what Cancel returned, and whether the held call had
// returned by then.
type cancelResult struct {
	err      error
	returned bool
}

// cancelDuringCall sends the blast, waits until the held call is in
// progress, calls Cancel in another goroutine and returns once Cancel has
// committed the blast's status; Cancel's result arrives on the channel.
func cancelDuringCall(t *testing.T, h *blasttest.Harness, c *heldCall, blastID string) <-chan cancelResult {
	t.Helper()
	_, err := h.Engine.Send(ctx, org, blastID, nil)
	require.NoError(t, err)
	// The engine claims and sends at once (unlimited rate): no clock
	// advance is needed to reach the first call.
	select {
	case <-c.inCall:
	case <-time.After(30 * time.Second):
		t.Fatal("the first call was not made")
	}
	done := make(chan cancelResult, 1)
	go func() {
		_, err := h.Engine.Cancel(ctx, org, blastID)
		done <- cancelResult{err, c.returned.Load()}
	}()
	for {
		sb, err := h.Store.Blast(ctx, org, blastID)
		require.NoError(t, err)
		if sb.Status == store.BlastCancelled {
			return done
		}
		runtime.Gosched()
	}
}

// Cancel returns only once a provider call begun before it has returned:
// nothing of the blast is sent after Cancel returns, and the call in
// progress finishes (its message is sent, never in doubt).
func TestCancelWaitsForCallInProgress(t *testing.T) {
	const n = 5
	h, everyone := setup(t, population(n, nil), &blasttest.Options{Config: func(c *blast.Config) { c.Workers = 1 }})
	held := holdFirstCall(t, h, nil)
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Hi", "", everyone.ID))
	require.NoError(t, err)
	done := cancelDuringCall(t, h, held, b.ID)
	// Give a Cancel that does not wait for the call the chance to return
	// before the call is released. A correct Cancel cannot return before
	// release whatever the timing: the timer only makes a broken one
	// fail every time.
	select {
	case r := <-done:
		t.Fatalf("Cancel returned (err %v) while a provider call was in progress", r.err)
	case <-time.After(100 * time.Millisecond):
	}
	held.free()
	r := <-done
	require.NoError(t, r.err)
	assert.True(t, r.returned, "Cancel returned before the call in progress")
	calls := h.SMS.Calls()
	sum := h.Run(t, org, b.ID)
	assert.Equal(t, calls, h.SMS.Calls(), "a provider call after Cancel returned")
	assert.Equal(t, 1, calls)
	assert.Equal(t, 1, sum.Sent, "the call in progress finished")
	assert.Equal(t, n-1, sum.Cancelled)
	assert.Equal(t, 0, sum.InDoubt)
}

// A Cancel made through another engine process (sharing the store)
// reaches a worker in the middle of a batch within about a second of
// the engine clock, not at the batch's end.
func TestCancelFromAnotherProcessStopsBatch(t *testing.T) {
	const n = 50
	h, everyone := setup(t, population(n, nil), &blasttest.Options{Config: func(c *blast.Config) { c.Workers = 1 }})
	other, err := blast.New(&blast.Config{Store: h.Store, Patients: h.Patients, Cohorts: h.Cohorts, Organizations: h.Orgs,
		SMS: h.SMS, Clock: h.Clock, InstanceID: "other"})
	require.NoError(t, err)
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Hi", "", everyone.ID))
	require.NoError(t, err)
	calls := 0
	h.SMS.Script(func(m *fake.Message, attempt int) error {
		// Each call takes 300 ms of the engine clock; the third is
		// answered after the other process cancelled the blast.
		calls++
		h.Clock.Advance(300 * time.Millisecond)
		if calls == 3 {
			_, err := other.Cancel(ctx, org, b.ID)
			require.NoError(t, err)
		}
		return nil
	})
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.NoError(t, err)
	sum := h.Run(t, org, b.ID)
	assert.LessOrEqual(t, h.SMS.Calls(), 3+5, "calls after the other process's Cancel: at most about a second's worth")
	assert.Equal(t, h.SMS.Calls(), sum.Sent)
	assert.Equal(t, n-sum.Sent, sum.Cancelled)
	assert.Equal(t, 0, sum.InDoubt)
}

// Same class: a test send during a provider's pause longer than a call
// may take fails at once with the time left, instead of holding the
// staff member's request (and its HTTP request) for the whole pause.
func TestSendTestDuringLongPause(t *testing.T) {
	h, everyone := setup(t, population(3, nil), &blasttest.Options{Config: func(c *blast.Config) {
		c.SMSRate, c.PollInterval = 10, 10*time.Second
	}})
	h.SMS.FailNext(fake.RateLimited(time.Hour))
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Hi {{first_name}}", "", everyone.ID))
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.NoError(t, err)
	h.RunUntil(t, func() bool { return h.SMS.Calls() > 0 && h.Engine.Idle() }, func() blast.Summary { return blast.Summary{} })

	d, err := h.Engine.CreateDraft(ctx, org, smsDraft("Test {{first_name}}", "", everyone.ID))
	require.NoError(t, err)
	// The timeout only bounds a broken SendTest that waits for the pause
	// (the clock stands still): a correct one answers at once.
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = h.Engine.SendTest(tctx, org, d.ID, blast.TestOpts{To: "+12125550199"})
	var pe *provider.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, provider.RateLimited, pe.Class)
	assert.InDelta(t, time.Hour.Seconds(), pe.RetryAfter.Seconds(), 60, "the time left of the pause")
	assert.Equal(t, 1, h.SMS.Calls(), "no call during the pause")
}

// slowLookup answers every line-type lookup "mobile" after 10 s: eight
// run at once, so each moves the engine clock by 1.25 s. Like the
// scheduler of any engine process sharing the store, it then expires the
// leases that have ended.
type slowLookup struct {
	h     *blasttest.Harness
	calls atomic.Int64
}

func (s *slowLookup) LookupLineType(ctx context.Context, phone string) (carecast.LineType, error) {
	s.calls.Add(1)
	s.h.Clock.Advance(10 * time.Second / blast.LookupConcurrency)
	if _, err := s.h.Store.ExpireLeases(ctx, s.h.Clock.Now()); err != nil {
		return carecast.LineUnknown, err
	}
	return carecast.LineMobile, nil
}

// Same class: the line-type lookups a worker makes for its batch before
// sending (each within SendTimeout) never outlast the lease either: with
// a slow lookup service the rows would otherwise expire unsent and become
// in doubt with no call made. Lookups not done by half of the time left
// fail, and their texts go anyway (a failed lookup never holds a text).
func TestLineTypeLookupsHonourLease(t *testing.T) {
	const n = 200 // one batch, whose lookups take 250 s in all
	lk := &slowLookup{}
	h, everyone := setup(t, population(n, nil), &blasttest.Options{Config: func(c *blast.Config) {
		c.Workers = 1
		c.Lease, c.SendTimeout = 2*time.Minute, 30*time.Second
		c.PollInterval = 10 * time.Second
		c.LineTypes = lk
	}})
	lk.h = h
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Hi", carecast.Transactional, everyone.ID))
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.NoError(t, err)
	w := &pauseWatch{t: t, h: h, blastID: b.ID, callsAtCompletion: -1}
	sum := h.RunUntil(t, func() bool {
		w.check()
		s, err := h.Engine.Summary(ctx, org, b.ID)
		require.NoError(t, err)
		return s.Status == blast.StatusCompleted
	}, func() blast.Summary {
		s, err := h.Engine.Summary(ctx, org, b.ID)
		require.NoError(t, err)
		return s
	})
	assert.Empty(t, w.inDoubt)
	assert.Equal(t, n, sum.Sent)
	assert.Equal(t, 0, sum.InDoubt)
	requireExactlyOnce(t, h, n)
	assert.Less(t, lk.calls.Load(), int64(n), "lookups stopped once half the lease was used")
}

// A call in progress when Cancel is called that the provider answers
// with a retryable error (here the batch's last row): the row is queued
// for a retry after Cancel cancelled the queued rows, and must be
// cancelled too, never left queued in a cancelled blast (Pending would
// stay 1 for good and Wait never return).
func TestCancelDuringCallThatIsRetried(t *testing.T) {
	h, everyone := setup(t, population(1, nil), nil)
	held := holdFirstCall(t, h, fake.Transient())
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Hi", "", everyone.ID))
	require.NoError(t, err)
	done := cancelDuringCall(t, h, held, b.ID)
	held.free()
	require.NoError(t, (<-done).err)
	sum := h.Run(t, org, b.ID)
	assert.Equal(t, 1, sum.Cancelled)
	assert.Zero(t, sum.Pending)
	assert.Equal(t, 1, h.SMS.Calls())
}
