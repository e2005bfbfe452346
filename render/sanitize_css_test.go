package render

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCSSSanitizeDecls(t *testing.T) {
	cases := []struct {
		name, in, want string
		removed        []Removal
	}{
		{"plain", "color: red; padding: 0 4px", "color:red;padding:0 4px", nil},
		{"case and spacing", "  COLOR :\tRed ;;; Margin:0  auto  ", "color:Red;margin:0 auto", nil},
		{"important", "width: 100% ! important; color: red !IMPORTANT", "width:100% !important;color:red !important", nil},
		{"functions", "color: RGB(1, 2, 3); width: calc(100% - (2 * 8px)); background: linear-gradient(#fff, #000)",
			"color:rgb(1, 2, 3);width:calc(100% - (2 * 8px));background:linear-gradient(#fff, #000)", nil},
		{"fonts keep their quotes", `font-family: "Open Sans", 'Times New Roman', serif`, `font-family:"Open Sans", 'Times New Roman', serif`, nil},
		{"https url", "background-image: url( https://a.example/x.png )", `background-image:url("https://a.example/x.png")`, nil},
		{"cid url", `background: url('cid:logo') no-repeat`, `background:url("cid:logo") no-repeat`, nil},
		{"comment splits tokens", "width: expr/**/ession(1); color: red", "color:red", []Removal{{RemovedCSS, "width", 1}}},
		{"comment between tokens", "margin:0/**/auto", "margin:0 auto", nil},
		{"unknown property", "behavior: url(x.htc); -moz-binding: url(x); position: fixed; --x: 1; *zoom: 1", "",
			[]Removal{{RemovedCSS, "behavior", 1}, {RemovedCSS, "-moz-binding", 1}, {RemovedCSS, "position", 1}, {RemovedCSS, "--x", 1}, {RemovedCSS, "invalid", 1}}},
		{"refused urls", "background: url(javascript:x); background: url(/rel.png); background: url(data:image/png;base64,AA); background: url(http://a.example/a(b).png)", "",
			[]Removal{{RemovedCSS, "background", 4}}},
		{"escapes", `color: \72 ed; font-family: "a\"b"; width: 1p\78`, "", []Removal{{RemovedCSS, "color", 1}, {RemovedCSS, "font-family", 1}, {RemovedCSS, "width", 1}}},
		{"escaped url name", `background: u\72l(https://a.example/x.png)`, "", []Removal{{RemovedCSS, "background", 1}}},
		{"functions not allowed", "width: expression(1); color: attr(x); background: image-set(url(https://a.example/x))", "",
			[]Removal{{RemovedCSS, "width", 1}, {RemovedCSS, "color", 1}, {RemovedCSS, "background", 1}}},
		{"bare parentheses", "width: expression (1); color: (red)", "", []Removal{{RemovedCSS, "width", 1}, {RemovedCSS, "color", 1}}},
		// As in a browser, an unclosed function runs to the end of the text.
		{"unbalanced", "width: calc(1px; color: red", "", []Removal{{RemovedCSS, "width", 1}}},
		{"strings with markup", `font-family: "</style><script>"; font-family: "a<b"`, "", []Removal{{RemovedCSS, "font-family", 2}}},
		{"unterminated string", `font-family: "abc`, "", []Removal{{RemovedCSS, "font-family", 1}}},
		{"empty value", "color: ; width:", "", []Removal{{RemovedCSS, "color", 1}, {RemovedCSS, "width", 1}}},
		{"at-rule inside", "@import url(x); color: red", "color:red", []Removal{{RemovedCSS, "@import", 1}}},
		{"braces", "color: red; } p { color: blue", "color:red", []Removal{{RemovedCSS, "invalid", 1}}},
		{"nul and bad utf-8 become U+FFFD", "color: r\x00ed; width: 1px\xff", "color:r\uFFFDed;width:1px\uFFFD", nil},
		{"javascript word in value", "font-family: javascript:alert(1)", "", []Removal{{RemovedCSS, "font-family", 1}}},
		{"delimiters", "color: red; width: 1px!; margin: 1px & 2px", "color:red", []Removal{{RemovedCSS, "width", 1}, {RemovedCSS, "margin", 1}}},
		{"unicode range", "unicode-bidi: U+0-7F", "", []Removal{{RemovedCSS, "unicode-bidi", 1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := &sanitizeReport{}
			assert.Equal(t, tc.want, cssSanitizeDecls(tc.in, rep))
			assert.Equal(t, tc.removed, rep.list)
		})
	}
}

func TestCSSSanitizeSheet(t *testing.T) {
	cases := []struct {
		name, in, want, media string
	}{
		{"rules", "p{color:red} .a , #b>c{margin:0}", "p{color:red}\n.a , #b>c{margin:0}\n", ""},
		{"unclosed block runs to the end", "p{color:red", "p{color:red}\n", ""},
		{"media kept, top level dropped in media-only mode", "p{color:red}@media (max-width:600px){.a{width:100%!important}}",
			"p{color:red}\n@media (max-width:600px) {\n.a{width:100% !important}\n}\n", "@media (max-width:600px) {\n.a{width:100% !important}\n}\n"},
		{"empty rules dropped", "p{} a{behavior:x} @media screen{}", "", ""},
		{"bad media query", "@media screen and(max-width:1px){p{color:red}} @media <x>{p{color:red}} @media {p{color:red}}", "", ""},
		{"media ratio", "@media (min-aspect-ratio: 16/9){p{color:red}}", "@media (min-aspect-ratio: 16/9) {\np{color:red}\n}\n", "@media (min-aspect-ratio: 16/9) {\np{color:red}\n}\n"},
		{"cdo cdc", "<!-- p{color:red} -->", "p{color:red}\n", ""},
		{"selector tokens", `a[href^="https"]{color:red} a[x="<"]{color:red} p::before{color:red} a:not(.b){color:red} :lang(en){color:red} a\62{color:red} a{color:red}`,
			"a[href^=\"https\"]{color:red}\np::before{color:red}\na:not(.b){color:red}\na{color:red}\n", ""},
		{"stray closers", ") ] } p{color:red}", "", ""},
		{"prelude with blocks", "p[x={]{color:red} q{color:blue}", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, cssSanitizeSheet(tc.in, false, nil))
			assert.Equal(t, tc.media, cssSanitizeSheet(tc.in, true, nil))
		})
	}
}

func TestCSSSanitizeMedia(t *testing.T) {
	for in, want := range map[string]string{
		"screen":                             "screen",
		"only screen and (max-width: 480px)": "only screen and (max-width: 480px)",
		"print, (orientation:landscape)":     "print, (orientation:landscape)",
	} {
		got, ok := cssSanitizeMedia(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got)
	}
	for _, in := range []string{"", "expression(alert(1))", "screen and (width > 1px)", "screen {", "(max-width: 1px", "screen;", `scr\65 en`, "url(x)"} {
		_, ok := cssSanitizeMedia(in)
		assert.False(t, ok, in)
	}
}

// FuzzSanitizeCSS checks the CSS sanitiser alone: its output passes the
// CSS oracle (no expression(), script URL, </style after decoding escapes
// and removing comments), never holds "<" or a backslash, and is a fixed
// point (sanitising it again changes nothing), for style sheets, the
// media-only mode and style attributes.
func FuzzSanitizeCSS(f *testing.F) {
	for _, s := range []string{
		"p{color:red}", `.x{b:"</sty@import;le><script>alert(1)</script>"}`, "p{width:expr@import;ession(alert(1))}",
		"p{background:url(java@import;script:alert(1))}", "width: expr/**/ession(alert(1))",
		"@media screen{.x{width:expression(1)}} @media (max-width:600px){p{margin:0!important}}",
		`p{font-family:"a",'b'} a:not(.x)>b[href$=".pdf"]{color:rgb(1,2,3)}`, `*{x:"\3c /style>"}`,
		"p{background:u\\72l(javascript:alert(1))}", "<!--p{color:red}-->", "p{color:red", "@import 'x';p{}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, mode := range []struct {
			name string
			run  func(string) string
		}{
			{"sheet", func(s string) string { return cssSanitizeSheet(s, false, nil) }},
			{"media", func(s string) string { return cssSanitizeSheet(s, true, nil) }},
			{"decls", func(s string) string { return cssSanitizeDecls(s, nil) }},
		} {
			out := mode.run(in)
			if v := emailOracleCSS(out); v != "" || strings.ContainsAny(out, `<\`) {
				t.Fatalf("%s: unsafe output %q (%s) from %q", mode.name, out, v, in)
			}
			if again := mode.run(out); again != out {
				t.Fatalf("%s: not a fixed point: %q → %q → %q", mode.name, in, out, again)
			}
		}
	})
}
