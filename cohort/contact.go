package cohort

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the phone region used when a Config leaves it empty.
const DefaultRegion = "US"

// NormalizePhone returns raw as an E.164 number ("+15551234567"), reading
// numbers without a country code in region (an ISO 3166-1 code such as
// "US"). It reports false if raw is not a valid phone number.
func NormalizePhone(raw, region string) (string, bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", false
	}
	if region == "" {
		region = DefaultRegion
	}
	num, err := phonenumbers.Parse(raw, region)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", false
	}
	return phonenumbers.Format(num, phonenumbers.E164), true
}

// looksE164 reports whether s is already in E.164 form: "+", a non-zero
// digit, then 7 to 14 more digits.
func looksE164(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// storedPhoneKey normalises a phone number stored on a patient record for
// matching: E.164 numbers are taken as they are (cheap), others are parsed
// in region. It returns "" for numbers that cannot be read.
func storedPhoneKey(raw, region string) string {
	if looksE164(raw) {
		return raw
	}
	n, ok := NormalizePhone(raw, region)
	if !ok {
		return ""
	}
	return n
}

// NormalizeEmail returns raw trimmed and lower-cased, and reports whether
// it is a plausible address: one "@", a non-empty local part, a domain
// with a dot and no empty labels, no spaces, quotes, angle brackets or
// control characters, at most 254 bytes.
func NormalizeEmail(raw string) (string, bool) {
	s := strings.ToLower(strings.TrimSpace(raw))
	if len(s) < 3 || len(s) > 254 {
		return "", false
	}
	at := strings.IndexByte(s, '@')
	if at <= 0 || at != strings.LastIndexByte(s, '@') {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == 0x7f || c == '"' || c == '<' || c == '>' || c == ',' || c == ';' || c == '(' || c == ')' || c == '[' || c == ']' || c == '\\' {
			return "", false
		}
	}
	domain := s[at+1:]
	if !strings.Contains(domain, ".") {
		return "", false
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" {
			return "", false
		}
	}
	return s, true
}

// NormalizeContact normalises a phone or an email for lookup, as
// PatientStore.FindByContact expects: values containing "@" are emails
// (NormalizeEmail), others phones (NormalizePhone in region).
func NormalizeContact(raw, region string) (string, bool) {
	if strings.Contains(raw, "@") {
		return NormalizeEmail(raw)
	}
	if looksE164(strings.TrimSpace(raw)) {
		return strings.TrimSpace(raw), true
	}
	return NormalizePhone(raw, region)
}
