package render

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// mergeAppendPhone appends the display form of a stored phone number:
// "(555) 123-4567" for a North American (+1) number when the organization
// is in a North American region, international format ("+44 20 7946 0958",
// "+1 555-123-4567") otherwise. Numbers written without a country code are
// read in region (default "US"). A number that cannot be read is shown as
// stored. The common +1 case is formatted without phonenumbers.
func mergeAppendPhone(dst []byte, phone, region string) []byte {
	s := strings.TrimSpace(phone)
	if s == "" {
		return dst
	}
	homeNANP := mergeIsNANPRegion(region)
	var digits [16]byte
	n, plus, fast := 0, false, true
	for i := 0; i < len(s) && fast; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n == len(digits) {
				fast = false
				break
			}
			digits[n] = c
			n++
		case c == '+' && i == 0:
			plus = true
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			fast = false
		}
	}
	if fast {
		switch {
		case plus && n == 11 && digits[0] == '1':
			return mergeAppendNANP(dst, digits[1:11], homeNANP)
		case !plus && homeNANP && n == 10:
			return mergeAppendNANP(dst, digits[:10], true)
		case !plus && homeNANP && n == 11 && digits[0] == '1':
			return mergeAppendNANP(dst, digits[1:11], true)
		}
	}
	if region == "" {
		region = "US"
	}
	num, err := phonenumbers.Parse(s, strings.ToUpper(region))
	if err != nil || !phonenumbers.IsPossibleNumber(num) {
		return append(dst, s...)
	}
	if num.GetCountryCode() == 1 {
		if nsn := phonenumbers.GetNationalSignificantNumber(num); len(nsn) == 10 {
			return mergeAppendNANP(dst, []byte(nsn), homeNANP)
		}
	}
	return append(dst, phonenumbers.Format(num, phonenumbers.INTERNATIONAL)...)
}

// mergeAppendNANP appends a ten-digit North American number as
// "(555) 123-4567" (home) or "+1 555-123-4567".
func mergeAppendNANP(dst []byte, d []byte, home bool) []byte {
	if home {
		dst = append(dst, '(')
		dst = append(dst, d[0:3]...)
		dst = append(dst, ") "...)
	} else {
		dst = append(dst, "+1 "...)
		dst = append(dst, d[0:3]...)
		dst = append(dst, '-')
	}
	dst = append(dst, d[3:6]...)
	dst = append(dst, '-')
	return append(dst, d[6:10]...)
}

// mergeIsNANPRegion reports whether an ISO 3166-1 region (empty meaning
// "US") is in the North American Numbering Plan (country code +1).
func mergeIsNANPRegion(r string) bool {
	if r == "" {
		return true
	}
	if len(r) != 2 {
		return false
	}
	b := [2]byte{r[0] &^ 0x20, r[1] &^ 0x20} // ASCII upper case
	switch string(b[:]) {
	case "US", "CA", "AG", "AI", "AS", "BB", "BM", "BS", "DM", "DO", "GD", "GU",
		"JM", "KN", "KY", "LC", "MP", "MS", "PR", "SX", "TC", "TT", "VC", "VG", "VI":
		return true
	}
	return false
}
