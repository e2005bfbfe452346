package domain

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/provider"
	"golang.org/x/net/publicsuffix"
)

// OrgDomains are an organisation's sending domains and how mail from them
// is authenticated.
type OrgDomains struct {
	// Marketing and Transactional are the From domains of each purpose
	// ("news.clinic.example", "mail.clinic.example"). They may be equal.
	// A purpose with an empty domain cannot be verified.
	Marketing     string
	Transactional string
	// ReturnPathDomain is the envelope-from (bounce) domain whose SPF
	// record authorises the sending servers. Empty means the From domain.
	ReturnPathDomain string
	// DKIMDomain is the signing domain (d=). Empty means the From domain.
	DKIMDomain string
	// DKIMSelectors are checked when set (the "dkim" check is then
	// required); empty skips the DKIM check.
	DKIMSelectors []string
}

// Config configures a [Checker].
type Config struct {
	// Resolver looks up TXT records. Defaults to net.DefaultResolver.
	Resolver Resolver
	// Orgs maps organisation IDs to their domains. Either Orgs or
	// OrgLookup is required; OrgLookup wins when both are set.
	Orgs map[string]OrgDomains
	// OrgLookup returns an organisation's domains (from the host's
	// database).
	OrgLookup func(ctx context.Context, orgID string) (OrgDomains, error)
}

// Checker checks sending domains and implements provider.DomainVerifier.
// It is safe for concurrent use; it does not cache (the host may).
type Checker struct {
	cfg Config
}

var _ provider.DomainVerifier = (*Checker)(nil)

// ErrUnknownOrg is returned by VerifyDomain for an organisation without
// configured domains.
var ErrUnknownOrg = errors.New("domain: no sending domains configured for the organisation")

// New validates cfg and returns a Checker.
func New(cfg Config) (*Checker, error) {
	if cfg.Orgs == nil && cfg.OrgLookup == nil {
		return nil, errors.New("domain: Config.Orgs or Config.OrgLookup is required")
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	return &Checker{cfg: cfg}, nil
}

// VerifyDomain implements provider.DomainVerifier: it checks the
// organisation's sending domain for purpose (see Check).
func (c *Checker) VerifyDomain(ctx context.Context, orgID string, purpose carecast.Purpose) (provider.DomainStatus, error) {
	var od OrgDomains
	var ok bool
	if c.cfg.OrgLookup != nil {
		var err error
		if od, err = c.cfg.OrgLookup(ctx, orgID); err != nil {
			return provider.DomainStatus{}, fmt.Errorf("domain: look up organisation: %w", err)
		}
		ok = true
	} else {
		od, ok = c.cfg.Orgs[orgID]
	}
	from := od.Transactional
	if purpose == carecast.Marketing {
		from = od.Marketing
	}
	if !ok || from == "" {
		return provider.DomainStatus{}, fmt.Errorf("domain: %s purpose: %w", purpose, ErrUnknownOrg)
	}
	return c.Check(ctx, from, od)
}

// Check checks one From domain and returns a check per DNS record:
//
//   - "dmarc": a single valid DMARC record at _dmarc.<domain>, or at the
//     organisational domain (public suffix list) when the domain has none;
//     warnings (missing p, RFC 9989 removed tags) are in the reason, and
//     p=none passes (it is what mailbox providers require) with a note.
//   - "spf": exactly one SPF record at the return-path domain, within the
//     10-lookup limit and without +all; when the return-path domain does
//     not align with the From domain, the reason says so (DMARC then
//     relies on DKIM).
//   - "dkim" (only when selectors are configured): each selector has a
//     usable key, and the signing domain aligns with the From domain under
//     the record's adkim mode.
//
// The domain is Verified when every check passed. BulkReady and BulkReason
// add the mailbox providers' bulk-sender verdict (compliance.md EM-07):
// SPF passes, a DKIM key passes, DMARC is published (p=none is enough) and
// the From domain aligns with SPF or DKIM. A temporary DNS failure
// is an error wrapping ErrTemporary, never a failed check.
func (c *Checker) Check(ctx context.Context, from string, od OrgDomains) (provider.DomainStatus, error) {
	from = strings.ToLower(strings.TrimSuffix(from, "."))
	st := provider.DomainStatus{Domain: from}
	dm, dmCheck, err := c.checkDMARC(ctx, from)
	if err != nil {
		return st, err
	}
	st.Checks = append(st.Checks, dmCheck)
	aspf, adkim := "r", "r"
	if dm != nil {
		aspf, adkim = dm.ASPF, dm.ADKIM
	}

	rp := strings.ToLower(od.ReturnPathDomain)
	if rp == "" {
		rp = from
	}
	spf, err := CheckSPF(ctx, c.cfg.Resolver, rp)
	if err != nil {
		return st, err
	}
	spfCheck := provider.DomainCheck{Name: "spf", OK: spf.Error == ""}
	switch {
	case spf.Error != "":
		spfCheck.Reason = rp + ": " + spf.Error
	default:
		spfCheck.Reason = fmt.Sprintf("%s: SPF record found (%d DNS lookups)", rp, spf.Lookups)
		if !Aligned(from, rp, aspf == "s") {
			spfCheck.Reason += "; SPF unaligned with " + from + " (DMARC relies on DKIM); consider a custom return-path CNAME"
		}
	}
	st.Checks = append(st.Checks, spfCheck)

	var dkim dkimOutcome
	if len(od.DKIMSelectors) > 0 {
		var dkimCheck provider.DomainCheck
		dkimCheck, dkim, err = c.checkDKIM(ctx, from, od, adkim)
		if err != nil {
			return st, err
		}
		st.Checks = append(st.Checks, dkimCheck)
	}
	st.Verified = true
	for _, ch := range st.Checks {
		st.Verified = st.Verified && ch.OK
	}
	spfAligned := spf.Error == "" && Aligned(from, rp, aspf == "s")
	var miss string
	switch {
	case !dmCheck.OK:
		miss = "no valid DMARC record"
	case spf.Error != "":
		miss = "SPF does not pass"
	case len(od.DKIMSelectors) == 0:
		miss = "no DKIM selectors configured"
	case !dkim.keysOK:
		miss = "DKIM key not usable"
	case !spfAligned && !dkim.aligned:
		miss = "From not aligned with SPF or DKIM"
	}
	st.BulkReady = miss == ""
	st.BulkReason = "bulk-ready: yes"
	if miss != "" {
		st.BulkReason = "bulk-ready: no – " + miss
	}
	return st, nil
}

// dkimOutcome is what the bulk-sender verdict needs from the DKIM check.
type dkimOutcome struct {
	keysOK  bool // every selector has a usable key
	aligned bool // the signing domain aligns with the From domain
}

func (c *Checker) checkDKIM(ctx context.Context, from string, od OrgDomains, adkim string) (provider.DomainCheck, dkimOutcome, error) {
	d := strings.ToLower(od.DKIMDomain)
	if d == "" {
		d = from
	}
	ch := provider.DomainCheck{Name: "dkim", OK: true}
	out := dkimOutcome{keysOK: true, aligned: Aligned(from, d, adkim == "s")}
	var reasons []string
	if !out.aligned {
		ch.OK = false
		reasons = append(reasons, "signing domain "+d+" does not align with "+from)
	}
	for _, sel := range od.DKIMSelectors {
		res, err := CheckDKIM(ctx, c.cfg.Resolver, d, sel)
		if err != nil {
			return ch, out, err
		}
		switch {
		case res.Error != "":
			ch.OK, out.keysOK = false, false
			reasons = append(reasons, sel+": "+res.Error)
		case res.Warning != "":
			reasons = append(reasons, sel+": ok, "+res.Warning)
		default:
			reasons = append(reasons, sel+": ok")
		}
	}
	ch.Reason = strings.Join(reasons, "; ")
	return ch, out, nil
}

// checkDMARC discovers the DMARC record for from (compliance.md DM-01).
func (c *Checker) checkDMARC(ctx context.Context, from string) (*DMARCRecord, provider.DomainCheck, error) {
	ch := provider.DomainCheck{Name: "dmarc"}
	rec, problem, err := discover(ctx, c.cfg.Resolver, from)
	if err != nil {
		return nil, ch, err
	}
	at := from
	subdomain := false
	if rec == nil && problem == "" {
		if org, err := publicsuffix.EffectiveTLDPlusOne(from); err == nil && org != from {
			at, subdomain = org, true
			rec, problem, err = discover(ctx, c.cfg.Resolver, org)
			if err != nil {
				return nil, ch, err
			}
		}
	}
	switch {
	case problem != "":
		ch.Reason = "_dmarc." + at + ": " + problem
		return nil, ch, nil
	case rec == nil:
		ch.Reason = "no DMARC record at _dmarc." + from
		return nil, ch, nil
	}
	policy := rec.Policy
	if subdomain && rec.SubdomainPolicy != "" {
		policy = rec.SubdomainPolicy
	}
	ch.OK = true
	ch.Reason = "DMARC p=" + policy + " at _dmarc." + at
	if subdomain {
		ch.Reason += " (organisational domain)"
	}
	if policy == "none" {
		ch.Reason += "; monitoring only: consider quarantine or reject"
	}
	for _, w := range rec.Warnings {
		ch.Reason += "; warning: " + w
	}
	return rec, ch, nil
}

// discover looks up _dmarc.<d>. It returns the parsed record, or a problem
// describing why the records there are unusable, or neither when there is
// no DMARC record (fall back to the organisational domain).
func discover(ctx context.Context, r Resolver, d string) (rec *DMARCRecord, problem string, err error) {
	txt, _, err := lookup(ctx, r, "_dmarc."+d)
	if err != nil {
		return nil, "", err
	}
	var parsed []*DMARCRecord
	var errs []error
	spf := false
	for _, t := range txt {
		rec, err := ParseDMARC(t)
		if errors.Is(err, ErrNotDMARC) {
			spf = spf || strings.HasPrefix(strings.ToLower(t), "v=spf1")
			continue
		}
		parsed, errs = append(parsed, rec), append(errs, err)
	}
	switch {
	case len(parsed) > 1:
		return nil, "no valid DMARC (multiple records)", nil
	case len(parsed) == 0 && spf:
		return nil, "SPF record found where DMARC record should be", nil
	case len(parsed) == 0:
		return nil, "", nil
	}
	var de *DMARCError
	if errors.As(errs[0], &de) {
		return nil, "invalid DMARC record: " + de.Reason + tagSuffix(de.Tag), nil
	}
	return parsed[0], "", nil
}

func tagSuffix(tag string) string {
	if tag == "" {
		return ""
	}
	return " (tag " + tag + ")"
}

// Aligned reports whether an authenticated domain (DKIM d=, SPF
// return-path) aligns with the From domain (RFC 7489 §3.1): identical
// under strict mode; under relaxed mode, the same organisational domain
// as computed with the public suffix list, never "the last two labels"
// (clinic.co.uk and attacker.co.uk do not align).
func Aligned(from, auth string, strict bool) bool {
	from = strings.ToLower(strings.TrimSuffix(from, "."))
	auth = strings.ToLower(strings.TrimSuffix(auth, "."))
	if from == "" || auth == "" {
		return false
	}
	if from == auth {
		return true
	}
	if strict {
		return false
	}
	a, err1 := publicsuffix.EffectiveTLDPlusOne(from)
	b, err2 := publicsuffix.EffectiveTLDPlusOne(auth)
	return err1 == nil && err2 == nil && a == b
}
