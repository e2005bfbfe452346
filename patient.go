package carecast

import (
	"fmt"
	"time"
)

// Patient is one person a practice may message. Hosts build Patients from
// their own database (see cohort.PatientStore); carecast never persists them.
//
// The zero value of every consent field is the safe one: a patient that has
// never opted in to marketing is not sent marketing, and a missing contact
// detail is reported as a skip reason, never as an error.
type Patient struct {
	// ID is the host's stable identifier for the patient. It must be
	// unique within an organization and is the only patient identifier
	// carecast writes to logs, ledgers and error messages.
	ID string `json:"id"`

	// FirstName, LastName and PreferredName feed the merge fields. An
	// empty PreferredName falls back to FirstName.
	FirstName     string `json:"first_name,omitempty"`
	LastName      string `json:"last_name,omitempty"`
	PreferredName string `json:"preferred_name,omitempty"`

	// DateOfBirth is the civil birth date; its zero value means unknown.
	DateOfBirth Date `json:"date_of_birth,omitzero"`

	// Gender is free text as recorded by the host (for example "female").
	Gender string `json:"gender,omitempty"`

	// Phone is the mobile number as stored by the host, ideally E.164
	// ("+15551234567"). Numbers in national format are normalised with
	// the practice's default region; unparseable numbers make the patient
	// ineligible for SMS with the "no contact info" reason.
	Phone string `json:"phone,omitempty"`
	// PhoneLineType says whether Phone can receive texts. Landlines are
	// skipped for SMS. The engine records a landline it discovers on send.
	PhoneLineType LineType `json:"phone_line_type,omitempty"`

	// Email is the patient's address as stored by the host.
	Email string `json:"email,omitempty"`

	// LocationID and ProviderID are the host's identifiers of the
	// patient's primary clinic location and care provider.
	LocationID string `json:"location_id,omitempty"`
	ProviderID string `json:"provider_id,omitempty"`

	// Tags are the host's free-form labels ("vip", "diabetes-program").
	Tags []string `json:"tags,omitempty"`

	// TimeZone is the patient's IANA time zone ("America/Chicago"), used
	// for quiet hours. Empty or unknown falls back to the organization's.
	TimeZone string `json:"time_zone,omitempty"`

	// Active is false for archived or inactive patients.
	Active bool `json:"active"`
	// LastVisit is the time of the patient's most recent visit; zero if
	// none is known.
	LastVisit time.Time `json:"last_visit,omitzero"`

	// Consent holds the patient's contact and consent state.
	Consent Consent `json:"consent"`

	// Attributes carries host-defined, typed values (total spent,
	// memberships, appointment counts, …) that cohort filters can use.
	// Keys are declared by the host in a cohort.Schema.
	Attributes Attributes `json:"attributes,omitempty"`
}

// DisplayName returns the name a message should greet the patient by: the
// preferred name, or the first name when none is set.
func (p *Patient) DisplayName() string {
	if p.PreferredName != "" {
		return p.PreferredName
	}
	return p.FirstName
}

// FullName returns the first and last name separated by a space, omitting
// whichever is empty.
func (p *Patient) FullName() string {
	switch {
	case p.FirstName == "":
		return p.LastName
	case p.LastName == "":
		return p.FirstName
	}
	return p.FirstName + " " + p.LastName
}

// HasTag reports whether the patient carries tag t (exact match).
func (p *Patient) HasTag(t string) bool {
	for _, x := range p.Tags {
		if x == t {
			return true
		}
	}
	return false
}

// Consent is a patient's contact and consent state across channels. Each
// field records one fact; eligibility combines them into one decision.
type Consent struct {
	// SMSOptedOut is set when the patient texted STOP (or a synonym) or a
	// carrier reported the number as unsubscribed. It blocks every SMS,
	// marketing or transactional, until the patient texts START.
	SMSOptedOut bool `json:"sms_opted_out,omitempty"`
	// SMSBlocked is set when the clinic disabled SMS for this patient.
	SMSBlocked bool `json:"sms_blocked,omitempty"`
	// SMSMarketingOptIn records the patient's consent to marketing texts.
	SMSMarketingOptIn bool `json:"sms_marketing_opt_in,omitempty"`
	// SMSMarketingConsent is the evidence of that consent (PEWC; see
	// ConsentEvidence), or nil. With blast.Config.RequirePEWC a marketing
	// text needs it complete and naming the patient's current number.
	SMSMarketingConsent *ConsentEvidence `json:"sms_marketing_consent,omitempty"`

	// EmailMarketingOptIn records consent to marketing email.
	EmailMarketingOptIn bool `json:"email_marketing_opt_in,omitempty"`
	// EmailUnsubscribed is set when the patient used a marketing email's
	// unsubscribe link (or List-Unsubscribe). It blocks marketing email.
	EmailUnsubscribed bool `json:"email_unsubscribed,omitempty"`
	// EmailSuppressed is set after a hard bounce or a spam complaint. It
	// blocks every email, marketing or transactional.
	EmailSuppressed bool `json:"email_suppressed,omitempty"`

	// SMSInsecureChannelAck and EmailInsecureChannelAck record that the
	// practice advised the patient that texts (email) are not encrypted
	// and the patient still prefers to receive health information that
	// way (HIPAA Omnibus Rule preamble, 78 FR 5634; compliance.md HI-08).
	// A PHI-bearing blast (blast.Draft.PHI) sends its content only to
	// patients with the channel's acknowledgement; the others receive
	// the blast's PHI-free portal notice instead. Keep the evidence (when,
	// how the patient was told) in the host's record.
	SMSInsecureChannelAck   bool `json:"sms_insecure_channel_ack,omitempty"`
	EmailInsecureChannelAck bool `json:"email_insecure_channel_ack,omitempty"`

	// ConfidentialChannels, when not empty, is a confidential-
	// communication request (45 CFR 164.522(b); compliance.md HI-07):
	// the patient may be contacted only on these channels ("no texts,
	// email only" is []Channel{Email}). DoNotContact lists phone numbers
	// and email addresses the patient asked never to be used ("not at my
	// home number"). Both override every blast, transactional ones too;
	// the patient is skipped as confidential_request.
	ConfidentialChannels []Channel `json:"confidential_channels,omitempty"`
	DoNotContact         []string  `json:"do_not_contact,omitempty"`

	// HIPAAMarketingAuthorization records the patient's signed HIPAA
	// authorization for marketing communications (45 CFR 164.508(a)(3);
	// compliance.md HI-06), stating any third-party remuneration. A blast
	// whose HIPAA basis is authorized marketing goes only to patients
	// with it, in addition to the channel's marketing opt-in.
	HIPAAMarketingAuthorization bool `json:"hipaa_marketing_authorization,omitempty"`
}

// InsecureChannelAck reports the patient's acknowledgement of the
// unencrypted channel ch (SMSInsecureChannelAck or
// EmailInsecureChannelAck); false for any other channel.
func (c *Consent) InsecureChannelAck(ch Channel) bool {
	switch ch {
	case SMS:
		return c.SMSInsecureChannelAck
	case Email:
		return c.EmailInsecureChannelAck
	}
	return false
}

// LineType is the kind of telephone line a number belongs to.
type LineType string

// Line types. The zero value is LineUnknown, which is treated as textable.
const (
	LineUnknown  LineType = ""
	LineMobile   LineType = "mobile"
	LineLandline LineType = "landline"
	LineVoIP     LineType = "voip"
)

// Date is a civil date without time or zone, such as a date of birth.
// Its zero value means "unknown".
type Date struct {
	Year  int        `json:"year"`
	Month time.Month `json:"month"`
	Day   int        `json:"day"`
}

// NewDate returns the Date for year, month and day.
func NewDate(year int, month time.Month, day int) Date {
	return Date{Year: year, Month: month, Day: day}
}

// IsZero reports whether d is the zero (unknown) date.
func (d Date) IsZero() bool { return d == Date{} }

// Valid reports whether d names a real calendar day.
func (d Date) Valid() bool {
	if d.Month < time.January || d.Month > time.December || d.Day < 1 || d.Year < 1 {
		return false
	}
	t := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
	return t.Day() == d.Day && t.Month() == d.Month
}

// String formats d as ISO 8601 ("1990-01-15"), or "" for the zero date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// AgeOn returns the age in whole years on the given day, in the patient's
// calendar (a birthday on 29 February counts from 1 March in common years).
func (d Date) AgeOn(day time.Time) int {
	y, m, dd := day.Date()
	age := y - d.Year
	if m < d.Month || (m == d.Month && dd < d.Day) {
		age--
	}
	return age
}
