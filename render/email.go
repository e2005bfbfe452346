package render

import (
	"errors"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/carecast/carecast"
)

// ContentFormat says how an EmailContent's Body is written.
type ContentFormat string

// The three ways an email body can be written. All of them go through the
// same pipeline: HTML, sanitised, styled, laid out, CSS inlined once.
const (
	// FormatMarkdown is Markdown with the GitHub-flavoured tables,
	// strikethrough and autolinks (the AI assistant writes bodies in it).
	FormatMarkdown ContentFormat = "markdown"
	// FormatBlocks is a BlockDocument saved by the block editor, as JSON.
	FormatBlocks ContentFormat = "blocks"
	// FormatHTML is raw HTML written in Code mode, a fragment or a whole
	// document; SanitizeEmailHTML lists what is removed from it.
	FormatHTML ContentFormat = "html"
)

// EmailMaxBodyBytes bounds an email body's source. Gmail clips messages
// over about 100 KB, so real bodies are far smaller.
const EmailMaxBodyBytes = 1 << 20

// EmailContent is what the author composed: subject, preview text, body,
// style settings and attachments. Subject, PreviewText and Body may hold
// merge tokens ({{first_name}}, {{first_name|there}}; see ParseTemplate).
type EmailContent struct {
	// Subject is the subject line: required, one line.
	Subject string `json:"subject"`
	// PreviewText is the inbox snippet shown after the subject; it becomes
	// the hidden preheader at the top of the body. Empty means none.
	PreviewText string `json:"preview_text,omitempty"`
	// Format says how Body is written.
	Format ContentFormat `json:"format"`
	// Body is the Markdown or HTML source, or the block document's JSON.
	Body string `json:"body"`
	// Style holds the style settings; the zero value means defaults.
	Style Style `json:"style,omitzero"`
	// Attachments are attached to every recipient's copy.
	Attachments []Attachment `json:"-"`
}

// Sentinel errors of CompileEmail. Merge-token errors are the merge
// parser's (*UnknownFieldsError, *TemplateSyntaxError), wrapped; style,
// block and attachment errors are *StyleError, *BlockError and
// *AttachmentError.
var (
	ErrEmptySubject           = errors.New("render: email subject is empty")
	ErrSubjectNewline         = errors.New("render: email subject must be one line")
	ErrUnknownFormat          = errors.New("render: unknown email content format")
	ErrBodyTooLarge           = errors.New("render: email body too large")
	ErrInvalidPurpose         = errors.New("render: invalid purpose")
	ErrMissingPhysicalAddress = errors.New("render: marketing email needs the organization's postal address (CAN-SPAM)")
	ErrMergeFieldPlacement    = errors.New("render: merge field not allowed here")
	ErrMissingUnsubscribeURL  = errors.New("render: marketing email needs an unsubscribe URL")
)

// MergePlacementError reports a merge token in a place where a patient's
// value must never go: a URL (href, src, …: URLs must not carry patient
// data, compliance HI-03), CSS (a style attribute or a <style> element),
// or an element or attribute name. It matches ErrMergeFieldPlacement.
type MergePlacementError struct {
	// Where names the place: "href attribute", "style element", ….
	Where string
}

// Error names the place.
func (e *MergePlacementError) Error() string {
	return "render: email body: merge field not allowed in " + e.Where
}

// Is makes every MergePlacementError match ErrMergeFieldPlacement.
func (e *MergePlacementError) Is(target error) bool { return target == ErrMergeFieldPlacement }

// EmailRenderOpts are the per-recipient inputs of EmailTemplate.Render.
// A nil *EmailRenderOpts means all defaults.
type EmailRenderOpts struct {
	// UnsubscribeURL is this recipient's unsubscribe link, placed in the
	// footer of marketing emails (HTML-escaped in the HTML part). The
	// engine must set it for marketing emails; empty renders an empty
	// link. Ignored for transactional emails, which have no footer.
	UnsubscribeURL string
	// RewriteLink, when set, is called once per link (in the order of
	// EmailTemplate.Links) with the link's index and original URL, and
	// returns the URL this recipient gets in both parts, such as a signed
	// click-tracking URL. nil leaves links unchanged. It must not put
	// patient data into the URL (compliance HI-03).
	RewriteLink func(index int, url string) string
}

// RenderedEmail is one recipient's email.
type RenderedEmail struct {
	// Subject and PreviewText hold raw merge values (never HTML-escaped);
	// line breaks inside values become spaces so the subject stays a
	// single header line.
	Subject, PreviewText string
	// HTML is the complete, CSS-inlined HTML document.
	HTML string
	// Text is the plain-text alternative.
	Text string
}

// emailSlotKind says what fills a slot between two literal chunks.
type emailSlotKind uint8

// Slot kinds.
const (
	emailSlotEnd   emailSlotKind = iota // no slot: the last chunk
	emailSlotMerge                      // merge template idx
	emailSlotLink                       // link idx
	emailSlotUnsub                      // the unsubscribe URL
)

// emailSeg is a literal chunk followed by one slot.
type emailSeg struct {
	lit  string
	kind emailSlotKind
	idx  int
}

// EmailTemplate is a compiled email: styled, laid out and CSS-inlined once,
// split into literal chunks and slots (merge fields, links, the
// unsubscribe URL) so that Render only copies bytes and fills slots.
// It is immutable and safe for concurrent use.
type EmailTemplate struct {
	purpose     carecast.Purpose
	subject     *Template
	preview     *Template
	merges      []*Template // one single-token template per merge slot (body and preheader)
	links       []string    // original link URLs
	linksHTML   []string    // the same, HTML-escaped for attributes
	html        []emailSeg
	text        []emailSeg
	attachments []Attachment
	fieldKeys   []string
	sizeHint    int
}

// Links returns the original URLs of the email's http and https links, in
// document order; a link's index is the one RewriteLink receives. The
// unsubscribe link is not among them. The slice is a fresh copy.
func (t *EmailTemplate) Links() []string { return append([]string(nil), t.links...) }

// Attachments returns the email's attachments with their content types
// filled in. The slice is a fresh copy; the Data is shared.
func (t *EmailTemplate) Attachments() []Attachment {
	return append([]Attachment(nil), t.attachments...)
}

// Purpose returns the purpose the template was compiled for.
func (t *EmailTemplate) Purpose() carecast.Purpose { return t.purpose }

// FieldKeys returns the distinct merge fields the subject, preview text
// and body use, in order of first use. The slice is a fresh copy.
func (t *EmailTemplate) FieldKeys() []string { return append([]string(nil), t.fieldKeys...) }

// Render personalises the email for one recipient: merge values are
// HTML-escaped in the HTML part and raw in the subject, preview text and
// text part; links are rewritten by opts.RewriteLink; the footer's
// unsubscribe link is opts.UnsubscribeURL. Render parses no HTML: it
// copies precomputed chunks and fills slots, into one allocation.
func (t *EmailTemplate) Render(d Data, opts *EmailRenderOpts) RenderedEmail {
	var o EmailRenderOpts
	if opts != nil {
		o = *opts
	}
	var rewritten []string
	if o.RewriteLink != nil && len(t.links) > 0 {
		rewritten = make([]string, len(t.links))
		for i, u := range t.links {
			rewritten[i] = o.RewriteLink(i, u)
		}
	}
	buf := make([]byte, 0, t.sizeHint+2*len(o.UnsubscribeURL)+emailRewriteLen(rewritten))
	buf = t.subject.AppendRender(buf, d, emailAppendOneLine)
	subjectEnd := len(buf)
	buf = t.preview.AppendRender(buf, d, emailAppendOneLine)
	previewEnd := len(buf)
	buf = t.appendSegs(buf, t.html, d, rewritten, o.UnsubscribeURL, true)
	htmlEnd := len(buf)
	buf = t.appendSegs(buf, t.text, d, rewritten, o.UnsubscribeURL, false)
	// buf is never written again, so it can back the strings directly.
	s := unsafe.String(unsafe.SliceData(buf), len(buf))
	return RenderedEmail{
		Subject:     s[:subjectEnd],
		PreviewText: s[subjectEnd:previewEnd],
		HTML:        s[previewEnd:htmlEnd],
		Text:        s[htmlEnd:],
	}
}

// emailRewriteLen sums the rewritten URLs' lengths (each appears in both
// parts; the HTML copy may grow when escaped, covered by sizeHint slack).
func emailRewriteLen(urls []string) int {
	n := 0
	for _, u := range urls {
		n += 2 * len(u)
	}
	return n
}

// appendSegs fills one part's segments.
func (t *EmailTemplate) appendSegs(dst []byte, segs []emailSeg, d Data, rewritten []string, unsub string, isHTML bool) []byte {
	escape := emailAppendHTML
	if !isHTML {
		escape = nil
	}
	for i := range segs {
		s := &segs[i]
		dst = append(dst, s.lit...)
		switch s.kind {
		case emailSlotMerge:
			dst = t.merges[s.idx].AppendRender(dst, d, escape)
		case emailSlotLink:
			switch {
			case rewritten != nil && isHTML:
				dst = emailAppendHTML(dst, rewritten[s.idx])
			case rewritten != nil:
				dst = append(dst, rewritten[s.idx]...)
			case isHTML:
				dst = append(dst, t.linksHTML[s.idx]...)
			default:
				dst = append(dst, t.links[s.idx]...)
			}
		case emailSlotUnsub:
			if isHTML {
				dst = emailAppendHTML(dst, unsub)
			} else {
				dst = append(dst, unsub...)
			}
		}
	}
	return dst
}

// emailAppendHTML appends s escaped for HTML text and double- or
// single-quoted attribute values: & < > " ' become character references.
func emailAppendHTML(dst []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var rep string
		switch s[i] {
		case '&':
			rep = "&amp;"
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		case '"':
			rep = "&#34;"
		case '\'':
			rep = "&#39;"
		default:
			continue
		}
		dst = append(dst, s[last:i]...)
		dst = append(dst, rep...)
		last = i + 1
	}
	return append(dst, s[last:]...)
}

// emailAppendOneLine appends s raw, with CR, LF and other line breaks
// replaced by spaces so a value cannot add header lines.
func emailAppendOneLine(dst []byte, s string) []byte {
	if !strings.ContainsAny(s, "\r\n\v\f\u0085\u2028\u2029") {
		return append(dst, s...)
	}
	for _, r := range s {
		switch r {
		case '\r', '\n', '\v', '\f', '\u0085', '\u2028', '\u2029':
			dst = append(dst, ' ')
		default:
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst
}

// RenderTestEmail compiles c and renders it for one sample patient, exactly
// as a recipient would get it: the "Send Test" path. A marketing email
// needs opts.UnsubscribeURL (the engine passes a working test link);
// without it RenderTestEmail returns ErrMissingUnsubscribeURL. Compile
// errors are CompileEmail's.
func RenderTestEmail(c EmailContent, purpose carecast.Purpose, org carecast.Organization, sample carecast.Patient, opts *EmailRenderOpts) (RenderedEmail, error) {
	if purpose == carecast.Marketing && (opts == nil || strings.TrimSpace(opts.UnsubscribeURL) == "") {
		return RenderedEmail{}, ErrMissingUnsubscribeURL
	}
	t, err := CompileEmail(c, purpose, org)
	if err != nil {
		return RenderedEmail{}, err
	}
	return t.Render(Data{Patient: &sample, Org: &org}, opts), nil
}
