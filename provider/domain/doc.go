// Package domain checks an organisation's sending domains — DMARC, SPF and
// optionally DKIM — and implements [provider.DomainVerifier], which the
// engine's send validation asks before email goes out (the guide's
// "domain error").
//
// # Configuration
//
// [New] takes a [Config]: a [Resolver] (net.DefaultResolver by default;
// tests inject one pointed at a local server) and each organisation's
// [OrgDomains] — the marketing and transactional From domains, checked
// separately, the return-path domain used for SPF, and the DKIM signing
// domain and selectors.
//
// # DMARC
//
// The record is discovered at _dmarc.<From domain> (compliance.md DM-01):
// multi-string TXT records are joined, records not starting with a
// v=DMARC1 tag are discarded, more than one DMARC record means no DMARC,
// and a domain without a record falls back to its organisational domain
// (public suffix list), whose sp (or p) then applies. [ParseDMARC]
// accepts both RFC 7489 and RFC 9989 records (DM-02): a missing p reads as
// none with a warning; pct, rf and ri draw "removed tag" warnings; np, psd
// and t are understood. Broken records (DM-03) are reported with the
// reason: version not first or not exactly "DMARC1", a tag that does not
// parse, a duplicate tag, an invalid p/sp/fo value, a report URI without a
// scheme, an SPF record published at _dmarc.
//
// # SPF
//
// [CheckSPF] (DM-05) wants exactly one v=spf1 record, at most 10
// DNS-querying terms and 2 void lookups counted recursively through
// include and redirect, and no +all.
//
// # DKIM
//
// [CheckDKIM] (DM-06) follows CNAME-delegated selectors (SendGrid, SES),
// refuses revoked keys (empty p=), RSA keys under 1024 bits and
// SHA-1-only records, and warns under 2048 bits.
//
// # Alignment
//
// [Aligned] (DM-04) compares organisational domains from the public
// suffix list (golang.org/x/net/publicsuffix), never "the last two
// labels": clinic.co.uk and attacker.co.uk do not align. A DKIM signing
// domain that does not align with the From domain fails the dkim check;
// an unaligned SPF return path is reported, since DMARC can still pass
// through DKIM.
//
// # Errors
//
// A check that ran and failed is a DomainCheck with OK false and a reason.
// A temporary DNS failure (SERVFAIL, timeout) is an error wrapping
// [ErrTemporary]: "retry", never "missing".
package domain
