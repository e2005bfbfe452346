package blast_test

// One scenario per section of the product guide (blasts-user-guide.txt).

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasttest"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/eligibility"
	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/render"
	"github.com/carecast/carecast/store"
)

// Guide: "Send an SMS Blast › Start a New Blast" — blank name generates
// one; several cohorts are a union with each patient once.
func TestGuideStartNewBlast(t *testing.T) {
	ps := population(6, func(i int, p *carecast.Patient) {
		if i%2 == 0 {
			p.Tags = []string{"even"}
		}
		if i < 4 {
			p.Tags = append(p.Tags, "low")
		}
	})
	h := blasttest.NewEngine(t, nil)
	h.Patients.Put(org, ps...)
	even := h.Cohort(t, "Even", cohort.Where(cohort.ContainsAny("tags", "even")))
	low := h.Cohort(t, "Low", cohort.Where(cohort.ContainsAny("tags", "low")))

	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Hi {{first_name}}", "", even.ID, low.ID))
	require.NoError(t, err)
	assert.Equal(t, "SMS blast – Mar 10, 2026 12:00 PM", b.Name, "auto-named in the org's time zone")
	assert.Equal(t, blast.StatusDraft, b.Status)
	assert.Equal(t, carecast.Transactional, b.Purpose, "zero purpose is transactional")

	named, err := h.Engine.CreateDraft(ctx, org, blast.Draft{Name: "  Holiday hours ", Channel: carecast.Email})
	require.NoError(t, err)
	assert.Equal(t, "Holiday hours", named.Name)

	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.NoError(t, err)
	sum := h.Run(t, org, b.ID)
	// Even: 0,2,4; Low: 0,1,2,3 → union 0..4 = 5 patients, each once.
	assert.Equal(t, 5, sum.Total)
	assert.Equal(t, 5, sum.Sent)
	assert.Equal(t, 5, h.SMS.Count())
	blasttest.RequireSent(t, h.SMS, phone(0), phone(1), phone(2), phone(3), phone(4))
	blasttest.RequireNotSent(t, h.SMS, phone(5))
}

// Guide: "Compose Your Message" — merge fields personalise each text;
// images make it an MMS that costs more.
func TestGuideComposeSMS(t *testing.T) {
	h, everyone := setup(t, population(2, nil), &blasttest.Options{Config: func(c *blast.Config) {
		c.StatusCallbackURL = func(org, b string, row int64) string { return "https://hooks.clinic.example/twilio/" + org }
	}})
	_, sum := sendAndRun(t, h, smsDraft("Hi {{first_name}}, {{organization_name}} here.", carecast.Transactional, everyone.ID))
	ms := blasttest.RequireSent(t, h.SMS, phone(0), phone(1))
	assert.Equal(t, "Hi Pat0, Sunrise Family Clinic here.", ms[0].Body)
	assert.Equal(t, "Hi Pat1, Sunrise Family Clinic here.", ms[1].Body)
	assert.Equal(t, "1", ms[0].ID, "the ledger row ID is the idempotency key")
	assert.Equal(t, "https://hooks.clinic.example/twilio/"+org, ms[0].StatusCallback)
	pricing := render.DefaultPricing()
	assert.Equal(t, pricing.SMSSegment.Mul(2), sum.Cost)

	d := smsDraft("See our new office!", carecast.Transactional, everyone.ID)
	d.SMS.Images = []render.Image{{Filename: "office.png", Data: pngBytes, URL: "https://cdn.clinic.example/office.png"}}
	h.SMS.Reset()
	_, sum = sendAndRun(t, h, d)
	assert.Equal(t, pricing.MMSMessage.Mul(2), sum.Cost)
	assert.Equal(t, []string{"https://cdn.clinic.example/office.png"}, h.SMS.Sent()[0].MediaURLs)
}

var pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\x00\x01\x00\x00\x05\x00\x01\r\n-\xb4\x00\x00\x00\x00IEND\xaeB`\x82")

// Guide: "Mark as Marketing" and "Review the Send Preview".
func TestGuideMarketingAndPreview(t *testing.T) {
	ps := population(7, func(i int, p *carecast.Patient) {
		switch i {
		case 1:
			p.Consent.SMSOptedOut = true
		case 2:
			p.Phone = ""
		case 3:
			p.PhoneLineType = carecast.LineLandline
		case 4:
			p.Consent.SMSMarketingOptIn = false
		case 5:
			p.Consent.SMSBlocked = true
		}
	})
	h, everyone := setup(t, ps, nil)
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Spring sale!", carecast.Marketing, everyone.ID))
	require.NoError(t, err)
	pv, err := h.Engine.Preview(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, 7, pv.Total)
	assert.Equal(t, 2, pv.WillSend)
	assert.Equal(t, 1, pv.Count(eligibility.OptedOut))
	assert.Equal(t, 1, pv.Count(eligibility.NoContact))
	assert.Equal(t, 1, pv.Count(eligibility.Landline))
	assert.Equal(t, 1, pv.Count(eligibility.NotOptedIn))

	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.NoError(t, err)
	sum := h.Run(t, org, b.ID)
	assert.Equal(t, 7, sum.Total)
	assert.Equal(t, 2, cardCount(sum, blast.CardSent))
	assert.Equal(t, 3, cardCount(sum, blast.CardSkipped), "no phone, landline, not opted in")
	assert.Equal(t, 1, cardCount(sum, blast.CardOptedOut))
	assert.Equal(t, 1, cardCount(sum, blast.CardBlocked))
	blasttest.RequireSent(t, h.SMS, phone(0), phone(6))

	// The same audience, transactional: opt-in is not required.
	tr, sum2 := sendAndRun(t, h, smsDraft("Reminder", carecast.Transactional, everyone.ID))
	assert.Equal(t, 3, sum2.Sent, "patients 0, 4, 6")
	_ = tr
}

// Guide: "Test Your Message" — a test is sent to staff and never counted.
func TestGuideSendTest(t *testing.T) {
	h, everyone := setup(t, population(3, nil), nil)
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Hi {{first_name|there}}", carecast.Transactional, everyone.ID))
	require.NoError(t, err)
	res, err := h.Engine.SendTest(ctx, org, b.ID, blast.TestOpts{To: "(212) 555-9999"})
	require.NoError(t, err)
	assert.NotEmpty(t, res.ProviderMessageID)
	assert.Empty(t, res.PatientID, "the synthetic sample patient, never a real one by default")
	ms := blasttest.RequireSent(t, h.SMS, "+12125559999")
	assert.Equal(t, "Hi Sample", ms[0].Body)

	_, err = h.Engine.SendTest(ctx, org, b.ID, blast.TestOpts{To: "+12125559998", PatientID: "p00002", CanViewPatient: true})
	require.NoError(t, err)
	assert.Equal(t, "Hi Pat2", h.SMS.SentTo("+12125559998")[0].Body)

	sum, err := h.Engine.Summary(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Zero(t, sum.Total, "tests are never in the ledger")
	got, err := h.Engine.Get(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, blast.StatusDraft, got.Status)
}

// Guide: "Send an Email Blast" — subject, preview text, merge fields,
// marketing unsubscribe footer and headers, attachments; and its preview
// (Suppressed, Unsubscribed, No email, Not opted in).
func TestGuideEmailBlast(t *testing.T) {
	ps := population(6, func(i int, p *carecast.Patient) {
		switch i {
		case 1:
			p.Consent.EmailSuppressed = true
		case 2:
			p.Consent.EmailUnsubscribed = true
		case 3:
			p.Email = ""
		case 4:
			p.Consent.EmailMarketingOptIn = false
		}
	})
	h, everyone := setup(t, ps, nil)
	d := emailDraft(carecast.Marketing, everyone.ID)
	d.Email.PreviewText = "Hours are changing"
	d.Email.Attachments = []render.Attachment{{Filename: "hours.pdf", Data: []byte("%PDF-1.4 hours")}}
	b, err := h.Engine.CreateDraft(ctx, org, d)
	require.NoError(t, err)
	got, err := h.Engine.Get(ctx, org, b.ID)
	require.NoError(t, err)
	require.Len(t, got.Email.Attachments, 1, "attachments survive the store")

	pv, err := h.Engine.Preview(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, pv.WillSend)
	assert.Equal(t, 1, pv.Count(eligibility.Suppressed))
	assert.Equal(t, 1, pv.Count(eligibility.Unsubscribed))
	assert.Equal(t, 1, pv.Count(eligibility.NoContact))
	assert.Equal(t, 1, pv.Count(eligibility.NotOptedIn))

	// "Preview and Test": a test email to staff, never counted.
	res, err := h.Engine.SendTest(ctx, org, b.ID, blast.TestOpts{To: "staff@clinic.example"})
	require.NoError(t, err)
	assert.NotEmpty(t, res.ProviderMessageID)
	test := blasttest.RequireSent(t, h.Email, "staff@clinic.example")[0]
	assert.Equal(t, "[Test] News for Sample", test.Subject)
	require.Len(t, test.Attachments, 1)
	// Exactly as a recipient gets it: the marketing footer's unsubscribe
	// link and the one-click header, for row 0 (which unsubscribes no one).
	assert.True(t, test.Marketing)
	assert.Equal(t, "https://t.clinic.example/u/"+b.ID+"/0", test.ListUnsubscribeURL)
	assert.Contains(t, test.HTML, `href="`+test.ListUnsubscribeURL+`"`)
	assert.NotContains(t, test.HTML, `href=""`)

	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.NoError(t, err)
	sum := h.Run(t, org, b.ID)
	assert.Equal(t, 6, sum.Total)
	assert.Equal(t, 2, cardCount(sum, blast.CardSent))
	assert.Equal(t, 4, cardCount(sum, blast.CardSkipped))
	ms := blasttest.RequireSent(t, h.Email, email(0), email(5))
	assert.Equal(t, "News for Pat0", ms[0].Subject)
	assert.True(t, ms[0].Marketing)
	assert.True(t, strings.HasPrefix(ms[0].ListUnsubscribeURL, "https://t.clinic.example/u/"+b.ID+"/"))
	assert.Contains(t, ms[0].HTML, ms[0].ListUnsubscribeURL, "footer link")
	assert.Contains(t, ms[0].Text, "Pat0")
	require.Len(t, ms[0].Attachments, 1)
	assert.Equal(t, render.DefaultPricing().EmailRecipient.Mul(2), sum.Cost)
}

// Guide: validation at send — no cohorts, empty body, unknown merge
// fields, attachments, and the "domain error".
func TestGuideValidation(t *testing.T) {
	h, everyone := setup(t, population(1, nil), nil)
	tooMany := make([]render.Image, 4)
	for i := range tooMany {
		tooMany[i] = render.Image{Filename: "a.png", Data: pngBytes, URL: "https://cdn.example/a.png"}
	}
	tests := []struct {
		name  string
		draft blast.Draft
		setup func()
		want  blast.ProblemCode
		// atSave: no draft may hold it, so CreateDraft refuses it
		// with the problem Send would report.
		atSave bool
	}{
		{"no cohorts", smsDraft("Hi", "", []string{}...), nil, blast.ProblemNoCohorts, false},
		{"deleted cohort", smsDraft("Hi", "", "nope"), nil, blast.ProblemUnknownCohort, false},
		{"empty body", smsDraft("  ", "", everyone.ID), nil, blast.ProblemEmptyBody, false},
		{"unknown merge field", smsDraft("Hi {{frist_name}}", "", everyone.ID), nil, blast.ProblemUnknownFields, false},
		{"too many images", blast.Draft{Channel: carecast.SMS, CohortIDs: []string{everyone.ID}, SMS: &render.SMSContent{Body: "x", Images: tooMany}}, nil, blast.ProblemAttachments, true},
		{"empty subject", blast.Draft{Channel: carecast.Email, CohortIDs: []string{everyone.ID}, From: "a@b.example", Email: &render.EmailContent{Body: "x", Format: render.FormatMarkdown}}, nil, blast.ProblemEmptyBody, false},
		{"marketing domain not verified", emailDraft(carecast.Marketing, everyone.ID), func() { h.Domains.Unverify(org, carecast.Marketing) }, blast.ProblemDomain, false},
		{"no channel", blast.Draft{CohortIDs: []string{everyone.ID}}, nil, blast.ProblemChannel, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			b, err := h.Engine.CreateDraft(ctx, org, tt.draft)
			var ve *blast.ValidationError
			if tt.atSave {
				require.True(t, errors.As(err, &ve), "refused at save: %v", err)
				assert.Equal(t, blast.OpSave, ve.Op)
				assert.True(t, ve.Has(tt.want), "problems: %v", ve.Problems)
				return
			}
			require.NoError(t, err, "drafts may be incomplete")
			_, err = h.Engine.Send(ctx, org, b.ID, nil)
			require.ErrorIs(t, err, blast.ErrInvalid)
			require.True(t, errors.As(err, &ve))
			assert.True(t, ve.Has(tt.want), "problems: %v", ve.Problems)
			got, err := h.Engine.Get(ctx, org, b.ID)
			require.NoError(t, err)
			assert.Equal(t, blast.StatusDraft, got.Status, "a rejected send leaves the draft")
		})
	}
	// The transactional domain is verified: a transactional email sends.
	b, err := h.Engine.CreateDraft(ctx, org, emailDraft(carecast.Transactional, everyone.ID))
	require.NoError(t, err)
	require.NoError(t, h.Engine.Validate(ctx, org, b.ID))
}

// Guide FAQ: "What happens if I send the same blast twice?" and updates
// after sending.
func TestGuideSendTwice(t *testing.T) {
	h, everyone := setup(t, population(2, nil), nil)
	b, _ := sendAndRun(t, h, smsDraft("Hi", "", everyone.ID))
	_, err := h.Engine.Send(ctx, org, b.ID, nil)
	assert.ErrorIs(t, err, blast.ErrAlreadySent)
	_, err = h.Engine.UpdateDraft(ctx, org, b.ID, smsDraft("changed", "", everyone.ID))
	assert.ErrorIs(t, err, blast.ErrAlreadySent)
	assert.Equal(t, 2, h.SMS.Count())
}

// Guide: "Viewing Blast Results" — the message list filtered by card,
// keyset-paginated; the low-delivery alert.
func TestGuideResultsAndLowDelivery(t *testing.T) {
	ps := population(20, func(i int, p *carecast.Patient) {
		if i == 19 {
			p.Phone = ""
		}
	})
	h, everyone := setup(t, ps, &blasttest.Options{Config: func(c *blast.Config) { c.MaxAttempts = 1 }})
	for i := range 3 {
		h.SMS.FailTo(phone(i), fakePermanent())
	}
	b, sum := sendAndRun(t, h, smsDraft("Hi", "", everyone.ID))
	assert.Equal(t, 20, sum.Total)
	assert.Equal(t, 16, sum.Sent)
	assert.Equal(t, 3, sum.Failed)
	assert.Equal(t, 1, sum.Skipped)
	require.NotNil(t, sum.LowDelivery, "16/19 < 90%")
	assert.Equal(t, 19, sum.LowDelivery.Attempted, "skipped rows are not attempted")
	assert.InDelta(t, 16.0/19, sum.LowDelivery.Rate, 1e-9)
	assert.Equal(t, 1.0, sum.Progress)

	all := allMessages(t, h, b.ID, blast.CardTotal, 3)
	assert.Len(t, all, 20)
	for i := 1; i < len(all); i++ {
		assert.Greater(t, all[i].ID, all[i-1].ID, "keyset order")
	}
	failed := allMessages(t, h, b.ID, blast.CardFailed, 2)
	require.Len(t, failed, 3)
	assert.Equal(t, "permanent", failed[0].Reason)
	assert.Equal(t, 1, failed[0].Attempts)
	sent := allMessages(t, h, b.ID, blast.CardSent, 7)
	assert.Len(t, sent, 16)
	assert.Equal(t, blasttest.Epoch, sent[0].At)
	skipped := allMessages(t, h, b.ID, blast.CardSkipped, 50)
	require.Len(t, skipped, 1)
	assert.Equal(t, "p00019", skipped[0].PatientID)
	_, err := h.Engine.Messages(ctx, org, b.ID, &blast.MessagesOpts{Card: "bogus"})
	assert.Error(t, err)

	// Above 90% there is no alert.
	h.SMS.Reset()
	_, sum = sendAndRun(t, h, smsDraft("Hi again", "", everyone.ID))
	assert.Nil(t, sum.LowDelivery)
}

func fakePermanent() error {
	return &provider.Error{Class: provider.Permanent, Code: "21211", Message: "invalid number"}
}

// Guide: "Retry Failed Messages" — only failed rows are resent.
func TestGuideRetryFailed(t *testing.T) {
	h, everyone := setup(t, population(5, nil), &blasttest.Options{Config: func(c *blast.Config) { c.MaxAttempts = 1 }})
	h.SMS.FailTo(phone(1), fakePermanent())
	h.SMS.FailTo(phone(3), fakePermanent())
	b, sum := sendAndRun(t, h, smsDraft("Hi", "", everyone.ID))
	assert.Equal(t, 3, sum.Sent)
	assert.Equal(t, 2, sum.Failed)

	n, err := h.Engine.RetryFailed(ctx, org, b.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	sum = h.Run(t, org, b.ID)
	assert.Equal(t, 5, sum.Sent)
	assert.Zero(t, sum.Failed)
	for i := range 5 {
		assert.Len(t, h.SMS.SentTo(phone(i)), 1, "patient %d texted once", i)
	}
	blasttest.RequireNoDuplicates(t, h.SMS)
	n, err = h.Engine.RetryFailed(ctx, org, b.ID, nil)
	require.NoError(t, err)
	assert.Zero(t, n)
	h.Run(t, org, b.ID)

	draft, err := h.Engine.CreateDraft(ctx, org, smsDraft("x", "", everyone.ID))
	require.NoError(t, err)
	_, err = h.Engine.RetryFailed(ctx, org, draft.ID, nil)
	assert.ErrorIs(t, err, blast.ErrNotSent)
}

// Guide: "Add More Recipients" — search, "Send to N patient(s)", rows only
// for patients not already in the blast.
func TestGuideAddRecipients(t *testing.T) {
	ps := population(6, func(i int, p *carecast.Patient) {
		if i < 3 {
			p.Tags = []string{"first"}
		}
	})
	h := blasttest.NewEngine(t, nil)
	h.Patients.Put(org, ps...)
	first := h.Cohort(t, "First three", cohort.Where(cohort.ContainsAny("tags", "first")))
	b, sum := sendAndRun(t, h, smsDraft("Hi {{first_name}}", "", first.ID))
	require.Equal(t, 3, sum.Sent)

	found, err := h.Engine.SearchPatients(ctx, org, b.ID, "Pat", 10)
	require.NoError(t, err)
	require.Len(t, found, 6)
	assert.True(t, found[0].InBlast)
	assert.False(t, found[5].InBlast)

	ids := []string{"p00001", "p00003", "p00004", "p00004", "nobody"}
	n, err := h.Engine.NewRecipients(ctx, org, b.ID, ids)
	require.NoError(t, err)
	assert.Equal(t, 2, n.WillSend)
	assert.Equal(t, "Send to 2 patients", blast.SendLabel(n.WillSend))
	assert.Equal(t, "Send to 1 patient", blast.SendLabel(1))

	added, err := h.Engine.AddRecipients(ctx, org, b.ID, ids, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, added)
	sum = h.Run(t, org, b.ID)
	assert.Equal(t, 5, sum.Total)
	assert.Equal(t, 5, sum.Sent)
	assert.Len(t, h.SMS.SentTo(phone(1)), 1, "never re-sent to a patient already in the blast")
	blasttest.RequireSent(t, h.SMS, phone(3), phone(4))
	blasttest.RequireNotSent(t, h.SMS, phone(5))
}

// Guide: "Duplicate a Blast".
func TestGuideDuplicate(t *testing.T) {
	h, everyone := setup(t, population(2, nil), nil)
	d := smsDraft("Hi {{first_name}}", carecast.Marketing, everyone.ID)
	d.Name = "Spring"
	d.From = "+12125550000"
	b, _ := sendAndRun(t, h, d)
	dup, err := h.Engine.Duplicate(ctx, org, b.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, "Spring (copy)", dup.Name)
	assert.Equal(t, blast.StatusDraft, dup.Status)
	assert.Equal(t, b.ID, dup.DuplicatedFrom)
	assert.Equal(t, []string{everyone.ID}, dup.CohortIDs)
	assert.Equal(t, carecast.Marketing, dup.Purpose)
	assert.Equal(t, "Hi {{first_name}}", dup.SMS.Body)
	assert.Equal(t, "+12125550000", dup.From)
	sum, err := h.Engine.Summary(ctx, org, dup.ID)
	require.NoError(t, err)
	assert.Zero(t, sum.Total, "no recipients or results")
	_, sum = sendAndRun(t, h, dup.Draft)
	assert.Equal(t, 2, sum.Sent, "the copy sends again to the same audience")
}

// Guide: "Engagement Chart", "How long are email opens and clicks
// tracked?" and the Opened/Clicked cards.
func TestGuideEngagement(t *testing.T) {
	h, everyone := setup(t, population(4, nil), nil)
	b, sum := sendAndRun(t, h, emailDraft(carecast.Transactional, everyone.ID))
	require.Equal(t, 4, sum.Sent)
	rows := allMessages(t, h, b.ID, blast.CardSent, 10)
	t0 := blasttest.Epoch
	require.NoError(t, h.Engine.RecordOpen(ctx, org, rows[0].ID, "o1", t0.Add(30*time.Minute)))
	require.NoError(t, h.Engine.RecordOpen(ctx, org, rows[0].ID, "o1", t0.Add(30*time.Minute)), "replay")
	require.NoError(t, h.Engine.RecordOpen(ctx, org, rows[0].ID, "o2", t0.Add(5*time.Hour)))
	require.NoError(t, h.Engine.RecordOpen(ctx, org, rows[1].ID, "o3", t0.Add(2*time.Hour+time.Minute)))
	require.NoError(t, h.Engine.RecordClick(ctx, org, rows[1].ID, "c1", t0.Add(2*time.Hour+2*time.Minute)))
	require.NoError(t, h.Engine.RecordOpen(ctx, org, rows[2].ID, "o4", t0.Add(80*time.Hour)), "after the window")

	sum, err := h.Engine.Summary(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, 3, cardCount(sum, blast.CardOpened))
	assert.Equal(t, 1, cardCount(sum, blast.CardClicked))
	assert.InDelta(t, 0.75, sum.OpenRate, 1e-9)
	assert.InDelta(t, 0.25, sum.ClickRate, 1e-9)

	s, err := h.Engine.Engagement(ctx, org, b.ID, time.Hour)
	require.NoError(t, err)
	require.Len(t, s.Opens, 72)
	assert.Equal(t, 1, s.Opens[0])
	assert.Equal(t, 1, s.Opens[1])
	assert.Equal(t, 2, s.Opens[2])
	assert.Equal(t, 2, s.Opens[71], "the open after 72 h is not charted")
	assert.Equal(t, 0, s.Clicks[1])
	assert.Equal(t, 1, s.Clicks[2])

	opened := allMessages(t, h, b.ID, blast.CardOpened, 10)
	require.Len(t, opened, 3)
	assert.Equal(t, 2, opened[0].Opens)
}

// Guide: "Unsubscribe Behavior" — the link unsubscribes the patient, and
// future marketing blasts skip them; transactional email still goes.
func TestGuideUnsubscribe(t *testing.T) {
	h, everyone := setup(t, population(2, nil), nil)
	b, _ := sendAndRun(t, h, emailDraft(carecast.Marketing, everyone.ID))
	rows := allMessages(t, h, b.ID, blast.CardSent, 10)
	require.NoError(t, h.Engine.Unsubscribe(ctx, org, rows[0].ID))
	require.NoError(t, h.Engine.Unsubscribe(ctx, org, rows[0].ID), "idempotent")
	ps, err := h.Patients.PatientsByID(ctx, org, []string{rows[0].PatientID})
	require.NoError(t, err)
	assert.True(t, ps[0].Consent.EmailUnsubscribed)

	h.Email.Reset()
	_, sum := sendAndRun(t, h, emailDraft(carecast.Marketing, everyone.ID))
	assert.Equal(t, 1, sum.Sent)
	assert.Equal(t, 1, sum.SkippedBy[eligibility.Unsubscribed.String()])
	h.Email.Reset()
	_, sum = sendAndRun(t, h, emailDraft(carecast.Transactional, everyone.ID))
	assert.Equal(t, 2, sum.Sent, "a newsletter unsubscribe does not block reminders (J-02)")
}

// Guide: "Cost Estimates".
func TestGuideEstimate(t *testing.T) {
	ps := population(3, func(i int, p *carecast.Patient) {
		if i == 2 {
			p.Phone = ""
		}
	})
	h, everyone := setup(t, ps, nil)
	long := strings.Repeat("a", 200) // two GSM-7 segments
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft(long, "", everyone.ID))
	require.NoError(t, err)
	est, err := h.Engine.Estimate(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, est.Recipients)
	assert.Equal(t, render.DefaultPricing().SMSSegment.Mul(4), est.Cost)

	be, err := h.Engine.CreateDraft(ctx, org, emailDraft(carecast.Transactional, everyone.ID))
	require.NoError(t, err)
	est, err = h.Engine.Estimate(ctx, org, be.ID)
	require.NoError(t, err)
	assert.Equal(t, 3, est.Recipients)
	assert.Equal(t, render.DefaultPricing().EmailRecipient.Mul(3), est.Cost)

	_, sum := sendAndRun(t, h, smsDraft(long, "", everyone.ID))
	assert.Equal(t, render.DefaultPricing().SMSSegment.Mul(4), sum.Cost, "the recorded cost matches the estimate")
	assert.Equal(t, int64(4), sum.Segments)
}

// Guide: "Analytics Dashboard".
func TestGuideAnalytics(t *testing.T) {
	h, everyone := setup(t, population(4, nil), nil)
	sms, _ := sendAndRun(t, h, smsDraft("Hi", "", everyone.ID))
	h.Clock.Advance(24 * time.Hour)
	em, _ := sendAndRun(t, h, emailDraft(carecast.Transactional, everyone.ID))
	rows := allMessages(t, h, em.ID, blast.CardSent, 10)
	require.NoError(t, h.Engine.RecordOpen(ctx, org, rows[0].ID, "o", time.Time{}))
	require.NoError(t, h.Engine.RecordClick(ctx, org, rows[0].ID, "c", time.Time{}))
	_, err := h.Engine.HandleEvent(ctx, provider.Event{ID: "in1", OrgID: org, Kind: provider.EventInbound, From: phone(2), Body: "Thanks!", At: h.Clock.Now()})
	require.NoError(t, err)
	_ = sms

	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	a, err := h.Engine.Analytics(ctx, org, blast.AnalyticsOpts{From: day, To: day.Add(3 * 24 * time.Hour)})
	require.NoError(t, err)
	require.Len(t, a.Points, 3)
	assert.Equal(t, 4, a.Points[0].SMSSent)
	assert.Equal(t, 0, a.Points[0].EmailSent)
	assert.Equal(t, 4, a.Points[1].EmailSent)
	assert.InDelta(t, 0.25, a.Points[1].EmailOpenRate, 1e-9)
	assert.InDelta(t, 0.25, a.Points[1].EmailClickRate, 1e-9)
	assert.InDelta(t, 0.25, a.Points[0].SMSReplyRate, 1e-9)
	p := render.DefaultPricing()
	assert.Equal(t, p.SMSSegment.Mul(4), a.Points[0].Spend)
	assert.Equal(t, p.SMSSegment.Mul(4)+p.EmailRecipient.Mul(4), a.Total.Spend)
	assert.Zero(t, a.Points[2].SMSSent+a.Points[2].EmailSent)
}

// Guide FAQ: "Can I schedule a blast for later?" (the engine can) and
// cancelling.
func TestScheduleAndCancel(t *testing.T) {
	h, everyone := setup(t, population(3, nil), nil)
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Later", "", everyone.ID))
	require.NoError(t, err)
	at := blasttest.Epoch.Add(2 * time.Hour)
	sb, err := h.Engine.Send(ctx, org, b.ID, &blast.SendOpts{At: at})
	require.NoError(t, err)
	assert.Equal(t, blast.StatusScheduled, sb.Status)
	assert.Equal(t, at, sb.ScheduledAt)
	// Patients added before the schedule fires are in the audience.
	h.Patients.Put(org, patient(3))
	sum := h.Run(t, org, b.ID)
	assert.Equal(t, 4, sum.Sent)
	for _, m := range h.SMS.Sent() {
		assert.False(t, m.At.Before(at), "nothing sent before the scheduled time")
	}

	// Cancel a scheduled blast: nothing is sent.
	h.SMS.Reset()
	b2, err := h.Engine.CreateDraft(ctx, org, smsDraft("Never", "", everyone.ID))
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, org, b2.ID, &blast.SendOpts{At: h.Clock.Now().Add(time.Hour)})
	require.NoError(t, err)
	_, err = h.Engine.Cancel(ctx, org, b2.ID)
	require.NoError(t, err)
	h.Clock.Advance(2 * time.Hour)
	sum = h.Run(t, org, b2.ID)
	assert.Equal(t, blast.StatusCancelled, sum.Status)
	assert.Zero(t, h.SMS.Count())
	_, err = h.Engine.Cancel(ctx, org, b2.ID)
	assert.ErrorIs(t, err, blast.ErrCancelled)

	// Cancelling a completed blast is refused.
	_, err = h.Engine.Cancel(ctx, org, b.ID)
	assert.ErrorIs(t, err, blast.ErrNotCancellable)
}

// Cancel while sending: queued rows become cancelled, sent rows stay.
func TestCancelWhileSending(t *testing.T) {
	h, everyone := setup(t, population(40, nil), &blasttest.Options{Config: func(c *blast.Config) {
		c.SMSRate, c.SMSBurst = 10, 1 // batches of 10 rows, a text every 100 ms
		c.Workers = 1
	}})
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Hi", "", everyone.ID))
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.NoError(t, err)
	h.RunUntil(t, func() bool { return h.SMS.Count() >= 3 }, func() blast.Summary { return blast.Summary{} })
	n, err := h.Engine.Cancel(ctx, org, b.ID)
	require.NoError(t, err)
	sum := h.Run(t, org, b.ID)
	assert.Equal(t, blast.StatusCancelled, sum.Status)
	assert.Equal(t, 40, sum.Total)
	assert.Equal(t, h.SMS.Count(), sum.Sent, "sent rows stay sent")
	assert.Equal(t, 40, sum.Sent+sum.Cancelled, "nothing left pending")
	assert.LessOrEqual(t, sum.Sent, 4, "the worker stopped mid-batch")
	assert.Equal(t, n, sum.Cancelled, "Cancel counts the rows the worker handed back")
}

// Cancel returns the number of rows it cancelled: the queued ones and
// those the workers held (claimed, unsent) and handed back. It equals the
// summary's Cancelled as Cancel returns, and stays so.
func TestCancelCountsWhatItCancelled(t *testing.T) {
	for _, workers := range []int{1, 2, 4} {
		t.Run(strconv.Itoa(workers), func(t *testing.T) {
			const total = 100
			h, everyone := setup(t, population(total, nil), &blasttest.Options{Config: func(c *blast.Config) {
				c.SMSRate, c.SMSBurst = 20, 1 // batches of 20/workers rows, a text every 50 ms
				c.Workers = workers
			}})
			b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Hi", "", everyone.ID))
			require.NoError(t, err)
			_, err = h.Engine.Send(ctx, org, b.ID, nil)
			require.NoError(t, err)
			h.RunUntil(t, func() bool { return h.SMS.Count() >= 7 }, func() blast.Summary { return blast.Summary{} })
			n, err := h.Engine.Cancel(ctx, org, b.ID)
			require.NoError(t, err)
			now, err := h.Engine.Summary(ctx, org, b.ID)
			require.NoError(t, err)
			assert.Equal(t, n, now.Cancelled, "Cancel's count is the summary's")
			assert.Zero(t, now.Pending, "nothing of this engine's is left claimed")
			assert.Equal(t, total, now.Sent+now.Cancelled)

			sum := h.Run(t, org, b.ID)
			assert.Equal(t, n, sum.Cancelled, "and stays so")
			assert.Equal(t, h.SMS.Count(), sum.Sent)
			blasttest.RequireNoDuplicates(t, h.SMS)
		})
	}
}

// Quiet hours (compliance.md TM-01): marketing texts outside 08:00–21:00
// in the patient's zone are deferred, never dropped; transactional texts
// are not held.
func TestQuietHours(t *testing.T) {
	ps := population(3, func(i int, p *carecast.Patient) {
		switch i {
		case 1:
			p.TimeZone = "Pacific/Honolulu" // 06:00 at Epoch
		case 2:
			p.TimeZone = "" // falls back to the org's New York
		}
	})
	h, everyone := setup(t, ps, nil)
	b, sum := sendAndRun(t, h, smsDraft("Sale", carecast.Marketing, everyone.ID))
	assert.Equal(t, 3, sum.Sent)
	hon, _ := time.LoadLocation("Pacific/Honolulu")
	m := blasttest.RequireSent(t, h.SMS, phone(1))[0]
	assert.Equal(t, time.Date(2026, 3, 10, 8, 0, 0, 0, hon), m.At.In(hon), "deferred to 08:00 local")
	assert.Equal(t, blasttest.Epoch, h.SMS.SentTo(phone(0))[0].At)
	assert.Equal(t, blasttest.Epoch, h.SMS.SentTo(phone(2))[0].At)
	msgs := allMessages(t, h, b.ID, blast.CardSent, 10)
	assert.Equal(t, 0, msgs[1].Attempts-1, "a deferral is not an attempt")

	h.SMS.Reset()
	_, sum = sendAndRun(t, h, smsDraft("Appointment tomorrow", carecast.Transactional, everyone.ID))
	assert.Equal(t, 3, sum.Sent)
	assert.Equal(t, h.Clock.Now(), h.SMS.SentTo(phone(1))[0].At, "transactional is not held")
}

// Statuses and skip reasons stay consistent with the store's row model.
func TestSummaryPartitionsTotal(t *testing.T) {
	h, everyone := setup(t, population(30, func(i int, p *carecast.Patient) {
		if i%7 == 0 {
			p.Consent.SMSOptedOut = true
		}
	}), &blasttest.Options{Config: func(c *blast.Config) { c.MaxAttempts = 2 }})
	h.SMS.Script(func(m *fakeMessage, attempt int) error {
		if m.To == phone(3) {
			return fakePermanent()
		}
		return nil
	})
	_, sum := sendAndRun(t, h, smsDraft("Hi", "", everyone.ID))
	assert.Equal(t, sum.Total, sum.Sent+sum.Failed+sum.Skipped+sum.OptedOut+sum.Blocked+sum.Pending+sum.Cancelled)
	assert.Equal(t, 5, sum.OptedOut)
	assert.Equal(t, 1, sum.Failed)
	_ = store.RowSent
}
