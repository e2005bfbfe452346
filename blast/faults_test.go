package blast_test

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
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasttest"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/fake"
	"github.com/carecast/carecast/store"
)

type fakeMessage = fake.Message

// requireExactlyOnce checks that every sent row's patient got exactly one
// accepted message, none twice, and that nothing was lost.
func requireExactlyOnce(t *testing.T, h *blasttest.Harness, n int) {
	t.Helper()
	blasttest.RequireNoDuplicates(t, h.SMS)
	for i := range n {
		require.Len(t, h.SMS.SentTo(phone(i)), 1, "patient %d", i)
	}
}

// Fault injection: transient errors, 429 with Retry-After, a five-second
// outage and ambiguous answers. No message is lost, none is confirmed
// twice, and in-doubt rows are never resent.
func TestFaultInjection(t *testing.T) {
	const n = 40
	h, everyone := setup(t, population(n, nil), &blasttest.Options{Config: func(c *blast.Config) {
		c.SMSRate, c.SMSBurst = 20, 5
		c.BackoffBase, c.BackoffMax = time.Second, 8*time.Second
		c.MaxAttempts = 6
		c.PollInterval = 250 * time.Millisecond
	}})
	outageFrom := blasttest.Epoch.Add(500 * time.Millisecond)
	h.SMS.Outage(outageFrom, outageFrom.Add(5*time.Second))
	h.SMS.FailTo(phone(1), fake.Transient(), fake.Transient())
	h.SMS.FailTo(phone(2), fake.RateLimited(3*time.Second))
	h.SMS.FailTo(phone(3), fake.Ambiguous())
	h.SMS.FailTo(phone(4), fake.Transient(), fake.Ambiguous())

	b, sum := sendAndRun(t, h, smsDraft("Hi {{first_name}}", "", everyone.ID))
	assert.Equal(t, n, sum.Total)
	assert.Equal(t, n-2, sum.Sent)
	assert.Equal(t, 2, sum.InDoubt, "ambiguous answers are in doubt")
	assert.Equal(t, 2, sum.Failed, "in doubt counts with failed")
	// The fake accepted the ambiguous ones: every patient has exactly one
	// message, nothing was lost, nothing doubled.
	requireExactlyOnce(t, h, n)
	assert.GreaterOrEqual(t, h.SMS.Attempts("2"), 3, "patient 1 (row 2): two transient errors, then accepted")

	// Retry-After was honoured: the 429'd text went at least 3 s later.
	first := h.SMS.Sent()[0].At
	assert.GreaterOrEqual(t, h.SMS.SentTo(phone(2))[0].At.Sub(first), 3*time.Second)
	// Nothing was accepted during the outage.
	for _, m := range h.SMS.Sent() {
		inOutage := !m.At.Before(outageFrom) && m.At.Before(outageFrom.Add(5*time.Second))
		assert.False(t, inOutage, "accepted during the outage at %s", m.At)
	}
	// Retry Failed leaves in-doubt rows alone unless asked.
	k, err := h.Engine.RetryFailed(ctx, org, b.ID, nil)
	require.NoError(t, err)
	assert.Zero(t, k)
	h.Run(t, org, b.ID)
	requireExactlyOnce(t, h, n)
	doubt := allMessages(t, h, b.ID, blast.CardFailed, 10)
	require.Len(t, doubt, 2)
	assert.Equal(t, store.RowInDoubt, doubt[0].Status)
	assert.Equal(t, "ambiguous", doubt[0].Reason)

	// Asked to, Retry Failed resends the in-doubt rows (the user accepts
	// the risk): the fake then counts the duplicates it received.
	k, err = h.Engine.RetryFailed(ctx, org, b.ID, &blast.RetryOpts{IncludeInDoubt: true})
	require.NoError(t, err)
	assert.Equal(t, 2, k)
	sum = h.Run(t, org, b.ID)
	assert.Equal(t, n, sum.Sent)
	assert.Equal(t, 2, h.SMS.Duplicates())
}

// Retries run out: transient failures beyond MaxAttempts are failed.
func TestRetriesExhausted(t *testing.T) {
	h, everyone := setup(t, population(2, nil), &blasttest.Options{Config: func(c *blast.Config) {
		c.MaxAttempts = 3
		c.BackoffBase, c.BackoffMax = time.Second, time.Minute
	}})
	h.SMS.FailTo(phone(0), fake.Transient(), fake.Transient(), fake.Transient(), fake.Transient())
	b, sum := sendAndRun(t, h, smsDraft("Hi", "", everyone.ID))
	assert.Equal(t, 1, sum.Sent)
	assert.Equal(t, 1, sum.Failed)
	assert.Equal(t, 3, h.SMS.Attempts("1"), "exactly MaxAttempts calls")
	f := allMessages(t, h, b.ID, blast.CardFailed, 10)
	require.Len(t, f, 1)
	assert.Equal(t, "transient", f[0].Reason)
	assert.Equal(t, "503", f[0].ErrorCode)
	assert.Equal(t, 3, f[0].Attempts)
}

// Landline and opted-out answers update the patient record.
func TestLandlineAndOptedOutAnswers(t *testing.T) {
	h, everyone := setup(t, population(3, nil), nil)
	h.SMS.FailTo(phone(0), fake.Landline())
	h.SMS.FailTo(phone(1), fake.OptedOut())
	_, sum := sendAndRun(t, h, smsDraft("Hi", "", everyone.ID))
	assert.Equal(t, 1, sum.Sent)
	assert.Equal(t, 1, cardCount(sum, blast.CardSkipped), "landline is a skip")
	assert.Equal(t, 1, cardCount(sum, blast.CardOptedOut))
	ps, err := h.Patients.PatientsByID(ctx, org, []string{"p00000", "p00001"})
	require.NoError(t, err)
	assert.Equal(t, carecast.LineLandline, ps[0].PhoneLineType)
	assert.True(t, ps[1].Consent.SMSOptedOut)
	// The next blast skips both before any call.
	calls := h.SMS.Calls()
	_, sum = sendAndRun(t, h, smsDraft("Again", "", everyone.ID))
	assert.Equal(t, 1, sum.Sent)
	assert.Equal(t, calls+1, h.SMS.Calls())
}

// A STOP that arrives after the ledger was written wins at claim time
// (compliance.md J-01).
func TestOptOutAfterLedgerWins(t *testing.T) {
	h, everyone := setup(t, population(3, nil), &blasttest.Options{NoStart: true})
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Hi", "", everyone.ID))
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, org, b.ID, nil) // ledger written, nobody sending yet
	require.NoError(t, err)
	_, err = h.Engine.HandleEvent(ctx, provider.Event{ID: "stop-1", OrgID: org, Kind: provider.EventInbound, From: phone(1), To: "+12125550000", Body: "STOP"})
	require.NoError(t, err)
	require.NoError(t, h.Engine.Start(ctx))
	sum := h.Run(t, org, b.ID)
	assert.Equal(t, 2, sum.Sent)
	assert.Equal(t, 1, sum.OptedOut)
	// The only text to the STOP sender is the one confirmation.
	got := h.SMS.SentTo(phone(1))
	require.Len(t, got, 1)
	assert.Equal(t, "reply-stop-1", got[0].ID)
}

// A crash mid-batch: rows leased by a dead worker become in doubt when the
// lease expires and are never resent; rows never claimed are sent by the
// surviving engine.
func TestCrashLeaseExpiryInDoubt(t *testing.T) {
	const n = 10
	h, everyone := setup(t, population(n, nil), &blasttest.Options{NoStart: true, Config: func(c *blast.Config) {
		c.Lease, c.SendTimeout = time.Minute, 10*time.Second
	}})
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Hi", "", everyone.ID))
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.NoError(t, err)
	// A "dead" instance claimed 4 rows and sent 2 of them, then crashed
	// before recording anything.
	rows, err := h.Store.ClaimRows(ctx, store.ClaimParams{OrgID: org, BlastID: b.ID, Owner: "dead", Now: h.Clock.Now(), LeaseUntil: h.Clock.Now().Add(time.Minute), Limit: 4})
	require.NoError(t, err)
	require.Len(t, rows, 4)
	for _, r := range rows[:2] {
		_, err := h.SMS.SendSMS(ctx, &provider.SMSMessage{ID: itoa(r.ID), To: r.Address, Body: "Hi"})
		require.NoError(t, err)
	}
	require.NoError(t, h.Engine.Start(ctx))
	sum := h.Run(t, org, b.ID)
	assert.Equal(t, n-4, sum.Sent)
	assert.Equal(t, 4, sum.InDoubt)
	blasttest.RequireNoDuplicates(t, h.SMS)
	assert.Equal(t, n-2, h.SMS.Count(), "no row is lost or doubled")
	for i, r := range rows {
		want := 0
		if i < 2 {
			want = 1
		}
		assert.Equal(t, want, h.SMS.Attempts(itoa(r.ID)), "leased rows are never resent")
	}
	msgs := allMessages(t, h, b.ID, blast.CardFailed, 10)
	require.Len(t, msgs, 4)
	assert.Equal(t, "lease_expired", msgs[0].Reason)
}

func itoa(n int64) string {
	return string(appendInt(nil, n))
}

func appendInt(b []byte, n int64) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

// Stop hands claimed but unsent rows back: they stay queued, never in
// doubt, and a restarted engine sends them once.
func TestStopReleasesRows(t *testing.T) {
	const n = 8
	h, everyone := setup(t, population(n, nil), &blasttest.Options{Config: func(c *blast.Config) {
		c.SMSRate, c.SMSBurst = 1, 1
		c.Workers = 1
	}})
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Hi", "", everyone.ID))
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.NoError(t, err)
	h.RunUntil(t, func() bool { return h.SMS.Count() >= 2 }, func() blast.Summary { return blast.Summary{} })
	require.NoError(t, h.Engine.Stop(ctx))
	sum, err := h.Engine.Summary(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Zero(t, sum.InDoubt)
	assert.Equal(t, n, sum.Sent+sum.Pending)
	assert.Equal(t, h.SMS.Count(), sum.Sent)
	require.NoError(t, h.Engine.Start(ctx))
	sum = h.Run(t, org, b.ID)
	assert.Equal(t, n, sum.Sent)
	requireExactlyOnce(t, h, n)
}

// The rate ceiling holds end to end with the injected clock, retries
// included: never more than floor(rate)+burst texts in any one-second
// window.
func TestRateCeiling(t *testing.T) {
	const n = 120
	h, everyone := setup(t, population(n, nil), &blasttest.Options{Config: func(c *blast.Config) {
		c.SMSRate, c.SMSBurst = 10, 3
		c.Workers = 4
		c.BackoffBase, c.BackoffMax = 200*time.Millisecond, time.Second
	}})
	var mu sync.Mutex
	var times []time.Time // every provider call, accepted or not
	h.SMS.Script(func(m *fake.Message, attempt int) error {
		mu.Lock()
		times = append(times, h.Clock.Now())
		mu.Unlock()
		if attempt == 1 && m.To[len(m.To)-1] == '7' {
			return fake.Transient()
		}
		return nil
	})
	_, sum := sendAndRun(t, h, smsDraft("Hi", "", everyone.ID))
	assert.Equal(t, n, sum.Sent)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, times, n+12, "120 sends and 12 retries")
	assert.LessOrEqual(t, maxPerSecond(times), 13, "floor(rate)+burst")
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	span := times[len(times)-1].Sub(times[0])
	assert.GreaterOrEqual(t, span, time.Duration(float64(time.Second)*float64(len(times)-13)/10), "not faster than the rate")
}

func maxPerSecond(ts []time.Time) int {
	s := append([]time.Time(nil), ts...)
	sort.Slice(s, func(i, j int) bool { return s[i].Before(s[j]) })
	best, j := 0, 0
	for i := range s {
		for s[i].Sub(s[j]) >= time.Second {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// Multi-tenancy: nothing of one organization is visible through another's
// calls.
func TestTenantIsolation(t *testing.T) {
	h, everyone := setup(t, population(2, nil), nil)
	h.Orgs["org-b"] = carecast.Organization{ID: "org-b", Name: "Other Clinic"}
	b, _ := sendAndRun(t, h, smsDraft("Hi", "", everyone.ID))
	_, err := h.Engine.Get(ctx, "org-b", b.ID)
	assert.ErrorIs(t, err, blast.ErrNotFound)
	_, err = h.Engine.Summary(ctx, "org-b", b.ID)
	assert.ErrorIs(t, err, blast.ErrNotFound)
	_, err = h.Engine.Messages(ctx, "org-b", b.ID, nil)
	assert.ErrorIs(t, err, blast.ErrNotFound)
	_, err = h.Engine.RetryFailed(ctx, "org-b", b.ID, nil)
	assert.ErrorIs(t, err, blast.ErrNotFound)
	_, err = h.Engine.Cancel(ctx, "org-b", b.ID)
	assert.ErrorIs(t, err, blast.ErrNotFound)
	_, err = h.Engine.AddRecipients(ctx, "org-b", b.ID, []string{"p00000"}, nil)
	assert.ErrorIs(t, err, blast.ErrNotFound)
	_, err = h.Engine.Duplicate(ctx, "org-b", b.ID, nil)
	assert.ErrorIs(t, err, blast.ErrNotFound)
	list, err := h.Engine.List(ctx, "org-b", nil)
	require.NoError(t, err)
	assert.Empty(t, list)
	rows := allMessages(t, h, b.ID, blast.CardSent, 10)
	assert.ErrorIs(t, h.Engine.Unsubscribe(ctx, "org-b", rows[0].ID), blast.ErrNotFound)
	assert.ErrorIs(t, h.Engine.RecordOpen(ctx, "org-b", rows[0].ID, "x", time.Time{}), blast.ErrNotFound)
	// Another org's cohort cannot be targeted.
	d, err := h.Engine.CreateDraft(ctx, "org-b", smsDraft("Hi", "", everyone.ID))
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, "org-b", d.ID, nil)
	assert.ErrorIs(t, err, blast.ErrInvalid)
	// A STOP to org B does not opt the number out of org A.
	_, err = h.Engine.HandleEvent(ctx, provider.Event{ID: "s", OrgID: "org-b", Kind: provider.EventInbound, From: phone(0), Body: "STOP"})
	require.NoError(t, err)
	h.SMS.Reset()
	_, sum := sendAndRun(t, h, smsDraft("Hi", "", everyone.ID))
	assert.Equal(t, 2, sum.Sent)
	// A delivery event scoped to org B cannot touch org A's row.
	res, err := h.Engine.HandleEvent(ctx, provider.Event{ID: "d", OrgID: "org-b", Kind: provider.EventDelivered, ProviderMessageID: h.SMS.Sent()[0].ProviderMessageID})
	require.NoError(t, err)
	assert.Equal(t, blast.EventIgnored, res)
}

// Fair scheduling: a large blast of one organization does not starve a
// small blast of another.
func TestFairScheduling(t *testing.T) {
	big := population(3000, nil)
	h := blasttest.NewEngine(t, &blasttest.Options{Config: func(c *blast.Config) {
		c.SMSRate, c.SMSBurst = 100, 1
		c.Workers = 2
	}})
	h.Orgs["org-small"] = carecast.Organization{ID: "org-small", Name: "Small Clinic", TimeZone: "America/New_York"}
	h.Patients.Put(org, big...)
	small := population(50, func(i int, p *carecast.Patient) { p.Phone = phone(5000 + i) })
	h.Patients.Put("org-small", small...)
	bigCohort := h.Cohort(t, "All", cohortAll())
	smallCohort, err := h.Cohorts.SaveCohort(ctx, cohortOf("org-small"))
	require.NoError(t, err)

	bb, err := h.Engine.CreateDraft(ctx, org, smsDraft("Big", "", bigCohort.ID))
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, org, bb.ID, nil)
	require.NoError(t, err)
	sb, err := h.Engine.CreateDraft(ctx, "org-small", smsDraft("Small", "", smallCohort.ID))
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, "org-small", sb.ID, nil)
	require.NoError(t, err)
	h.Run(t, "org-small", sb.ID)
	bigSum, err := h.Engine.Summary(ctx, org, bb.ID)
	require.NoError(t, err)
	// At 100/s, two workers hold batches of 50: the small blast waits for
	// at most the two big batches in flight, then shares the rate round
	// robin, finishing after ~150–250 big texts — not after 3,000.
	assert.Less(t, bigSum.Sent, 400, "the small blast finished early (big had sent %d)", bigSum.Sent)
	h.Run(t, org, bb.ID)
}

// Concurrent API use while sending is race-free.
func TestConcurrentUse(t *testing.T) {
	h, everyone := setup(t, population(200, nil), nil)
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Hi", "", everyone.ID))
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				_, _ = h.Engine.Summary(context.Background(), org, b.ID)
				_, _ = h.Engine.Messages(context.Background(), org, b.ID, &blast.MessagesOpts{Card: blast.CardSent})
			}
		})
	}
	sum := h.Run(t, org, b.ID)
	wg.Wait()
	assert.Equal(t, 200, sum.Sent)
}

func cohortAll() cohort.Filter { return cohort.Filter{} }

func cohortOf(orgID string) cohort.Cohort { return cohort.Cohort{OrgID: orgID, Name: "All"} }

// Two engine processes sharing one store share its rate budget: together
// they stay under the ceiling.
func TestSharedRateBudget(t *testing.T) {
	for _, shared := range []bool{true, false} {
		t.Run(fmt.Sprint("shared=", shared), func(t *testing.T) { testSharedRateBudget(t, shared) })
	}
}

func testSharedRateBudget(t *testing.T, shared bool) {
	const n = 100
	tune := func(c *blast.Config) {
		c.SMSRate, c.SMSBurst = 10, 3
		c.Workers = 2
		c.NoSharedRateBudget = !shared
		c.PollInterval = 100 * time.Millisecond
	}
	h, everyone := setup(t, population(n, nil), &blasttest.Options{Config: tune})
	cfg := blast.Config{Store: h.Store, Patients: h.Patients, Cohorts: h.Cohorts, Organizations: h.Orgs,
		SMS: h.SMS, Clock: h.Clock, InstanceID: "second"}
	tune(&cfg)
	second, err := blast.New(&cfg)
	require.NoError(t, err)
	require.NoError(t, second.Start(ctx))
	defer func() { require.NoError(t, second.Stop(ctx)) }()
	h.Attach(second)

	var mu sync.Mutex
	var times []time.Time
	h.SMS.Script(func(m *fake.Message, attempt int) error {
		mu.Lock()
		times = append(times, h.Clock.Now())
		mu.Unlock()
		return nil
	})
	_, sum := sendAndRun(t, h, smsDraft("Hi", "", everyone.ID))
	assert.Equal(t, n, sum.Sent)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, times, n)
	if shared {
		assert.LessOrEqual(t, maxPerSecond(times), 13, "floor(rate)+burst across both processes")
	} else {
		assert.Greater(t, maxPerSecond(times), 13, "each process alone keeps only its own ceiling")
	}
	requireExactlyOnce(t, h, n)
}

// A crash while the ledger was being written: the engine resumes the
// write (InsertRows is idempotent) and every recipient gets one message.
func TestLedgerWriteResumes(t *testing.T) {
	const n = 7
	h, everyone := setup(t, population(n, nil), &blasttest.Options{NoStart: true})
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Hi", "", everyone.ID))
	require.NoError(t, err)
	sb, err := h.Store.Blast(ctx, org, b.ID)
	require.NoError(t, err)
	sb.Status, sb.StartedAt = store.BlastSending, h.Clock.Now()
	_, err = h.Store.UpdateBlast(ctx, sb)
	require.NoError(t, err)
	_, err = h.Store.InsertRows(ctx, org, b.ID, []store.NewRow{
		{PatientID: "p00000", Status: store.RowQueued, Address: phone(0)},
		{PatientID: "p00001", Status: store.RowQueued, Address: phone(1)},
	}, h.Clock.Now())
	require.NoError(t, err)

	require.NoError(t, h.Engine.Start(ctx))
	// The blast was updated just now, as by a live writer on another
	// instance: its ledger is not taken over before a Lease has passed.
	started := h.Clock.Now()
	sum := h.RunUntil(t, func() bool { return h.Clock.Now().Sub(started) >= blast.LeaseDefault/2 }, func() blast.Summary {
		s, err := h.Engine.Summary(ctx, org, b.ID)
		require.NoError(t, err)
		return s
	})
	assert.Equal(t, 2, sum.Total, "a ledger with a live writer is not resumed")
	sum = h.Run(t, org, b.ID)
	assert.Equal(t, n, sum.Total)
	assert.Equal(t, n, sum.Sent)
	assert.GreaterOrEqual(t, h.Clock.Now().Sub(started), blast.LeaseDefault, "resumed only once the writer's heartbeat was stale")
	requireExactlyOnce(t, h, n)

	list, err := h.Engine.List(ctx, org, &blast.ListOpts{Statuses: []blast.Status{blast.StatusCompleted}})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, b.ID, list[0].ID)
}

func TestListPages(t *testing.T) {
	h, everyone := setup(t, population(1, nil), nil)
	var ids []string
	for i := range 5 {
		b, err := h.Engine.CreateDraft(ctx, org, smsDraft(fmt.Sprint("Hi ", i), "", everyone.ID))
		require.NoError(t, err)
		ids = append(ids, b.ID)
		h.Clock.Advance(time.Minute)
	}
	var got []string
	var after *blast.Listing
	for {
		page, err := h.Engine.List(ctx, org, &blast.ListOpts{After: after, Limit: 2})
		require.NoError(t, err)
		for _, b := range page {
			got = append(got, b.ID)
		}
		if len(page) < 2 {
			break
		}
		after = &page[len(page)-1]
	}
	assert.Equal(t, []string{ids[4], ids[3], ids[2], ids[1], ids[0]}, got, "newest first")
}

// compliance.md SF-02 test 2: 429 three times, then accepted → exactly
// four calls with increasing delays, and one message.
func TestRateLimitedBackoffGrows(t *testing.T) {
	h, everyone := setup(t, population(1, nil), &blasttest.Options{Config: func(c *blast.Config) {
		c.MaxAttempts = 5
		c.BackoffBase, c.BackoffMax = 10*time.Second, 10*time.Minute
		c.PollInterval = 100 * time.Millisecond
	}})
	h.SMS.FailTo(phone(0), fake.RateLimited(0), fake.RateLimited(0), fake.RateLimited(0))
	_, sum := sendAndRun(t, h, smsDraft("Hi", "", everyone.ID))
	assert.Equal(t, 1, sum.Sent)
	calls := h.SMS.Received()
	require.Len(t, calls, 4)
	assert.Len(t, h.SMS.Sent(), 1)
	for i := 2; i < len(calls); i++ {
		prev, cur := calls[i-1].At.Sub(calls[i-2].At), calls[i].At.Sub(calls[i-1].At)
		assert.Greater(t, cur, prev, "delay %d grows", i)
	}
}

// A sender's own limit holds inside the channel's, and both ceilings hold
// at the actual send times.
func TestSenderLimits(t *testing.T) {
	const n = 30
	const slow = "+12125550000"
	h, everyone := setup(t, population(n, nil), &blasttest.Options{Config: func(c *blast.Config) {
		c.SMSRate, c.SMSBurst = 10, 1
		c.SenderLimits = map[string]blast.Limit{slow: {Rate: 2}}
		c.PollInterval = 100 * time.Millisecond
	}})
	d := smsDraft("From the slow number", "", everyone.ID)
	d.From = slow
	b1, err := h.Engine.CreateDraft(ctx, org, d)
	require.NoError(t, err)
	b2, err := h.Engine.CreateDraft(ctx, org, smsDraft("From the default sender", "", everyone.ID))
	require.NoError(t, err)
	for _, b := range []blast.Blast{b1, b2} {
		_, err := h.Engine.Send(ctx, org, b.ID, nil)
		require.NoError(t, err)
	}
	h.Run(t, org, b2.ID)
	h.Run(t, org, b1.ID)
	var all, slowOnes []time.Time
	for _, m := range h.SMS.Received() {
		all = append(all, m.At)
		if m.From == slow {
			slowOnes = append(slowOnes, m.At)
		}
	}
	require.Len(t, slowOnes, n)
	require.Len(t, all, 2*n)
	assert.LessOrEqual(t, maxPerSecond(slowOnes), 3, "sender: floor(2)+1")
	assert.LessOrEqual(t, maxPerSecond(all), 11, "channel: floor(10)+1")
	span := slowOnes[n-1].Sub(slowOnes[0])
	assert.GreaterOrEqual(t, span, 13*time.Second, "30 texts at 2 a second")
}

// flakyInserts fails the InsertRows calls whose numbers (from 1) are in
// fail, once each.
type flakyInserts struct {
	store.Store
	mu    sync.Mutex
	calls int
	fail  map[int]bool
}

func (f *flakyInserts) InsertRows(ctx context.Context, orgID, blastID string, rows []store.NewRow, at time.Time) (int, error) {
	f.mu.Lock()
	f.calls++
	bad := f.fail[f.calls]
	f.mu.Unlock()
	if bad {
		return 0, fmt.Errorf("flaky store: insert %d refused", f.calls)
	}
	return f.Store.InsertRows(ctx, orgID, blastID, rows, at)
}

// A store error in the middle of the ledger write stops the writer and
// Send reports it; the blast is sending, so once the writer's heartbeat is
// stale the engine resumes the write: every recipient gets exactly one
// message.
func TestLedgerWriteFailsMidway(t *testing.T) {
	const n = 10
	var flaky *flakyInserts
	h, everyone := setup(t, population(n, nil), &blasttest.Options{Config: func(c *blast.Config) {
		c.LedgerBatch = 3
		flaky = &flakyInserts{Store: c.Store, fail: map[int]bool{2: true}}
		c.Store = flaky
	}})
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Hi {{first_name}}", "", everyone.ID))
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.ErrorContains(t, err, "insert 2 refused")
	sum := h.Run(t, org, b.ID)
	assert.Equal(t, n, sum.Total)
	assert.Equal(t, n, sum.Sent)
	requireExactlyOnce(t, h, n)
	flaky.mu.Lock()
	defer flaky.mu.Unlock()
	assert.Greater(t, flaky.calls, (n+2)/3, "the failed write was resumed with more inserts")
}

// In-doubt rows have a card of their own: the Failed card's "of which in
// doubt" part, which filters the message list to them, on both channels'
// card sets.
func TestInDoubtCard(t *testing.T) {
	h, everyone := setup(t, population(5, nil), nil)
	h.SMS.FailTo(phone(1), fake.Ambiguous())
	h.SMS.FailTo(phone(3), fake.Ambiguous())
	h.SMS.FailTo(phone(4), fake.Permanent("21211"))
	b, sum := sendAndRun(t, h, smsDraft("Hi", "", everyone.ID))
	assert.Equal(t, 2, sum.InDoubt)
	var failed *blast.CardStat
	for i := range sum.Cards {
		if sum.Cards[i].Card == blast.CardFailed {
			failed = &sum.Cards[i]
		}
	}
	require.NotNil(t, failed)
	assert.Equal(t, 3, failed.Count)
	assert.Equal(t, []blast.CardStat{{Card: blast.CardInDoubt, Label: "In doubt", Count: 2}}, failed.Parts)

	doubt := allMessages(t, h, b.ID, blast.CardInDoubt, 1)
	require.Len(t, doubt, failed.Parts[0].Count, "the part's count is its list's length")
	for _, m := range doubt {
		assert.Equal(t, store.RowInDoubt, m.Status)
		assert.Equal(t, "ambiguous", m.Reason)
	}
	assert.Equal(t, []string{"p00001", "p00003"}, []string{doubt[0].PatientID, doubt[1].PatientID})
	assert.Len(t, allMessages(t, h, b.ID, blast.CardFailed, 10), 3, "Failed still includes them")

	// An email blast's Failed card has the part too, at zero.
	eb, esum := sendAndRun(t, h, emailDraft("", everyone.ID))
	parts := 0
	for _, c := range esum.Cards {
		if c.Card == blast.CardFailed {
			assert.Equal(t, []blast.CardStat{{Card: blast.CardInDoubt, Label: "In doubt"}}, c.Parts)
			parts++
		} else {
			assert.Empty(t, c.Parts, c.Card)
		}
	}
	assert.Equal(t, 1, parts)
	assert.Empty(t, allMessages(t, h, eb.ID, blast.CardInDoubt, 10))
}
