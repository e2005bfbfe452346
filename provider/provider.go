package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/carecast/carecast"
)

// SMSMessage is one text or MMS to send. The engine fills it per recipient;
// senders must not retain it past the end of the call.
type SMSMessage struct {
	// ID is the engine's ledger row ID for this recipient. It is the
	// idempotency key: a sender that supports idempotent requests should
	// pass it to the vendor, and fakes use it to detect duplicates.
	ID string
	// OrgID is the organization sending the message.
	OrgID string
	// To is the recipient's number in E.164.
	To string
	// From is the sender: an E.164 number, a short code, or a vendor
	// sender ID (for Twilio, a Messaging Service SID "MG…"). Empty means
	// the adapter's configured default.
	From string
	// Body is the final, personalised text.
	Body string
	// MediaURLs are publicly fetchable image URLs; non-empty makes the
	// message an MMS.
	MediaURLs []string
	// StatusCallback, when set, is the URL the vendor posts delivery
	// updates to. It must not contain PHI.
	StatusCallback string
}

// EmailMessage is one email to send, already personalised.
type EmailMessage struct {
	// ID is the engine's ledger row ID (idempotency key, see SMSMessage.ID).
	ID string
	// OrgID is the organization sending the message.
	OrgID string
	// From is the sender address ("Clinic <news@mail.clinic.example>").
	From string
	// ReplyTo is optional.
	ReplyTo string
	// To is the recipient address.
	To string
	// Subject, HTML and Text are the rendered parts; every email is
	// multipart/alternative with both HTML and Text.
	Subject string
	HTML    string
	Text    string
	// Marketing is true for marketing email; ListUnsubscribeURL is then
	// the HTTPS one-click unsubscribe URL (RFC 8058) that the adapter puts
	// into List-Unsubscribe and List-Unsubscribe-Post headers.
	Marketing          bool
	ListUnsubscribeURL string
	// ListUnsubscribeMailto is an optional mailto: URI
	// ("mailto:unsub+token@clinic.example") listed after the HTTPS URL
	// in List-Unsubscribe (RFC 2369, RFC 8058 §3.1), for clients that do
	// not do one-click. It never replaces ListUnsubscribeURL.
	ListUnsubscribeMailto string
	// Attachments are sent as MIME parts.
	Attachments []Attachment
	// Headers are extra headers (for example X-Carecast-Blast with an
	// opaque ID). They must not contain PHI.
	Headers map[string]string
}

// Attachment is a file attached to an email.
type Attachment struct {
	Filename    string
	ContentType string
	Data        []byte
}

// Result is what a vendor said when it accepted a message.
type Result struct {
	// ProviderMessageID is the vendor's ID for the message (Twilio's
	// Message SID, an SMTP queue ID, …); status events refer to it.
	ProviderMessageID string
	// Segments is the number of billed segments when the vendor reports
	// it; 0 means unknown (the engine uses its own count).
	Segments int
}

// SMSSender sends texts. Implementations must be safe for concurrent use.
//
// SendSMS makes exactly one attempt: it must not retry, sleep or throttle
// (the engine owns retries, backoff and rate limits). On failure it returns
// an error that [Classify] understands, normally an *[Error]. An
// implementation must never report a failure as Transient or RateLimited if
// the vendor may already have accepted the message: that is Ambiguous.
type SMSSender interface {
	SendSMS(ctx context.Context, msg *SMSMessage) (Result, error)
}

// EmailSender sends emails, with the same contract as SMSSender.
type EmailSender interface {
	SendEmail(ctx context.Context, msg *EmailMessage) (Result, error)
}

// Limits is an optional interface a sender implements to declare vendor
// limits; the engine validates blasts against it before sending.
type Limits interface {
	// MaxMessageBytes is the largest whole message (email with
	// attachments, encoded) the vendor accepts; 0 means no stated limit.
	MaxMessageBytes() int64
}

// BAACoverage is an optional interface a sender implements to say whether
// the host's business associate agreement (BAA) with the vendor covers
// protected health information sent through it (compliance.md HI-05, 45 CFR
// 164.502(e)). The engine refuses to send a PHI-bearing blast through a
// sender that does not implement it or reports false; other blasts are not
// affected.
//
// Whether a BAA covers a vendor's service is a legal fact the host knows
// and carecast cannot check: Twilio covers Programmable Messaging only for
// HIPAA accounts and projects, Twilio SendGrid is not on Twilio's HIPAA
// eligible list, and Amazon SES is covered only as listed in AWS's HIPAA
// Eligible Services Reference. The adapters therefore default to false.
type BAACoverage interface {
	// CoversPHI reports whether PHI may be sent through the sender.
	CoversPHI() bool
}

// CoversPHI reports whether sender implements [BAACoverage] and reports
// true. A nil sender, or one that does not implement it, is not covered.
func CoversPHI(sender any) bool {
	c, ok := sender.(BAACoverage)
	return ok && c.CoversPHI()
}

// LineTypeLookup looks up the line type of a phone number (Twilio Lookup
// v2 Line Type Intelligence), so the engine can skip landlines before the
// first send instead of paying for a failed one (compliance.md SF-03). It
// returns carecast.LineUnknown, without error, for types that say nothing
// about texting. Lookups are usually paid per request: the engine looks a
// number up only while the patient's PhoneLineType is unknown and records
// the answer through cohort.PatientStore.ApplyContactChange.
type LineTypeLookup interface {
	LookupLineType(ctx context.Context, phone string) (carecast.LineType, error)
}

// Redaction is an optional interface an SMS sender implements to say that
// the vendor account redacts phone numbers and message bodies (Twilio
// Phone Number Redaction). Twilio's redaction is "not compatible" with its
// default STOP filtering and with Advanced Opt-Out (warnings 23002 and
// 23004), so the application must handle STOP, START and HELP itself
// (compliance.md SM-08): the engine then always answers keywords and
// refuses a configuration that leaves them to the provider.
type Redaction interface {
	// RedactsNumbers reports whether the account redacts numbers.
	RedactsNumbers() bool
}

// RedactsNumbers reports whether sender implements [Redaction] and
// reports true.
func RedactsNumbers(sender any) bool {
	r, ok := sender.(Redaction)
	return ok && r.RedactsNumbers()
}

// Class is how the engine should treat a failed send.
type Class int

// Error classes. The engine's reaction is documented per class.
const (
	// Permanent: the message can never be delivered as is (invalid
	// number, rejected content). Recorded as failed; not retried
	// automatically (Retry Failed may re-queue it).
	Permanent Class = iota
	// Transient: nothing was accepted; trying again later may succeed
	// (5xx, timeouts before the request was written, 4xx SMTP replies).
	// Retried with exponential backoff.
	Transient
	// RateLimited: the vendor throttled the request (HTTP 429, Twilio
	// 20429). Retried after Error.RetryAfter, if set, or with backoff.
	RateLimited
	// Landline: the number cannot receive texts. The row is skipped as a
	// landline and the patient record updated.
	Landline
	// OptedOut: the recipient has opted out at the vendor (Twilio 21610).
	// The row is recorded as opted out and the patient record updated.
	OptedOut
	// Ambiguous: the vendor may have accepted the message (the connection
	// broke after the request was sent, or the answer was not understood).
	// Never resent automatically: recorded as "in doubt".
	Ambiguous
	// Suppress: the address is dead (SMTP 5.1.1 hard bounce). Recorded as
	// failed and the address suppressed.
	Suppress
	// SenderBlocked: the message was refused because of the sender, not
	// the recipient (compliance.md SF-01, BO-02): a reputation, policy or
	// authentication block (SMTP 5.7.x), carrier filtering (Twilio
	// 30007), an unregistered or suspended sender (30034, 30032, 21408,
	// 30002). The recipient is never suppressed; the engine retries with
	// backoff and pauses the blast once refusals pile up (see
	// blast.SenderBlockGuard), so the sender can be fixed first.
	SenderBlocked
)

var classNames = [...]string{"permanent", "transient", "rate_limited", "landline", "opted_out", "ambiguous", "suppress", "sender_blocked"}

// String returns the class's name ("permanent", "transient", …).
func (c Class) String() string {
	if c >= 0 && int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// Retryable reports whether the engine retries errors of this class
// automatically.
func (c Class) Retryable() bool { return c == Transient || c == RateLimited }

// Error is a classified send failure. Its message names the vendor code,
// never the recipient or the body.
type Error struct {
	// Class says how the engine reacts.
	Class Class
	// Code is the vendor's error code ("21610", "550 5.1.1"), if any.
	Code string
	// Message is a short, PHI-free description.
	Message string
	// RetryAfter is the vendor's requested wait (Retry-After), for
	// RateLimited and Transient errors; 0 means unspecified.
	RetryAfter time.Duration
	// Err is the underlying error, if any.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	s := "provider: " + e.Class.String()
	if e.Code != "" {
		s += " (code " + e.Code + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Classify returns the class of err: the Class of the first *Error in its
// chain; Transient for context.DeadlineExceeded and context.Canceled that
// carry no *Error (the caller's own deadline hit before any answer: the
// adapter is responsible for returning Ambiguous if the request may have
// been delivered); Ambiguous for anything else, since an unknown failure
// may hide an accepted message. Classify(nil) panics: check err first.
func Classify(err error) Class {
	if err == nil {
		panic("provider: Classify(nil)")
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Class
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return Transient
	}
	return Ambiguous
}

// RetryAfter returns the vendor's requested wait carried by err, or 0.
func RetryAfter(err error) time.Duration {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.RetryAfter
	}
	return 0
}
