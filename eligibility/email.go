package eligibility

import (
	"strings"
)

// Email address limits (RFC 5321 §4.5.3.1).
const (
	maxEmailLen  = 254
	maxLocalLen  = 64
	maxLabelLen  = 63
	minEmailTLD  = 2
	atextSymbols = "!#$%&'*+/=?^_`{|}~-"
)

// NormalizeEmail validates an email address syntactically and returns it
// with surrounding white space removed and in lower case, with ok true; or
// "", false. Lower-casing the local part is technically lossy (RFC 5321
// lets a server distinguish "Ann" from "ann") but no mainstream mailbox
// provider does, and one canonical form is what suppression lists,
// unsubscribes and the family collapse must compare. It accepts the
// common "dot-atom" form only:
//
//   - at most 254 bytes, exactly one '@';
//   - a local part of 1 to 64 bytes of ASCII letters, digits, '.' and
//     !#$%&'*+/=?^_`{|}~- with no leading, trailing or doubled '.';
//   - a domain of at least two dot-separated labels, each 1 to 63 ASCII
//     letters, digits or '-' not starting or ending with '-', the last
//     (top-level) label at least two bytes and not all digits.
//
// It rejects everything else: spaces or control characters inside, quoted
// local parts, comments, display names ("Ann <ann@example.com>"), IP
// literals, dotless domains and non-ASCII (internationalised) addresses;
// write those in punycode ("xn--…"). It never looks up the domain.
// Validation does not allocate; lower-casing an address that has
// upper-case letters does.
func NormalizeEmail(raw string) (string, bool) {
	s := strings.TrimSpace(raw)
	ok, upper := validEmail(s)
	if !ok {
		return "", false
	}
	if upper {
		return strings.ToLower(s), true
	}
	return s, true
}

// validEmail reports whether s is acceptable to NormalizeEmail, and
// whether it has upper-case letters.
func validEmail(s string) (ok, upper bool) {
	if len(s) < 6 || len(s) > maxEmailLen { // a@b.cd
		return false, false
	}
	at := strings.IndexByte(s, '@')
	if at < 1 || at > maxLocalLen {
		return false, false
	}
	local, dom := s[:at], s[at+1:]
	prevDot := true // a leading '.' is rejected
	for i := 0; i < len(local); i++ {
		c := local[i]
		switch {
		case c == '.':
			if prevDot {
				return false, false
			}
			prevDot = true
			continue
		case atext[c]:
			upper = upper || ('A' <= c && c <= 'Z')
		default:
			return false, false
		}
		prevDot = false
	}
	if prevDot {
		return false, false
	}
	labels, start := 0, 0
	for i := 0; i <= len(dom); i++ {
		if i < len(dom) && dom[i] != '.' {
			c := dom[i]
			if !isAlnum(c) && c != '-' {
				return false, false // includes a second '@'
			}
			upper = upper || ('A' <= c && c <= 'Z')
			continue
		}
		label := dom[start:i]
		if len(label) == 0 || len(label) > maxLabelLen || label[0] == '-' || label[len(label)-1] == '-' {
			return false, false
		}
		labels++
		start = i + 1
	}
	if labels < 2 {
		return false, false
	}
	tld := dom[strings.LastIndexByte(dom, '.')+1:]
	if len(tld) < minEmailTLD {
		return false, false
	}
	for i := 0; i < len(tld); i++ {
		if tld[i] < '0' || tld[i] > '9' {
			return true, upper
		}
	}
	return false, false // all-digit TLD: an IP address, not a domain
}

// atext marks the bytes allowed in a local part besides '.' (RFC 5322
// atext, ASCII only). It is a read-only lookup table.
var atext = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = isAlnum(byte(c)) || (c < 0x80 && strings.IndexByte(atextSymbols, byte(c)) >= 0)
	}
	return t
}()

func isAlnum(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}
