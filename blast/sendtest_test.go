package blast_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
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
	"github.com/carecast/carecast/provider/fake"
	"github.com/carecast/carecast/render"
	"github.com/carecast/carecast/store"
	"github.com/carecast/carecast/tracking"
)

// staffPhone is the number staff tests go to in these tests.
const staffPhone = "+15125550142"

// testEntries returns the blast's "blast.test" audit entries.
func testEntries(t *testing.T, h *blasttest.Harness, blastID string) []store.AuditEntry {
	t.Helper()
	var out []store.AuditEntry
	for _, e := range auditTrail(t, h.Engine, blastID) {
		if e.Action == "blast.test" {
			out = append(out, e)
		}
	}
	return out
}

// Every merge field of a test has an obviously sample value of the
// synthetic patient, never an audience patient's (issue 12 §2: a test
// renders for a synthetic sample patient by default).
func TestSendTestUsesSyntheticSamplePatient(t *testing.T) {
	h, everyone := setup(t, population(3, nil), nil)
	var body strings.Builder
	for _, f := range render.Fields() {
		body.WriteString(f.Key + "={{" + f.Key + "}};")
	}
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft(body.String(), carecast.Transactional, everyone.ID))
	require.NoError(t, err)
	res, err := h.Engine.SendTest(ctx, org, b.ID, blast.TestOpts{To: staffPhone})
	require.NoError(t, err)
	assert.Empty(t, res.PatientID)
	got := blasttest.RequireSent(t, h.SMS, staffPhone)[0].Body
	assert.Equal(t, "first_name=Sample;last_name=Patient;full_name=Sample Patient;preferred_name=Sample;"+
		"date_of_birth=January 1, 2000;birthday=January 1;phone=(202) 555-0100;email=sample.patient@example.com;"+
		"patient_id=SAMPLE-0000;organization_name=Sunrise Family Clinic;", got)
	for _, p := range population(3, nil) {
		assert.NotContains(t, got, p.FirstName)
		assert.NotContains(t, got, p.Phone[2:])
		assert.NotContains(t, got, p.Email)
	}
	// Every field the @ menu offers has a sample value, so a field added
	// later cannot silently render a real patient's or nothing.
	sample := blast.SamplePatient()
	for _, f := range render.Fields() {
		v, ok := render.FieldValue(f.Key, render.Data{Patient: &sample, Org: &carecast.Organization{Name: "X"}})
		assert.True(t, ok && v != "", "field %s has no sample value", f.Key)
	}
}

// A real patient personalises a test only for a caller the host says may
// see the record; the refusal does not tell whether the patient exists.
func TestSendTestRealPatientNeedsPermission(t *testing.T) {
	h, everyone := setup(t, population(3, nil), nil)
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Hi {{first_name}}", carecast.Transactional, everyone.ID))
	require.NoError(t, err)
	staff := blast.WithActor(ctx, "staff-3")
	for _, id := range []string{"p00001", "p-nobody"} {
		_, err = h.Engine.SendTest(staff, org, b.ID, blast.TestOpts{To: staffPhone, PatientID: id})
		var fe *blast.TestForbiddenError
		require.ErrorAs(t, err, &fe, id)
		require.ErrorIs(t, err, blast.ErrTestForbidden)
		assert.Equal(t, "PatientID", fe.Field)
		assert.NotContains(t, err.Error(), id)
	}
	assert.Zero(t, h.SMS.Calls(), "nothing sent")
	es := testEntries(t, h, b.ID)
	require.Len(t, es, 2, "both attempts audited")
	assert.Equal(t, "staff-3", es[0].Actor)
	assert.Equal(t, "p00001", es[0].PatientID, "the patient asked for")
	assert.Contains(t, es[0].Detail, "outcome=forbidden")
	assert.Empty(t, es[1].PatientID, "an ID that names no patient is not written")

	res, err := h.Engine.SendTest(ctx, org, b.ID, blast.TestOpts{To: staffPhone, PatientID: "p00001", CanViewPatient: true})
	require.NoError(t, err)
	assert.Equal(t, "p00001", res.PatientID)
	assert.Equal(t, "Hi Pat1", blasttest.RequireSent(t, h.SMS, staffPhone)[0].Body)
	_, err = h.Engine.SendTest(ctx, org, b.ID, blast.TestOpts{To: staffPhone, PatientID: "p-nobody", CanViewPatient: true})
	require.ErrorIs(t, err, blast.ErrNotFound)
}

// Issue 12 §2, first bullet: the test of a PHI-bearing blast for a real
// patient gives what the real send gives that patient: the portal notice
// without the channel's acknowledgement (compliance.md HI-08), the
// content with it; the synthetic patient shows the content, or the notice
// on request. Every test is audited with the masked destination, never
// the body.
func TestSendTestPHIBlastFollowsPortalRule(t *testing.T) {
	h, everyone := setup(t, population(3, func(i int, p *carecast.Patient) {
		p.Consent.SMSInsecureChannelAck = i == 2
	}), &blasttest.Options{CoversPHI: true})
	b, err := h.Engine.CreateDraft(ctx, org, phiSMS(everyone.ID))
	require.NoError(t, err)
	staff := blast.WithActor(ctx, "staff-9")
	for _, tt := range []struct {
		name    string
		opts    blast.TestOpts
		content bool
		entry   string
	}{
		{"patient without ack", blast.TestOpts{PatientID: "p00001", CanViewPatient: true}, false, "sample=patient portal=true outcome=sent"},
		{"patient with ack", blast.TestOpts{PatientID: "p00002", CanViewPatient: true}, true, "sample=patient portal=false outcome=sent"},
		{"synthetic", blast.TestOpts{}, true, "sample=synthetic portal=false outcome=sent"},
		{"synthetic, portal notice asked", blast.TestOpts{PortalNotice: true}, false, "sample=synthetic portal=true outcome=sent"},
	} {
		h.SMS.Reset()
		tt.opts.To = "(512) 555-0142"
		res, err := h.Engine.SendTest(staff, org, b.ID, tt.opts)
		require.NoError(t, err, tt.name)
		assert.Equal(t, !tt.content, res.PortalNotice, tt.name)
		got := blasttest.RequireSent(t, h.SMS, staffPhone)[0].Body
		if tt.content {
			assert.Contains(t, got, "A1C result", tt.name)
		} else {
			assert.NotContains(t, got, "A1C", "%s: no PHI", tt.name)
			assert.Contains(t, got, "in your patient portal", tt.name)
		}
		es := testEntries(t, h, b.ID)
		require.NotEmpty(t, es, "%s: audited", tt.name)
		e := es[len(es)-1]
		assert.Equal(t, "staff-9", e.Actor, tt.name)
		assert.Equal(t, b.ID, e.BlastID, tt.name)
		assert.Equal(t, tt.opts.PatientID, e.PatientID, tt.name)
		assert.Equal(t, "channel=sms to=+1512•••0142 "+tt.entry, e.Detail, tt.name)
	}
	for _, e := range auditTrail(t, h.Engine, "") {
		assert.NotContains(t, e.Detail, "A1C", "never the body")
		assert.NotContains(t, e.Detail, "5550142", "never the full number")
	}
	// A user who may not see the patient gets nothing, PHI or portal.
	h.SMS.Reset()
	_, err = h.Engine.SendTest(ctx, org, b.ID, blast.TestOpts{To: staffPhone, PatientID: "p00002"})
	require.ErrorIs(t, err, blast.ErrTestForbidden)
	assert.Zero(t, h.SMS.Calls())
}

// The rule for sensitive content (compliance.md HI-01): a test goes out
// only when Send would accept the content, so content flagged sensitive
// reaches no one by a test, whoever asks, until a privileged user
// approved it (Draft.PHIApprovedBy); and a PHI-bearing blast only through
// a provider with a BAA (HI-05).
func TestSendTestRespectsPHIApproval(t *testing.T) {
	h, everyone := setup(t, population(2, func(_ int, p *carecast.Patient) { p.Consent.SMSInsecureChannelAck = true }),
		&blasttest.Options{CoversPHI: true})
	d := phiSMS(everyone.ID)
	d.SMS.Body = "{{first_name}}, your HIV test result is ready."
	b, err := h.Engine.CreateDraft(ctx, org, d)
	require.NoError(t, err)
	for _, opts := range []blast.TestOpts{{To: staffPhone}, {To: staffPhone, PatientID: "p00001", CanViewPatient: true}} {
		_, err = h.Engine.SendTest(ctx, org, b.ID, opts)
		require.ErrorIs(t, err, blast.ErrSensitiveContent)
	}
	assert.Zero(t, h.SMS.Calls(), "unapproved sensitive content reaches no one")

	d.PHIApprovedBy = "dr-lee"
	b, err = h.Engine.UpdateDraft(ctx, org, b.ID, d)
	require.NoError(t, err)
	_, err = h.Engine.SendTest(ctx, org, b.ID, blast.TestOpts{To: staffPhone})
	require.NoError(t, err)
	assert.Contains(t, blasttest.RequireSent(t, h.SMS, staffPhone)[0].Body, "HIV test result", "approved content is tested as sent")

	noBAA, everyone2 := setup(t, population(1, nil), nil)
	b2, err := noBAA.Engine.CreateDraft(ctx, org, phiSMS(everyone2.ID))
	require.NoError(t, err)
	_, err = noBAA.Engine.SendTest(ctx, org, b2.ID, blast.TestOpts{To: staffPhone})
	require.ErrorIs(t, err, blast.ErrNoBAA)
	assert.Zero(t, noBAA.SMS.Calls())
}

// Issue 12 §2, third bullet: the destination is normalised and validated
// like a contact, with a typed error naming the field and never the
// value.
func TestSendTestValidatesDestination(t *testing.T) {
	h, everyone := setup(t, population(1, nil), nil)
	sms, err := h.Engine.CreateDraft(ctx, org, smsDraft("Hi", carecast.Transactional, everyone.ID))
	require.NoError(t, err)
	mail, err := h.Engine.CreateDraft(ctx, org, emailDraft(carecast.Transactional, everyone.ID))
	require.NoError(t, err)
	for _, tt := range []struct {
		blastID, to string
	}{
		{sms.ID, "abc"}, {sms.ID, "555-0100"}, {sms.ID, ""}, {sms.ID, "  "}, {sms.ID, "+1555"},
		{sms.ID, "staff@clinic.example"}, {sms.ID, strings.Repeat("9", 40)},
		{mail.ID, "not-an-email"}, {mail.ID, "foo@bar"}, {mail.ID, "+17375550000"}, {mail.ID, ""},
		{mail.ID, "Staff <staff@clinic.example>"}, {mail.ID, "staff@clinic.example\r\nBcc: x@evil.example"},
	} {
		_, err := h.Engine.SendTest(ctx, org, tt.blastID, blast.TestOpts{To: tt.to})
		var de *blast.TestDestinationError
		require.ErrorAs(t, err, &de, "%q", tt.to)
		require.ErrorIs(t, err, blast.ErrTestDestination)
		assert.Equal(t, "To", de.Field)
		if strings.TrimSpace(tt.to) != "" {
			assert.NotContains(t, err.Error(), tt.to)
		}
	}
	assert.Zero(t, h.SMS.Calls()+h.Email.Calls(), "nothing sent")

	_, err = h.Engine.SendTest(ctx, org, sms.ID, blast.TestOpts{To: " (512) 555-0142 "})
	require.NoError(t, err)
	blasttest.RequireSent(t, h.SMS, staffPhone)
	_, err = h.Engine.SendTest(ctx, org, mail.ID, blast.TestOpts{To: "Staff@Clinic.Example"})
	require.NoError(t, err)
	blasttest.RequireSent(t, h.Email, "staff@clinic.example")
}

// Issue 12 §2, second bullet: after an inbound STOP from a number, no
// test goes to it, marketing or transactional (STOP opts out of every
// text: CTIA, 47 CFR 64.1200(a)(10)); the refusal carries the reason and
// is audited.
func TestSendTestRefusesOptedOutNumber(t *testing.T) {
	const stopped = "+15125557777"
	h, everyone := setup(t, population(1, nil), nil)
	event(t, h, provider.Event{ID: "in-stop", OrgID: org, Kind: provider.EventInbound, From: stopped, To: "+12125550000", Body: "STOP"})
	before := len(h.SMS.SentTo(stopped)) // the one STOP confirmation
	for _, pu := range []carecast.Purpose{carecast.Marketing, carecast.Transactional} {
		b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Spring whitening special!", pu, everyone.ID))
		require.NoError(t, err)
		for _, to := range []string{stopped, "(512) 555-7777"} {
			_, err = h.Engine.SendTest(blast.WithActor(ctx, "staff-1"), org, b.ID, blast.TestOpts{To: to})
			var re *blast.TestRefusedError
			require.ErrorAs(t, err, &re, "%s %s", pu, to)
			require.ErrorIs(t, err, blast.ErrTestRefused)
			assert.Equal(t, eligibility.OptedOut, re.Reason)
			assert.Equal(t, "To", re.Field)
			assert.NotContains(t, err.Error(), "5557777")
		}
		es := testEntries(t, h, b.ID)
		require.Len(t, es, 2)
		assert.Equal(t, "staff-1", es[0].Actor)
		assert.Equal(t, "channel=sms to=+1512•••7777 sample=synthetic portal=false outcome=refused reason=opted_out", es[0].Detail)
	}
	assert.Len(t, h.SMS.SentTo(stopped), before, "no test reached the number")

	// START opts the number back in: tests go again.
	event(t, h, provider.Event{ID: "in-start", OrgID: org, Kind: provider.EventInbound, From: stopped, To: "+12125550000", Body: "START"})
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Hi", carecast.Marketing, everyone.ID))
	require.NoError(t, err)
	_, err = h.Engine.SendTest(ctx, org, b.ID, blast.TestOpts{To: stopped})
	require.NoError(t, err)
}

// Suppressions and patient records refuse a test destination with the
// scope a real send has (compliance.md J-02, HI-07): a hard bounce or a
// complaint refuses email, an unsubscribe only marketing email; a
// patient record that is opted out, blocked, suppressed, unsubscribed, a
// landline or under a confidential-communication request refuses its
// contact; not having opted in to marketing does not.
func TestSendTestRefusesSuppressedDestinations(t *testing.T) {
	type want struct{ marketing, transactional eligibility.Reason }
	send := eligibility.Send
	for _, tt := range []struct {
		name    string
		ch      carecast.Channel
		sup     string // a store suppression of the address
		patient func(p *carecast.Patient)
		want    want
	}{
		{"hard bounce", carecast.Email, "bounce", nil, want{eligibility.Suppressed, eligibility.Suppressed}},
		{"complaint", carecast.Email, "complaint", nil, want{eligibility.Suppressed, send}},
		{"unsubscribe link", carecast.Email, "unsubscribed", nil, want{eligibility.Unsubscribed, send}},
		{"carrier opt-out", carecast.SMS, "opted_out", nil, want{eligibility.OptedOut, eligibility.OptedOut}},
		{"patient opted out", carecast.SMS, "", func(p *carecast.Patient) { p.Consent.SMSOptedOut = true }, want{eligibility.OptedOut, eligibility.OptedOut}},
		{"patient blocked", carecast.SMS, "", func(p *carecast.Patient) { p.Consent.SMSBlocked = true }, want{eligibility.Blocked, eligibility.Blocked}},
		{"patient landline", carecast.SMS, "", func(p *carecast.Patient) { p.PhoneLineType = carecast.LineLandline }, want{eligibility.Landline, eligibility.Landline}},
		{"patient email suppressed", carecast.Email, "", func(p *carecast.Patient) { p.Consent.EmailSuppressed = true }, want{eligibility.Suppressed, eligibility.Suppressed}},
		{"patient unsubscribed", carecast.Email, "", func(p *carecast.Patient) { p.Consent.EmailUnsubscribed = true }, want{eligibility.Unsubscribed, send}},
		{"patient: email only", carecast.SMS, "", func(p *carecast.Patient) {
			p.Consent.ConfidentialChannels = []carecast.Channel{carecast.Email}
		}, want{eligibility.Confidential, eligibility.Confidential}},
		{"patient: not this address", carecast.Email, "", func(p *carecast.Patient) { p.Consent.DoNotContact = []string{p.Email} },
			want{eligibility.Confidential, eligibility.Confidential}},
		{"patient not opted in", carecast.SMS, "", func(p *carecast.Patient) { p.Consent.SMSMarketingOptIn = false }, want{send, send}},
		{"nothing", carecast.Email, "", nil, want{send, send}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, everyone := setup(t, population(1, nil), nil)
			staff := patient(7) // a staff member who is also a patient
			to := staff.Phone
			if tt.ch == carecast.Email {
				to = staff.Email
			}
			if tt.patient != nil {
				tt.patient(&staff)
				h.Patients.Put(org, staff)
			}
			if tt.sup != "" {
				require.NoError(t, h.Store.Suppress(ctx, store.Suppression{OrgID: org, Channel: tt.ch, Address: to, Reason: tt.sup, At: blasttest.Epoch}))
			}
			for pu, want := range map[carecast.Purpose]eligibility.Reason{carecast.Marketing: tt.want.marketing, carecast.Transactional: tt.want.transactional} {
				d := smsDraft("Hello", pu, everyone.ID)
				if tt.ch == carecast.Email {
					d = emailDraft(pu, everyone.ID)
				}
				b, err := h.Engine.CreateDraft(ctx, org, d)
				require.NoError(t, err)
				_, err = h.Engine.SendTest(ctx, org, b.ID, blast.TestOpts{To: to})
				if want == send {
					require.NoError(t, err, pu)
					continue
				}
				var re *blast.TestRefusedError
				require.ErrorAs(t, err, &re, pu)
				assert.Equal(t, want, re.Reason, pu)
			}
		})
	}
}

// A provider refusal of a test is audited as failed; a store that cannot
// be read refuses to send rather than guess.
func TestSendTestAuditsFailures(t *testing.T) {
	h, everyone := setup(t, population(1, nil), nil)
	b, err := h.Engine.CreateDraft(ctx, org, emailDraft(carecast.Marketing, everyone.ID))
	require.NoError(t, err)
	h.Email.FailNext(fake.Permanent("550"))
	_, err = h.Engine.SendTest(ctx, org, b.ID, blast.TestOpts{To: "jane.staff@clinic.example"})
	var pe *provider.Error
	require.True(t, errors.As(err, &pe), "the provider's error: %v", err)
	_, err = h.Engine.SendTest(ctx, org, b.ID, blast.TestOpts{To: "jane.staff@clinic.example"})
	require.NoError(t, err)
	es := testEntries(t, h, b.ID)
	require.Len(t, es, 2)
	assert.Equal(t, "channel=email to=j•••@clinic.example sample=synthetic portal=false outcome=failed class=permanent", es[0].Detail)
	assert.Equal(t, "channel=email to=j•••@clinic.example sample=synthetic portal=false outcome=sent", es[1].Detail)
	assert.Equal(t, blast.ActorSystem, es[1].Actor, "no WithActor: the system")
}

// Issue 12 §2, fourth bullet: the unsubscribe link of a test email,
// wired through a tracking.Handler as hosts do, shows a "this was a
// test" page at the confirmation and after the POST (the form and RFC
// 8058 one-click), never "Link not found", and unsubscribes no one.
func TestSendTestUnsubscribeLinkSaysTest(t *testing.T) {
	var th *tracking.Handler
	h, everyone := setup(t, population(1, nil), &blasttest.Options{Config: func(c *blast.Config) {
		c.UnsubscribeURL = func(org, _ string, row int64) string {
			u, _ := th.UnsubscribeURL(blast.RecipientID(org, row), blasttest.Epoch)
			return u
		}
	}})
	signer, err := tracking.NewSigner(tracking.Key{ID: 1, Secret: bytes.Repeat([]byte("k"), 32)})
	require.NoError(t, err)
	th, err = tracking.NewHandler(tracking.Config{Signer: signer, Backend: h.Engine.TrackingBackend(),
		BaseURL: "https://t.clinic.example/t", Now: func() time.Time { return blasttest.Epoch.Add(time.Hour) }})
	require.NoError(t, err)

	b, err := h.Engine.CreateDraft(ctx, org, emailDraft(carecast.Marketing, everyone.ID))
	require.NoError(t, err)
	_, err = h.Engine.SendTest(ctx, org, b.ID, blast.TestOpts{To: email(0)})
	require.NoError(t, err, "the staff member's address is a patient's that opted in")
	m := blasttest.RequireSent(t, h.Email, email(0))[0]
	require.NotEmpty(t, m.ListUnsubscribeURL)
	assert.Contains(t, m.HTML, m.ListUnsubscribeURL, "the footer link")
	u, err := url.Parse(m.ListUnsubscribeURL)
	require.NoError(t, err)
	serve := func(method, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, u.Path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		th.ServeHTTP(w, req)
		return w
	}
	for _, step := range []struct{ method, body string }{{"GET", ""}, {"POST", "confirm=1"}, {"POST", "List-Unsubscribe=One-Click"}} {
		w := serve(step.method, step.body)
		assert.Equal(t, http.StatusOK, w.Code, step)
		assert.Contains(t, w.Body.String(), "This was a test message", step)
		assert.Contains(t, w.Body.String(), "No one was unsubscribed", step)
		assert.NotContains(t, w.Body.String(), "not found", step)
	}
	sups, err := h.Store.Suppressed(ctx, org, carecast.Email, []string{email(0)})
	require.NoError(t, err)
	assert.Empty(t, sups, "no one was unsubscribed")
	pats, err := h.Patients.PatientsByID(ctx, org, []string{"p00000"})
	require.NoError(t, err)
	assert.False(t, pats[0].Consent.EmailUnsubscribed)

	// The patients' own links still unsubscribe.
	_, sum := sendAndRunBlast(t, h, b.ID)
	require.Equal(t, 1, sum.Sent)
	real := h.Email.SentTo(email(0))[1]
	u, err = url.Parse(real.ListUnsubscribeURL)
	require.NoError(t, err)
	w := serve("POST", "List-Unsubscribe=One-Click")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), "You are unsubscribed")
}

// sendAndRunBlast sends an existing draft and runs it to completion.
func sendAndRunBlast(t *testing.T, h *blasttest.Harness, blastID string) (blast.Blast, blast.Summary) {
	t.Helper()
	b, err := h.Engine.Send(ctx, org, blastID, nil)
	require.NoError(t, err)
	return b, h.Run(t, org, blastID)
}
