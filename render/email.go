package render

import (
	"errors"
	"strings"
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

// EmailMaxMarkdownPrefix bounds the container prefix of a Markdown line
// (the quote markers, list markers and indentation before its text), which
// bounds nesting: goldmark's time grows with the square of it. HTML
// nesting is bounded by the HTML parser (512 open elements).
const EmailMaxMarkdownPrefix = 256

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
	Attachments []Attachment `json:"attachments,omitempty"`
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
	ErrBodyTooDeep            = errors.New("render: email body nests too deeply")
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
// copies precomputed chunks and fills slots, into one allocation that
// backs all four strings. RenderTo does the same into a reusable buffer.
func (t *EmailTemplate) Render(d Data, opts *EmailRenderOpts) RenderedEmail {
	var o EmailRenderOpts
	if opts != nil {
		o = *opts
	}
	var rewritten []string
	if o.RewriteLink != nil && len(t.links) > 0 {
		rewritten = make([]string, len(t.links))
		t.rewrite(rewritten, o.RewriteLink)
	}
	buf := make([]byte, 0, t.sizeHint+2*len(o.UnsubscribeURL)+emailRewriteLen(rewritten))
	buf, ends := t.render(buf, d, rewritten, o.UnsubscribeURL)
	// buf is never written again, so it can back the strings directly.
	s := unsafe.String(unsafe.SliceData(buf), len(buf))
	return RenderedEmail{
		Subject:     s[:ends[0]],
		PreviewText: s[ends[0]:ends[1]],
		HTML:        s[ends[1]:ends[2]],
		Text:        s[ends[2]:],
	}
}

// EmailBuffer is reusable storage for rendered emails, for a sender that
// writes each recipient's parts straight to the wire (a MIME writer) and
// renders the next recipient into the same memory: after the first few
// recipients RenderTo allocates nothing. The zero value is ready to use.
// An EmailBuffer must not be used by two goroutines at once; the slices
// its accessors return are valid only until the next RenderTo.
type EmailBuffer struct {
	buf       []byte
	ends      [3]int
	rewritten []string
}

// Subject returns the rendered subject line.
func (b *EmailBuffer) Subject() []byte { return b.buf[:b.ends[0]] }

// PreviewText returns the rendered preview text.
func (b *EmailBuffer) PreviewText() []byte { return b.buf[b.ends[0]:b.ends[1]] }

// HTML returns the rendered HTML part.
func (b *EmailBuffer) HTML() []byte { return b.buf[b.ends[1]:b.ends[2]] }

// Text returns the rendered plain-text part.
func (b *EmailBuffer) Text() []byte { return b.buf[b.ends[2]:] }

// RenderTo renders the email for one recipient exactly as Render does,
// into b, replacing what b held.
func (t *EmailTemplate) RenderTo(b *EmailBuffer, d Data, opts *EmailRenderOpts) {
	var o EmailRenderOpts
	if opts != nil {
		o = *opts
	}
	var rewritten []string
	if o.RewriteLink != nil && len(t.links) > 0 {
		if cap(b.rewritten) < len(t.links) {
			b.rewritten = make([]string, len(t.links))
		}
		rewritten = b.rewritten[:len(t.links)]
		t.rewrite(rewritten, o.RewriteLink)
	}
	if b.buf == nil {
		b.buf = make([]byte, 0, t.sizeHint+2*len(o.UnsubscribeURL)+emailRewriteLen(rewritten))
	}
	b.buf, b.ends = t.render(b.buf[:0], d, rewritten, o.UnsubscribeURL)
	clear(rewritten) // drop references to the caller's strings
}

// rewrite fills out with the rewritten URL of every link.
func (t *EmailTemplate) rewrite(out []string, f func(int, string) string) {
	for i, u := range t.links {
		out[i] = f(i, u)
	}
}

// render appends subject, preview text, HTML and text to buf and returns
// it with the end offsets of the first three.
func (t *EmailTemplate) render(buf []byte, d Data, rewritten []string, unsub string) ([]byte, [3]int) {
	var ends [3]int
	buf = emailOneLine(buf, len(buf), t.subject.AppendRender(buf, d, nil))
	ends[0] = len(buf)
	buf = emailOneLine(buf, ends[0], t.preview.AppendRender(buf, d, nil))
	ends[1] = len(buf)
	buf = t.appendSegs(buf, t.html, d, rewritten, unsub, true)
	ends[2] = len(buf)
	buf = t.appendSegs(buf, t.text, d, rewritten, unsub, false)
	return buf, ends
}

// emailOneLine turns CR and LF in out[from:] into spaces, in place, so
// that a merge value cannot add header lines. The template literals hold
// none (CompileEmail rejects a multi-line subject), so only values change.
func emailOneLine(_ []byte, from int, out []byte) []byte {
	for i := from; i < len(out); i++ {
		if out[i] == '\r' || out[i] == '\n' {
			out[i] = ' '
		}
	}
	return out
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
	for i := range segs {
		s := &segs[i]
		dst = append(dst, s.lit...)
		switch s.kind {
		case emailSlotMerge:
			n := len(dst)
			dst = t.merges[s.idx].AppendRender(dst, d, nil)
			if isHTML {
				dst = emailEscapeTail(dst, n)
			}
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

// emailEscapeTail HTML-escapes dst[from:] in place (see emailAppendHTML).
// A single-token template renders only its value or fallback, so the
// tail is exactly the value to escape.
func emailEscapeTail(dst []byte, from int) []byte {
	extra := 0
	for _, c := range dst[from:] {
		switch c {
		case '<', '>':
			extra += 3 // &lt; &gt;
		case '&', '"', '\'':
			extra += 4 // &amp; &#34; &#39;
		}
	}
	if extra == 0 {
		return dst
	}
	n := len(dst)
	dst = append(dst, make([]byte, extra)...)
	// Copy backwards so the unescaped bytes are read before being overwritten.
	w := len(dst)
	for r := n - 1; r >= from; r-- {
		var rep string
		switch dst[r] {
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
			w--
			dst[w] = dst[r]
			continue
		}
		w -= len(rep)
		copy(dst[w:], rep)
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
