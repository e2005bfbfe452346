package render

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Style defaults, applied by CompileEmail to every empty Style field.
const (
	StyleDefaultFontFamily          = "Helvetica, Arial, sans-serif"
	StyleDefaultFontSize            = "16px"
	StyleDefaultTextColor           = "#1f2933"
	StyleDefaultButtonBackground    = "#2563eb"
	StyleDefaultButtonTextColor     = "#ffffff"
	StyleDefaultContainerBackground = "#ffffff"
	StyleDefaultPageBackground      = "#f3f4f6"
	StyleDefaultContentWidth        = 600
)

// Content width bounds accepted by Style.Validate, in CSS pixels.
const (
	StyleMinContentWidth = 320
	StyleMaxContentWidth = 1000
)

// Style is the email's style settings panel: fonts, colours and width.
// The zero value means "all defaults". Every field is checked by Validate
// so that a value can never break out of the CSS declaration it lands in.
//
// Colours are CSS colours: "#rgb", "#rrggbb" (with optional alpha digits),
// rgb()/rgba() with numbers and percentages, or a named colour such as
// "navy".
type Style struct {
	// FontFamily is a CSS font-family list of names made of letters,
	// digits, spaces, hyphens and quotes, separated by commas. Defaults to
	// StyleDefaultFontFamily.
	FontFamily string `json:"font_family,omitempty"`
	// FontSize is the body text size in px or pt ("16px", "12pt"), between
	// 8 and 40 units. Headings scale from it. Defaults to
	// StyleDefaultFontSize.
	FontSize string `json:"font_size,omitempty"`
	// TextColor is the body text colour. Defaults to StyleDefaultTextColor.
	TextColor string `json:"text_color,omitempty"`
	// ButtonBackground is the fill of buttons. Defaults to
	// StyleDefaultButtonBackground.
	ButtonBackground string `json:"button_background,omitempty"`
	// ButtonTextColor is the label colour of buttons. Defaults to
	// StyleDefaultButtonTextColor.
	ButtonTextColor string `json:"button_text_color,omitempty"`
	// ContainerBackground fills the content column. Defaults to
	// StyleDefaultContainerBackground.
	ContainerBackground string `json:"container_background,omitempty"`
	// ContentWidth is the width of the content column in CSS pixels,
	// between StyleMinContentWidth and StyleMaxContentWidth; on narrow
	// screens the column shrinks to the screen. 0 means
	// StyleDefaultContentWidth (600).
	ContentWidth int `json:"content_width,omitempty"`
	// LinkColor is the colour of text links. Defaults to ButtonBackground.
	LinkColor string `json:"link_color,omitempty"`
	// PageBackground fills the page around the content column. Defaults
	// to StyleDefaultPageBackground.
	PageBackground string `json:"page_background,omitempty"`
}

// ErrInvalidStyle is matched (with errors.Is) by every *StyleError.
var ErrInvalidStyle = errors.New("render: invalid email style")

// StyleError reports a Style field whose value is not accepted. The value
// itself is not repeated: Field and Reason say what to fix.
type StyleError struct {
	// Field is the Style field's Go name ("TextColor").
	Field string
	// Reason says what the field must look like.
	Reason string
}

// Error names the field and the rule it breaks.
func (e *StyleError) Error() string {
	return "render: email style " + e.Field + ": " + e.Reason
}

// Is makes every StyleError match ErrInvalidStyle.
func (e *StyleError) Is(target error) bool { return target == ErrInvalidStyle }

// WithDefaults returns s with every empty field set to its default.
func (s Style) WithDefaults() Style {
	def := func(v *string, d string) {
		if strings.TrimSpace(*v) == "" {
			*v = d
		} else {
			*v = strings.TrimSpace(*v)
		}
	}
	def(&s.FontFamily, StyleDefaultFontFamily)
	def(&s.FontSize, StyleDefaultFontSize)
	def(&s.TextColor, StyleDefaultTextColor)
	def(&s.ButtonBackground, StyleDefaultButtonBackground)
	def(&s.ButtonTextColor, StyleDefaultButtonTextColor)
	def(&s.ContainerBackground, StyleDefaultContainerBackground)
	def(&s.LinkColor, s.ButtonBackground)
	def(&s.PageBackground, StyleDefaultPageBackground)
	if s.ContentWidth == 0 {
		s.ContentWidth = StyleDefaultContentWidth
	}
	return s
}

// Validate checks every field of s after applying defaults and returns a
// *StyleError for the first field that is not accepted.
func (s Style) Validate() error {
	s = s.WithDefaults()
	if !styleValidFontFamily(s.FontFamily) {
		return &StyleError{"FontFamily", "must be a comma-separated list of font names (letters, digits, spaces, hyphens, quotes), at most 200 bytes"}
	}
	if _, _, ok := styleParseSize(s.FontSize); !ok {
		return &StyleError{"FontSize", "must be a size in px or pt between 8 and 40, such as 16px"}
	}
	colors := []struct{ field, v string }{
		{"TextColor", s.TextColor},
		{"ButtonBackground", s.ButtonBackground},
		{"ButtonTextColor", s.ButtonTextColor},
		{"ContainerBackground", s.ContainerBackground},
		{"LinkColor", s.LinkColor},
		{"PageBackground", s.PageBackground},
	}
	for _, c := range colors {
		if !styleValidColor(c.v) {
			return &StyleError{c.field, "must be a CSS colour: #rgb, #rrggbb, rgb(…), rgba(…) or a colour name"}
		}
	}
	if s.ContentWidth < StyleMinContentWidth || s.ContentWidth > StyleMaxContentWidth {
		return &StyleError{"ContentWidth", fmt.Sprintf("must be between %d and %d pixels", StyleMinContentWidth, StyleMaxContentWidth)}
	}
	return nil
}

// styleValidFontFamily accepts font-family lists without characters that
// could end a CSS declaration or an HTML attribute.
func styleValidFontFamily(v string) bool {
	if v == "" || len(v) > 200 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == ' ', c == ',', c == '-', c == '\'', c == '"', c == '_':
		default:
			return false
		}
	}
	return true
}

// styleParseSize splits "16px" into 16 and "px"; it accepts px and pt
// between 8 and 40.
func styleParseSize(v string) (float64, string, bool) {
	var unit string
	switch {
	case strings.HasSuffix(v, "px"):
		unit = "px"
	case strings.HasSuffix(v, "pt"):
		unit = "pt"
	default:
		return 0, "", false
	}
	num := v[:len(v)-2]
	for i := 0; i < len(num); i++ {
		if (num[i] < '0' || num[i] > '9') && num[i] != '.' {
			return 0, "", false
		}
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n < 8 || n > 40 {
		return 0, "", false
	}
	return n, unit, true
}

// styleValidColor accepts hex colours, rgb()/rgba() with plain numbers and
// percentages, and colour names.
func styleValidColor(v string) bool {
	if v == "" || len(v) > 40 {
		return false
	}
	if v[0] == '#' {
		hex := v[1:]
		switch len(hex) {
		case 3, 4, 6, 8:
		default:
			return false
		}
		for i := 0; i < len(hex); i++ {
			c := hex[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
		return true
	}
	lower := strings.ToLower(v)
	for _, fn := range []string{"rgba(", "rgb("} {
		if inner, ok := strings.CutPrefix(lower, fn); ok {
			inner, ok = strings.CutSuffix(inner, ")")
			if !ok || inner == "" {
				return false
			}
			for i := 0; i < len(inner); i++ {
				c := inner[i]
				if !(c >= '0' && c <= '9' || c == '.' || c == ',' || c == ' ' || c == '%') {
					return false
				}
			}
			return true
		}
	}
	for i := 0; i < len(lower); i++ {
		if lower[i] < 'a' || lower[i] > 'z' {
			return false
		}
	}
	return len(lower) >= 3
}

// styleScale returns size multiplied by f, in the same unit, rounded to
// whole units ("16px" × 1.5 = "24px").
func styleScale(size string, f float64) string {
	n, unit, _ := styleParseSize(size)
	return strconv.FormatFloat(float64(int(n*f+0.5)), 'f', -1, 64) + unit
}

// styleSheet returns the layout's style sheet for s (already defaulted
// and validated). Element selectors come first and carry the lowest
// specificity, so a Code-mode author's own <style> rules for the same
// elements (which follow it) win; the layout's own parts use classes. The
// only rules premailer leaves in a <style> element are the media queries
// for narrow screens.
func styleSheet(s Style) string {
	var b strings.Builder
	b.Grow(4096)
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...); b.WriteByte('\n') }
	lineHeight := styleScale(s.FontSize, 1.5)
	w("body { margin: 0; padding: 0; width: 100%%; background-color: %s; }", s.PageBackground)
	w("table { border-collapse: collapse; }")
	w("img { border: 0; outline: none; text-decoration: none; max-width: 100%%; height: auto; }")
	w("p { margin: 0 0 16px 0; font-family: %s; font-size: %s; line-height: %s; color: %s; }", s.FontFamily, s.FontSize, lineHeight, s.TextColor)
	w("h1 { margin: 0 0 16px 0; font-family: %s; font-size: %s; line-height: 1.25; color: %s; font-weight: bold; }", s.FontFamily, styleScale(s.FontSize, 2), s.TextColor)
	w("h2 { margin: 0 0 14px 0; font-family: %s; font-size: %s; line-height: 1.3; color: %s; font-weight: bold; }", s.FontFamily, styleScale(s.FontSize, 1.5), s.TextColor)
	w("h3 { margin: 0 0 12px 0; font-family: %s; font-size: %s; line-height: 1.3; color: %s; font-weight: bold; }", s.FontFamily, styleScale(s.FontSize, 1.25), s.TextColor)
	w("h4, h5, h6 { margin: 0 0 12px 0; font-family: %s; font-size: %s; line-height: 1.4; color: %s; font-weight: bold; }", s.FontFamily, s.FontSize, s.TextColor)
	w("a { color: %s; text-decoration: underline; }", s.LinkColor)
	w("strong, b { font-weight: bold; }")
	w("em, i { font-style: italic; }")
	w("del, s { text-decoration: line-through; }")
	w("ul, ol { margin: 0 0 16px 0; padding: 0 0 0 24px; font-family: %s; font-size: %s; line-height: %s; color: %s; }", s.FontFamily, s.FontSize, lineHeight, s.TextColor)
	w("li { margin: 0 0 4px 0; }")
	w("blockquote { margin: 0 0 16px 0; padding: 4px 0 4px 16px; border-left: 4px solid #d1d5db; color: %s; }", s.TextColor)
	w("hr { border: 0; border-top: 1px solid #e5e7eb; margin: 24px 0; height: 0; }")
	w("pre { margin: 0 0 16px 0; padding: 12px; background-color: #f3f4f6; font-family: Menlo, Consolas, monospace; font-size: 13px; white-space: pre-wrap; }")
	w("code { font-family: Menlo, Consolas, monospace; font-size: 90%%; }")
	w("th, td { font-family: %s; font-size: %s; color: %s; }", s.FontFamily, s.FontSize, s.TextColor)
	w(".cc-page { background-color: %s; width: 100%%; }", s.PageBackground)
	w(".cc-page-cell { padding: 24px 8px; }")
	w(".cc-container { width: %dpx; max-width: %dpx; background-color: %s; }", s.ContentWidth, s.ContentWidth, s.ContainerBackground)
	w(".cc-content { padding: 32px; text-align: left; }")
	w(".cc-preheader { display: none; max-height: 0; max-width: 0; overflow: hidden; opacity: 0; font-size: 1px; line-height: 1px; color: %s; mso-hide: all; }", s.ContainerBackground)
	w(".cc-table { width: 100%%; margin: 0 0 16px 0; }")
	w(".cc-table th, .cc-table td { padding: 6px 8px; border: 1px solid #e5e7eb; text-align: left; }")
	w(".cc-image { display: block; margin: 0 0 16px 0; }")
	w(".cc-button-wrap { margin: 8px 0 24px 0; }")
	w(".cc-button-cell { background-color: %s; border-radius: 6px; text-align: center; }", s.ButtonBackground)
	w(".cc-button { display: inline-block; padding: 12px 24px; font-family: %s; font-size: %s; font-weight: bold; line-height: 1.2; color: %s; text-decoration: none; border-radius: 6px; background-color: %s; }", s.FontFamily, s.FontSize, s.ButtonTextColor, s.ButtonBackground)
	w(".cc-footer { padding: 24px 32px; border-top: 1px solid #e5e7eb; text-align: center; }")
	w(".cc-footer p { margin: 0 0 8px 0; font-size: 12px; line-height: 18px; color: #6b7280; }")
	w(".cc-footer a { color: #6b7280; text-decoration: underline; }")
	w("@media only screen and (max-width: %dpx) {", s.ContentWidth+20)
	w("  .cc-container { width: 100%% !important; max-width: 100%% !important; }")
	w("  .cc-content { padding: 20px !important; }")
	w("  .cc-page-cell { padding: 0 !important; }")
	w("  .cc-button { display: block !important; }")
	w("}")
	return b.String()
}
