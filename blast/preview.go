package blast

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/eligibility"
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
// for email Suppressed, Unsubscribed, No email, Not opted in; Shared
// address when households get one message, see Draft.Households). It
// decides each patient as the ledger writer does (the patient record and
// the organization's suppression list, households collapsed in the same
// order), so sending the blast unchanged records the same counts.
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
	r := &rules{orgID: sb.OrgID, ch: sb.Channel, pu: pu, cls: cls, collapse: b.Households.collapse(pu)}
	t := r.tally()
	n := 0
	err = e.decideAll(ctx, r, t, aud, func(*carecast.Patient, eligibility.Decision) error {
		if n++; n%1024 == 0 {
			return ctx.Err()
		}
		return nil
	})
	if err != nil {
		return eligibility.Preview{}, fmt.Errorf("blast: preview of blast %s: %w", blastID, err)
	}
	return t.Preview(), nil
}

// errStopped ends a stream its consumer stopped reading.
var errStopped = errors.New("blast: stream stopped")

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
	// of a PHI-bearing blast's portal notice (portal true), decided as
	// the ledger writer decides them (see Preview).
	r := p.rules()
	eligible := func(portal bool) iter.Seq2[carecast.Patient, error] {
		return func(yield func(carecast.Patient, error) bool) {
			err := e.decideAll(ctx, r, r.tally(), aud, func(pat *carecast.Patient, d eligibility.Decision) error {
				if !d.WillSend() || p.phi && p.portalFor(pat) != portal {
					return nil
				}
				if !yield(*pat, nil) {
					return errStopped
				}
				return nil
			})
			if err != nil && !errors.Is(err, errStopped) {
				yield(carecast.Patient{}, err)
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
