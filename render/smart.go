package render

import (
	"strings"
	"unicode/utf8"
)

// SmartChange is one kind of replacement SmartEncode made.
type SmartChange struct {
	// From is the character that was replaced.
	From rune
	// To is what replaced it (possibly empty: invisible characters are
	// removed).
	To string
	// Count is how many times it was replaced.
	Count int
}

// SmartReport says what SmartEncodeReport changed and what it saved.
type SmartReport struct {
	// Changes lists each replaced character once, in order of first
	// appearance.
	Changes []SmartChange
	// Replaced is the number of characters replaced or removed.
	Replaced int
	// Before and After are the counts of the text before and after.
	Before, After SMSCount
	// SegmentsSaved is Before.Segments - After.Segments. It is usually
	// positive when the text became GSM-7, and can be negative when the
	// text stays UCS-2 (an ellipsis becomes three characters).
	SegmentsSaved int
}

// smartPairs is the replacement table: Unicode look-alikes and their GSM-7
// equivalents, following the list Twilio publishes for its Messaging
// Services' Smart Encoding. Fullwidth ASCII forms (U+FF01–U+FF5E) are
// handled by rule in smartReplacement, not listed.
var smartPairs = []struct {
	from string
	to   string
}{
	// Double quotation marks.
	{"«»“”ʺˮ‟„❝❞〝〞", `"`},
	// Single quotation marks, apostrophes, primes and accents used as
	// apostrophes (including the grave accent, which is not in GSM-7).
	{"‘’ʻˈʼʽʹ‛´ˊ`ˋ❛❜\u0313\u0314︐︑′", "'"},
	{"‚\u0326﹐﹑､、", ","},
	{"‹", "<"},
	{"›", ">"},
	// Dashes, hyphens and bullets.
	{"‐‑‒–—―⁃﹣⎼⎽•", "-"},
	{"…", "..."},
	{"‼", "!!"},
	// Spaces of every width become one ordinary space.
	{"\t\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000\u2028\u2029", " "},
	// Invisible characters are removed.
	{"\u200b\u2060\ufeff\u00ad", ""},
	// Slashes, bars, fractions.
	{"÷⧸\u0337\u0338⁄∕", "/"},
	{"¼", "1/4"},
	{"½", "1/2"},
	{"¾", "3/4"},
	{"⧹⧵\u20e5﹨", `\`},
	{"\u0332‗", "_"},
	{"\u20d2\u20d3∣⎸⎹⏐⎜⎟", "|"},
	// Small and decorative forms of ASCII punctuation.
	{"﹫", "@"},
	{"﹩", "$"},
	{"ǃ︕﹗", "!"},
	{"﹟", "#"},
	{"﹪", "%"},
	{"﹠", "&"},
	{"❨❪﹙⟮⦅", "("},
	{"❩❫﹚⟯⦆", ")"},
	{"⁎∗⊛✢✣✤✥✱✲✳✺✻✼✽❃❉❊❋⧆﹡", "*"},
	{"˖﹢", "+"},
	{"。﹒｡", "."},
	{"ː˸⦂꞉︓", ":"},
	{"⁏︔﹔", ";"},
	{"﹤", "<"},
	{"﹥", ">"},
	{"\u0347꞊﹦", "="},
	{"︖﹖", "?"},
	{"ˆ\u0302\u1dcd", "^"},
	{"❴﹛", "{"},
	{"❵﹜", "}"},
	{"˜˷\u0303\u0330\u0334∼", "~"},
	// Latin small capitals.
	{"ᴀ", "A"}, {"ʙ", "B"}, {"ᴄ", "C"}, {"ᴅ", "D"}, {"ᴇ", "E"}, {"ꜰ", "F"}, {"ɢ", "G"},
	{"ʜ", "H"}, {"ɪ", "I"}, {"ᴊ", "J"}, {"ᴋ", "K"}, {"ʟ", "L"}, {"ᴍ", "M"}, {"ɴ", "N"},
	{"ᴏ", "O"}, {"ᴘ", "P"}, {"ʀ", "R"}, {"ꜱ", "S"}, {"ᴛ", "T"}, {"ᴜ", "U"}, {"ᴠ", "V"},
	{"ᴡ", "W"}, {"ʏ", "Y"}, {"ᴢ", "Z"},
}

// smartTable indexes smartPairs by character.
var smartTable = func() map[rune]string {
	m := make(map[rune]string, 256)
	for _, p := range smartPairs {
		for _, r := range p.from {
			m[r] = p.to
		}
	}
	return m
}()

// smartReplacement returns what SmartEncode puts in place of r, and
// whether r is replaced at all. Characters already in GSM-7 are kept.
func smartReplacement(r rune) (string, bool) {
	if r < utf8.RuneSelf {
		switch {
		case r == '`', r == '\t':
			return smartTable[r], true
		case r < ' ' && r != '\n' && r != '\r' && r != '\f', r == 0x7f:
			return "", true // invisible control characters, ESC included
		}
		return "", false
	}
	if r >= 0x80 && r <= 0x9f {
		return "", true // C1 control characters
	}
	if r >= 0xff01 && r <= 0xff5e { // fullwidth ASCII
		a := r - 0xfee0
		if a == '`' {
			return "'", true
		}
		return string(a), true
	}
	s, ok := smartTable[r]
	return s, ok
}

// SmartEncode replaces Unicode look-alikes that force an SMS into UCS-2 —
// curly quotes, dashes, the ellipsis, unusual spaces, fullwidth forms,
// invisible characters — with their GSM-7 equivalents, as Twilio's Smart
// Encoding does. Other characters, emoji and accented letters outside
// GSM-7 included, are kept. Text that needs no change is returned as is.
//
// Smart encoding is off by default: it is a blast setting
// (SMSContent.SmartEncoding).
func SmartEncode(text string) string {
	out, _ := smartEncode(text, nil)
	return out
}

// SmartEncodeReport is SmartEncode that also reports what changed and how
// many segments that saved.
func SmartEncodeReport(text string) (string, SmartReport) {
	var rep SmartReport
	out, _ := smartEncode(text, &rep)
	rep.Before = CountSMS(text)
	rep.After = CountSMS(out)
	rep.SegmentsSaved = rep.Before.Segments - rep.After.Segments
	return out, rep
}

// smartEncode does the replacement, recording changes in rep when not
// nil. It reports whether anything changed.
func smartEncode(text string, rep *SmartReport) (string, bool) {
	var b strings.Builder
	changed := false
	copied := 0 // text[:copied] is already in b
	for i := 0; i < len(text); {
		r, n := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(text[i:])
			if r == utf8.RuneError && n == 1 {
				i++
				continue // invalid bytes are left alone
			}
			if smsGSMNonASCII(r) != 0 {
				i += n
				continue
			}
		} else if smsASCII[r] != 0 {
			i++
			continue
		}
		to, ok := smartReplacement(r)
		if !ok {
			i += n
			continue
		}
		if !changed {
			changed = true
			b.Grow(len(text) + 8)
		}
		b.WriteString(text[copied:i])
		b.WriteString(to)
		i += n
		copied = i
		if rep != nil {
			rep.Replaced++
			smartNote(rep, r, to)
		}
	}
	if !changed {
		return text, false
	}
	b.WriteString(text[copied:])
	return b.String(), true
}

// smartNote counts one replacement of r in rep.
func smartNote(rep *SmartReport, r rune, to string) {
	for i := range rep.Changes {
		if rep.Changes[i].From == r {
			rep.Changes[i].Count++
			return
		}
	}
	rep.Changes = append(rep.Changes, SmartChange{From: r, To: to, Count: 1})
}
