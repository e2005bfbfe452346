package provider

import (
	"context"

	"github.com/carecast/carecast"
)

// DomainVerifier reports whether an organisation's sending domain for a
// purpose (marketing or transactional) is verified: the guide's "domain
// error" blocks sending email from an unverified domain.
//
// An error means the check could not be made (DNS unreachable, no domain
// configured for the organisation); a domain that was checked and failed
// is a nil error with Verified false and the failing checks listed.
type DomainVerifier interface {
	VerifyDomain(ctx context.Context, orgID string, purpose carecast.Purpose) (DomainStatus, error)
}

// DomainStatus is the outcome of checking one sending domain.
type DomainStatus struct {
	// Domain is the sending domain that was checked.
	Domain string
	// Verified is true when every required check passed.
	Verified bool
	// Checks lists each check made, in a stable order.
	Checks []DomainCheck
}

// DomainCheck is one DNS check of a sending domain.
type DomainCheck struct {
	// Name is the check: "dmarc", "spf" or "dkim".
	Name string
	// OK is true when the check passed.
	OK bool
	// Reason explains a failure, or summarises a pass, in words a
	// practice administrator can act on.
	Reason string
}
