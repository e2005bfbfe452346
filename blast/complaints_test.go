package blast_test

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasttest"
	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/store"
)

// sendingDomain is the domain of emailDraft's From address.
const sendingDomain = "mail.clinic.example"

// complaintSetup is a harness with three patients, logging to the returned
// buffer.
func complaintSetup(t *testing.T) (*blasttest.Harness, string, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	h, everyone := setup(t, population(3, nil), &blasttest.Options{Config: func(c *blast.Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}})
	return h, everyone.ID, logs
}

// compliance.md EM-08, test 1: 12 complaints for 10,000 delivered in a
// day (0.12%) → a warning, and sending is allowed.
func TestComplaintRateWarning(t *testing.T) {
	h, everyone, logs := complaintSetup(t)
	require.NoError(t, h.Store.AddDomainCounts(ctx, org, sendingDomain, h.Clock.Now(), 10_000, 12))
	_, sum := sendAndRun(t, h, emailDraft(carecast.Marketing, everyone))
	assert.Equal(t, 3, sum.Sent)
	assert.Contains(t, logs.String(), "complaint rate at the warning level")
	health, err := h.Engine.ComplaintHealth(ctx, org, sendingDomain)
	require.NoError(t, err)
	assert.True(t, health.Warning)
	assert.False(t, health.Blocked)
	assert.InDelta(t, 0.0012, health.WorstRate, 1e-9)
}

// compliance.md EM-08, test 2: 31 complaints for 10,000 delivered (0.31%)
// → a new marketing email blast from the domain is refused with
// ErrComplaintRateGate; transactional email and texts still go. The block
// lifts after 7 consecutive days below the limit.
func TestComplaintRateGate(t *testing.T) {
	h, everyone, _ := complaintSetup(t)
	bad := h.Clock.Now()
	require.NoError(t, h.Store.AddDomainCounts(ctx, org, sendingDomain, bad, 10_000, 31))

	b, err := h.Engine.CreateDraft(ctx, org, emailDraft(carecast.Marketing, everyone))
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.ErrorIs(t, err, blast.ErrComplaintRateGate)
	var ce *blast.ComplaintRateError
	require.True(t, errors.As(err, &ce))
	assert.Equal(t, sendingDomain, ce.Domain)
	assert.Equal(t, 31, ce.Complaints)
	assert.Equal(t, 10_000, ce.Delivered)
	assert.Equal(t, 0.003, ce.Limit)
	assert.Contains(t, err.Error(), "0.31%")
	got, err := h.Engine.Get(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, blast.StatusDraft, got.Status, "a refused blast stays a draft")

	_, sum := sendAndRun(t, h, emailDraft(carecast.Transactional, everyone))
	assert.Equal(t, 3, sum.Sent, "transactional email is never refused")
	_, sum = sendAndRun(t, h, smsDraft("Sale", carecast.Marketing, everyone))
	assert.Equal(t, 3, sum.Sent, "texts are not gated")
	other := emailDraft(carecast.Marketing, everyone)
	other.From = "news@other.clinic.example"
	_, sum = sendAndRun(t, h, other)
	assert.Equal(t, 3, sum.Sent, "other domains are not gated")

	// Seven clean days must pass after the bad one: the block lifts on
	// the day after the seventh.
	for day := 1; day <= 8; day++ {
		h.Clock.Set(bad.AddDate(0, 0, day))
		require.NoError(t, h.Store.AddDomainCounts(ctx, org, sendingDomain, h.Clock.Now(), 10_000, 5))
		_, err = h.Engine.Send(ctx, org, b.ID, nil)
		if day <= 7 {
			require.ErrorIs(t, err, blast.ErrComplaintRateGate, "day %d", day)
		}
	}
	require.NoError(t, err, "the day after 7 clean ones")
	sum = h.Run(t, org, b.ID)
	assert.Equal(t, 3, sum.Sent)
}

// Delivered and complaint events count per sending domain and day, once
// each however often the provider repeats them.
func TestComplaintCountsFromEvents(t *testing.T) {
	h, everyone, _ := complaintSetup(t)
	_, sum := sendAndRun(t, h, emailDraft(carecast.Marketing, everyone))
	require.Equal(t, 3, sum.Sent)
	pm := func(i int) string { return h.Email.SentTo(email(i))[0].ProviderMessageID }
	for i := range 3 {
		ev := provider.Event{ID: "d" + pm(i), Kind: provider.EventDelivered, ProviderMessageID: pm(i), At: h.Clock.Now()}
		assert.Equal(t, blast.EventApplied, event(t, h, ev))
		assert.Equal(t, blast.EventDuplicate, event(t, h, ev))
	}
	c := provider.Event{ID: "c1", Kind: provider.EventComplaint, ProviderMessageID: pm(1), At: h.Clock.Now()}
	assert.Equal(t, blast.EventApplied, event(t, h, c))
	assert.Equal(t, blast.EventDuplicate, event(t, h, c))

	// ComplaintHealth flushes the counts the engine buffers.
	health, err := h.Engine.ComplaintHealth(ctx, org, sendingDomain)
	require.NoError(t, err)
	assert.True(t, health.Blocked, "1 complaint in 3 deliveries")
	days, err := h.Store.DomainDays(ctx, org, sendingDomain, h.Clock.Now(), h.Clock.Now())
	require.NoError(t, err)
	require.Len(t, days, 1)
	assert.Equal(t, store.DomainDay{Day: days[0].Day, Delivered: 3, Complaints: 1}, days[0])
}

func TestComplaintGuardConfig(t *testing.T) {
	t.Run("disabled", func(t *testing.T) {
		h, everyone := setup(t, population(1, nil), &blasttest.Options{Config: func(c *blast.Config) { c.ComplaintGuard.Disabled = true }})
		require.NoError(t, h.Store.AddDomainCounts(ctx, org, sendingDomain, h.Clock.Now(), 100, 50))
		_, sum := sendAndRun(t, h, emailDraft(carecast.Marketing, everyone.ID))
		assert.Equal(t, 1, sum.Sent)
	})
	requireConfigErrors(t, "ComplaintGuard", map[string]func(*blast.Config){
		"warn above block": func(c *blast.Config) { c.ComplaintGuard.WarnRate, c.ComplaintGuard.BlockRate = 0.01, 0.005 },
		"block of 100%":    func(c *blast.Config) { c.ComplaintGuard.BlockRate = 1 },
		"negative days":    func(c *blast.Config) { c.ComplaintGuard.RecoveryDays = -1 },
	})
}

// The counts reach the store at most a second after the event that made
// them (the next event or the scheduler writes them), and at Stop.
func TestComplaintCountsAreBuffered(t *testing.T) {
	h, everyone, _ := complaintSetup(t)
	_, sum := sendAndRun(t, h, emailDraft(carecast.Marketing, everyone))
	require.Equal(t, 3, sum.Sent)
	pm := func(i int) string { return h.Email.SentTo(email(i))[0].ProviderMessageID }
	stored := func() store.DomainDay {
		t.Helper()
		days, err := h.Store.DomainDays(ctx, org, sendingDomain, h.Clock.Now(), h.Clock.Now())
		require.NoError(t, err)
		if len(days) == 0 {
			return store.DomainDay{}
		}
		return store.DomainDay{Delivered: days[0].Delivered, Complaints: days[0].Complaints}
	}
	for i := range 3 {
		event(t, h, provider.Event{ID: "d" + pm(i), Kind: provider.EventDelivered, ProviderMessageID: pm(i), At: h.Clock.Now()})
	}
	assert.Equal(t, store.DomainDay{Delivered: 1}, stored(), "the first event is written, the next two wait")
	h.Clock.Advance(time.Second)
	event(t, h, provider.Event{ID: "c1", Kind: provider.EventComplaint, ProviderMessageID: pm(1), At: h.Clock.Now()})
	// A second later the waiting deliveries are written: by this event,
	// or by the scheduler just before it (the complaint then waits for
	// the next write, at most a second).
	got := stored()
	assert.Equal(t, 3, got.Delivered, "a second later, the waiting deliveries")
	assert.LessOrEqual(t, got.Complaints, 1)
	event(t, h, provider.Event{ID: "c2", Kind: provider.EventComplaint, ProviderMessageID: pm(2), At: h.Clock.Now()})
	require.NoError(t, h.Engine.Stop(ctx))
	assert.Equal(t, store.DomainDay{Delivered: 3, Complaints: 2}, stored(), "Stop writes what waits")
}
