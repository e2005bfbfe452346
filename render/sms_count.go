package render

import (
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// Encoding is the character encoding a carrier uses for an SMS.
type Encoding uint8

// The two SMS encodings. A text is GSM-7 when every character is in the
// GSM 03.38 basic or extension table, UCS-2 otherwise.
const (
	GSM7 Encoding = iota // 7-bit GSM 03.38: 160 septets in one segment
	UCS2                 // UTF-16 code units: 70 in one segment
)

// String returns "GSM-7" or "UCS-2".
func (e Encoding) String() string {
	if e == UCS2 {
		return "UCS-2"
	}
	return "GSM-7"
}

// Segment capacities, in septets (GSM-7) or UTF-16 code units (UCS-2). A
// message that fits the single limit is sent as one segment; a longer one
// is split into segments that each carry a 6-byte concatenation header and
// hold at most the concatenated limit.
const (
	SMSSingleGSM7 = 160
	SMSConcatGSM7 = 153
	SMSSingleUCS2 = 70
	SMSConcatUCS2 = 67
)

// SMSCount is what CountSMS measures about a text.
type SMSCount struct {
	// Encoding is GSM7 unless a character outside GSM 03.38 forces UCS2.
	Encoding Encoding
	// Units is the length of the whole text in septets (GSM-7: extension
	// characters cost 2) or UTF-16 code units (UCS-2: characters outside
	// the Basic Multilingual Plane, such as most emoji, cost 2).
	Units int
	// Segments is the number of texts carriers send and bill; an empty
	// text is 1 segment.
	Segments int
	// Characters is the number of user-perceived characters (grapheme
	// clusters; CR and LF always count separately).
	Characters int
	// Remaining is how many units still fit in the last segment before
	// another segment is needed.
	Remaining int
}

// smsClass is the GSM 03.38 cost of one character: 0 not encodable,
// 1 basic table, 2 extension table (escape + code).
type smsClass = uint8

// smsASCII holds the GSM-7 cost of each ASCII code point. Control
// characters other than LF, CR and form feed, the grave accent and DEL
// are not in GSM 03.38; ESC (0x1B) is the table's escape code, not a
// sendable character.
var smsASCII = func() (t [128]smsClass) {
	for c := ' '; c <= '~'; c++ {
		t[c] = 1
	}
	t['`'] = 0
	for _, c := range "^{}\\[~]|" {
		t[c] = 2
	}
	t['\n'], t['\r'], t['\f'] = 1, 1, 2
	return t
}()

// smsNotFast marks, in smsFast, bytes the eight-byte loop cannot handle.
const smsNotFast = 0x40

// smsFast is smsASCII extended to every byte value, with smsNotFast for
// non-ASCII bytes and ASCII characters outside GSM-7.
var smsFast = func() (t [256]uint8) {
	for c := range t {
		t[c] = smsNotFast
		if c < utf8.RuneSelf && smsASCII[c] != 0 {
			t[c] = smsASCII[c]
		}
	}
	return t
}()

// smsGSMNonASCII returns the GSM-7 cost of a non-ASCII rune.
func smsGSMNonASCII(r rune) smsClass {
	switch r {
	case '£', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', 'Ø', 'ø', 'Å', 'å',
		'Δ', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ',
		'Æ', 'æ', 'ß', 'É', '¤', '¡', 'Ä', 'Ö', 'Ñ', 'Ü', '§', '¿',
		'ä', 'ö', 'ñ', 'ü', 'à':
		return 1
	case '€':
		return 2
	}
	return 0
}

// IsGSM7 reports whether every character of text can be sent in GSM-7.
func IsGSM7(text string) bool {
	for i := 0; i < len(text); {
		w, n := smsGSMAt(text, i)
		if w == 0 {
			return false
		}
		i += n
	}
	return true
}

// smsGSMAt returns the GSM-7 cost of the character at text[i] and its
// length in bytes.
func smsGSMAt(text string, i int) (smsClass, int) {
	if c := text[i]; c < utf8.RuneSelf {
		return smsASCII[c], 1
	}
	r, n := utf8.DecodeRuneInString(text[i:])
	return smsGSMNonASCII(r), n
}

// CountSMS measures text as carriers encode and bill it, matching Twilio's
// segment calculator (see the package documentation, "Counting"). It does
// not allocate.
func CountSMS(text string) SMSCount {
	return smsWalk(text, nil)
}

// SplitSMS returns the segments of text as a carrier sends them; joined,
// they are text. len(SplitSMS(t)) == CountSMS(t).Segments, and an empty
// text is one empty segment.
func SplitSMS(text string) []string {
	var cuts []int
	c := smsWalk(text, &cuts)
	if c.Segments == 1 {
		return []string{text}
	}
	out := make([]string, 0, c.Segments)
	start := 0
	for _, cut := range cuts {
		out = append(out, text[start:cut])
		start = cut
	}
	return append(out, text[start:])
}

// smsPacker fills segments greedily: a unit that does not fit in the
// current segment starts the next one, so escape pairs, surrogate pairs
// and grapheme clusters are never split.
type smsPacker struct {
	limit int    // concatenated-segment capacity
	units int    // whole text
	cur   int    // current segment
	segs  int    // segments at the concatenated capacity
	cuts  *[]int // byte offsets where segments start, if wanted
}

// add places an item of w units that starts at byte offset off.
func (p *smsPacker) add(w, off int) {
	p.units += w
	if p.cur+w > p.limit {
		p.segs++
		p.cur = w
		if p.cuts != nil {
			*p.cuts = append(*p.cuts, off)
		}
		return
	}
	p.cur += w
}

// addRun places k one-unit items that start at byte offset off, one byte
// each; it is k calls of add(1, …).
func (p *smsPacker) addRun(k, off int) {
	p.units += k
	for k > 0 {
		if p.cur == p.limit {
			p.segs++
			p.cur = 0
			if p.cuts != nil {
				*p.cuts = append(*p.cuts, off)
			}
		}
		n := min(k, p.limit-p.cur)
		p.cur += n
		k -= n
		off += n
	}
}

// result turns the packing into an SMSCount given the single-segment limit.
func (p *smsPacker) result(enc Encoding, single, chars int) SMSCount {
	c := SMSCount{Encoding: enc, Units: p.units, Segments: p.segs, Characters: chars, Remaining: p.limit - p.cur}
	if p.units <= single {
		c.Segments, c.Remaining = 1, single-p.units
		if p.cuts != nil {
			*p.cuts = (*p.cuts)[:0]
		}
	}
	return c
}

// smsWalk counts text, recording segment starts in cuts when not nil.
func smsWalk(text string, cuts *[]int) SMSCount {
	// First pass: is the text GSM-7, and how long is it? Characters in
	// GSM-7 are single code points (CR and LF count separately).
	units, chars := 0, 0
	for i := 0; i < len(text); chars++ {
		// Eight GSM-7 ASCII bytes at a time: any other byte adds
		// smsNotFast and sends that position to the general path.
		for i+8 <= len(text) {
			b := text[i : i+8]
			s := int(smsFast[b[0]]) + int(smsFast[b[1]]) + int(smsFast[b[2]]) + int(smsFast[b[3]]) +
				int(smsFast[b[4]]) + int(smsFast[b[5]]) + int(smsFast[b[6]]) + int(smsFast[b[7]])
			if s >= smsNotFast {
				break
			}
			units += s
			chars += 8
			i += 8
		}
		if i == len(text) {
			break
		}
		w, n := smsGSMAt(text, i)
		if w == 0 {
			return smsWalkUCS2(text, cuts)
		}
		i += n
		units += int(w)
	}
	c := SMSCount{Encoding: GSM7, Units: units, Segments: 1, Characters: chars, Remaining: SMSSingleGSM7 - units}
	if units <= SMSSingleGSM7 {
		return c
	}
	if units == chars && cuts == nil {
		// No extension characters: segments are full but for the last.
		c.Segments = (units + SMSConcatGSM7 - 1) / SMSConcatGSM7
		c.Remaining = c.Segments*SMSConcatGSM7 - units
		return c
	}
	// Pack: an escape pair that does not fit closes the segment early.
	p := smsPacker{limit: SMSConcatGSM7, segs: 1, cuts: cuts}
	for i := 0; i < len(text); {
		w, n := smsGSMAt(text, i)
		p.add(int(w), i)
		i += n
	}
	return p.result(GSM7, SMSSingleGSM7, chars)
}

// smsWalkUCS2 counts text in UCS-2, one grapheme cluster at a time.
func smsWalkUCS2(text string, cuts *[]int) SMSCount {
	p := smsPacker{limit: SMSConcatUCS2, segs: 1, cuts: cuts}
	chars, off, state := 0, 0, -1
	for off < len(text) {
		// Fastest path: a run of ASCII, each byte a cluster of its own,
		// except the last when a non-ASCII character follows (it may be a
		// combining mark).
		if text[off] < utf8.RuneSelf {
			end := off + 1
			for end < len(text) && text[end] < utf8.RuneSelf {
				end++
			}
			if end < len(text) {
				end--
			}
			if k := end - off; k > 0 {
				p.addRun(k, off)
				chars += k
				off = end
				state = -1
				continue
			}
		}
		// Fast path: a cluster ends after r when nothing after it can
		// join it (see smsSingle); CR before LF counts apart anyway.
		r, n := rune(text[off]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(text[off:])
		}
		if smsSingle(r, text[off+n:]) {
			p.add(utf16Len(r), off)
			chars++
			off += n
			state = -1
			continue
		}
		if n, w := smsEmojiCluster(text[off:]); n > 0 {
			p.add(w, off)
			chars++
			off += n
			state = -1
			continue
		}
		cluster, _, _, st := uniseg.FirstGraphemeClusterInString(text[off:], state)
		state = st
		if cluster == "\r\n" { // CR and LF count as two characters
			cluster = "\r"
			state = -1
		}
		w := 0
		for _, r := range cluster {
			w += utf16Len(r)
		}
		chars++
		if w <= SMSConcatUCS2 {
			p.add(w, off)
			off += len(cluster)
			continue
		}
		// A cluster longer than a whole segment cannot stay together:
		// split it between code points (never inside a surrogate pair).
		for i, r := range cluster {
			p.add(utf16Len(r), off+i)
		}
		off += len(cluster)
	}
	return p.result(UCS2, SMSSingleUCS2, chars)
}

// smsSingle reports whether a grapheme cluster that starts with r (at a
// cluster boundary) ends right after it, given the text that follows,
// without consulting the Unicode tables: it is a fast path in front of
// uniseg for the common cases, and answers false when unsure.
//
// A boundary follows r when r is not a Prepend character and the next
// character is ASCII (nothing ASCII extends or joins a cluster; CR before
// LF is counted apart by design), or when r is below U+0600 (so neither
// Prepend, Regional Indicator nor Hangul) and the next character is in a
// block that holds no Extend, ZWJ or SpacingMark characters.
func smsSingle(r rune, rest string) bool {
	if len(rest) == 0 || rest[0] < utf8.RuneSelf {
		return !smsMayPrepend(r)
	}
	if r >= 0x600 {
		return false
	}
	r2, _ := utf8.DecodeRuneInString(rest)
	switch {
	case r2 <= 0x2FF: // Latin-1 Supplement, Latin Extended, IPA, modifiers
		return true
	case r2 >= 0x370 && r2 <= 0x482: // Greek and Cyrillic letters
		return true
	case r2 >= 0x2010 && r2 <= 0x2027, r2 >= 0x2030 && r2 <= 0x205E: // punctuation
		return true
	case r2 >= 0x20A0 && r2 <= 0x20CF, r2 >= 0x2100 && r2 <= 0x2BFF: // currency, symbols
		return true
	case r2 >= 0x1F000 && r2 <= 0x1F3FA, r2 >= 0x1F400 && r2 <= 0x1FAFF: // emoji, not modifiers
		return true
	}
	return false
}

// smsEmojiCluster recognises, without the Unicode tables, the common emoji
// clusters at the start of s (at a cluster boundary): an emoji from
// U+1F000–U+1FAFF, or a pair of regional indicators (a flag), followed by
// any skin-tone modifiers and variation selectors, and then by ASCII or
// the end of s. It returns the cluster's length in bytes and UTF-16
// units, or 0 when s starts otherwise (ZWJ sequences, for example).
func smsEmojiCluster(s string) (n, units int) {
	r, size := utf8.DecodeRuneInString(s)
	if r < 0x1F000 || r > 0x1FAFF {
		return 0, 0
	}
	n, units = size, 2
	if r >= 0x1F1E6 && r <= 0x1F1FF { // regional indicators come in pairs
		r2, size2 := utf8.DecodeRuneInString(s[n:])
		if r2 < 0x1F1E6 || r2 > 0x1F1FF {
			return 0, 0
		}
		n += size2
		units += 2
	}
	for n < len(s) && s[n] >= utf8.RuneSelf {
		r2, size2 := utf8.DecodeRuneInString(s[n:])
		switch {
		case r2 >= 0x1F3FB && r2 <= 0x1F3FF: // skin-tone modifiers
			units += 2
		case r2 == 0xFE0E || r2 == 0xFE0F: // text and emoji presentation
			units++
		default:
			return 0, 0
		}
		n += size2
	}
	return n, units
}

// smsMayPrepend reports whether r may be a Grapheme_Cluster_Break=Prepend
// character (which joins the character after it), over-approximating the
// Unicode 15 set.
func smsMayPrepend(r rune) bool {
	if r < 0x600 {
		return false
	}
	if r <= 0xD4E {
		return r <= 0x605 || r == 0x6DD || r == 0x70F || r == 0x890 || r == 0x891 || r == 0x8E2 || r == 0xD4E
	}
	return r >= 0x110BD && r <= 0x11F02
}

// utf16Len returns the UTF-16 code units of r (invalid bytes decode as
// U+FFFD, one unit).
func utf16Len(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}
