package render

import (
	"strconv"
	"strings"

	nethtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// emailPlainText generates the text/plain alternative from the assembled
// document (after inlining, with slot sentinels in place): paragraphs
// and headings separated by blank lines, "- " and "1. " list items, "> "
// quoted blockquotes, a dashed line for <hr>, and links as "text (url)"
// (just "url" when the text is the URL itself). The head, the preheader
// and elements hidden with display:none are skipped; inline elements
// styled display:block start a new line.
func emailPlainText(doc *nethtml.Node, slots *emailSlots) string {
	w := &emailTextWriter{slots: slots}
	body := emailFind(doc, func(n *nethtml.Node) bool { return n.DataAtom == atom.Body })
	if body != nil {
		w.children(body)
	}
	return w.finish()
}

// emailTextWriter accumulates plain text with block structure.
type emailTextWriter struct {
	slots   *emailSlots
	b       strings.Builder
	quote   int  // blockquote depth
	pending int  // newlines owed before the next text
	started bool // some text was written
	space   bool // a collapsed space is owed before the next word
	pre     int  // depth inside <pre>
	lastQ   int  // blockquote depth of the last text written
}

// block asks for n newlines (1: new line, 2: blank line) before the next
// text.
func (w *emailTextWriter) block(n int) {
	if w.started && n > w.pending {
		w.pending = n
	}
	w.space = false
}

// text writes inline text, collapsing white space outside <pre>.
func (w *emailTextWriter) text(s string) {
	if w.pre > 0 {
		for i, line := range strings.Split(s, "\n") {
			if i > 0 {
				w.block(1)
				w.started = true
			}
			if line != "" {
				w.raw(line)
			}
		}
		return
	}
	for i, word := range strings.Fields(s) {
		if i > 0 || (len(s) > 0 && emailIsSpace(s[0])) {
			w.space = true
		}
		w.raw(word)
	}
	if len(s) > 0 && emailIsSpace(s[len(s)-1]) {
		w.space = true
	}
}

// raw writes s after any owed line breaks or space.
func (w *emailTextWriter) raw(s string) {
	if w.pending > 0 {
		for i := 0; i < w.pending; i++ {
			w.b.WriteByte('\n')
			if q := min(w.quote, w.lastQ); i < w.pending-1 && q > 0 {
				w.b.WriteString(strings.Repeat(">", q))
			}
		}
		w.pending = 0
		w.space = false
		w.b.WriteString(strings.Repeat("> ", w.quote))
	} else if !w.started {
		w.b.WriteString(strings.Repeat("> ", w.quote))
	} else if w.space {
		w.b.WriteByte(' ')
	}
	w.space = false
	w.started = true
	w.lastQ = w.quote
	w.b.WriteString(s)
}

// emailIsSpace reports HTML white space.
func emailIsSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

// children writes n's children.
func (w *emailTextWriter) children(n *nethtml.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.node(c)
	}
}

// node writes one node and its subtree.
func (w *emailTextWriter) node(n *nethtml.Node) {
	switch n.Type {
	case nethtml.TextNode:
		w.text(n.Data)
		return
	case nethtml.ElementNode:
	default:
		return
	}
	if emailHidden(n) {
		return
	}
	switch n.DataAtom {
	case atom.Style, atom.Script, atom.Head, atom.Title:
		return
	case atom.Br:
		w.block(1)
		w.started = true
		w.pending = max(w.pending, 1)
	case atom.Hr:
		w.block(2)
		w.raw(strings.Repeat("-", 40))
		w.block(2)
	case atom.P, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Ul, atom.Ol, atom.Table, atom.Div:
		w.block(2)
		if n.DataAtom == atom.Ol || n.DataAtom == atom.Ul {
			w.list(n)
		} else {
			w.children(n)
		}
		w.block(2)
	case atom.Pre:
		w.block(2)
		w.pre++
		w.children(n)
		w.pre--
		w.block(2)
	case atom.Blockquote:
		w.block(2)
		w.quote++
		w.children(n)
		w.block(2)
		w.quote--
	case atom.Tr, atom.Li, atom.Dt, atom.Dd, atom.Section, atom.Article, atom.Header, atom.Footer, atom.Center:
		w.block(1)
		w.children(n)
		w.block(1)
	case atom.Td, atom.Th:
		w.space = w.started
		w.children(n)
		w.space = true
	case atom.A:
		w.link(n)
	case atom.Img:
		// Images carry no text; a linked image's alt is used by link.
	default:
		if emailStyledBlock(n) {
			w.block(1)
			w.children(n)
			w.block(1)
			return
		}
		w.children(n)
	}
}

// list writes a <ul> or <ol>'s items with markers.
func (w *emailTextWriter) list(n *nethtml.Node) {
	num := 1
	if s := emailAttr(n, "start"); s != "" {
		if v, err := strconv.Atoi(s); err == nil {
			num = v
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type != nethtml.ElementNode || c.DataAtom != atom.Li {
			w.node(c)
			continue
		}
		w.block(1)
		if n.DataAtom == atom.Ol {
			w.raw(strconv.Itoa(num) + ".")
			num++
		} else {
			w.raw("-")
		}
		w.space = true
		w.children(c)
		w.block(1)
	}
}

// link writes a link as "text (url)".
func (w *emailTextWriter) link(n *nethtml.Node) {
	href := strings.TrimSpace(emailAttr(n, "href"))
	var inner emailTextWriter
	inner.slots = w.slots
	inner.children(n)
	label := strings.Join(strings.Fields(inner.finish()), " ")
	if label == "" {
		emailWalk(n, func(c *nethtml.Node) {
			if label == "" && c.DataAtom == atom.Img {
				label = strings.TrimSpace(emailAttr(c, "alt"))
			}
		})
	}
	orig := href
	if p := w.slots.prefix + "l"; strings.HasPrefix(href, p) {
		if kind, t, ok := emailParseSentinel(href[len(w.slots.prefix):]); ok && kind == emailSlotLink && t.idx < len(w.slots.links) {
			orig = w.slots.links[t.idx]
		}
	}
	shown := href
	if h, ok := strings.CutPrefix(href, "mailto:"); ok {
		shown = h
	} else if t, ok := strings.CutPrefix(href, "tel:"); ok {
		shown = t
	}
	switch {
	case href == "" || strings.HasPrefix(href, "#"):
		if label != "" {
			w.raw(label)
		}
	case label == "" || emailSameURL(label, orig):
		w.raw(shown)
	default:
		w.raw(label)
		w.space = true
		w.raw("(" + shown + ")")
	}
}

// emailHidden reports an element hidden from view: the preheader, or any
// element styled display:none.
func emailHidden(n *nethtml.Node) bool {
	if strings.Contains(" "+emailAttr(n, "class")+" ", " cc-preheader ") {
		return true
	}
	st := strings.ToLower(emailAttr(n, "style"))
	if st == "" {
		return false
	}
	st = strings.ReplaceAll(st, " ", "")
	return strings.Contains(st, "display:none")
}

// emailStyledBlock reports an inline element styled display:block (after
// inlining, CSS classes show up in the style attribute).
func emailStyledBlock(n *nethtml.Node) bool {
	st := strings.ReplaceAll(strings.ToLower(emailAttr(n, "style")), " ", "")
	return strings.Contains(st, "display:block")
}

// finish returns the text with trailing spaces trimmed from every line
// and a single final newline.
func (w *emailTextWriter) finish() string {
	lines := strings.Split(w.b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	s := strings.TrimSpace(strings.Join(lines, "\n"))
	if s == "" {
		return ""
	}
	return s + "\n"
}

// emailSameURL reports whether a link's text is its URL, as autolinks
// write it: equal, or equal without the scheme, "mailto:" or "tel:", or a
// trailing slash.
func emailSameURL(label, url string) bool {
	trim := func(s string) string {
		s = strings.ToLower(strings.TrimSpace(s))
		for _, p := range []string{"https://", "http://", "mailto:", "tel:"} {
			s = strings.TrimPrefix(s, p)
		}
		return strings.TrimSuffix(s, "/")
	}
	return trim(label) == trim(url)
}
