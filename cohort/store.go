package cohort

import (
	"context"
	"iter"
	"time"

	"github.com/carecast/carecast"
)

// PatientStore is implemented by the host over its own patient database.
// Carecast reads patients through it and writes back only contact and
// consent changes. Implementations must be safe for concurrent use; run
// package cohorttest against yours.
//
// Every method is scoped to one organisation: a patient of another
// organisation is never returned, matched or changed.
type PatientStore interface {
	// Patients streams the org's patients matching q in ascending ID order
	// (byte-wise string order). Never loads everything into memory.
	//
	// An invalid q.Filter is reported as the stream's first (and only)
	// error, a *FilterError. A failure mid-stream is yielded as an error
	// after which the stream ends. Breaking out of the loop early must
	// release all resources. The consumer may call other methods of the
	// store (ApplyContactChange included) while iterating; patients
	// changed meanwhile may be seen before or after the change.
	//
	// Yielded patients may share their Tags and Attributes with the store:
	// callers must not modify them.
	Patients(ctx context.Context, orgID string, q Query) iter.Seq2[carecast.Patient, error]

	// PatientsByID returns the patients with those IDs (missing IDs
	// omitted), ascending ID order. Duplicate IDs yield the patient once.
	// The ids slice is not retained or modified.
	PatientsByID(ctx context.Context, orgID string, ids []string) ([]carecast.Patient, error)

	// Search finds patients by name/phone/email substring for "Add
	// Recipients"; at most limit, ascending ID order. Matching is
	// case-insensitive on first, last, preferred and full name and email;
	// a query of digits (with optional "+", spaces, dots, dashes or
	// parentheses) matches phone numbers containing those digits. An
	// empty or blank query, or limit < 1, returns no patients.
	Search(ctx context.Context, orgID, query string, limit int) ([]carecast.Patient, error)

	// FindByContact returns patients whose phone (E.164) or email
	// (lower-case) equals contact, ascending ID order. Stored phones in
	// national format are compared after normalisation with the store's
	// default region; emails are compared trimmed and lower-cased.
	FindByContact(ctx context.Context, orgID, contact string) ([]carecast.Patient, error)

	// ApplyContactChange records a STOP, START, unsubscribe, bounce
	// suppression, landline discovery… on the patient record (see
	// [ChangeKind] for each effect). It returns an error wrapping
	// ErrNotFound if the patient is not in the org, and one of class
	// ErrInvalidChange for an unknown kind. Applying the same change
	// twice is harmless.
	ApplyContactChange(ctx context.Context, orgID string, c ContactChange) error
}

// Query selects patients for PatientStore.Patients.
type Query struct {
	// Filter selects the patients; the zero Filter selects all of them.
	Filter Filter
	// Now is the instant relative conditions (age, within_last_days) are
	// evaluated at; ages use Now's calendar date in Now's location, so
	// pass now in the practice's time zone. Stores never read the clock.
	Now time.Time
	// AfterID, if non-empty, restricts the stream to IDs greater than it
	// (keyset pagination: resume a stream after the last ID seen).
	AfterID string
}

// ContactChange is one change to a patient's contact or consent state,
// discovered by the engine (an inbound STOP, a bounce, a carrier error).
type ContactChange struct {
	// PatientID identifies the patient.
	PatientID string `json:"patient_id"`
	// Kind says what changed.
	Kind ChangeKind `json:"kind"`
	// At is when the change happened.
	At time.Time `json:"at"`
	// Source says where it came from, e.g. "inbound STOP" or "twilio
	// 21614". It must not contain PHI.
	Source string `json:"source,omitempty"`
}

// ChangeKind is the kind of a ContactChange.
type ChangeKind string

// The contact changes and their effect on the patient record.
const (
	// ChangeSMSOptOut sets Consent.SMSOptedOut (the patient texted STOP or
	// the carrier reports the number unsubscribed) and clears
	// Consent.SMSMarketingOptIn: a STOP revokes consent to marketing
	// texts, and a later START does not restore it (compliance.md SM-05,
	// §K 6). Consent.SMSMarketingConsent is kept as the record of what the
	// patient once agreed to.
	ChangeSMSOptOut ChangeKind = "sms_opt_out"
	// ChangeSMSOptIn clears Consent.SMSOptedOut (the patient texted
	// START). It does not grant marketing consent.
	ChangeSMSOptIn ChangeKind = "sms_opt_in"
	// ChangeEmailUnsubscribe sets Consent.EmailUnsubscribed and clears
	// Consent.EmailMarketingOptIn (the unsubscribe link was used).
	ChangeEmailUnsubscribe ChangeKind = "email_unsubscribe"
	// ChangeEmailSuppress sets Consent.EmailSuppressed (hard bounce or
	// spam complaint).
	ChangeEmailSuppress ChangeKind = "email_suppress"
	// ChangePhoneLandline sets PhoneLineType to carecast.LineLandline (a
	// send discovered the number cannot receive texts).
	ChangePhoneLandline ChangeKind = "phone_landline"
	// ChangePhoneMobile and ChangePhoneVoIP set PhoneLineType to
	// carecast.LineMobile or LineVoIP (a line-type lookup answered;
	// compliance.md SF-03). Recording them spares a paid lookup next
	// time.
	ChangePhoneMobile ChangeKind = "phone_mobile"
	ChangePhoneVoIP   ChangeKind = "phone_voip"
	// ChangeEmailResubscribe clears Consent.EmailUnsubscribed (the
	// patient subscribed again in the host's preference center; see
	// blast.Engine.Resubscribe). It does not grant marketing consent:
	// the host sets EmailMarketingOptIn from the patient's own choice.
	ChangeEmailResubscribe ChangeKind = "email_resubscribe"
)

// Valid reports whether k is one of the defined change kinds.
func (k ChangeKind) Valid() bool {
	switch k {
	case ChangeSMSOptOut, ChangeSMSOptIn, ChangeEmailUnsubscribe, ChangeEmailSuppress, ChangePhoneLandline,
		ChangePhoneMobile, ChangePhoneVoIP, ChangeEmailResubscribe:
		return true
	}
	return false
}

// Apply applies the change's effect (see the ChangeKind constants) to p.
// Hosts implementing PatientStore can use it to keep the same semantics.
// It reports false for an unknown kind and leaves p unchanged.
func (k ChangeKind) Apply(p *carecast.Patient) bool {
	switch k {
	case ChangeSMSOptOut:
		p.Consent.SMSOptedOut = true
		p.Consent.SMSMarketingOptIn = false
	case ChangeSMSOptIn:
		p.Consent.SMSOptedOut = false
	case ChangeEmailUnsubscribe:
		p.Consent.EmailUnsubscribed = true
		p.Consent.EmailMarketingOptIn = false
	case ChangeEmailSuppress:
		p.Consent.EmailSuppressed = true
	case ChangePhoneLandline:
		p.PhoneLineType = carecast.LineLandline
	case ChangePhoneMobile:
		p.PhoneLineType = carecast.LineMobile
	case ChangePhoneVoIP:
		p.PhoneLineType = carecast.LineVoIP
	case ChangeEmailResubscribe:
		p.Consent.EmailUnsubscribed = false
	default:
		return false
	}
	return true
}
