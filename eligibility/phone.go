package eligibility

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// NormalizePhone validates a phone number and returns it in E.164 form
// ("+12125550123") with ok true, or "", false when it is empty, not a
// number, or not a valid number by the phonenumbers metadata. Numbers
// without a country code are read in region (ISO 3166-1 alpha-2; empty
// means DefaultRegion). Surrounding white space is ignored.
//
// A number already in E.164 form for country code 1 (the North American
// Numbering Plan: "+1" and ten digits) is decided without calling
// phonenumbers.Parse and without allocating, by a table derived from the
// same metadata; the answer is identical. Every other input goes through
// phonenumbers (parse, IsValidNumber, format), which allocates.
func NormalizePhone(raw, region string) (string, bool) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", false
	}
	if valid, decided := fastPhone(s); decided {
		if valid {
			return s, true
		}
		return "", false
	}
	if region == "" {
		region = DefaultRegion
	}
	num, err := phonenumbers.Parse(s, strings.ToUpper(region))
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", false
	}
	return phonenumbers.Format(num, phonenumbers.E164), true
}

// fastPhone decides numbers of the form "+1" followed by ten ASCII
// digits. decided is false for any other input (and when the NANP table
// could not be built).
func fastPhone(s string) (valid, decided bool) {
	if len(s) != 2+nanpDigits || s[0] != '+' || s[1] != '1' {
		return false, false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false, false
		}
	}
	// NANP structure: an area code (NPA) starts with 2-9 and is not an
	// N11 service code. (The exchange's first digit is left to the
	// table: phonenumbers' Dominican Republic metadata accepts toll-free
	// numbers 809-0XX and 809-1XX, so "NXX starts with 2-9" would
	// disagree with it.)
	if s[2] < '2' || (s[3] == '1' && s[4] == '1') {
		return false, true
	}
	t := nanpOnce()
	if t == nil {
		return false, false
	}
	return t.valid(s[2:]), true
}
