package eligibility

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// maxE164Digits is the most digits an E.164 number has (ITU-T E.164 §6).
const maxE164Digits = 15

// NormalizePhone validates a phone number and returns it in E.164 form
// ("+12125550123") with ok true, or "", false when it is empty, not a
// number, not a valid number by the phonenumbers metadata, or longer
// than the 15 digits E.164 allows. Numbers without a country code are
// read in region (ISO 3166-1 alpha-2; empty means DefaultRegion).
// Surrounding white space is ignored.
//
// A number already in E.164 form for country code 1 (the North American
// Numbering Plan: "+1" and ten digits) is decided without calling
// phonenumbers.Parse and without allocating, by a table derived from the
// same metadata; the answer is identical. With region US or CA, the
// usual national formats ("(212) 555-0123", "1-212-555-0123") use the
// same table and allocate only the result. Every other input goes
// through phonenumbers (parse, IsValidNumber, format), which allocates.
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
	region = strings.ToUpper(region)
	if e164, valid, decided := fastNational(s, region); decided {
		return e164, valid
	}
	num, err := phonenumbers.Parse(s, region)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", false
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	// E.164 caps a number at 15 digits; phonenumbers' metadata for some
	// regions with variable-length numbering (Germany) accepts longer
	// ones, which no carrier routes.
	if len(e164) > 1+maxE164Digits {
		return "", false
	}
	// Normalising must be idempotent: phonenumbers accepts some short
	// national forms ("3100000" in the US) whose E.164 form it would then
	// reject. A result the E.164 check refuses is not a sendable number.
	if valid, decided := fastPhone(e164); decided && !valid {
		return "", false
	}
	return e164, true
}

// fastNational decides, for the regions US and CA, numbers written as
// digits with the usual separators (space, '-', '.', '(' and ')'): ten
// digits starting 2-9 ("(212) 555-0123"), or "1" or "+1" followed by ten
// such digits ("1-212-555-0123", "+1 212 555 0123"). It does not parse
// with phonenumbers but allocates the returned E.164 string. Anything
// else (letters, extensions, other regions, a leading national digit 0
// or 1, where phonenumbers applies subtler rules) is left undecided. The
// fuzz test checks agreement with phonenumbers for both regions.
func fastNational(s, region string) (e164 string, valid, decided bool) {
	if region != "US" && region != "CA" {
		return "", false, false
	}
	var d [11]byte
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '-', '.', '(', ')':
		case '+':
			if i != 0 || len(s) < 2 || s[1] != '1' {
				return "", false, false
			}
		default:
			if c < '0' || c > '9' || n == len(d) {
				return "", false, false
			}
			d[n] = c
			n++
		}
	}
	var national []byte
	switch {
	case n == 11 && d[0] == '1':
		national = d[1:]
	case n == 10 && s[0] != '+':
		national = d[:10]
	default:
		return "", false, false
	}
	t := nanpOnce()
	if national[0] < '2' || t == nil {
		return "", false, false
	}
	if !nanpLookup(t, national) {
		return "", false, true
	}
	return "+1" + string(national), true, true
}

// fastPhone decides numbers of the form "+1" followed by at most ten
// ASCII digits (fewer than ten is invalid). decided is false for any
// other input (and when the NANP table could not be built).
func fastPhone(s string) (valid, decided bool) {
	if len(s) < 2 || len(s) > 2+nanpDigits || s[0] != '+' || s[1] != '1' {
		return false, false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false, false
		}
	}
	if len(s) < 2+nanpDigits {
		return false, true // too short: every NANP number has ten digits
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
