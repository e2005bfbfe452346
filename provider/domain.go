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
	// BulkReady reports whether the domain meets the mailbox providers'
	// bulk-sender rules (compliance.md EM-07: Gmail and Outlook.com for
	// more than about 5,000 messages a day): SPF passes, a DKIM key
	// passes, a DMARC record is published (p=none is enough), and the
	// From domain aligns with SPF or DKIM. BulkReason says "bulk-ready:
	// yes" or "bulk-ready: no – " and the first rule missed. Only a
	// checker that knows the DKIM selectors can say yes.
	BulkReady  bool
	BulkReason string
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
