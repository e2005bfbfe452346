package eligibility

import (
	"net/mail"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNormalizeEmail(t *testing.T) {
	long := strings.Repeat("a", 64)
	tests := []struct {
		raw, want string // want "" = rejected
	}{
		{"ann@example.com", "ann@example.com"},
		{"  ann@example.com\n", "ann@example.com"},
		{"Ann.Lee@Example.COM", "ann.lee@example.com"},
		{"ann+newsletter@mail.example.co.uk", "ann+newsletter@mail.example.co.uk"},
		{"o'brien@example.ie", "o'brien@example.ie"},
		{"a_b-c{d}~e@sub-domain.example.org", "a_b-c{d}~e@sub-domain.example.org"},
		{"ann@xn--bcher-kva.example", "ann@xn--bcher-kva.example"},
		{"ann@example.xn--p1ai", "ann@example.xn--p1ai"},
		{long + "@example.com", long + "@example.com"},
		{long + "a@example.com", ""},                   // local part > 64
		{"a@" + strings.Repeat("b", 64) + ".com", ""},  // label > 63
		{"a@" + strings.Repeat("b.", 125) + "com", ""}, // > 254 bytes
		{"", ""},
		{"ann", ""},
		{"ann@", ""},
		{"@example.com", ""},
		{"ann@example", ""},              // no dot in domain
		{"ann@example.c", ""},            // one-letter TLD
		{"ann@example.123", ""},          // numeric TLD
		{"ann@192.168.0.1", ""},          // IP address
		{"ann@[192.168.0.1]", ""},        // IP literal
		{"ann lee@example.com", ""},      // space
		{"ann@exam ple.com", ""},         // space in domain
		{"ann@@example.com", ""},         // two @
		{"ann@b@example.com", ""},        // two @
		{".ann@example.com", ""},         // leading dot
		{"ann.@example.com", ""},         // trailing dot
		{"an..n@example.com", ""},        // double dot
		{"ann@example..com", ""},         // empty label
		{"ann@.example.com", ""},         // empty first label
		{"ann@example.com.", ""},         // trailing dot
		{"ann@-example.com", ""},         // label starts with hyphen
		{"ann@example-.com", ""},         // label ends with hyphen
		{"ann@exa_mple.com", ""},         // underscore in domain
		{`"ann lee"@example.com`, ""},    // quoted local part
		{"Ann <ann@example.com>", ""},    // display name
		{"ann(comment)@example.com", ""}, // comment
		{"ann\x00@example.com", ""},      // control character
		{"anné@example.com", ""},         // non-ASCII local part
		{"ann@exämple.com", ""},          // non-ASCII domain
		{"ann@example,com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, ok := NormalizeEmail(tt.raw)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.want != "", ok)
		})
	}
}

func TestNormalizeEmailAllocs(t *testing.T) {
	n := testing.AllocsPerRun(100, func() {
		if _, ok := NormalizeEmail("ann.lee+x@mail.example.com"); !ok {
			t.Fatal("rejected")
		}
		if _, ok := NormalizeEmail("ann lee@example.com"); ok {
			t.Fatal("accepted")
		}
	})
	assert.Zero(t, n)
}

// FuzzNormalizeEmail checks that NormalizeEmail never panics, that what
// it accepts is idempotent, free of spaces, and a plain address that
// net/mail parses to itself.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"ann@example.com", "Ann@Example.COM", " a@b.cd ", "a..b@c.de", "a@b", "a@b.c1",
		"\"q\"@example.com", "a@[1.2.3.4]", "x@xn--80ak6aa92e.com", "a@b@c.de", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := NormalizeEmail(s)
		if !ok {
			if got != "" {
				t.Fatalf("NormalizeEmail(%q) rejected but returned %q", s, got)
			}
			return
		}
		if again, ok2 := NormalizeEmail(got); !ok2 || again != got {
			t.Fatalf("NormalizeEmail(%q) = %q; again = %q, %v", s, got, again, ok2)
		}
		if strings.ContainsAny(got, " \t\r\n") || strings.Count(got, "@") != 1 {
			t.Fatalf("NormalizeEmail(%q) = %q: space or not one @", s, got)
		}
		a, err := mail.ParseAddress(got)
		if err != nil || a.Address != got || a.Name != "" {
			t.Fatalf("NormalizeEmail(%q) = %q; net/mail: %v, %v", s, got, a, err)
		}
		if got != strings.ToLower(got) {
			t.Fatalf("NormalizeEmail(%q) = %q: not lower case", s, got)
		}
	})
}
