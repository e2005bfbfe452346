package blast

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/eligibility"
	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/render"
	"github.com/carecast/carecast/store"
)

// TestRow is the ledger row ID a test send passes to Config.UnsubscribeURL
// (and that no ledger has: rows start at 1). RecipientID(orgID, TestRow)
// is tracking.TestRecipientID, whose signed tokens a tracking.Handler
// answers with a "this was a test" page without calling the engine.
const TestRow int64 = 0

// SamplePatientID is the ID of SamplePatient, shown by the {{patient_id}}
// merge field of a test.
const SamplePatientID = "SAMPLE-0000"

// SamplePatient returns the synthetic patient a test send is personalised
// for unless TestOpts names a real one. Every merge field has an obviously
// sample value, none of them anyone's data:
//
//	first_name, preferred_name  Sample
//	last_name                   Patient
//	full_name                   Sample Patient
//	date_of_birth, birthday     January 1, 2000 / January 1
//	phone                       (202) 555-0100  (a NANP number reserved for fiction)
//	email                       sample.patient@example.com  (RFC 2606)
//	patient_id                  SAMPLE-0000
//
// It has acknowledged both channels (carecast.Consent.InsecureChannelAck),
// so the test of a PHI-bearing blast shows its content unless
// TestOpts.PortalNotice asks for the portal notice.
func SamplePatient() carecast.Patient {
	return carecast.Patient{ID: SamplePatientID, FirstName: "Sample", LastName: "Patient",
		DateOfBirth: carecast.NewDate(2000, 1, 1), Phone: "+12025550100", Email: "sample.patient@example.com",
		Active: true, Consent: carecast.Consent{SMSInsecureChannelAck: true, EmailInsecureChannelAck: true}}
}

// TestOpts says where a test send goes and who it is personalised for.
type TestOpts struct {
	// To is the destination: a phone number for an SMS blast (E.164, or
	// national format in the organization's phone region), an email
	// address for an email blast. It is normalised and validated like a
	// patient's contact (eligibility.NormalizePhone, NormalizeEmail) and
	// refused when opted out or suppressed (see SendTest). Required.
	To string
	// PatientID, when not empty, personalises the test for that real
	// patient of the organization instead of SamplePatient. It needs
	// CanViewPatient. The per-recipient rules of a real send then apply
	// to the content: a PHI-bearing blast gives a patient without the
	// channel's acknowledgement the portal notice (compliance.md HI-08).
	PatientID string
	// CanViewPatient is the host's statement that the caller may see
	// PatientID's record (its own access control: role, location, care
	// team). Without it a real patient is refused with a
	// *TestForbiddenError, the same whether the patient exists or not.
	// blasthttp sets it from its Config.CanViewPatient.
	CanViewPatient bool
	// PortalNotice, for a PHI-bearing blast (Draft.PHI), sends the
	// PHI-free portal notice instead of the content, to check how
	// patients without the acknowledgement see it. Ignored for other
	// blasts.
	PortalNotice bool
}

// TestResult reports a test send.
type TestResult struct {
	// ProviderMessageID is the provider's ID of the test message.
	ProviderMessageID string
	// PatientID is the real patient the test was personalised for, ""
	// for SamplePatient.
	PatientID string
	// PortalNotice is true when the portal notice was sent instead of
	// the content (a PHI-bearing blast: TestOpts.PortalNotice, or a real
	// patient without the channel's acknowledgement).
	PortalNotice bool
}

// Errors of SendTest, each the class of its typed error.
var (
	// ErrTestDestination is the class of every *TestDestinationError.
	ErrTestDestination = errors.New("blast: invalid test destination")
	// ErrTestRefused is the class of every *TestRefusedError.
	ErrTestRefused = errors.New("blast: test destination refused")
	// ErrTestForbidden is the class of every *TestForbiddenError.
	ErrTestForbidden = errors.New("blast: test not allowed")
)

// TestDestinationError reports a test destination that is missing or is
// not a phone number (SMS) or email address (email) a message could go
// to. It never carries the destination.
type TestDestinationError struct {
	// Field is the TestOpts field: "To".
	Field string
	// Problem says what is wrong, in words a user can act on.
	Problem string
}

// Error implements error.
func (e *TestDestinationError) Error() string { return "blast: test " + e.Field + ": " + e.Problem }

// Unwrap returns ErrTestDestination.
func (e *TestDestinationError) Unwrap() error { return ErrTestDestination }

// TestRefusedError reports a test destination that no message may go to:
// it opted out (a STOP from the number), was blocked, suppressed (a hard
// bounce, a complaint), unsubscribed from marketing email, is recorded as
// a landline, or is one a patient's confidential-communication request
// rules out. It never carries the destination.
type TestRefusedError struct {
	// Field is the TestOpts field: "To".
	Field string
	// Reason is the eligibility reason a real send would skip the
	// address for: eligibility.OptedOut, Blocked, Suppressed,
	// Unsubscribed, Landline or Confidential.
	Reason eligibility.Reason
}

// Error implements error.
func (e *TestRefusedError) Error() string {
	return "blast: test " + e.Field + " refused: the destination is " + e.Reason.String() + " on this channel; no message may go to it"
}

// Unwrap returns ErrTestRefused.
func (e *TestRefusedError) Unwrap() error { return ErrTestRefused }

// TestForbiddenError reports a test the caller may not make: a real
// patient (TestOpts.PatientID) without TestOpts.CanViewPatient.
type TestForbiddenError struct {
	// Field is the TestOpts field: "PatientID".
	Field string
	// Problem says why.
	Problem string
}

// Error implements error.
func (e *TestForbiddenError) Error() string { return "blast: test " + e.Field + ": " + e.Problem }

// Unwrap returns ErrTestForbidden.
func (e *TestForbiddenError) Unwrap() error { return ErrTestForbidden }

// SendTest sends the blast's message to a staff member (the guide's "Send
// Test to Me"). The rules:
//
//   - Sample. The message is personalised for SamplePatient, a synthetic
//     patient, unless opts.PatientID names a real one, which needs
//     opts.CanViewPatient (else a *TestForbiddenError, matching
//     ErrTestForbidden, whether the patient exists or not). For a real
//     patient a PHI-bearing blast chooses content or portal notice as
//     the real send does: without the channel's acknowledgement the test
//     is the portal notice (compliance.md HI-08).
//   - Content. The blast must compile exactly as for Send: content the
//     sensitive-content check flags goes out, in a test too, only once a
//     privileged user approved it (Draft.PHIApprovedBy), whoever asks
//     for the test, and a PHI-bearing blast only through a provider
//     covered by a BAA (HI-01, HI-05). Otherwise a *ValidationError.
//   - Destination. opts.To is normalised like a patient's contact (E.164
//     in the organization's region; a lower-case email address) or
//     refused with a *TestDestinationError (ErrTestDestination) naming
//     the field. An address no real send of this blast may reach is
//     refused with a *TestRefusedError (ErrTestRefused) and its reason:
//     a store suppression scoped as for a send (a STOP from the number
//     refuses every text, marketing or transactional, as CTIA and 47 CFR
//     64.1200(a)(10) read it; a hard bounce every email; a complaint or
//     unsubscribe marketing email), or a patient with that contact whose
//     record says opted out, blocked, suppressed, unsubscribed (marketing
//     email), landline or confidential request (compliance.md SM-03,
//     J-02, HI-07). Not having opted in to marketing is not a refusal:
//     the staff member asking for the test consents to it.
//   - Audit. Every test sent, failed at the provider or refused
//     (forbidden or refused destination) is written to the audit trail as
//     "blast.test": the actor (WithActor), the blast, the real patient's
//     ID if any, and a detail with the channel, the masked destination
//     ("+1512•••7777", "s•••@example.com"), the sample ("synthetic" or
//     "patient"), whether the portal notice was sent and the outcome;
//     never the body (compliance.md HI-09).
//
// A test is never written to the ledger nor counted in any stat; it
// passes the rate limiter but not quiet hours or frequency caps (a staff
// member asked for it). Its email carries no tracked links or open pixel;
// a marketing test email carries the footer and List-Unsubscribe headers
// exactly as recipients get them, for TestRow, whose link shows "this was
// a test" (package tracking) and unsubscribes no one. Other errors:
// ErrNotFound (the blast, or a real patient not in the organization), and
// the provider's error when the send failed; while the provider's pause
// after a 429 lasts longer than SendTimeout, a *provider.Error of class
// RateLimited whose RetryAfter is the time left, at once.
func (e *Engine) SendTest(ctx context.Context, orgID, blastID string, opts TestOpts) (TestResult, error) {
	sb, err := e.st.Blast(ctx, orgID, blastID)
	if err != nil {
		return TestResult{}, fmt.Errorf("blast: %w", err)
	}
	p, err := e.compile(ctx, &sb, false)
	if err != nil {
		return TestResult{}, err
	}
	to, err := testDestination(p, opts.To)
	if err != nil {
		return TestResult{}, err
	}
	t := testAudit{e: e, p: p, to: to, sample: "synthetic"}
	if opts.PatientID != "" {
		t.sample = "patient"
		if !opts.CanViewPatient {
			t.refused(ctx, "forbidden", opts.PatientID)
			return TestResult{}, &TestForbiddenError{Field: "PatientID", Problem: "the caller may not see this patient's record; leave it empty to use the sample patient"}
		}
	}
	refusal, err := e.checkTestDestination(ctx, p, to)
	if err != nil {
		return TestResult{}, err
	}
	if refusal != nil {
		t.refused(ctx, "refused reason="+refusal.Reason.String(), opts.PatientID)
		return TestResult{}, refusal
	}
	pat := SamplePatient()
	if opts.PatientID != "" {
		if pat, err = e.realPatient(ctx, orgID, opts.PatientID); err != nil {
			return TestResult{}, err
		}
		t.patientID = pat.ID
	}
	portal := p.phi && opts.PortalNotice || p.portalFor(&pat)
	t.portal = portal
	id := "test-" + newID()
	data := render.Data{Patient: &pat, Org: &p.org}
	var send func(context.Context) (provider.Result, error)
	if p.ch == carecast.SMS {
		tmpl, media := p.smsFor(portal)
		rs := tmpl.Render(data)
		if err := rs.Err(); err != nil {
			return TestResult{}, fmt.Errorf("blast: test of blast %s: %w", blastID, err)
		}
		msg := &provider.SMSMessage{ID: id, OrgID: orgID, To: to, From: p.from, Body: rs.Body, MediaURLs: media}
		send = func(ctx context.Context) (provider.Result, error) { return e.cfg.SMS.SendSMS(ctx, msg) }
	} else {
		ro := &render.EmailRenderOpts{}
		if p.pu == carecast.Marketing && e.cfg.UnsubscribeURL != nil {
			ro.UnsubscribeURL = e.cfg.UnsubscribeURL(orgID, blastID, TestRow)
		}
		tmpl, atts := p.emailFor(portal)
		re := tmpl.Render(data, ro)
		msg := &provider.EmailMessage{ID: id, OrgID: orgID, From: p.from, ReplyTo: p.replyTo, To: to,
			Subject: "[Test] " + re.Subject, HTML: re.HTML, Text: re.Text, Attachments: atts,
			Marketing: p.pu == carecast.Marketing, ListUnsubscribeURL: ro.UnsubscribeURL}
		send = func(ctx context.Context) (provider.Result, error) { return e.cfg.Email.SendEmail(ctx, msg) }
	}
	// Wait on the limiter as a call may take: a provider's pause (a 429's
	// Retry-After) that lasts longer fails the test at once, with the
	// time left, instead of holding the request for the pause.
	if _, err := e.waitUntil(ctx, p.lims, false, e.now().Add(e.cfg.SendTimeout)); err != nil {
		var late *errWaitPastDeadline
		if !errors.As(err, &late) {
			return TestResult{}, err
		}
		t.write(ctx, "failed class="+provider.RateLimited.String())
		return TestResult{}, fmt.Errorf("blast: test send of blast %s: %w", blastID, &provider.Error{Class: provider.RateLimited,
			Message: "the provider asked for a pause (429) that is not over", RetryAfter: late.Until.Sub(e.now())})
	}
	res, err := e.call(ctx, send)
	if err != nil {
		t.write(ctx, "failed class="+provider.Classify(err).String())
		return TestResult{}, fmt.Errorf("blast: test send of blast %s: %w", blastID, err)
	}
	t.write(ctx, "sent")
	e.log.Info("blast test sent", "org", orgID, "blast", blastID, "sample", t.sample, "portal", portal)
	return TestResult{ProviderMessageID: res.ProviderMessageID, PatientID: t.patientID, PortalNotice: portal}, nil
}

// testDestination normalises a test's destination for the blast's
// channel, as eligibility reads a patient's contact.
func testDestination(p *prepared, raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", &TestDestinationError{Field: "To", Problem: "required: the phone number or email address the test goes to"}
	}
	if p.ch == carecast.SMS {
		if n, ok := eligibility.NormalizePhone(raw, p.cls.Region); ok {
			return n, nil
		}
		return "", &TestDestinationError{Field: "To", Problem: "not a valid phone number (write it with its country code, +1…, or in the practice's national format)"}
	}
	if n, ok := eligibility.NormalizeEmail(raw); ok {
		return n, nil
	}
	return "", &TestDestinationError{Field: "To", Problem: "not a valid email address"}
}

// checkTestDestination returns the refusal of a destination that a real
// send of the blast would skip: a store suppression (scoped by
// suppressionReason as for the ledger), or a patient with that contact whose
// record revokes it. An error means the state could not be read (and
// nothing may be sent).
func (e *Engine) checkTestDestination(ctx context.Context, p *prepared, to string) (*TestRefusedError, error) {
	if r, err := e.suppressionOf(ctx, p.rules(), to); err != nil {
		return nil, err
	} else if r != eligibility.Send {
		return &TestRefusedError{Field: "To", Reason: r}, nil
	}
	pats, err := e.ps.FindByContact(ctx, p.orgID, to)
	if err != nil {
		return nil, fmt.Errorf("blast: finding patients by contact: %w", err)
	}
	cls := eligibility.Classifier{Region: p.cls.Region}
	for i := range pats {
		if r := destinationReason(&cls, pats[i], p.ch, p.pu); r != eligibility.Send {
			return &TestRefusedError{Field: "To", Reason: r}, nil
		}
	}
	return nil, nil
}

// destinationReason is the reason a real send would skip pat's address on
// ch for pu, counting only what the patient or the practice revoked: the
// opt-in, written consent and HIPAA authorization a marketing send needs
// are the staff member's to give for a test, and an unreadable address of
// the record is not the destination's problem. Send when none applies.
func destinationReason(cls *eligibility.Classifier, pat carecast.Patient, ch carecast.Channel, pu carecast.Purpose) eligibility.Reason {
	pat.Consent.SMSMarketingOptIn, pat.Consent.EmailMarketingOptIn = true, true
	switch r := cls.Classify(&pat, ch, pu).Reason; r {
	case eligibility.OptedOut, eligibility.Blocked, eligibility.Suppressed, eligibility.Unsubscribed,
		eligibility.Landline, eligibility.Confidential:
		return r
	}
	return eligibility.Send
}

// realPatient reads the real patient a test is personalised for.
func (e *Engine) realPatient(ctx context.Context, orgID, id string) (carecast.Patient, error) {
	ps, err := e.ps.PatientsByID(ctx, orgID, []string{id})
	if err != nil {
		return carecast.Patient{}, fmt.Errorf("blast: reading sample patient: %w", err)
	}
	if len(ps) == 0 || ps[0].ID != id {
		return carecast.Patient{}, fmt.Errorf("blast: sample patient: %w", ErrNotFound)
	}
	return ps[0], nil
}

// testAudit writes a test's audit entry (compliance.md HI-09).
type testAudit struct {
	e         *Engine
	p         *prepared
	to        string // normalised
	sample    string // "synthetic" or "patient"
	patientID string // the real patient's, once read
	portal    bool
}

// write appends the "blast.test" entry with outcome.
func (t *testAudit) write(ctx context.Context, outcome string) {
	t.e.audit(ctx, store.AuditEntry{OrgID: t.p.orgID, Action: "blast.test", BlastID: t.p.id, PatientID: t.patientID,
		Detail: fmt.Sprintf("channel=%s to=%s sample=%s portal=%t outcome=%s", string(t.p.ch), maskAddress(t.to), t.sample, t.portal, outcome)})
}

// refused audits a refused test; requested is the real patient asked
// for, recorded only when it is one of the organization's patients (an
// ID typed by the caller is not written unchecked).
func (t *testAudit) refused(ctx context.Context, outcome, requested string) {
	if requested != "" {
		if pat, err := t.e.realPatient(ctx, t.p.orgID, requested); err == nil {
			t.patientID = pat.ID
		}
	}
	t.write(ctx, outcome)
	t.e.log.Info("blast test refused", "org", t.p.orgID, "blast", t.p.id, "outcome", outcome)
}

// maskAddress returns a normalised phone number or email address with
// most of it hidden, for the audit trail: "+1512•••7777" (the country and
// area code, the last four digits), "s•••@example.com" (the first
// character of the local part, the domain). Anything shorter is reduced
// to "•••" and its last two characters.
func maskAddress(addr string) string {
	const dots = "•••"
	if at := strings.LastIndexByte(addr, '@'); at > 0 {
		_, n := utf8.DecodeRuneInString(addr)
		return addr[:n] + dots + addr[at:]
	}
	if strings.HasPrefix(addr, "+") && len(addr) >= 12 {
		return addr[:5] + dots + addr[len(addr)-4:]
	}
	if len(addr) > 4 {
		return dots + addr[len(addr)-2:]
	}
	return dots
}
