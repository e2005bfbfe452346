package render

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"strconv"
	"strings"

	"github.com/PuerkitoBio/goquery"
	"github.com/carecast/carecast"
	"github.com/tdewolff/parse/v2/css"
	"github.com/vanng822/go-premailer/premailer"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	nethtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// EmailMaxStyleMatches bounds the selectors of the author's style sheets
// times the elements of the author's document. Premailer matches every
// selector against the whole document, so its time grows with that
// product: at the limit, inlining takes about a second; real templates
// (a few hundred selectors, a few hundred elements) stay far below it.
const EmailMaxStyleMatches = 2_000_000

// ErrStyleTooComplex is returned by CompileEmail when the author's style
// sheets have too many selectors for the size of the document (see
// EmailMaxStyleMatches).
var ErrStyleTooComplex = errors.New("render: email style sheet too large for its document")

// CompileEmail turns composed content into a compiled EmailTemplate, once
// per blast: the body becomes HTML (Markdown through goldmark, blocks
// through their renderer, Code mode as written), is sanitised (see
// SanitizeEmailHTML), placed in the email-safe table layout with the
// style sheet, the preheader and (for marketing) the footer, and its CSS
// is inlined by premailer; what premailer produced is sanitised once more
// (style attributes, the remaining @media rules, handlers and URLs), so
// the guarantee holds for the HTML that leaves. The result and the
// generated plain-text part are then split into literal chunks and slots.
//
// Errors: ErrInvalidPurpose, ErrEmptySubject, ErrSubjectNewline,
// ErrUnknownFormat, ErrBodyTooLarge, ErrBodyTooDeep, ErrStyleTooComplex
// (see EmailMaxStyleMatches), ErrMissingPhysicalAddress (marketing
// without org.PostalAddress), a wrapped *UnknownFieldsError (matching
// ErrPHIField for a clinical field) or *TemplateSyntaxError for bad merge
// tokens, *MergePlacementError for a merge token in a URL or CSS,
// *StyleError, *BlockError and *AttachmentError.
func CompileEmail(c EmailContent, purpose carecast.Purpose, org carecast.Organization) (*EmailTemplate, error) {
	if !purpose.Valid() {
		return nil, ErrInvalidPurpose
	}
	if strings.TrimSpace(c.Subject) == "" {
		return nil, ErrEmptySubject
	}
	if strings.ContainsAny(c.Subject, "\r\n") {
		return nil, ErrSubjectNewline
	}
	if len(c.Body) > EmailMaxBodyBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBodyTooLarge, len(c.Body), EmailMaxBodyBytes)
	}
	switch c.Format {
	case FormatMarkdown, FormatBlocks, FormatHTML:
	default:
		return nil, ErrUnknownFormat
	}
	var address []string
	for _, line := range org.PostalAddress {
		if l := strings.TrimSpace(line); l != "" {
			address = append(address, l)
		}
	}
	if purpose == carecast.Marketing && len(address) == 0 {
		return nil, ErrMissingPhysicalAddress
	}
	if err := c.Style.Validate(); err != nil {
		return nil, err
	}
	style := c.Style.WithDefaults()
	atts, err := attachPrepare(c.Attachments)
	if err != nil {
		return nil, err
	}
	t := &EmailTemplate{purpose: purpose, attachments: atts}
	if t.subject, err = ParseTemplate(c.Subject); err != nil {
		return nil, fmt.Errorf("render: email subject: %w", err)
	}
	if t.preview, err = ParseTemplate(c.PreviewText); err != nil {
		return nil, fmt.Errorf("render: email preview text: %w", err)
	}

	slots := &emailSlots{prefix: emailPickPrefix(c, org)}
	body, err := emailBodyHTML(c, slots)
	if err != nil {
		return nil, err
	}
	preheader, err := slots.sentinelize(strings.TrimSpace(c.PreviewText))
	if err != nil {
		return nil, fmt.Errorf("render: email preview text: %w", err)
	}
	doc, err := emailAssemble(body, style, purpose, org.Name, address, slots, preheader, c.Format != FormatHTML)
	if err != nil {
		return nil, err
	}
	if err := emailMarkSlots(doc, slots); err != nil {
		return nil, err
	}
	htmlOut, err := emailInline(doc)
	if err != nil {
		return nil, err
	}
	// After inlining, so that CSS display rules show in style attributes.
	text := emailPlainText(doc, slots)
	t.merges = slots.merges
	t.links = slots.links
	t.linksHTML = make([]string, len(slots.links))
	for i, u := range slots.links {
		t.linksHTML[i] = string(emailAppendHTML(nil, u))
	}
	t.html = slots.split(htmlOut)
	t.text = slots.split(text)
	t.sizeHint = len(htmlOut) + len(text) + len(c.Subject) + len(c.PreviewText) + 64*(len(slots.merges)+2)
	t.fieldKeys = emailFieldKeys(append([]*Template{t.subject, t.preview}, slots.merges...))
	return t, nil
}

// emailFieldKeys merges the templates' field keys, first use first.
func emailFieldKeys(ts []*Template) []string {
	var keys []string
	seen := map[string]bool{}
	for _, t := range ts {
		for _, k := range t.FieldKeys() {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// emailSlots tracks the sentinels that stand for slots while the body goes
// through goldmark, the HTML parser and premailer. A sentinel is the
// prefix, a kind letter (m merge, l link, u unsubscribe), a decimal index
// and "x": letters and digits only, so no escaper or URL encoder touches
// it, and the prefix is chosen to occur nowhere in the author's input.
type emailSlots struct {
	prefix string
	merges []*Template
	links  []string
}

// emailPickPrefix returns a sentinel prefix absent from every input.
func emailPickPrefix(c EmailContent, org carecast.Organization) string {
	st := c.Style
	all := strings.ToLower(strings.Join(append([]string{c.Body, c.Subject, c.PreviewText, org.Name,
		st.FontFamily, st.FontSize, st.TextColor, st.ButtonBackground, st.ButtonTextColor,
		st.ContainerBackground, st.LinkColor, st.PageBackground}, org.PostalAddress...), "\x00"))
	for i := 0; ; i++ {
		p := "zqmf" + emailLetters(i) + "q"
		if !strings.Contains(all, p) {
			return p
		}
	}
}

// emailLetters spells i in base 26 with letters.
func emailLetters(i int) string {
	var b []byte
	for {
		b = append(b, byte('a'+i%26))
		i /= 26
		if i == 0 {
			return string(b)
		}
	}
}

// sentinel returns the sentinel for slot kind k, index i.
func (s *emailSlots) sentinel(k byte, i int) string {
	return s.prefix + string(k) + strconv.Itoa(i) + "x"
}

// sentinelize replaces every merge token in text with a sentinel and
// records the token's own single-token template. It reads tokens with
// mergeScan, exactly as ParseTemplate does. Unknown fields are collected
// into one *UnknownFieldsError with offsets into text.
func (s *emailSlots) sentinelize(text string) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	var b strings.Builder
	var unknown UnknownFieldsError
	var tokErr error
	err := mergeScan(text, func(lit string) { b.WriteString(lit) }, func(start, end int) {
		tok, err := ParseTemplate(text[start:end])
		var ue *UnknownFieldsError
		switch {
		case errors.As(err, &ue):
			// A one-token template has one unknown field, its key
			// computed on the whole token.
			keyText, _, _ := strings.Cut(text[start+2:end-2], "|")
			unknown.add(strings.TrimSpace(keyText), start)
		case err != nil:
			if tokErr == nil {
				tokErr = err
			}
		default:
			b.WriteString(s.sentinel('m', len(s.merges)))
			s.merges = append(s.merges, tok)
		}
	})
	if err == nil {
		err = tokErr
	}
	if err != nil {
		return "", err
	}
	if unknown.Count > 0 {
		return "", &unknown
	}
	return b.String(), nil
}

// split cuts out into literal chunks and slots at the sentinels.
func (s *emailSlots) split(out string) []emailSeg {
	var segs []emailSeg
	var lit strings.Builder
	for {
		j := strings.Index(out, s.prefix)
		if j < 0 {
			break
		}
		lit.WriteString(out[:j])
		rest := out[j+len(s.prefix):]
		kind, n, ok := emailParseSentinel(rest)
		switch {
		case !ok:
		case kind == emailSlotMerge:
			ok = n.idx < len(s.merges)
		case kind == emailSlotLink:
			ok = n.idx < len(s.links)
		case kind == emailSlotUnsub:
			ok = n.idx == 0
		}
		if !ok {
			lit.WriteString(s.prefix)
			out = rest
			continue
		}
		segs = append(segs, emailSeg{lit: lit.String(), kind: kind, idx: n.idx})
		lit.Reset()
		out = rest[n.width:]
	}
	lit.WriteString(out)
	segs = append(segs, emailSeg{lit: lit.String()})
	return segs
}

// emailSentinelTail is a parsed sentinel after its prefix.
type emailSentinelTail struct{ idx, width int }

// emailParseSentinel reads "m12x" and the like.
func emailParseSentinel(s string) (emailSlotKind, emailSentinelTail, bool) {
	if len(s) < 3 {
		return 0, emailSentinelTail{}, false
	}
	var kind emailSlotKind
	switch s[0] {
	case 'm':
		kind = emailSlotMerge
	case 'l':
		kind = emailSlotLink
	case 'u':
		kind = emailSlotUnsub
	default:
		return 0, emailSentinelTail{}, false
	}
	k := 1
	for k < len(s) && s[k] >= '0' && s[k] <= '9' {
		k++
	}
	if k == 1 || k >= len(s) || s[k] != 'x' {
		return 0, emailSentinelTail{}, false
	}
	idx, err := strconv.Atoi(s[1:k])
	if err != nil {
		return 0, emailSentinelTail{}, false
	}
	return kind, emailSentinelTail{idx: idx, width: k + 1}, true
}

// emailNewMarkdown returns the Markdown converter: GitHub-flavoured
// tables, strikethrough and autolinks; raw HTML passes through to the
// sanitiser. Task lists are left out because email clients drop
// checkboxes. A converter is built per compile (tens of microseconds) so
// that no state is shared between compiles.
func emailNewMarkdown() goldmark.Markdown {
	return goldmark.New(
		goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify),
		goldmark.WithRendererOptions(gmhtml.WithUnsafe()),
	)
}

// emailBodyHTML converts the body to an HTML document or fragment with
// merge tokens replaced by sentinels.
func emailBodyHTML(c EmailContent, slots *emailSlots) (string, error) {
	switch c.Format {
	case FormatMarkdown:
		if emailMarkdownTooDeep(c.Body) {
			return "", ErrBodyTooDeep
		}
		src, err := slots.sentinelize(c.Body)
		if err != nil {
			return "", fmt.Errorf("render: email body: %w", err)
		}
		var b bytes.Buffer
		if err := emailNewMarkdown().Convert([]byte(src), &b); err != nil {
			return "", fmt.Errorf("render: email body: markdown: %w", err)
		}
		return b.String(), nil
	case FormatBlocks:
		doc, err := ParseBlocks([]byte(c.Body))
		if err != nil {
			return "", err
		}
		return doc.blocksHTML(slots.sentinelize)
	default:
		src, err := slots.sentinelize(c.Body)
		if err != nil {
			return "", fmt.Errorf("render: email body: %w", err)
		}
		return src, nil
	}
}

// emailMarkdownTooDeep reports whether a line of src starts with a
// container prefix longer than EmailMaxMarkdownPrefix.
func emailMarkdownTooDeep(src string) bool {
	for line := range strings.SplitSeq(src, "\n") {
		n := 0
		for n < len(line) && strings.IndexByte(" \t>-*+.)0123456789", line[n]) >= 0 {
			n++
		}
		if n > EmailMaxMarkdownPrefix {
			return true
		}
	}
	return false
}

// emailAssemble builds the whole document: the layout skeleton with the
// style sheet, the preheader, the sanitised author content, and the
// marketing footer. preheader is the preview text with merge sentinels
// (empty for none). generated is true for Markdown and blocks, whose
// tables get the layout's table class.
func emailAssemble(body string, s Style, purpose carecast.Purpose, orgName string, address []string, slots *emailSlots, preheader string, generated bool) (*nethtml.Node, error) {
	author, err := nethtml.Parse(strings.NewReader(body))
	if err != nil { // the only error a strings.Reader allows: nesting over 512
		return nil, fmt.Errorf("%w: %w", ErrBodyTooDeep, err)
	}
	// Names are checked before the sanitiser drops unknown ones, so that
	// a merge token there is an error rather than silently gone.
	if err := emailCheckNames(author, slots.prefix); err != nil {
		return nil, err
	}
	sanitizeTree(author, nil)
	if sel, el := emailStyleWork(author); sel*el > EmailMaxStyleMatches {
		return nil, fmt.Errorf("%w: %d selectors × %d elements, limit %d", ErrStyleTooComplex, sel, el, EmailMaxStyleMatches)
	}

	var b strings.Builder
	b.Grow(8192)
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n")
	b.WriteString("<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	b.WriteString("<meta name=\"x-apple-disable-message-reformatting\">\n")
	b.WriteString("<meta name=\"format-detection\" content=\"telephone=no, date=no, address=no, email=no\">\n")
	b.WriteString("<style>\n")
	b.WriteString(styleSheet(s))
	b.WriteString("</style>\n</head>\n<body class=\"cc-body\">\n")
	if preheader != "" {
		b.WriteString("<div class=\"cc-preheader\">")
		b.WriteString(html.EscapeString(preheader))
		// Spacers keep clients from filling the inbox snippet with body text.
		b.WriteString(strings.Repeat("&#847;&zwnj;&nbsp;", 30))
		b.WriteString("</div>\n")
	}
	w := strconv.Itoa(s.ContentWidth)
	b.WriteString("<table role=\"presentation\" class=\"cc-page\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\">\n<tr>\n<td class=\"cc-page-cell\" align=\"center\">\n")
	b.WriteString("<!--[if mso]><table role=\"presentation\" width=\"" + w + "\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" align=\"center\"><tr><td><![endif]-->\n")
	b.WriteString("<table role=\"presentation\" class=\"cc-container\" width=\"" + w + "\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" align=\"center\">\n")
	b.WriteString("<tr>\n<td class=\"cc-content\" id=\"cc-content\"></td>\n</tr>\n")
	if purpose == carecast.Marketing {
		emailFooter(&b, orgName, address, slots.sentinel('u', 0))
	}
	b.WriteString("</table>\n<!--[if mso]></td></tr></table><![endif]-->\n</td>\n</tr>\n</table>\n</body>\n</html>\n")

	doc, err := nethtml.Parse(strings.NewReader(b.String()))
	if err != nil {
		return nil, fmt.Errorf("render: email layout: %w", err)
	}
	head := emailFind(doc, func(n *nethtml.Node) bool { return n.DataAtom == atom.Head })
	content := emailFind(doc, func(n *nethtml.Node) bool { return n.DataAtom == atom.Td && emailAttr(n, "id") == "cc-content" })
	content.Attr = emailWithoutAttr(content.Attr, "id")
	authorHead := emailFind(author, func(n *nethtml.Node) bool { return n.DataAtom == atom.Head })
	authorBody := emailFind(author, func(n *nethtml.Node) bool { return n.DataAtom == atom.Body })
	if authorHead != nil {
		for c := authorHead.FirstChild; c != nil; {
			next := c.NextSibling
			if c.Type == nethtml.ElementNode && c.DataAtom == atom.Style {
				authorHead.RemoveChild(c)
				head.AppendChild(c)
			}
			c = next
		}
	}
	if authorBody != nil {
		for c := authorBody.FirstChild; c != nil; c = authorBody.FirstChild {
			authorBody.RemoveChild(c)
			content.AppendChild(c)
		}
	}
	emailWalk(doc, func(n *nethtml.Node) {
		if n.DataAtom == atom.Style {
			emailMediaAttrToRule(n)
		}
		if generated && n.DataAtom == atom.Table && emailAttr(n, "class") == "" && emailAttr(n, "role") == "" {
			n.Attr = append(n.Attr, nethtml.Attribute{Key: "class", Val: "cc-table"})
		}
	})
	return doc, nil
}

// emailFooter writes the marketing footer (CAN-SPAM, compliance EM-06):
// why the recipient gets the email, a conspicuous unsubscribe link that
// stops all marketing email, and the organization's name and postal
// address.
func emailFooter(b *strings.Builder, orgName string, address []string, unsub string) {
	name := strings.TrimSpace(orgName)
	from := "us"
	if name != "" {
		from = html.EscapeString(name)
	}
	b.WriteString("<tr>\n<td class=\"cc-footer\">\n")
	b.WriteString("<p>You are receiving this email because you opted in to marketing emails from " + from + ".</p>\n")
	b.WriteString("<p><a href=\"" + unsub + "\" target=\"_blank\">Unsubscribe</a> to stop all marketing emails from " + from + ".</p>\n")
	b.WriteString("<p>")
	if name != "" {
		b.WriteString(html.EscapeString(name))
		b.WriteString("<br>")
	}
	for i, line := range address {
		if i > 0 {
			b.WriteString("<br>")
		}
		b.WriteString(html.EscapeString(line))
	}
	b.WriteString("</p>\n</td>\n</tr>\n")
}

// emailMediaAttrToRule turns <style media="screen and (…)"> into an
// @media rule, so that every media-dependent rule ends up as an @media
// block (premailer skips style elements with a media attribute). The
// sanitiser has already rebuilt the media attribute as a media query.
func emailMediaAttrToRule(n *nethtml.Node) {
	media := emailAttr(n, "media")
	n.Attr = emailWithoutAttr(n.Attr, "media")
	if media == "" {
		return
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == nethtml.TextNode {
			c.Data = "@media " + media + " {\n" + c.Data + "\n}\n"
			return
		}
	}
}

// emailStyleWork counts the selectors premailer will match (those of the
// top-level style rules of the sanitised <style> elements: @media rules
// are not inlined) and the elements of the document.
func emailStyleWork(doc *nethtml.Node) (selectors, elements int) {
	emailWalk(doc, func(n *nethtml.Node) {
		if n.Type != nethtml.ElementNode {
			return
		}
		elements++
		if n.DataAtom != atom.Style || n.FirstChild == nil {
			return
		}
		toks := cssTokenize(n.FirstChild.Data) // the sanitiser left one text node
		for i := 0; i < len(toks); {
			if toks[i].tt == css.WhitespaceToken {
				i++
				continue
			}
			at := toks[i].tt == css.AtKeywordToken
			prelude, _, _, next := cssRuleParts(toks, i, at)
			if !at {
				selectors++
				for _, t := range prelude {
					if t.tt == css.CommaToken {
						selectors++
					}
				}
			}
			i = next
		}
	})
	return selectors, elements
}

// emailCheckNames refuses a merge sentinel in an element or attribute
// name of the author's document.
func emailCheckNames(doc *nethtml.Node, prefix string) error {
	var err error
	emailWalk(doc, func(n *nethtml.Node) {
		if err != nil || n.Type != nethtml.ElementNode {
			return
		}
		if strings.Contains(n.Data, prefix) {
			err = &MergePlacementError{Where: "element name"}
			return
		}
		for _, a := range n.Attr {
			if strings.Contains(strings.ToLower(a.Key), prefix) {
				err = &MergePlacementError{Where: "attribute name"}
				return
			}
		}
	})
	return err
}

// emailURLAttrs hold URLs: a merge token there is refused (HI-03).
var emailURLAttrs = map[string]bool{
	"href": true, "src": true, "background": true, "poster": true, "cite": true, "longdesc": true, "usemap": true, "action": true, "srcset": true,
}

// emailMarkSlots checks where merge sentinels ended up (names were checked
// before sanitising, by emailCheckNames) and swaps every
// http(s) link's href for a link sentinel, recording the URL.
func emailMarkSlots(doc *nethtml.Node, slots *emailSlots) error {
	merge := slots.prefix + "m"
	var err error
	emailWalk(doc, func(n *nethtml.Node) {
		if err != nil {
			return
		}
		switch n.Type {
		case nethtml.TextNode:
			if n.Parent != nil && n.Parent.DataAtom == atom.Style && strings.Contains(n.Data, merge) {
				err = &MergePlacementError{Where: "style element"}
			}
			return
		case nethtml.ElementNode:
		default:
			return
		}
		for i := range n.Attr {
			a := &n.Attr[i]
			key := strings.ToLower(a.Key)
			switch {
			case !strings.Contains(a.Val, merge):
			case emailURLAttrs[key]:
				err = &MergePlacementError{Where: key + " attribute (URLs must not carry patient data)"}
				return
			case key == "style":
				err = &MergePlacementError{Where: "style attribute"}
				return
			}
			if n.DataAtom == atom.A && key == "href" && a.Namespace == "" {
				u := strings.TrimSpace(a.Val)
				l := strings.ToLower(u)
				if strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") {
					a.Val = slots.sentinel('l', len(slots.links))
					slots.links = append(slots.links, u)
				}
			}
		}
	})
	return err
}

// emailInline runs premailer over the document once, then sanitises
// what premailer made of it (sanitizeFinal: the guarantee is about what
// leaves; <style> elements keep only their @media rules), and renders the
// final HTML.
func emailInline(doc *nethtml.Node) (string, error) {
	pm := premailer.NewPremailer(goquery.NewDocumentFromNode(doc), &premailer.Options{CssToAttributes: true})
	if _, err := pm.Transform(); err != nil {
		return "", fmt.Errorf("render: inlining CSS: %w", err)
	}
	sanitizeFinal(doc)
	var b strings.Builder
	if err := nethtml.Render(&b, doc); err != nil {
		return "", fmt.Errorf("render: email html: %w", err)
	}
	return b.String(), nil
}

// emailWalk calls f for n and every node below it, in document order.
func emailWalk(n *nethtml.Node, f func(*nethtml.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		emailWalk(c, f)
	}
}

// emailFind returns the first node below n (or n) for which match is true.
func emailFind(n *nethtml.Node, match func(*nethtml.Node) bool) *nethtml.Node {
	if n.Type == nethtml.ElementNode && match(n) {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := emailFind(c, match); f != nil {
			return f
		}
	}
	return nil
}

// emailAttr returns n's attribute key, or "".
func emailAttr(n *nethtml.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key && a.Namespace == "" {
			return a.Val
		}
	}
	return ""
}

// emailWithoutAttr returns attrs without key.
func emailWithoutAttr(attrs []nethtml.Attribute, key string) []nethtml.Attribute {
	out := attrs[:0]
	for _, a := range attrs {
		if a.Key != key {
			out = append(out, a)
		}
	}
	return out
}
