package render

import (
	"strings"
	"unicode/utf8"

	"github.com/tdewolff/parse/v2"
	"github.com/tdewolff/parse/v2/css"
)

// The CSS half of the Code-mode sanitiser. CSS is never edited as text:
// it is split into tokens by a CSS Syntax Level 3 tokenizer
// (github.com/tdewolff/parse/v2/css), grouped into rules and declarations
// as the CSS parsing algorithm does, and the sanitised CSS is written out
// again from the tokens that pass the allow-lists below. Comments become
// whitespace in tokenisation, so "expr/**/ession(" stays two tokens and
// comes out as "expr ession(" (and is then refused, see cssForbidden).

// cssTok is one CSS token and its source text.
type cssTok struct {
	tt   css.TokenType
	text string
}

// cssProperties are the properties kept in declarations: the box, text,
// colour, background, border, list and table properties email clients
// support, plus the Outlook (mso-) and text-size properties email layouts
// use. Positioning (position, top, z-index), generated content, filters,
// behaviours, bindings and custom properties are not on the list.
var cssProperties = cssSet(
	"background", "background-color", "background-image", "background-position", "background-repeat",
	"background-size", "background-attachment", "background-clip", "background-origin",
	"border", "border-top", "border-right", "border-bottom", "border-left",
	"border-color", "border-style", "border-width",
	"border-top-color", "border-top-style", "border-top-width",
	"border-right-color", "border-right-style", "border-right-width",
	"border-bottom-color", "border-bottom-style", "border-bottom-width",
	"border-left-color", "border-left-style", "border-left-width",
	"border-radius", "border-top-left-radius", "border-top-right-radius",
	"border-bottom-left-radius", "border-bottom-right-radius",
	"border-collapse", "border-spacing", "box-shadow", "box-sizing",
	"caption-side", "clear", "color", "color-scheme", "direction", "display", "empty-cells", "float",
	"font", "font-family", "font-size", "font-style", "font-variant", "font-weight",
	"height", "max-height", "min-height", "width", "max-width", "min-width",
	"letter-spacing", "line-height", "list-style", "list-style-position", "list-style-type",
	"margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
	"opacity", "outline", "outline-color", "outline-style", "outline-width",
	"overflow", "overflow-x", "overflow-y", "overflow-wrap",
	"padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
	"table-layout", "text-align", "text-decoration", "text-decoration-color", "text-decoration-line",
	"text-decoration-style", "text-indent", "text-overflow", "text-shadow", "text-transform",
	"text-size-adjust", "-webkit-text-size-adjust", "-ms-text-size-adjust",
	"-webkit-font-smoothing", "-moz-osx-font-smoothing", "-ms-interpolation-mode",
	"unicode-bidi", "vertical-align", "visibility", "white-space", "word-break", "word-spacing", "word-wrap",
	"mso-hide", "mso-line-height-rule", "mso-table-lspace", "mso-table-rspace", "mso-padding-alt",
	"mso-border-alt", "mso-text-raise", "mso-height-rule", "mso-ansi-font-size", "mso-font-width",
	"supported-color-schemes",
)

// cssFunctions are the functions allowed in values; url() is handled on
// its own (cssURL).
var cssFunctions = cssSet(
	"rgb", "rgba", "hsl", "hsla", "calc", "min", "max", "clamp",
	"linear-gradient", "radial-gradient", "repeating-linear-gradient", "repeating-radial-gradient",
)

// cssSelectorFunctions are the functional pseudo-classes allowed in
// selectors.
var cssSelectorFunctions = cssSet("not", "nth-child", "nth-last-child", "nth-of-type", "nth-last-of-type")

// cssForbidden are texts no sanitised CSS may hold once lower-cased and
// stripped of whitespace, whatever tokens they came from: a last check
// behind the token allow-lists.
var cssForbidden = []string{"expression(", "javascript:", "vbscript:", "livescript:", "-moz-binding", "<", `\`}

// cssSet builds a lookup set.
func cssSet(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// cssTokenize splits src into tokens. NUL bytes and invalid UTF-8 become
// U+FFFD first (CSS Syntax §3.3); comments become whitespace and runs of
// whitespace one " " token.
func cssTokenize(src string) []cssTok {
	if strings.IndexByte(src, 0) >= 0 {
		src = strings.ReplaceAll(src, "\x00", "\uFFFD")
	}
	if !utf8.ValidString(src) {
		src = strings.ToValidUTF8(src, "\uFFFD")
	}
	l := css.NewLexer(parse.NewInputString(src))
	toks := make([]cssTok, 0, len(src)/6+1)
	pos := 0
	for {
		tt, data := l.Next()
		if tt == css.ErrorToken || len(data) == 0 || pos+len(data) > len(src) {
			return toks
		}
		text := src[pos : pos+len(data)] // the lexer returns consecutive slices of its input
		pos += len(data)
		if tt == css.CommentToken {
			tt = css.WhitespaceToken
		}
		if tt == css.WhitespaceToken {
			if len(toks) > 0 && toks[len(toks)-1].tt == css.WhitespaceToken {
				continue
			}
			text = " "
		}
		toks = append(toks, cssTok{tt, text})
	}
}

// cssCloser returns the token that closes a block opened by t, or
// ErrorToken when t opens none.
func cssCloser(t css.TokenType) css.TokenType {
	switch t {
	case css.LeftBraceToken:
		return css.RightBraceToken
	case css.LeftParenthesisToken, css.FunctionToken:
		return css.RightParenthesisToken
	case css.LeftBracketToken:
		return css.RightBracketToken
	}
	return css.ErrorToken
}

// cssSkipBlock returns the index just past the block that toks[i] opens
// and whether its closing token was found (an unclosed block runs to the
// end, as in a browser). Inside, only the innermost block's closer counts.
func cssSkipBlock(toks []cssTok, i int) (int, bool) {
	stack := []css.TokenType{cssCloser(toks[i].tt)}
	for j := i + 1; j < len(toks); j++ {
		tt := toks[j].tt
		if tt == stack[len(stack)-1] {
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return j + 1, true
			}
		} else if c := cssCloser(tt); c != css.ErrorToken {
			stack = append(stack, c)
		}
	}
	return len(toks), false
}

// cssRuleParts splits the rule starting at toks[i] into its prelude and
// {} block. An at-rule's prelude starts after the at-keyword and may end
// at ";" (no block). It returns the index past the rule.
func cssRuleParts(toks []cssTok, i int, at bool) (prelude, block []cssTok, hasBlock bool, next int) {
	start := i
	if at {
		start = i + 1
	}
	for j := start; j < len(toks); {
		switch tt := toks[j].tt; {
		case tt == css.SemicolonToken && at:
			return toks[start:j], nil, false, j + 1
		case tt == css.LeftBraceToken:
			end, closed := cssSkipBlock(toks, j)
			inner := toks[j+1 : end]
			if closed {
				inner = toks[j+1 : end-1]
			}
			return toks[start:j], inner, true, end
		case cssCloser(tt) != css.ErrorToken:
			j, _ = cssSkipBlock(toks, j)
		default:
			j++
		}
	}
	return toks[start:], nil, false, len(toks)
}

// cssSanitizeSheet sanitises the text of a <style> element and returns
// the kept rules, serialised: style rules with an allowed selector and
// their allowed declarations, and @media rules (not nested) with an
// allowed media query holding such style rules. Every other at-rule
// (@import, @charset, @namespace, @font-face, @keyframes, …) is dropped.
// With mediaOnly, top-level style rules are dropped too: what CompileEmail
// keeps of premailer's leftovers. Removals are counted in rep (nil
// counts nothing).
func cssSanitizeSheet(src string, mediaOnly bool, rep *sanitizeReport) string {
	var b strings.Builder
	cssWriteRules(&b, cssTokenize(src), false, mediaOnly, rep)
	return b.String()
}

// cssWriteRules writes the kept rules of a rule list; nested is true
// inside @media.
func cssWriteRules(b *strings.Builder, toks []cssTok, nested, mediaOnly bool, rep *sanitizeReport) {
	for i := 0; i < len(toks); {
		switch toks[i].tt {
		case css.WhitespaceToken, css.CDOToken, css.CDCToken, css.SemicolonToken:
			i++
		case css.AtKeywordToken:
			name := strings.ToLower(toks[i].text[1:])
			prelude, block, hasBlock, next := cssRuleParts(toks, i, true)
			i = next
			if name != "media" || nested || !hasBlock {
				if !mediaOnly {
					rep.add(RemovedCSS, cssAtReportName(name))
				}
				continue
			}
			query, ok := cssMediaQuery(prelude)
			if !ok {
				rep.add(RemovedCSS, "@media")
				continue
			}
			var inner strings.Builder
			cssWriteRules(&inner, block, true, false, rep)
			if inner.Len() > 0 {
				b.WriteString("@media ")
				b.WriteString(query)
				b.WriteString(" {\n")
				b.WriteString(inner.String())
				b.WriteString("}\n")
			}
		default:
			prelude, block, hasBlock, next := cssRuleParts(toks, i, false)
			i = next
			switch {
			case mediaOnly && !nested:
				continue
			case !hasBlock:
				rep.add(RemovedCSS, "invalid")
				continue
			}
			sel, ok := cssSelector(prelude)
			if !ok {
				rep.add(RemovedCSS, "selector")
				continue
			}
			if decls := cssDeclarations(block, rep); decls != "" {
				b.WriteString(sel)
				b.WriteByte('{')
				b.WriteString(decls)
				b.WriteString("}\n")
			}
		}
	}
}

// cssSanitizeDecls sanitises a style attribute: the allowed declarations,
// serialised as "name:value;name:value".
func cssSanitizeDecls(src string, rep *sanitizeReport) string {
	return cssDeclarations(cssTokenize(src), rep)
}

// cssDeclarations sanitises a declaration list (a style rule's block or a
// style attribute).
func cssDeclarations(toks []cssTok, rep *sanitizeReport) string {
	var b strings.Builder
	start := 0
	for j := 0; j <= len(toks); {
		if j < len(toks) && toks[j].tt != css.SemicolonToken {
			if cssCloser(toks[j].tt) != css.ErrorToken {
				j, _ = cssSkipBlock(toks, j)
			} else {
				j++
			}
			continue
		}
		if d, ok := cssDeclaration(cssTrim(toks[start:min(j, len(toks))]), rep); ok && d != "" {
			if b.Len() > 0 {
				b.WriteByte(';')
			}
			b.WriteString(d)
		}
		j++
		start = j
	}
	return b.String()
}

// cssDeclaration sanitises one declaration ("name: value"); ok is false
// when it was dropped (and counted in rep). An empty one is ok and "".
func cssDeclaration(toks []cssTok, rep *sanitizeReport) (string, bool) {
	if len(toks) == 0 {
		return "", true
	}
	first := toks[0]
	if first.tt == css.AtKeywordToken {
		rep.add(RemovedCSS, cssAtReportName(strings.ToLower(first.text[1:])))
		return "", false
	}
	rest := cssTrim(toks[1:])
	if (first.tt != css.IdentToken && first.tt != css.CustomPropertyNameToken) || len(rest) == 0 || rest[0].tt != css.ColonToken {
		rep.add(RemovedCSS, "invalid")
		return "", false
	}
	name := strings.ToLower(first.text)
	if !cssProperties[name] {
		rep.add(RemovedCSS, cssReportName(name))
		return "", false
	}
	value, ok := cssValue(rest[1:])
	if !ok {
		rep.add(RemovedCSS, name)
		return "", false
	}
	return name + ":" + value, true
}

// cssGrammar says which tokens one part of CSS (a value, a selector, a
// media query) may hold; cssSerialize writes the part out from them.
type cssGrammar struct {
	plain     map[css.TokenType]bool // written as they are (escapes are refused later)
	delims    string                 // the one-character delimiters allowed
	functions map[string]bool        // the functions allowed, by lower-case name
	parens    cssParens              // where a bare ( may open
	brackets  bool                   // attribute-selector brackets
	strings   bool                   // strings (cssString)
	urls      bool                   // url() (cssURL)
}

// cssParens says where a grammar allows a bare parenthesis.
type cssParens int

const (
	cssParensNever      cssParens = iota
	cssParensInFunction           // only inside a function: calc(2 * (1px + 2px))
	cssParensAnywhere             // media features: (max-width: 600px)
)

// The grammars of values, selectors and media queries.
var (
	cssValueGrammar = cssGrammar{
		plain:  map[css.TokenType]bool{css.IdentToken: true, css.NumberToken: true, css.PercentageToken: true, css.DimensionToken: true, css.HashToken: true, css.CommaToken: true},
		delims: "/+-*", functions: cssFunctions, parens: cssParensInFunction, strings: true, urls: true,
	}
	cssSelectorGrammar = cssGrammar{
		plain: map[css.TokenType]bool{css.IdentToken: true, css.HashToken: true, css.NumberToken: true, css.DimensionToken: true, css.ColonToken: true, css.CommaToken: true,
			css.IncludeMatchToken: true, css.DashMatchToken: true, css.PrefixMatchToken: true, css.SuffixMatchToken: true, css.SubstringMatchToken: true},
		delims: ".*>+~=-", functions: cssSelectorFunctions, brackets: true, strings: true,
	}
	cssMediaGrammar = cssGrammar{
		plain:  map[css.TokenType]bool{css.IdentToken: true, css.NumberToken: true, css.DimensionToken: true, css.ColonToken: true, css.CommaToken: true},
		delims: "/", parens: cssParensAnywhere,
	}
)

// cssSerialize writes toks (trimmed) out under grammar g, or reports false
// when a token is not allowed, the blocks do not balance, or the result
// holds a cssForbidden text. Whitespace is written as one space.
func cssSerialize(toks []cssTok, g *cssGrammar) (string, bool) {
	toks = cssTrim(toks)
	if len(toks) == 0 {
		return "", false
	}
	var b strings.Builder
	var open []css.TokenType // the closers of the open blocks
	for _, t := range toks {
		switch tt := t.tt; {
		case tt == css.WhitespaceToken:
			b.WriteByte(' ')
		case g.plain[tt]:
			b.WriteString(t.text)
		case tt == css.DelimToken:
			if len(t.text) != 1 || strings.IndexByte(g.delims, t.text[0]) < 0 {
				return "", false
			}
			b.WriteString(t.text)
		case tt == css.StringToken && g.strings:
			s, ok := cssString(t.text)
			if !ok {
				return "", false
			}
			b.WriteString(s)
		case tt == css.URLToken && g.urls:
			u, ok := cssURL(t.text)
			if !ok {
				return "", false
			}
			b.WriteString(`url("`)
			b.WriteString(u)
			b.WriteString(`")`)
		case tt == css.FunctionToken:
			fn := strings.ToLower(t.text[:len(t.text)-1])
			if !g.functions[fn] {
				return "", false
			}
			b.WriteString(fn)
			b.WriteByte('(')
			open = append(open, css.RightParenthesisToken)
		case tt == css.LeftParenthesisToken && (g.parens == cssParensAnywhere || g.parens == cssParensInFunction && len(open) > 0),
			tt == css.LeftBracketToken && g.brackets:
			b.WriteString(t.text)
			open = append(open, cssCloser(tt))
		case tt == css.RightParenthesisToken, tt == css.RightBracketToken:
			if len(open) == 0 || open[len(open)-1] != tt {
				return "", false
			}
			open = open[:len(open)-1]
			b.WriteString(t.text)
		default:
			return "", false
		}
	}
	out := b.String()
	return out, len(open) == 0 && !cssHasForbidden(out)
}

// cssValue serialises a declaration's value, or reports false when a
// token is not allowed: identifiers, numbers, dimensions, percentages,
// hashes, strings, http(s)/cid url(), the functions in cssFunctions,
// commas and the operators / + - * (parentheses only inside a function),
// and a trailing !important. Escapes are refused everywhere.
func cssValue(toks []cssTok) (string, bool) {
	toks = cssTrim(toks)
	important := false
	if n := len(toks); n >= 2 && toks[n-1].tt == css.IdentToken && strings.EqualFold(toks[n-1].text, "important") {
		bang := cssTrim(toks[:n-1])
		if k := len(bang); k > 0 && bang[k-1].tt == css.DelimToken && bang[k-1].text == "!" {
			important = true
			toks = bang[:k-1]
		}
	}
	v, ok := cssSerialize(toks, &cssValueGrammar)
	if ok && important {
		v += " !important"
	}
	return v, ok
}

// cssSelector serialises a style rule's selector list, or reports false
// when it holds a token outside selector syntax: type, class, id,
// attribute and pseudo-class selectors, combinators, and the functional
// pseudo-classes in cssSelectorFunctions.
func cssSelector(toks []cssTok) (string, bool) {
	return cssSerialize(toks, &cssSelectorGrammar)
}

// cssMediaQuery serialises an @media prelude, or reports false when it is
// not made of media-query tokens: identifiers, parenthesised features,
// colons, commas, numbers, dimensions and the ratio slash.
func cssMediaQuery(toks []cssTok) (string, bool) {
	return cssSerialize(toks, &cssMediaGrammar)
}

// cssSanitizeMedia sanitises the media attribute of a <style> element
// with the @media prelude rules; ok is false when it is not a media query.
func cssSanitizeMedia(v string) (string, bool) {
	return cssMediaQuery(cssTokenize(v))
}

// cssString returns a string token as written (in its own quotes),
// refusing an unterminated string and escapes, angle brackets and control
// characters inside it.
func cssString(raw string) (string, bool) {
	if len(raw) < 2 || raw[len(raw)-1] != raw[0] {
		return "", false // unterminated
	}
	inner := raw[1 : len(raw)-1]
	for i := 0; i < len(inner); i++ {
		if c := inner[i]; c < 0x20 || c == 0x7f || c == raw[0] || c == '\\' || c == '<' || c == '>' {
			return "", false
		}
	}
	return raw, true
}

// cssURL returns the URL of a url() token when it is an absolute http,
// https or cid URL of printable ASCII without quotes, parentheses, angle
// brackets or backslashes; the caller writes it back as url("…").
func cssURL(raw string) (string, bool) {
	if len(raw) < 4 || !strings.EqualFold(raw[:4], "url(") {
		return "", false // the name was written with escapes
	}
	u, ok := strings.CutSuffix(raw[4:], ")")
	if !ok {
		return "", false
	}
	u = strings.Trim(u, " \t\n\r\f")
	if len(u) >= 2 && (u[0] == '"' || u[0] == '\'') {
		if u[len(u)-1] != u[0] {
			return "", false
		}
		u = u[1 : len(u)-1]
	}
	if u == "" {
		return "", false
	}
	for i := 0; i < len(u); i++ {
		if c := u[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`"'()<>\`, c) >= 0 {
			return "", false
		}
	}
	l := strings.ToLower(u)
	if !strings.HasPrefix(l, "https://") && !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "cid:") {
		return "", false
	}
	return u, true
}

// cssHasForbidden reports whether serialised CSS holds a cssForbidden
// text once lower-cased and stripped of whitespace.
func cssHasForbidden(s string) bool {
	if strings.IndexByte(s, ' ') >= 0 {
		s = strings.ReplaceAll(s, " ", "") // the serialisers write no other whitespace
	}
	s = strings.ToLower(s)
	for _, f := range cssForbidden {
		if strings.Contains(s, f) {
			return true
		}
	}
	return false
}

// cssTrim drops leading and trailing whitespace tokens.
func cssTrim(toks []cssTok) []cssTok {
	for len(toks) > 0 && toks[0].tt == css.WhitespaceToken {
		toks = toks[1:]
	}
	for len(toks) > 0 && toks[len(toks)-1].tt == css.WhitespaceToken {
		toks = toks[:len(toks)-1]
	}
	return toks
}

// cssReportName is the name a removed declaration is reported under: the
// property name when it is plain (letters, digits, hyphens; at most 40
// bytes), else "property".
func cssReportName(name string) string {
	if !sanitizePlain(name, "-", 40) {
		return "property"
	}
	return name
}

// cssAtReportName is the name a removed at-rule is reported under:
// "@name" when the name is plain, else "at-rule".
func cssAtReportName(name string) string {
	if !sanitizePlain(name, "-", 40) {
		return "at-rule"
	}
	return "@" + name
}
