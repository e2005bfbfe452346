package render

import (
	"regexp"
	"strings"

	"golang.org/x/net/html"
)

// RemovalKind says what sort of thing the Code-mode sanitiser removed.
type RemovalKind string

// The kinds of removal SanitizeEmailHTML reports.
const (
	RemovedElement   RemovalKind = "element"   // an element and everything inside it
	RemovedWrapper   RemovalKind = "wrapper"   // an element whose content was kept (form)
	RemovedAttribute RemovalKind = "attribute" // one attribute of an element
	RemovedComment   RemovalKind = "comment"   // an HTML comment
	RemovedCSS       RemovalKind = "css"       // a rule inside a <style> element (@import)
)

// Removal is one kind of thing the sanitiser removed and how often, for
// telling a Code-mode author what changed ("removed 2 × onclick").
type Removal struct {
	// Kind is what sort of thing was removed.
	Kind RemovalKind
	// Name is the element or attribute name ("script", "onclick"), the
	// CSS at-rule ("@import"), or "comment".
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

// sanitizeDropAttrs are removed wherever they appear.
var sanitizeDropAttrs = map[string]bool{
	"srcdoc": true, "srcset": true, "formaction": true, "action": true, "ping": true,
	"dynsrc": true, "lowsrc": true, "http-equiv": true,
}

// sanitizeURLAttrs hold URLs; their scheme is checked.
var sanitizeURLAttrs = map[string]bool{
	"href": true, "src": true, "background": true, "poster": true, "cite": true, "longdesc": true, "usemap": true, "xlink:href": true,
}

// sanitizeImport matches a CSS @import statement.
var sanitizeImport = regexp.MustCompile(`(?i)@import[^;]*;?`)

// SanitizeEmailHTML applies the Code-mode sanitiser to an HTML document or
// fragment and returns the cleaned document and what was removed, in the
// order first seen. CompileEmail applies the same sanitiser to every
// content form (Markdown and block documents included), so this function
// is what an editor calls to tell the author what will change.
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
//   - media email clients do not play or render: svg, math, audio, video,
//     source, track, canvas, dialog;
//   - obsolete raw-text elements: xmp, plaintext, noembed, noframes;
//   - a <style> element whose CSS holds expression(, javascript:,
//     vbscript:, behavior: (the IE property), -moz-binding or a backslash escape.
//
// Removed but with their content kept: form (the wrapper only).
//
// Removed attributes, on every element:
//
//   - every event handler (any attribute whose name starts with "on");
//   - srcdoc, srcset, formaction, action, ping, dynsrc, lowsrc, http-equiv;
//   - href, src, background, poster, cite, longdesc, usemap and xlink:href
//     whose URL has a scheme other than http, https, mailto, tel, sms or cid
//     (javascript:, vbscript:, data:, file:, …);
//   - a style attribute holding expression(, javascript:, vbscript:,
//     behavior: (the IE property), -moz-binding or a backslash escape.
//
// Also removed: every HTML comment (including Outlook conditional
// comments; the layout adds its own), and @import rules inside <style>
// elements (email clients do not fetch them). Everything else, including
// classes, ids, inline styles, tables and the remaining <style> elements,
// is kept.
func SanitizeEmailHTML(src string) (string, []Removal) {
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil { // only reader errors are possible, and a strings.Reader has none
		return "", nil
	}
	var rep sanitizeReport
	sanitizeTree(doc, &rep)
	var b strings.Builder
	_ = html.Render(&b, doc) // writing to a strings.Builder cannot fail
	return b.String(), rep.list
}

// sanitizeReport aggregates removals.
type sanitizeReport struct {
	list []Removal
}

// add counts one removal.
func (r *sanitizeReport) add(kind RemovalKind, name string) {
	if r == nil {
		return
	}
	for i := range r.list {
		if r.list[i].Kind == kind && r.list[i].Name == name {
			r.list[i].Count++
			return
		}
	}
	r.list = append(r.list, Removal{Kind: kind, Name: name, Count: 1})
}

// sanitizeTree removes, in place, everything SanitizeEmailHTML documents.
func sanitizeTree(n *html.Node, rep *sanitizeReport) {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		switch c.Type {
		case html.CommentNode:
			n.RemoveChild(c)
			rep.add(RemovedComment, "comment")
		case html.ElementNode:
			name := c.Data
			if c.Namespace != "" {
				name = c.Namespace
			}
			switch {
			case sanitizeDropElements[name]:
				n.RemoveChild(c)
				rep.add(RemovedElement, name)
			case name == "style":
				if !sanitizeStyleElement(c, rep) {
					n.RemoveChild(c)
					rep.add(RemovedElement, "style")
				}
			case name == "form":
				// Unwrap: the content stays, sanitised, in the form's place;
				// next is still the sibling that followed the form.
				sanitizeTree(c, rep)
				for gc := c.FirstChild; gc != nil; gc = c.FirstChild {
					c.RemoveChild(gc)
					n.InsertBefore(gc, c)
				}
				n.RemoveChild(c)
				rep.add(RemovedWrapper, "form")
			default:
				sanitizeAttrs(c, rep)
				sanitizeTree(c, rep)
			}
		}
		c = next
	}
}

// sanitizeAttrs removes the attributes SanitizeEmailHTML documents.
func sanitizeAttrs(n *html.Node, rep *sanitizeReport) {
	kept := n.Attr[:0]
	for _, a := range n.Attr {
		key := strings.ToLower(a.Key)
		if a.Namespace != "" {
			key = a.Namespace + ":" + key
		}
		switch {
		case strings.HasPrefix(key, "on"), sanitizeDropAttrs[key]:
			rep.add(RemovedAttribute, key)
			continue
		case sanitizeURLAttrs[key] && !sanitizeSafeURL(a.Val):
			rep.add(RemovedAttribute, key)
			continue
		case key == "style" && sanitizeDangerousCSS(a.Val):
			rep.add(RemovedAttribute, key)
			continue
		}
		kept = append(kept, a)
	}
	n.Attr = kept
}

// sanitizeStyleElement cleans a <style> element in place and reports
// whether it may stay.
func sanitizeStyleElement(n *html.Node, rep *sanitizeReport) bool {
	var css strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode {
			css.WriteString(c.Data)
		}
	}
	text := css.String()
	if sanitizeDangerousCSS(text) {
		return false
	}
	if sanitizeImport.MatchString(text) {
		for range sanitizeImport.FindAllStringIndex(text, -1) {
			rep.add(RemovedCSS, "@import")
		}
		text = sanitizeImport.ReplaceAllString(text, "")
	}
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		n.RemoveChild(c)
		c = next
	}
	n.AppendChild(&html.Node{Type: html.TextNode, Data: text})
	sanitizeAttrs(n, rep)
	return true
}

// sanitizeDangerousCSS reports whether CSS text holds a construct that can
// run code in some client, or a backslash escape that could hide one.
func sanitizeDangerousCSS(css string) bool {
	l := strings.ToLower(css)
	l = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', '\f':
			return -1
		}
		return r
	}, l)
	for _, bad := range []string{"expression(", "javascript:", "vbscript:", "behavior:", "-moz-binding", `\`} {
		if strings.Contains(l, bad) {
			return true
		}
	}
	return false
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
