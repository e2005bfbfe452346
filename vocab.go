package carecast

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Channel is the medium a blast is sent on.
type Channel string

// The channels a blast can use.
const (
	SMS   Channel = "sms"
	Email Channel = "email"
)

// Valid reports whether c is one of the defined channels.
func (c Channel) Valid() bool { return c == SMS || c == Email }

// String returns the channel's display name ("SMS" or "Email").
func (c Channel) String() string {
	switch c {
	case SMS:
		return "SMS"
	case Email:
		return "Email"
	}
	return "Channel(" + strconv.Quote(string(c)) + ")"
}

// Purpose says whether a blast is marketing (promotions, newsletters:
// opt-in required, unsubscribe link included) or transactional
// (reminders, billing notices: sent regardless of marketing opt-in, still
// respecting STOP and suppression).
type Purpose string

// The purposes a blast can have.
const (
	Transactional Purpose = "transactional"
	Marketing     Purpose = "marketing"
)

// Valid reports whether p is one of the defined purposes.
func (p Purpose) Valid() bool { return p == Transactional || p == Marketing }

// Organization is the practice that sends a blast: a tenant of the engine.
type Organization struct {
	// ID identifies the organization; every blast, cohort and ledger row
	// belongs to exactly one.
	ID string `json:"id"`
	// Name is the practice's name: shown to patients (the "organization
	// name" merge field, email footers, SMS opt-out lines) unless
	// MessageName is set.
	Name string `json:"name"`
	// MessageName, when set, replaces Name in messages (the "organization
	// name" merge field and everything built on it): a neutral name for
	// a practice whose name reveals a condition ("Lakeside Health" for
	// "Lakeside Fertility Center"; compliance.md HI-02). The email
	// footer's legal identification keeps Name.
	MessageName string `json:"message_name,omitempty"`
	// SupportContact is the phone number or URL patients reach for help
	// ("(555) 010-2000", "https://clinic.example/help"). The engine's
	// default HELP reply gives it, as carriers require (CTIA; compliance.md
	// SM-06); without it the reply says to contact the clinic.
	SupportContact string `json:"support_contact,omitempty"`
	// PostalAddress is the physical address that CAN-SPAM requires in
	// the footer of every marketing email, one line per element.
	PostalAddress []string `json:"postal_address,omitempty"`
	// TimeZone is the practice's IANA time zone, the fallback for
	// patients without one. Empty means UTC.
	TimeZone string `json:"time_zone,omitempty"`
	// PhoneRegion is the ISO 3166-1 region used to read phone numbers
	// written without a country code. Empty means "US".
	PhoneRegion string `json:"phone_region,omitempty"`
	// Currency is the ISO 4217 code Money amounts are in. Empty means "USD".
	Currency string `json:"currency,omitempty"`
}

// DisplayName returns the name messages show: MessageName, or Name when
// it is empty.
func (o *Organization) DisplayName() string {
	if o.MessageName != "" {
		return o.MessageName
	}
	return o.Name
}

// Location returns the organization's time zone, or UTC when it is empty
// or unknown.
func (o *Organization) Location() *time.Location {
	if o.TimeZone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(o.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Money is an amount of the organization's currency as an integer number of
// micro-units (millionths of the major unit: 1 USD = 1,000,000). Carrier
// prices are fractions of a cent ($0.0079 a segment is 7,900), so cents
// would round them; floats would drift when summed over a million messages.
// Money is never a float.
type Money int64

// Common Money amounts.
const (
	Micro Money = 1
	Cent  Money = 10_000
	Unit  Money = 1_000_000
)

// Cents returns n hundredths of the major unit as Money.
func Cents(n int64) Money { return Money(n) * Cent }

// Mul returns m multiplied by n (a count of segments, messages, …).
func (m Money) Mul(n int64) Money { return m * Money(n) }

// String formats m in the major unit with as many decimals as it needs,
// at least two: 12,500 → "0.0125", 1,500,000 → "1.50".
func (m Money) String() string {
	neg := m < 0
	v := int64(m)
	if neg {
		v = -v
	}
	whole, frac := v/int64(Unit), v%int64(Unit)
	fs := fmt.Sprintf("%06d", frac)
	fs = strings.TrimRight(fs, "0")
	for len(fs) < 2 {
		fs += "0"
	}
	s := strconv.FormatInt(whole, 10) + "." + fs
	if neg {
		s = "-" + s
	}
	return s
}
