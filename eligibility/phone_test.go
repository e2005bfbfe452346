package eligibility

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// viaPhonenumbers is the reference: what NormalizePhone's slow path does.
func viaPhonenumbers(raw, region string) (string, bool) {
	num, err := phonenumbers.Parse(strings.TrimSpace(raw), region)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", false
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	if len(e164) > 16 { // E.164: at most 15 digits
		return "", false
	}
	return e164, true
}

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		raw, region string
		want        string // "" = invalid
	}{
		{"+12125550123", "US", "+12125550123"},
		{"+49201000AAA00000", "US", ""}, // phonenumbers accepts 16 digits; E.164 allows 15
		{"+12125550123", "", "+12125550123"},
		{"  +12125550123  ", "US", "+12125550123"},
		{"(212) 555-0123", "US", "+12125550123"},
		{"212.555.0123", "us", "+12125550123"},
		{"1-212-555-0123", "US", "+12125550123"},
		{"1 (212) 555-0123", "US", "+12125550123"},
		{"(613) 555-0123", "CA", "+16135550123"},
		{"(613) 555-0123", "ca", "+16135550123"},
		{"(123) 555-0123", "US", ""},
		{"(212) 555-012", "US", ""},
		{"+1 212 555 0123", "US", "+12125550123"},
		{"+16135550123", "US", "+16135550123"},   // Canada (Ottawa)
		{"+12685550123", "US", ""},               // Antigua: 555 is not an Antigua exchange
		{"+12684641234", "US", "+12684641234"},   // Antigua fixed line
		{"+18005550199", "US", "+18005550199"},   // toll free
		{"+11235550123", "US", ""},               // area code starting with 1
		{"+10235550123", "US", ""},               // area code starting with 0
		{"+12121550123", "US", ""},               // exchange starting with 1
		{"+12110000000", "US", ""},               // N11 area code
		{"+1212555012", "US", ""},                // nine digits
		{"+121255501234", "US", ""},              // eleven digits
		{"+447911123456", "US", "+447911123456"}, // UK mobile
		{"07911 123456", "GB", "+447911123456"},
		{"07911 123456", "US", ""},
		{"", "US", ""},
		{"   ", "US", ""},
		{"call me", "US", ""},
		{"+", "US", ""},
		{"+1", "US", ""},
		{"555-0123", "US", ""},
		{"2125550123", "XX", ""}, // unknown region
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q/%s", tt.raw, tt.region), func(t *testing.T) {
			got, ok := NormalizePhone(tt.raw, tt.region)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.want != "", ok)
			region := strings.ToUpper(tt.region)
			if region == "" {
				region = "US"
			}
			ref, refOK := viaPhonenumbers(tt.raw, region)
			assert.Equal(t, refOK, ok, "agrees with phonenumbers")
			assert.Equal(t, ref, got, "agrees with phonenumbers")
		})
	}
}

// TestNANPTable compares the fast path with phonenumbers on a sample of
// +1 numbers: one random number per area code 000-999, plus random ones.
// (The table was also checked on 200,000 random numbers while it was
// written; phonenumbers takes ~30 µs a number, so the suite samples.)
func TestNANPTable(t *testing.T) {
	require.NotNil(t, nanpOnce(), "the NANP table must build from the bundled metadata")
	r := rand.New(rand.NewPCG(7, 11))
	var nums []string
	for npa := range 1000 {
		nums = append(nums, fmt.Sprintf("+1%03d%07d", npa, r.IntN(10_000_000)))
	}
	for range 2000 {
		nums = append(nums, fmt.Sprintf("+1%010d", r.Int64N(8_000_000_000)+2_000_000_000))
	}
	valid := 0
	for _, n := range nums {
		got, decided := fastPhone(n)
		require.True(t, decided, n)
		_, want := viaPhonenumbers(n, "US")
		require.Equal(t, want, got, n)
		if got {
			valid++
		}
	}
	assert.Greater(t, valid, len(nums)/4, "sample exercises valid numbers")
	assert.Less(t, valid, len(nums)*3/4, "sample exercises invalid numbers")
}

func TestFastPhoneShort(t *testing.T) {
	for n := 0; n < 10; n++ {
		s := "+1" + "2125550123"[:n]
		valid, decided := fastPhone(s)
		assert.True(t, decided, s)
		assert.False(t, valid, s)
		_, ok := viaPhonenumbers(s, "US")
		assert.False(t, ok, "phonenumbers agrees on %q", s)
	}
}

func TestFastPhoneUndecided(t *testing.T) {
	for _, s := range []string{"+447911123456", "+121255501234", "+1212555012x", "(212) 555-0123", "+1 212 555 0123", "+12125550１23"} {
		_, decided := fastPhone(s)
		assert.False(t, decided, s)
	}
}

func TestNormalizePhoneAllocs(t *testing.T) {
	nanpOnce()
	n := testing.AllocsPerRun(100, func() {
		if _, ok := NormalizePhone("+12125550123", "US"); !ok {
			t.Fatal("invalid")
		}
		if _, ok := NormalizePhone("+11235550123", "US"); ok {
			t.Fatal("valid")
		}
	})
	assert.Zero(t, n)
}

// FuzzNormalizePhone checks that NormalizePhone never panics, returns
// E.164 that normalises to itself, and agrees exactly with phonenumbers
// (parse, IsValidNumber, format) on every input, fast path included.
func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{
		"+12125550123", "+11235550123", "+12115550123", "+12684641234", "+18005550199",
		"+16135550123", "+19395550123", "+17875550123", "+14415550123", "+12125551212",
		"(212) 555-0123", "+447911123456", "", "+", "+1", "+1212", "+1999999999999",
		"1-800-FLOWERS", "+1 (212) 555-0123 ext. 9", "tel:+1-212-555-0123", "+0000000000",
		"1 (212) 555-0123", "212.555.0123", "(268) 464-1234", "1-613-555-0123", "+1 809 009 2085",
		"((212)) 555--0123", "1212555012", "12125550123", "1-1-212-555-0123", "+1-1-212-555-0123",
		"(123) 555-0123", "011 44 7911 123456", "2125550123)", "-2125550123", "+1(212)5550123",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, ca bool) {
		region := "US"
		if ca {
			region = "CA"
		}
		got, ok := NormalizePhone(s, region)
		want, wantOK := viaPhonenumbers(s, region)
		if ok != wantOK || got != want {
			t.Fatalf("NormalizePhone(%q, %s) = %q, %v; phonenumbers: %q, %v", s, region, got, ok, want, wantOK)
		}
		if !ok {
			return
		}
		if got[0] != '+' || strings.Trim(got[1:], "0123456789") != "" || len(got) > 16 {
			t.Fatalf("NormalizePhone(%q) = %q: not E.164", s, got)
		}
		if again, ok := NormalizePhone(got, "GB"); !ok || again != got {
			t.Fatalf("NormalizePhone(%q) = %q, %v: not idempotent", got, again, ok)
		}
	})
}

// TestNANPStructure checks the structural pre-check against the table:
// every area code it rejects (0XX, 1XX, N11) is invalid in the table for
// every completion, so the pre-check never changes an answer.
func TestNANPStructure(t *testing.T) {
	tb := nanpOnce()
	require.NotNil(t, tb)
	for npa := range 1000 {
		s := fmt.Sprintf("+1%03d5550123", npa)
		if s[2] >= '2' && !(s[3] == '1' && s[4] == '1') {
			continue
		}
		// Walk the table along the area code: it must reach an invalid leaf.
		n := int32(0)
		for i := 2; i < 5 && n >= 0; i++ {
			n = tb.nodes[n][s[i]-'0']
		}
		assert.Equal(t, int32(nanpInvalid), n, "area code %03d", npa)
	}
}

// TestNationalFormats compares the national-format fast path with
// phonenumbers on random numbers written the ways hosts store them.
func TestNationalFormats(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	formats := []string{"(%s) %s-%s", "%s-%s-%s", "%s.%s.%s", "%s%s%s", "1 (%s) %s-%s", "1-%s-%s-%s", "+1 %s %s %s", "+1 (%s) %s-%s", "1%s%s%s"}
	decided := 0
	for i := range 1500 {
		n := fmt.Sprintf("%010d", r.Int64N(10_000_000_000))
		raw := fmt.Sprintf(formats[i%len(formats)], n[:3], n[3:6], n[6:])
		region := []string{"US", "CA"}[i%2]
		if _, _, ok := fastNational(raw, region); ok {
			decided++
		}
		got, ok := NormalizePhone(raw, region)
		want, wantOK := viaPhonenumbers(raw, region)
		require.Equal(t, wantOK, ok, "%q %s", raw, region)
		require.Equal(t, want, got, "%q %s", raw, region)
	}
	assert.Greater(t, decided, 1000, "most inputs take the fast path")
	_, _, ok := fastNational("(212) 555-0123", "GB")
	assert.False(t, ok, "other regions go through phonenumbers")
}

// TestNationalAdversarial builds random strings from the characters the
// national fast path accepts (digits, separators, a leading '+') and
// checks NormalizePhone against phonenumbers on each.
func TestNationalAdversarial(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	seps := []string{" ", "-", ".", "(", ")", "", "", ""}
	for i := range 2500 {
		var b strings.Builder
		if r.IntN(4) == 0 {
			b.WriteString("+")
		}
		digits := 9 + r.IntN(4)
		for d := range digits {
			if r.IntN(3) == 0 {
				b.WriteString(seps[r.IntN(len(seps))])
			}
			if d == 0 && r.IntN(2) == 0 {
				b.WriteByte('1')
			} else {
				b.WriteByte(byte('0' + r.IntN(10)))
			}
		}
		if r.IntN(5) == 0 {
			b.WriteString(seps[r.IntN(len(seps))])
		}
		raw := b.String()
		region := []string{"US", "CA"}[i%2]
		got, ok := NormalizePhone(raw, region)
		want, wantOK := viaPhonenumbers(raw, region)
		require.Equal(t, wantOK, ok, "%q %s", raw, region)
		require.Equal(t, want, got, "%q %s", raw, region)
	}
}
