package blast_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasttest"
)

// quietCase runs one marketing text to phone (patient zone tz) starting at
// start and returns when it was sent, checking it was sent exactly once.
func quietCase(t *testing.T, start time.Time, tz, phone string, cfg func(*blast.Config)) time.Time {
	t.Helper()
	h, everyone := setup(t, []carecast.Patient{func() carecast.Patient {
		p := patient(0)
		p.TimeZone, p.Phone = tz, phone
		return p
	}()}, &blasttest.Options{Start: start, Config: cfg})
	b, sum := sendAndRun(t, h, smsDraft("Spring sale", carecast.Marketing, everyone.ID))
	require.Equal(t, 1, sum.Sent)
	blasttest.RequireNoDuplicates(t, h.SMS)
	m := blasttest.RequireSent(t, h.SMS, phone)[0]
	msgs := allMessages(t, h, b.ID, blast.CardSent, 10)
	require.Len(t, msgs, 1)
	assert.Equal(t, 1, msgs[0].Attempts, "a deferral is not an attempt")
	return m.At
}

// compliance.md TM-01 tests, on a fixed clock, send day 2026-03-10.
func TestQuietHoursTM01(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	chi, _ := time.LoadLocation("America/Chicago")

	t.Run("1 FL area code, no address, 20:15 New York: next day 08:00", func(t *testing.T) {
		at := quietCase(t, time.Date(2026, 3, 10, 20, 15, 0, 0, ny), "", "+13055550101", nil)
		assert.Equal(t, time.Date(2026, 3, 11, 8, 0, 0, 0, ny), at.In(ny))
	})
	t.Run("2 NY area code, 20:15 New York: federal 9 p.m. allows it", func(t *testing.T) {
		start := time.Date(2026, 3, 10, 20, 15, 0, 0, ny)
		at := quietCase(t, start, "", "+12125550101", nil)
		assert.Equal(t, start, at.In(ny))
	})
	t.Run("2 NY area code, 20:15 New York, strictest profile: next day 08:00", func(t *testing.T) {
		at := quietCase(t, time.Date(2026, 3, 10, 20, 15, 0, 0, ny), "", "+12125550101",
			func(c *blast.Config) { c.QuietHours.Strictest = true })
		assert.Equal(t, time.Date(2026, 3, 11, 8, 0, 0, 0, ny), at.In(ny))
	})
	t.Run("2 OK area code, 07:59 Chicago: 08:00", func(t *testing.T) {
		at := quietCase(t, time.Date(2026, 3, 10, 7, 59, 0, 0, chi), "", "+14055550101", nil)
		assert.Equal(t, time.Date(2026, 3, 10, 8, 0, 0, 0, chi), at.In(chi))
	})
	t.Run("3 Phoenix address, NY number, 2026-07-01 20:30 New York: sent", func(t *testing.T) {
		start := time.Date(2026, 7, 1, 20, 30, 0, 0, ny)
		at := quietCase(t, start, "America/Phoenix", "+12125550101", nil)
		assert.Equal(t, start, at)
	})
	// 2026-11-01 01:30 happens twice in New York (EDT, then EST): both
	// are outside the window and wait for 08:00 EST, sent once.
	for _, start := range []time.Time{
		time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), // 01:30 EDT
		time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC), // 01:30 EST
	} {
		t.Run("3 DST fall-back ambiguous 01:30 "+start.In(ny).Format("MST"), func(t *testing.T) {
			require.Equal(t, "01:30", start.In(ny).Format("15:04"))
			at := quietCase(t, start, "America/New_York", "+12125550101", nil)
			assert.Equal(t, time.Date(2026, 11, 1, 13, 0, 0, 0, time.UTC), at, "08:00 EST")
		})
	}
	// The library rule: every non-urgent text is held, transactional
	// too; only an urgent transactional blast bypasses quiet hours, and
	// the bypass is audited.
	transactional := func(t *testing.T, urgent bool) (*blasttest.Harness, blast.Blast, time.Time) {
		start := time.Date(2026, 3, 10, 20, 15, 0, 0, ny)
		h, everyone := setup(t, []carecast.Patient{func() carecast.Patient {
			p := patient(0)
			p.TimeZone, p.Phone = "", "+13055550101"
			return p
		}()}, &blasttest.Options{Start: start})
		d := smsDraft("The clinic is closed today: a water main broke.", carecast.Transactional, everyone.ID)
		d.Urgent = urgent
		b, sum := sendAndRun(t, h, d)
		require.Equal(t, 1, sum.Sent)
		return h, b, blasttest.RequireSent(t, h.SMS, "+13055550101")[0].At
	}
	t.Run("transactional is held", func(t *testing.T) {
		_, _, at := transactional(t, false)
		assert.Equal(t, time.Date(2026, 3, 11, 8, 0, 0, 0, ny), at.In(ny))
	})
	t.Run("urgent is not held, and audited", func(t *testing.T) {
		h, b, at := transactional(t, true)
		assert.Equal(t, time.Date(2026, 3, 10, 20, 15, 0, 0, ny), at.In(ny))
		trail, err := h.Engine.AuditTrail(ctx, org, b.ID, 0, 100)
		require.NoError(t, err)
		var actions []string
		for _, a := range trail {
			actions = append(actions, a.Action)
		}
		assert.Contains(t, actions, "blast.urgent_bypass")
	})
	t.Run("only transactional texts can be urgent", func(t *testing.T) {
		h, everyone := setup(t, population(1, nil), nil)
		d := smsDraft("Sale", carecast.Marketing, everyone.ID)
		d.Urgent = true
		assert.Equal(t, "Urgent", problem(t, sendErr(t, h, d), blast.ProblemPurpose).Field)
		e := emailDraft(carecast.Transactional, everyone.ID)
		e.Urgent = true
		assert.Equal(t, "Urgent", problem(t, sendErr(t, h, e), blast.ProblemChannel).Field)
	})
}

func TestQuietHoursConfigValidation(t *testing.T) {
	for name, q := range map[string]blast.QuietHours{
		"QuietHours.DefaultZone": {DefaultZone: "Mars/Olympus"},
		"QuietHours.States":      {States: map[string]blast.QuietWindow{"FL": {Start: 20 * time.Hour, End: 8 * time.Hour}}},
	} {
		t.Run(name, func(t *testing.T) {
			h := blasttest.NewEngine(t, &blasttest.Options{NoStart: true})
			cfg := blast.Config{Store: h.Store, Patients: h.Patients, Cohorts: h.Cohorts, Organizations: h.Orgs, QuietHours: q}
			_, err := blast.New(&cfg)
			var ce *blast.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, name, ce.Field)
		})
	}
}
