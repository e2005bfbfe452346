package carecast

import "time"

// AttrType is the type of a host-defined patient attribute.
type AttrType string

// Attribute types a host can declare in a cohort.Schema.
const (
	AttrNumber    AttrType = "number"     // a count or measure (medication count)
	AttrMoney     AttrType = "money"      // an amount (total spent)
	AttrDate      AttrType = "date"       // an instant (last appointment)
	AttrBool      AttrType = "bool"       // a flag (has active chat)
	AttrEnum      AttrType = "enum"       // one of a declared set (membership tier)
	AttrStringSet AttrType = "string_set" // several labels (packages bought)
)

// AttrValue is one typed attribute value. Exactly the field matching Type
// is meaningful; build values with the constructors (Number, MoneyValue, …).
type AttrValue struct {
	Type   AttrType  `json:"type"`
	Number float64   `json:"number,omitempty"`
	Money  Money     `json:"money,omitempty"`
	Time   time.Time `json:"time,omitzero"`
	Bool   bool      `json:"bool,omitempty"`
	String string    `json:"string,omitempty"`
	Set    []string  `json:"set,omitempty"`
}

// Attributes maps attribute keys (declared in a cohort.Schema) to values.
// A missing key means "not set".
type Attributes map[string]AttrValue

// NumberValue returns a number attribute value.
func NumberValue(f float64) AttrValue { return AttrValue{Type: AttrNumber, Number: f} }

// MoneyValue returns a money attribute value.
func MoneyValue(m Money) AttrValue { return AttrValue{Type: AttrMoney, Money: m} }

// DateValue returns a date attribute value.
func DateValue(t time.Time) AttrValue { return AttrValue{Type: AttrDate, Time: t} }

// BoolValue returns a bool attribute value.
func BoolValue(b bool) AttrValue { return AttrValue{Type: AttrBool, Bool: b} }

// EnumValue returns an enum attribute value.
func EnumValue(s string) AttrValue { return AttrValue{Type: AttrEnum, String: s} }

// SetValue returns a string-set attribute value.
func SetValue(s ...string) AttrValue { return AttrValue{Type: AttrStringSet, Set: s} }
