package domain

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// DMARCRecord is a parsed DMARC policy record (RFC 7489, RFC 9989).
type DMARCRecord struct {
	// Policy is p: "none", "quarantine" or "reject". A record without p
	// reads as "none" (RFC 9989 §4.7) with a warning.
	Policy string
	// SubdomainPolicy (sp) and NonexistentPolicy (np, RFC 9989) are empty
	// when absent.
	SubdomainPolicy   string
	NonexistentPolicy string
	// ADKIM and ASPF are the alignment modes, "r" (relaxed, the default)
	// or "s" (strict).
	ADKIM, ASPF string
	// RUA and RUF are the aggregate and failure report URIs.
	RUA, RUF []string
	// FO are the failure reporting options (0, 1, d, s).
	FO []string
	// PSD (RFC 9989 "y", "n" or "u") and Testing (t=y) are RFC 9989 tags.
	PSD     string
	Testing bool
	// Warnings are problems that do not invalidate the record (a missing
	// p, tags RFC 9989 removed, an invalid adkim that falls back to r).
	Warnings []string
}

// ErrNotDMARC means a TXT record is not a DMARC record at all: it does not
// start with a "v=DMARC1" tag (the version is case-sensitive).
var ErrNotDMARC = errors.New("domain: not a DMARC record")

// DMARCError is a syntax or value error in a DMARC record. Receivers fall
// back to p=none or ignore such records; a configuration checker reports
// them (compliance.md DM-03).
type DMARCError struct {
	// Tag is the offending tag ("p", "rua"), or empty for a syntax error.
	Tag string
	// Reason says what is wrong ("invalid p", "duplicate tag").
	Reason string
}

// Error implements error.
func (e *DMARCError) Error() string {
	if e.Tag == "" {
		return "domain: DMARC " + e.Reason
	}
	return "domain: DMARC tag " + e.Tag + ": " + e.Reason
}

var policies = map[string]bool{"none": true, "quarantine": true, "reject": true}

// isWSP reports whether r is DMARC white space (SP or HTAB).
func isWSP(r rune) bool { return r == ' ' || r == '\t' }

// ParseDMARC parses one TXT record as DMARC. It returns ErrNotDMARC when
// the record does not begin with a v=DMARC1 tag (a leading space or quote
// pasted into a DNS console, "v=dmarc1", "v=DMARC10", v not first), and a
// *DMARCError for a record that is DMARC but broken: a tag that does not
// parse ("v=DMARC1 p=none"), a duplicate tag, an invalid p/sp/np/fo or
// psd/t value, or a report URI without a scheme. Tag names and keyword
// values are case-insensitive; unknown tags are ignored.
func ParseDMARC(record string) (*DMARCRecord, error) {
	if record == "" || (record[0] != 'v' && record[0] != 'V') {
		return nil, ErrNotDMARC
	}
	parts := strings.Split(record, ";")
	rec := &DMARCRecord{ADKIM: "r", ASPF: "r"}
	seen := map[string]bool{}
	for i, part := range parts {
		part = strings.TrimFunc(part, isWSP)
		if part == "" {
			if i == len(parts)-1 || i > 0 {
				continue // trailing or doubled ";"
			}
		}
		name, value, ok := strings.Cut(part, "=")
		name = strings.ToLower(strings.TrimFunc(name, isWSP))
		value = strings.TrimFunc(value, isWSP)
		if i == 0 {
			if ok && name == "v" && len(value) > 6 && value[:6] == "DMARC1" && isWSP(rune(value[6])) {
				return nil, &DMARCError{Reason: "syntax error: missing \";\" after v=DMARC1"}
			}
			if !ok || name != "v" || value != "DMARC1" {
				return nil, ErrNotDMARC
			}
			continue
		}
		if !ok || !validTagName(name) {
			return nil, &DMARCError{Reason: fmt.Sprintf("syntax error in tag %d", i+1)}
		}
		if seen[name] {
			return nil, &DMARCError{Tag: name, Reason: "duplicate tag"}
		}
		seen[name] = true
		lv := strings.ToLower(value)
		switch name {
		case "v":
			return nil, &DMARCError{Tag: "v", Reason: "duplicate tag"}
		case "p", "sp", "np":
			if !policies[lv] {
				return nil, &DMARCError{Tag: name, Reason: "invalid " + name + " (want none, quarantine or reject)"}
			}
			switch name {
			case "p":
				rec.Policy = lv
			case "sp":
				rec.SubdomainPolicy = lv
			default:
				rec.NonexistentPolicy = lv
			}
		case "adkim", "aspf":
			if lv != "r" && lv != "s" {
				rec.Warnings = append(rec.Warnings, "invalid "+name+" value: falls back to r")
				lv = "r"
			}
			if name == "adkim" {
				rec.ADKIM = lv
			} else {
				rec.ASPF = lv
			}
		case "rua", "ruf":
			uris, err := parseReportURIs(value)
			if err != nil {
				return nil, &DMARCError{Tag: name, Reason: "invalid report URI"}
			}
			if name == "rua" {
				rec.RUA = uris
			} else {
				rec.RUF = uris
			}
		case "fo":
			for _, o := range strings.Split(lv, ":") {
				o = strings.TrimFunc(o, isWSP)
				if o != "0" && o != "1" && o != "d" && o != "s" {
					return nil, &DMARCError{Tag: "fo", Reason: "invalid tag value"}
				}
				rec.FO = append(rec.FO, o)
			}
		case "psd":
			if lv != "y" && lv != "n" && lv != "u" {
				return nil, &DMARCError{Tag: "psd", Reason: "invalid tag value"}
			}
			rec.PSD = lv
		case "t":
			if lv != "y" && lv != "n" {
				return nil, &DMARCError{Tag: "t", Reason: "invalid tag value"}
			}
			rec.Testing = lv == "y"
		case "pct", "rf", "ri":
			rec.Warnings = append(rec.Warnings, "tag "+name+" was removed by RFC 9989 and is ignored by newer receivers")
		}
	}
	if rec.Policy == "" {
		rec.Policy = "none"
		rec.Warnings = append(rec.Warnings, "p missing: equivalent to none under RFC 9989, invalid under RFC 7489")
	}
	return rec, nil
}

func validTagName(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z') {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// parseReportURIs splits a comma-separated URI list; each must be an
// absolute URI (a comma or "!" inside one must be percent-encoded, and an
// optional "!size" suffix is allowed).
func parseReportURIs(v string) ([]string, error) {
	var out []string
	for _, raw := range strings.Split(v, ",") {
		raw = strings.TrimFunc(raw, isWSP)
		uri, _, _ := strings.Cut(raw, "!")
		u, err := url.Parse(uri)
		if err != nil || u.Scheme == "" || (u.Opaque == "" && u.Host == "") {
			return nil, errors.New("invalid URI")
		}
		out = append(out, uri)
	}
	return out, nil
}
