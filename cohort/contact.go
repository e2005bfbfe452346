package cohort

import (
	"strings"

	"github.com/carecast/carecast/eligibility"
)

// DefaultRegion is the phone region used when a Config leaves it empty.
const DefaultRegion = "US"

// NormalizePhone returns raw as an E.164 number ("+15551234567"), reading
// numbers without a country code in region (an ISO 3166-1 code such as
// "US"; empty means DefaultRegion). It reports false if raw is not a
// valid phone number. It is eligibility.NormalizePhone, which is
// idempotent, so a contact the cohort stores is one eligibility will
// consider textable at send time.
func NormalizePhone(raw, region string) (string, bool) {
	return eligibility.NormalizePhone(raw, region)
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
// matching: E.164 numbers are taken as they are (cheap for a large index;
// an invalid one can never equal a normalised contact), others are
// normalised in region. It returns "" for numbers that cannot be read.
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

// NormalizeEmail returns raw trimmed and lower-cased and reports whether
// it is a valid address. It is eligibility.NormalizeEmail, so the cohort
// and the send decision agree on what an email address is.
func NormalizeEmail(raw string) (string, bool) {
	return eligibility.NormalizeEmail(raw)
}

// NormalizeContact normalises a phone or an email for lookup, as
// PatientStore.FindByContact expects: values containing "@" are emails
// (NormalizeEmail), others phones (NormalizePhone in region).
func NormalizeContact(raw, region string) (string, bool) {
	if strings.Contains(raw, "@") {
		return NormalizeEmail(raw)
	}
	return NormalizePhone(raw, region)
}
