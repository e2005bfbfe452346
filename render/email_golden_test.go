package render

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carecast/carecast"
	"github.com/stretchr/testify/require"
	"github.com/tdewolff/parse/v2/css"
	nethtml "golang.org/x/net/html"
)

// The -update flag rewrites golden files. It is registered in init (which
// runs after every package-level variable), and only when no other test
// file of the package registered it already.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files under testdata")
	}
}

// emailUpdateGolden reports whether -update was given.
func emailUpdateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// emailTestOrg is the organization the golden emails are sent from.
func emailTestOrg() carecast.Organization {
	return carecast.Organization{
		ID:            "org-1",
		Name:          "Sunrise & Co Dental",
		PostalAddress: []string{"12 Main Street", "Springfield, IL 62701"},
	}
}

// emailTestPatient has values that must be escaped in HTML.
func emailTestPatient() carecast.Patient {
	return carecast.Patient{ID: "p-1", FirstName: "<script>alert(1)</script>", LastName: `Tom & "Jerry"`, PreferredName: "O'Neil"}
}

// emailGoldenCases are the three content forms.
var emailGoldenCases = []struct {
	dir    string
	format ContentFormat
	file   string
}{
	{"email_markdown", FormatMarkdown, "body.md"},
	{"email_blocks", FormatBlocks, "body.json"},
	{"email_html", FormatHTML, "body.html"},
}

// emailGoldenRender compiles and renders one golden case.
func emailGoldenRender(t *testing.T, dir string, format ContentFormat, file string) RenderedEmail {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", dir, file))
	require.NoError(t, err)
	org := emailTestOrg()
	tpl, err := CompileEmail(EmailContent{
		Subject:     "A note for {{first_name|you}}",
		PreviewText: "Hi {{first_name}}, here is what's new",
		Format:      format,
		Body:        string(body),
		Style:       Style{ContentWidth: 640, ButtonBackground: "#0f766e"},
	}, carecast.Marketing, org)
	require.NoError(t, err)
	p := emailTestPatient()
	return tpl.Render(Data{Patient: &p, Org: &org}, &EmailRenderOpts{UnsubscribeURL: "https://t.example/u/tok?a=1&b=2"})
}

func TestEmailGolden(t *testing.T) {
	for _, tc := range emailGoldenCases {
		t.Run(tc.dir, func(t *testing.T) {
			r := emailGoldenRender(t, tc.dir, tc.format, tc.file)
			require.Equal(t, "A note for <script>alert(1)</script>", r.Subject)
			emailGoldenCompare(t, filepath.Join("testdata", tc.dir, "want.html"), r.HTML)
			emailGoldenCompare(t, filepath.Join("testdata", tc.dir, "want.txt"), r.Text)
		})
	}
}

// emailGoldenCompare compares got with the golden file, or rewrites it
// under -update.
func emailGoldenCompare(t *testing.T, path, got string) {
	t.Helper()
	if emailUpdateGolden() {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -run TestEmailGolden -update to create it")
	require.Equal(t, string(want), got, "golden file %s differs (go test -run TestEmailGolden -update rewrites it)", path)
}

// TestEmailHTMLInlined checks every content form's HTML: it parses, the
// only rules left in <style> elements are media queries, every styled
// element carries its style inline, and patient values appear only
// escaped.
func TestEmailHTMLInlined(t *testing.T) {
	for _, tc := range emailGoldenCases {
		t.Run(tc.dir, func(t *testing.T) {
			r := emailGoldenRender(t, tc.dir, tc.format, tc.file)
			doc, err := nethtml.Parse(strings.NewReader(r.HTML))
			require.NoError(t, err)
			styles := 0
			emailWalk(doc, func(n *nethtml.Node) {
				if n.Type != nethtml.ElementNode {
					return
				}
				switch n.Data {
				case "style":
					styles++
					var text strings.Builder
					for c := n.FirstChild; c != nil; c = c.NextSibling {
						text.WriteString(c.Data)
					}
					toks := cssTokenize(text.String())
					rules := 0
					for i := 0; i < len(toks); {
						if toks[i].tt == css.WhitespaceToken {
							i++
							continue
						}
						require.Equal(t, "@media", toks[i].text, "non-media rule left in <style>: %s", text.String())
						_, _, hasBlock, next := cssRuleParts(toks, i, true)
						require.True(t, hasBlock)
						rules++
						i = next
					}
					require.NotZero(t, rules)
				case "p", "h1", "h2", "li", "a", "td", "blockquote", "ul", "ol", "body":
					require.NotEmpty(t, emailAttr(n, "style"), "<%s> has no inline style", n.Data)
				case "script", "iframe", "form", "input", "button":
					t.Fatalf("<%s> survived", n.Data)
				}
				for _, a := range n.Attr {
					require.False(t, strings.HasPrefix(a.Key, "on"), "event handler %s survived", a.Key)
				}
			})
			require.Equal(t, 1, styles, "want exactly the media-query style element")
			require.NotContains(t, r.HTML, "<script>alert(1)</script>")
			require.Contains(t, r.HTML, "&lt;script&gt;alert(1)&lt;/script&gt;")
			require.Contains(t, r.Text, "<script>alert(1)</script>")
			require.NotContains(t, r.HTML, "zqmf", "a slot sentinel leaked")
			require.NotContains(t, r.Text, "zqmf", "a slot sentinel leaked")
		})
	}
}
