package blast

import (
	"errors"
	"strings"

	"github.com/carecast/carecast/render"
	"github.com/carecast/carecast/store"
)

// Sentinel errors. Methods wrap them with detail; test with errors.Is.
var (
	// ErrNotFound: the blast (or message) does not exist in the
	// organization. It is store.ErrNotFound, so either test works.
	ErrNotFound = store.ErrNotFound
	// ErrAlreadySent: the operation needs a draft (Update, Send) but the
	// blast was already sent or scheduled.
	ErrAlreadySent = errors.New("blast: already sent")
	// ErrNotSent: the operation needs a sent blast (Retry Failed, Add
	// Recipients) but the blast is a draft or scheduled.
	ErrNotSent = errors.New("blast: not sent yet")
	// ErrCancelled: the blast was cancelled; nothing more can be done
	// with it except Duplicate.
	ErrCancelled = errors.New("blast: cancelled")
	// ErrNotCancellable: only scheduled and sending blasts can be
	// cancelled.
	ErrNotCancellable = errors.New("blast: not cancellable")
	// ErrChanged: the draft was updated while Send was validating it;
	// nothing was sent, and sending again validates the new version.
	ErrChanged = errors.New("blast: the draft changed while it was being sent")
	// ErrInvalid is the class of every *ValidationError.
	ErrInvalid = errors.New("blast: invalid blast")
	// ErrNotRunning: Start has not been called, or Stop has.
	ErrNotRunning = errors.New("blast: engine not running")
	// ErrRunning: Start was called twice.
	ErrRunning = errors.New("blast: engine already running")
	// ErrNoBAA: a PHI-bearing blast's provider is not covered by a BAA
	// (compliance.md HI-05). A *ValidationError with ProblemNoBAA
	// matches it; nothing is sent.
	ErrNoBAA = errors.New("blast: the provider has no BAA covering PHI")
	// ErrSensitiveContent: the content carries clinical codes or terms
	// and no privileged user approved it (compliance.md HI-01). A
	// *ValidationError with ProblemSensitiveContent matches it.
	ErrSensitiveContent = errors.New("blast: content carries sensitive clinical information")
	// ErrPHIField is render.ErrPHIField: a merge field would put
	// clinical information in the message (compliance.md HI-01). A
	// *ValidationError with ProblemPHIField matches it.
	ErrPHIField = render.ErrPHIField
	// ErrKeywordHandlingRequired: the SMS provider redacts numbers, so
	// its keyword handling does not work, and Config.ProviderKeywordReplies
	// leaves STOP, START and HELP to it (compliance.md SM-08). New returns
	// a *ConfigError matching it.
	ErrKeywordHandlingRequired = errors.New("blast: the SMS provider redacts numbers, so the engine must handle STOP, START and HELP")
)

// ProblemCode names one validation problem.
type ProblemCode string

// The problems Send (and Validate) report.
const (
	// ProblemNoCohorts: the blast has no audience.
	ProblemNoCohorts ProblemCode = "no_cohorts"
	// ProblemUnknownCohort: a cohort ID does not exist in the
	// organization (deleted since it was chosen).
	ProblemUnknownCohort ProblemCode = "unknown_cohort"
	// ProblemChannel: the channel is not SMS or Email, or the engine has
	// no provider for it.
	ProblemChannel ProblemCode = "channel"
	// ProblemPurpose: the purpose is not marketing or transactional.
	ProblemPurpose ProblemCode = "purpose"
	// ProblemEmptyBody: no message text (SMS body, or email subject or
	// body).
	ProblemEmptyBody ProblemCode = "empty_body"
	// ProblemUnknownFields: the content uses merge fields that do not
	// exist; Fields lists them.
	ProblemUnknownFields ProblemCode = "unknown_fields"
	// ProblemContent: the content is otherwise invalid (template syntax,
	// unknown email format, …).
	ProblemContent ProblemCode = "content"
	// ProblemAttachments: too many or too large images or attachments.
	ProblemAttachments ProblemCode = "attachments"
	// ProblemDomain: the email sending domain is not verified for the
	// blast's purpose (the guide's "domain error": marketing needs a
	// marketing domain, transactional a transactional domain).
	ProblemDomain ProblemCode = "domain"
	// ProblemUnsubscribe: marketing email needs an unsubscribe URL and
	// the engine has no Config.UnsubscribeURL.
	ProblemUnsubscribe ProblemCode = "unsubscribe"
	// ProblemSchedule: the schedule time is invalid.
	ProblemSchedule ProblemCode = "schedule"
	// ProblemPHIField: a merge field names clinical information
	// ({{diagnosis}}, {{lab_result}}, …; compliance.md HI-01); Fields
	// lists them.
	ProblemPHIField ProblemCode = "phi_field"
	// ProblemSensitiveContent: the content carries an ICD-10 code or a
	// sensitive clinical term and Draft.PHIApprovedBy is empty
	// (compliance.md HI-01).
	ProblemSensitiveContent ProblemCode = "sensitive_content"
	// ProblemNoBAA: a PHI-bearing blast's provider does not report BAA
	// coverage (provider.BAACoverage; compliance.md HI-05).
	ProblemNoBAA ProblemCode = "no_baa"
	// ProblemPortalNotice: a PHI-bearing blast has no valid PHI-free
	// portal notice for patients who did not acknowledge the unencrypted
	// channel (compliance.md HI-08).
	ProblemPortalNotice ProblemCode = "portal_notice"
	// ProblemHIPAABasis: the HIPAA basis is unknown, or does not fit the
	// purpose or a sponsor's payment (compliance.md HI-06).
	ProblemHIPAABasis ProblemCode = "hipaa_basis"
	// ProblemHouseholds: Draft.Households is not one of the options.
	ProblemHouseholds ProblemCode = "households"
	// ProblemMixedCommercial: a transactional email's subject or preview
	// text reads as an advertisement ("20% off whitening"): CAN-SPAM
	// treats such a mixed message as commercial (16 CFR 316.3;
	// compliance.md EM-06), so it must be sent as marketing.
	ProblemMixedCommercial ProblemCode = "mixed_commercial"
	// ProblemExempt: a blast claiming the healthcare-message exemption
	// breaks one of its conditions (compliance.md SM-02).
	ProblemExempt ProblemCode = "healthcare_exempt"
	// ProblemName: the name is longer than NameMaxChars characters, or
	// holds control characters or invalid UTF-8.
	ProblemName ProblemCode = "name"
	// ProblemTooLarge: a text, a list or the compiled email is over one
	// of the documented limits (see "Limits" in the package
	// documentation); the message names the limit, never the content.
	ProblemTooLarge ProblemCode = "too_large"
	// ProblemInvalidText: a text field holds control characters or
	// invalid UTF-8 (a NUL byte, an escape sequence), which no store,
	// provider or mailbox accepts.
	ProblemInvalidText ProblemCode = "invalid_text"
	// ProblemApprovalScope: an approval of sensitive content does not
	// cover the operation: Add Recipients widens the audience of an
	// approved blast, which needs a new approval (compliance.md HI-01).
	ProblemApprovalScope ProblemCode = "approval_scope"
	// ProblemListOption: a list's paging cursor or filter (Messages:
	// Cursor, Card) is not one the list knows.
	ProblemListOption ProblemCode = "list_option"
)

// Problem is one reason a blast cannot be sent. Messages are PHI-free.
type Problem struct {
	// Code classifies the problem.
	Code ProblemCode
	// Field is the draft field concerned ("CohortIDs", "SMS.Body",
	// "Email.Subject", "Email.Attachments", …).
	Field string
	// Message explains it in words a user can act on.
	Message string
	// Fields lists unknown merge fields (ProblemUnknownFields).
	Fields []string
}

// problems collects the problems of one validation.
type problems []Problem

// add appends a problem.
func (ps *problems) add(c ProblemCode, field, msg string) {
	*ps = append(*ps, Problem{Code: c, Field: field, Message: msg})
}

// The operations a ValidationError refuses (ValidationError.Op).
const (
	// OpSend: Send, Validate, Estimate, Preview and SendTest, which need
	// a blast that can be sent. It is the zero value.
	OpSend = ""
	// OpSave: CreateDraft and UpdateDraft, which refuse only what no
	// draft may hold (see "Limits" in the package documentation); an
	// incomplete draft is saved.
	OpSave = "save"
	// OpAddRecipients: AddRecipients, NewRecipients and SearchPatients.
	OpAddRecipients = "add recipients"
	// OpList: a list's paging options (Messages).
	OpList = "list"
)

// ValidationError lists every problem that prevents a blast from being
// sent, a draft from being saved or recipients from being added.
// errors.Is(err, ErrInvalid) is true for it. Messages name fields and
// limits, never their content.
type ValidationError struct {
	// BlastID is the blast validated ("" for a draft not yet saved).
	BlastID string
	// Op is the operation refused: OpSend (""), OpSave,
	// OpAddRecipients or OpList.
	Op string
	// Problems lists the problems in a stable order.
	Problems []Problem
}

// Error implements error.
func (e *ValidationError) Error() string {
	var b strings.Builder
	switch e.Op {
	case OpSend:
		b.WriteString("blast: cannot send")
	case OpSave:
		b.WriteString("blast: cannot save draft")
	default:
		b.WriteString("blast: cannot " + e.Op)
	}
	switch {
	case e.BlastID != "" && e.Op == OpSave:
		b.WriteString(" " + e.BlastID)
	case e.BlastID != "":
		b.WriteString(" blast " + e.BlastID)
	}
	for i, p := range e.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(p.Field + ": " + p.Message)
	}
	return b.String()
}

// Is reports whether target is ErrInvalid, or the sentinel of one of the
// problems listed: ErrNoBAA (ProblemNoBAA), ErrSensitiveContent
// (ProblemSensitiveContent) or ErrPHIField (ProblemPHIField).
func (e *ValidationError) Is(target error) bool {
	switch target {
	case ErrInvalid:
		return true
	case ErrNoBAA:
		return e.Has(ProblemNoBAA)
	case ErrSensitiveContent:
		return e.Has(ProblemSensitiveContent) || e.Has(ProblemApprovalScope)
	case ErrPHIField:
		return e.Has(ProblemPHIField)
	}
	return false
}

// Has reports whether e lists a problem with code c.
func (e *ValidationError) Has(c ProblemCode) bool {
	for _, p := range e.Problems {
		if p.Code == c {
			return true
		}
	}
	return false
}
