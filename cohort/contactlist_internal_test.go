package cohort

import (
	"strings"
	"testing"
)

// TestParserScansLinearly is the regression test for a parser that
// rescanned the unfinished record on every write: 200 kB typed one byte
// at a time after an open quote took 5.3 s. The parser's count of bytes
// examined must stay within a constant factor of the bytes written, after
// every write, for every way of cutting the input.
func TestParserScansLinearly(t *testing.T) {
	const n = 200_000
	quoted := "\"" + strings.Repeat("a", n) // a quote that never closes
	lines := strings.Repeat("\"Lee, Ann\",212-555-0101,ann@example.com\r\n", n/40)
	long := strings.Repeat("x", n) + "\n" // one long unquoted line
	for _, tt := range []struct {
		name  string
		text  string
		chunk int
	}{
		{"open quote, byte at a time", quoted, 1},
		{"open quote, 7 bytes at a time", quoted, 7},
		{"long line, byte at a time", long, 1},
		{"CSV rows, byte at a time", lines, 1},
		{"CSV rows, 3 bytes at a time", lines, 3},
		{"CSV rows, one write", lines, len(lines)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewParser(&ParseConfig{MaxLineLength: 2 * n, MaxContacts: n})
			if err != nil {
				t.Fatal(err)
			}
			text, written := tt.text, 0
			for len(text) > 0 {
				k := min(tt.chunk, len(text))
				if _, err := p.WriteString(text[:k]); err != nil {
					t.Fatal(err)
				}
				written += k
				text = text[k:]
				// Each byte is examined once by the record-end scan and
				// once more when its record completes.
				if p.scanned > 2*written {
					t.Fatalf("after %d bytes written the parser examined %d", written, p.scanned)
				}
			}
			if _, err := p.Close(); err != nil {
				t.Fatal(err)
			}
			if p.scanned > 2*len(tt.text) {
				t.Fatalf("%d bytes examined for %d written", p.scanned, len(tt.text))
			}
		})
	}
}
