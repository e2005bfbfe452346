package blast

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/eligibility"
	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/render"
	"github.com/carecast/carecast/store"
)

// audience streams a blast's audience: the union of its cohorts, each
// patient once, ascending ID. A cohort that is not the organization's is
// a *ValidationError (ProblemUnknownCohort), as Send reports it.
func (e *Engine) audience(ctx context.Context, sb *store.Blast) (iter.Seq2[carecast.Patient, error], error) {
	cohorts := make([]cohort.Cohort, 0, len(sb.CohortIDs))
	var probs []Problem
	for i, id := range sb.CohortIDs {
		c, err := e.cs.Cohort(ctx, sb.OrgID, id)
		switch {
		case errors.Is(err, cohort.ErrNotFound):
			probs = append(probs, unknownCohort(i))
			continue
		case err != nil:
			return nil, fmt.Errorf("blast: reading cohort %d of blast %s: %w", i, sb.ID, err)
		}
		cohorts = append(cohorts, c)
	}
	if len(probs) > 0 {
		return nil, &ValidationError{BlastID: sb.ID, Problems: probs}
	}
	return cohort.Resolve(ctx, e.ps, sb.OrgID, cohorts, e.now()), nil
}

// Preview returns the send-preview panel of a blast (draft or not): its
// audience counted by eligibility decision for the blast's channel and
// purpose (Will send, Opted out, No contact info, Landline, Not opted in;
// for email Suppressed, Unsubscribed, No email, Not opted in).
func (e *Engine) Preview(ctx context.Context, orgID, blastID string) (eligibility.Preview, error) {
	sb, err := e.blast(ctx, orgID, blastID)
	if err != nil {
		return eligibility.Preview{}, err
	}
	b, err := fromStore(&sb)
	if err != nil {
		return eligibility.Preview{}, err
	}
	// What Send would refuse before anything else (a channel stored
	// before drafts were checked) is a *ValidationError here too.
	if probs := e.checkDraft(&b.Draft); len(probs) > 0 {
		return eligibility.Preview{}, &ValidationError{BlastID: sb.ID, Problems: probs}
	}
	org, err := e.org(ctx, orgID)
	if err != nil {
		return eligibility.Preview{}, err
	}
	cls, err := eligibility.NewClassifier(&org)
	if err != nil {
		return eligibility.Preview{}, fmt.Errorf("blast: %w", err)
	}
	cls.RequirePEWC = e.cfg.RequirePEWC
	cls.RequireAuthorization = hipaaBasis(b.HIPAABasis, b.Purpose) == BasisAuthorizedMarketing
	aud, err := e.audience(ctx, &sb)
	if err != nil {
		return eligibility.Preview{}, err
	}
	pu := sb.Purpose
	if !pu.Valid() {
		pu = carecast.Transactional
	}
	pv, err := eligibility.BuildPreview(ctx, aud, sb.Channel, pu, &eligibility.PreviewOpts{Classifier: cls})
	if err != nil {
		return eligibility.Preview{}, fmt.Errorf("blast: preview of blast %s: %w", blastID, err)
	}
	return pv, nil
}

// Estimate is the cost estimate shown before sending.
type Estimate struct {
	// Recipients is the number of messages that will be sent.
	Recipients int
	// SMS is the SMS estimate (segments, MMS, cost), nil for email.
	SMS *render.SMSEstimate
	// Cost is the estimated total.
	Cost carecast.Money
	// PortalNotices is, for a PHI-bearing blast, how many of the
	// Recipients get the portal notice instead of the message (no
	// acknowledgement of the unencrypted channel; compliance.md HI-08).
	PortalNotices int
	// PortalSMS estimates those portal notices (SMS); SMS then covers
	// only the recipients who get the message itself.
	PortalSMS *render.SMSEstimate
}

// Estimate prices a blast before it is sent: for SMS by each eligible
// recipient's rendered length (segments) and MMS, for email per
// recipient. It returns a *ValidationError if the content does not
// compile.
func (e *Engine) Estimate(ctx context.Context, orgID, blastID string) (Estimate, error) {
	sb, err := e.blast(ctx, orgID, blastID)
	if err != nil {
		return Estimate{}, err
	}
	p, err := e.compile(ctx, &sb, false)
	if err != nil {
		return Estimate{}, err
	}
	aud, err := e.audience(ctx, &sb)
	if err != nil {
		return Estimate{}, err
	}
	// eligible streams the recipients of the message (portal false) or
	// of a PHI-bearing blast's portal notice (portal true).
	eligible := func(portal bool) iter.Seq2[carecast.Patient, error] {
		return func(yield func(carecast.Patient, error) bool) {
			for pat, err := range aud {
				if err != nil {
					yield(carecast.Patient{}, err)
					return
				}
				if !p.cls.Classify(&pat, p.ch, p.pu).WillSend() || p.phi && pat.Consent.InsecureChannelAck(p.ch) == portal {
					continue
				}
				if !yield(pat, nil) {
					return
				}
			}
		}
	}
	if p.ch == carecast.SMS {
		est, err := render.EstimateSMS(ctx, p.sms, p.org, *e.cfg.Pricing, eligible(false))
		if err != nil {
			return Estimate{}, fmt.Errorf("blast: estimating blast %s: %w", blastID, err)
		}
		out := Estimate{Recipients: est.Recipients, SMS: &est, Cost: est.Cost}
		if p.phi {
			pe, err := render.EstimateSMS(ctx, p.portalSMS, p.org, *e.cfg.Pricing, eligible(true))
			if err != nil {
				return Estimate{}, fmt.Errorf("blast: estimating blast %s: %w", blastID, err)
			}
			out.PortalSMS, out.PortalNotices = &pe, pe.Recipients
			out.Recipients += pe.Recipients
			out.Cost += pe.Cost
		}
		return out, nil
	}
	count := func(portal bool) (int, error) {
		n := 0
		for _, err := range eligible(portal) {
			if err != nil {
				return 0, fmt.Errorf("blast: estimating blast %s: %w", blastID, err)
			}
			n++
		}
		return n, nil
	}
	n, err := count(false)
	if err != nil {
		return Estimate{}, err
	}
	out := Estimate{Recipients: n}
	if p.phi {
		if out.PortalNotices, err = count(true); err != nil {
			return Estimate{}, err
		}
		out.Recipients += out.PortalNotices
	}
	out.Cost = e.cfg.Pricing.EmailRecipient.Mul(int64(out.Recipients))
	return out, nil
}

// TestOpts says where a test send goes.
type TestOpts struct {
	// To is the staff member's phone number (SMS) or email address.
	// Required.
	To string
	// PatientID is the sample patient the message is personalised for;
	// "" uses the first patient of the audience, or a sample patient
	// with example values when the audience is empty.
	PatientID string
}

// TestResult reports a test send.
type TestResult struct {
	// ProviderMessageID is the provider's ID of the test message.
	ProviderMessageID string
	// PatientID is the sample patient used ("" for the example patient).
	PatientID string
}

// SendTest sends the blast's message to a staff member (the guide's "Send
// Test to Me"), personalised for a sample patient. Test sends are never
// written to the ledger or counted in any stat, and they pass the rate
// limiter. A marketing test email carries the footer and List-Unsubscribe
// headers exactly as recipients get them, with Config.UnsubscribeURL for
// row 0 (no ledger has it, so the link unsubscribes no one). It returns a
// *ValidationError if the content does not compile and the provider's
// error if the send failed.
func (e *Engine) SendTest(ctx context.Context, orgID, blastID string, opts TestOpts) (TestResult, error) {
	if opts.To == "" {
		return TestResult{}, errors.New("blast: SendTest: TestOpts.To is required")
	}
	sb, err := e.st.Blast(ctx, orgID, blastID)
	if err != nil {
		return TestResult{}, fmt.Errorf("blast: %w", err)
	}
	p, err := e.compile(ctx, &sb, false)
	if err != nil {
		return TestResult{}, err
	}
	pat, err := e.samplePatient(ctx, &sb, opts.PatientID)
	if err != nil {
		return TestResult{}, err
	}
	data := render.Data{Patient: &pat, Org: &p.org}
	id := "test-" + newID()
	var send func(context.Context) (provider.Result, error)
	if p.ch == carecast.SMS {
		to := opts.To
		if n, ok := eligibility.NormalizePhone(to, p.org.PhoneRegion); ok {
			to = n
		}
		rs := p.sms.Render(data)
		msg := &provider.SMSMessage{ID: id, OrgID: orgID, To: to, From: p.from, Body: rs.Body, MediaURLs: p.media}
		send = func(ctx context.Context) (provider.Result, error) { return e.cfg.SMS.SendSMS(ctx, msg) }
	} else {
		// A marketing test carries the footer and headers exactly as a
		// recipient gets them. Its unsubscribe URL names row 0, which no
		// ledger has: the link works as a link but unsubscribes no one.
		ro := &render.EmailRenderOpts{}
		if p.pu == carecast.Marketing && e.cfg.UnsubscribeURL != nil {
			ro.UnsubscribeURL = e.cfg.UnsubscribeURL(orgID, blastID, 0)
		}
		re := p.email.Render(data, ro)
		msg := &provider.EmailMessage{ID: id, OrgID: orgID, From: p.from, ReplyTo: p.replyTo, To: opts.To,
			Subject: "[Test] " + re.Subject, HTML: re.HTML, Text: re.Text, Attachments: p.atts,
			Marketing: p.pu == carecast.Marketing, ListUnsubscribeURL: ro.UnsubscribeURL}
		send = func(ctx context.Context) (provider.Result, error) { return e.cfg.Email.SendEmail(ctx, msg) }
	}
	if _, err := e.waitAll(ctx, p.lims, false); err != nil {
		return TestResult{}, err
	}
	res, err := e.call(ctx, send)
	if err != nil {
		return TestResult{}, fmt.Errorf("blast: test send of blast %s: %w", blastID, err)
	}
	e.log.Info("blast test sent", "org", orgID, "blast", blastID)
	return TestResult{ProviderMessageID: res.ProviderMessageID, PatientID: pat.ID}, nil
}

// samplePatient returns the patient a test send is personalised for.
func (e *Engine) samplePatient(ctx context.Context, sb *store.Blast, id string) (carecast.Patient, error) {
	if id != "" {
		ps, err := e.ps.PatientsByID(ctx, sb.OrgID, []string{id})
		if err != nil {
			return carecast.Patient{}, fmt.Errorf("blast: reading sample patient: %w", err)
		}
		if len(ps) == 0 {
			return carecast.Patient{}, fmt.Errorf("blast: sample patient %s: %w", id, ErrNotFound)
		}
		return ps[0], nil
	}
	if len(sb.CohortIDs) > 0 {
		if aud, err := e.audience(ctx, sb); err == nil {
			for pat, err := range aud {
				if err == nil {
					return pat, nil
				}
				break
			}
		}
	}
	return carecast.Patient{FirstName: "Jane", LastName: "Smith", PreferredName: "Janie",
		DateOfBirth: carecast.NewDate(1990, 1, 15), Phone: "+15551234567", Email: "jane@example.com", Active: true}, nil
}
