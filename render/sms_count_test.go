package render

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/rivo/uniseg"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func rep(s string, n int) string { return strings.Repeat(s, n) }

// digits returns n ASCII digits "1234567890123…", as in Twilio's tests.
func digits(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		b.WriteByte(byte('0' + i%10))
	}
	return b.String()
}

func TestCountSMS(t *testing.T) {
	tests := []struct {
		name       string
		text       string
		enc        Encoding
		units      int
		segments   int
		characters int
	}{
		{"empty text is one segment of zero units", "", GSM7, 0, 1, 0},
		{"160 GSM septets fit one segment", digits(160), GSM7, 160, 1, 160},
		{"161 GSM septets need two segments", digits(161), GSM7, 161, 2, 161},
		{"306 GSM septets fill two concatenated segments of 153", digits(306), GSM7, 306, 2, 306},
		{"307 GSM septets need a third segment", digits(307), GSM7, 307, 3, 307},
		{"extension character costs two septets and still fits 160", "{" + digits(158), GSM7, 160, 1, 159},
		{"extension character pushes 161 septets to two segments", "|" + digits(159), GSM7, 161, 2, 160},
		{"every extension character costs two septets", "^{}\\[~]|€\f", GSM7, 20, 1, 10},
		{"escape pair is never split so segment one closes early at 152",
			rep("a", 152) + "{" + rep("a", 152), GSM7, 306, 3, 305},
		{"GSM basic accented letters stay GSM-7", "éèùìòÇØøÅåÄÖÑÜäöñüàßÉÆæ", GSM7, 23, 1, 23},
		{"GSM basic Greek capitals stay GSM-7", "ΔΦΓΛΩΠΨΣΘΞ", GSM7, 10, 1, 10},
		{"GSM basic symbols stay GSM-7", "@£$¥¤§¡¿_!\"#%&'()*+,-./:;<=>?", GSM7, 29, 1, 29},
		{"CR and LF are ordinary one-septet characters", "a\r\nb\nc\r", GSM7, 7, 1, 7},
		{"lower-case c cedilla is not GSM so the text is UCS-2", "ç", UCS2, 1, 1, 1},
		{"a-acute is not GSM", "Hola José, ¿cómo está?", UCS2, 22, 1, 22},
		{"e-diaeresis in a name makes the text UCS-2", "Hi Zoë", UCS2, 6, 1, 6},
		{"grave accent (backtick) is not GSM", "`", UCS2, 1, 1, 1},
		{"tab is not GSM", "a\tb", UCS2, 3, 1, 3},
		{"ESC control character is not sendable in GSM-7", "a\x1bb", UCS2, 3, 1, 3},
		{"curly quote is not GSM", "It’s", UCS2, 4, 1, 4},
		{"extension characters cost one unit in UCS-2", "😀" + rep("]", 68), UCS2, 70, 1, 69},
		{"extension characters in UCS-2 overflowing 70 units", "😀" + rep("]", 69), UCS2, 71, 2, 70},
		{"UCS-2 emoji plus 68 digits is 70 units in one segment", "😜" + digits(69)[1:], UCS2, 70, 1, 69},
		{"UCS-2 71 units need two segments", "😜" + digits(70)[1:], UCS2, 71, 2, 70},
		{"UCS-2 135 units need three segments of 67", "😜" + digits(134)[1:], UCS2, 135, 3, 134},
		{"70 one-unit UCS-2 characters fit one segment", rep("Á", 70), UCS2, 70, 1, 70},
		{"71 one-unit UCS-2 characters need two", rep("ú", 71), UCS2, 71, 2, 71},
		{"flag is one character of four units", "🇮🇹" + digits(67)[2:], UCS2, 69, 1, 66},
		{"flag at the 70-unit boundary", "🇮🇹" + digits(68)[2:], UCS2, 70, 1, 67},
		{"flag overflowing the boundary", "🇮🇹" + digits(69)[2:], UCS2, 71, 2, 68},
		{"rainbow flag ZWJ sequence is one character of six units", "🏳️‍🌈" + digits(68)[4:], UCS2, 70, 1, 65},
		{"rainbow flag text overflowing 70 units", "🏳️‍🌈" + digits(69)[4:], UCS2, 71, 2, 66},
		{"surrogate pair is never split so the segment closes early",
			rep("a", 66) + "😀" + rep("a", 66), UCS2, 134, 3, 133},
		{"letter plus combining mark is never split",
			rep("a", 66) + "e\u0301" + rep("a", 66), UCS2, 134, 3, 133},
		{"skin-tone emoji is never split",
			rep("a", 65) + "👍🏽" + rep("a", 66), UCS2, 135, 3, 132},
		{"letter with three accents is one character", "e\u0301\u0301\u0301", UCS2, 4, 1, 1},
		{"cluster longer than a segment is split between code points", "a" + rep("\u0301", 100), UCS2, 101, 2, 1},
		{"invalid UTF-8 counts as one replacement character", "ab\xffc", UCS2, 4, 1, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := CountSMS(tc.text)
			assert.Equal(t, tc.enc, c.Encoding, "encoding")
			assert.Equal(t, tc.units, c.Units, "units")
			assert.Equal(t, tc.segments, c.Segments, "segments")
			assert.Equal(t, tc.characters, c.Characters, "characters")
			parts := SplitSMS(tc.text)
			assert.Len(t, parts, c.Segments)
			assert.Equal(t, tc.text, strings.Join(parts, ""))
			assert.Equal(t, tc.enc == GSM7, IsGSM7(tc.text))
		})
	}
}

func TestSplitSMSBoundaries(t *testing.T) {
	t.Run("escape pair moves whole to the next segment", func(t *testing.T) {
		p := SplitSMS(rep("a", 152) + "{" + rep("a", 152))
		require.Len(t, p, 3)
		assert.Equal(t, rep("a", 152), p[0])
		assert.True(t, strings.HasPrefix(p[1], "{"))
		assert.Equal(t, "a", p[2])
	})
	t.Run("grapheme cluster moves whole to the next segment", func(t *testing.T) {
		p := SplitSMS(rep("a", 66) + "e\u0301" + rep("a", 66))
		require.Len(t, p, 3)
		assert.Equal(t, rep("a", 66), p[0])
		assert.True(t, strings.HasPrefix(p[1], "e\u0301"))
	})
	t.Run("CR LF may be split like any two characters", func(t *testing.T) {
		p := SplitSMS(rep("a", 152) + "\r\n" + rep("a", 10))
		require.Len(t, p, 2)
		assert.Equal(t, rep("a", 152)+"\r", p[0])
		assert.Equal(t, "\n"+rep("a", 10), p[1])
	})
	t.Run("single segment is the text itself", func(t *testing.T) {
		assert.Equal(t, []string{""}, SplitSMS(""))
		assert.Equal(t, []string{"hi"}, SplitSMS("hi"))
	})
}

func TestCountSMSRemaining(t *testing.T) {
	assert.Equal(t, 155, CountSMS("hello").Remaining, "single GSM segment counts down from 160")
	assert.Equal(t, 0, CountSMS(digits(160)).Remaining, "full single segment")
	assert.Equal(t, 145, CountSMS(digits(161)).Remaining, "second segment holds 153 and has 8 units")
	assert.Equal(t, 68, CountSMS("😀").Remaining, "UCS-2 counts down from 70")
}

func TestEncodingString(t *testing.T) {
	assert.Equal(t, "GSM-7", GSM7.String())
	assert.Equal(t, "UCS-2", UCS2.String())
}

func TestCountSMSGSMDoesNotAllocate(t *testing.T) {
	text := rep("Hello {Jane}, your visit is tomorrow. ", 8)
	allocs := testing.AllocsPerRun(100, func() { _ = CountSMS(text) })
	assert.Zero(t, allocs)
}

// smsCheckSplit verifies the invariants of SplitSMS against CountSMS.
func smsCheckSplit(t *testing.T, text string) {
	c := CountSMS(text)
	parts := SplitSMS(text)
	if len(parts) != c.Segments {
		t.Fatalf("Segments %d but SplitSMS gave %d", c.Segments, len(parts))
	}
	if strings.Join(parts, "") != text {
		t.Fatalf("joined segments differ from the text")
	}
	// Cuts never fall inside a UTF-8 sequence the text decodes to.
	var runes []rune
	for _, p := range parts {
		runes = append(runes, []rune(p)...)
	}
	if !slices.Equal(runes, []rune(text)) {
		t.Fatalf("a cut split an encoded character")
	}
	units := func(s string) int {
		if c.Encoding == GSM7 {
			return CountSMS(s).Units
		}
		return len(utf16.Encode([]rune(s)))
	}
	if units(text) != c.Units {
		t.Fatalf("Units %d, recount %d", c.Units, units(text))
	}
	if len(parts) == 1 {
		limit := SMSSingleGSM7
		if c.Encoding == UCS2 {
			limit = SMSSingleUCS2
		}
		if c.Units > limit {
			t.Fatalf("single segment of %d units", c.Units)
		}
		return
	}
	limit := SMSConcatGSM7
	if c.Encoding == UCS2 {
		limit = SMSConcatUCS2
	}
	for i, p := range parts {
		if u := units(p); u > limit || u == 0 {
			t.Fatalf("segment %d has %d units (limit %d)", i, u, limit)
		}
	}
	if c.Encoding == UCS2 {
		// Cuts fall on grapheme boundaries, between CR and LF, or inside a
		// cluster longer than a segment.
		ok := map[int]bool{}
		off, state := 0, -1
		for rest := text; len(rest) > 0; {
			var cl string
			cl, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
			ok[off] = true
			if cl == "\r\n" {
				ok[off+1] = true
			}
			if len(utf16.Encode([]rune(cl))) > SMSConcatUCS2 {
				for i := range cl {
					ok[off+i] = true
				}
			}
			off += len(cl)
		}
		cut := 0
		for _, p := range parts[:len(parts)-1] {
			cut += len(p)
			if !ok[cut] {
				t.Fatalf("cut at byte %d splits a grapheme cluster", cut)
			}
		}
	}
}

func fuzzSMSSeeds(f *testing.F) {
	for _, s := range []string{"", "hello", digits(161), rep("a", 152) + "{" + rep("a", 152), "😜" + digits(134),
		rep("a", 66) + "e\u0301" + rep("a", 66), "🇮🇹🇮🇹🇮🇹" + rep("x", 70), "a" + rep("\u0301", 100),
		rep("a", 152) + "\r\n" + "b", "ab\xffc" + rep("é", 80), rep("👨‍👩‍👧‍👦", 20), rep("€", 90)} {
		f.Add(s)
	}
}

func FuzzCountSMS(f *testing.F) {
	fuzzSMSSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		c := CountSMS(s)
		if c.Segments < 1 || c.Units < 0 || c.Characters > utf8.RuneCountInString(s) || c.Remaining < 0 {
			t.Fatalf("bad count %+v", c)
		}
		if c.Encoding == GSM7 != IsGSM7(s) {
			t.Fatalf("encoding %v disagrees with IsGSM7", c.Encoding)
		}
		smsCheckSplit(t, s)
	})
}

func FuzzSplitSMS(f *testing.F) {
	fuzzSMSSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		smsCheckSplit(t, s)
		// Growing a text never reduces its segments.
		if CountSMS(s+"x").Segments < CountSMS(s).Segments {
			t.Fatalf("appending a character reduced the segments")
		}
	})
}

func BenchmarkCountSMSGSM300(b *testing.B) {
	text := rep("Hi Jane, your cleaning at Sunrise is on Tuesday at 10am. ", 6)[:300]
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		_ = CountSMS(text)
	}
}

func BenchmarkCountSMSUCS2Emoji300(b *testing.B) {
	text := rep("Hi Zoë 😀 your visit is Tuesday 👍🏽 see you soon! 🇺🇸 ", 6)
	text = string([]rune(text)[:300])
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		_ = CountSMS(text)
	}
}

// TestSMSSingleAgreesWithUniseg checks the counting fast path against the
// Unicode tables for every code point: whenever smsSingle says a cluster
// ends after r, uniseg must agree, for r followed by ASCII and for a
// letter followed by each code point.
func TestSMSSingleAgreesWithUniseg(t *testing.T) {
	for r := rune(0); r <= 0x10FFFF; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		s := string(r)
		for _, next := range []string{"a", " ", "\n"} {
			if smsSingle(r, next) && (r != '\r' || next != "\n") { // CR LF is split by design
				if cl, _, _, _ := uniseg.FirstGraphemeClusterInString(s+next, -1); cl != s {
					t.Fatalf("U+%04X before %q: fast path says a boundary, uniseg says %q", r, next, cl)
				}
			}
		}
		for _, prev := range []rune{'a', ' ', 'é', 0x301, 0xA9} {
			if smsSingle(prev, s) {
				if cl, _, _, _ := uniseg.FirstGraphemeClusterInString(string(prev)+s, -1); cl != string(prev) {
					t.Fatalf("U+%04X after U+%04X: fast path says a boundary, uniseg says %q", r, prev, cl)
				}
			}
		}
	}
}

// TestGSMTablesMatchGSM0338 checks the counter's tables against the GSM
// 03.38 default alphabet written out in code order (0x00–0x7F) and its
// extension table, for every code point up to U+2FFF.
func TestGSMTablesMatchGSM0338(t *testing.T) {
	const basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	const ext = "\f^{}\\[~]|€"
	require.Equal(t, 128, utf8.RuneCountInString(basic))
	for r := rune(0); r <= 0x2FFF; r++ {
		want := 0
		switch {
		case r == 0x1B: // the escape code itself is not a character
		case strings.ContainsRune(basic, r):
			want = 1
		case strings.ContainsRune(ext, r):
			want = 2
		}
		s := string(r)
		c := CountSMS(s)
		if want == 0 {
			if c.Encoding != UCS2 || IsGSM7(s) {
				t.Fatalf("U+%04X should force UCS-2", r)
			}
			continue
		}
		if c.Encoding != GSM7 || c.Units != want || !IsGSM7(s) {
			t.Fatalf("U+%04X: got %v %d units, want GSM-7 %d", r, c.Encoding, c.Units, want)
		}
	}
}

// TestSMSEmojiClusterAgreesWithUniseg checks the emoji fast path against
// the Unicode tables for every code point of the emoji blocks, alone and
// with modifiers, variation selectors and regional indicators after it.
func TestSMSEmojiClusterAgreesWithUniseg(t *testing.T) {
	tails := []string{"", "\U0001F3FB", "\uFE0F", "\U0001F3FD\uFE0F", "\U0001F1FA", "\U0001F1FA\U0001F3FF", "\u200D\U0001F308", "\U0001F1FA\U0001F1F8"}
	for r := rune(0x1EFF0); r <= 0x1FB10; r++ {
		for _, tail := range tails {
			for _, after := range []string{"", "a", "é"} {
				s := string(r) + tail + after
				n, units := smsEmojiCluster(s)
				if n == 0 {
					continue
				}
				cl, _, _, _ := uniseg.FirstGraphemeClusterInString(s, -1)
				if cl != s[:n] {
					t.Fatalf("%q: fast path took %q, uniseg %q", s, s[:n], cl)
				}
				if want := len(utf16.Encode([]rune(cl))); units != want {
					t.Fatalf("%q: %d units, want %d", s, units, want)
				}
			}
		}
	}
}
