package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"strconv"
	"strings"
)

// BlockType names one kind of block in a BlockDocument.
type BlockType string

// The block types the email editor's "/" menu inserts.
const (
	BlockHeading      BlockType = "heading"       // Level 1–3, Content
	BlockParagraph    BlockType = "paragraph"     // Content
	BlockImage        BlockType = "image"         // Src, Alt, optional Link, Width, Align
	BlockButton       BlockType = "button"        // Text, Link, Align
	BlockBlockquote   BlockType = "blockquote"    // Content
	BlockBulletedList BlockType = "bulleted_list" // Items
	BlockNumberedList BlockType = "numbered_list" // Items
	BlockDivider      BlockType = "divider"       // no fields
)

// BlockDocument is the JSON document a block editor saves: an ordered list
// of blocks. It is the Body of an EmailContent whose Format is
// FormatBlocks. Example:
//
//	{"blocks": [
//	  {"type": "heading", "level": 1, "content": [{"text": "Hello {{first_name}}"}]},
//	  {"type": "paragraph", "content": [
//	    {"text": "Our "}, {"text": "new hours", "bold": true},
//	    {"text": " are online: "}, {"text": "see them", "link": "https://clinic.example/hours"}]},
//	  {"type": "button", "text": "Book now", "link": "https://clinic.example/book"},
//	  {"type": "divider"}
//	]}
//
// Unknown fields (such as an editor's block "id") are ignored; unknown
// block types are errors.
type BlockDocument struct {
	// Blocks are rendered top to bottom.
	Blocks []Block `json:"blocks"`
}

// Block is one block of a BlockDocument. Which fields apply depends on
// Type (see the BlockType constants); the others must be empty.
type Block struct {
	// Type is the kind of block.
	Type BlockType `json:"type"`
	// Level is a heading's level, 1 to 3.
	Level int `json:"level,omitempty"`
	// Content is the inline text of a heading, paragraph or blockquote.
	Content []Inline `json:"content,omitempty"`
	// Items are the entries of a bulleted or numbered list, each a run of
	// inline text.
	Items [][]Inline `json:"items,omitempty"`
	// Text is a button's label.
	Text string `json:"text,omitempty"`
	// Link is a button's target, or the target of a linked image: an
	// http, https, mailto or tel URL.
	Link string `json:"link,omitempty"`
	// Src is an image's http or https URL.
	Src string `json:"src,omitempty"`
	// Alt is an image's alternative text, shown when images are blocked
	// and used in the plain-text part of a linked image.
	Alt string `json:"alt,omitempty"`
	// Width is an image's display width in CSS pixels; 0 means the image's
	// own width, never wider than the content column.
	Width int `json:"width,omitempty"`
	// Align places an image or button: "left" (the default), "center" or
	// "right".
	Align string `json:"align,omitempty"`
}

// Inline is a run of text with the same formatting. Line breaks ("\n")
// inside Text become <br>.
type Inline struct {
	// Text is the run's text; it may hold merge tokens ({{first_name}}).
	Text string `json:"text"`
	// Bold and Italic format the run.
	Bold   bool `json:"bold,omitempty"`
	Italic bool `json:"italic,omitempty"`
	// Link, when set, makes the run a link to an http, https, mailto or
	// tel URL.
	Link string `json:"link,omitempty"`
}

// ErrInvalidBlocks is matched (with errors.Is) by every *BlockError.
var ErrInvalidBlocks = errors.New("render: invalid block document")

// BlockError reports a block document that cannot be rendered: invalid
// JSON (Index -1), or block Index with a problem in Field. When Err is set
// it is the underlying error (an *UnknownFieldsError for a bad merge
// token), available through errors.As.
type BlockError struct {
	// Index is the block's position in BlockDocument.Blocks, or -1 when
	// the document as a whole is at fault.
	Index int
	// Field is the JSON field at fault ("type", "level", "link", …), or "".
	Field string
	// Reason says what is wrong; it never quotes the document's text.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

// Error names the block, the field and the problem.
func (e *BlockError) Error() string {
	var b strings.Builder
	b.WriteString("render: block document")
	if e.Index >= 0 {
		fmt.Fprintf(&b, ": block %d", e.Index)
	}
	if e.Field != "" {
		b.WriteString(" field ")
		b.WriteString(strconv.Quote(e.Field))
	}
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *BlockError) Unwrap() error { return e.Err }

// Is makes every BlockError match ErrInvalidBlocks.
func (e *BlockError) Is(target error) bool { return target == ErrInvalidBlocks }

// ParseBlocks decodes and validates a block document. It returns a
// *BlockError naming the first block at fault.
func ParseBlocks(data []byte) (*BlockDocument, error) {
	var doc BlockDocument
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, &BlockError{Index: -1, Reason: fmt.Sprintf("invalid JSON at byte %d", se.Offset)}
		case errors.As(err, &te):
			return nil, &BlockError{Index: -1, Field: te.Field, Reason: "wrong JSON type, want " + te.Type.String()}
		}
		return nil, &BlockError{Index: -1, Reason: "invalid JSON"}
	}
	if dec.More() {
		return nil, &BlockError{Index: -1, Reason: "trailing data after the document"}
	}
	if err := doc.Validate(); err != nil {
		return nil, err
	}
	return &doc, nil
}

// Validate checks every block's type and fields and returns a *BlockError
// for the first problem.
func (d *BlockDocument) Validate() error {
	for i := range d.Blocks {
		if err := d.Blocks[i].blockValidate(i); err != nil {
			return err
		}
	}
	return nil
}

// blockValidate checks one block at index i.
func (b *Block) blockValidate(i int) error {
	bad := func(field, reason string) error { return &BlockError{Index: i, Field: field, Reason: reason} }
	hasInline := len(b.Content) > 0
	hasItems := len(b.Items) > 0
	switch b.Type {
	case BlockHeading:
		if b.Level < 1 || b.Level > 3 {
			return bad("level", "heading level must be 1, 2 or 3")
		}
		fallthrough
	case BlockParagraph, BlockBlockquote:
		if hasItems || b.Src != "" || b.Text != "" || b.Link != "" {
			return bad("", string(b.Type)+" takes only content")
		}
		if err := blockValidateInline(i, "content", b.Content); err != nil {
			return err
		}
	case BlockBulletedList, BlockNumberedList:
		if !hasItems {
			return bad("items", "a list needs at least one item")
		}
		if hasInline || b.Src != "" || b.Text != "" || b.Link != "" {
			return bad("", "a list takes only items")
		}
		for _, it := range b.Items {
			if err := blockValidateInline(i, "items", it); err != nil {
				return err
			}
		}
	case BlockImage:
		if !blockHTTPURL(b.Src) {
			return bad("src", "an image needs an http or https URL")
		}
		if b.Link != "" && !blockLinkURL(b.Link) {
			return bad("link", "must be an http, https, mailto or tel URL")
		}
		if b.Width < 0 || b.Width > StyleMaxContentWidth {
			return bad("width", fmt.Sprintf("must be between 0 and %d pixels", StyleMaxContentWidth))
		}
		if hasInline || hasItems || b.Text != "" {
			return bad("", "an image takes only src, alt, link, width and align")
		}
	case BlockButton:
		if strings.TrimSpace(b.Text) == "" {
			return bad("text", "a button needs a label")
		}
		if !blockLinkURL(b.Link) {
			return bad("link", "a button needs an http, https, mailto or tel URL")
		}
		if hasInline || hasItems || b.Src != "" {
			return bad("", "a button takes only text, link and align")
		}
	case BlockDivider:
		if hasInline || hasItems || b.Src != "" || b.Text != "" || b.Link != "" {
			return bad("", "a divider takes no fields")
		}
	case "":
		return bad("type", "missing block type")
	default:
		return bad("type", "unknown block type (want heading, paragraph, image, button, blockquote, bulleted_list, numbered_list or divider)")
	}
	switch b.Align {
	case "", "left", "center", "right":
	default:
		return bad("align", "must be left, center or right")
	}
	if b.Align != "" && b.Type != BlockImage && b.Type != BlockButton {
		return bad("align", "only images and buttons can be aligned")
	}
	return nil
}

// blockValidateInline checks a run list's links.
func blockValidateInline(i int, field string, runs []Inline) error {
	for _, r := range runs {
		if r.Link != "" && !blockLinkURL(r.Link) {
			return &BlockError{Index: i, Field: field, Reason: "links must be http, https, mailto or tel URLs"}
		}
	}
	return nil
}

// blockHTTPURL reports whether u is an absolute http or https URL.
func blockHTTPURL(u string) bool {
	l := strings.ToLower(strings.TrimSpace(u))
	return (strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://")) && len(l) > len("https://")
}

// blockLinkURL reports whether u is an http, https, mailto or tel URL.
func blockLinkURL(u string) bool {
	l := strings.ToLower(strings.TrimSpace(u))
	return blockHTTPURL(u) || (strings.HasPrefix(l, "mailto:") || strings.HasPrefix(l, "tel:")) && !strings.ContainsAny(l, "<>\"")
}

// blocksHTML writes the HTML fragment for a validated document. Every
// author string passes through text (which swaps merge tokens for slot
// sentinels) before it is HTML-escaped. An error from text is returned as
// a *BlockError for the block.
func (d *BlockDocument) blocksHTML(text func(string) (string, error)) (string, error) {
	var b strings.Builder
	var failed error
	for i := range d.Blocks {
		blk := &d.Blocks[i]
		conv := func(s string) string {
			v, err := text(s)
			if err != nil && failed == nil {
				failed = &BlockError{Index: i, Err: err}
			}
			return v
		}
		esc := func(s string) string { return html.EscapeString(conv(s)) }
		switch blk.Type {
		case BlockHeading:
			fmt.Fprintf(&b, "<h%d>", blk.Level)
			blocksInline(&b, blk.Content, conv)
			fmt.Fprintf(&b, "</h%d>\n", blk.Level)
		case BlockParagraph:
			b.WriteString("<p>")
			blocksInline(&b, blk.Content, conv)
			b.WriteString("</p>\n")
		case BlockBlockquote:
			b.WriteString("<blockquote><p>")
			blocksInline(&b, blk.Content, conv)
			b.WriteString("</p></blockquote>\n")
		case BlockBulletedList, BlockNumberedList:
			tag := "ul"
			if blk.Type == BlockNumberedList {
				tag = "ol"
			}
			b.WriteString("<" + tag + ">\n")
			for _, it := range blk.Items {
				b.WriteString("<li>")
				blocksInline(&b, it, conv)
				b.WriteString("</li>\n")
			}
			b.WriteString("</" + tag + ">\n")
		case BlockImage:
			align := blockAlign(blk.Align)
			fmt.Fprintf(&b, `<table role="presentation" width="100%%" cellpadding="0" cellspacing="0" border="0"><tr><td align="%s">`, align)
			if blk.Link != "" {
				fmt.Fprintf(&b, `<a href="%s" target="_blank">`, esc(strings.TrimSpace(blk.Link)))
			}
			fmt.Fprintf(&b, `<img class="cc-image" src="%s" alt="%s"`, esc(strings.TrimSpace(blk.Src)), esc(blk.Alt))
			if blk.Width > 0 {
				fmt.Fprintf(&b, ` width="%d" style="width: %dpx;"`, blk.Width, blk.Width)
			}
			b.WriteString(">")
			if blk.Link != "" {
				b.WriteString("</a>")
			}
			b.WriteString("</td></tr></table>\n")
		case BlockButton:
			fmt.Fprintf(&b, `<table role="presentation" class="cc-button-wrap" cellpadding="0" cellspacing="0" border="0" align="%s"><tr><td class="cc-button-cell"><a class="cc-button" href="%s" target="_blank">%s</a></td></tr></table>`+"\n",
				blockAlign(blk.Align), esc(strings.TrimSpace(blk.Link)), esc(blk.Text))
		case BlockDivider:
			b.WriteString("<hr>\n")
		}
	}
	if failed != nil {
		return "", failed
	}
	return b.String(), nil
}

// blockAlign returns the HTML align value for an Align field.
func blockAlign(a string) string {
	if a == "" {
		return "left"
	}
	return a
}

// blocksInline writes formatted runs.
func blocksInline(b *strings.Builder, runs []Inline, conv func(string) string) {
	for _, r := range runs {
		if r.Link != "" {
			b.WriteString(`<a href="`)
			b.WriteString(html.EscapeString(conv(strings.TrimSpace(r.Link))))
			b.WriteString(`" target="_blank">`)
		}
		if r.Bold {
			b.WriteString("<strong>")
		}
		if r.Italic {
			b.WriteString("<em>")
		}
		for j, line := range strings.Split(conv(r.Text), "\n") {
			if j > 0 {
				b.WriteString("<br>")
			}
			b.WriteString(html.EscapeString(line))
		}
		if r.Italic {
			b.WriteString("</em>")
		}
		if r.Bold {
			b.WriteString("</strong>")
		}
		if r.Link != "" {
			b.WriteString("</a>")
		}
	}
}
