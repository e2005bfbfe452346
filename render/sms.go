package render

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/carecast/carecast"
)

// SMSMaxBodyLength is the longest SMS or MMS body, in characters as providers
// count them (UTF-16 code units): 1,600, the common provider limit
// (Twilio's error 21617). Longer bodies are an error, never truncated.
const SMSMaxBodyLength = 1600

// DefaultOptOutLine is the opt-out instruction appended to marketing SMS
// (compliance SM-07).
const DefaultOptOutLine = "Reply STOP to opt out"

// NoReplyOptOutLine returns an opt-out line for senders that cannot receive
// replies (an alphanumeric sender ID, for example), which must say so and
// give another way to opt out (47 CFR 64.1200(a)(10)); alternative is a
// URL or phone number. Use it as SMSContent.OptOutText.
func NoReplyOptOutLine(alternative string) string {
	return "Replies are not monitored. To opt out, visit or call " + strings.TrimSpace(alternative)
}

// SMSContent is what the user composes for an SMS blast.
type SMSContent struct {
	// Body is the template text, with merge fields as {{key}} tokens
	// (see ParseTemplate). It may be empty only when Images are attached.
	Body string `json:"body"`
	// Images, when present, make the message an MMS: at most MMSMaxImages
	// JPEG, PNG or GIF images, each under MMSMaxImageBytes.
	Images []Image `json:"images,omitempty"`
	// OptOutLine says whether the opt-out line is appended. nil means
	// the default: on for marketing, off for transactional. The line is
	// part of the body: counted in the preview, the segments and cost.
	OptOutLine *bool `json:"opt_out_line,omitempty"`
	// OptOutText replaces DefaultOptOutLine when not empty (for example
	// NoReplyOptOutLine for senders that cannot receive replies).
	OptOutText string `json:"opt_out_text,omitempty"`
	// SmartEncoding replaces Unicode look-alikes with GSM-7 characters in
	// every rendered message (see SmartEncode). Off by default.
	SmartEncoding bool `json:"smart_encoding,omitempty"`
}

// ErrEmptyBody is returned by CompileSMS for a message with neither text
// nor images.
var ErrEmptyBody = errors.New("render: SMS body is empty")

// ErrTooLong is the class of errors for bodies over SMSMaxBodyLength; the
// concrete error is a *TooLongError. Test with errors.Is.
var ErrTooLong = errors.New("render: message body too long")

// TooLongError reports a body longer than SMSMaxBodyLength.
type TooLongError struct {
	// Length is the body's length in UTF-16 code units.
	Length int
	// Limit is SMSMaxBodyLength.
	Limit int
	// MMS is set when the message carries images.
	MMS bool
}

// Error states the length and the limit.
func (e *TooLongError) Error() string {
	kind := "SMS"
	if e.MMS {
		kind = "MMS"
	}
	return fmt.Sprintf("render: %s body is %d characters, limit %d", kind, e.Length, e.Limit)
}

// Is makes errors.Is(err, ErrTooLong) true.
func (e *TooLongError) Is(target error) bool { return target == ErrTooLong }

// SMSTemplate is a compiled SMS: a parsed body, its opt-out line and
// validated images. It is immutable and safe for concurrent use.
type SMSTemplate struct {
	tmpl    *Template
	suffix  string // "\n" + opt-out line, or ""
	optOut  string
	images  []Image
	smart   bool
	purpose carecast.Purpose
	org     carecast.Organization
}

// CompileSMS checks and compiles composed content for a blast of the given
// purpose sent by org. It returns the template's parse errors
// (*UnknownFieldsError, matching ErrPHIField for a clinical field;
// *TemplateSyntaxError), ErrEmptyBody, an errors.Join of *ImageError
// values, or a *TooLongError when even the text without any field values
// exceeds SMSMaxBodyLength.
func CompileSMS(c SMSContent, purpose carecast.Purpose, org carecast.Organization) (*SMSTemplate, error) {
	if !purpose.Valid() {
		return nil, fmt.Errorf("render: invalid purpose %q", string(purpose))
	}
	tmpl, err := ParseTemplate(c.Body)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(c.Body) == "" && len(c.Images) == 0 {
		return nil, ErrEmptyBody
	}
	if err := ValidateImages(c.Images); err != nil {
		return nil, err
	}
	t := &SMSTemplate{
		tmpl:    tmpl,
		images:  append([]Image(nil), c.Images...),
		smart:   c.SmartEncoding,
		purpose: purpose,
		org:     org,
	}
	on := purpose == carecast.Marketing
	if c.OptOutLine != nil {
		on = *c.OptOutLine
	}
	if on {
		t.optOut = DefaultOptOutLine
		if s := strings.TrimSpace(c.OptOutText); s != "" {
			t.optOut = s
		}
		t.suffix = "\n" + t.optOut
	}
	// The shortest body any patient can get: every field empty.
	if r := t.Render(Data{Patient: &carecast.Patient{}}); r.Err() != nil {
		return nil, r.Err()
	}
	return t, nil
}

// Template returns the parsed body template.
func (t *SMSTemplate) Template() *Template { return t.tmpl }

// MMS reports whether the message carries images.
func (t *SMSTemplate) MMS() bool { return len(t.images) > 0 }

// Images returns the validated images. The slice must not be modified.
func (t *SMSTemplate) Images() []Image { return t.images }

// OptOutLine returns the appended opt-out line, or "" when none is.
func (t *SMSTemplate) OptOutLine() string { return t.optOut }

// Purpose returns the purpose the template was compiled for.
func (t *SMSTemplate) Purpose() carecast.Purpose { return t.purpose }

// RenderedSMS is one patient's message.
type RenderedSMS struct {
	// Body is the text to send, opt-out line included.
	Body string
	// Count measures Body. For an MMS (not split into segments)
	// Count.Segments is 1.
	Count SMSCount
	// MMS is set when Images are sent with the body.
	MMS bool
	// Images are the template's images (shared; do not modify).
	Images []Image
}

// Length returns the body's length as providers limit it, in UTF-16 code
// units.
func (r RenderedSMS) Length() int { return smsLength(r.Body, r.Count) }

// Err returns a *TooLongError when the body exceeds SMSMaxBodyLength, or nil.
// Render never truncates: the caller decides (the engine fails that
// recipient with a stated reason).
func (r RenderedSMS) Err() error {
	if n := r.Length(); n > SMSMaxBodyLength {
		return &TooLongError{Length: n, Limit: SMSMaxBodyLength, MMS: r.MMS}
	}
	return nil
}

// smsLength is the UTF-16 length of body given its count.
func smsLength(body string, c SMSCount) int {
	if c.Encoding == UCS2 {
		return c.Units
	}
	return utf8.RuneCountInString(body) // GSM-7 characters are single UTF-16 units
}

// Render personalises the message for d (d.Org defaults to the
// organization given to CompileSMS), appends the opt-out line, applies
// smart encoding when enabled and counts the result. Check Err on the
// result for an over-long body.
func (t *SMSTemplate) Render(d Data) RenderedSMS {
	if d.Org == nil {
		d.Org = &t.org
	}
	b := make([]byte, 0, t.tmpl.litLen+24*t.tmpl.nFields+len(t.suffix))
	b = t.tmpl.AppendRender(b, d, nil)
	b = t.appendSuffix(b)
	// b is never written again, so it can back the string directly.
	body := unsafe.String(unsafe.SliceData(b), len(b))
	return t.finish(body)
}

// Preview counts the message as the editor shows it while the user types:
// the body with example values in place of the fields (the organization's
// own name for organization_name), opt-out line included.
func (t *SMSTemplate) Preview() SMSCount {
	return t.finish(t.sampleBody()).Count
}

// PreviewText returns the message the editor previews: the body with
// example values, opt-out line included, smart-encoded when enabled.
func (t *SMSTemplate) PreviewText() string {
	return t.finish(t.sampleBody()).Body
}

// sampleBody renders the body with example values, suffix included.
func (t *SMSTemplate) sampleBody() string {
	b := []byte(t.tmpl.RenderSample(Data{Org: &t.org}))
	return string(t.appendSuffix(b))
}

// appendSuffix appends the opt-out line on its own line, dropping
// trailing white space of the body first.
func (t *SMSTemplate) appendSuffix(b []byte) []byte {
	if t.suffix == "" {
		return b
	}
	n := len(b)
	for n > 0 && (b[n-1] == ' ' || b[n-1] == '\n' || b[n-1] == '\r' || b[n-1] == '\t') {
		n--
	}
	b = b[:n]
	if n == 0 {
		return append(b, t.suffix[1:]...)
	}
	return append(b, t.suffix...)
}

// finish applies smart encoding and counts body.
func (t *SMSTemplate) finish(body string) RenderedSMS {
	if t.smart {
		body = SmartEncode(body)
	}
	r := RenderedSMS{Body: body, Count: CountSMS(body), MMS: len(t.images) > 0, Images: t.images}
	if r.MMS {
		r.Count.Segments = 1
		r.Count.Remaining = max(0, SMSMaxBodyLength-smsLength(body, r.Count))
	}
	return r
}
