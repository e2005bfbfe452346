package render

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestSmartEncode(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"curly double quotes become straight", "“Hello”", `"Hello"`},
		{"curly apostrophe becomes straight", "It’s", "It's"},
		{"guillemets become double quotes", "«oui»", `"oui"`},
		{"en and em dashes become hyphens", "9–5 — daily", "9-5 - daily"},
		{"ellipsis becomes three dots", "Wait…", "Wait..."},
		{"no-break and thin spaces become spaces", "10\u00a0am\u2009ok", "10 am ok"},
		{"tab becomes a space", "a\tb", "a b"},
		{"zero-width characters are removed", "a\u200bb\ufeffc", "abc"},
		{"grave accent becomes apostrophe", "`quoted`", "'quoted'"},
		{"fullwidth letters and digits become ASCII", "ＡＢＣ１２３！", "ABC123!"},
		{"fractions are spelled with a slash", "½ price", "1/2 price"},
		{"bullet becomes hyphen", "• item", "- item"},
		{"ESC and other controls are removed", "a\x1bb\x00c", "abc"},
		{"GSM-7 letters are kept", "Café Ñandú", "Café Ñandú"},
		{"letters outside GSM-7 are kept", "Zoë", "Zoë"},
		{"emoji are kept", "Hi 😀", "Hi 😀"},
		{"extension characters are kept", "{€}", "{€}"},
		{"invalid UTF-8 is left alone", "a\xffb", "a\xffb"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, SmartEncode(tc.in))
		})
	}
}

func TestSmartEncodeReport(t *testing.T) {
	t.Run("curly quotes in a long text save segments", func(t *testing.T) {
		in := "“" + rep("a", 100) + "” it’s ok"
		out, r := SmartEncodeReport(in)
		assert.Equal(t, `"`+rep("a", 100)+`" it's ok`, out)
		assert.Equal(t, UCS2, r.Before.Encoding)
		assert.Equal(t, GSM7, r.After.Encoding)
		assert.Equal(t, 2, r.Before.Segments)
		assert.Equal(t, 1, r.After.Segments)
		assert.Equal(t, 1, r.SegmentsSaved)
		assert.Equal(t, 3, r.Replaced)
		assert.Equal(t, []SmartChange{{'“', `"`, 1}, {'”', `"`, 1}, {'’', "'", 1}}, r.Changes)
	})
	t.Run("repeated character is reported once with its count", func(t *testing.T) {
		_, r := SmartEncodeReport("a–b–c")
		assert.Equal(t, []SmartChange{{'–', "-", 2}}, r.Changes)
	})
	t.Run("text that stays UCS-2 can cost a segment", func(t *testing.T) {
		in := "😀" + rep("a", 66) + "…"
		_, r := SmartEncodeReport(in)
		assert.Equal(t, UCS2, r.After.Encoding)
		assert.Equal(t, -1, r.SegmentsSaved)
	})
	t.Run("nothing to change", func(t *testing.T) {
		out, r := SmartEncodeReport("plain")
		assert.Equal(t, "plain", out)
		assert.Zero(t, r.Replaced)
		assert.Empty(t, r.Changes)
	})
}

func TestSmartEncodeAllocatesNothingWhenUnchanged(t *testing.T) {
	s := rep("Hello there, see you at 5. ", 10)
	assert.Zero(t, testing.AllocsPerRun(50, func() { _ = SmartEncode(s) }))
}

func TestSmartTableTargetsAreGSM(t *testing.T) {
	for r, to := range smartTable {
		assert.True(t, IsGSM7(to), "U+%04X maps to non-GSM %q", r, to)
		assert.False(t, IsGSM7(string(r)), "U+%04X is already GSM-7", r)
	}
	for r := rune(0xff01); r <= 0xff5e; r++ {
		to, ok := smartReplacement(r)
		assert.True(t, ok)
		assert.True(t, IsGSM7(to), "U+%04X", r)
	}
}

func FuzzSmartEncode(f *testing.F) {
	for _, s := range []string{"“x”", "a\tb…", "ＡＢ`", "Zoë 😀", "\x00\x1b", "a\xff", "\xef\xbc\a\xa2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := SmartEncode(s)
		// Removing a control character between invalid bytes may join
		// them, so idempotence holds for valid UTF-8 only.
		if utf8.ValidString(s) && SmartEncode(out) != out {
			t.Fatalf("not idempotent: %q -> %q", s, out)
		}
		if IsGSM7(s) && out != s {
			t.Fatalf("changed GSM-7 text %q", s)
		}
	})
}
