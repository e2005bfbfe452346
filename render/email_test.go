package render

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/carecast/carecast"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// emailCompileT compiles content or fails the test.
func emailCompileT(t *testing.T, c EmailContent, purpose carecast.Purpose) *EmailTemplate {
	t.Helper()
	if c.Subject == "" {
		c.Subject = "Subject"
	}
	tpl, err := CompileEmail(c, purpose, emailTestOrg())
	require.NoError(t, err)
	return tpl
}

func TestEmailEscaping(t *testing.T) {
	cases := []struct {
		name      string
		patient   carecast.Patient
		wantHTML  string // must appear in the HTML part
		forbidden string // must not appear in the HTML part
		wantText  string // must appear raw in the text part
		subject   string
	}{
		{"script tag", carecast.Patient{FirstName: "<script>alert(1)</script>"},
			"Dear &lt;script&gt;alert(1)&lt;/script&gt;,", "<script>", "Dear <script>alert(1)</script>,", "Hi <script>alert(1)</script>"},
		{"ampersand and quotes", carecast.Patient{FirstName: `Tom & "Jerry"`},
			"Dear Tom &amp; &#34;Jerry&#34;,", `Tom & "Jerry"`, `Dear Tom & "Jerry",`, `Hi Tom & "Jerry"`},
		{"apostrophe in attribute", carecast.Patient{FirstName: `x' onmouseover='y`},
			`title="x&#39; onmouseover=&#39;y"`, `onmouseover='y`, `Dear x' onmouseover='y,`, `Hi x' onmouseover='y`},
		{"attribute breakout", carecast.Patient{FirstName: `"><img src=x onerror=alert(1)>`},
			`title="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"`, `<img src=x`, `Dear "><img src=x onerror=alert(1)>,`, `Hi "><img src=x onerror=alert(1)>`},
		{"newline in subject", carecast.Patient{FirstName: "Ann\r\nBcc: x@evil.example"},
			"Dear Ann\r\nBcc: x@evil.example,", "", "Bcc: x@evil.example", "Hi Ann  Bcc: x@evil.example"},
		{"fallback is escaped too", carecast.Patient{},
			"Dear &lt;friend&gt;,", "<friend>", "Dear <friend>,", "Hi <friend>"},
	}
	for _, format := range []ContentFormat{FormatMarkdown, FormatHTML, FormatBlocks} {
		body := map[ContentFormat]string{
			FormatMarkdown: "Dear {{first_name|<friend>}},\n\n<span title=\"{{first_name|<friend>}}\">x</span>",
			FormatHTML:     `<p>Dear {{first_name|<friend>}},</p><p><span title="{{first_name|<friend>}}">x</span></p>`,
			FormatBlocks:   `{"blocks":[{"type":"paragraph","content":[{"text":"Dear {{first_name|<friend>}},"}]},{"type":"image","src":"https://x.example/a.png","alt":"{{first_name|<friend>}}"}]}`,
		}[format]
		tpl := emailCompileT(t, EmailContent{Subject: "Hi {{first_name|<friend>}}", Format: format, Body: body}, carecast.Transactional)
		for _, tc := range cases {
			t.Run(string(format)+"/"+tc.name, func(t *testing.T) {
				p := tc.patient
				r := tpl.Render(Data{Patient: &p}, nil)
				want := tc.wantHTML
				if format == FormatBlocks {
					want = strings.Replace(want, "title=", "alt=", 1)
				}
				if strings.HasPrefix(want, "title=") || strings.HasPrefix(want, "alt=") {
					assert.Contains(t, r.HTML, want)
				} else {
					assert.Contains(t, r.HTML, tc.wantHTML)
				}
				if tc.forbidden != "" {
					assert.NotContains(t, r.HTML, tc.forbidden)
				}
				assert.Contains(t, r.Text, tc.wantText)
				assert.Equal(t, tc.subject, r.Subject)
				assert.NotContains(t, r.Subject, "\n")
			})
		}
	}
}

func TestEmailUnknownFieldsRejected(t *testing.T) {
	cases := []struct {
		name    string
		c       EmailContent
		wantKey string
	}{
		{"markdown body", EmailContent{Format: FormatMarkdown, Body: "Hi {{frist_name}} and {{last_name}}"}, "frist_name"},
		{"html body", EmailContent{Format: FormatHTML, Body: "<p>{{ nope }}</p>"}, "nope"},
		{"blocks body", EmailContent{Format: FormatBlocks, Body: `{"blocks":[{"type":"paragraph","content":[{"text":"{{first_name}}"}]},{"type":"heading","level":2,"content":[{"text":"{{shoe_size}}"}]}]}`}, "shoe_size"},
		{"button label", EmailContent{Format: FormatBlocks, Body: `{"blocks":[{"type":"button","text":"{{x}}","link":"https://a.example"}]}`}, "x"},
		{"subject", EmailContent{Subject: "Hi {{firstname}}", Format: FormatMarkdown, Body: "ok"}, "firstname"},
		{"preview", EmailContent{PreviewText: "{{org}}", Format: FormatMarkdown, Body: "ok"}, "org"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.c.Subject == "" {
				tc.c.Subject = "Subject"
			}
			_, err := CompileEmail(tc.c, carecast.Transactional, emailTestOrg())
			var ue *UnknownFieldsError
			require.ErrorAs(t, err, &ue)
			require.NotEmpty(t, ue.Fields)
			assert.Equal(t, tc.wantKey, ue.Fields[0].Key)
			if tc.name == "blocks body" {
				var be *BlockError
				require.ErrorAs(t, err, &be)
				assert.Equal(t, 1, be.Index)
			}
		})
	}
	_, err := CompileEmail(EmailContent{Subject: "s", Format: FormatMarkdown, Body: "Hi {{first_name"}, carecast.Transactional, emailTestOrg())
	var se *TemplateSyntaxError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 3, se.Offset)
}

func TestEmailFooterOnlyForMarketing(t *testing.T) {
	const unsub = "https://t.example/u/abc?x=1&y=2"
	for _, format := range []ContentFormat{FormatMarkdown, FormatHTML, FormatBlocks} {
		body := map[ContentFormat]string{
			FormatMarkdown: "Hello",
			FormatHTML:     "<p>Hello</p>",
			FormatBlocks:   `{"blocks":[{"type":"paragraph","content":[{"text":"Hello"}]}]}`,
		}[format]
		t.Run(string(format), func(t *testing.T) {
			c := EmailContent{Subject: "S", Format: format, Body: body}
			opts := &EmailRenderOpts{UnsubscribeURL: unsub}

			m := emailCompileT(t, c, carecast.Marketing).Render(Data{}, opts)
			assert.Contains(t, m.HTML, `href="https://t.example/u/abc?x=1&amp;y=2"`)
			assert.Contains(t, m.HTML, ">Unsubscribe</a> to stop all marketing emails from Sunrise &amp; Co Dental.")
			assert.Contains(t, m.HTML, "Sunrise &amp; Co Dental<br/>12 Main Street<br/>Springfield, IL 62701")
			assert.Contains(t, m.Text, "Unsubscribe ("+unsub+") to stop all marketing emails from Sunrise & Co Dental.")
			assert.Contains(t, m.Text, "Sunrise & Co Dental\n12 Main Street\nSpringfield, IL 62701\n")
			assert.Equal(t, 1, strings.Count(m.HTML, unsub[:20]), "the unsubscribe URL appears once in HTML")

			tr := emailCompileT(t, c, carecast.Transactional).Render(Data{}, opts)
			for _, part := range []string{tr.HTML, tr.Text} {
				lower := strings.ToLower(part)
				for _, bad := range []string{"unsubscribe", "opted in", "opt out", "12 main street", "t.example/u"} {
					assert.NotContains(t, lower, bad)
				}
			}
		})
	}
}

func TestEmailMarketingNeedsPostalAddress(t *testing.T) {
	c := EmailContent{Subject: "S", Format: FormatMarkdown, Body: "Hi"}
	for _, addr := range [][]string{nil, {}, {"  ", ""}} {
		org := emailTestOrg()
		org.PostalAddress = addr
		_, err := CompileEmail(c, carecast.Marketing, org)
		require.ErrorIs(t, err, ErrMissingPhysicalAddress)
		_, err = CompileEmail(c, carecast.Transactional, org)
		require.NoError(t, err)
	}
}

func TestEmailLinks(t *testing.T) {
	body := "[Book](https://clinic.example/book?a=1&b=2) · [Mail](mailto:desk@clinic.example) · " +
		"[Again](https://clinic.example/book?a=1&b=2) · [Top](#top) · https://clinic.example/hours"
	tpl := emailCompileT(t, EmailContent{Format: FormatMarkdown, Body: body}, carecast.Marketing)
	links := tpl.Links()
	require.Equal(t, []string{"https://clinic.example/book?a=1&b=2", "https://clinic.example/book?a=1&b=2", "https://clinic.example/hours"}, links)
	links[0] = "changed"
	require.Equal(t, "https://clinic.example/book?a=1&b=2", tpl.Links()[0], "Links returns a copy")

	var calls []string
	r := tpl.Render(Data{}, &EmailRenderOpts{UnsubscribeURL: "https://t.example/u", RewriteLink: func(i int, u string) string {
		calls = append(calls, fmt.Sprintf("%d %s", i, u))
		return fmt.Sprintf("https://t.example/c/%d?s=x&t=y", i)
	}})
	require.Equal(t, []string{"0 https://clinic.example/book?a=1&b=2", "1 https://clinic.example/book?a=1&b=2", "2 https://clinic.example/hours"}, calls)
	for i := range 3 {
		assert.Contains(t, r.HTML, fmt.Sprintf(`href="https://t.example/c/%d?s=x&amp;t=y"`, i))
	}
	assert.Contains(t, r.Text, "Book (https://t.example/c/0?s=x&t=y)")
	assert.Contains(t, r.Text, "Again (https://t.example/c/1?s=x&t=y)")
	assert.Contains(t, r.Text, "https://t.example/c/2?s=x&t=y")
	assert.NotContains(t, r.HTML, "clinic.example/book")
	assert.Contains(t, r.HTML, `href="mailto:desk@clinic.example"`)
	assert.Contains(t, r.HTML, `href="#top"`)
	assert.Contains(t, r.HTML, `href="https://t.example/u"`, "the unsubscribe link is not rewritten")

	plain := tpl.Render(Data{}, nil)
	assert.Contains(t, plain.HTML, `href="https://clinic.example/book?a=1&amp;b=2"`)
	assert.Contains(t, plain.Text, "Book (https://clinic.example/book?a=1&b=2)")
	assert.Contains(t, plain.Text, "Mail (desk@clinic.example)")
}

func TestEmailMergeFieldPlacementRejected(t *testing.T) {
	cases := []struct {
		name   string
		format ContentFormat
		body   string
		where  string
	}{
		{"markdown link", FormatMarkdown, "[x](https://a.example/?n={{first_name}})", "href"},
		{"markdown image", FormatMarkdown, "![x](https://a.example/{{patient_id}}.png)", "src"},
		{"html href", FormatHTML, `<a href="https://a.example/{{email}}">x</a>`, "href"},
		{"html background", FormatHTML, `<table><tr><td background="https://a.example/{{email}}">x</td></tr></table>`, "background"},
		{"style attribute", FormatHTML, `<p style="color: {{first_name}}">x</p>`, "style attribute"},
		{"style element", FormatHTML, `<style>p { color: {{first_name}}; }</style><p>x</p>`, "style element"},
		{"attribute name", FormatHTML, `<p {{first_name}}="1">x</p>`, "attribute name"},
		{"element name", FormatHTML, `<{{first_name}}>x`, "element name"},
		{"block link", FormatBlocks, `{"blocks":[{"type":"paragraph","content":[{"text":"x","link":"https://a.example/{{first_name}}"}]}]}`, "href"},
		{"block button", FormatBlocks, `{"blocks":[{"type":"button","text":"x","link":"https://a.example/?{{phone}}"}]}`, "href"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CompileEmail(EmailContent{Subject: "S", Format: tc.format, Body: tc.body}, carecast.Transactional, emailTestOrg())
			require.ErrorIs(t, err, ErrMergeFieldPlacement)
			var pe *MergePlacementError
			require.ErrorAs(t, err, &pe)
			assert.Contains(t, pe.Where, tc.where)
		})
	}
	// Allowed places: text, alt and title attributes.
	emailCompileT(t, EmailContent{Format: FormatHTML, Body: `<p title="{{first_name}}">{{first_name}}<img src="https://a.example/x.png" alt="{{first_name}}"></p>`}, carecast.Transactional)
}

func TestEmailCompileErrors(t *testing.T) {
	org := emailTestOrg()
	ok := EmailContent{Subject: "S", Format: FormatMarkdown, Body: "x"}
	cases := []struct {
		name    string
		mutate  func(*EmailContent)
		purpose carecast.Purpose
		want    error
	}{
		{"empty subject", func(c *EmailContent) { c.Subject = "  " }, carecast.Marketing, ErrEmptySubject},
		{"subject newline", func(c *EmailContent) { c.Subject = "a\nb" }, carecast.Marketing, ErrSubjectNewline},
		{"unknown format", func(c *EmailContent) { c.Format = "docx" }, carecast.Marketing, ErrUnknownFormat},
		{"invalid purpose", func(c *EmailContent) {}, "promo", ErrInvalidPurpose},
		{"body too large", func(c *EmailContent) { c.Body = strings.Repeat("x", EmailMaxBodyBytes+1) }, carecast.Marketing, ErrBodyTooLarge},
		{"deep markdown quote", func(c *EmailContent) { c.Body = strings.Repeat("> ", 200) + "x" }, carecast.Marketing, ErrBodyTooDeep},
		{"deep markdown list", func(c *EmailContent) { c.Body = strings.Repeat("- ", 200) + "x" }, carecast.Marketing, ErrBodyTooDeep},
		{"deep html", func(c *EmailContent) { c.Format = FormatHTML; c.Body = strings.Repeat("<div>", 600) }, carecast.Marketing, ErrBodyTooDeep},
		{"bad style", func(c *EmailContent) { c.Style.TextColor = "red; background: url(x)" }, carecast.Marketing, ErrInvalidStyle},
		{"bad blocks", func(c *EmailContent) { c.Format = FormatBlocks; c.Body = `{"blocks":[{"type":"video"}]}` }, carecast.Marketing, ErrInvalidBlocks},
		{"bad attachment", func(c *EmailContent) { c.Attachments = []Attachment{{Filename: "a.exe", Data: []byte("MZ")}} }, carecast.Marketing, ErrAttachmentBlockedType},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mutate(&c)
			_, err := CompileEmail(c, tc.purpose, org)
			require.ErrorIs(t, err, tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "render: "), err.Error())
		})
	}
}

func TestEmailErrorsCarryNoContent(t *testing.T) {
	const secret = "Jane-Doe-HIV-positive"
	bodies := []EmailContent{
		{Subject: "S", Format: FormatMarkdown, Body: secret + " {{" + secret + "x}}"},
		{Subject: "S", Format: FormatBlocks, Body: `{"blocks":[{"type":"image","src":"ftp://` + secret + `"}]}`},
		{Subject: "S", Format: FormatHTML, Body: `<a href="https://x.example/{{first_name}}">` + secret + `</a>`},
		{Subject: "S", Format: FormatMarkdown, Body: "x", Attachments: []Attachment{{Filename: secret + ".exe", Data: []byte{1}}}},
	}
	for i, c := range bodies {
		_, err := CompileEmail(c, carecast.Transactional, emailTestOrg())
		require.Error(t, err, "case %d", i)
		if i == 0 {
			continue // an unknown token's key is the author's text and is quoted (truncated) by the merge parser
		}
		assert.NotContains(t, err.Error(), secret, "case %d", i)
	}
}

func TestRenderTestEmail(t *testing.T) {
	c := EmailContent{Subject: "Hi {{first_name}}", PreviewText: "News", Format: FormatMarkdown, Body: "Hello **{{first_name}}**, [book](https://clinic.example/b)."}
	org := emailTestOrg()
	sample := carecast.Patient{ID: "p-9", FirstName: "Ada"}
	_, err := RenderTestEmail(c, carecast.Marketing, org, sample, nil)
	require.ErrorIs(t, err, ErrMissingUnsubscribeURL)

	opts := &EmailRenderOpts{UnsubscribeURL: "https://t.example/u/test"}
	got, err := RenderTestEmail(c, carecast.Marketing, org, sample, opts)
	require.NoError(t, err)
	tpl, err := CompileEmail(c, carecast.Marketing, org)
	require.NoError(t, err)
	want := tpl.Render(Data{Patient: &sample, Org: &org}, opts)
	require.Equal(t, want, got, "a test send is exactly what a recipient gets")
	assert.Equal(t, "Hi Ada", got.Subject)
	assert.Equal(t, "News", got.PreviewText)
	assert.Contains(t, got.Text, "Hello Ada, book (https://clinic.example/b).")

	_, err = RenderTestEmail(c, carecast.Transactional, org, sample, nil)
	require.NoError(t, err, "transactional test sends need no unsubscribe URL")
	_, err = RenderTestEmail(EmailContent{Subject: "{{bad}}", Format: FormatMarkdown}, carecast.Transactional, org, sample, nil)
	var ue *UnknownFieldsError
	require.ErrorAs(t, err, &ue)
}

func TestEmailPreheader(t *testing.T) {
	tpl := emailCompileT(t, EmailContent{PreviewText: "Hi {{first_name}} & co", Format: FormatMarkdown, Body: "Body text"}, carecast.Transactional)
	p := carecast.Patient{FirstName: "<b>Bo</b>"}
	r := tpl.Render(Data{Patient: &p}, nil)
	assert.Equal(t, "Hi <b>Bo</b> & co", r.PreviewText)
	body := r.HTML[strings.Index(r.HTML, "<body"):]
	pre := strings.Index(body, "Hi &lt;b&gt;Bo&lt;/b&gt; &amp; co")
	require.Positive(t, pre, "the preheader holds the escaped preview text")
	assert.Less(t, pre, strings.Index(body, "Body text"), "the preheader comes before the content")
	assert.Contains(t, body[:pre], "display:none", "the preheader is hidden")
	assert.NotContains(t, r.Text, "Bo</b> & co", "the preheader is not in the text part")

	none := emailCompileT(t, EmailContent{Format: FormatMarkdown, Body: "Body text"}, carecast.Transactional).Render(Data{}, nil)
	assert.NotContains(t, none.HTML, "cc-preheader")
}

func TestEmailPlainText(t *testing.T) {
	cases := []struct {
		name, html, want string
	}{
		{"paragraphs", "<p>One\n  two</p><p>Three</p>", "One two\n\nThree\n"},
		{"headings", "<h1>Title</h1><p>Body</p>", "Title\n\nBody\n"},
		{"bullets", "<ul><li>a</li><li>b <b>c</b></li></ul>", "- a\n- b c\n"},
		{"numbers from start", "<ol start=\"3\"><li>x</li><li>y</li></ol>", "3. x\n4. y\n"},
		{"link", `<p>See <a href="https://a.example/x">our page</a>.</p>`, "See our page (https://a.example/x).\n"},
		{"autolink", `<p><a href="https://a.example/">a.example</a></p>`, "https://a.example/\n"},
		{"mailto", `<p><a href="mailto:x@a.example">x@a.example</a></p>`, "x@a.example\n"},
		{"image link", `<a href="https://a.example/"><img src="https://a.example/i.png" alt="Logo"></a>`, "Logo (https://a.example/)\n"},
		{"image alone", `<p><img src="https://a.example/i.png" alt="Logo">Text</p>`, "Text\n"},
		{"blockquote", "<p>a</p><blockquote><p>q1</p><p>q2</p></blockquote><p>b</p>", "a\n\n> q1\n>\n> q2\n\nb\n"},
		{"br", "<p>a<br>b</p>", "a\nb\n"},
		{"hr", "<p>a</p><hr><p>b</p>", "a\n\n" + strings.Repeat("-", 40) + "\n\nb\n"},
		{"pre", "<pre>x  y\n  z</pre>", "x  y\n  z\n"},
		{"table", "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>", "a b\nc d\n"},
		{"hidden", `<div style="display: none">secret preheader</div><p>shown</p>`, "shown\n"},
		{"entities", "<p>a &amp; b &lt;c&gt;</p>", "a & b <c>\n"},
		{"display block by class", "<style>.c { display: block; }</style><p>quote<cite class=\"c\">someone</cite></p>", "quote\nsomeone\n"},
		{"hidden by class", "<style>.h { display: none; }</style><p class=\"h\">x</p><p>y</p>", "y\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tpl := emailCompileT(t, EmailContent{Format: FormatHTML, Body: tc.html}, carecast.Transactional)
			assert.Equal(t, tc.want, tpl.Render(Data{}, nil).Text)
		})
	}
}

func TestEmailAttachmentsKept(t *testing.T) {
	pdf := []byte("%PDF-1.7\n...")
	atts := []Attachment{
		{Filename: "care-plan.pdf", Data: pdf},
		{Filename: "notes", Data: []byte("plain words")},
		{Filename: "x.bin", ContentType: "application/x-custom", Data: []byte{0, 1}},
	}
	tpl := emailCompileT(t, EmailContent{Format: FormatMarkdown, Body: "x", Attachments: atts}, carecast.Transactional)
	got := tpl.Attachments()
	require.Len(t, got, 3)
	assert.Equal(t, "application/pdf", got[0].ContentType)
	assert.Equal(t, "text/plain; charset=utf-8", got[1].ContentType)
	assert.Equal(t, "application/x-custom", got[2].ContentType)
	assert.Empty(t, atts[0].ContentType, "the caller's slice is not modified")
	got[0].Filename = "changed"
	assert.Equal(t, "care-plan.pdf", tpl.Attachments()[0].Filename, "Attachments returns a copy")
}

func TestEmailTemplateAccessors(t *testing.T) {
	tpl := emailCompileT(t, EmailContent{Subject: "{{first_name}}", PreviewText: "{{organization_name}}", Format: FormatMarkdown, Body: "{{last_name}} {{first_name}}"}, carecast.Marketing)
	assert.Equal(t, []string{"first_name", "organization_name", "last_name"}, tpl.FieldKeys())
	assert.Equal(t, carecast.Marketing, tpl.Purpose())
}

func TestEmailRenderConcurrent(t *testing.T) {
	c, org, _ := emailBenchFixture(t)
	tpl, err := CompileEmail(c, carecast.Marketing, org)
	require.NoError(t, err)
	var wg sync.WaitGroup
	results := make([]RenderedEmail, 8)
	for i := range results {
		wg.Go(func() {
			p := carecast.Patient{FirstName: fmt.Sprintf("P%d", i)}
			results[i] = tpl.Render(Data{Patient: &p, Org: &org}, &EmailRenderOpts{UnsubscribeURL: fmt.Sprintf("https://t.example/u/%d", i)})
		})
	}
	wg.Wait()
	for i, r := range results {
		assert.Contains(t, r.HTML, fmt.Sprintf("Hi P%d,", i))
		assert.Contains(t, r.HTML, fmt.Sprintf("https://t.example/u/%d\"", i))
		assert.True(t, strings.HasPrefix(r.Subject, fmt.Sprintf("P%d,", i)))
	}
}

func TestEmailSentinelPrefixAvoidsAuthorText(t *testing.T) {
	// The author's text contains the first sentinel prefixes; slots must
	// still be found and the author's text kept.
	body := "zqmfaq zqmfbqm0x {{first_name}}"
	tpl := emailCompileT(t, EmailContent{Format: FormatMarkdown, Body: body}, carecast.Transactional)
	p := carecast.Patient{FirstName: "Ann"}
	assert.Equal(t, "zqmfaq zqmfbqm0x Ann\n", tpl.Render(Data{Patient: &p}, nil).Text)
}

func TestEmailStyleApplied(t *testing.T) {
	s := Style{FontFamily: "Georgia, 'Times New Roman', serif", FontSize: "18px", TextColor: "#111111",
		ButtonBackground: "#ff0000", ButtonTextColor: "#00ff00", ContainerBackground: "#fafafa", ContentWidth: 480}
	body := `{"blocks":[{"type":"heading","level":1,"content":[{"text":"T"}]},{"type":"paragraph","content":[{"text":"P"}]},{"type":"button","text":"Go","link":"https://a.example"}]}`
	r := emailCompileT(t, EmailContent{Format: FormatBlocks, Body: body, Style: s}, carecast.Transactional).Render(Data{}, nil)
	for _, want := range []string{
		`class="cc-container" width="480"`, "width:480px", "background-color:#fafafa",
		"font-family:Georgia, &#39;Times New Roman&#39;, serif", "font-size:18px", "color:#111111",
		"font-size:36px",           // h1 = 2 × 18px
		"background-color:#ff0000", // button cell and link
		"color:#00ff00",            // button label
		"(max-width: 500px)",       // media query follows the width
		"<!--[if mso]><table role=\"presentation\" width=\"480\"", // Outlook fixed-width wrapper
	} {
		assert.Contains(t, r.HTML, want)
	}
	// Defaults.
	d := emailCompileT(t, EmailContent{Format: FormatMarkdown, Body: "x"}, carecast.Transactional).Render(Data{}, nil)
	assert.Contains(t, d.HTML, `width="600"`)
	assert.Contains(t, d.HTML, "font-size:"+StyleDefaultFontSize)
}

func TestEmailErrorsAreTyped(t *testing.T) {
	var se *StyleError
	err := Style{ContentWidth: 5000}.Validate()
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "ContentWidth", se.Field)
	assert.True(t, errors.Is(err, ErrInvalidStyle))
}

func TestEmailRenderToMatchesRender(t *testing.T) {
	c, org, _ := emailBenchFixture(t)
	tpl, err := CompileEmail(c, carecast.Marketing, org)
	require.NoError(t, err)
	patients := []carecast.Patient{
		{FirstName: "Ann", LastName: "Lee"},
		{FirstName: `<b>"Bo" & 'Cy'</b>`, LastName: strings.Repeat("Long", 500), PreferredName: "Dee\r\nEe"},
		{},
		{FirstName: "Zoë", LastName: "Ünal", DateOfBirth: carecast.NewDate(1990, 1, 15)},
	}
	var buf EmailBuffer
	for i, p := range patients {
		opts := emailBenchOpts(len(tpl.Links()))
		if i%2 == 1 {
			opts.RewriteLink = nil
		}
		d := Data{Patient: &p, Org: &org}
		want := tpl.Render(d, opts)
		tpl.RenderTo(&buf, d, opts)
		assert.Equal(t, want.Subject, string(buf.Subject()), "patient %d", i)
		assert.Equal(t, want.PreviewText, string(buf.PreviewText()), "patient %d", i)
		assert.Equal(t, want.HTML, string(buf.HTML()), "patient %d", i)
		assert.Equal(t, want.Text, string(buf.Text()), "patient %d", i)
	}
	p := patients[0]
	d := Data{Patient: &p, Org: &org}
	opts := emailBenchOpts(len(tpl.Links()))
	allocs := testing.AllocsPerRun(50, func() { tpl.RenderTo(&buf, d, opts) })
	assert.Zero(t, allocs, "RenderTo into a warm buffer allocates nothing")
}

func TestEmailEscapeTail(t *testing.T) {
	for _, s := range []string{"", "plain", "<", "&&", `a<b>c&d"e'f`, "Zoë <3 ünïcode & more", strings.Repeat(`<&>"'`, 40)} {
		prefix := []byte("keep<&>")
		got := emailEscapeTail(append(prefix[:len(prefix):len(prefix)], s...), len(prefix))
		assert.Equal(t, "keep<&>"+string(emailAppendHTML(nil, s)), string(got), s)
	}
}

// FuzzCompileEmailMarkdown compiles arbitrary Markdown and renders it for
// a hostile patient: compile either fails with an error or yields HTML
// that passes the safety oracle (emailSafetyViolation) and never shows
// the value unescaped.
func FuzzCompileEmailMarkdown(f *testing.F) {
	for _, s := range []string{
		"# Hi {{first_name}}\n\n**bold** [x](https://a.example)",
		"<script>x</script>{{first_name}}", "[a](javascript:x)", "{{{{", "{{first_name|<b>}}",
		"| a | b |\n|---|---|\n| {{last_name}} | 2 |", "<p title=\"{{first_name}}\">x</p>", "> q\n> {{email}}\n\n1. a\n2. b",
	} {
		f.Add(s)
	}
	hostile := carecast.Patient{FirstName: `<img src=x onerror=alert(1)>`, LastName: `"'&<>`, Email: "a@b.example"}
	f.Fuzz(func(t *testing.T, body string) {
		tpl, err := CompileEmail(EmailContent{Subject: "s", Format: FormatMarkdown, Body: body}, carecast.Transactional, emailTestOrg())
		if err != nil {
			require.True(t, strings.HasPrefix(err.Error(), "render: "), err.Error())
			return
		}
		r := tpl.Render(Data{Patient: &hostile}, nil)
		require.NotContains(t, r.HTML, hostile.FirstName)
		if v := emailSafetyViolation(r.HTML); v != "" {
			t.Fatalf("%s in output %q", v, r.HTML)
		}
	})
}

func TestEmailSentinelPrefixAvoidsStyle(t *testing.T) {
	// A font name that spells a would-be sentinel must stay literal.
	tpl := emailCompileT(t, EmailContent{Format: FormatMarkdown, Body: "{{first_name}}", Style: Style{FontFamily: "zqmfaqm5x, zqmfaqu0x"}}, carecast.Transactional)
	p := carecast.Patient{FirstName: "Ann"}
	r := tpl.Render(Data{Patient: &p}, nil)
	assert.Contains(t, r.HTML, "font-family:zqmfaqm5x, zqmfaqu0x")
	assert.Contains(t, r.HTML, ">Ann</p>")
}

func TestEmailSplitIgnoresOutOfRangeSentinels(t *testing.T) {
	s := &emailSlots{prefix: "zqmfaq", merges: []*Template{nil}, links: []string{"https://a.example"}}
	segs := s.split("a zqmfaqm0x b zqmfaqm1x c zqmfaql0x d zqmfaql1x e zqmfaqu0x f zqmfaqu1x g zqmfaqq")
	var kinds []emailSlotKind
	for _, sg := range segs {
		kinds = append(kinds, sg.kind)
	}
	assert.Equal(t, []emailSlotKind{emailSlotMerge, emailSlotLink, emailSlotUnsub, emailSlotEnd}, kinds)
	assert.Equal(t, " b zqmfaqm1x c ", segs[1].lit)
	assert.Equal(t, " f zqmfaqu1x g zqmfaqq", segs[3].lit)
}

func TestEmailCompileDeterministic(t *testing.T) {
	c, org, p := emailBenchFixture(t)
	var first RenderedEmail
	for i := range 5 {
		tpl, err := CompileEmail(c, carecast.Marketing, org)
		require.NoError(t, err)
		r := tpl.Render(Data{Patient: &p, Org: &org}, &EmailRenderOpts{UnsubscribeURL: "https://t.example/u"})
		if i == 0 {
			first = r
			continue
		}
		require.Equal(t, first, r, "compile %d differs", i)
	}
}

// FuzzEmailSentinelize checks that the email pipeline reads merge tokens
// exactly as ParseTemplate does: same errors, same rendering.
func FuzzEmailSentinelize(f *testing.F) {
	for _, s := range []string{"Hi {{first_name}}!", "{{{{x}}", "{{first_name|a|b}}", "{{ last_name }}{{", "}}{{email}}}}", "{{nope}} {{first_name", "{{{{{{first_name}}"} {
		f.Add(s)
	}
	p := carecast.Patient{ID: "p", FirstName: "Ann", LastName: "Lee", Email: "a@b.example"}
	d := Data{Patient: &p}
	f.Fuzz(func(t *testing.T, text string) {
		want, werr := ParseTemplate(text)
		s := &emailSlots{prefix: emailPickPrefix(EmailContent{Body: text}, carecast.Organization{})}
		got, gerr := s.sentinelize(text)
		if werr != nil {
			require.Error(t, gerr)
			var wu, gu *UnknownFieldsError
			if errors.As(werr, &wu) {
				require.ErrorAs(t, gerr, &gu)
				require.Equal(t, wu.Fields, gu.Fields)
			}
			return
		}
		require.NoError(t, gerr)
		var b strings.Builder
		for _, sg := range s.split(got) {
			b.WriteString(sg.lit)
			if sg.kind == emailSlotMerge {
				b.WriteString(s.merges[sg.idx].Render(d))
			}
		}
		require.Equal(t, want.Render(d), b.String())
	})
}
