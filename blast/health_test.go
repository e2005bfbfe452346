package blast_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasttest"
	"github.com/carecast/carecast/eligibility"
	"github.com/carecast/carecast/render"
)

// sendErr creates a draft and returns Send's error (nil when it was sent).
func sendErr(t *testing.T, h *blasttest.Harness, d blast.Draft) error {
	t.Helper()
	b, err := h.Engine.CreateDraft(ctx, org, d)
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	return err
}

// problem returns the problem with code c of a *ValidationError.
func problem(t *testing.T, err error, c blast.ProblemCode) blast.Problem {
	t.Helper()
	var ve *blast.ValidationError
	require.True(t, errors.As(err, &ve), "want a *ValidationError, got %v", err)
	for _, p := range ve.Problems {
		if p.Code == c {
			return p
		}
	}
	t.Fatalf("no %s problem in %v", c, err)
	return blast.Problem{}
}

// phiSMS is a PHI-bearing text with its portal notice.
func phiSMS(cohortID string) blast.Draft {
	d := smsDraft("{{first_name}}, your A1C result is in: call us to go over it.", carecast.Transactional, cohortID)
	d.PHI = true
	d.PortalSMS = &render.SMSContent{Body: "{{first_name}}, you have a new message from {{organization_name}} in your patient portal."}
	return d
}

// compliance.md HI-05: a PHI-bearing message through a provider without a
// BAA is refused with ErrNoBAA and nothing is sent; a newsletter without
// PHI goes through the same provider.
func TestPHIBlastNeedsBAA(t *testing.T) {
	h, everyone := setup(t, population(3, nil), nil)
	err := sendErr(t, h, phiSMS(everyone.ID))
	require.ErrorIs(t, err, blast.ErrNoBAA)
	require.ErrorIs(t, err, blast.ErrInvalid)
	assert.Equal(t, "PHI", problem(t, err, blast.ProblemNoBAA).Field)
	h.Clock.Advance(time.Hour)
	assert.Zero(t, h.SMS.Calls(), "nothing sent")

	_, sum := sendAndRun(t, h, smsDraft("Our new hours start Monday!", carecast.Marketing, everyone.ID))
	assert.Equal(t, 3, sum.Sent, "a message without PHI is not gated")

	e := emailDraft(carecast.Transactional, everyone.ID)
	e.PHI = true
	e.PortalEmail = &render.EmailContent{Subject: "New message", Format: render.FormatMarkdown, Body: "Log in to your portal."}
	require.ErrorIs(t, sendErr(t, h, e), blast.ErrNoBAA, "email is gated the same way")
}

// compliance.md HI-08: a PHI-bearing message goes only to patients who
// acknowledged the unencrypted channel; the others get the portal notice.
func TestPHIBlastSendsPortalNoticeWithoutAck(t *testing.T) {
	h, everyone := setup(t, population(4, func(i int, p *carecast.Patient) {
		p.Consent.SMSInsecureChannelAck = i%2 == 0
		p.Consent.EmailInsecureChannelAck = i < 2
	}), &blasttest.Options{CoversPHI: true})

	_, sum := sendAndRun(t, h, phiSMS(everyone.ID))
	assert.Equal(t, 4, sum.Sent)
	for i := range 4 {
		got := h.SMS.SentTo(phone(i))
		require.Len(t, got, 1)
		if i%2 == 0 {
			assert.Contains(t, got[0].Body, "A1C result", "patient %d acknowledged texts", i)
		} else {
			assert.NotContains(t, got[0].Body, "A1C", "patient %d gets no PHI", i)
			assert.Contains(t, got[0].Body, "new message from Sunrise Family Clinic in your patient portal")
		}
	}

	d := emailDraft(carecast.Transactional, everyone.ID)
	d.Email.Subject = "Your lab results"
	d.Email.Body = "Hello {{first_name}}, your cholesterol panel is attached below: LDL 130."
	d.PHI = true
	d.PHIApprovedBy = "dr-lee" // "lab results" is flagged (HI-01)
	d.PortalEmail = &render.EmailContent{Subject: "A new message from {{organization_name}}", Format: render.FormatMarkdown,
		Body: "Hello {{first_name}}, please log in to your [patient portal](https://portal.clinic.example) to read it."}
	_, sum = sendAndRun(t, h, d)
	assert.Equal(t, 4, sum.Sent)
	for i := range 4 {
		got := h.Email.SentTo(email(i))
		require.Len(t, got, 1)
		if i < 2 {
			assert.Equal(t, "Your lab results", got[0].Subject)
			assert.Contains(t, got[0].Text, "LDL 130")
		} else {
			assert.Equal(t, "A new message from Sunrise Family Clinic", got[0].Subject)
			assert.NotContains(t, got[0].HTML+got[0].Text, "LDL")
			assert.Contains(t, got[0].Text, "patient portal")
		}
	}
}

func TestPHIBlastPortalNoticeRules(t *testing.T) {
	h, everyone := setup(t, population(1, nil), &blasttest.Options{CoversPHI: true})
	d := phiSMS(everyone.ID)
	d.PortalSMS = nil
	assert.Equal(t, "PortalSMS", problem(t, sendErr(t, h, d), blast.ProblemPortalNotice).Field, "a portal notice is required")

	d = phiSMS(everyone.ID)
	d.PortalSMS.Body = "Your HIV test result is in the portal."
	p := problem(t, sendErr(t, h, d), blast.ProblemPortalNotice)
	assert.Contains(t, p.Message, `"HIV test" (sensitive term)`, "the notice must be free of clinical terms, even approved")

	d = phiSMS(everyone.ID)
	d.PortalSMS.Body = "Hi {{diagnosis}}"
	err := sendErr(t, h, d)
	require.ErrorIs(t, err, blast.ErrPHIField)
	assert.Equal(t, []string{"diagnosis"}, problem(t, err, blast.ProblemPHIField).Fields)

	d = phiSMS(everyone.ID)
	d.PortalSMS.Images = []render.Image{{URL: "https://cdn.clinic.example/a.png", Data: pngBytes}}
	assert.Equal(t, "PortalSMS.Images", problem(t, sendErr(t, h, d), blast.ProblemPortalNotice).Field)

	d = phiSMS(everyone.ID)
	saved, err := h.Engine.CreateDraft(ctx, org, d)
	require.NoError(t, err)
	got, err := h.Engine.Get(ctx, org, saved.ID)
	require.NoError(t, err)
	assert.True(t, got.PHI, "stored with the blast")
	require.NotNil(t, got.PortalSMS)
	assert.Equal(t, d.PortalSMS.Body, got.PortalSMS.Body)
}

// compliance.md HI-01, test 1: merge fields naming clinical information
// fail with ErrPHIField.
func TestPHIMergeFieldsRejected(t *testing.T) {
	h, everyone := setup(t, population(1, nil), nil)
	for _, body := range []string{"Dx: {{.Diagnosis}}", "{{procedure}} tomorrow", "Result {{lab_result}}", "Take {{Medication}}"} {
		err := sendErr(t, h, smsDraft(body, carecast.Transactional, everyone.ID))
		require.ErrorIs(t, err, blast.ErrPHIField, body)
		p := problem(t, err, blast.ProblemPHIField)
		assert.Equal(t, "SMS", p.Field)
		assert.Len(t, p.Fields, 1)
	}
	d := emailDraft(carecast.Transactional, everyone.ID)
	d.Email.Subject = "About your {{diagnosis}}"
	require.ErrorIs(t, sendErr(t, h, d), blast.ErrPHIField)

	err := sendErr(t, h, smsDraft("Hi {{frist_name}}", carecast.Transactional, everyone.ID))
	require.ErrorIs(t, err, blast.ErrInvalid)
	assert.NotErrorIs(t, err, blast.ErrPHIField, "a misspelt field is not a PHI field")
	problem(t, err, blast.ProblemUnknownFields)
}

// compliance.md HI-01, tests 2 and 3: an ICD-10 code or a sensitive term is
// refused unless a privileged user approved the content, and the approval
// is audited; the default reminder passes within 160 characters.
func TestSensitiveContentNeedsApproval(t *testing.T) {
	h, everyone := setup(t, population(2, nil), nil)
	for _, body := range []string{"Follow-up for E11.9 on Tuesday", "Your HIV screening is due", "Chemotherapy schedule update", "Pick up your pregnancy test results"} {
		err := sendErr(t, h, smsDraft(body, carecast.Transactional, everyone.ID))
		require.ErrorIs(t, err, blast.ErrSensitiveContent, body)
		assert.Equal(t, "SMS.Body", problem(t, err, blast.ProblemSensitiveContent).Field)
	}
	d := emailDraft(carecast.Transactional, everyone.ID)
	d.Email.Body = "Our oncology wing opens Monday."
	assert.Equal(t, "Email.Body", problem(t, sendErr(t, h, d), blast.ProblemSensitiveContent).Field)
	assert.Zero(t, h.SMS.Calls()+h.Email.Calls())

	d = smsDraft("Your HIV screening is due", carecast.Transactional, everyone.ID)
	d.PHIApprovedBy = "dr-lee"
	b, sum := sendAndRun(t, h, d)
	assert.Equal(t, 2, sum.Sent, "approved content is sent")
	trail, err := h.Engine.AuditTrail(ctx, org, b.ID, 0, 100)
	require.NoError(t, err)
	var approved bool
	for _, a := range trail {
		if a.Action == "blast.phi_approved" {
			approved = true
			assert.Equal(t, "dr-lee", a.Actor)
			assert.Contains(t, a.Detail, "findings=1")
		}
	}
	assert.True(t, approved, "the approval is audited")

	reminder := "Bright Smile Dental: appt Tue 3/10 2:30pm. Reply C to confirm, R to reschedule. STOP to opt out"
	assert.LessOrEqual(t, len([]rune(reminder)), blast.ExemptMaxChars)
	_, sum = sendAndRun(t, h, smsDraft(reminder, carecast.Transactional, everyone.ID))
	assert.Equal(t, 2, sum.Sent, "the minimum-necessary reminder passes")
}

// exemptDraft is a healthcare-exempt reminder.
func exemptDraft(body, cohortID string) blast.Draft {
	d := smsDraft(body, carecast.Transactional, cohortID)
	d.HealthcareExempt = true
	return d
}

// compliance.md SM-02, tests 1 and 3, and the other content conditions.
func TestHealthcareExemptContent(t *testing.T) {
	h, everyone := setup(t, population(1, nil), nil)
	prefix := "{{organization_name}}: "
	long := exemptDraft(prefix+strings.Repeat("a", 161), everyone.ID)
	p := problem(t, sendErr(t, h, long), blast.ProblemExempt)
	assert.Equal(t, "SMS.Body", p.Field)
	assert.Contains(t, p.Message, "at most 160 characters")

	p = problem(t, sendErr(t, h, exemptDraft(prefix+"your balance due is ready to view.", everyone.ID)), blast.ProblemExempt)
	assert.Contains(t, p.Message, `"balance due" (billing)`)

	p = problem(t, sendErr(t, h, exemptDraft("Your appointment is tomorrow at 9am.", everyone.ID)), blast.ProblemExempt)
	assert.Contains(t, p.Message, "name the practice")

	off := false
	d := exemptDraft(prefix+"appt tomorrow 9am.", everyone.ID)
	d.SMS.OptOutLine = &off
	assert.Equal(t, "SMS.OptOutLine", problem(t, sendErr(t, h, d), blast.ProblemExempt).Field)

	d = exemptDraft(prefix+"appt tomorrow 9am.", everyone.ID)
	d.Purpose = carecast.Marketing
	problem(t, sendErr(t, h, d), blast.ProblemExempt)

	e := emailDraft(carecast.Transactional, everyone.ID)
	e.HealthcareExempt = true
	assert.Contains(t, problem(t, sendErr(t, h, e), blast.ProblemExempt).Message, "texts only")
	assert.Zero(t, h.SMS.Calls())

	_, sum := sendAndRun(t, h, exemptDraft("Sunrise Family Clinic: appt tomorrow 9am. Reply C to confirm.", everyone.ID))
	require.Equal(t, 1, sum.Sent, "the practice's name written out counts")
	got := h.SMS.SentTo(phone(0))
	require.Len(t, got, 1)
	assert.Contains(t, got[0].Body, "STOP", "the opt-out line is on by default")
}

// compliance.md SM-02, test 2: a 4th exempt message in a rolling 7 days
// (and a 2nd in a day) to the same number is held with
// ErrExemptFrequencyCap, never dropped.
func TestHealthcareExemptFrequency(t *testing.T) {
	h, everyone := setup(t, population(2, nil), nil)
	body := "{{organization_name}}: appt reminder. Reply C to confirm."
	for k := range 3 {
		_, sum := sendAndRun(t, h, exemptDraft(body, everyone.ID))
		require.Equal(t, 2, sum.Sent, "exempt text %d", k+1)
		if k < 2 {
			err := h.Engine.CheckExemptFrequency(ctx, org, phone(0))
			require.ErrorIs(t, err, blast.ErrExemptFrequencyCap, "one a day")
			var fe *blast.ExemptFrequencyError
			require.True(t, errors.As(err, &fe))
			assert.Equal(t, blast.ExemptFrequencyError{Day: 1, Week: k + 1}, *fe)
			assert.NotContains(t, err.Error(), phone(0)[2:])
		}
		h.Clock.Advance(24*time.Hour + time.Minute)
	}
	err := h.Engine.CheckExemptFrequency(ctx, org, phone(0))
	require.ErrorIs(t, err, blast.ErrExemptFrequencyCap, "three a week")

	start := h.Clock.Now()
	b, err := h.Engine.CreateDraft(ctx, org, exemptDraft(body, everyone.ID))
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.NoError(t, err)
	sum := h.Run(t, org, b.ID)
	assert.Equal(t, 2, sum.Sent, "held, never dropped")
	got := h.SMS.SentTo(phone(0))
	require.Len(t, got, 4)
	first := got[0].At
	assert.GreaterOrEqual(t, got[3].At.Sub(first), 7*24*time.Hour, "the 4th went once the first had left the week")
	assert.Greater(t, got[3].At, start)
}

// A recipient whose merge values push an exempt text over 160 characters
// fails with a stated reason; the others are sent.
func TestHealthcareExemptLongMergeValue(t *testing.T) {
	h, everyone := setup(t, population(2, func(i int, p *carecast.Patient) {
		if i == 1 {
			p.FirstName = strings.Repeat("N", 120)
		}
	}), nil)
	b, sum := sendAndRun(t, h, exemptDraft("{{organization_name}}: {{first_name}}, appt tomorrow 9am.", everyone.ID))
	assert.Equal(t, 1, sum.Sent)
	failed := allMessages(t, h, b.ID, blast.CardFailed, 10)
	require.Len(t, failed, 1)
	assert.Equal(t, "exempt_too_long", failed[0].Reason)
	assert.Empty(t, h.SMS.SentTo(phone(1)))
}

// The estimate of a PHI-bearing blast counts and prices the portal notices
// apart.
func TestPHIBlastEstimate(t *testing.T) {
	h, everyone := setup(t, population(5, func(i int, p *carecast.Patient) {
		p.Consent.SMSInsecureChannelAck = i < 2
		p.Consent.EmailInsecureChannelAck = i < 1
	}), &blasttest.Options{CoversPHI: true})
	d := phiSMS(everyone.ID)
	d.SMS.Body += strings.Repeat(" More details follow.", 10) // 2 segments
	b, err := h.Engine.CreateDraft(ctx, org, d)
	require.NoError(t, err)
	est, err := h.Engine.Estimate(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, 5, est.Recipients)
	assert.Equal(t, 3, est.PortalNotices)
	require.NotNil(t, est.PortalSMS)
	assert.Equal(t, 2, est.SMS.Recipients)
	assert.Equal(t, int64(4), est.SMS.Segments, "the message: 2 recipients × 2 segments")
	assert.Equal(t, int64(3), est.PortalSMS.Segments, "the notice: 3 recipients × 1 segment")
	assert.Equal(t, est.SMS.Cost+est.PortalSMS.Cost, est.Cost)

	e := emailDraft(carecast.Transactional, everyone.ID)
	e.PHI = true
	e.PortalEmail = &render.EmailContent{Subject: "New message", Format: render.FormatMarkdown, Body: "Log in to your portal."}
	b, err = h.Engine.CreateDraft(ctx, org, e)
	require.NoError(t, err)
	est, err = h.Engine.Estimate(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, 5, est.Recipients)
	assert.Equal(t, 4, est.PortalNotices)
}

// compliance.md HI-06: test 1, a sponsor-paid promotion cannot claim the
// own-services exception; test 2, authorized marketing skips patients
// without an authorization as no_hipaa_authorization.
func TestHIPAAMarketingBasis(t *testing.T) {
	h, everyone := setup(t, population(4, func(i int, p *carecast.Patient) {
		p.Consent.HIPAAMarketingAuthorization = i < 2
	}), nil)
	d := smsDraft("Try our partner's new whitening kit!", carecast.Marketing, everyone.ID)
	d.HIPAABasis, d.SponsorPaid = blast.BasisOwnServices, true
	p := problem(t, sendErr(t, h, d), blast.ProblemHIPAABasis)
	assert.Contains(t, p.Message, "authorized_marketing")
	d.HIPAABasis = ""
	problem(t, sendErr(t, h, d), blast.ProblemHIPAABasis) // marketing defaults to own services
	d.HIPAABasis = "because"
	_, err := h.Engine.CreateDraft(ctx, org, d)
	problem(t, err, blast.ProblemHIPAABasis) // an unknown basis is not even saved
	tx := smsDraft("Your visit is confirmed.", carecast.Transactional, everyone.ID)
	tx.HIPAABasis = blast.BasisAuthorizedMarketing
	problem(t, sendErr(t, h, tx), blast.ProblemHIPAABasis)
	assert.Zero(t, h.SMS.Calls())

	d.HIPAABasis = blast.BasisAuthorizedMarketing
	b, err := h.Engine.CreateDraft(ctx, org, d)
	require.NoError(t, err)
	pv, err := h.Engine.Preview(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, pv.WillSend)
	assert.Equal(t, 2, pv.Count(eligibility.NoAuthorization), "the preview shows who lacks an authorization")
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.NoError(t, err)
	sum := h.Run(t, org, b.ID)
	assert.Equal(t, 2, sum.Sent)
	assert.Len(t, h.SMS.SentTo(phone(0)), 1)
	assert.Empty(t, h.SMS.SentTo(phone(2)))
	skipped := allMessages(t, h, b.ID, blast.CardSkipped, 10)
	require.Len(t, skipped, 2)
	for _, m := range skipped {
		assert.Equal(t, "no_hipaa_authorization", m.Reason)
	}

	refill := smsDraft("Time to refill your prescription.", carecast.Marketing, everyone.ID)
	refill.HIPAABasis, refill.SponsorPaid = blast.BasisRefillReminder, true
	_, sum = sendAndRun(t, h, refill)
	assert.Equal(t, 4, sum.Sent, "a refill reminder paid at cost needs no authorization")
}

// compliance.md HI-02: a practice name that reveals a condition draws a
// warning; the configured neutral message name is what texts show.
func TestSenderNameRevealsCondition(t *testing.T) {
	orgv := carecast.Organization{Name: "Lakeside Fertility Center", TimeZone: "America/New_York"}
	h, everyone := setup(t, population(1, nil), &blasttest.Options{Organization: &orgv})
	reminder := "{{organization_name}}: appt Tue 3/10 2:30pm. Reply C to confirm."
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft(reminder, carecast.Transactional, everyone.ID))
	require.NoError(t, err)
	ws, err := h.Engine.Warnings(ctx, org, b.ID)
	require.NoError(t, err)
	require.Len(t, ws, 1)
	assert.Equal(t, blast.WarningSenderNameRevealsCondition, ws[0].Code)
	assert.Contains(t, ws[0].Message, `"Fertility"`)

	plain, err := h.Engine.CreateDraft(ctx, org, smsDraft("Your appointment is Tuesday at 2:30pm.", carecast.Transactional, everyone.ID))
	require.NoError(t, err)
	ws, err = h.Engine.Warnings(ctx, org, plain.ID)
	require.NoError(t, err)
	assert.Empty(t, ws, "content that does not show the name draws no warning")

	orgv.MessageName = "Lakeside Health"
	h2, everyone2 := setup(t, population(1, nil), &blasttest.Options{Organization: &orgv})
	d := smsDraft(reminder, carecast.Transactional, everyone2.ID)
	b2, sum := sendAndRun(t, h2, d)
	require.Equal(t, 1, sum.Sent)
	ws, err = h2.Engine.Warnings(ctx, org, b2.ID)
	require.NoError(t, err)
	assert.Empty(t, ws)
	body := h2.SMS.SentTo(phone(0))[0].Body
	assert.True(t, strings.HasPrefix(body, "Lakeside Health: appt"), body)
	assert.NotContains(t, body, "Fertility")
}

// compliance.md SM-01 test 1 through the engine: with RequirePEWC a
// marketing text skips patients without complete written consent for
// their current number as no_pewc; transactional texts are unaffected.
func TestRequirePEWC(t *testing.T) {
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	h, everyone := setup(t, population(3, func(i int, p *carecast.Patient) {
		switch i {
		case 0:
			p.Consent.SMSMarketingConsent = &carecast.ConsentEvidence{Phone: p.Phone, At: at, Source: "web_form", DisclosureVersion: "v3"}
		case 1:
			p.Consent.SMSMarketingOptIn = false // informational consent only
		case 2:
			p.Consent.SMSMarketingConsent = &carecast.ConsentEvidence{Phone: "+12125559999", At: at, Source: "paper", DisclosureVersion: "v3"}
		}
	}), &blasttest.Options{Config: func(c *blast.Config) { c.RequirePEWC = true }})
	d := smsDraft("Spring whitening special", carecast.Marketing, everyone.ID)
	b, err := h.Engine.CreateDraft(ctx, org, d)
	require.NoError(t, err)
	pv, err := h.Engine.Preview(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, pv.Count(eligibility.NoPEWC))
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.NoError(t, err)
	sum := h.Run(t, org, b.ID)
	assert.Equal(t, 1, sum.Sent)
	assert.Equal(t, 2, sum.SkippedBy["no_pewc"])
	blasttest.RequireSent(t, h.SMS, phone(0))

	_, sum = sendAndRun(t, h, smsDraft("Your appointment is tomorrow", carecast.Transactional, everyone.ID))
	assert.Equal(t, 3, sum.Sent, "informational texts need no written consent")
}

// compliance.md HI-07 through the engine: a patient's "no texts, email
// only" request skips them in an SMS blast (as confidential_request) and
// not in the email one; a number they asked never to be used is skipped.
func TestConfidentialCommunicationRequests(t *testing.T) {
	h, everyone := setup(t, population(3, func(i int, p *carecast.Patient) {
		switch i {
		case 0:
			p.Consent.ConfidentialChannels = []carecast.Channel{carecast.Email}
		case 1:
			p.Consent.DoNotContact = []string{p.Phone}
		}
	}), nil)
	_, sum := sendAndRun(t, h, smsDraft("Your appointment is tomorrow", carecast.Transactional, everyone.ID))
	assert.Equal(t, 1, sum.Sent)
	assert.Equal(t, 2, sum.SkippedBy["confidential_request"])
	blasttest.RequireNotSent(t, h.SMS, phone(0))
	blasttest.RequireNotSent(t, h.SMS, phone(1))
	_, sum = sendAndRun(t, h, emailDraft(carecast.Transactional, everyone.ID))
	assert.Equal(t, 3, sum.Sent, "the email version reaches all three")
}

// compliance.md EM-06 test 3: a "transactional" reminder whose subject
// advertises is commercial under CAN-SPAM: Send refuses it as
// mixed_commercial until it is sent as marketing, which applies the
// postal address, unsubscribe link and one-click headers.
func TestMixedCommercialEmail(t *testing.T) {
	h, everyone := setup(t, population(1, nil), nil)
	d := emailDraft(carecast.Transactional, everyone.ID)
	d.Email.Subject = "20% off whitening – your appointment tomorrow"
	p := problem(t, sendErr(t, h, d), blast.ProblemMixedCommercial)
	assert.Equal(t, "Email.Subject", p.Field)
	assert.Contains(t, p.Message, `"20% off" (advertising)`)
	assert.Zero(t, h.Email.Calls())

	d.Email.Subject = "Your appointment tomorrow"
	d.Email.PreviewText = "Don't miss our spring sale"
	assert.Equal(t, "Email.PreviewText", problem(t, sendErr(t, h, d), blast.ProblemMixedCommercial).Field)

	d.Email.PreviewText = "Your balance and appointment details" // billing is transactional
	_, sum := sendAndRun(t, h, d)
	assert.Equal(t, 1, sum.Sent)

	d.Purpose, d.Email.Subject = carecast.Marketing, "20% off whitening – your appointment tomorrow"
	h.Email.Reset()
	_, sum = sendAndRun(t, h, d)
	require.Equal(t, 1, sum.Sent)
	m := h.Email.SentTo(email(0))[0]
	assert.True(t, m.Marketing)
	assert.NotEmpty(t, m.ListUnsubscribeURL, "one-click applies")
	assert.Contains(t, m.Text, "1 Main St", "the postal address is in the footer")
}
