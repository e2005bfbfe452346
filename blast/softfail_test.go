package blast_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasttest"
	"github.com/carecast/carecast/provider"
)

// softFailAfterSend sends one blast to everyone and reports a soft
// failure of patient 0's message with ev (Kind, Code and Class set).
func softFailAfterSend(t *testing.T, h *blasttest.Harness, d blast.Draft, addr string, ev provider.Event) {
	t.Helper()
	_, sum := sendAndRun(t, h, d)
	require.Positive(t, sum.Sent)
	var pm string
	if d.Channel == carecast.SMS {
		msgs := h.SMS.SentTo(addr)
		pm = msgs[len(msgs)-1].ProviderMessageID
	} else {
		msgs := h.Email.SentTo(addr)
		pm = msgs[len(msgs)-1].ProviderMessageID
	}
	ev.ID, ev.OrgID, ev.ProviderMessageID, ev.At = "soft-"+pm, org, pm, h.Clock.Now()
	res, err := h.Engine.HandleEvent(ctx, ev)
	require.NoError(t, err)
	require.Equal(t, blast.EventApplied, res)
}

// suppressedReason returns the store's suppression reason of addr, or "".
func suppressedReason(t *testing.T, h *blasttest.Harness, ch carecast.Channel, addr string) string {
	t.Helper()
	sups, err := h.Store.Suppressed(ctx, org, ch, []string{addr})
	require.NoError(t, err)
	if len(sups) == 0 {
		return ""
	}
	return sups[0].Reason
}

// compliance.md BO-02 test 3: three "452 4.2.2" soft bounces for one
// address on days 1, 2 and 4 suppress it after the third; two within an
// hour do not.
func TestSoftBouncesSuppress(t *testing.T) {
	h, everyone := setup(t, population(2, nil), nil)
	soft := provider.Event{Kind: provider.EventBounce, Code: "4.2.2", Class: provider.Transient}
	d := emailDraft(carecast.Transactional, everyone.ID)
	softFailAfterSend(t, h, d, email(0), soft) // day 1
	h.Clock.Advance(30 * time.Minute)
	softFailAfterSend(t, h, d, email(0), soft) // day 1, half an hour later
	assert.Empty(t, suppressedReason(t, h, carecast.Email, email(0)), "two bounces within an hour are one outage")
	h.Clock.Advance(24 * time.Hour)
	softFailAfterSend(t, h, d, email(0), soft) // day 2: three, but not 72 h apart
	assert.Empty(t, suppressedReason(t, h, carecast.Email, email(0)))
	h.Clock.Advance(48 * time.Hour)
	softFailAfterSend(t, h, d, email(0), soft) // day 4
	assert.Equal(t, "soft_bounce", suppressedReason(t, h, carecast.Email, email(0)))
	ps, err := h.Patients.PatientsByID(ctx, org, []string{patient(0).ID})
	require.NoError(t, err)
	assert.True(t, ps[0].Consent.EmailSuppressed)

	h.Email.Reset()
	b, sum := sendAndRun(t, h, d)
	assert.Equal(t, 1, sum.Sent, "every email to the address is suppressed now")
	skipped := allMessages(t, h, b.ID, blast.CardSkipped, 10)
	require.Len(t, skipped, 1)
	assert.Equal(t, "suppressed", skipped[0].Reason)
	assert.Empty(t, suppressedReason(t, h, carecast.Email, email(1)), "other addresses untouched")
}

// compliance.md SF-01 test 3: a handset reported unreachable (30003) three
// times in four days is suppressed as unreachable; a text from the number
// lifts it.
func TestUnreachableHandsetSuppressed(t *testing.T) {
	h, everyone := setup(t, population(1, nil), nil)
	unreachable := provider.Event{Kind: provider.EventUndelivered, Code: "30003", Class: provider.Transient}
	d := smsDraft("Reminder: appointment tomorrow", carecast.Transactional, everyone.ID)
	for day := range 3 {
		softFailAfterSend(t, h, d, phone(0), unreachable)
		if day < 2 {
			assert.Empty(t, suppressedReason(t, h, carecast.SMS, phone(0)), "day %d", day+1)
			h.Clock.Advance(37 * time.Hour)
		}
	}
	assert.Equal(t, "unreachable", suppressedReason(t, h, carecast.SMS, phone(0)))
	_, sum := sendAndRun(t, h, d)
	assert.Zero(t, sum.Sent)
	assert.Equal(t, 1, sum.SkippedBy["suppressed"])

	res, err := h.Engine.HandleEvent(ctx, provider.Event{ID: "in1", OrgID: org, Kind: provider.EventInbound, From: phone(0), To: "+12125550000", Body: "see you then"})
	require.NoError(t, err)
	require.Equal(t, blast.EventApplied, res)
	assert.Empty(t, suppressedReason(t, h, carecast.SMS, phone(0)), "the handset answered")
}

func TestSoftFailuresConfig(t *testing.T) {
	h, everyone := setup(t, population(1, nil), &blasttest.Options{Config: func(c *blast.Config) { c.SoftFailures.Disabled = true }})
	soft := provider.Event{Kind: provider.EventBounce, Code: "4.2.2", Class: provider.Transient}
	for range 4 {
		softFailAfterSend(t, h, emailDraft(carecast.Transactional, everyone.ID), email(0), soft)
		h.Clock.Advance(48 * time.Hour)
	}
	assert.Empty(t, suppressedReason(t, h, carecast.Email, email(0)), "disabled")

	hb := blasttest.NewEngine(t, &blasttest.Options{NoStart: true})
	_, err := blast.New(&blast.Config{Store: hb.Store, Patients: hb.Patients, Cohorts: hb.Cohorts, Organizations: hb.Orgs,
		SoftFailures: blast.SoftFailures{Span: 10 * 24 * time.Hour}})
	var ce *blast.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "SoftFailures", ce.Field, fmt.Sprint(err))
}
