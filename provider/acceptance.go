package provider

import (
	"context"
	"time"
)

// AcceptanceChecker is an optional interface an SMS sender implements
// when the vendor can say whether it accepted a message whose send answer
// was lost (a row "in doubt", see Ambiguous). The engine's
// ReconcileInDoubt asks it once per in-doubt row and resolves what it
// learns; a sender that does not implement it leaves in-doubt rows to
// delivery receipts and to the user.
//
// An implementation must answer AcceptanceNotAccepted only when the
// vendor's records prove that nothing matching the query was accepted: a
// "not accepted" row is sent again, so a wrong answer texts a patient
// twice. Whenever it cannot tell (records it cannot read, bodies the
// account redacts, a message that may still wait in a queue, more
// candidates than it reads), it answers AcceptanceUnknown. Errors are
// classified like send errors (*Error: RateLimited with RetryAfter,
// Transient, Permanent) and leave the row in doubt.
type AcceptanceChecker interface {
	CheckAccepted(ctx context.Context, q *AcceptanceQuery) (Acceptance, error)
}

// AcceptanceQuery describes one message the engine tried to send. Body is
// PHI-bearing: implementations compare it and never log it.
type AcceptanceQuery struct {
	// MessageID is the engine's message (ledger row) ID, as in
	// SMSMessage.ID.
	MessageID string
	// OrgID is the sending organization.
	OrgID string
	// To is the recipient (E.164).
	To string
	// From is the sender as the engine passed it (SMSMessage.From; ""
	// means the adapter's default, a "MG…" value a Messaging Service).
	From string
	// Body is the text as the engine rendered it for this row.
	Body string
	// After and Before bound when the vendor may have accepted it: from
	// the row's claim to the end of its attempt (or of its lease).
	After, Before time.Time
}

// AcceptanceStatus is a vendor's verdict on one message.
type AcceptanceStatus int

// Verdicts. The zero value is AcceptanceUnknown, so an answer left
// unset never resends anything.
const (
	// AcceptanceUnknown: the vendor's records cannot tell; the row stays
	// in doubt.
	AcceptanceUnknown AcceptanceStatus = iota
	// AcceptanceAccepted: the vendor accepted the message
	// (Acceptance.ProviderMessageID names it); the row is sent.
	AcceptanceAccepted
	// AcceptanceNotAccepted: the vendor's records prove it accepted no
	// such message; the row may be sent again.
	AcceptanceNotAccepted
)

var acceptanceNames = [...]string{"unknown", "accepted", "not_accepted"}

// String returns "unknown", "accepted" or "not_accepted".
func (s AcceptanceStatus) String() string {
	if s >= 0 && int(s) < len(acceptanceNames) {
		return acceptanceNames[s]
	}
	return "unknown"
}

// Acceptance is the answer to an AcceptanceQuery.
type Acceptance struct {
	// Status is the verdict.
	Status AcceptanceStatus
	// ProviderMessageID is the vendor's ID of the accepted message
	// (AcceptanceAccepted only).
	ProviderMessageID string
}
