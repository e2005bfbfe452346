package blast_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasttest"
	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/fake"
)

// auditActions returns the actions of a blast's audit trail.
func auditActions(t *testing.T, h *blasttest.Harness, blastID string) []string {
	t.Helper()
	trail, err := h.Engine.AuditTrail(ctx, org, blastID, 0, 1000)
	require.NoError(t, err)
	var out []string
	for _, a := range trail {
		out = append(out, a.Action)
	}
	return out
}

// count returns how many times s occurs in list.
func count(list []string, s string) (n int) {
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// compliance.md BO-02 test 2: recipients refused with "550 5.7.1 … very
// low reputation" are never suppressed; one domain_reputation_block alert
// pauses the blast, which Resume sends once the domain is fixed.
func TestReputationBlockPausesBlast(t *testing.T) {
	const n = 500
	h, everyone := setup(t, population(n, nil), nil)
	blocked := true
	h.Email.Script(func(m *fake.Message, attempt int) error {
		if blocked {
			return fake.SenderBlocked("550 5.7.1")
		}
		return nil
	})
	b, err := h.Engine.CreateDraft(ctx, org, emailDraft(carecast.Marketing, everyone.ID))
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.NoError(t, err)
	sum := h.RunUntil(t, func() bool {
		got, err := h.Engine.Get(ctx, org, b.ID)
		require.NoError(t, err)
		return got.Status == blast.StatusPaused && h.Engine.Idle()
	}, func() blast.Summary {
		s, err := h.Engine.Summary(ctx, org, b.ID)
		require.NoError(t, err)
		return s
	})
	assert.Equal(t, blast.StatusPaused, sum.Status)
	require.NotNil(t, sum.Pause)
	assert.Equal(t, blast.AlertDomainReputationBlock, sum.Pause.Alert)
	assert.Equal(t, "550 5.7.1", sum.Pause.Code)
	assert.Equal(t, blast.SenderBlockThresholdDefault, sum.Pause.Refusals)
	assert.Less(t, h.Email.Calls(), n/4, "sending stopped early, not after every recipient")
	assert.Zero(t, sum.Sent)
	assert.Equal(t, n, sum.Pending, "nobody failed for good: every row waits")
	sups, err := h.Store.Suppressed(ctx, org, carecast.Email, func() (out []string) {
		for i := range n {
			out = append(out, email(i))
		}
		return out
	}())
	require.NoError(t, err)
	assert.Empty(t, sups, "0 recipient suppressions")
	assert.Equal(t, 1, count(auditActions(t, h, b.ID), "blast.paused"), "one alert")

	calls := h.Email.Calls()
	h.Clock.Advance(24 * 60 * 60 * 1e9)
	assert.Equal(t, calls, h.Email.Calls(), "a paused blast sends nothing")

	blocked = false
	_, err = h.Engine.Resume(ctx, org, b.ID)
	require.NoError(t, err)
	_, err = h.Engine.Resume(ctx, org, b.ID)
	require.ErrorIs(t, err, blast.ErrNotPaused)
	sum = h.Run(t, org, b.ID)
	assert.Equal(t, blast.StatusCompleted, sum.Status)
	assert.Equal(t, n, sum.Sent)
	assert.Nil(t, sum.Pause)
	blasttest.RequireNoDuplicates(t, h.Email)
	assert.Contains(t, auditActions(t, h, b.ID), "blast.resumed")
}

// compliance.md SF-01 test 2: status callbacks reporting carrier filtering
// (30007) for part of a blast suppress nobody and pause it with a
// carrier_filtering alert.
func TestCarrierFilteringPausesBlast(t *testing.T) {
	const n = 100
	h, everyone := setup(t, population(n, nil), &blasttest.Options{Config: func(c *blast.Config) {
		c.SMSRate, c.SMSBurst = 10, 1 // ten seconds of sending on the manual clock
	}})
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Flu shots this week", carecast.Transactional, everyone.ID))
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.NoError(t, err)
	// Idle as well: the fake records a message inside the provider call,
	// before the worker has taken its answer; a callback for it then
	// (possible in production too, and answered "ignored" without
	// burning its ID, so the vendor's retry applies) is not what this
	// test is about.
	h.RunUntil(t, func() bool { return h.SMS.Count() >= 20 && h.Engine.Idle() }, func() blast.Summary { return blast.Summary{} })
	for i, m := range h.SMS.Sent()[:20] {
		res, err := h.Engine.HandleEvent(ctx, provider.Event{ID: "cb" + m.ProviderMessageID, OrgID: org, Kind: provider.EventUndelivered,
			ProviderMessageID: m.ProviderMessageID, Code: "30007", Class: provider.SenderBlocked, At: h.Clock.Now()})
		require.NoError(t, err)
		require.Equal(t, blast.EventApplied, res, "callback %d", i)
	}
	sum, err := h.Engine.Summary(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, blast.StatusPaused, sum.Status)
	require.NotNil(t, sum.Pause)
	assert.Equal(t, blast.AlertCarrierFiltering, sum.Pause.Alert)
	assert.Equal(t, "30007", sum.Pause.Code)
	assert.Equal(t, 20, sum.Failed, "the filtered messages failed")
	assert.Less(t, sum.Sent+sum.Failed, n, "the rest waits")
	sups, err := h.Store.Suppressed(ctx, org, carecast.SMS, []string{phone(0), phone(1)})
	require.NoError(t, err)
	assert.Empty(t, sups, "carrier filtering suppresses nobody")
	ps, err := h.Patients.PatientsByID(ctx, org, []string{patient(0).ID})
	require.NoError(t, err)
	assert.False(t, ps[0].Consent.SMSOptedOut)
	assert.Equal(t, 1, count(auditActions(t, h, b.ID), "blast.paused"))

	n2, err := h.Engine.Cancel(ctx, org, b.ID)
	require.NoError(t, err, "a paused blast can be cancelled")
	assert.Positive(t, n2)
	summary := func() blast.Summary {
		s, err := h.Engine.Summary(ctx, org, b.ID)
		require.NoError(t, err)
		return s
	}
	sum = h.RunUntil(t, func() bool { return summary().Pending == 0 }, summary)
	assert.Equal(t, blast.StatusCancelled, sum.Status)
	assert.Equal(t, n, sum.Sent+sum.Failed+sum.Cancelled, "every row settled")
	assert.Zero(t, sum.Pending)
}

// A few refusals (one recipient's server policy) neither pause the blast
// nor fail anyone for good before MaxAttempts; the guard can be turned
// off.
func TestSenderBlockThreshold(t *testing.T) {
	h, everyone := setup(t, population(20, nil), nil)
	h.Email.FailTo(email(3), fake.SenderBlocked("550 5.7.1"), fake.SenderBlocked("550 5.7.1"))
	_, sum := sendAndRun(t, h, emailDraft(carecast.Transactional, everyone.ID))
	assert.Equal(t, blast.StatusCompleted, sum.Status)
	assert.Equal(t, 20, sum.Sent, "retried with backoff and sent")

	h2, everyone2 := setup(t, population(30, nil), &blasttest.Options{Config: func(c *blast.Config) {
		c.SenderBlockGuard.Disabled = true
		c.MaxAttempts = 2
	}})
	h2.Email.Script(func(*fake.Message, int) error { return fake.SenderBlocked("554 5.7.26") })
	_, sum = sendAndRun(t, h2, emailDraft(carecast.Transactional, everyone2.ID))
	assert.Equal(t, blast.StatusCompleted, sum.Status, "never paused when disabled")
	assert.Equal(t, 30, sum.Failed)
	msgs := allMessages(t, h2, sum.BlastID, blast.CardFailed, 50)
	require.Len(t, msgs, 30)
	assert.True(t, strings.HasPrefix(msgs[0].Reason, "sender_blocked"))
	assert.Equal(t, 2, msgs[0].Attempts)
}

// A status callback that arrives before the engine wrote the message's
// outcome (outcomes are written in batches) is applied, not lost
// (compliance.md BO-03: events arrive early, late or twice).
func TestEarlyStatusCallback(t *testing.T) {
	h, everyone := setup(t, population(30, nil), &blasttest.Options{Config: func(c *blast.Config) {
		c.SMSRate, c.SMSBurst = 10, 1
	}})
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Flu shots this week", carecast.Transactional, everyone.ID))
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.NoError(t, err)
	h.RunUntil(t, func() bool { return h.SMS.Count() >= 3 }, func() blast.Summary { return blast.Summary{} })
	first := h.SMS.Sent()[0]
	res, err := h.Engine.HandleEvent(ctx, provider.Event{ID: "d1", OrgID: org, Kind: provider.EventDelivered,
		ProviderMessageID: first.ProviderMessageID, At: h.Clock.Now()})
	require.NoError(t, err)
	assert.Equal(t, blast.EventApplied, res)
	sum := h.Run(t, org, b.ID)
	assert.Equal(t, 30, sum.Sent)
	assert.Equal(t, 1, sum.Delivered, "the early callback counted")
	blasttest.RequireNoDuplicates(t, h.SMS)
}

// compliance.md SF-03: with a line-type lookup configured, a number whose
// line type is unknown is looked up before its first text: a landline is
// skipped as landline and recorded, a mobile recorded, and a failed lookup
// never holds the text. Known numbers are not looked up again.
func TestLineTypeLookup(t *testing.T) {
	var lookup *fake.Provider
	h, everyone := setup(t, population(4, nil), &blasttest.Options{Config: func(c *blast.Config) {
		lookup = fake.New(nil)
		c.LineTypes = lookup
	}})
	lookup.SetLineType(phone(0), carecast.LineMobile, nil)
	lookup.SetLineType(phone(1), carecast.LineLandline, nil)
	lookup.SetLineType(phone(2), carecast.LineUnknown, fake.Transient())
	b, sum := sendAndRun(t, h, smsDraft("Flu shots this week", carecast.Transactional, everyone.ID))
	assert.Equal(t, 3, sum.Sent, "mobile, failed lookup and unknown type are sent")
	assert.Equal(t, 1, sum.SkippedBy["landline"])
	blasttest.RequireNotSent(t, h.SMS, phone(1))
	msgs := allMessages(t, h, b.ID, blast.CardSkipped, 10)
	require.Len(t, msgs, 1)
	assert.Equal(t, patient(1).ID, msgs[0].PatientID)
	assert.Equal(t, 4, lookup.Lookups())

	ps, err := h.Patients.PatientsByID(ctx, org, []string{patient(0).ID, patient(1).ID, patient(2).ID})
	require.NoError(t, err)
	assert.Equal(t, carecast.LineMobile, ps[0].PhoneLineType)
	assert.Equal(t, carecast.LineLandline, ps[1].PhoneLineType)
	assert.Equal(t, carecast.LineUnknown, ps[2].PhoneLineType)

	_, sum = sendAndRun(t, h, smsDraft("Flu shots this week", carecast.Transactional, everyone.ID))
	assert.Equal(t, 3, sum.Sent)
	assert.Equal(t, 1, sum.SkippedBy["landline"], "now skipped from the ledger on")
	assert.Equal(t, 6, lookup.Lookups(), "only the two numbers still unknown are looked up again")
}
