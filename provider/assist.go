package provider

import "context"

// TextGenerator is the AI writing assistant of the blast editor: it drafts
// an SMS body or an email subject, preview text or body from a staff
// member's prompt, and redrafts it from feedback.
//
// Implementations must never receive patient data: a [GenerateRequest]
// carries only the staff prompt, the organisation's name and the names of
// the merge fields. The returned text is already checked (length, SMS
// segments, merge fields) and can be offered to the user as is.
type TextGenerator interface {
	Generate(ctx context.Context, req GenerateRequest) (Generation, error)
}

// GenerateKind is the piece of a message the assistant writes.
type GenerateKind string

// The kinds of text the assistant writes.
const (
	// GenerateSMSBody is the text of an SMS; it must fit
	// GenerateRequest.MaxSegments segments.
	GenerateSMSBody GenerateKind = "sms_body"
	// GenerateEmailSubject is an email subject line.
	GenerateEmailSubject GenerateKind = "email_subject"
	// GenerateEmailPreview is the preview text (preheader) shown after
	// the subject in inbox lists.
	GenerateEmailPreview GenerateKind = "email_preview"
	// GenerateEmailBody is the body of an email, in Markdown.
	GenerateEmailBody GenerateKind = "email_body"
)

// Valid reports whether k is one of the defined kinds.
func (k GenerateKind) Valid() bool {
	switch k {
	case GenerateSMSBody, GenerateEmailSubject, GenerateEmailPreview, GenerateEmailBody:
		return true
	}
	return false
}

// GenerateRequest asks the assistant for one piece of text. None of its
// fields may contain patient data.
type GenerateRequest struct {
	// Kind is what to write. Required.
	Kind GenerateKind
	// OrgID identifies the organisation (for the implementation's own
	// accounting and rate limits; it is not sent to the model).
	OrgID string
	// Prompt is the staff member's instruction ("remind patients that
	// flu shots are available"). Required.
	Prompt string
	// OrgName is the organisation's display name, which the text may
	// mention.
	OrgName string
	// Purpose is marketing or transactional; it steers the tone and, for
	// marketing SMS, reminds the model that an opt-out line is appended.
	// Empty means transactional.
	Purpose string
	// FieldKeys are the merge fields the text may use, as keys without
	// braces ("first_name"). The result may only use these.
	FieldKeys []string
	// MaxSegments is the largest number of SMS segments the body may
	// take (GenerateSMSBody only). 0 means 1.
	MaxSegments int
	// GSM7Only requires the SMS body to fit the GSM-7 alphabet (no
	// emoji or other characters that force UCS-2 encoding).
	GSM7Only bool
	// Suffix is text the engine appends to an SMS body (the opt-out line,
	// "Reply STOP to opt out"); it counts against MaxSegments and its
	// encoding. Empty means none.
	Suffix string
	// History is the conversation so far, for regenerating with
	// feedback: each earlier draft with the feedback the staff member
	// gave on it, oldest first. Empty means a first draft. The
	// Feedback of the last revision is the instruction for this call and
	// must not be empty.
	History []Revision
}

// Revision is one earlier draft in a regenerate-with-feedback
// conversation.
type Revision struct {
	// Text is the draft the assistant returned.
	Text string
	// Feedback is what the staff member asked to change ("shorter",
	// "friendlier").
	Feedback string
}

// Generation is a checked draft from the assistant.
type Generation struct {
	// Text is the draft, with surrounding quotes and whitespace removed.
	// Merge fields appear as {{key}} tokens.
	Text string
	// Segments and Encoding describe an SMS body ("GSM-7" or "UCS-2");
	// they are zero for email kinds.
	Segments int
	Encoding string
	// Fields are the merge-field keys the text uses, in order of first
	// appearance.
	Fields []string
	// History is the request's History followed by this draft with an
	// empty Feedback: set the last Feedback and pass it back as
	// GenerateRequest.History to regenerate.
	History []Revision
}
