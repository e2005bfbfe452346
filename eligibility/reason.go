package eligibility

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/carecast/carecast"
)

// Reason is the outcome of classifying one patient for one channel and
// purpose: Send, or the one reason the patient is skipped. Reasons are
// stable: their String form is what ledgers and exports store.
type Reason uint8

// The reasons, in declaration order. The order of these constants is not
// the precedence order; see [Precedence] and the package documentation.
const (
	// Send means the patient will be sent the message.
	Send Reason = iota
	// NoContact means the patient has no usable address on the channel:
	// no phone number or one that is not a valid number (SMS), no email
	// address or a malformed one (email).
	NoContact
	// Landline means the patient's phone is recorded as a landline,
	// which cannot receive texts.
	Landline
	// OptedOut means the patient texted STOP (or a carrier reported the
	// number as unsubscribed). It blocks every SMS.
	OptedOut
	// Blocked means the clinic disabled SMS for the patient.
	Blocked
	// NotOptedIn means the blast is marketing and the patient has not
	// opted in to marketing on the channel.
	NotOptedIn
	// Suppressed means the email address hard-bounced or complained. It
	// blocks every email. An engine that also keeps a suppression list
	// (blast) reports it for an address the list holds as bounced, for
	// marketing email as complained (the guide's "bounced or been marked
	// as spam"), and for an SMS number the list holds as unreachable;
	// Classify itself returns it only for email, from
	// carecast.Consent.EmailSuppressed.
	Suppressed
	// Unsubscribed means the patient unsubscribed from marketing email.
	Unsubscribed
	// SharedAddress means the patient is eligible but shares a phone
	// number or email address with a patient counted earlier in the same
	// preview, and [PreviewOpts.CollapseShared] folds the two into one
	// message. [Classifier.Classify] never returns it; only previews and
	// [Tally] do.
	SharedAddress
	// NoAuthorization means the blast is HIPAA marketing that needs the
	// patient's written authorization (45 CFR 164.508(a)(3); a
	// blast.Draft with HIPAABasis authorized_marketing) and the patient
	// has none (carecast.Consent.HIPAAMarketingAuthorization). Only a
	// [Classifier] with RequireAuthorization returns it.
	NoAuthorization
	// NoPEWC means the blast is a marketing text, written consent is
	// required (a [Classifier] with RequirePEWC) and the patient has no
	// complete prior express written consent for the current number
	// (carecast.Consent.SMSMarketingConsent; compliance.md SM-01). With
	// RequirePEWC it takes the place of NotOptedIn for marketing texts.
	NoPEWC
	// Confidential means the patient's confidential-communication
	// request rules the message out: the channel is not one the patient
	// allowed (carecast.Consent.ConfidentialChannels) or the address is
	// one the patient asked never to be used (DoNotContact; compliance.md
	// HI-07). It applies to every purpose: a channel the patient ruled out
	// is decided before any other reason, an address ruled out after the
	// precedence list (the address must be read first).
	Confidential
)

// NumReasons is the number of defined reasons (Send through
// Confidential): the length of [Preview.ByReason].
const NumReasons = int(Confidential) + 1

var reasonNames = [NumReasons]string{
	Send:          KeySend,
	NoContact:     KeyNoContact,
	Landline:      KeyLandline,
	OptedOut:      KeyOptedOut,
	Blocked:       KeyBlocked,
	NotOptedIn:    KeyNotOptedIn,
	Suppressed:    KeySuppressed,
	Unsubscribed:  KeyUnsubscribed,
	SharedAddress: KeySharedAddress,

	NoAuthorization: KeyNoAuthorization,
	NoPEWC:          KeyNoPEWC,
	Confidential:    KeyConfidential,
}

var reasonLabels = [NumReasons]string{
	Send:          "Will send",
	NoContact:     "No contact info",
	Landline:      "Landline",
	OptedOut:      "Opted out",
	Blocked:       "Blocked",
	NotOptedIn:    "Not opted in",
	Suppressed:    "Suppressed",
	Unsubscribed:  "Unsubscribed",
	SharedAddress: "Shared address",

	NoAuthorization: "No authorization",
	NoPEWC:          "No written consent",
	Confidential:    "Confidential request",
}

// Reasons returns every defined reason in declaration order, Send first.
func Reasons() []Reason {
	out := make([]Reason, NumReasons)
	for i := range out {
		out[i] = Reason(i)
	}
	return out
}

// Valid reports whether r is a defined reason.
func (r Reason) Valid() bool { return int(r) < NumReasons }

// String returns the stable snake_case name of r ("send",
// "no_contact_info", "opted_out", …), suitable for storage and export.
// [ParseReason] reverses it.
func (r Reason) String() string {
	if r.Valid() {
		return reasonNames[r]
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// Label returns the user-interface label of r on channel ch, as the send
// preview shows it: "Will send", "Opted out", "Landline", … NoContact
// reads "No contact info" on SMS and "No email" on email.
func (r Reason) Label(ch carecast.Channel) string {
	if r == NoContact && ch == carecast.Email {
		return "No email"
	}
	if r.Valid() {
		return reasonLabels[r]
	}
	return r.String()
}

// Skipped reports whether r means the patient gets no message of their
// own (every reason but Send).
func (r Reason) Skipped() bool { return r != Send }

// PreviewGroup returns the send-preview row r is counted in. The preview
// shows STOP and clinic-disabled SMS together under "Opted out", so
// Blocked maps to OptedOut; every other reason is its own row.
func (r Reason) PreviewGroup() Reason {
	if r == Blocked {
		return OptedOut
	}
	return r
}

// ResultCard names the stat card of the results page a skipped
// recipient is counted under. The results page shows "Opted Out" and
// "Blocked" as separate cards and every other skip as "Skipped".
type ResultCard uint8

// The results-page cards a reason can map to.
const (
	// CardNone is the card of Send: the recipient's card depends on
	// the send outcome (sent, failed, …), not on eligibility.
	CardNone ResultCard = iota
	// CardSkipped is "Skipped": no contact info, landline, not opted in,
	// suppressed, unsubscribed, shared address.
	CardSkipped
	// CardOptedOut is "Opted Out" (STOP).
	CardOptedOut
	// CardBlocked is "Blocked" (SMS disabled by the clinic).
	CardBlocked
)

// String returns the card's label as the results page shows it.
func (c ResultCard) String() string {
	switch c {
	case CardNone:
		return ""
	case CardSkipped:
		return "Skipped"
	case CardOptedOut:
		return "Opted Out"
	case CardBlocked:
		return "Blocked"
	}
	return "ResultCard(" + strconv.Itoa(int(c)) + ")"
}

// ResultCard returns the results-page card r is counted under: OptedOut
// and Blocked have their own cards, Send has none, every other reason is
// "Skipped".
func (r Reason) ResultCard() ResultCard {
	switch r {
	case Send:
		return CardNone
	case OptedOut:
		return CardOptedOut
	case Blocked:
		return CardBlocked
	}
	return CardSkipped
}

// ParseReason returns the reason whose String form is s. It returns a
// *ReasonError for any other input.
func ParseReason(s string) (Reason, error) {
	for i, n := range reasonNames {
		if n == s {
			return Reason(i), nil
		}
	}
	return 0, &ReasonError{Name: s}
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (r Reason) MarshalText() ([]byte, error) {
	if !r.Valid() {
		return nil, fmt.Errorf("eligibility: cannot marshal undefined %s", r)
	}
	return []byte(reasonNames[r]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with [ParseReason].
func (r *Reason) UnmarshalText(b []byte) error {
	v, err := ParseReason(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// smsMarketing and the other precedence lists are the order in which
// Classify checks reasons: the first that applies is the decision.
var (
	smsMarketing       = []Reason{OptedOut, Blocked, NoContact, Landline, NotOptedIn}
	smsTransactional   = []Reason{OptedOut, Blocked, NoContact, Landline}
	emailMarketing     = []Reason{Suppressed, Unsubscribed, NoContact, NotOptedIn}
	emailTransactional = []Reason{Suppressed, NoContact}
)

// Precedence returns the skip reasons that apply to channel ch and
// purpose pu, highest precedence first: when several apply to a patient,
// Classify reports the first. It returns nil for an undefined channel.
// An undefined purpose is treated as marketing (the stricter rules).
// The caller may modify the returned slice.
func Precedence(ch carecast.Channel, pu carecast.Purpose) []Reason {
	return slices.Clone(precedence(ch, pu))
}

func precedence(ch carecast.Channel, pu carecast.Purpose) []Reason {
	tx := pu == carecast.Transactional
	switch {
	case ch == carecast.SMS && tx:
		return smsTransactional
	case ch == carecast.SMS:
		return smsMarketing
	case ch == carecast.Email && tx:
		return emailTransactional
	case ch == carecast.Email:
		return emailMarketing
	}
	return nil
}
