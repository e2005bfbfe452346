package blast

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/render"
	"github.com/carecast/carecast/store"
)

// Limits of a draft. CreateDraft and UpdateDraft refuse a draft over any
// of them, and Send checks them again with the same code (see
// "Limits" in the package documentation), so what can be saved is what
// can be sent, as far as sizes go. The render package's own limits apply
// too: render.SMSMaxBodyLength, render.MMSMaxImages and
// render.MMSMaxImageBytes, render.EmailMaxBodyBytes,
// render.AttachmentMaxCount, render.AttachmentMaxBytes.
const (
	// NameMaxChars is the longest blast name, in characters (runes).
	NameMaxChars = 200
	// CohortsMax is the most cohorts one blast may target.
	CohortsMax = 50
	// IDMaxBytes bounds an identifier the host or the user supplies: a
	// cohort ID, a patient ID, Draft.CreatedBy and Draft.PHIApprovedBy.
	IDMaxBytes = 255
	// SenderMaxBytes bounds Draft.From and Draft.ReplyTo (an email
	// address is at most 254 bytes).
	SenderMaxBytes = 320
	// SMSMaxSourceBytes bounds an SMS body as written, merge tokens and
	// opt-out text included. The message a patient gets is bounded by
	// render.SMSMaxBodyLength (1,600 characters); the source may be
	// longer than that only by its merge tokens.
	SMSMaxSourceBytes = 16 << 10
	// ImageURLMaxBytes bounds the URL an MMS image is fetched from.
	ImageURLMaxBytes = 2048
	// EmailMaxSubjectBytes bounds an email subject as written (RFC 5322
	// limits a header line to 998 characters).
	EmailMaxSubjectBytes = 998
	// EmailMaxPreviewBytes bounds an email's preview text as written.
	EmailMaxPreviewBytes = 998
	// EmailMaxMessageBytes caps a compiled email: subject, preview text,
	// HTML and text parts and the base64-encoded attachments together
	// (the size a provider's message limit counts). It is the largest
	// message Amazon SES accepts (40 MB) and lets one attachment under
	// render.AttachmentMaxBytes through; a provider that declares a
	// smaller limit (provider.Limits) keeps its own. A draft is checked
	// against a lower bound (its sources and encoded attachments) when
	// saved, and the compiled email against the cap when sent.
	EmailMaxMessageBytes = 40 << 20
)

// checkDraft returns the problems no draft may have, whatever its state
// of completion: an unknown channel, purpose, HIPAA basis or email
// format, a name, identifier or text over its limit or holding control
// characters, images and attachments Send would refuse (the same
// render.ValidateImages and render.ValidateAttachments calls, with the
// provider's message limit), and email content whose sources and
// encoded attachments already exceed EmailMaxMessageBytes. CreateDraft
// and UpdateDraft refuse a draft with any; compile (Send) reports them
// before compiling anything.
func (e *Engine) checkDraft(d *Draft) problems {
	var ps problems
	checkName(&ps, d.Name)
	if !d.Channel.Valid() {
		ps.add(ProblemChannel, "Channel", `must be "sms" or "email"`)
	}
	if !d.Purpose.Valid() {
		ps.add(ProblemPurpose, "Purpose", `must be "marketing" or "transactional"`)
	}
	if d.HIPAABasis != "" && !d.HIPAABasis.Valid() {
		ps.add(ProblemHIPAABasis, "HIPAABasis", "unknown HIPAA basis (treatment, refill_reminder, own_services_no_remuneration or authorized_marketing)")
	}
	if !d.Households.Valid() {
		ps.add(ProblemHouseholds, "Households", `must be "one", "each" or empty (one for marketing, each for transactional)`)
	}
	if len(d.CohortIDs) > CohortsMax {
		ps.add(ProblemTooLarge, "CohortIDs", fmt.Sprintf("at most %d cohorts", CohortsMax))
	} else {
		for i, id := range d.CohortIDs {
			if id == "" || !validID(id) {
				ps.add(ProblemUnknownCohort, "CohortIDs", fmt.Sprintf("cohort %d is not a valid cohort ID (1 to %d bytes of printable text)", i, IDMaxBytes))
				break // the first is enough: the message stays short
			}
		}
	}
	for _, f := range []struct{ field, v string }{{"CreatedBy", d.CreatedBy}, {"PHIApprovedBy", d.PHIApprovedBy}} {
		if f.v != "" && !validID(f.v) {
			ps.add(ProblemInvalidText, f.field, fmt.Sprintf("must be at most %d bytes of printable text", IDMaxBytes))
		}
	}
	for _, f := range []struct{ field, v string }{{"From", d.From}, {"ReplyTo", d.ReplyTo}} {
		checkText(&ps, f.field, f.v, SenderMaxBytes, false)
	}
	var limit int64
	if l, ok := e.cfg.Email.(provider.Limits); ok {
		limit = l.MaxMessageBytes()
	}
	checkSMS(&ps, "SMS", d.SMS)
	checkSMS(&ps, "PortalSMS", d.PortalSMS)
	checkEmail(&ps, "Email", d.Email, limit)
	checkEmail(&ps, "PortalEmail", d.PortalEmail, limit)
	return ps
}

// checkName checks a blast name (already trimmed).
func checkName(ps *problems, name string) {
	switch {
	case !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0:
		ps.add(ProblemName, "Name", "must be printable text: no control characters")
	case utf8.RuneCountInString(name) > NameMaxChars:
		ps.add(ProblemName, "Name", fmt.Sprintf("at most %d characters", NameMaxChars))
	}
}

// validID reports whether id is at most IDMaxBytes of valid UTF-8 without
// control characters.
func validID(id string) bool {
	return len(id) <= IDMaxBytes && utf8.ValidString(id) && strings.IndexFunc(id, unicode.IsControl) < 0
}

// checkText checks a text field: at most maxBytes bytes of valid UTF-8,
// and no control characters other than tab and line breaks (none at all
// unless multiline).
func checkText(ps *problems, field, s string, maxBytes int, multiline bool) {
	if len(s) > maxBytes {
		ps.add(ProblemTooLarge, field, fmt.Sprintf("%d bytes, at most %d", len(s), maxBytes))
		return
	}
	bad := func(r rune) bool {
		return unicode.IsControl(r) && !(multiline && (r == '\t' || r == '\n' || r == '\r'))
	}
	if !utf8.ValidString(s) || strings.IndexFunc(s, bad) >= 0 {
		ps.add(ProblemInvalidText, field, "holds control characters or invalid UTF-8")
	}
}

// checkSMS checks SMS content (field is "SMS" or "PortalSMS").
func checkSMS(ps *problems, field string, c *render.SMSContent) {
	if c == nil {
		return
	}
	if n := len(c.Body) + len(c.OptOutText); n > SMSMaxSourceBytes {
		ps.add(ProblemTooLarge, field+".Body", fmt.Sprintf("%d bytes with the opt-out text, at most %d (a text is at most %d characters)", n, SMSMaxSourceBytes, render.SMSMaxBodyLength))
	} else {
		checkText(ps, field+".Body", c.Body, SMSMaxSourceBytes, true)
		checkText(ps, field+".OptOutText", c.OptOutText, SMSMaxSourceBytes, false)
	}
	if len(c.Images) > 0 {
		if err := render.ValidateImages(c.Images); err != nil {
			ps.add(ProblemAttachments, field+".Images", imageMessage(err))
		}
		for i, im := range c.Images[:min(len(c.Images), render.MMSMaxImages)] {
			if len(im.URL) > ImageURLMaxBytes || len(im.Filename) > render.AttachmentMaxFilenameBytes {
				ps.add(ProblemTooLarge, field+".Images", fmt.Sprintf("image %d: a URL is at most %d bytes, a file name %d", i, ImageURLMaxBytes, render.AttachmentMaxFilenameBytes))
			}
		}
	}
}

// imageMessage words render.ValidateImages's errors (image indexes and
// limits, never content).
func imageMessage(err error) string {
	var msgs []string
	var ie *render.ImageError
	for _, e := range unjoin(err) {
		if errors.As(e, &ie) {
			msgs = append(msgs, strings.TrimPrefix(ie.Error(), "render: "))
		}
	}
	if len(msgs) == 0 {
		return "invalid images"
	}
	return strings.Join(msgs, "; ")
}

// unjoin returns the errors an errors.Join holds, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// checkEmail checks email content (field is "Email" or "PortalEmail")
// against the limits Send enforces; limit is the provider's message
// limit (0 when it declares none).
func checkEmail(ps *problems, field string, c *render.EmailContent, limit int64) {
	if c == nil {
		return
	}
	checkText(ps, field+".Subject", c.Subject, EmailMaxSubjectBytes, false)
	checkText(ps, field+".PreviewText", c.PreviewText, EmailMaxPreviewBytes, false)
	if len(c.Body) > render.EmailMaxBodyBytes {
		ps.add(ProblemTooLarge, field+".Body", fmt.Sprintf("%d bytes, at most %d", len(c.Body), render.EmailMaxBodyBytes))
	} else {
		checkText(ps, field+".Body", c.Body, render.EmailMaxBodyBytes, true)
	}
	switch c.Format {
	case "", render.FormatMarkdown, render.FormatBlocks, render.FormatHTML:
	default:
		ps.add(ProblemContent, field+".Format", `must be "markdown", "blocks" or "html"`)
	}
	if err := c.Style.Validate(); err != nil {
		ps.add(ProblemContent, field+".Style", strings.TrimPrefix(err.Error(), "render: "))
	}
	if len(c.Attachments) > 0 {
		if err := render.ValidateAttachments(c.Attachments, limit); err != nil {
			ps.add(ProblemAttachments, field+".Attachments", strings.TrimPrefix(err.Error(), "render: "))
		}
	}
	// A lower bound of the compiled size: what Send measures exactly.
	if n := len(c.Subject) + len(c.PreviewText) + len(c.Body) + int(render.AttachmentsEncodedSize(c.Attachments)); n > EmailMaxMessageBytes {
		ps.add(ProblemTooLarge, field, emailTooLarge(int64(n)))
	}
}

// emailTooLarge words a compiled email over EmailMaxMessageBytes.
func emailTooLarge(n int64) string {
	return fmt.Sprintf("the email would be %d bytes with its attachments encoded, at most %d", n, EmailMaxMessageBytes)
}

// compiledEmailSize measures a compiled email as a provider counts it:
// the parts rendered with every merge field empty, and the attachments
// encoded.
func compiledEmailSize(t *render.EmailTemplate, org *carecast.Organization) int64 {
	r := t.Render(render.Data{Patient: &carecast.Patient{}, Org: org}, nil)
	return int64(len(r.Subject)+len(r.PreviewText)+len(r.HTML)+len(r.Text)) + render.AttachmentsEncodedSize(t.Attachments())
}

// validBlastID reports whether id can name a blast: the engine's IDs are
// UUIDs, and anything holding control characters or invalid UTF-8, or
// longer than IDMaxBytes, is never one (and some stores refuse to look
// it up: PostgreSQL rejects a NUL byte).
func validBlastID(id string) bool { return id != "" && validID(id) }

// notFound is the error for a blast ID that cannot exist; the ID is not
// repeated.
func notFound(string) error { return fmt.Errorf("blast: not a blast ID: %w", ErrNotFound) }

// blast reads a blast of the organization, content included; an ID that
// cannot name a blast is ErrNotFound without asking the store.
func (e *Engine) blast(ctx context.Context, orgID, blastID string) (store.Blast, error) {
	if !validBlastID(blastID) {
		return store.Blast{}, notFound(blastID)
	}
	sb, err := e.st.Blast(ctx, orgID, blastID)
	if err != nil {
		return store.Blast{}, fmt.Errorf("blast: %w", err)
	}
	return sb, nil
}

// header reads a blast of the organization without its content, for the
// status, results and tracking paths: through store.BlastHeaders when the
// store implements it, so a blast's attachments are not read for a
// status check.
func (e *Engine) header(ctx context.Context, orgID, blastID string) (store.Blast, error) {
	if !validBlastID(blastID) {
		return store.Blast{}, notFound(blastID)
	}
	var sb store.Blast
	var err error
	if h, ok := e.st.(store.BlastHeaders); ok {
		sb, err = h.BlastHeader(ctx, orgID, blastID)
	} else {
		sb, err = e.st.Blast(ctx, orgID, blastID)
		sb.Content = nil
	}
	if err != nil {
		return store.Blast{}, fmt.Errorf("blast: %w", err)
	}
	return sb, nil
}
