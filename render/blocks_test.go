package render

import (
	"testing"

	"github.com/carecast/carecast"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseBlocksErrors(t *testing.T) {
	cases := []struct {
		name  string
		doc   string
		index int
		field string
	}{
		{"not json", `{"blocks": [`, -1, ""},
		{"wrong type", `{"blocks": {"type": "paragraph"}}`, -1, "blocks"},
		{"trailing data", `{"blocks": []} {}`, -1, ""},
		{"missing type", `{"blocks": [{"content": []}]}`, 0, "type"},
		{"unknown type", `{"blocks": [{"type": "paragraph"}, {"type": "video"}]}`, 1, "type"},
		{"heading level", `{"blocks": [{"type": "heading", "level": 7}]}`, 0, "level"},
		{"heading level zero", `{"blocks": [{"type": "heading"}]}`, 0, "level"},
		{"paragraph with src", `{"blocks": [{"type": "paragraph", "src": "https://a.example/x.png"}]}`, 0, ""},
		{"inline link scheme", `{"blocks": [{"type": "paragraph", "content": [{"text": "x", "link": "javascript:alert(1)"}]}]}`, 0, "content"},
		{"empty list", `{"blocks": [{"type": "bulleted_list"}]}`, 0, "items"},
		{"list item link", `{"blocks": [{"type": "numbered_list", "items": [[{"text": "x", "link": "data:x"}]]}]}`, 0, "items"},
		{"image without src", `{"blocks": [{"type": "image", "alt": "x"}]}`, 0, "src"},
		{"image relative src", `{"blocks": [{"type": "image", "src": "/x.png"}]}`, 0, "src"},
		{"image link", `{"blocks": [{"type": "image", "src": "https://a.example/x.png", "link": "ftp://x"}]}`, 0, "link"},
		{"image width", `{"blocks": [{"type": "image", "src": "https://a.example/x.png", "width": 5000}]}`, 0, "width"},
		{"button label", `{"blocks": [{"type": "button", "text": " ", "link": "https://a.example"}]}`, 0, "text"},
		{"button link", `{"blocks": [{"type": "button", "text": "Go"}]}`, 0, "link"},
		{"divider with text", `{"blocks": [{"type": "divider", "text": "x"}]}`, 0, ""},
		{"align value", `{"blocks": [{"type": "button", "text": "Go", "link": "https://a.example", "align": "middle"}]}`, 0, "align"},
		{"align on paragraph", `{"blocks": [{"type": "paragraph", "align": "center"}]}`, 0, "align"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseBlocks([]byte(tc.doc))
			var be *BlockError
			require.ErrorAs(t, err, &be)
			assert.Equal(t, tc.index, be.Index)
			assert.Equal(t, tc.field, be.Field)
			assert.ErrorIs(t, err, ErrInvalidBlocks)
		})
	}
}

func TestParseBlocksValid(t *testing.T) {
	doc, err := ParseBlocks([]byte(`{"blocks": [
		{"id": "x1", "type": "heading", "level": 2, "content": [{"text": "H"}]},
		{"type": "image", "src": "https://a.example/x.png", "align": "right"},
		{"type": "button", "text": "Call", "link": "tel:+15555550100"},
		{"type": "divider"}]}`))
	require.NoError(t, err)
	require.Len(t, doc.Blocks, 4)
	assert.Equal(t, BlockHeading, doc.Blocks[0].Type)
	assert.Equal(t, 2, doc.Blocks[0].Level)
	assert.Equal(t, "right", doc.Blocks[1].Align)
}

func TestBlocksHTML(t *testing.T) {
	cases := []struct {
		name, doc string
		want      []string
	}{
		{"heading", `{"blocks":[{"type":"heading","level":3,"content":[{"text":"A & B"}]}]}`, []string{"<h3", ">A &amp; B</h3>"}},
		{"inline formats", `{"blocks":[{"type":"paragraph","content":[{"text":"b","bold":true},{"text":"i","italic":true},{"text":"bi","bold":true,"italic":true,"link":"https://a.example/?q=1&r=2"}]}]}`,
			[]string{"<strong", ">b</strong>", "<em", ">i</em>", `href="https://a.example/?q=1&amp;r=2"`, "><strong", "><em", ">bi</em></strong></a>"}},
		{"line break", `{"blocks":[{"type":"paragraph","content":[{"text":"a\nb"}]}]}`, []string{"a<br/>b"}},
		{"image", `{"blocks":[{"type":"image","src":"https://a.example/x.png","alt":"X \"1\"","width":300,"align":"center"}]}`,
			[]string{`align="center"`, `src="https://a.example/x.png"`, `alt="X &#34;1&#34;"`, `width="300"`}},
		{"button", `{"blocks":[{"type":"button","text":"Book","link":"https://a.example/b","align":"right"}]}`,
			[]string{`class="cc-button-wrap"`, `align="right"`, `class="cc-button"`, `href="https://a.example/b"`, ">Book</a>"}},
		{"lists", `{"blocks":[{"type":"bulleted_list","items":[[{"text":"a"}]]},{"type":"numbered_list","items":[[{"text":"b"}],[{"text":"c"}]]}]}`,
			[]string{"<ul", ">a</li>", "<ol", ">b</li>", ">c</li>"}},
		{"blockquote", `{"blocks":[{"type":"blockquote","content":[{"text":"q"}]}]}`, []string{"<blockquote", ">q</p></blockquote>"}},
		{"divider", `{"blocks":[{"type":"divider"}]}`, []string{"<hr"}},
		{"html is text", `{"blocks":[{"type":"paragraph","content":[{"text":"<script>x</script>"}]}]}`, []string{"&lt;script&gt;x&lt;/script&gt;"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := emailCompileT(t, EmailContent{Format: FormatBlocks, Body: tc.doc}, carecast.Transactional).Render(Data{}, nil)
			for _, w := range tc.want {
				assert.Contains(t, r.HTML, w)
			}
		})
	}
}

// FuzzParseBlocks checks that any document either fails with a
// *BlockError or compiles.
func FuzzParseBlocks(f *testing.F) {
	f.Add(`{"blocks":[{"type":"heading","level":1,"content":[{"text":"Hi {{first_name}}"}]}]}`)
	f.Add(`{"blocks":[{"type":"button","text":"x","link":"https://a.example"},{"type":"divider"}]}`)
	f.Add(`{"blocks":[{"type":"image","src":"https://a.example/x.png","link":"mailto:a@b"}]}`)
	f.Add(`{"blocks":[{"type":"bulleted_list","items":[[{"text":"{{{{"}]]}]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		_, err := ParseBlocks([]byte(doc))
		if err != nil {
			var be *BlockError
			require.ErrorAs(t, err, &be)
			return
		}
		_, _ = CompileEmail(EmailContent{Subject: "s", Format: FormatBlocks, Body: doc}, carecast.Transactional, emailTestOrg())
	})
}
