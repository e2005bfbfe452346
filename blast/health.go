package blast

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/eligibility"
	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/render"
	"github.com/carecast/carecast/store"
)

// The conditions of the TCPA healthcare-message exemption the engine
// enforces for a Draft.HealthcareExempt blast (compliance.md SM-02; FCC
// 15-72): texts of at most ExemptMaxChars characters, at most
// ExemptPerDay a day and ExemptPerWeek in a rolling week per number.
const (
	ExemptMaxChars = 160
	ExemptPerDay   = 1
	ExemptPerWeek  = 3
)

// ErrExemptFrequencyCap is the class of every *ExemptFrequencyError.
var ErrExemptFrequencyCap = errors.New("blast: healthcare-exemption frequency cap")

// ExemptFrequencyError says that one more healthcare-exempt text to a
// number would break the exemption's frequency condition (compliance.md
// SM-02). It carries the counts, never the number.
type ExemptFrequencyError struct {
	// Day and Week are the texts the number got in the last 24 hours and
	// the last 7 days.
	Day, Week int
}

// Error implements error.
func (e *ExemptFrequencyError) Error() string {
	return fmt.Sprintf("blast: healthcare-exemption frequency cap: at most %d text a day and %d a week per number; %d in the last 24 h, %d in the last 7 days",
		ExemptPerDay, ExemptPerWeek, e.Day, e.Week)
}

// Unwrap returns ErrExemptFrequencyCap.
func (e *ExemptFrequencyError) Unwrap() error { return ErrExemptFrequencyCap }

// CheckExemptFrequency reports whether one more healthcare-exempt text
// from organization orgID may go to the number addr (E.164) now. It
// returns nil when it may, an *ExemptFrequencyError (matching
// ErrExemptFrequencyCap) when the number already got ExemptPerDay texts
// in 24 hours or ExemptPerWeek in 7 days, or the store's error. Every
// transactional text the organization sent to the number counts, exempt
// or not: the store does not tell them apart, so the count can only be
// too high, never too low. The engine applies the same check before each
// text of a HealthcareExempt blast; it needs a store that implements
// store.SentCounter.
func (e *Engine) CheckExemptFrequency(ctx context.Context, orgID, addr string) error {
	day, week, err := e.exemptCounts(ctx, orgID, []string{addr})
	if err != nil {
		return err
	}
	if day[addr] >= ExemptPerDay || week[addr] >= ExemptPerWeek {
		return &ExemptFrequencyError{Day: day[addr], Week: week[addr]}
	}
	return nil
}

// exemptCounts returns the organization's transactional texts sent to
// each of addrs in the last day and the last week.
func (e *Engine) exemptCounts(ctx context.Context, orgID string, addrs []string) (day, week map[string]int, err error) {
	if e.counter == nil {
		return nil, nil, errors.New("blast: the store does not implement store.SentCounter; healthcare-exempt texts cannot be counted")
	}
	now := e.now()
	if day, err = e.counter.SentCounts(ctx, orgID, carecast.SMS, carecast.Transactional, addrs, now.Add(-24*time.Hour)); err == nil {
		week, err = e.counter.SentCounts(ctx, orgID, carecast.SMS, carecast.Transactional, addrs, now.Add(-7*24*time.Hour))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("blast: checking the healthcare-exemption frequency: %w", err)
	}
	return day, week, nil
}

// batchExemptCounts reads, once per claimed batch, the counts of the
// batch's numbers.
func (e *Engine) batchExemptCounts(ctx context.Context, p *prepared, decs []eligibility.Decision) (day, week map[string]int, err error) {
	var addrs []string
	for _, d := range decs {
		if d.WillSend() {
			addrs = append(addrs, d.Address)
		}
	}
	if len(addrs) == 0 {
		return map[string]int{}, map[string]int{}, nil
	}
	return e.exemptCounts(ctx, p.orgID, addrs)
}

// contentText is one piece of a draft's text the content checks read.
type contentText struct {
	field, text string
}

// texts returns the draft's texts on its channel.
func texts(ch carecast.Channel, sms *render.SMSContent, email *render.EmailContent, prefix string) []contentText {
	switch {
	case ch == carecast.SMS && sms != nil:
		return []contentText{{prefix + "SMS.Body", sms.Body}}
	case ch == carecast.Email && email != nil:
		return []contentText{{prefix + "Email.Subject", email.Subject}, {prefix + "Email.PreviewText", email.PreviewText}, {prefix + "Email.Body", email.Body}}
	}
	return nil
}

// describeFindings lists findings for a Problem message: the flagged
// words as the author wrote them, at most five.
func describeFindings(fs []render.Finding) string {
	var b strings.Builder
	for i, f := range fs {
		if i == 5 {
			fmt.Fprintf(&b, " and %d more", len(fs)-5)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q (%s)", f.Term, strings.ReplaceAll(string(f.Kind), "_", " "))
	}
	return b.String()
}

// checkHealth applies the HIPAA and TCPA rules on content to a compiled
// blast: sensitive content needs an approver (HI-01), a PHI-bearing blast
// needs a BAA-covered provider and a PHI-free portal notice (HI-05,
// HI-08), and a healthcare-exempt text its conditions (SM-02). It fills
// p's fields and returns the problems.
func (e *Engine) checkHealth(b *Blast, p *prepared) []Problem {
	var probs problems
	// Only an approval of exactly this content and audience counts.
	if approvalCovers(b.approval, b) {
		p.phiApprovedBy = b.approval.By
	}
	probs = append(probs, checkBasis(b)...)
	p.cls.RequireAuthorization = hipaaBasis(b.HIPAABasis, b.Purpose) == BasisAuthorizedMarketing
	for _, t := range texts(b.Channel, b.SMS, b.Email, "") {
		fs := render.ScanSensitive(t.text)
		p.sensitive += len(fs)
		switch {
		case len(fs) == 0 || p.phiApprovedBy != "":
		case b.approval != nil:
			probs.add(ProblemSensitiveContent, t.field, "carries sensitive clinical information: "+describeFindings(fs)+
				"; the approval given covers another version of the content or audience: have a privileged user approve this one (PHIApprovedBy)")
		default:
			probs.add(ProblemSensitiveContent, t.field, "carries sensitive clinical information: "+describeFindings(fs)+
				"; remove it, or have a privileged user approve it (PHIApprovedBy)")
		}
	}
	if b.Channel == carecast.Email && b.Purpose == carecast.Transactional && b.Email != nil {
		probs = append(probs, mixedCommercial(b.Email)...)
	}
	if b.PHI {
		probs = append(probs, e.checkPHI(b, p)...)
	}
	if b.HealthcareExempt {
		probs = append(probs, e.checkExempt(b, p)...)
	}
	return probs
}

// mixedCommercial flags a transactional email whose subject or preview
// text advertises (compliance.md EM-06 test 3): what the recipient reads
// first decides whether a mixed message is commercial (16 CFR 316.3).
func mixedCommercial(c *render.EmailContent) []Problem {
	var probs []Problem
	for _, t := range []contentText{{"Email.Subject", c.Subject}, {"Email.PreviewText", c.PreviewText}} {
		var ads []render.Finding
		for _, f := range render.ScanExemptContent(t.text) {
			if f.Kind == render.FindingAdvertising {
				ads = append(ads, f)
			}
		}
		if len(ads) > 0 {
			probs = append(probs, Problem{Code: ProblemMixedCommercial, Field: t.field,
				Message: "reads as an advertisement (" + describeFindings(ads) + "): CAN-SPAM treats the email as commercial, so send it as marketing (postal address, unsubscribe, consent) or take the offer out"})
		}
	}
	return probs
}

// checkPHI checks a PHI-bearing blast and compiles its portal notice.
func (e *Engine) checkPHI(b *Blast, p *prepared) []Problem {
	var probs problems
	p.phi = true
	var sender any
	switch b.Channel {
	case carecast.SMS:
		sender = e.cfg.SMS
	case carecast.Email:
		sender = e.cfg.Email
	}
	if sender != nil && !provider.CoversPHI(sender) {
		probs.add(ProblemNoBAA, "PHI", fmt.Sprintf("the %s provider is not covered by a BAA for PHI (provider.BAACoverage); send PHI-bearing messages only through a covered provider", b.Channel))
	}
	field := "PortalSMS"
	if b.Channel == carecast.Email {
		field = "PortalEmail"
	}
	for _, t := range texts(b.Channel, b.PortalSMS, b.PortalEmail, "Portal") {
		if fs := render.ScanSensitive(t.text); len(fs) > 0 {
			probs.add(ProblemPortalNotice, t.field, "the portal notice goes to patients who did not accept the channel's risk and must carry no clinical information: "+describeFindings(fs))
		}
	}
	switch b.Channel {
	case carecast.SMS:
		switch {
		case b.PortalSMS == nil || strings.TrimSpace(b.PortalSMS.Body) == "":
			probs.add(ProblemPortalNotice, field, "a PHI-bearing text needs a PHI-free portal notice for patients who did not acknowledge that texts are not encrypted")
		case len(b.PortalSMS.Images) > 0:
			probs.add(ProblemPortalNotice, field+".Images", "the portal notice is text only")
		default:
			t, err := render.CompileSMS(*b.PortalSMS, b.Purpose, p.org)
			if err != nil {
				probs = append(probs, portalProblem(field, err))
				break
			}
			p.portalSMS, p.bytes = t, p.bytes+int64(len(b.PortalSMS.Body)+len(b.PortalSMS.OptOutText))
		}
	case carecast.Email:
		switch {
		case b.PortalEmail == nil || strings.TrimSpace(b.PortalEmail.Subject) == "" || strings.TrimSpace(b.PortalEmail.Body) == "":
			probs.add(ProblemPortalNotice, field, "a PHI-bearing email needs a PHI-free portal notice (subject and body) for patients who did not acknowledge that email is not encrypted")
		case len(b.PortalEmail.Attachments) > 0:
			probs.add(ProblemPortalNotice, field+".Attachments", "the portal notice carries no attachments")
		default:
			t, err := render.CompileEmail(*b.PortalEmail, b.Purpose, p.org)
			if err != nil {
				probs = append(probs, portalProblem(field, err))
				break
			}
			n := compiledEmailSize(t, &p.org)
			if n > EmailMaxMessageBytes {
				probs.add(ProblemTooLarge, field, emailTooLarge(n))
				break
			}
			p.portalEmail, p.bytes = t, p.bytes+n
			if p.email != nil {
				p.portalLinks = len(p.email.Links())
			}
		}
	}
	return probs
}

// portalProblem reports a portal notice that does not compile; a PHI
// merge field keeps its own code.
func portalProblem(field string, err error) Problem {
	pr := contentProblem(field, err)
	if pr.Code != ProblemPHIField {
		pr.Code = ProblemPortalNotice
	}
	return pr
}

// checkExempt checks the healthcare-message exemption's conditions that
// the content decides; the frequency condition is applied per recipient.
func (e *Engine) checkExempt(b *Blast, p *prepared) []Problem {
	var probs problems
	add := func(field, msg string) { probs.add(ProblemExempt, field, msg) }
	if b.Channel != carecast.SMS {
		add("HealthcareExempt", "the healthcare-message exemption covers texts only")
		return probs
	}
	if b.Purpose == carecast.Marketing {
		add("HealthcareExempt", "a healthcare-exempt text may not be marketing")
	}
	if e.counter == nil {
		add("HealthcareExempt", "the store does not implement store.SentCounter, so the exemption's frequency limit cannot be enforced")
	}
	if b.SMS == nil {
		return probs
	}
	if len(b.SMS.Images) > 0 {
		add("SMS.Images", "a healthcare-exempt message is a plain text: remove the images")
	}
	if b.SMS.OptOutLine != nil && !*b.SMS.OptOutLine {
		add("SMS.OptOutLine", "a healthcare-exempt text must offer an easy opt-out: keep the opt-out line")
	}
	if fs := render.ScanExemptContent(b.SMS.Body); len(fs) > 0 {
		add("SMS.Body", "a healthcare-exempt text may not carry billing, collection or advertising content: "+describeFindings(fs))
	}
	if !strings.Contains(b.SMS.Body, "{{organization_name") && !namesPractice(b.SMS.Body, &p.org) {
		add("SMS.Body", "a healthcare-exempt text must name the practice: add @Organization name")
	}
	if p.sms != nil {
		if n := p.sms.Preview().Characters; n > ExemptMaxChars {
			add("SMS.Body", fmt.Sprintf("a healthcare-exempt text may have at most %d characters; this one has %d with the opt-out line", ExemptMaxChars, n))
		}
	}
	p.exempt = true
	return probs
}

// exemptSMS returns the content compiled for a healthcare-exempt blast:
// the opt-out line is on unless the author turned it off (a problem
// reported by checkExempt).
func exemptSMS(c render.SMSContent) render.SMSContent {
	if c.OptOutLine == nil {
		on := true
		c.OptOutLine = &on
	}
	return c
}

// auditContentApproval records, when a blast is sent, an urgent blast's
// quiet-hours bypass and who approved its flagged content.
func (e *Engine) auditContentApproval(ctx context.Context, p *prepared) {
	if p.urgent {
		e.audit(ctx, store.AuditEntry{OrgID: p.orgID, Action: "blast.urgent_bypass", BlastID: p.id, Detail: "quiet hours bypassed"})
	}
	if p.sensitive > 0 && p.phiApprovedBy != "" {
		e.audit(ctx, store.AuditEntry{OrgID: p.orgID, Actor: p.phiApprovedBy, Action: "blast.phi_approved", BlastID: p.id,
			Detail: fmt.Sprintf("findings=%d phi=%t exempt=%t", p.sensitive, p.phi, p.exempt)})
	}
}

// HIPAABasis is a blast's basis under the HIPAA marketing rule
// (compliance.md HI-06): why the communication needs no authorization,
// or that it has one.
type HIPAABasis string

// The HIPAA bases. The zero value is the purpose's default
// (Blast.HIPAABasis: treatment for transactional, own services for
// marketing).
const (
	// BasisTreatment: treatment or care coordination (appointment
	// reminders, care instructions); not marketing.
	BasisTreatment HIPAABasis = "treatment"
	// BasisRefillReminder: a refill reminder about a drug currently
	// prescribed; a payment for it may only cover its cost.
	BasisRefillReminder HIPAABasis = "refill_reminder"
	// BasisOwnServices: describes the practice's own health-related
	// products or services, with no financial remuneration from a third
	// party.
	BasisOwnServices HIPAABasis = "own_services_no_remuneration"
	// BasisAuthorizedMarketing: marketing that needs, and is sent only
	// with, each patient's HIPAA authorization.
	BasisAuthorizedMarketing HIPAABasis = "authorized_marketing"
)

// Valid reports whether b is one of the defined bases.
func (b HIPAABasis) Valid() bool {
	switch b {
	case BasisTreatment, BasisRefillReminder, BasisOwnServices, BasisAuthorizedMarketing:
		return true
	}
	return false
}

// hipaaBasis returns the blast's basis, defaulted from its purpose.
func hipaaBasis(b HIPAABasis, pu carecast.Purpose) HIPAABasis {
	if b != "" {
		return b
	}
	if pu == carecast.Marketing {
		return BasisOwnServices
	}
	return BasisTreatment
}

// checkBasis validates the HIPAA basis against the purpose and sponsor
// (compliance.md HI-06 test 1).
func checkBasis(b *Blast) []Problem {
	basis := hipaaBasis(b.HIPAABasis, b.Purpose)
	switch {
	case !basis.Valid():
		return []Problem{{Code: ProblemHIPAABasis, Field: "HIPAABasis", Message: "unknown HIPAA basis (treatment, refill_reminder, own_services_no_remuneration or authorized_marketing)"}}
	case b.SponsorPaid && (basis == BasisTreatment || basis == BasisOwnServices):
		return []Problem{{Code: ProblemHIPAABasis, Field: "HIPAABasis", Message: fmt.Sprintf("a sponsor-paid communication cannot rely on the %s exception: HIPAA makes it marketing that needs the patients' authorization (authorized_marketing)", basis)}}
	case basis == BasisAuthorizedMarketing && b.Purpose != carecast.Marketing:
		return []Problem{{Code: ProblemHIPAABasis, Field: "HIPAABasis", Message: "authorized marketing is marketing: mark the blast as marketing so consent and opt-outs apply"}}
	}
	return nil
}

// namesPractice reports whether body writes out the practice's name or
// its message name.
func namesPractice(body string, org *carecast.Organization) bool {
	lower := strings.ToLower(body)
	for _, n := range []string{org.Name, org.MessageName} {
		if n != "" && strings.Contains(lower, strings.ToLower(n)) {
			return true
		}
	}
	return false
}

// WarningSenderNameRevealsCondition is the Warnings code for a practice
// whose name, shown in messages, reveals a condition (compliance.md
// HI-02).
const WarningSenderNameRevealsCondition ProblemCode = "sender_name_reveals_condition"

// Warnings returns advice on a blast that does not prevent sending, for
// the editor to show next to the draft. Today it reports
// WarningSenderNameRevealsCondition when the organization's name as
// messages show it (Organization.DisplayName) names a condition
// ("Lakeside Fertility Center", "… Oncology", "… Behavioral Health";
// render.ScanSensitive) and the blast's content shows it: set
// Organization.MessageName to a neutral name ("Lakeside Health"), which
// every message then uses.
func (e *Engine) Warnings(ctx context.Context, orgID, blastID string) ([]Problem, error) {
	sb, err := e.blast(ctx, orgID, blastID)
	if err != nil {
		return nil, err
	}
	b, err := fromStore(&sb)
	if err != nil {
		return nil, err
	}
	org, err := e.org(ctx, orgID)
	if err != nil {
		return nil, err
	}
	var out []Problem
	fs := render.ScanSensitive(org.DisplayName())
	if len(fs) == 0 {
		return out, nil
	}
	shows := false
	for _, t := range texts(b.Channel, b.SMS, b.Email, "") {
		shows = shows || strings.Contains(t.text, "{{organization_name") || namesPractice(t.text, &org)
	}
	if shows {
		out = append(out, Problem{Code: WarningSenderNameRevealsCondition, Field: "Organization.MessageName",
			Message: "the practice name shown to patients reveals a condition (" + describeFindings(fs) + "); set a neutral message name, such as the practice's first word and \"Health\""})
	}
	return out, nil
}
