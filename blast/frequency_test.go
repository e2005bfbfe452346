package blast_test

import (
	"bytes"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasttest"
)

// flPhone is a Florida (305) number and nyPhone a New York (212) one.
const (
	flPhone = "+13055550100"
	nyPhone = "+12125550100"
)

// syncBuffer is a bytes.Buffer safe for the engine's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// capSetup is a harness with a Florida and a New York patient, quiet hours
// off (the caps are tested apart from them), logging to the returned
// buffer.
func capSetup(t *testing.T, config func(*blast.Config)) (*blasttest.Harness, string, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	h, everyone := setup(t, population(2, func(i int, p *carecast.Patient) {
		p.Phone = []string{flPhone, nyPhone}[i]
	}), &blasttest.Options{Config: func(c *blast.Config) {
		c.QuietHours.Disabled = true
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
		if config != nil {
			config(c)
		}
	}})
	return h, everyone.ID, logs
}

// compliance.md TM-02, test 1: a 4th marketing text within 24 hours to a
// Florida area-code number is held (ErrStateFrequencyCap), a New York
// number gets it, and the held text goes once the rolling window has room.
func TestStateFrequencyCap(t *testing.T) {
	h, everyone, logs := capSetup(t, nil)
	first := h.Clock.Now()
	for k := range 3 {
		_, sum := sendAndRun(t, h, smsDraft("Sale {{first_name}}", carecast.Marketing, everyone))
		require.Equal(t, 2, sum.Sent, "blast %d", k+1)
		h.Clock.Advance(time.Hour)
	}
	err := h.Engine.CheckFrequencyCap(ctx, org, carecast.Marketing, flPhone)
	require.ErrorIs(t, err, blast.ErrStateFrequencyCap)
	var fe *blast.FrequencyCapError
	require.True(t, errors.As(err, &fe))
	assert.Equal(t, blast.FrequencyCapError{State: "FL", Cap: 3, Sent: 3, Window: 24 * time.Hour}, *fe)
	assert.NotContains(t, err.Error(), "5550100", "the error never names the number")
	assert.NoError(t, h.Engine.CheckFrequencyCap(ctx, org, carecast.Marketing, nyPhone), "New York has no cap")

	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Another sale", carecast.Marketing, everyone))
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.NoError(t, err)
	sum := h.RunUntil(t, func() bool { return len(h.SMS.SentTo(nyPhone)) == 4 }, func() blast.Summary {
		s, err := h.Engine.Summary(ctx, org, b.ID)
		require.NoError(t, err)
		return s
	})
	assert.Equal(t, 1, sum.Sent, "the New York text went at once")
	assert.Len(t, h.SMS.SentTo(flPhone), 3, "the Florida text is held")

	sum = h.Run(t, org, b.ID)
	assert.Equal(t, 2, sum.Sent, "held, never dropped")
	fl := h.SMS.SentTo(flPhone)
	require.Len(t, fl, 4)
	assert.GreaterOrEqual(t, fl[3].At.Sub(first), 24*time.Hour, "the 4th went once the first had left the window")
	assert.Less(t, fl[3].At.Sub(first), 24*time.Hour+blast.FrequencyRecheck+time.Minute, "re-checked every FrequencyRecheck")
	assert.NotContains(t, logs.String(), "5550100", "logs never name the number")
}

// compliance.md TM-02, test 2: a 4th text that is an appointment reminder
// (transactional) is not a solicitation: it is sent, and the exemption is
// logged.
func TestFrequencyCapSparesTransactional(t *testing.T) {
	h, everyone, logs := capSetup(t, nil)
	for range 3 {
		sendAndRun(t, h, smsDraft("Sale {{first_name}}", carecast.Marketing, everyone))
	}
	_, sum := sendAndRun(t, h, smsDraft("Reminder: your appointment is tomorrow", carecast.Transactional, everyone))
	assert.Equal(t, 2, sum.Sent)
	assert.Len(t, h.SMS.SentTo(flPhone), 4)
	require.NoError(t, h.Engine.CheckFrequencyCap(ctx, org, carecast.Transactional, flPhone))
	assert.Contains(t, logs.String(), "frequency cap not applied to a transactional text")
	assert.Contains(t, logs.String(), "state=FL")
	assert.NotContains(t, logs.String(), "5550100")
}

func TestFrequencyCapConfig(t *testing.T) {
	t.Run("disabled", func(t *testing.T) {
		h, everyone, _ := capSetup(t, func(c *blast.Config) { c.FrequencyCaps.Disabled = true })
		for range 4 {
			sendAndRun(t, h, smsDraft("Sale", carecast.Marketing, everyone))
		}
		assert.Len(t, h.SMS.SentTo(flPhone), 4)
		assert.NoError(t, h.Engine.CheckFrequencyCap(ctx, org, carecast.Marketing, flPhone))
	})
	t.Run("custom states", func(t *testing.T) {
		h, everyone, _ := capSetup(t, func(c *blast.Config) { c.FrequencyCaps.States = map[string]int{"NY": 1} })
		sendAndRun(t, h, smsDraft("Sale", carecast.Marketing, everyone))
		assert.ErrorIs(t, h.Engine.CheckFrequencyCap(ctx, org, carecast.Marketing, nyPhone), blast.ErrStateFrequencyCap)
		assert.NoError(t, h.Engine.CheckFrequencyCap(ctx, org, carecast.Marketing, flPhone), "only the configured states are capped")
	})
	t.Run("window", func(t *testing.T) {
		h, everyone, _ := capSetup(t, func(c *blast.Config) { c.FrequencyCaps.Window = time.Hour })
		for range 3 {
			sendAndRun(t, h, smsDraft("Sale", carecast.Marketing, everyone))
		}
		require.ErrorIs(t, h.Engine.CheckFrequencyCap(ctx, org, carecast.Marketing, flPhone), blast.ErrStateFrequencyCap)
		h.Clock.Advance(time.Hour + time.Second)
		assert.NoError(t, h.Engine.CheckFrequencyCap(ctx, org, carecast.Marketing, flPhone))
	})
	requireConfigErrors(t, "FrequencyCaps", map[string]func(*blast.Config){
		"zero cap":        func(c *blast.Config) { c.FrequencyCaps.States = map[string]int{"FL": 0} },
		"negative window": func(c *blast.Config) { c.FrequencyCaps.Window = -time.Hour },
	})
}

// requireConfigErrors checks that each change of an otherwise valid
// Config makes New fail with a *ConfigError whose field contains field.
func requireConfigErrors(t *testing.T, field string, cases map[string]func(*blast.Config)) {
	t.Helper()
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			h := blasttest.NewEngine(t, &blasttest.Options{NoStart: true})
			cfg := blast.Config{Store: h.Store, Patients: h.Patients, Cohorts: h.Cohorts, Organizations: h.Orgs, SMS: h.SMS, Email: h.Email}
			mod(&cfg)
			_, err := blast.New(&cfg)
			var ce *blast.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Contains(t, ce.Field, field)
		})
	}
}

// Texts of one batch count against each other before they are recorded:
// four patients sharing a Florida number get three texts, and the fourth
// waits for the window. (Households each: one text per patient, as a
// marketing blast would otherwise send the household one.)
func TestFrequencyCapWithinBatch(t *testing.T) {
	h, everyone := setup(t, population(4, func(i int, p *carecast.Patient) { p.Phone = flPhone }),
		&blasttest.Options{Config: func(c *blast.Config) { c.QuietHours.Disabled = true }})
	first := h.Clock.Now()
	d := smsDraft("Family sale", carecast.Marketing, everyone.ID)
	d.Households = blast.HouseholdsEach
	b, err := h.Engine.CreateDraft(ctx, org, d)
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.NoError(t, err)
	h.RunUntil(t, func() bool { return h.Clock.Now().Sub(first) >= time.Hour }, func() blast.Summary {
		s, err := h.Engine.Summary(ctx, org, b.ID)
		require.NoError(t, err)
		return s
	})
	assert.Len(t, h.SMS.SentTo(flPhone), 3)
	sum := h.Run(t, org, b.ID)
	assert.Equal(t, 4, sum.Sent)
	sent := h.SMS.SentTo(flPhone)
	require.Len(t, sent, 4)
	assert.GreaterOrEqual(t, sent[3].At.Sub(first), 24*time.Hour)
}
