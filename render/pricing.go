package render

import (
	"fmt"

	"github.com/carecast/carecast"
)

// Pricing is the price table cost estimates and the engine's spend
// records use, in the organization's currency (carecast.Money micro-units).
// Hosts set it from their provider contract; DefaultPricing is a
// starting point.
type Pricing struct {
	// SMSSegment is the price of one SMS segment (one "text").
	SMSSegment carecast.Money
	// MMSMessage is the price of one MMS, whatever its length.
	MMSMessage carecast.Money
	// EmailRecipient is the price of one email to one recipient.
	EmailRecipient carecast.Money
}

// DefaultPricing returns list prices typical of a US provider:
//
//	SMS segment      $0.0079   (7,900 micro-units)
//	MMS message      $0.0237   (23,700: three times an SMS segment, as the guide says)
//	email recipient  $0.0001   (100: $0.10 per thousand)
func DefaultPricing() Pricing {
	return Pricing{
		SMSSegment:     7_900,
		MMSMessage:     23_700,
		EmailRecipient: 100,
	}
}

// Validate returns an error naming the first negative price.
func (p Pricing) Validate() error {
	switch {
	case p.SMSSegment < 0:
		return fmt.Errorf("render: pricing: SMSSegment is negative (%s)", p.SMSSegment)
	case p.MMSMessage < 0:
		return fmt.Errorf("render: pricing: MMSMessage is negative (%s)", p.MMSMessage)
	case p.EmailRecipient < 0:
		return fmt.Errorf("render: pricing: EmailRecipient is negative (%s)", p.EmailRecipient)
	}
	return nil
}

// SMSCost returns the cost of one rendered message: its segments times
// SMSSegment, or MMSMessage for an MMS. This is the per-message cost the
// engine records at send time.
func (p Pricing) SMSCost(r RenderedSMS) carecast.Money {
	return p.SMSCostOf(r.Count.Segments, r.MMS)
}

// SMSCostOf returns the cost of a message of the given segments, or of one
// MMS when mms is set.
func (p Pricing) SMSCostOf(segments int, mms bool) carecast.Money {
	if mms {
		return p.MMSMessage
	}
	return p.SMSSegment.Mul(int64(segments))
}

// EmailCost returns the cost of one email to one recipient, the per-message
// cost the engine records; multiply with Money.Mul for a blast.
func (p Pricing) EmailCost() carecast.Money { return p.EmailRecipient }
