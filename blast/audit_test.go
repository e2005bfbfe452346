package blast_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasttest"
	"github.com/carecast/carecast/eligibility"
	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/store"
)

// auditTrail returns every audit entry of the organization (of blastID
// when set).
func auditTrail(t *testing.T, e *blast.Engine, blastID string) []store.AuditEntry {
	t.Helper()
	var out []store.AuditEntry
	var after int64
	for {
		page, err := e.AuditTrail(ctx, org, blastID, after, 100)
		require.NoError(t, err)
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].Seq
	}
}

// actions lists the entries' actions with their actors.
func actions(es []store.AuditEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Action + " by " + e.Actor
	}
	return out
}

// compliance.md HI-09, test 1: a blast to 1,000 patients with 37 excluded.
// The ledger holds the 1,000 inclusion and exclusion rows, whose reasons
// add up; the audit trail names who created and sent the blast and what
// audience was written.
func TestAuditTrailOfABlast(t *testing.T) {
	const n = 1000
	h, everyone := setup(t, population(n, func(i int, p *carecast.Patient) {
		switch {
		case i < 20:
			p.Phone = ""
		case i < 37:
			p.Consent.SMSOptedOut = true
		}
	}), nil)
	staff := blast.WithActor(ctx, "staff-7")
	d := smsDraft("Flu shots are in", carecast.Transactional, everyone.ID)
	d.CreatedBy = "staff-7"
	b, err := h.Engine.CreateDraft(staff, org, d)
	require.NoError(t, err)
	d.Name = "Flu shots"
	_, err = h.Engine.UpdateDraft(staff, org, b.ID, d)
	require.NoError(t, err)
	_, err = h.Engine.Send(staff, org, b.ID, nil)
	require.NoError(t, err)
	sum := h.Run(t, org, b.ID)

	assert.Equal(t, n, sum.Total, "one ledger row per patient, included or not")
	assert.Equal(t, n-37, sum.Sent)
	excluded := 0
	for _, k := range sum.SkippedBy {
		excluded += k
	}
	assert.Equal(t, 37, excluded, "the exclusions' reasons add up")
	assert.Equal(t, 20, sum.SkippedBy[eligibility.KeyNoContact], "the exported keys name the ledger's reasons")
	assert.Equal(t, 17, sum.SkippedBy[eligibility.KeyOptedOut])

	trail := auditTrail(t, h.Engine, b.ID)
	assert.Equal(t, []string{"blast.created by staff-7", "blast.updated by staff-7", "blast.sent by staff-7", "blast.audience by system"}, actions(trail))
	assert.Equal(t, "cohorts="+everyone.ID+" rows=1000", trail[3].Detail)
	for _, e := range trail {
		assert.Equal(t, org, e.OrgID)
		assert.False(t, e.At.IsZero())
	}
}

// Consent changes and provider-driven state changes are audited with
// their source, never with the number or the message.
func TestAuditTrailOfEventsAndConsent(t *testing.T) {
	h, everyone := setup(t, population(2, nil), nil)
	b, _ := sendAndRun(t, h, smsDraft("Hi", "", everyone.ID))
	pm := h.SMS.SentTo(phone(0))[0].ProviderMessageID
	assert.Equal(t, blast.EventApplied, event(t, h, provider.Event{ID: "d1", Kind: provider.EventDelivered, ProviderMessageID: pm}))
	assert.Equal(t, blast.EventDuplicate, event(t, h, provider.Event{ID: "d1", Kind: provider.EventDelivered, ProviderMessageID: pm}))
	event(t, h, provider.Event{ID: "in1", OrgID: org, Kind: provider.EventInbound, From: phone(1), Body: "STOP"})

	trail := auditTrail(t, h.Engine, "")
	var got []string
	for _, e := range trail {
		if e.BlastID == b.ID && e.Action != "event.delivered" {
			continue // the lifecycle, checked above
		}
		got = append(got, e.Action+" by "+e.Actor+": "+e.Detail)
		assert.NotContains(t, e.Detail, phone(1)[2:], "no phone numbers in the trail")
	}
	assert.Equal(t, []string{"event.delivered by provider: ", "consent.sms_opt_out by provider: inbound STOP matched=STOP"}, got,
		"the replayed delivery is not audited twice")
	assert.NotZero(t, trail[len(trail)-2].RowID, "a provider event names its ledger row")
	assert.Equal(t, "p00001", trail[len(trail)-1].PatientID)
}

// Without CreatedBy or WithActor the engine is the actor.
func TestAuditActorDefaults(t *testing.T) {
	h, everyone := setup(t, population(1, nil), nil)
	b, _ := sendAndRun(t, h, smsDraft("Hi", "", everyone.ID))
	trail := auditTrail(t, h.Engine, b.ID)
	require.NotEmpty(t, trail)
	assert.Equal(t, blast.ActorSystem, trail[0].Actor, "no CreatedBy and no WithActor")
}

// compliance.md HI-04 test 2: debug body logging needs an expiry (New
// refuses it otherwise), is announced and audited, and stops on its own.
func TestDebugLogBodies(t *testing.T) {
	hb := blasttest.NewEngine(t, &blasttest.Options{NoStart: true})
	base := blast.Config{Store: hb.Store, Patients: hb.Patients, Cohorts: hb.Cohorts, Organizations: hb.Orgs, Clock: hb.Clock}
	for name, until := range map[string]time.Time{"no expiry": {}, "too long": hb.Clock.Now().Add(48 * time.Hour)} {
		cfg := base
		cfg.DebugLogBodies, cfg.DebugLogBodiesUntil = true, until
		_, err := blast.New(&cfg)
		var ce *blast.ConfigError
		require.ErrorAs(t, err, &ce, name)
		assert.Equal(t, "DebugLogBodiesUntil", ce.Field, name)
	}

	logs := &syncBuffer{}
	h, everyone := setup(t, population(1, nil), &blasttest.Options{Config: func(c *blast.Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.DebugLogBodies, c.DebugLogBodiesUntil = true, blasttest.Epoch.Add(time.Hour)
	}})
	assert.Contains(t, logs.String(), "message bodies are logged")
	trail, err := h.Engine.AuditTrail(ctx, "*", "", 0, 10)
	require.NoError(t, err)
	require.Len(t, trail, 1)
	assert.Equal(t, "debug.log_bodies", trail[0].Action)
	sendAndRun(t, h, smsDraft("First body-1234", carecast.Transactional, everyone.ID))
	assert.Contains(t, logs.String(), "First body-1234", "logged while on")
	h.Clock.Advance(2 * time.Hour)
	sendAndRun(t, h, smsDraft("Second body-5678", carecast.Transactional, everyone.ID))
	assert.NotContains(t, logs.String(), "Second body-5678", "expired")
}

// Duplicate without a CreatedBy credits the copy and its audit entry to
// the context's actor (WithActor), not to the original's author; without
// either, the copy has no author and the engine is the actor. CreateDraft
// fills a blank CreatedBy the same way.
func TestDuplicateCreditsTheCopier(t *testing.T) {
	h, everyone := setup(t, population(1, nil), nil)
	d := smsDraft("Hi", "", everyone.ID)
	d.CreatedBy = "author-1"
	src, err := h.Engine.CreateDraft(ctx, org, d)
	require.NoError(t, err)

	cp, err := h.Engine.Duplicate(blast.WithActor(ctx, "copier-2"), org, src.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, "copier-2", cp.CreatedBy, "the copy is the copier's")
	got, err := h.Engine.Get(ctx, org, cp.ID)
	require.NoError(t, err)
	assert.Equal(t, "copier-2", got.CreatedBy, "as stored")
	assert.Equal(t, []string{"blast.duplicated by copier-2"}, actions(auditTrail(t, h.Engine, cp.ID)))

	anon, err := h.Engine.Duplicate(ctx, org, src.ID, nil)
	require.NoError(t, err)
	assert.Empty(t, anon.CreatedBy, "no actor: no author, never the original's")
	assert.Equal(t, []string{"blast.duplicated by system"}, actions(auditTrail(t, h.Engine, anon.ID)))

	named, err := h.Engine.Duplicate(blast.WithActor(ctx, "copier-2"), org, src.ID, &blast.DuplicateOpts{CreatedBy: "lead-3"})
	require.NoError(t, err)
	assert.Equal(t, "lead-3", named.CreatedBy, "an explicit CreatedBy wins")

	fresh, err := h.Engine.CreateDraft(blast.WithActor(ctx, "staff-4"), org, smsDraft("Hi", "", everyone.ID))
	require.NoError(t, err)
	assert.Equal(t, "staff-4", fresh.CreatedBy)
}
