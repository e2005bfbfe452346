package render

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// RemovalKind says what sort of thing the Code-mode sanitiser removed.
type RemovalKind string

// The kinds of removal SanitizeEmailHTML reports.
const (
	RemovedElement   RemovalKind = "element"   // an element and everything inside it
	RemovedWrapper   RemovalKind = "wrapper"   // an element whose content was kept (form, unknown elements)
	RemovedAttribute RemovalKind = "attribute" // one attribute of an element
	RemovedComment   RemovalKind = "comment"   // an HTML comment
	RemovedCSS       RemovalKind = "css"       // an at-rule, rule or declaration of a style sheet or style attribute
)

// Removal is one kind of thing the sanitiser removed and how often, for
// telling a Code-mode author what changed ("removed 2 × onclick").
type Removal struct {
	// Kind is what sort of thing was removed.
	Kind RemovalKind
	// Name is the element or attribute name ("script", "onclick"),
	// "comment", or for CSS: the at-rule ("@import"), the property of a
	// dropped declaration ("behavior", or "width" when its value was
	// refused), "selector" for a rule whose selector was refused, or
	// "invalid" for text that is not a rule or declaration. Names that
	// are not plain (letters, digits, hyphens; at most 40 bytes) are
	// reported as "element", "attribute", "property" or "at-rule".
	Name string
	// Count is how many were removed.
	Count int
}

// sanitizeDropElements are removed together with their content: they run
// code, embed other documents, collect input, or are dropped by Gmail,
// Outlook and Apple Mail (SanitizeEmailHTML documents the list).
var sanitizeDropElements = map[string]bool{
	"script": true, "noscript": true, "template": true,
	"iframe": true, "frame": true, "frameset": true, "object": true, "embed": true, "applet": true, "param": true, "portal": true,
	"input": true, "button": true, "select": true, "option": true, "optgroup": true, "textarea": true, "datalist": true, "output": true, "keygen": true,
	"base": true, "link": true, "meta": true, "title": true,
	"svg": true, "math": true, "audio": true, "video": true, "source": true, "track": true, "canvas": true, "dialog": true,
	"xmp": true, "plaintext": true, "noembed": true, "noframes": true,
}

// sanitizeKeepElements are the elements kept (with their allowed
// attributes); <style> is handled on its own.
var sanitizeKeepElements = map[string]bool{
	"html": true, "head": true, "body": true,
	"a": true, "abbr": true, "acronym": true, "address": true, "article": true, "aside": true, "b": true, "bdi": true, "bdo": true,
	"big": true, "blockquote": true, "br": true, "caption": true, "center": true, "cite": true, "code": true, "col": true,
	"colgroup": true, "dd": true, "del": true, "dfn": true, "div": true, "dl": true, "dt": true, "em": true, "figcaption": true,
	"figure": true, "font": true, "footer": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"header": true, "hr": true, "i": true, "img": true, "ins": true, "kbd": true, "li": true, "main": true, "mark": true,
	"nav": true, "ol": true, "p": true, "pre": true, "q": true, "rp": true, "rt": true, "ruby": true, "s": true, "samp": true,
	"section": true, "small": true, "span": true, "strike": true, "strong": true, "sub": true, "sup": true, "table": true,
	"tbody": true, "td": true, "tfoot": true, "th": true, "thead": true, "time": true, "tr": true, "tt": true, "u": true,
	"ul": true, "var": true, "wbr": true,
}

// sanitizeKeepAttrs are the attributes kept on kept elements (besides
// aria-* and data-* ones); those in sanitizeURLAttrs must also hold a
// safe URL, and style is rebuilt by the CSS sanitiser.
var sanitizeKeepAttrs = map[string]bool{
	"abbr": true, "align": true, "alt": true, "axis": true, "background": true, "bgcolor": true, "border": true,
	"bordercolor": true, "cellpadding": true, "cellspacing": true, "char": true, "charoff": true, "cite": true,
	"class": true, "clear": true, "color": true, "colspan": true, "compact": true, "datetime": true, "dir": true,
	"face": true, "frame": true, "headers": true, "height": true, "href": true, "hreflang": true, "hspace": true,
	"id": true, "lang": true, "name": true, "noshade": true, "nowrap": true, "rel": true, "reversed": true,
	"role": true, "rowspan": true, "rules": true, "scope": true, "size": true, "span": true, "src": true,
	"start": true, "style": true, "summary": true, "target": true, "title": true, "translate": true, "type": true,
	"valign": true, "value": true, "vspace": true, "width": true,
}

// sanitizeURLAttrs hold URLs; their scheme is checked.
var sanitizeURLAttrs = map[string]bool{
	"href": true, "src": true, "background": true, "poster": true, "cite": true, "longdesc": true, "usemap": true, "xlink:href": true,
	"action": true, "formaction": true, "srcset": true, "data": true, "codebase": true, "dynsrc": true, "lowsrc": true, "ping": true,
}

// SanitizeEmailHTML applies the Code-mode sanitiser to an HTML document or
// fragment and returns the cleaned document and what was removed, in the
// order first seen. CompileEmail applies the same sanitiser to every
// content form (Markdown and block documents included), so this function
// is what an editor calls to tell the author what will change.
//
// The input is parsed as a browser parses it (golang.org/x/net/html) and
// the output is rendered from the cleaned tree; nothing is cut out of the
// text. What is kept is an allow-list; everything else is removed.
//
// Kept elements, with their allowed attributes: html, head, body; the
// text and grouping elements a, abbr, acronym, address, article, aside,
// b, bdi, bdo, big, blockquote, br, center, cite, code, dd, del, dfn,
// div, dl, dt, em, figcaption, figure, font, footer, h1–h6, header, hr,
// i, img, ins, kbd, li, main, mark, nav, ol, p, pre, q, rp, rt, ruby, s,
// samp, section, small, span, strike, strong, sub, sup, time, tt, u, ul,
// var, wbr; the table elements table, caption, colgroup, col, thead,
// tbody, tfoot, tr, td, th; and style (see below).
//
// Removed together with everything inside them:
//
//   - code and active content: script, noscript, template;
//   - embedded documents and plug-ins: iframe, frame, frameset, object,
//     embed, applet, param, portal;
//   - form controls: input, button, select, option, optgroup, textarea,
//     datalist, output, keygen;
//   - document metadata that would override the email's own: base, link
//     (external style sheets), meta, title;
//   - media email clients do not play or render, and foreign content:
//     svg, math, audio, video, source, track, canvas, dialog;
//   - obsolete raw-text elements: xmp, plaintext, noembed, noframes;
//   - a <style> element whose type is not text/css or whose media
//     attribute is not a media query.
//
// Every other element (form, label, marquee, an Outlook <o:p>, a custom
// element, …) is removed but its content is kept, sanitised, in its place.
//
// Kept attributes, on every kept element: abbr, align, alt, axis,
// background, bgcolor, border, bordercolor, cellpadding, cellspacing,
// char, charoff, cite, class, clear, color, colspan, compact, datetime,
// dir, face, frame, headers, height, href, hreflang, hspace, id, lang,
// name, noshade, nowrap, rel, reversed, role, rowspan, rules, scope, size,
// span, src, start, style, summary, target, title, translate, type,
// valign, value, vspace, width, and aria-* and data-* attributes whose
// names are letters, digits, hyphens, underscores and dots. Every other
// attribute is removed: event handlers (on*), srcdoc, srcset, action,
// formaction, ping, http-equiv, xmlns, namespaced attributes, and so on.
// Of the kept ones, href, src, background and cite are removed when their
// URL has a scheme other than http, https, mailto, tel, sms or cid
// (javascript:, vbscript:, data:, file:, …; ASCII whitespace and control
// characters inside the scheme are ignored, as browsers do).
//
// CSS, in <style> elements and style attributes, is tokenised (CSS Syntax
// Level 3) and written out again from the tokens that pass:
//
//   - style rules whose selector is made of type, class, id, attribute
//     and pseudo-class selectors, combinators and the functional
//     pseudo-classes :not() and :nth-child() (and its -last- and -of-type
//     forms); @media rules (not nested) whose query is made of words,
//     parenthesised features, numbers and lengths, holding such rules.
//     Every other at-rule is removed: @import, @charset, @namespace,
//     @font-face, @keyframes, @supports, @page, …;
//   - declarations of the properties email clients support: background
//     and its parts, border and its parts, border-radius, border-collapse,
//     border-spacing, box-shadow, box-sizing, caption-side, clear, color,
//     color-scheme, direction, display, empty-cells, float, font and its
//     parts, the widths and heights and their min- and max- forms,
//     letter-spacing, line-height, list-style, list-style-position,
//     list-style-type, margin, padding, opacity, outline, overflow,
//     overflow-wrap, table-layout, text-align, text-decoration and its
//     parts, text-indent, text-overflow, text-shadow, text-transform,
//     text-size-adjust, unicode-bidi, vertical-align, visibility,
//     white-space, word-break, word-spacing, word-wrap, font smoothing,
//     -ms-interpolation-mode, supported-color-schemes and Outlook's
//     mso-hide, mso-line-height-rule, mso-table-lspace, mso-table-rspace,
//     mso-padding-alt, mso-border-alt, mso-text-raise, mso-height-rule,
//     mso-ansi-font-size and mso-font-width. Others (behavior,
//     -moz-binding, position, content, filter, custom properties, …) are
//     removed;
//   - a declaration is kept only when every token of its value is a word,
//     number, length, percentage, hex colour, comma, / + - * operator, a
//     string without quotes, backslashes, angle brackets or control
//     characters, a url() holding an absolute http, https or cid URL, or
//     one of the functions rgb, rgba, hsl, hsla, calc, min, max, clamp and
//     the linear and radial gradients; an optional !important ends it.
//     Backslash escapes, expression(), javascript: and vbscript: are
//     refused wherever they appear;
//   - comments disappear; the output never holds "<", so it cannot end
//     the <style> element.
//
// A style attribute left without declarations is removed; so is a <style>
// element left without rules. Every HTML comment is removed (including
// Outlook conditional comments; the layout adds its own).
func SanitizeEmailHTML(src string) (string, []Removal) {
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil { // only reader errors are possible, and a strings.Reader has none
		return "", nil
	}
	rep := &sanitizeReport{}
	sanitizeTree(doc, rep)
	var b strings.Builder
	_ = html.Render(&b, doc) // writing to a strings.Builder cannot fail
	return b.String(), rep.list
}

// sanitizeReport aggregates removals; a nil report counts nothing.
type sanitizeReport struct {
	list  []Removal
	index map[Removal]int // Kind and Name (Count 0) → position in list
}

// add counts one removal.
func (r *sanitizeReport) add(kind RemovalKind, name string) {
	if r == nil {
		return
	}
	key := Removal{Kind: kind, Name: name}
	if i, ok := r.index[key]; ok {
		r.list[i].Count++
		return
	}
	if r.index == nil {
		r.index = map[Removal]int{}
	}
	r.index[key] = len(r.list)
	r.list = append(r.list, Removal{Kind: kind, Name: name, Count: 1})
}

// sanitizeName returns an element or attribute name for a report: the
// name when it is plain, else fallback.
func sanitizeName(name, fallback string) string {
	if !sanitizePlain(name, "-:_.", 40) {
		return fallback
	}
	return name
}

// sanitizePlain reports whether s is 1 to max bytes of lower-case ASCII
// letters, digits and the bytes in extra.
func sanitizePlain(s, extra string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

// sanitizeElementName is n's name, or its namespace for foreign content
// (svg, math).
func sanitizeElementName(n *html.Node) string {
	if n.Namespace != "" {
		return n.Namespace
	}
	return n.Data
}

// sanitizeTree rebuilds, in place, the children of n as SanitizeEmailHTML
// documents.
func sanitizeTree(n *html.Node, rep *sanitizeReport) {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		switch c.Type {
		case html.CommentNode:
			n.RemoveChild(c)
			rep.add(RemovedComment, "comment")
		case html.ElementNode:
			name := sanitizeElementName(c)
			switch {
			case sanitizeDropElements[name]:
				n.RemoveChild(c)
				rep.add(RemovedElement, name)
			case name == "style":
				if !sanitizeStyleElement(c, rep) {
					n.RemoveChild(c)
				}
			case sanitizeKeepElements[name]:
				sanitizeAttrs(c, rep)
				sanitizeTree(c, rep)
			default:
				// Unwrap: the content stays, sanitised, in the element's
				// place; next is still the sibling that followed it.
				sanitizeTree(c, rep)
				for gc := c.FirstChild; gc != nil; gc = c.FirstChild {
					c.RemoveChild(gc)
					n.InsertBefore(gc, c)
				}
				n.RemoveChild(c)
				rep.add(RemovedWrapper, sanitizeName(name, "element"))
			}
		case html.TextNode:
		case html.DoctypeNode: // only ever a child of the document: rewritten as the plain HTML5 doctype
			c.Data, c.Attr = "html", nil
		default:
			n.RemoveChild(c)
		}
		c = next
	}
}

// sanitizeAttrKept reports whether an attribute name is on the allow-list.
func sanitizeAttrKept(key string) bool {
	if sanitizeKeepAttrs[key] {
		return true
	}
	rest, ok := strings.CutPrefix(key, "data-")
	if !ok {
		rest, ok = strings.CutPrefix(key, "aria-")
	}
	return ok && sanitizePlain(rest, "-_.", 64)
}

// sanitizeAttrs keeps the allowed attributes of an element and rebuilds
// its style attribute.
func sanitizeAttrs(n *html.Node, rep *sanitizeReport) {
	kept := n.Attr[:0]
	for _, a := range n.Attr {
		key := strings.ToLower(a.Key)
		switch {
		case a.Namespace != "" || !sanitizeAttrKept(key):
			name := key
			if a.Namespace != "" {
				name = a.Namespace + ":" + key
			}
			rep.add(RemovedAttribute, sanitizeName(name, "attribute"))
			continue
		case sanitizeURLAttrs[key] && !sanitizeSafeURL(a.Val):
			rep.add(RemovedAttribute, key)
			continue
		case key == "style":
			a.Val = cssSanitizeDecls(a.Val, rep)
			if a.Val == "" {
				continue
			}
		}
		a.Key = key
		kept = append(kept, a)
	}
	n.Attr = kept
}

// sanitizeStyleElement rebuilds a <style> element in place and reports
// whether it stays: its type must be text/css (or absent) and its media
// attribute a media query; its CSS is rebuilt by cssSanitizeSheet.
func sanitizeStyleElement(n *html.Node, rep *sanitizeReport) bool {
	var attrs []html.Attribute
	for _, a := range n.Attr {
		key := strings.ToLower(a.Key)
		v := strings.TrimSpace(a.Val)
		switch {
		case a.Namespace != "":
			rep.add(RemovedAttribute, sanitizeName(a.Namespace+":"+key, "attribute"))
		case key == "type":
			if v != "" && !strings.EqualFold(v, "text/css") {
				rep.add(RemovedElement, "style")
				return false
			}
		case key == "media":
			if v == "" || strings.EqualFold(v, "all") {
				continue
			}
			media, ok := cssSanitizeMedia(v)
			if !ok {
				rep.add(RemovedElement, "style")
				return false
			}
			attrs = append(attrs, html.Attribute{Key: "media", Val: media})
		default:
			rep.add(RemovedAttribute, sanitizeName(key, "attribute"))
		}
	}
	var text strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode {
			text.WriteString(c.Data)
		}
	}
	sheet := cssSanitizeSheet(text.String(), false, rep)
	if sheet == "" {
		return false
	}
	n.Attr = attrs
	for c := n.FirstChild; c != nil; c = n.FirstChild {
		n.RemoveChild(c)
	}
	n.AppendChild(&html.Node{Type: html.TextNode, Data: sheet})
	return true
}

// sanitizeSafeURL reports whether a URL attribute value is relative or
// uses an allowed scheme. Browsers ignore ASCII whitespace and control
// characters inside a scheme, so they are dropped before the check.
func sanitizeSafeURL(u string) bool {
	var b strings.Builder
	for i := 0; i < len(u); i++ {
		c := u[i]
		if c <= ' ' || c == 0x7f {
			continue
		}
		switch c {
		case ':':
			switch strings.ToLower(b.String()) {
			case "http", "https", "mailto", "tel", "sms", "cid":
				return true
			}
			return false
		case '/', '?', '#':
			return true // relative reference: no scheme
		}
		b.WriteByte(c)
	}
	return true
}

// sanitizeFinal is CompileEmail's last pass over the delivered document,
// after premailer has inlined the (already sanitised) CSS: whatever
// premailer made of it, no element of the drop list is left (the
// layout's own <meta> elements in <head> aside), no event handler,
// namespaced attribute or unsafe URL, every style attribute is rebuilt by
// the CSS sanitiser, and <style> elements keep only their rebuilt @media
// rules. The layout's own comments (Outlook conditionals) stay.
func sanitizeFinal(doc *html.Node) {
	// Premailer gives every element of a class the same style attribute:
	// each distinct one is sanitised once. The map holds at most one
	// entry per element of the document.
	f := sanitizeFinalPass{styles: map[string]string{}}
	f.tree(doc)
}

// sanitizeFinalPass is the state of one sanitizeFinal run.
type sanitizeFinalPass struct {
	styles map[string]string // style attribute → sanitised
}

// tree rebuilds the children of n.
func (f *sanitizeFinalPass) tree(n *html.Node) {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		if c.Type == html.ElementNode {
			name := sanitizeElementName(c)
			switch {
			case name == "meta" && n.DataAtom == atom.Head:
			case sanitizeDropElements[name]:
				n.RemoveChild(c)
				c = next
				continue
			case name == "style":
				var text strings.Builder
				for t := c.FirstChild; t != nil; t = t.NextSibling {
					text.WriteString(t.Data)
				}
				sheet := cssSanitizeSheet(text.String(), true, nil)
				if sheet == "" {
					n.RemoveChild(c)
					c = next
					continue
				}
				for t := c.FirstChild; t != nil; t = c.FirstChild {
					c.RemoveChild(t)
				}
				c.AppendChild(&html.Node{Type: html.TextNode, Data: sheet})
			}
			f.attrs(c)
			f.tree(c)
		}
		c = next
	}
}

// attrs removes event handlers, namespaced attributes and unsafe URLs,
// and rebuilds style attributes.
func (f *sanitizeFinalPass) attrs(n *html.Node) {
	kept := n.Attr[:0]
	for _, a := range n.Attr {
		key := strings.ToLower(a.Key)
		switch {
		case a.Namespace != "", strings.HasPrefix(key, "on"), key == "srcdoc", key == "http-equiv":
			continue
		case sanitizeURLAttrs[key] && !sanitizeSafeURL(a.Val):
			continue
		case key == "style":
			clean, ok := f.styles[a.Val]
			if !ok {
				clean = cssSanitizeDecls(a.Val, nil)
				f.styles[a.Val] = clean
			}
			if a.Val = clean; a.Val == "" {
				continue
			}
		}
		kept = append(kept, a)
	}
	n.Attr = kept
}
