package render

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/carecast/carecast"
	"github.com/vanng822/go-premailer/premailer"
	nethtml "golang.org/x/net/html"
)

// emailBenchFixture is the realistic marketing email the pinned
// benchmarks share: testdata/email_bench/newsletter.html, a Code-mode
// newsletter of about 8 KB with a 40-rule style sheet (plus the layout's
// own) and 5 merge fields.
func emailBenchFixture(tb testing.TB) (EmailContent, carecast.Organization, carecast.Patient) {
	tb.Helper()
	body, err := os.ReadFile("testdata/email_bench/newsletter.html")
	if err != nil {
		tb.Fatal(err)
	}
	c := EmailContent{
		Subject:     "{{first_name|Hi}}, 20% off cleanings this spring",
		PreviewText: "Saturday hours, a new 3D scanner and five tips for healthier gums",
		Format:      FormatHTML,
		Body:        string(body),
	}
	org := carecast.Organization{ID: "org-1", Name: "Sunrise Dental", PostalAddress: []string{"12 Main Street", "Springfield, IL 62701"}}
	p := carecast.Patient{ID: "p-1042", FirstName: "Maria", LastName: "O'Neil & Sons", PreferredName: "Mia", DateOfBirth: carecast.NewDate(1988, 4, 2)}
	return c, org, p
}

// emailBenchOpts is a recipient's render options: an unsubscribe URL and a
// link rewrite returning precomputed tracking URLs, as the engine does.
func emailBenchOpts(n int) *EmailRenderOpts {
	tracked := make([]string, n)
	for i := range tracked {
		tracked[i] = "https://t.example/c/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-" + strconv.Itoa(i)
	}
	return &EmailRenderOpts{
		UnsubscribeURL: "https://t.example/u/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
		RewriteLink:    func(i int, _ string) string { return tracked[i] },
	}
}

// BenchmarkEmailCompile measures content + styles → compiled template,
// once per blast (goldmark/sanitiser, layout, premailer, slot split).
func BenchmarkEmailCompile(b *testing.B) {
	c, org, _ := emailBenchFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CompileEmail(c, carecast.Marketing, org); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmailPersonalize measures one recipient's HTML, text and
// subject from the compiled template, rendered into a worker's reused
// EmailBuffer (RenderTo): the cost personalisation adds per recipient.
func BenchmarkEmailPersonalize(b *testing.B) {
	c, org, p := emailBenchFixture(b)
	t, err := CompileEmail(c, carecast.Marketing, org)
	if err != nil {
		b.Fatal(err)
	}
	opts := emailBenchOpts(len(t.Links()))
	d := Data{Patient: &p, Org: &org}
	var buf EmailBuffer
	t.RenderTo(&buf, d, opts)
	b.SetBytes(int64(len(buf.HTML()) + len(buf.Text())))
	b.ReportAllocs()
	for b.Loop() {
		t.RenderTo(&buf, d, opts)
		if len(buf.HTML()) == 0 || len(buf.Text()) == 0 || len(buf.Subject()) == 0 {
			b.Fatal("empty part")
		}
	}
}

// BenchmarkEmailPersonalizeStrings is BenchmarkEmailPersonalize through
// Render, which returns fresh strings: the same work plus one ~20 KB
// allocation per recipient, whose cost is mostly the garbage collector's.
func BenchmarkEmailPersonalizeStrings(b *testing.B) {
	c, org, p := emailBenchFixture(b)
	t, err := CompileEmail(c, carecast.Marketing, org)
	if err != nil {
		b.Fatal(err)
	}
	opts := emailBenchOpts(len(t.Links()))
	d := Data{Patient: &p, Org: &org}
	r := t.Render(d, opts)
	b.SetBytes(int64(len(r.HTML) + len(r.Text)))
	b.ReportAllocs()
	for b.Loop() {
		r := t.Render(d, opts)
		if len(r.HTML) == 0 || len(r.Text) == 0 || len(r.Subject) == 0 {
			b.Fatal("empty part")
		}
	}
}

// BenchmarkEmailNaivePremailer measures what a naive engine does per
// recipient: fill the merge fields into the styled document, then run
// premailer on the result.
func BenchmarkEmailNaivePremailer(b *testing.B) {
	c, org, p := emailBenchFixture(b)
	doc, err := emailStyledDocument(c, carecast.Marketing, org)
	if err != nil {
		b.Fatal(err)
	}
	tpl, err := ParseTemplate(doc)
	if err != nil {
		b.Fatal(err)
	}
	d := Data{Patient: &p, Org: &org}
	b.ReportAllocs()
	for b.Loop() {
		filled := tpl.AppendRender(nil, d, emailAppendHTML)
		pm, err := premailer.NewPremailerFromBytes(filled, premailer.NewOptions())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pm.Transform(); err != nil {
			b.Fatal(err)
		}
	}
}

// emailStyledDocument returns the laid-out, styled document before CSS
// inlining, with the merge tokens written back as {{…}} and links as
// written: the input a naive engine would personalise and then inline per
// recipient.
func emailStyledDocument(c EmailContent, purpose carecast.Purpose, org carecast.Organization) (string, error) {
	slots := &emailSlots{prefix: emailPickPrefix(c, org)}
	body, err := emailBodyHTML(c, slots)
	if err != nil {
		return "", err
	}
	preheader, err := slots.sentinelize(c.PreviewText)
	if err != nil {
		return "", err
	}
	doc, err := emailAssemble(body, c.Style.WithDefaults(), purpose, org.Name, org.PostalAddress, slots, preheader, false)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	if err := nethtml.Render(&sb, doc); err != nil {
		return "", err
	}
	var out strings.Builder
	for _, s := range slots.split(sb.String()) {
		out.WriteString(s.lit)
		switch s.kind {
		case emailSlotMerge:
			out.WriteString(slots.merges[s.idx].Source())
		case emailSlotUnsub:
			out.WriteString("{{{{unsubscribe_url}}")
		}
	}
	return out.String(), nil
}
