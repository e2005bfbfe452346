package blast

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/render"
	"github.com/carecast/carecast/store"
)

// Status is a blast's lifecycle state.
type Status = store.BlastStatus

// The blast statuses (see store.BlastStatus).
const (
	StatusDraft     = store.BlastDraft
	StatusScheduled = store.BlastScheduled
	StatusSending   = store.BlastSending
	StatusCompleted = store.BlastCompleted
	StatusCancelled = store.BlastCancelled
	StatusPaused    = store.BlastPaused
)

// Draft is what the user composes: the editable part of a blast.
type Draft struct {
	// Name is the blast's name; blank generates one from the channel and
	// the creation time ("SMS blast – Mar 10, 2026 3:04 PM").
	Name string
	// CohortIDs are the audience: one or more cohorts.
	CohortIDs []string
	// Channel is carecast.SMS or carecast.Email.
	Channel carecast.Channel
	// Purpose is carecast.Marketing or carecast.Transactional; the zero
	// value means transactional.
	Purpose carecast.Purpose
	// SMS is the text content (SMS blasts).
	SMS *render.SMSContent
	// Email is the email content (email blasts).
	Email *render.EmailContent
	// From is the sender: a phone number or messaging-service ID for SMS
	// ("" uses the provider's default), or the From address for email.
	From string
	// ReplyTo is an optional Reply-To address for email.
	ReplyTo string
	// CreatedBy is the host's opaque ID of the staff user, or "".
	// CreateDraft fills a blank one from the context's actor (WithActor).
	CreatedBy string

	// HIPAABasis is the blast's basis under the HIPAA marketing rule (45
	// CFR 164.501, 164.508(a)(3); compliance.md HI-06). The zero value
	// means BasisTreatment for transactional blasts and
	// BasisOwnServices for marketing ones. BasisAuthorizedMarketing
	// sends only to patients with a HIPAA marketing authorization
	// (carecast.Consent.HIPAAMarketingAuthorization; the others are
	// skipped as no_hipaa_authorization), in addition to the channel's
	// opt-in.
	HIPAABasis HIPAABasis
	// SponsorPaid records that a third party pays for the communication
	// (a partner's product). Financial remuneration takes treatment and
	// own-services communications out of HIPAA's marketing exceptions, so
	// it needs BasisAuthorizedMarketing (or BasisRefillReminder, where
	// the payment only covers the cost of the reminder).
	SponsorPaid bool

	// Urgent marks a transactional text that may go at any hour (a
	// same-day closure, a safety notice): quiet hours hold every other
	// text (compliance.md TM-01). The bypass is audited when the blast
	// is sent. Marketing texts and email cannot be urgent.
	Urgent bool

	// PHI marks a PHI-bearing blast: its content carries protected health
	// information beyond the minimum a reminder needs (a result is ready,
	// a named procedure or medication). It is sent only through a
	// provider whose BAA covers PHI (provider.BAACoverage; compliance.md
	// HI-05; Send fails with a *ValidationError matching ErrNoBAA
	// otherwise), and only to patients who acknowledged the unencrypted
	// channel (carecast.Consent.InsecureChannelAck; HI-08): everyone else
	// receives the portal notice instead.
	PHI bool
	// PortalSMS (SMS blasts) and PortalEmail (email blasts) are the
	// PHI-free portal notice of a PHI-bearing blast ("You have a new
	// message from {{organization_name}} in your patient portal: …"),
	// required when PHI is set. It must pass the sensitive-content check
	// without approval, since it goes to patients who did not accept the
	// channel's risk.
	PortalSMS   *render.SMSContent
	PortalEmail *render.EmailContent
	// PHIApprovedBy, given to CreateDraft or UpdateDraft, approves now,
	// in the name of this privileged staff user (the host's ID), the
	// content that the sensitive-content check flags (ICD-10 codes, terms
	// such as "HIV" or "chemotherapy"; render.ScanSensitive; compliance.md
	// HI-01). Send refuses flagged content without an approval
	// (ProblemSensitiveContent) and writes the approval to the audit
	// trail when the blast is sent. Which users may approve is the host's
	// decision.
	//
	// It is an instruction, not state: Get and Duplicate return it empty,
	// so a draft read back and saved again never re-approves changed
	// content in someone's name. The approval recorded is
	// Blast.PHIApproval; it covers one version of the content and one
	// audience (see Approval): UpdateDraft keeps it only while neither
	// changes.
	PHIApprovedBy string
	// HealthcareExempt claims the TCPA healthcare-message exemption for
	// a transactional text (compliance.md SM-02), and makes the engine
	// enforce its conditions: a plain text (no images) of at most
	// ExemptMaxChars characters for every recipient, naming the
	// organization, with the opt-out line, without billing, collection
	// or advertising language (render.ScanExemptContent), and at most
	// ExemptPerDay texts a day and ExemptPerWeek a rolling week per
	// number (*ExemptFrequencyError; rows over the limit are held, not
	// dropped).
	HealthcareExempt bool
	// Households says whether patients sharing one phone number (SMS) or
	// email address (email) get one message between them (HouseholdsOne)
	// or one each (HouseholdsEach). The zero value is one for marketing
	// and one each for transactional blasts. Preview, Estimate and the
	// ledger apply it alike: the others are skipped as shared_address.
	// Another value is a *ValidationError (ProblemHouseholds).
	Households Households
}

// Blast is a blast as the engine reports it.
type Blast struct {
	// Draft holds the content and settings.
	Draft
	// ID and OrgID identify the blast.
	ID    string
	OrgID string
	// Status is the lifecycle state.
	Status Status
	// PHIApproval is the approval of the blast's flagged content, or nil
	// (see Draft.PHIApprovedBy).
	PHIApproval *Approval
	// DuplicatedFrom is the blast this one was duplicated from, or "".
	DuplicatedFrom string
	// CreatedAt, UpdatedAt, ScheduledAt, StartedAt, CompletedAt and
	// CancelledAt are the lifecycle times (zero when not reached).
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ScheduledAt time.Time
	StartedAt   time.Time
	CompletedAt time.Time
	CancelledAt time.Time

	// approval is the stored approval with its fingerprint.
	approval *approvalJSON
}

// newID returns a UUIDv7: time-ordered, so blast IDs append to store
// indexes.
func newID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString() // random v4 when the clock source fails
	}
	return id.String()
}

// contentJSON is the stored encoding of a Draft's content and settings
// (store.Blast.Content). Attachments are encoded once, apart from the
// email content (EmailAttachments), and the approval with the
// fingerprint of what it covers.
type contentJSON struct {
	SMS              *render.SMSContent   `json:"sms,omitempty"`
	Email            *render.EmailContent `json:"email,omitempty"`
	EmailAttachments []fileJSON           `json:"email_attachments,omitempty"`
	From             string               `json:"from,omitempty"`
	ReplyTo          string               `json:"reply_to,omitempty"`
	Urgent           bool                 `json:"urgent,omitempty"`
	HIPAABasis       HIPAABasis           `json:"hipaa_basis,omitempty"`
	SponsorPaid      bool                 `json:"sponsor_paid,omitempty"`
	PHI              bool                 `json:"phi,omitempty"`
	PortalSMS        *render.SMSContent   `json:"portal_sms,omitempty"`
	PortalEmail      *render.EmailContent `json:"portal_email,omitempty"`
	// LegacyApprovedBy is the approver of a blast stored before
	// approvals carried a fingerprint; it is read, never written.
	LegacyApprovedBy string        `json:"phi_approved_by,omitempty"`
	Approval         *approvalJSON `json:"phi_approval,omitempty"`
	HealthcareExempt bool          `json:"healthcare_exempt,omitempty"`
	Households       Households    `json:"households,omitempty"`
}

type fileJSON struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type,omitempty"`
	Data        []byte `json:"data"`
}

func encodeDraft(d *Draft, a *approvalJSON) ([]byte, error) {
	c := contentJSON{SMS: d.SMS, From: d.From, ReplyTo: d.ReplyTo,
		PHI: d.PHI, PortalSMS: d.PortalSMS, PortalEmail: d.PortalEmail, Approval: a,
		HealthcareExempt: d.HealthcareExempt, Urgent: d.Urgent, HIPAABasis: d.HIPAABasis, SponsorPaid: d.SponsorPaid,
		Households: d.Households}
	if d.Email != nil {
		// The attachments once, in EmailAttachments: render's
		// EmailContent would encode them again.
		email := *d.Email
		email.Attachments = nil
		c.Email = &email
		for _, a := range d.Email.Attachments {
			c.EmailAttachments = append(c.EmailAttachments, fileJSON{a.Filename, a.ContentType, a.Data})
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("blast: encoding content: %w", err)
	}
	return b, nil
}

func decodeDraft(b []byte, d *Draft) (*approvalJSON, error) {
	var c contentJSON
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	d.SMS, d.Email, d.From, d.ReplyTo = c.SMS, c.Email, c.From, c.ReplyTo
	d.PHI, d.PortalSMS, d.PortalEmail, d.HealthcareExempt = c.PHI, c.PortalSMS, c.PortalEmail, c.HealthcareExempt
	d.Urgent, d.HIPAABasis, d.SponsorPaid, d.Households = c.Urgent, c.HIPAABasis, c.SponsorPaid, c.Households
	if d.Email != nil {
		d.Email.Attachments = nil
		for _, a := range c.EmailAttachments {
			d.Email.Attachments = append(d.Email.Attachments, render.Attachment{Filename: a.Filename, ContentType: a.ContentType, Data: a.Data})
		}
	}
	if c.Approval == nil && c.LegacyApprovedBy != "" {
		return &approvalJSON{By: c.LegacyApprovedBy}, nil
	}
	return c.Approval, nil
}

// storedApproval reads only the approval of stored content.
func storedApproval(content []byte) *approvalJSON {
	var c struct {
		LegacyApprovedBy string        `json:"phi_approved_by"`
		Approval         *approvalJSON `json:"phi_approval"`
	}
	if len(content) == 0 || json.Unmarshal(content, &c) != nil {
		return nil
	}
	if c.Approval == nil && c.LegacyApprovedBy != "" {
		return &approvalJSON{By: c.LegacyApprovedBy}
	}
	return c.Approval
}

func toStore(orgID string, d *Draft, a *approvalJSON, sb *store.Blast) error {
	content, err := encodeDraft(d, a)
	if err != nil {
		return err
	}
	sb.OrgID = orgID
	sb.Name = d.Name
	sb.CohortIDs = slices.Clone(d.CohortIDs)
	sb.Channel = d.Channel
	sb.Purpose = d.Purpose
	sb.CreatedBy = d.CreatedBy
	sb.Content = content
	return nil
}

func fromStore(sb *store.Blast) (Blast, error) {
	var d Draft
	var a *approvalJSON
	if len(sb.Content) > 0 {
		var err error
		if a, err = decodeDraft(sb.Content, &d); err != nil {
			return Blast{}, fmt.Errorf("blast: decoding content of blast %s: %w", sb.ID, err)
		}
	}
	b := saved(sb, d, a)
	if a != nil && a.Fingerprint == "" && sb.Status == store.BlastDraft {
		// An approval stored before fingerprints, on a draft that may
		// have changed since: not reported (nor honoured, see
		// approvalCovers).
		b.PHIApproval = nil
	}
	return b, nil
}

// saved returns the blast stored as sb with the draft d its content
// decodes to and its stored approval a: after a save, without decoding
// the content again (an 8 MiB draft would be decoded on every save). The
// approval is reported as stored; Send and Add Recipients check that it
// still covers the content (approvalCovers).
func saved(sb *store.Blast, d Draft, a *approvalJSON) Blast {
	b := Blast{
		ID: sb.ID, OrgID: sb.OrgID, Status: sb.Status, DuplicatedFrom: sb.DuplicatedFrom,
		CreatedAt: sb.CreatedAt, UpdatedAt: sb.UpdatedAt, ScheduledAt: sb.ScheduledAt,
		StartedAt: sb.StartedAt, CompletedAt: sb.CompletedAt, CancelledAt: sb.CancelledAt,
		Draft: d, approval: a,
	}
	b.PHIApprovedBy = ""
	b.Name, b.CohortIDs, b.Channel, b.Purpose, b.CreatedBy = sb.Name, slices.Clone(sb.CohortIDs), sb.Channel, sb.Purpose, sb.CreatedBy
	if a != nil {
		b.PHIApproval = &Approval{By: a.By, At: a.At}
	}
	return b
}

// autoName generates a blast name from the channel and time, in the
// organization's time zone.
func autoName(ch carecast.Channel, at time.Time, loc *time.Location) string {
	label := "Blast"
	if ch.Valid() {
		label = ch.String() + " blast"
	}
	return label + " – " + at.In(loc).Format("Jan 2, 2006 3:04 PM")
}

func (d *Draft) normalize() {
	d.Name = strings.TrimSpace(d.Name)
	if d.Purpose == "" {
		d.Purpose = carecast.Transactional
	}
}

// CreateDraft saves a new draft blast for the organization and returns it.
// A blank name is generated from the channel and time. A draft may be
// incomplete (no cohorts or body yet: Send reports what is missing), but
// never holds what no blast may: an unknown channel, purpose, HIPAA basis
// or email format, or a name, text, image or attachment over the limits
// Send enforces (see "Limits" in the package documentation). Those are
// refused with a *ValidationError whose Op is OpSave, naming each field.
// A non-empty d.PHIApprovedBy approves the draft's flagged content (see
// Approval). An unknown organization is an error wrapping ErrNotFound.
func (e *Engine) CreateDraft(ctx context.Context, orgID string, d Draft) (Blast, error) {
	org, err := e.org(ctx, orgID)
	if err != nil {
		return Blast{}, err
	}
	d.normalize()
	if probs := e.checkDraft(&d); len(probs) > 0 {
		return Blast{}, &ValidationError{Op: OpSave, Problems: probs}
	}
	now := e.now()
	if d.Name == "" {
		d.Name = autoName(d.Channel, now, org.Location())
	}
	if d.CreatedBy == "" {
		d.CreatedBy = staffOf(ctx)
	}
	sb := store.Blast{ID: newID(), Status: store.BlastDraft, CreatedAt: now, UpdatedAt: now}
	a := approvalFor(&d, fingerprint(&d), nil, now)
	if err := toStore(orgID, &d, a, &sb); err != nil {
		return Blast{}, err
	}
	sb, err = e.st.CreateBlast(ctx, sb)
	if err != nil {
		return Blast{}, fmt.Errorf("blast: creating draft: %w", err)
	}
	e.log.Info("blast draft created", "org", orgID, "blast", sb.ID, "channel", string(sb.Channel))
	e.audit(ctx, store.AuditEntry{OrgID: orgID, Actor: d.CreatedBy, Action: "blast.created", BlastID: sb.ID,
		Detail: fmt.Sprintf("version=%d channel=%s purpose=%s%s", sb.Version, sb.Channel, sb.Purpose, approvalDetail(nil, a))})
	return saved(&sb, d, a), nil
}

// UpdateDraft replaces a draft's content and settings with d. A blank
// name keeps the current name, a blank CreatedBy the current creator. d is checked as by CreateDraft (a
// *ValidationError with Op OpSave). The recorded approval is kept only
// when the content and audience are unchanged, or replaced when
// d.PHIApprovedBy approves the new ones (see Approval). It returns an
// error wrapping ErrAlreadySent for a blast that is no longer a draft,
// and ErrNotFound for an unknown blast.
func (e *Engine) UpdateDraft(ctx context.Context, orgID, blastID string, d Draft) (Blast, error) {
	d.normalize()
	if probs := e.checkDraft(&d); len(probs) > 0 {
		return Blast{}, &ValidationError{Op: OpSave, BlastID: blastID, Problems: probs}
	}
	if !validBlastID(blastID) {
		return Blast{}, notFound(blastID)
	}
	fp := fingerprint(&d)
	var was, now *approvalJSON
	sb, err := e.updateBlast(ctx, orgID, blastID, func(sb *store.Blast) error {
		if sb.Status != store.BlastDraft {
			return statusErr(sb)
		}
		if d.Name == "" {
			d.Name = sb.Name
		}
		if d.CreatedBy == "" {
			d.CreatedBy = sb.CreatedBy
		}
		sb.UpdatedAt = e.now()
		was = storedApproval(sb.Content)
		now = approvalFor(&d, fp, was, sb.UpdatedAt)
		return toStore(orgID, &d, now, sb)
	})
	if err != nil {
		return Blast{}, err
	}
	e.auditBlast(ctx, orgID, blastID, "blast.updated", "version=%d%s", sb.Version, approvalDetail(was, now))
	return saved(&sb, d, now), nil
}

// approvalDetail describes, for the audit trail, what a save did to the
// approval: given, kept, dropped (the content or audience changed), or
// nothing.
func approvalDetail(was, now *approvalJSON) string {
	switch {
	case now != nil && now != was:
		return " phi_approval=given"
	case now != nil:
		return " phi_approval=kept"
	case was != nil:
		return " phi_approval=dropped"
	}
	return ""
}

// statusErr returns the error for an operation that needs a draft.
func statusErr(sb *store.Blast) error {
	if sb.Status == store.BlastCancelled {
		return fmt.Errorf("blast %s: %w", sb.ID, ErrCancelled)
	}
	return fmt.Errorf("blast %s is %s: %w", sb.ID, sb.Status, ErrAlreadySent)
}

// updateBlast applies f to the stored blast with optimistic concurrency,
// retrying on conflicts.
func (e *Engine) updateBlast(ctx context.Context, orgID, blastID string, f func(*store.Blast) error) (store.Blast, error) {
	if !validBlastID(blastID) {
		return store.Blast{}, notFound(blastID)
	}
	for range 20 {
		sb, err := e.st.Blast(ctx, orgID, blastID)
		if err != nil {
			return store.Blast{}, fmt.Errorf("blast: %w", err)
		}
		if err := f(&sb); err != nil {
			return store.Blast{}, err
		}
		out, err := e.st.UpdateBlast(ctx, sb)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return store.Blast{}, fmt.Errorf("blast: updating blast %s: %w", blastID, err)
		}
		return out, nil
	}
	return store.Blast{}, fmt.Errorf("blast: updating blast %s: too many concurrent updates: %w", blastID, store.ErrConflict)
}

// Get returns one blast of the organization, content included, or an
// error wrapping ErrNotFound.
func (e *Engine) Get(ctx context.Context, orgID, blastID string) (Blast, error) {
	sb, err := e.blast(ctx, orgID, blastID)
	if err != nil {
		return Blast{}, err
	}
	return fromStore(&sb)
}

// Listing is a blast as List returns it: its identity, settings and
// lifecycle, never its content (texts, images, attachments, approval),
// so a page of blasts stays small whatever they carry. Get returns the
// content of one.
type Listing struct {
	// ID and OrgID identify the blast.
	ID    string
	OrgID string
	// Name, CohortIDs, Channel, Purpose and CreatedBy are the draft's.
	Name      string
	CohortIDs []string
	Channel   carecast.Channel
	Purpose   carecast.Purpose
	CreatedBy string
	// Status is the lifecycle state.
	Status Status
	// DuplicatedFrom is the blast this one was duplicated from, or "".
	DuplicatedFrom string
	// CreatedAt, UpdatedAt, ScheduledAt, StartedAt, CompletedAt and
	// CancelledAt are the lifecycle times (zero when not reached).
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ScheduledAt time.Time
	StartedAt   time.Time
	CompletedAt time.Time
	CancelledAt time.Time
}

// ListMax is the largest page List returns.
const ListMax = 1000

// ListOpts filters and pages List. A nil *ListOpts lists the first 50
// blasts of every status.
type ListOpts struct {
	// Statuses keeps only blasts in these statuses (all when empty).
	Statuses []Status
	// After is the cursor: the last blast of the previous page (its ID
	// and CreatedAt are read).
	After *Listing
	// Limit is the page size; defaults to 50, at most ListMax.
	Limit int
}

// List returns an organization's blasts, newest first, without their
// content (see Listing): the store is asked for no content, so listing
// 200 blasts with large attachments reads none of them. The next page
// starts after the last blast returned; a short page is the last.
func (e *Engine) List(ctx context.Context, orgID string, opts *ListOpts) ([]Listing, error) {
	p := store.ListBlastsParams{OrgID: orgID, Limit: 50}
	if opts != nil {
		p.Statuses = opts.Statuses
		if opts.Limit > 0 {
			p.Limit = min(opts.Limit, ListMax)
		}
		if opts.After != nil {
			p.Before = store.Blast{ID: opts.After.ID, CreatedAt: opts.After.CreatedAt}
		}
	}
	sbs, err := e.st.ListBlasts(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("blast: listing blasts: %w", err)
	}
	out := make([]Listing, len(sbs))
	for i := range sbs {
		sb := &sbs[i]
		out[i] = Listing{ID: sb.ID, OrgID: sb.OrgID, Name: sb.Name, CohortIDs: sb.CohortIDs, Channel: sb.Channel,
			Purpose: sb.Purpose, CreatedBy: sb.CreatedBy, Status: sb.Status, DuplicatedFrom: sb.DuplicatedFrom,
			CreatedAt: sb.CreatedAt, UpdatedAt: sb.UpdatedAt, ScheduledAt: sb.ScheduledAt, StartedAt: sb.StartedAt,
			CompletedAt: sb.CompletedAt, CancelledAt: sb.CancelledAt}
	}
	return out, nil
}

// DuplicateOpts are the optional settings of Duplicate; nil accepts the
// defaults.
type DuplicateOpts struct {
	// Name names the copy; defaults to the original's name followed by
	// " (copy)" (the original's name shortened to keep it within
	// NameMaxChars).
	Name string
	// CreatedBy is the staff user making the copy; defaults to the
	// context's actor (WithActor), never to the original's author.
	CreatedBy string
}

// copySuffix is appended to a duplicate's default name.
const copySuffix = " (copy)"

// Duplicate creates a new draft with the content, cohorts and settings of
// blast blastID (in any status, cancelled included) and none of its
// recipients, results or approval: the copy's flagged content needs an
// approval of its own (see Approval). The copy is checked as by
// CreateDraft. The copy and its audit entry are credited to
// opts.CreatedBy, else to the context's actor (WithActor), else to
// ActorSystem: whoever makes the copy, not whoever wrote the original.
func (e *Engine) Duplicate(ctx context.Context, orgID, blastID string, opts *DuplicateOpts) (Blast, error) {
	src, err := e.Get(ctx, orgID, blastID)
	if err != nil {
		return Blast{}, err
	}
	d := src.Draft
	d.PHIApprovedBy, d.CreatedBy = "", staffOf(ctx)
	name := []rune(src.Name)
	d.Name = string(name[:min(len(name), NameMaxChars-len(copySuffix))]) + copySuffix
	if opts != nil {
		if opts.Name != "" {
			d.Name = opts.Name
		}
		if opts.CreatedBy != "" {
			d.CreatedBy = opts.CreatedBy
		}
	}
	d.normalize()
	if probs := e.checkDraft(&d); len(probs) > 0 {
		return Blast{}, &ValidationError{Op: OpSave, Problems: probs}
	}
	now := e.now()
	sb := store.Blast{ID: newID(), Status: store.BlastDraft, CreatedAt: now, UpdatedAt: now, DuplicatedFrom: src.ID}
	if err := toStore(orgID, &d, nil, &sb); err != nil {
		return Blast{}, err
	}
	sb, err = e.st.CreateBlast(ctx, sb)
	if err != nil {
		return Blast{}, fmt.Errorf("blast: duplicating blast %s: %w", blastID, err)
	}
	e.audit(ctx, store.AuditEntry{OrgID: orgID, Actor: d.CreatedBy, Action: "blast.duplicated", BlastID: sb.ID, Detail: "from=" + blastID})
	return saved(&sb, d, nil), nil
}
