package provider

import "time"

// EventKind is what a provider webhook reported.
type EventKind string

// Event kinds the engine understands.
const (
	// EventDelivered: the carrier or receiving server confirmed delivery.
	EventDelivered EventKind = "delivered"
	// EventUndelivered: a message reported as sent was not delivered
	// (Twilio 30003/30005 …, an asynchronous failure). Moves the row from
	// sent to failed.
	EventUndelivered EventKind = "undelivered"
	// EventBounce: an email bounced. Hard bounces suppress the address.
	EventBounce EventKind = "bounce"
	// EventComplaint: the recipient reported the email as spam. The
	// patient is unsubscribed and suppressed.
	EventComplaint EventKind = "complaint"
	// EventOpen and EventClick: engagement reported by an ESP's own
	// tracking.
	EventOpen  EventKind = "open"
	EventClick EventKind = "click"
	// EventInbound: a text from a patient (reply, STOP, START, HELP).
	EventInbound EventKind = "inbound"
)

// Keyword is the compliance meaning of an inbound text.
type Keyword string

// Keyword families (compliance.md SM-03 to SM-06).
const (
	KeywordNone  Keyword = ""      // an ordinary reply
	KeywordStop  Keyword = "stop"  // STOP, UNSUBSCRIBE, CANCEL, END, QUIT, OPTOUT, REVOKE, …
	KeywordStart Keyword = "start" // START, UNSTOP, YES, …
	KeywordHelp  Keyword = "help"  // HELP, INFO
)

// Event is one verified provider callback, translated to the engine's terms.
// Adapters verify signatures before producing Events; the engine trusts them.
type Event struct {
	// ID identifies the event for deduplication (vendor event ID, or a
	// stable hash of its fields). Handling the same ID twice is a no-op.
	ID string
	// OrgID is the organization the event belongs to, when the adapter
	// knows it from something an attacker cannot change: data the vendor
	// signed (Twilio signs the whole callback URL, query included) or the
	// adapter's own configuration (one webhook per organization). Never
	// from an unsigned request part such as the query string of a
	// SendGrid or SNS callback. Empty for status events means "the
	// organization of the ledger row ProviderMessageID names".
	OrgID string
	// Kind is what happened.
	Kind EventKind
	// ProviderMessageID links the event to a sent message (delivery,
	// bounce, complaint, open, click).
	ProviderMessageID string
	// MessageID is the engine's own ID of the message (SMSMessage.ID,
	// EmailMessage.ID: the ledger row) when the adapter read it, with
	// OrgID, from data the vendor signed: a parameter of Twilio's signed
	// status-callback URL (twilio.WebhookConfig.MessageParam). Never from
	// an unsigned request part, which anyone could set. The engine uses
	// it only for a status event whose ProviderMessageID it does not
	// know and only to resolve a row of OrgID that is in doubt (its send
	// answer was lost, so the vendor's ID was never learned).
	MessageID string
	// At is when the vendor says it happened.
	At time.Time
	// Code is the vendor's status or error code ("30006", "5.1.1").
	Code string
	// Class classifies a failure (EventUndelivered, EventBounce): for
	// example Landline for Twilio 30006, Suppress for a hard bounce.
	Class Class
	// HardBounce distinguishes permanent bounces from soft ones.
	HardBounce bool
	// From and To are the addresses of an inbound text (E.164).
	From, To string
	// Body is an inbound text's body. It may contain PHI: the engine
	// never logs it.
	Body string
	// Keyword is the compliance meaning of an inbound text.
	Keyword Keyword
	// ProviderHandledOptOut is true when the vendor already sent the
	// opt-out/opt-in confirmation itself (Twilio Advanced Opt-Out), so the
	// engine must not send another one.
	ProviderHandledOptOut bool
	// URL is the clicked link of an EventClick.
	URL string
	// Machine is true for an EventOpen or EventClick the vendor says was
	// made by software, not the recipient (SendGrid sg_machine_open:
	// Apple Mail Privacy Protection, link scanners; compliance.md TR-04,
	// TR-05). The engine stores it flagged and never counts it as an
	// open or click.
	Machine bool
	// MachineReason says why Machine is set ("apple_mpp", "scanner", …);
	// "" reads as "provider".
	MachineReason string
}
