package blast

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/eligibility"
	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/render"
	"github.com/carecast/carecast/store"
)

// prepared is everything the workers need to send one blast's rows,
// compiled once per blast (and per content version).
type prepared struct {
	id      string
	version int64
	orgID   string
	org     carecast.Organization
	ch      carecast.Channel
	pu      carecast.Purpose
	from    string
	replyTo string
	cls     *eligibility.Classifier
	sms     *render.SMSTemplate
	email   *render.EmailTemplate
	media   []string
	atts    []provider.Attachment
	lims    []*limiter // the channel's, then the sender's if it has one
	quiet   bool       // SMS, not urgent: quiet hours apply
	urgent  bool       // urgent SMS: quiet hours bypassed (audited)
	capped  bool       // marketing SMS: frequency caps apply

	// PHI-bearing blasts (compliance.md HI-05, HI-08): the portal notice
	// sent to patients without the channel's acknowledgement.
	phi         bool
	portalSMS   *render.SMSTemplate
	portalEmail *render.EmailTemplate
	// exempt: a healthcare-exempt text (SM-02).
	exempt bool
	// sensitive counts the content checker's findings; phiApprovedBy
	// approved them (HI-01).
	sensitive     int
	phiApprovedBy string

	// cancelled is set by Cancel: workers of this process stop sending
	// the blast's claimed rows at once.
	cancelled atomic.Bool
	// paused is set when the blast is paused (SenderBlockGuard):
	// workers hand its claimed rows back.
	paused atomic.Bool
}

// compile validates a blast's content and compiles it, returning every
// problem found (a *ValidationError) or the prepared blast.
func (e *Engine) compile(ctx context.Context, sb *store.Blast, checkCohorts bool) (*prepared, error) {
	b, err := fromStore(sb)
	if err != nil {
		return nil, err
	}
	org, err := e.org(ctx, sb.OrgID)
	if err != nil {
		return nil, err
	}
	cls, err := eligibility.NewClassifier(&org)
	if err != nil {
		return nil, fmt.Errorf("blast: organization %s: %w", org.ID, err)
	}
	cls.RequirePEWC = e.cfg.RequirePEWC
	var probs problems
	p := &prepared{id: sb.ID, version: sb.Version, orgID: sb.OrgID, org: org, ch: sb.Channel, pu: sb.Purpose,
		from: b.From, replyTo: b.ReplyTo, cls: cls}
	if !p.pu.Valid() {
		probs.add(ProblemPurpose, "Purpose", "must be marketing or transactional")
	}
	if checkCohorts {
		probs = append(probs, e.checkCohorts(ctx, sb)...)
	}
	switch sb.Channel {
	case carecast.SMS:
		p.lims = e.limitersFor(e.limSMS, b.From)
		p.quiet, p.urgent = !b.Urgent && !e.cfg.QuietHours.Disabled, b.Urgent
		if b.Urgent && sb.Purpose == carecast.Marketing {
			probs.add(ProblemPurpose, "Urgent", "only a transactional text can be urgent")
		}
		p.capped = sb.Purpose == carecast.Marketing && e.capsOn()
		switch {
		case e.cfg.SMS == nil:
			probs.add(ProblemChannel, "Channel", "no SMS provider is configured")
		case b.SMS == nil || strings.TrimSpace(b.SMS.Body) == "" && len(b.SMS.Images) == 0:
			probs.add(ProblemEmptyBody, "SMS.Body", "the message is empty")
		default:
			content := *b.SMS
			if b.HealthcareExempt {
				content = exemptSMS(content)
			}
			t, err := render.CompileSMS(content, sb.Purpose, org)
			if err != nil {
				probs = append(probs, contentProblem("SMS", err))
				break
			}
			p.sms = t
			for i, im := range t.Images() {
				if im.URL == "" {
					probs.add(ProblemAttachments, "SMS.Images", fmt.Sprintf("image %d has no URL the provider can fetch it from", i))
				}
				p.media = append(p.media, im.URL)
			}
		}
	case carecast.Email:
		p.lims = e.limitersFor(e.limEmail, b.From)
		if b.Urgent {
			probs.add(ProblemChannel, "Urgent", "urgent applies to texts only (email is never held)")
		}
		switch {
		case e.cfg.Email == nil:
			probs.add(ProblemChannel, "Channel", "no email provider is configured")
		case b.Email == nil || strings.TrimSpace(b.Email.Subject) == "":
			probs.add(ProblemEmptyBody, "Email.Subject", "the subject is empty")
		case strings.TrimSpace(b.Email.Body) == "":
			probs.add(ProblemEmptyBody, "Email.Body", "the email body is empty")
		default:
			t, err := render.CompileEmail(*b.Email, sb.Purpose, org)
			if err != nil {
				probs = append(probs, contentProblem("Email", err))
				break
			}
			var limit int64
			if l, ok := e.cfg.Email.(provider.Limits); ok {
				limit = l.MaxMessageBytes()
			}
			if err := render.ValidateAttachments(t.Attachments(), limit); err != nil {
				probs = append(probs, contentProblem("Email.Attachments", err))
				break
			}
			p.email = t
			for _, a := range t.Attachments() {
				p.atts = append(p.atts, provider.Attachment{Filename: a.Filename, ContentType: a.ContentType, Data: a.Data})
			}
			if sb.Purpose == carecast.Marketing && e.cfg.UnsubscribeURL == nil {
				probs.add(ProblemUnsubscribe, "Config.UnsubscribeURL", "marketing email needs an unsubscribe URL; configure the engine with one")
			}
		}
		if b.From == "" {
			probs.add(ProblemContent, "From", "the From address is empty")
		}
		if checkCohorts && e.cfg.DomainVerifier != nil && sb.Purpose.Valid() {
			st, err := e.cfg.DomainVerifier.VerifyDomain(ctx, sb.OrgID, sb.Purpose)
			switch {
			case err != nil:
				probs.add(ProblemDomain, "From", "the sending domain could not be checked: "+err.Error())
			case !st.Verified:
				probs.add(ProblemDomain, "From", fmt.Sprintf("the %s sending domain %q is not verified (see Settings > Emails)", sb.Purpose, st.Domain))
			}
		}
	default:
		probs.add(ProblemChannel, "Channel", "must be SMS or Email")
	}
	probs = append(probs, e.checkHealth(&b, p)...)
	if len(probs) > 0 {
		return nil, &ValidationError{BlastID: sb.ID, Problems: probs}
	}
	return p, nil
}

// limitersFor returns the limiters a send from sender passes.
func (e *Engine) limitersFor(channel *limiter, sender string) []*limiter {
	if l := e.limSender[sender]; l != nil && sender != "" {
		return []*limiter{channel, l}
	}
	return []*limiter{channel}
}

// contentProblem turns a render compile error into a Problem.
func contentProblem(field string, err error) Problem {
	if errors.Is(err, render.ErrEmptyBody) || errors.Is(err, render.ErrEmptySubject) {
		return Problem{Code: ProblemEmptyBody, Field: field, Message: err.Error()}
	}
	var uf *render.UnknownFieldsError
	if errors.As(err, &uf) && errors.Is(err, render.ErrPHIField) {
		p := Problem{Code: ProblemPHIField, Field: field, Message: "merge fields may not put clinical information in a message (minimum necessary): " + err.Error()}
		for _, f := range uf.PHIFields() {
			p.Fields = append(p.Fields, f.Key)
		}
		return p
	}
	if errors.As(err, &uf) {
		p := Problem{Code: ProblemUnknownFields, Field: field, Message: err.Error()}
		for _, f := range uf.Fields {
			p.Fields = append(p.Fields, f.Key)
		}
		return p
	}
	var ae *render.AttachmentError
	var ie *render.ImageError
	if errors.As(err, &ae) || errors.As(err, &ie) {
		return Problem{Code: ProblemAttachments, Field: field, Message: err.Error()}
	}
	return Problem{Code: ProblemContent, Field: field, Message: err.Error()}
}

func (e *Engine) checkCohorts(ctx context.Context, sb *store.Blast) []Problem {
	if len(sb.CohortIDs) == 0 {
		return []Problem{{Code: ProblemNoCohorts, Field: "CohortIDs", Message: "choose at least one cohort"}}
	}
	var probs []Problem
	for _, id := range sb.CohortIDs {
		if _, err := e.cs.Cohort(ctx, sb.OrgID, id); err != nil {
			probs = append(probs, Problem{Code: ProblemUnknownCohort, Field: "CohortIDs", Message: fmt.Sprintf("cohort %s: %v", id, err)})
		}
	}
	return probs
}

// preparedFor returns the compiled form of a sending blast, cached.
func (e *Engine) preparedFor(ctx context.Context, sb *store.Blast) (*prepared, error) {
	e.prepMu.Lock()
	p := e.prepared[sb.ID]
	if p != nil && p.paused.Load() && sb.Status != store.BlastPaused {
		// Paused here, resumed by another process: compile afresh.
		delete(e.prepared, sb.ID)
		p = nil
	}
	e.prepMu.Unlock()
	if p != nil {
		return p, nil
	}
	p, err := e.compile(ctx, sb, false)
	if err != nil {
		return nil, err
	}
	e.prepMu.Lock()
	e.prepared[sb.ID] = p
	e.prepMu.Unlock()
	return p, nil
}

func (e *Engine) forget(blastID string) {
	e.prepMu.Lock()
	delete(e.prepared, blastID)
	e.prepMu.Unlock()
}

// markCancelled tells this process's workers to stop sending the blast.
func (e *Engine) markCancelled(blastID string) {
	e.prepMu.Lock()
	if p := e.prepared[blastID]; p != nil {
		p.cancelled.Store(true)
	}
	delete(e.prepared, blastID)
	e.prepMu.Unlock()
}
