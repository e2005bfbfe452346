package blast

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
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
	// collapse: one message per address (Draft.Households).
	collapse bool

	// PHI-bearing blasts (compliance.md HI-05, HI-08): the portal notice
	// sent to patients without the channel's acknowledgement.
	phi         bool
	portalSMS   *render.SMSTemplate
	portalEmail *render.EmailTemplate
	// portalLinks is the link index of the portal notice's first link:
	// click tokens index the email's links, then the notice's (links).
	portalLinks int
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

	// bytes estimates the memory the prepared blast holds (compiled
	// parts, images, attachments), which the compiled-blast cache counts
	// against Config.CompiledCacheBytes.
	bytes int64
}

// preparedOverhead is the memory counted for a prepared blast besides its
// content: the classifier, limiters and templates' bookkeeping.
const preparedOverhead = 16 << 10

// links returns the link targets that click tokens index: the email's
// links, then its portal notice's.
func (p *prepared) links() []string {
	var out []string
	if p.email != nil {
		out = append(out, p.email.Links()...)
	}
	if p.portalEmail != nil {
		out = append(out, p.portalEmail.Links()...)
	}
	return out
}

// compile validates a blast's content and compiles it, returning every
// problem found (a *ValidationError) or the prepared blast.
func (e *Engine) compile(ctx context.Context, sb *store.Blast, checkCohorts bool) (*prepared, error) {
	b, err := fromStore(sb)
	if err != nil {
		return nil, err
	}
	return e.compileDecoded(ctx, sb, &b, checkCohorts)
}

// compileDecoded is compile of a blast whose content b was already
// decoded from sb.
func (e *Engine) compileDecoded(ctx context.Context, sb *store.Blast, b *Blast, checkCohorts bool) (*prepared, error) {
	org, err := e.org(ctx, sb.OrgID)
	if err != nil {
		return nil, err
	}
	cls, err := eligibility.NewClassifier(&org)
	if err != nil {
		return nil, fmt.Errorf("blast: organization %s: %w", org.ID, err)
	}
	cls.RequirePEWC = e.cfg.RequirePEWC
	// The limits a draft is saved under, checked again before anything
	// is compiled: an oversized draft stored before they applied is
	// refused here, never compiled.
	if probs := e.checkDraft(&b.Draft); len(probs) > 0 {
		return nil, &ValidationError{BlastID: sb.ID, Problems: probs}
	}
	var probs problems
	p := &prepared{bytes: preparedOverhead, id: sb.ID, version: sb.Version, orgID: sb.OrgID, org: org, ch: sb.Channel, pu: sb.Purpose,
		from: b.From, replyTo: b.ReplyTo, cls: cls, collapse: b.Households.collapse(sb.Purpose)}
	if !p.pu.Valid() {
		probs.add(ProblemPurpose, "Purpose", "must be marketing or transactional")
	}
	if checkCohorts {
		cps, err := e.checkCohorts(ctx, sb)
		if err != nil {
			return nil, err
		}
		probs = append(probs, cps...)
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
			p.bytes += int64(len(content.Body) + len(content.OptOutText))
			for i, im := range t.Images() {
				p.bytes += int64(len(im.Data))
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
			n := compiledEmailSize(t, &org)
			if n > EmailMaxMessageBytes {
				probs.add(ProblemTooLarge, "Email", emailTooLarge(n))
				break
			}
			p.email, p.bytes = t, p.bytes+n
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
	probs = append(probs, e.checkHealth(b, p)...)
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

// checkCohorts reports a blast without cohorts, and each cohort that is
// not the organization's (deleted since it was chosen, or another
// organization's); a failing cohort store is an error, not a problem.
func (e *Engine) checkCohorts(ctx context.Context, sb *store.Blast) ([]Problem, error) {
	if len(sb.CohortIDs) == 0 {
		return []Problem{{Code: ProblemNoCohorts, Field: "CohortIDs", Message: "choose at least one cohort"}}, nil
	}
	var probs []Problem
	for i, id := range sb.CohortIDs {
		_, err := e.cs.Cohort(ctx, sb.OrgID, id)
		switch {
		case errors.Is(err, cohort.ErrNotFound):
			probs = append(probs, unknownCohort(i))
		case err != nil:
			return nil, fmt.Errorf("blast: reading cohort %d of blast %s: %w", i, sb.ID, err)
		}
	}
	return probs, nil
}

// unknownCohort is the problem of cohort i of a blast that is not the
// organization's.
func unknownCohort(i int) Problem {
	return Problem{Code: ProblemUnknownCohort, Field: "CohortIDs", Message: fmt.Sprintf("cohort %d does not exist (deleted since it was chosen?)", i)}
}
