package eligibility

import (
	"strings"

	"github.com/carecast/carecast"
	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the phone region used when none is configured.
const DefaultRegion = "US"

// Decision is the eligibility of one patient for one channel and purpose.
type Decision struct {
	// Reason is Send, or the one reason the patient is skipped.
	Reason Reason
	// Address is the normalised destination when Reason is Send (or
	// SharedAddress, from a [Tally]): the E.164 phone number for SMS or
	// the email address. It is empty otherwise.
	Address string
}

// WillSend reports whether the patient will be sent the message.
func (d Decision) WillSend() bool { return d.Reason == Send }

// Classifier decides eligibility. The zero value is ready to use and
// reads national-format phone numbers as US numbers. A Classifier is
// immutable in use and safe for concurrent use by multiple goroutines.
type Classifier struct {
	// Region is the ISO 3166-1 alpha-2 region ("US", "CA", "GB") used to
	// read phone numbers stored without a country code. Numbers stored in
	// E.164 ("+447911123456") are read as such whatever the region.
	// Defaults to DefaultRegion ("US") when empty. Lower case is
	// accepted. An unsupported region makes every national-format number
	// unreadable (NoContact); [Classifier.Validate] catches it.
	Region string
	// RequireAuthorization adds a last check for every channel and
	// purpose: a patient without a HIPAA marketing authorization
	// (carecast.Consent.HIPAAMarketingAuthorization) is NoAuthorization
	// (compliance.md HI-06). The engine sets it for blasts whose HIPAA
	// basis is authorized marketing.
	RequireAuthorization bool
	// RequirePEWC makes marketing texts need complete written consent
	// for the patient's current number (carecast.Consent.
	// SMSMarketingConsent valid and naming the number): a patient
	// without it is NoPEWC, which then also replaces NotOptedIn for
	// marketing texts (compliance.md SM-01).
	RequirePEWC bool
}

// NewClassifier returns a Classifier for org, reading national-format
// numbers in org.PhoneRegion (upper-cased; DefaultRegion when empty; org
// may be nil).
// It returns an *ArgError when the region is not one phonenumbers knows.
func NewClassifier(org *carecast.Organization) (*Classifier, error) {
	c := &Classifier{}
	if org != nil {
		c.Region = strings.ToUpper(org.PhoneRegion)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate returns an *ArgError when c.Region is set to a region the
// phone-number metadata does not know.
func (c *Classifier) Validate() error {
	r := c.region()
	if !phonenumbers.GetSupportedRegions()[r] {
		return &ArgError{Field: "Classifier.Region", Value: r}
	}
	return nil
}

func (c *Classifier) region() string {
	if c == nil || c.Region == "" {
		return DefaultRegion
	}
	return strings.ToUpper(c.Region) // no allocation when already upper case
}

// Classify decides whether patient p will be sent a message on channel ch
// for purpose pu, or else the one reason p is skipped: the first reason
// of [Precedence](ch, pu) that applies, then NoAuthorization when
// c.RequireAuthorization is set. It never fails: a missing or
// malformed phone number or email address is NoContact. A nil p, or an
// undefined channel, is NoContact; an undefined purpose is treated as
// marketing. Classify does not allocate for numbers stored in E.164 for
// the North American Numbering Plan and for lower-case email addresses
// (other numbers go through phonenumbers; upper case is lower-cased).
func (c *Classifier) Classify(p *carecast.Patient, ch carecast.Channel, pu carecast.Purpose) Decision {
	return c.classify(p, ch, pu, nil)
}

// ClassifyAt is Classify for a patient whose address on ch the caller
// has already normalised with Address (addr and ok as Address returned
// them): the address is not normalised a second time. A caller that
// needs every patient's address before deciding (to look up a
// suppression list, say) pays for one normalisation per patient.
func (c *Classifier) ClassifyAt(p *carecast.Patient, ch carecast.Channel, pu carecast.Purpose, addr string, ok bool) Decision {
	return c.classify(p, ch, pu, &knownAddress{addr: addr, ok: ok})
}

// knownAddress is an address Address already returned for the patient.
type knownAddress struct {
	addr string
	ok   bool
}

func (c *Classifier) classify(p *carecast.Patient, ch carecast.Channel, pu carecast.Purpose, known *knownAddress) Decision {
	order := precedence(ch, pu)
	if p == nil || order == nil {
		return Decision{Reason: NoContact}
	}
	var addr string
	if confidentialChannel(&p.Consent, ch) {
		return Decision{Reason: Confidential}
	}
	pewc := c != nil && c.RequirePEWC && ch == carecast.SMS && pu != carecast.Transactional
	for _, r := range order {
		if c.applies(r, p, ch, &addr, known) {
			if r == NotOptedIn && pewc {
				r = NoPEWC
			}
			return Decision{Reason: r}
		}
	}
	if len(p.Consent.DoNotContact) > 0 && c.doNotContact(p, ch, addr) {
		return Decision{Reason: Confidential}
	}
	if pewc && !c.hasPEWC(p, addr) {
		return Decision{Reason: NoPEWC}
	}
	if c != nil && c.RequireAuthorization && !p.Consent.HIPAAMarketingAuthorization {
		return Decision{Reason: NoAuthorization}
	}
	return Decision{Reason: Send, Address: addr}
}

// Address returns p's normalised address on channel ch, as Classify
// reads it (the E.164 number for SMS, read in c's region; the lower-case
// email address), and whether there is a usable one. It ignores consent:
// callers use it to look up facts kept per address (a suppression list)
// before classifying. A nil p or an undefined channel has none.
func (c *Classifier) Address(p *carecast.Patient, ch carecast.Channel) (string, bool) {
	if p == nil {
		return "", false
	}
	switch ch {
	case carecast.SMS:
		return NormalizePhone(p.Phone, c.region())
	case carecast.Email:
		return NormalizeEmail(p.Email)
	}
	return "", false
}

// applies reports whether reason r applies to p on ch. Checking NoContact
// stores the normalised address in *addr (every precedence list checks
// NoContact, so a Send decision always has it), taken from known when the
// caller already normalised it.
func (c *Classifier) applies(r Reason, p *carecast.Patient, ch carecast.Channel, addr *string, known *knownAddress) bool {
	cs := &p.Consent
	switch r {
	case NoContact:
		ok := false
		if known != nil {
			*addr, ok = known.addr, known.ok
		} else {
			*addr, ok = c.Address(p, ch)
		}
		return !ok
	case Landline:
		return p.PhoneLineType == carecast.LineLandline
	case OptedOut:
		return cs.SMSOptedOut
	case Blocked:
		return cs.SMSBlocked
	case NotOptedIn:
		if ch == carecast.SMS {
			return !cs.SMSMarketingOptIn
		}
		return !cs.EmailMarketingOptIn
	case Suppressed:
		return cs.EmailSuppressed
	case Unsubscribed:
		return cs.EmailUnsubscribed
	}
	return false
}

// confidentialChannel reports whether cs restricts contact to channels
// other than ch.
func confidentialChannel(cs *carecast.Consent, ch carecast.Channel) bool {
	if len(cs.ConfidentialChannels) == 0 {
		return false
	}
	for _, allowed := range cs.ConfidentialChannels {
		if allowed == ch {
			return false
		}
	}
	return true
}

// doNotContact reports whether addr, p's normalised address on ch, is one
// of the addresses p asked never to be used.
func (c *Classifier) doNotContact(p *carecast.Patient, ch carecast.Channel, addr string) bool {
	for _, a := range p.Consent.DoNotContact {
		var n string
		var ok bool
		if ch == carecast.SMS {
			n, ok = NormalizePhone(a, c.region())
		} else {
			n, ok = NormalizeEmail(a)
		}
		if ok && n == addr {
			return true
		}
	}
	return false
}

// hasPEWC reports whether p's written consent to marketing texts is
// complete and names addr, the patient's current number (E.164).
func (c *Classifier) hasPEWC(p *carecast.Patient, addr string) bool {
	ev := p.Consent.SMSMarketingConsent
	if ev.Validate() != nil {
		return false
	}
	n, ok := NormalizePhone(ev.Phone, c.region())
	return ok && n == addr
}

// Classify is [Classifier.Classify] with the zero Classifier (phone region
// "US").
func Classify(p *carecast.Patient, ch carecast.Channel, pu carecast.Purpose) Decision {
	return (*Classifier)(nil).Classify(p, ch, pu)
}
