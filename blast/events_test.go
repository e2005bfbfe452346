package blast_test

import (
	"fmt"
	"log/slog"
	"strings"
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

func event(t *testing.T, h *blasttest.Harness, ev provider.Event) blast.EventResult {
	t.Helper()
	res, err := h.Engine.HandleEvent(ctx, ev)
	require.NoError(t, err)
	return res
}

func TestEventsDeliveryAndFailure(t *testing.T) {
	h, everyone := setup(t, population(4, nil), nil)
	b, sum := sendAndRun(t, h, smsDraft("Hi", "", everyone.ID))
	require.Equal(t, 4, sum.Sent)
	pm := func(i int) string { return h.SMS.SentTo(phone(i))[0].ProviderMessageID }

	assert.Equal(t, blast.EventApplied, event(t, h, provider.Event{ID: "e1", Kind: provider.EventDelivered, ProviderMessageID: pm(0)}))
	assert.Equal(t, blast.EventDuplicate, event(t, h, provider.Event{ID: "e1", Kind: provider.EventDelivered, ProviderMessageID: pm(0)}))
	// Undelivered after sent: the Sent card count moves to Failed.
	assert.Equal(t, blast.EventApplied, event(t, h, provider.Event{ID: "e2", Kind: provider.EventUndelivered, ProviderMessageID: pm(1), Code: "30003", Class: provider.Transient}))
	// A carrier landline verdict updates the patient.
	assert.Equal(t, blast.EventApplied, event(t, h, provider.Event{ID: "e3", Kind: provider.EventUndelivered, ProviderMessageID: pm(2), Code: "30006", Class: provider.Landline}))
	// Forward only: a delivery receipt after the failure changes nothing.
	assert.Equal(t, blast.EventIgnored, event(t, h, provider.Event{ID: "e4", Kind: provider.EventDelivered, ProviderMessageID: pm(1)}))
	assert.Equal(t, blast.EventDuplicate, event(t, h, provider.Event{ID: "e4", Kind: provider.EventDelivered, ProviderMessageID: pm(1)}))
	// Unknown message IDs (a test send, another system) are ignored.
	assert.Equal(t, blast.EventIgnored, event(t, h, provider.Event{ID: "e5", Kind: provider.EventDelivered, ProviderMessageID: "SMunknown"}))

	sum, err := h.Engine.Summary(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, sum.Sent)
	assert.Equal(t, 1, sum.Delivered)
	assert.Equal(t, 2, sum.Failed)
	failed := allMessages(t, h, b.ID, blast.CardFailed, 10)
	require.Len(t, failed, 2)
	assert.Equal(t, "unreachable", failed[0].Reason, "30003: a soft failure (see SoftFailures)")
	assert.Equal(t, "30003", failed[0].ErrorCode)
	ps, err := h.Patients.PatientsByID(ctx, org, []string{"p00002"})
	require.NoError(t, err)
	assert.Equal(t, carecast.LineLandline, ps[0].PhoneLineType)

	_, err = h.Engine.HandleEvent(ctx, provider.Event{Kind: provider.EventDelivered})
	assert.Error(t, err, "events need an ID")
}

func TestEventsBounceAndComplaint(t *testing.T) {
	h, everyone := setup(t, population(3, nil), nil)
	b, _ := sendAndRun(t, h, emailDraft(carecast.Marketing, everyone.ID))
	pm := func(i int) string { return h.Email.SentTo(email(i))[0].ProviderMessageID }
	assert.Equal(t, blast.EventApplied, event(t, h, provider.Event{ID: "b1", Kind: provider.EventBounce, ProviderMessageID: pm(0), HardBounce: true, Code: "5.1.1"}))
	assert.Equal(t, blast.EventApplied, event(t, h, provider.Event{ID: "c1", Kind: provider.EventComplaint, ProviderMessageID: pm(1)}))
	assert.Equal(t, blast.EventDuplicate, event(t, h, provider.Event{ID: "c1", Kind: provider.EventComplaint, ProviderMessageID: pm(1)}))
	sum, err := h.Engine.Summary(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, sum.Sent, "a complaint does not unsend")
	assert.Equal(t, 1, sum.Failed, "the bounce")

	ps, err := h.Patients.PatientsByID(ctx, org, []string{"p00000", "p00001"})
	require.NoError(t, err)
	assert.True(t, ps[0].Consent.EmailSuppressed)
	assert.True(t, ps[1].Consent.EmailUnsubscribed)

	// The next marketing email skips both; a transactional one skips only
	// the hard bounce (compliance.md J-02), even if the host forgot the
	// patient update: the store's suppression list is checked too.
	h.Patients.Put(org, population(3, nil)...) // host "forgets" the updates
	h.Email.Reset()
	_, sum = sendAndRun(t, h, emailDraft(carecast.Marketing, everyone.ID))
	assert.Equal(t, 1, sum.Sent)
	assert.Equal(t, 2, sum.SkippedBy[eligibility.Suppressed.String()])
	h.Email.Reset()
	_, sum = sendAndRun(t, h, emailDraft(carecast.Transactional, everyone.ID))
	assert.Equal(t, 2, sum.Sent)
	blasttest.RequireNotSent(t, h.Email, email(0))
}

func TestInboundKeywords(t *testing.T) {
	h, everyone := setup(t, population(3, nil), nil)
	b, _ := sendAndRun(t, h, smsDraft("Hi", "", everyone.ID))
	h.SMS.Reset()
	in := func(id, from, body string, handled bool) blast.EventResult {
		return event(t, h, provider.Event{ID: id, OrgID: org, Kind: provider.EventInbound, From: from, To: "+12125550000", Body: body, ProviderHandledOptOut: handled})
	}

	// STOP: opted out everywhere, exactly one confirmation.
	assert.Equal(t, blast.EventApplied, in("i1", phone(0), "Stop!", false))
	assert.Equal(t, blast.EventDuplicate, in("i1", phone(0), "Stop!", false))
	assert.Equal(t, blast.EventApplied, in("i2", phone(0), "STOP", false))
	replies := h.SMS.SentTo(phone(0))
	require.Len(t, replies, 1, "one confirmation only")
	assert.Contains(t, replies[0].Body, "Sunrise Family Clinic")
	assert.Contains(t, replies[0].Body, "START")
	assert.Equal(t, "+12125550000", replies[0].From, "answered from the number texted")
	ps, err := h.Patients.PatientsByID(ctx, org, []string{"p00000"})
	require.NoError(t, err)
	assert.True(t, ps[0].Consent.SMSOptedOut)

	// The provider already confirmed: no reply from the engine.
	assert.Equal(t, blast.EventApplied, in("i3", phone(1), "STOP", true))
	assert.Empty(t, h.SMS.SentTo(phone(1)))

	// START opts back in.
	assert.Equal(t, blast.EventApplied, in("i4", phone(0), "start", false))
	ps, err = h.Patients.PatientsByID(ctx, org, []string{"p00000"})
	require.NoError(t, err)
	assert.False(t, ps[0].Consent.SMSOptedOut)
	assert.Len(t, h.SMS.SentTo(phone(0)), 2)

	// HELP gets the help reply (no PHI, opt-out instructions).
	assert.Equal(t, blast.EventApplied, in("i5", phone(2), "HELP", false))
	help := h.SMS.SentTo(phone(2))
	require.Len(t, help, 1)
	assert.Contains(t, help[0].Body, "Reply STOP")
	assert.NotContains(t, help[0].Body, "Pat2")

	// Anything else is a reply to the latest blast message to the number.
	assert.Equal(t, blast.EventApplied, in("i6", phone(2), "See you Tuesday", false))
	assert.Equal(t, blast.EventApplied, in("i7", phone(2), "Thanks again", false))
	sum, err := h.Engine.Summary(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, cardCount(sum, blast.CardReplied))
	assert.InDelta(t, 1.0/3, sum.ReplyRate, 1e-9)
	replied := allMessages(t, h, b.ID, blast.CardReplied, 10)
	require.Len(t, replied, 1)
	assert.Equal(t, 2, replied[0].Replies)

	// A reply after the window, or from a stranger, is ignored.
	h.Clock.Advance(8 * 24 * time.Hour)
	assert.Equal(t, blast.EventIgnored, in("i8", phone(2), "late", false))
	assert.Equal(t, blast.EventIgnored, in("i9", "+12125559876", "who is this", false))

	// The opted-out number is skipped by the next blast.
	h.SMS.Reset()
	_, sum = sendAndRun(t, h, smsDraft("Again", "", everyone.ID))
	assert.Equal(t, 2, sum.Sent)
	assert.Equal(t, 1, sum.OptedOut)

	_, err = h.Engine.HandleEvent(ctx, provider.Event{ID: "x", Kind: provider.EventInbound, From: phone(0), Body: "STOP"})
	assert.Error(t, err, "inbound events need the organization")
}

// A STOP from a number no patient has still suppresses it.
func TestStopFromUnknownNumber(t *testing.T) {
	h, everyone := setup(t, population(2, nil), nil)
	assert.Equal(t, blast.EventApplied, event(t, h, provider.Event{ID: "s", OrgID: org, Kind: provider.EventInbound, From: phone(1), Body: "UNSUBSCRIBE"}))
	h.SMS.Reset()
	h.Patients.Put(org, population(2, nil)...) // the host never learned of it
	_, sum := sendAndRun(t, h, smsDraft("Hi", "", everyone.ID))
	assert.Equal(t, 1, sum.Sent)
	assert.Equal(t, 1, sum.OptedOut)
	msgs := allMessages(t, h, sum.BlastID, blast.CardOptedOut, 10)
	require.Len(t, msgs, 1)
	assert.Equal(t, store.RowSkipped, msgs[0].Status)
	assert.True(t, strings.HasPrefix(msgs[0].PatientID, "p"))
}

// compliance.md SM-05: a bare YES re-subscribes only a number that is
// opted out; from a subscribed number it is an answer.
func TestInboundYes(t *testing.T) {
	h, everyone := setup(t, population(4, func(i int, p *carecast.Patient) {
		if i == 3 {
			p.Consent.SMSOptedOut = true // opted out in the host's records only
			p.Consent.SMSMarketingOptIn = false
		}
	}), nil)
	b, sum := sendAndRun(t, h, smsDraft("Reply YES to confirm your visit", carecast.Transactional, everyone.ID))
	require.Equal(t, 3, sum.Sent)
	h.SMS.Reset()
	in := func(id, from, body string, kw provider.Keyword, handled bool) blast.EventResult {
		return event(t, h, provider.Event{ID: id, OrgID: org, Kind: provider.EventInbound, From: from, To: "+12125550000",
			Body: body, Keyword: kw, ProviderHandledOptOut: handled})
	}
	consent := func(i int) carecast.Consent {
		ps, err := h.Patients.PatientsByID(ctx, org, []string{patient(i).ID})
		require.NoError(t, err)
		return ps[0].Consent
	}

	// 1. Subscribed: an answer, consent unchanged, nothing sent back,
	// even when the vendor flagged it START.
	assert.Equal(t, blast.EventApplied, in("y1", phone(0), "Yes", "", false))
	assert.Equal(t, blast.EventApplied, in("y2", phone(1), "YES", provider.KeywordStart, true))
	assert.Equal(t, consent(0), patient(0).Consent)
	assert.Zero(t, h.SMS.Count(), "no confirmation to a subscribed number")
	replied := allMessages(t, h, b.ID, blast.CardReplied, 10)
	require.Len(t, replied, 2)

	// 2. Opted out by STOP: YES opts back in with exactly one
	// confirmation; marketing consent is not granted.
	require.Equal(t, blast.EventApplied, in("s1", phone(2), "STOP", "", false))
	require.True(t, consent(2).SMSOptedOut)
	h.SMS.Reset()
	assert.Equal(t, blast.EventApplied, in("y3", phone(2), "yes!", "", false))
	assert.Equal(t, blast.EventDuplicate, in("y3", phone(2), "yes!", "", false))
	assert.False(t, consent(2).SMSOptedOut)
	confirm := h.SMS.SentTo(phone(2))
	require.Len(t, confirm, 1, "exactly one confirmation")
	assert.Contains(t, confirm[0].Body, "resubscribed")
	// Now subscribed, a second YES is an ordinary reply.
	assert.Equal(t, blast.EventApplied, in("y4", phone(2), "YES", "", false))
	assert.Len(t, h.SMS.SentTo(phone(2)), 1)

	// 3. Opted out in the host's record only; the vendor already
	// answered: opted in, no second confirmation, marketing still off.
	assert.Equal(t, blast.EventApplied, in("y5", phone(3), "YES", provider.KeywordStart, true))
	c := consent(3)
	assert.False(t, c.SMSOptedOut)
	assert.False(t, c.SMSMarketingOptIn, "a re-opt-in does not grant marketing consent")
	assert.Empty(t, h.SMS.SentTo(phone(3)))

	// Everyone is textable again.
	h.SMS.Reset()
	_, sum = sendAndRun(t, h, smsDraft("Reminder", carecast.Transactional, everyone.ID))
	assert.Equal(t, 4, sum.Sent)
}

// compliance.md SM-08: with phone-number redaction on, the provider's
// keyword handling does not work: leaving replies to it is refused at
// startup, and the engine answers STOP itself even when the event claims
// the provider did.
func TestRedactionNeedsEngineKeywordHandling(t *testing.T) {
	t.Run("1 startup refused", func(t *testing.T) {
		h := blasttest.NewEngine(t, &blasttest.Options{NoStart: true, RedactsNumbers: true})
		cfg := blast.Config{Store: h.Store, Patients: h.Patients, Cohorts: h.Cohorts, Organizations: h.Orgs,
			SMS: h.SMS, ProviderKeywordReplies: true}
		_, err := blast.New(&cfg)
		require.ErrorIs(t, err, blast.ErrKeywordHandlingRequired)
		var ce *blast.ConfigError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, "ProviderKeywordReplies", ce.Field)

		cfg.SMS = blasttest.NewEngine(t, &blasttest.Options{NoStart: true}).SMS
		_, err = blast.New(&cfg)
		assert.NoError(t, err, "without redaction the provider may answer keywords")
	})
	stop := func(t *testing.T, opts *blasttest.Options) *blasttest.Harness {
		h, _ := setup(t, population(1, nil), opts)
		res := event(t, h, provider.Event{ID: "s1", OrgID: org, Kind: provider.EventInbound, From: phone(0), To: "+12125550000",
			Body: "STOP", Keyword: provider.KeywordStop, ProviderHandledOptOut: true})
		require.Equal(t, blast.EventApplied, res)
		sups, err := h.Store.Suppressed(ctx, org, carecast.SMS, []string{phone(0)})
		require.NoError(t, err)
		require.Len(t, sups, 1, "the opt-out is recorded")
		return h
	}
	t.Run("2 redaction: the engine confirms", func(t *testing.T) {
		h := stop(t, &blasttest.Options{RedactsNumbers: true})
		assert.Equal(t, 1, h.SMS.Count(), "exactly one confirmation, from the engine")
	})
	t.Run("provider replies without redaction", func(t *testing.T) {
		h := stop(t, nil)
		assert.Zero(t, h.SMS.Count(), "the provider already confirmed")
	})
	t.Run("ProviderKeywordReplies", func(t *testing.T) {
		h, _ := setup(t, population(1, nil), &blasttest.Options{Config: func(c *blast.Config) { c.ProviderKeywordReplies = true }})
		event(t, h, provider.Event{ID: "h1", OrgID: org, Kind: provider.EventInbound, From: phone(0), Body: "HELP", Keyword: provider.KeywordHelp})
		assert.Zero(t, h.SMS.Count(), "the provider answers keywords")
	})
}

// compliance.md SM-06 test 1: HELP is answered with the practice name, a
// phone number or URL, and the opt-out instructions, and no PHI.
func TestHelpReplyGivesSupportContact(t *testing.T) {
	orgv := carecast.Organization{Name: "Bright Smile Dental", TimeZone: "America/New_York", SupportContact: "(212) 555-0199"}
	h, _ := setup(t, population(1, nil), &blasttest.Options{Organization: &orgv})
	event(t, h, provider.Event{ID: "h1", OrgID: org, Kind: provider.EventInbound, From: phone(0), To: "+12125550000", Body: "help"})
	got := h.SMS.SentTo(phone(0))
	require.Len(t, got, 1)
	assert.Equal(t, "Bright Smile Dental: for help, (212) 555-0199. Reply STOP to opt out, START to opt back in. Msg&data rates may apply.", got[0].Body)
	assert.NotContains(t, got[0].Body, patient(0).FirstName)
}

// compliance.md SM-03 test 1: each opt-out is recorded with the canonical
// keyword that matched, never the body.
func TestOptOutRecordsMatchedKeyword(t *testing.T) {
	h, _ := setup(t, population(4, nil), nil)
	for i, body := range []string{"Stop!", "opt out", "please stop texting me", "ＳＴＯＰ"} {
		res := event(t, h, provider.Event{ID: fmt.Sprintf("s%d", i), OrgID: org, Kind: provider.EventInbound, From: phone(i), To: "+12125550000", Body: body})
		require.Equal(t, blast.EventApplied, res, body)
	}
	trail, err := h.Engine.AuditTrail(ctx, org, "", 0, 100)
	require.NoError(t, err)
	got := map[string]string{}
	for _, a := range trail {
		if a.Action == "consent.sms_opt_out" {
			got[a.PatientID] = a.Detail
		}
	}
	assert.Equal(t, map[string]string{
		patient(0).ID: "inbound STOP matched=STOP",
		patient(1).ID: "inbound STOP matched=OPTOUT",
		patient(2).ID: "inbound STOP matched=STOP fuzzy",
		patient(3).ID: "inbound STOP matched=STOP",
	}, got)
}

// compliance.md WH-05 test 2 and HI-04 test 1: inbound bodies (untrusted,
// maybe PHI) and full numbers never reach the logs, even at debug level;
// the engine keeps no inbound body at all (so none can be rendered
// unescaped: WH-05 test 1 has nothing to render).
func TestInboundBodiesNeverLogged(t *testing.T) {
	logs := &syncBuffer{}
	h, everyone := setup(t, population(2, nil), &blasttest.Options{Config: func(c *blast.Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}})
	sendAndRun(t, h, smsDraft("Reply YES to confirm", carecast.Transactional, everyone.ID))
	bodies := []string{"<script>alert(1)</script> is my HIV test back?", "STOP texting me about my chemo", "help", "YES"}
	for i, body := range bodies {
		_, err := h.Engine.HandleEvent(ctx, provider.Event{ID: fmt.Sprintf("in%d", i), OrgID: org, Kind: provider.EventInbound,
			From: phone(i % 2), To: "+12125550000", Body: body})
		require.NoError(t, err)
	}
	_, err := h.Engine.HandleEvent(ctx, provider.Event{ID: "in-unknown", OrgID: org, Kind: provider.EventInbound,
		From: "+13125550177", To: "+12125550000", Body: "<script>x</script> who is this"})
	require.NoError(t, err)
	out := logs.String()
	require.NotEmpty(t, out, "the engine did log")
	for _, s := range []string{"<script>", "HIV", "chemo", "who is this", "5550177", phone(0)[2:], phone(1)[2:]} {
		assert.NotContains(t, out, s)
	}
}

// compliance.md J-02: test 2, a hard bounce stops reminder emails but not
// texts; test 3, a newsletter unsubscribe followed by a re-subscription in
// the preference center resumes the newsletter, audited.
func TestScopedSuppressionsAndResubscribe(t *testing.T) {
	h, everyone := setup(t, population(2, nil), nil)
	b, _ := sendAndRun(t, h, emailDraft(carecast.Marketing, everyone.ID))
	msgs := allMessages(t, h, b.ID, blast.CardSent, 10)
	require.Len(t, msgs, 2)
	for _, m := range msgs {
		if m.PatientID == patient(0).ID {
			require.NoError(t, h.Engine.Unsubscribe(ctx, org, m.ID))
		}
	}
	pm := h.Email.SentTo(email(1))[0].ProviderMessageID
	event(t, h, provider.Event{ID: "hb", Kind: provider.EventBounce, ProviderMessageID: pm, HardBounce: true, Code: "5.1.1", Class: provider.Suppress})

	h.Email.Reset()
	_, sum := sendAndRun(t, h, emailDraft(carecast.Marketing, everyone.ID))
	assert.Zero(t, sum.Sent, "unsubscribed and bounced")
	_, sum = sendAndRun(t, h, emailDraft(carecast.Transactional, everyone.ID))
	assert.Equal(t, 1, sum.Sent, "1: the reminder still reaches the unsubscribed patient")
	blasttest.RequireNotSent(t, h.Email, email(1))
	_, sum = sendAndRun(t, h, smsDraft("Reminder: appointment tomorrow", carecast.Transactional, everyone.ID))
	assert.Equal(t, 2, sum.Sent, "2: texts are not affected by an email bounce")

	lifted, err := h.Engine.Resubscribe(blast.WithActor(ctx, "frontdesk-3"), org, strings.ToUpper(email(0)), "preference center")
	require.NoError(t, err)
	assert.True(t, lifted)
	// The host records the patient's fresh opt-in from its preference center.
	ps, err := h.Patients.PatientsByID(ctx, org, []string{patient(0).ID})
	require.NoError(t, err)
	assert.False(t, ps[0].Consent.EmailUnsubscribed)
	ps[0].Consent.EmailMarketingOptIn = true
	h.Patients.Put(org, ps[0])
	h.Email.Reset()
	_, sum = sendAndRun(t, h, emailDraft(carecast.Marketing, everyone.ID))
	assert.Equal(t, 1, sum.Sent, "3: the newsletter resumes")
	blasttest.RequireSent(t, h.Email, email(0))
	trail, err := h.Engine.AuditTrail(ctx, org, "", 0, 200)
	require.NoError(t, err)
	var found bool
	for _, a := range trail {
		if a.Action == "consent.email_resubscribe" {
			found = true
			assert.Equal(t, "frontdesk-3", a.Actor)
			assert.Equal(t, "preference center", a.Detail)
		}
	}
	assert.True(t, found, "the re-subscription is audited")

	lifted, err = h.Engine.Resubscribe(ctx, org, email(1), "preference center")
	require.NoError(t, err)
	assert.False(t, lifted, "a hard bounce stays suppressed")
	_, err = h.Engine.Resubscribe(ctx, org, "not-an-address", "x")
	assert.ErrorIs(t, err, blast.ErrInvalid)
}

// compliance.md SM-05 test 2 (and §K 6): an opted-out patient who texts
// START gets informational texts again, but a STOP revoked the marketing
// consent and START does not restore it; both changes are audited.
func TestStartRestoresInformationalOnly(t *testing.T) {
	h, everyone := setup(t, population(2, func(_ int, p *carecast.Patient) {
		p.Consent.SMSMarketingOptIn = true
	}), nil)
	require.Equal(t, blast.EventApplied, event(t, h, provider.Event{ID: "s1", OrgID: org, Kind: provider.EventInbound, From: phone(0), Body: "STOP"}))
	require.Equal(t, blast.EventApplied, event(t, h, provider.Event{ID: "s2", OrgID: org, Kind: provider.EventInbound, From: phone(0), Body: "START"}))
	ps, err := h.Patients.PatientsByID(ctx, org, []string{patient(0).ID})
	require.NoError(t, err)
	assert.False(t, ps[0].Consent.SMSOptedOut)
	assert.False(t, ps[0].Consent.SMSMarketingOptIn, "START does not restore marketing consent")
	h.SMS.Reset()

	_, sum := sendAndRun(t, h, smsDraft("Spring special", carecast.Marketing, everyone.ID))
	assert.Equal(t, 1, sum.Sent, "marketing: only the patient who never opted out")
	assert.Empty(t, h.SMS.SentTo(phone(0)))
	h.SMS.Reset()
	_, sum = sendAndRun(t, h, smsDraft("Office closed Monday", carecast.Transactional, everyone.ID))
	assert.Equal(t, 2, sum.Sent, "informational texts reach the re-subscribed patient")

	var got []string
	for _, e := range auditTrail(t, h.Engine, "") {
		if e.PatientID == patient(0).ID {
			got = append(got, e.Action)
		}
	}
	assert.Equal(t, []string{"consent.sms_opt_out", "consent.sms_opt_in"}, got)
}

// An event of a kind the engine does not know is a typed error naming the
// kind (cut to a bound), never a silent EventIgnored; it changes nothing
// and does not burn its ID.
func TestEventUnknownKind(t *testing.T) {
	h, everyone := setup(t, population(1, nil), nil)
	b, _ := sendAndRun(t, h, smsDraft("Hi", "", everyone.ID))
	pm := h.SMS.SentTo(phone(0))[0].ProviderMessageID
	for _, kind := range []provider.EventKind{"", "opened", "Delivered", provider.EventKind(strings.Repeat("k", 100))} {
		res, err := h.Engine.HandleEvent(ctx, provider.Event{ID: "u1", Kind: kind, ProviderMessageID: pm})
		require.Error(t, err, "kind %q", kind)
		assert.Empty(t, res)
		assert.ErrorIs(t, err, blast.ErrUnknownEventKind)
		var uk *blast.UnknownEventKindError
		require.ErrorAs(t, err, &uk)
		assert.Equal(t, kind, uk.Kind)
		assert.Equal(t, "u1", uk.EventID)
		short := string(kind)[:min(len(kind), 32)]
		assert.Contains(t, err.Error(), `kind "`+short)
		assert.Less(t, len(err.Error()), 120, "a long kind is cut")
	}
	sum, err := h.Engine.Summary(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Sent, "nothing changed")
	assert.Equal(t, blast.EventApplied, event(t, h, provider.Event{ID: "u1", Kind: provider.EventDelivered, ProviderMessageID: pm}),
		"the ID was not recorded as handled")
}

// compliance.md SM-04 test 3: a patient with marketing and reminder
// consent texts STOP. The one confirmation clarifies that appointment
// reminders stop too until START; marketing and reminders are then held
// (a transactional reminder skips the number as opted out) until START,
// which restores reminders but not marketing. A custom StopReply is sent
// as configured.
func TestStopClarifiesReminders(t *testing.T) {
	h, everyone := setup(t, population(2, nil), nil)
	in := func(id, body string) {
		t.Helper()
		assert.Equal(t, blast.EventApplied, event(t, h, provider.Event{ID: id, OrgID: org, Kind: provider.EventInbound,
			From: phone(0), To: "+12125550000", Body: body}))
	}
	in("s1", "STOP")
	replies := h.SMS.SentTo(phone(0))
	require.Len(t, replies, 1, "one confirmation, which is the clarification")
	assert.Equal(t, "Sunrise Family Clinic: you are unsubscribed and will receive no more texts, appointment reminders included, until you reply START.",
		replies[0].Body)
	h.SMS.Reset()

	_, sum := sendAndRun(t, h, smsDraft("Your visit is tomorrow", carecast.Transactional, everyone.ID))
	assert.Equal(t, 1, sum.OptedOut, "the reminder is held")
	assert.Empty(t, h.SMS.SentTo(phone(0)))
	_, sum = sendAndRun(t, h, smsDraft("Flu shots", carecast.Marketing, everyone.ID))
	assert.Equal(t, 1, sum.OptedOut, "marketing is suppressed")

	in("s2", "START")
	h.SMS.Reset()
	_, sum = sendAndRun(t, h, smsDraft("Your visit is tomorrow", carecast.Transactional, everyone.ID))
	assert.Equal(t, 2, sum.Sent, "reminders resume after START")
	_, sum = sendAndRun(t, h, smsDraft("Flu shots", carecast.Marketing, everyone.ID))
	assert.Equal(t, 1, sum.Sent, "marketing needs a fresh opt-in")
	assert.Equal(t, 1, sum.SkippedBy[eligibility.KeyNotOptedIn])

	custom, _ := setup(t, population(1, nil), &blasttest.Options{Config: func(c *blast.Config) {
		c.StopReply = "{{organization_name}}: stopped. No texts, reminders included, until you text START."
	}})
	assert.Equal(t, blast.EventApplied, event(t, custom, provider.Event{ID: "c1", OrgID: org, Kind: provider.EventInbound,
		From: phone(0), To: "+12125550000", Body: "stop"}))
	got := custom.SMS.SentTo(phone(0))
	require.Len(t, got, 1)
	assert.Equal(t, "Sunrise Family Clinic: stopped. No texts, reminders included, until you text START.", got[0].Body)
}
