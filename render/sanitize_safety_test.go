package render

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/carecast/carecast"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	nethtml "golang.org/x/net/html"
)

// The safety oracle: what must never leave CompileEmail (and
// SanitizeEmailHTML), judged on the HTML as a browser parses it, not on
// the sanitiser's own rules.

// emailOracleElements are elements that run code, embed documents, take
// input or redirect the page.
var emailOracleElements = map[string]bool{
	"script": true, "iframe": true, "object": true, "embed": true, "frame": true, "frameset": true,
	"applet": true, "portal": true, "base": true, "link": true, "form": true, "input": true,
	"button": true, "textarea": true, "select": true, "noscript": true, "template": true,
}

// emailOracleURLAttrs are attributes a browser or mail client treats as
// a URL.
var emailOracleURLAttrs = map[string]bool{
	"href": true, "src": true, "background": true, "cite": true, "action": true, "formaction": true,
	"poster": true, "srcset": true, "data": true, "codebase": true, "longdesc": true, "lowsrc": true,
	"dynsrc": true, "usemap": true, "ping": true, "manifest": true, "icon": true, "profile": true,
	"xlink:href": true, "srcdoc": true,
}

// emailSafetyViolation parses out with golang.org/x/net/html and returns
// the first unsafe construct it holds, or "" when there is none.
func emailSafetyViolation(out string) string {
	doc, err := nethtml.Parse(strings.NewReader(out))
	if err != nil {
		return "unparsable output: " + err.Error()
	}
	var bad string
	emailWalk(doc, func(n *nethtml.Node) {
		if bad != "" || n.Type != nethtml.ElementNode {
			return
		}
		switch {
		case n.Namespace != "":
			bad = "foreign element " + n.Namespace + ":" + n.Data
			return
		case emailOracleElements[n.Data]:
			bad = "element " + n.Data
			return
		case n.Data == "style":
			var text strings.Builder
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				text.WriteString(c.Data)
			}
			if v := emailOracleCSS(text.String()); v != "" {
				bad = "style element: " + v
				return
			}
		}
		for _, a := range n.Attr {
			key := strings.ToLower(a.Key)
			if a.Namespace != "" {
				key = a.Namespace + ":" + key
			}
			switch {
			case strings.HasPrefix(key, "on"):
				bad = "event handler " + key
			case key == "http-equiv":
				bad = "http-equiv"
			case emailOracleURLAttrs[key]:
				if v := emailOracleURL(a.Val); v != "" {
					bad = key + ": " + v
				}
			case key == "style":
				if v := emailOracleCSS(a.Val); v != "" {
					bad = "style attribute: " + v
				}
			}
			if bad != "" {
				return
			}
		}
	})
	return bad
}

// emailOracleURL normalises a URL as a browser does (leading and trailing
// C0 controls and spaces stripped, tabs and newlines removed anywhere;
// the HTML parser already decoded entities) and reports a script or
// non-image data: scheme.
func emailOracleURL(u string) string {
	u = strings.TrimFunc(u, func(r rune) bool { return r <= ' ' })
	u = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, u)
	l := strings.ToLower(u)
	for _, s := range []string{"javascript:", "vbscript:", "livescript:", "mocha:"} {
		if strings.HasPrefix(l, s) {
			return "script URL"
		}
	}
	if strings.HasPrefix(l, "data:") && !strings.HasPrefix(l, "data:image/") {
		return "non-image data: URL"
	}
	return ""
}

// emailOracleCSS decodes CSS escapes, removes comments and whitespace,
// lower-cases, and reports what could run code or end the element.
func emailOracleCSS(s string) string {
	if strings.Contains(strings.ToLower(s), "</style") {
		return "</style"
	}
	s = emailOracleCSSUnescape(s)
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				i = len(s)
			} else {
				i += 2 + end + 1
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
		default:
			b.WriteByte(c)
		}
	}
	l := strings.ToLower(b.String())
	for _, bad := range []string{"expression(", "javascript:", "vbscript:", "-moz-binding", "behavior:", "</style"} {
		if strings.Contains(l, bad) {
			return bad
		}
	}
	return ""
}

// emailOracleCSSUnescape decodes CSS escapes: a backslash and up to six
// hex digits (and one following space), or a backslash and any other
// character.
func emailOracleCSSUnescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		j := i + 1
		for j < len(s) && j < i+7 && strings.IndexByte("0123456789abcdefABCDEF", s[j]) >= 0 {
			j++
		}
		if j == i+1 {
			b.WriteByte(s[j])
			i = j
			continue
		}
		n, _ := strconv.ParseUint(s[i+1:j], 16, 32)
		r := rune(n)
		if n == 0 || n > utf8.MaxRune {
			r = utf8.RuneError
		}
		b.WriteRune(r)
		if j < len(s) && (s[j] == ' ' || s[j] == '\n' || s[j] == '\t') {
			j++
		}
		i = j - 1
	}
	return b.String()
}

func TestEmailSafetyOracle(t *testing.T) {
	// The oracle itself must see each construct, or a passing fuzz run
	// proves nothing.
	for _, bad := range []string{
		`<script>x</script>`, `<p onclick="x">a</p>`, `<a href=" &#x09;jav&#x0A;ascript:x">a</a>`,
		`<a href="data:text/html,x">a</a>`, `<p style="width:expr/**/ession(1)">a</p>`,
		`<p style="background:url(&quot;java\73 cript:x&quot;)">a</p>`, `<style>p{x:expression(1)}</style>`,
		`<svg><circle/></svg>`, `<meta http-equiv="refresh" content="0">`, `<p style="a:'</style>'">x</p>`,
		`<style>p{-moz-binding:url(x)}</style>`, `<iframe srcdoc="x"></iframe>`,
	} {
		assert.NotEmpty(t, emailSafetyViolation(bad), bad)
	}
	for _, good := range []string{
		`<p style="color:red">a</p>`, `<img src="data:image/png;base64,AA">`, `<a href="https://a.example/javascript:">x</a>`,
		`<style>@media screen{.x{width:100%}}</style>`, `<p class="expression">x</p>`,
	} {
		assert.Empty(t, emailSafetyViolation(good), good)
	}
}

// emailCodeModeVectors are the inputs of issue 12 and classic XSS vectors
// aimed at a Code-mode body: each is compiled and its delivered HTML
// judged by the oracle.
var emailCodeModeVectors = []string{
	// issue 12
	`<style>.x{b:"</sty@import;le><script>alert(1)</script>"}</style>`,
	`<style>p{width:expr@import;ession(alert(1))}</style><p>x</p>`,
	`<style>p{background:url(java@import;script:alert(1))}</style><p>x</p>`,
	`<style>p{background:url("java@import;script:alert(1)")}</style><p>x</p>`,
	`<p style="width: expr/**/ession(alert(1))">x</p>`,
	`<p style="width: expr@import;ession(alert(1))">x</p>`,
	`<style>p{width: expr/**/ession(alert(1))}</style><p>x</p>`,
	`<style>@import;p{width:expr@import;ession(alert(1))}</style><p>x</p>`,
	// classic vectors
	`<img src=x onerror=alert(1)>`,
	`<svg/onload=alert(1)>`,
	`<a href="jav&#x09;ascript:alert(1)">x</a>`,
	`<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>`,
	`<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>`,
	`<div style="background:url(javascript:alert(1))">x</div>`,
	`<div style="background-image:url(&#1;javascript:alert(1))">x</div>`,
	`<div style="width:expression(alert(1))">x</div>`,
	`<div style="xss:expr/*XSS*/ession(alert(1))">x</div>`,
	`<div style="width:\65 xpression(alert(1))">x</div>`,
	`<div style="behavior:url(x.htc)">x</div>`,
	`<style>body{-moz-binding:url(http://x.example/xss.xml#xss)}</style>`,
	`<style>.x{background:url("\6a avascript:alert(1)")}</style><p class="x">x</p>`,
	`<style>li{list-style-image:url("javascript:alert(1)")}</style><ul><li>x</li></ul>`,
	`<style>@import 'javascript:alert(1)';</style>`,
	`<style>@media screen{.x{width:expression(alert(1))}}</style><p class="x">x</p>`,
	`<style media="expression(alert(1))">p{color:red}</style><p>x</p>`,
	`<style>p{font-family:"</style><script>alert(1)</script>"}</style><p>x</p>`,
	`<style>*{x:"\3c /style><script>alert(1)</script>"}</style>`,
	`<p style="color:red;}</style><script>alert(1)</script>">x</p>`,
	`<style>p{color:red}</style ><script>alert(1)</script>`,
	`<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>`,
	`<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`,
	`<table background="javascript:alert(1)"><tr><td>x</td></tr></table>`,
	`<iframe srcdoc="<script>alert(1)</script>"></iframe>`,
	`<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">`,
	`<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`,
	`<base href="javascript:/">`,
	`<form action="javascript:alert(1)"><button formaction="javascript:alert(1)">x</button></form>`,
	`<img src="data:image/svg+xml,<svg onload=alert(1)>" alt="x">`,
	`<a href="vbscript:msgbox(1)">x</a>`,
	`<div style="background:url('javascript:alert(1)')">x</div>`,
	`<style>p{background:u\72l(javascript:alert(1))}</style><p>x</p>`,
	`<style>@font-face{font-family:x;src:url(javascript:alert(1))}</style>`,
	`<style><!--p{color:red}--></style><p>x</p>`,
	`<p style="&#101;xpression(alert(1))">x</p>`,
	`<p style="width:e&#x78;pression(alert(1))">x</p>`,
	`<p data-x"onclick="alert(1)">x</p>`,
	`<p aria-x<img src=x onerror=alert(1)>="1">x</p>`,
}

// emailCompileCode compiles body as Code mode for the safety tests and
// renders it for a hostile patient; ok is false when CompileEmail refused
// the content.
func emailCompileCode(body string, format ContentFormat) (string, bool) {
	tpl, err := CompileEmail(EmailContent{Subject: "s", Format: format, Body: body}, carecast.Marketing, emailTestOrg())
	if err != nil {
		return "", false
	}
	hostile := carecast.Patient{FirstName: `<img src=x onerror=alert(1)>`, LastName: `"'&<>`}
	org := emailTestOrg()
	return tpl.Render(Data{Patient: &hostile, Org: &org}, &EmailRenderOpts{UnsubscribeURL: "https://t.example/u/x"}).HTML, true
}

// TestCompileEmailCodeModeSafe is the end-to-end regression test of issue
// 12: every vector compiles (or is refused) into HTML the oracle passes.
func TestCompileEmailCodeModeSafe(t *testing.T) {
	for i, v := range emailCodeModeVectors {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			out, ok := emailCompileCode(v, FormatHTML)
			if ok {
				assert.Empty(t, emailSafetyViolation(out), "input %q\noutput %q", v, out)
				lower := strings.ToLower(out)
				assert.NotContains(t, lower, "expression(")
				assert.NotContains(t, lower, "javascript:")
			}
			s, _ := SanitizeEmailHTML(v)
			assert.Empty(t, emailSafetyViolation(s), "SanitizeEmailHTML(%q) = %q", v, s)
		})
	}
}

// TestSanitizeEmailHTMLIssue12 is the report's exact reproduction.
func TestSanitizeEmailHTMLIssue12(t *testing.T) {
	out, _ := SanitizeEmailHTML(`<style>.x{b:"</sty@import;le><script>alert(1)</script>"}</style>`)
	doc, err := nethtml.Parse(strings.NewReader(out))
	require.NoError(t, err)
	emailWalk(doc, func(n *nethtml.Node) {
		assert.False(t, n.Type == nethtml.ElementNode && n.Data == "script", "script element in %q", out)
	})
	assert.NotContains(t, strings.ToLower(out), "<script")

	for _, in := range []string{
		`<style>p{width:expr@import;ession(alert(1))}</style><p>x</p>`,
		`<p style="width: expr/**/ession(alert(1))">x</p>`,
		`<style>p{background:url(java@import;script:alert(1))}</style><p>x</p>`,
	} {
		out, ok := emailCompileCode(in, FormatHTML)
		require.True(t, ok, in)
		lower := strings.ToLower(out)
		assert.NotContains(t, lower, "expression(", in)
		assert.NotContains(t, lower, "javascript:", in)
	}
}

// FuzzCompiledEmailSafe compiles arbitrary Code-mode (or Markdown) bodies
// and judges the delivered, inlined HTML with the safety oracle.
func FuzzCompiledEmailSafe(f *testing.F) {
	for _, v := range emailCodeModeVectors {
		f.Add(v, false)
	}
	f.Add("<script>x</script>\n\n[a](javascript:x)\n\n<p style=\"width:expr/**/ession(1)\">x</p>", true)
	f.Fuzz(func(t *testing.T, body string, markdown bool) {
		format := FormatHTML
		if markdown {
			format = FormatMarkdown
		}
		out, ok := emailCompileCode(body, format)
		if !ok {
			return
		}
		if v := emailSafetyViolation(out); v != "" {
			t.Fatalf("%s\ninput %q\noutput %q", v, body, out)
		}
	})
}

// TestCompileEmailStyleTooComplex: premailer matches every selector
// against the whole document, so many selectors times many elements is
// refused with a typed error (measured before the fix: 4,000 rules and
// 4,000 paragraphs, a 140 kB body, took 6.6 s to compile, and the time
// grows with the square of the body).
func TestCompileEmailStyleTooComplex(t *testing.T) {
	body := func(rules, paragraphs int) string {
		var b strings.Builder
		b.WriteString("<style>")
		for i := range rules {
			b.WriteString(".c" + strconv.Itoa(i) + ", .d{color:red}\n")
		}
		b.WriteString("@media (max-width: 600px){.e{color:red}}</style>")
		b.WriteString(strings.Repeat("<p class=c1>x</p>", paragraphs))
		return b.String()
	}
	sel, el := emailStyleWork(nethtmlParseT(t, body(10, 20)))
	assert.Equal(t, 20, sel, "two selectors a rule; @media rules are not inlined")
	assert.Equal(t, 3+20+1, el, "html, head, body, the paragraphs and the style element")

	_, err := CompileEmail(EmailContent{Subject: "s", Format: FormatHTML, Body: body(1001, 1000)}, carecast.Transactional, emailTestOrg())
	require.ErrorIs(t, err, ErrStyleTooComplex)
	assert.Equal(t, "render: email style sheet too large for its document: 2002 selectors × 1004 elements, limit 2000000", err.Error())

	_, err = CompileEmail(EmailContent{Subject: "s", Format: FormatHTML, Body: body(400, 1000)}, carecast.Transactional, emailTestOrg())
	require.NoError(t, err)
}

// nethtmlParseT parses and sanitises a body as emailAssemble does.
func nethtmlParseT(t *testing.T, body string) *nethtml.Node {
	t.Helper()
	doc, err := nethtml.Parse(strings.NewReader(body))
	require.NoError(t, err)
	sanitizeTree(doc, nil)
	return doc
}
