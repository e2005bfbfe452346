package domain

import (
	"context"
	"fmt"
	"strings"
)

// SPF limits of RFC 7208 §4.6.4.
const (
	maxSPFLookups = 10
	maxVoid       = 2
)

// SPFResult is the outcome of checking a domain's SPF record.
type SPFResult struct {
	// Record is the domain's v=spf1 record, when exactly one exists.
	Record string
	// Lookups is the number of DNS-querying terms (include, a, mx, ptr,
	// exists, redirect), counted recursively through include and
	// redirect.
	Lookups int
	// Error is empty when the record is usable; otherwise the problem
	// ("permerror: multiple SPF records", "permerror: too many DNS lookups
	// (11 > 10)", "error: permits any sender").
	Error string
}

// CheckSPF looks up and evaluates the SPF record of domain (RFC 7208): one
// v=spf1 record, at most 10 DNS-querying terms and 2 void lookups counted
// recursively, and no "+all". A temporary DNS failure is returned as an
// error wrapping ErrTemporary.
func CheckSPF(ctx context.Context, r Resolver, domain string) (SPFResult, error) {
	var res SPFResult
	rec, n, err := spfRecord(ctx, r, domain)
	if err != nil {
		return res, err
	}
	switch n {
	case 0:
		res.Error = "no SPF record"
		return res, nil
	case 1:
	default:
		res.Error = "permerror: multiple SPF records"
		return res, nil
	}
	res.Record = rec
	for _, term := range strings.Fields(rec)[1:] {
		if t := strings.ToLower(term); t == "+all" || t == "all" {
			res.Error = "error: permits any sender (" + term + ")"
			return res, nil
		}
	}
	c := &spfCounter{ctx: ctx, r: r, seen: map[string]bool{strings.ToLower(domain): true}}
	if err := c.count(rec, 0); err != nil {
		return res, err
	}
	res.Lookups = c.lookups
	switch {
	case c.lookups > maxSPFLookups:
		res.Error = fmt.Sprintf("permerror: too many DNS lookups (%d > %d)", c.lookups, maxSPFLookups)
	case c.void > maxVoid:
		res.Error = fmt.Sprintf("permerror: too many void lookups (%d > %d)", c.void, maxVoid)
	case c.loop:
		res.Error = "permerror: include loop"
	}
	return res, nil
}

// spfRecord returns the v=spf1 record of domain and how many there are.
func spfRecord(ctx context.Context, r Resolver, domain string) (string, int, error) {
	txt, _, err := lookup(ctx, r, domain)
	if err != nil {
		return "", 0, err
	}
	var rec string
	n := 0
	for _, t := range txt {
		if l := strings.ToLower(t); l == "v=spf1" || strings.HasPrefix(l, "v=spf1 ") {
			rec = t
			n++
		}
	}
	return rec, n, nil
}

type spfCounter struct {
	ctx           context.Context
	r             Resolver
	seen          map[string]bool
	lookups, void int
	loop          bool
}

// count adds the DNS-querying terms of rec, following include and
// redirect targets. It stops descending once the limit is exceeded.
func (c *spfCounter) count(rec string, depth int) error {
	for _, term := range strings.Fields(rec)[1:] {
		t := strings.ToLower(strings.TrimLeft(term, "+-~?"))
		var target string
		switch {
		case strings.HasPrefix(t, "include:"):
			target = t[len("include:"):]
		case strings.HasPrefix(t, "redirect="):
			target = t[len("redirect="):]
		case t == "a", t == "mx", t == "ptr", strings.HasPrefix(t, "a:"), strings.HasPrefix(t, "a/"),
			strings.HasPrefix(t, "mx:"), strings.HasPrefix(t, "mx/"), strings.HasPrefix(t, "ptr:"),
			strings.HasPrefix(t, "exists:"):
			c.lookups++
			continue
		default:
			continue
		}
		c.lookups++
		if c.lookups > maxSPFLookups || depth >= maxSPFLookups || strings.Contains(target, "%") {
			continue
		}
		if c.seen[target] {
			c.loop = true
			continue
		}
		c.seen[target] = true
		sub, n, err := spfRecord(c.ctx, c.r, target)
		if err != nil {
			return err
		}
		if n != 1 {
			c.void++
			continue
		}
		if err := c.count(sub, depth+1); err != nil {
			return err
		}
	}
	return nil
}
