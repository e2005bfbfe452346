package render

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	nethtml "golang.org/x/net/html"
)

func TestSanitizeEmailHTML(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		keep    []string // substrings the output must keep
		drop    []string // substrings the output must not have
		removed []Removal
	}{
		{"script", `<p>a</p><script>alert(1)</script><p>b</p>`, []string{"<p>a</p><p>b</p>"}, []string{"script", "alert"},
			[]Removal{{RemovedElement, "script", 1}}},
		{"event handlers", `<p onclick="x()" ONMOUSEOVER="y()" class="c">t</p>`, []string{`<p class="c">t</p>`}, []string{"onclick", "x()", "y()"},
			[]Removal{{RemovedAttribute, "onclick", 1}, {RemovedAttribute, "onmouseover", 1}}},
		{"iframe and object", `<iframe src="https://e.example"></iframe><object data="x"></object><embed src="y">ok`, []string{"ok"}, []string{"iframe", "object", "embed"},
			[]Removal{{RemovedElement, "iframe", 1}, {RemovedElement, "object", 1}, {RemovedElement, "embed", 1}}},
		{"form unwrapped", `<form action="https://e.example"><p>Name <input name="n"> <select><option>x</option></select><textarea>t</textarea><button>Go</button></p></form>`,
			[]string{"<p>Name  </p>"}, []string{"form", "input", "select", "textarea", "button", "Go"},
			[]Removal{{RemovedElement, "input", 1}, {RemovedElement, "select", 1}, {RemovedElement, "textarea", 1}, {RemovedElement, "button", 1}, {RemovedWrapper, "form", 1}}},
		{"javascript urls", `<a href="javascript:alert(1)">a</a><a href=" java&#x09;script:x">b</a><a href="https://ok.example">c</a>`,
			[]string{`<a>a</a><a>b</a><a href="https://ok.example">c</a>`}, []string{"javascript", "script:"},
			[]Removal{{RemovedAttribute, "href", 2}}},
		{"data and vbscript urls", `<img src="data:image/png;base64,AA"><img src="vbscript:x"><img src="cid:logo"><img src="/rel.png">`,
			[]string{`<img src="cid:logo"/>`, `<img src="/rel.png"/>`}, []string{"data:", "vbscript"},
			[]Removal{{RemovedAttribute, "src", 2}}},
		{"allowed schemes", `<a href="mailto:a@b.example">m</a><a href="tel:+1555">t</a><a href="sms:+1555">s</a><a href="#top">h</a>`,
			[]string{"mailto:a@b.example", "tel:+1555", "sms:+1555", `href="#top"`}, nil, nil},
		{"dangerous style attribute", `<p style="width: expression(alert(1))">a</p><p style="background:url(javascript:x)">b</p><p style="color:red">c</p>`,
			[]string{"<p>a</p>", "<p>b</p>", `<p style="color:red">c</p>`}, []string{"expression", "javascript"},
			[]Removal{{RemovedCSS, "width", 1}, {RemovedCSS, "background", 1}}},
		{"escaped style attribute", `<p style="color: \65 xpression(1)">a</p>`, []string{"<p>a</p>"}, []string{`\65`},
			[]Removal{{RemovedCSS, "color", 1}}},
		{"style attribute keeps the safe declarations", `<p style="COLOR: Red; behavior: url(x.htc); width: expr/**/ession(1); padding: 4px 8px !important; -moz-binding: url(x)">a</p>`,
			[]string{`<p style="color:Red;padding:4px 8px !important">a</p>`}, []string{"behavior", "expr", "binding"},
			[]Removal{{RemovedCSS, "behavior", 1}, {RemovedCSS, "width", 1}, {RemovedCSS, "-moz-binding", 1}}},
		{"style attribute urls", `<div style="background-image: url('https://cdn.example/bg.png'); background: url(/rel.png)">a</div>`,
			[]string{`style="background-image:url(&#34;https://cdn.example/bg.png&#34;)"`}, []string{"rel.png"},
			[]Removal{{RemovedCSS, "background", 1}}},
		{"style attribute breaking out", `<p style="color:red;}</style><script>alert(1)</script>">a</p>`,
			[]string{`<p style="color:red">a</p>`}, []string{"script"}, []Removal{{RemovedCSS, "invalid", 1}}},
		{"style element import", `<style>@import url(https://f.example/a.css); p { color: red; }</style><p>x</p>`,
			[]string{"p{color:red}"}, []string{"@import"}, []Removal{{RemovedCSS, "@import", 1}}},
		{"dangerous style element", `<style>p { behavior: url(x.htc) }</style><p>x</p>`, []string{"<p>x</p>"}, []string{"behavior", "<style"},
			[]Removal{{RemovedCSS, "behavior", 1}}},
		{"class named behavior is fine", `<style>.behavior-note { color: red; }</style><p class="behavior-note">x</p>`,
			[]string{".behavior-note{color:red}"}, nil, nil},
		{"style element rebuilt", "<style>/* c */ @charset \"utf-8\"; @font-face { font-family: x; src: url(https://f.example/x.woff) }\n" +
			"h1, .a > b:first-child, td[align=\"center\"], li:nth-child(2n+1) { font-family: 'Open Sans', Arial; margin: 0 auto }\n" +
			"@media only screen and (max-width: 600px) { .a { width: 100% !important } @media print { p { color: red } } }\n" +
			"p:hover { color: rgb(1, 2, 3) } a { color: expression(1); position: fixed }\n" +
			"x:unknown-fn(1) { color: red } p { color: red; .nested { color: blue } }</style>",
			[]string{"h1, .a > b:first-child, td[align=\"center\"], li:nth-child(2n+1){font-family:'Open Sans', Arial;margin:0 auto}\n" +
				"@media only screen and (max-width: 600px) {\n.a{width:100% !important}\n}\np:hover{color:rgb(1, 2, 3)}\np{color:red}\n</style>"},
			[]string{"@charset", "@font-face", "@media print", "expression", "fixed", "unknown", "blue"},
			[]Removal{{RemovedCSS, "@charset", 1}, {RemovedCSS, "@font-face", 1}, {RemovedCSS, "@media", 1}, {RemovedCSS, "color", 1},
				{RemovedCSS, "position", 1}, {RemovedCSS, "selector", 1}, {RemovedCSS, "invalid", 1}}},
		{"style element breaking out", `<style>.x{b:"</sty@import;le><script>alert(1)</script>"}</style><p>x</p>`,
			[]string{"<p>x</p>"}, []string{"script", "<style"}, []Removal{{RemovedCSS, "b", 1}}},
		{"style media attribute", `<style media="screen and (max-width: 480px)">p{color:red}</style><style media="expression(alert(1))">p{color:blue}</style><style type="text/x">p{color:green}</style>`,
			[]string{`<style media="screen and (max-width: 480px)">p{color:red}`}, []string{"blue", "green", "expression"},
			[]Removal{{RemovedElement, "style", 2}}},
		{"unknown elements unwrapped", `<o:p>a</o:p><marquee onstart="x()">b</marquee><custom-el>c</custom-el>`,
			[]string{"<body>abc</body>"}, []string{"marquee", "custom", "o:p", "onstart"},
			[]Removal{{RemovedWrapper, "o:p", 1}, {RemovedWrapper, "marquee", 1}, {RemovedWrapper, "custom-el", 1}}},
		{"attribute allow-list", `<p xmlns:o="urn:x" data-id="7" aria-label="l" data-x"y="1" contenteditable="true" dir="rtl">a</p>`,
			[]string{`<p data-id="7" aria-label="l" dir="rtl">a</p>`}, []string{"xmlns", "contenteditable", "data-x"},
			[]Removal{{RemovedAttribute, "xmlns:o", 1}, {RemovedAttribute, "attribute", 1}, {RemovedAttribute, "contenteditable", 1}}},
		{"comments", `<!-- secret --><p>a<!--[if mso]>b<![endif]--></p>`, []string{"<p>a</p>"}, []string{"secret", "mso"},
			[]Removal{{RemovedComment, "comment", 2}}},
		{"doctype kept, plain", `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd"><p>a</p>`,
			[]string{"<!DOCTYPE html><html><head></head><body><p>a</p></body></html>"}, []string{"w3c"}, nil},
		{"head metadata", `<html><head><title>T</title><meta http-equiv="refresh" content="0;url=x"><base href="https://e.example/"><link rel="stylesheet" href="s.css"></head><body>b</body></html>`,
			[]string{"<body>b</body>"}, []string{"<title", "<meta", "<base", "<link"},
			[]Removal{{RemovedElement, "title", 1}, {RemovedElement, "meta", 1}, {RemovedElement, "base", 1}, {RemovedElement, "link", 1}}},
		{"svg and media", `<svg onload="x()"><script>a</script></svg><video src="v.mp4"></video><audio></audio><canvas></canvas>ok`,
			[]string{"ok"}, []string{"svg", "video", "audio", "canvas", "onload"},
			[]Removal{{RemovedElement, "svg", 1}, {RemovedElement, "video", 1}, {RemovedElement, "audio", 1}, {RemovedElement, "canvas", 1}}},
		{"srcset srcdoc ping", `<img src="https://a.example/x.png" srcset="javascript:x 1x"><a href="https://a.example" ping="https://t.example">a</a>`,
			[]string{`<img src="https://a.example/x.png"/>`, `<a href="https://a.example">a</a>`}, []string{"srcset", "ping"},
			[]Removal{{RemovedAttribute, "srcset", 1}, {RemovedAttribute, "ping", 1}}},
		{"kept markup", `<table class="t" id="x"><tr><td style="padding:4px" align="center"><b>B</b> <i>I</i></td></tr></table>`,
			[]string{`<table class="t" id="x">`, `<td style="padding:4px" align="center"><b>B</b> <i>I</i></td>`}, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, removed := SanitizeEmailHTML(tc.in)
			for _, k := range tc.keep {
				assert.Contains(t, out, k)
			}
			lower := strings.ToLower(out)
			for _, d := range tc.drop {
				assert.NotContains(t, lower, strings.ToLower(d))
			}
			assert.Equal(t, tc.removed, removed)
		})
	}
}

// FuzzSanitizeEmailHTML checks that whatever the input, the sanitiser's
// output, once re-parsed as a browser parses it, passes the safety oracle
// (no script, frame, plug-in or form element, event handler, script or
// non-image data: URL, or CSS that runs code or ends its element), holds
// only allowed elements and attributes, and that its CSS is already in
// the sanitiser's canonical form (sanitising it again changes nothing).
func FuzzSanitizeEmailHTML(f *testing.F) {
	for _, s := range []string{
		`<p onclick=x>a</p>`, `<script>x</script>`, `<a href="javascript:x">a</a>`, `<form><input></form>`,
		`<svg><script>x</script></svg>`, `<style>p{x:expression(1)}</style>`, `<img src=" jav&#x0A;ascript:x">`,
		`<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>`, `<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`,
	} {
		f.Add(s)
	}
	for _, s := range emailCodeModeVectors {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, _ := SanitizeEmailHTML(in)
		if v := emailSafetyViolation(out); v != "" {
			t.Fatalf("%s survived: %q", v, out)
		}
		doc, err := nethtml.Parse(strings.NewReader(out))
		require.NoError(t, err)
		emailWalk(doc, func(n *nethtml.Node) {
			if n.Type != nethtml.ElementNode {
				return
			}
			if n.Data == "style" {
				var text strings.Builder
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					text.WriteString(c.Data)
				}
				if again := cssSanitizeSheet(text.String(), false, nil); again != text.String() {
					t.Fatalf("style element not canonical: %q → %q", text.String(), again)
				}
			} else if !sanitizeKeepElements[n.Data] || n.Namespace != "" {
				t.Fatalf("element %s survived: %q", n.Data, out)
			}
			for _, a := range n.Attr {
				key := strings.ToLower(a.Key)
				switch {
				case n.Data == "style" && (key == "media" || key == "type"):
				case a.Namespace != "" || !sanitizeAttrKept(key):
					t.Fatalf("attribute %s survived: %q", a.Key, out)
				case sanitizeURLAttrs[key] && !sanitizeSafeURL(a.Val):
					t.Fatalf("unsafe URL in %s survived: %q", a.Key, out)
				case key == "style" && cssSanitizeDecls(a.Val, nil) != a.Val:
					t.Fatalf("style attribute not canonical: %q", a.Val)
				}
			}
		})
	})
}
