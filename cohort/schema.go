package cohort

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/carecast/carecast"
)

// AttrString is the type of a plain text field (a location ID, a gender). It
// complements the attribute types of package carecast; hosts may declare
// attributes of this type too (carecast.AttrValue.String holds the value).
const AttrString carecast.AttrType = "string"

// The core fields every Schema has. They read the fields of
// carecast.Patient; attribute keys must not reuse these names.
const (
	FieldLocation            = "location"               // string: Patient.LocationID
	FieldProvider            = "provider"               // string: Patient.ProviderID
	FieldTags                = "tags"                   // string_set: Patient.Tags
	FieldAge                 = "age"                    // number: whole years from DateOfBirth on the query's now
	FieldGender              = "gender"                 // string: Patient.Gender (exact match)
	FieldActive              = "active"                 // bool: Patient.Active
	FieldLastVisit           = "last_visit"             // date: Patient.LastVisit (zero: not set)
	FieldPhone               = "phone"                  // string, is_set/is_not_set only: Patient.Phone
	FieldEmail               = "email"                  // string, is_set/is_not_set only: Patient.Email
	FieldPhoneLineType       = "phone_line_type"        // enum mobile/landline/voip: Patient.PhoneLineType
	FieldSMSOptedOut         = "sms_opted_out"          // bool: Consent.SMSOptedOut (texted STOP)
	FieldSMSBlocked          = "sms_blocked"            // bool: Consent.SMSBlocked (clinic disabled SMS)
	FieldSMSMarketingOptIn   = "sms_marketing_opt_in"   // bool: Consent.SMSMarketingOptIn
	FieldEmailMarketingOptIn = "email_marketing_opt_in" // bool: Consent.EmailMarketingOptIn
	FieldEmailUnsubscribed   = "email_unsubscribed"     // bool: Consent.EmailUnsubscribed
	FieldEmailSuppressed     = "email_suppressed"       // bool: Consent.EmailSuppressed
)

// The categories of the core fields. Hosts may use these or their own
// (the product groups attributes as engagement, scheduling, billing, …).
const (
	CategoryDemographics  = "Demographics"
	CategoryCareTeam      = "Care team"
	CategoryTags          = "Tags"
	CategoryStatus        = "Status"
	CategoryScheduling    = "Scheduling"
	CategoryCommunication = "Communication preferences"
)

// FieldDef describes one filterable field: what a filter-builder UI needs to
// draw it (label, category, operators, enum choices) and what validation
// checks against.
type FieldDef struct {
	// Key is what a Cond names in Field.
	Key string `json:"key"`
	// Label is the human-readable name ("Total spent").
	Label string `json:"label"`
	// Category groups fields in the UI ("Billing").
	Category string `json:"category"`
	// Type is the value type; it decides the operand slot of a Cond.
	Type carecast.AttrType `json:"type"`
	// Ops lists the operators the field accepts, in display order.
	Ops []Op `json:"ops"`
	// Values lists the allowed operands of an enum field, or the declared
	// choices of a text or set field, in display order. When non-empty,
	// filters may only name these values.
	Values []string `json:"values,omitempty"`
	// Core is true for the built-in fields read from carecast.Patient and
	// false for host attributes read from Patient.Attributes.
	Core bool `json:"core"`
}

// AttrDef declares one host attribute for [NewSchema].
type AttrDef struct {
	// Key is the attribute's key in carecast.Patient.Attributes and in
	// filters: 1–64 characters of a–z, 0–9 and '_', starting with a
	// letter, and not a core field name.
	Key string
	// Label is the display name; it must not be empty.
	Label string
	// Category groups the attribute in a filter builder; it must not be
	// empty.
	Category string
	// Type is the attribute's value type: carecast.AttrNumber, AttrMoney,
	// AttrDate, AttrBool, AttrEnum, AttrStringSet, or cohort.AttrString.
	Type carecast.AttrType
	// Values lists the choices of the attribute: required for enums,
	// optional for string and string_set attributes (a filter naming
	// another value is then rejected), not allowed for other types.
	// Values must be non-empty and unique.
	Values []string
}

// Schema is the set of fields filters may use: the core fields plus the
// host's declared attributes. It is immutable and safe for concurrent use.
// A nil *Schema behaves as the core-only schema.
type Schema struct {
	fields []FieldDef
	byKey  map[string]int
}

// OpsFor returns the operators a field of type t accepts, in display order,
// or nil for an unknown type.
func OpsFor(t carecast.AttrType) []Op {
	switch t {
	case carecast.AttrNumber, carecast.AttrMoney:
		return []Op{OpEquals, OpGreater, OpLess, OpBetween, OpIsSet, OpIsNotSet}
	case carecast.AttrDate:
		return []Op{OpBefore, OpAfter, OpBetween, OpWithinLastDays, OpIsSet, OpIsNotSet}
	case carecast.AttrBool:
		return []Op{OpEquals, OpIsSet, OpIsNotSet}
	case carecast.AttrEnum, AttrString:
		return []Op{OpEquals, OpIn, OpIsSet, OpIsNotSet}
	case carecast.AttrStringSet:
		return []Op{OpContainsAny, OpContainsAll, OpContainsNone, OpIsSet, OpIsNotSet}
	}
	return nil
}

// coreFields returns the built-in field definitions.
func coreFields() []FieldDef {
	str := []Op{OpEquals, OpIn, OpIsSet, OpIsNotSet}
	presence := []Op{OpIsSet, OpIsNotSet}
	boolOps := []Op{OpEquals} // core flags are always set
	num := []Op{OpEquals, OpGreater, OpLess, OpBetween, OpIsSet, OpIsNotSet}
	return []FieldDef{
		{Key: FieldAge, Label: "Age", Category: CategoryDemographics, Type: carecast.AttrNumber, Ops: num},
		{Key: FieldGender, Label: "Gender", Category: CategoryDemographics, Type: AttrString, Ops: str},
		{Key: FieldLocation, Label: "Location", Category: CategoryDemographics, Type: AttrString, Ops: str},
		{Key: FieldProvider, Label: "Provider", Category: CategoryCareTeam, Type: AttrString, Ops: str},
		{Key: FieldTags, Label: "Tags", Category: CategoryTags, Type: carecast.AttrStringSet, Ops: OpsFor(carecast.AttrStringSet)},
		{Key: FieldActive, Label: "Active patient", Category: CategoryStatus, Type: carecast.AttrBool, Ops: boolOps},
		{Key: FieldLastVisit, Label: "Last visit", Category: CategoryScheduling, Type: carecast.AttrDate, Ops: OpsFor(carecast.AttrDate)},
		{Key: FieldSMSOptedOut, Label: "Opted out of SMS (STOP)", Category: CategoryCommunication, Type: carecast.AttrBool, Ops: boolOps},
		{Key: FieldSMSBlocked, Label: "SMS disabled by clinic", Category: CategoryCommunication, Type: carecast.AttrBool, Ops: boolOps},
		{Key: FieldSMSMarketingOptIn, Label: "Opted in to SMS marketing", Category: CategoryCommunication, Type: carecast.AttrBool, Ops: boolOps},
		{Key: FieldEmailMarketingOptIn, Label: "Opted in to email marketing", Category: CategoryCommunication, Type: carecast.AttrBool, Ops: boolOps},
		{Key: FieldEmailUnsubscribed, Label: "Unsubscribed from email", Category: CategoryCommunication, Type: carecast.AttrBool, Ops: boolOps},
		{Key: FieldEmailSuppressed, Label: "Email suppressed (bounce/complaint)", Category: CategoryCommunication, Type: carecast.AttrBool, Ops: boolOps},
		{Key: FieldPhone, Label: "Phone number", Category: CategoryCommunication, Type: AttrString, Ops: presence},
		{Key: FieldEmail, Label: "Email address", Category: CategoryCommunication, Type: AttrString, Ops: presence},
		{Key: FieldPhoneLineType, Label: "Phone line type", Category: CategoryCommunication, Type: carecast.AttrEnum, Ops: OpsFor(carecast.AttrEnum),
			Values: []string{string(carecast.LineMobile), string(carecast.LineLandline), string(carecast.LineVoIP)}},
	}
}

// NewSchema returns the schema of the core fields plus attrs. It is
// NewSchemaWith(SchemaConfig{Attributes: attrs}).
func NewSchema(attrs ...AttrDef) (*Schema, error) {
	return NewSchemaWith(SchemaConfig{Attributes: attrs})
}

// SchemaConfig configures NewSchemaWith.
type SchemaConfig struct {
	// Attributes are the host's attribute declarations, in display order.
	Attributes []AttrDef
	// Choices optionally declares the known values of core text and set
	// fields: FieldLocation, FieldProvider, FieldGender and FieldTags.
	// A filter naming any other value for such a field is rejected
	// (CodeBadValue: "unknown tag"), and a filter-builder UI can offer the
	// values as a list (FieldDef.Values). Fields without choices accept
	// any value. Choices must be non-empty and unique.
	Choices map[string][]string
}

// NewSchemaWith returns the schema of the core fields plus cfg's
// attributes and choices. It returns an error of class ErrInvalidSchema
// naming the key if an attribute key is malformed, duplicated or a core
// field name, a label or category is empty, the type is unknown, enum
// values are missing, values are duplicated or empty, or Choices names a
// field other than location, provider, gender and tags.
func NewSchemaWith(cfg SchemaConfig) (*Schema, error) {
	s := &Schema{fields: coreFields(), byKey: map[string]int{}}
	for i := range s.fields {
		s.fields[i].Core = true
		s.byKey[s.fields[i].Key] = i
	}
	for key, vals := range cfg.Choices {
		switch key {
		case FieldLocation, FieldProvider, FieldGender, FieldTags:
		default:
			return nil, fmt.Errorf("%w: choices for %s: only location, provider, gender and tags take choices", ErrInvalidSchema, quoteName(key))
		}
		if err := validValues(vals); err != nil {
			return nil, fmt.Errorf("%w: choices for %s: %s", ErrInvalidSchema, quoteName(key), err.Error())
		}
		s.fields[s.byKey[key]].Values = slices.Clone(vals)
	}
	for _, a := range cfg.Attributes {
		if err := validAttrDef(a); err != nil {
			return nil, err
		}
		if _, dup := s.byKey[a.Key]; dup {
			return nil, fmt.Errorf("%w: attribute %s: duplicate key or core field name", ErrInvalidSchema, quoteName(a.Key))
		}
		s.byKey[a.Key] = len(s.fields)
		s.fields = append(s.fields, FieldDef{
			Key: a.Key, Label: a.Label, Category: a.Category, Type: a.Type,
			Ops: OpsFor(a.Type), Values: slices.Clone(a.Values),
		})
	}
	return s, nil
}

// validValues checks a list of choices: non-empty, unique, no empty value.
func validValues(vals []string) error {
	if len(vals) == 0 {
		return errors.New("no values")
	}
	seen := map[string]bool{}
	for _, v := range vals {
		if v == "" || seen[v] {
			return errors.New("values must be non-empty and unique")
		}
		seen[v] = true
	}
	return nil
}

// validAttrDef checks one attribute declaration.
func validAttrDef(a AttrDef) error {
	bad := func(what string) error {
		return fmt.Errorf("%w: attribute %s: %s", ErrInvalidSchema, quoteName(a.Key), what)
	}
	if !validKey(a.Key) {
		return bad("key must be 1-64 characters of a-z, 0-9, '_' starting with a letter")
	}
	if a.Label == "" {
		return bad("empty label")
	}
	if a.Category == "" {
		return bad("empty category")
	}
	if OpsFor(a.Type) == nil {
		return bad("unknown type")
	}
	switch {
	case a.Type == carecast.AttrEnum && len(a.Values) == 0:
		return bad("enum without values")
	case len(a.Values) == 0:
		return nil
	case a.Type != carecast.AttrEnum && a.Type != AttrString && a.Type != carecast.AttrStringSet:
		return bad("values are only allowed for enum, string and string_set attributes")
	}
	if err := validValues(a.Values); err != nil {
		return bad(err.Error())
	}
	return nil
}

// validKey reports whether k is a well-formed attribute key.
func validKey(k string) bool {
	if len(k) == 0 || len(k) > 64 || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// schemaOrCore returns s, or a core-only schema when s is nil.
func schemaOrCore(s *Schema) *Schema {
	if s == nil {
		core, _ := NewSchema() // cannot fail: no attributes
		return core
	}
	return s
}

// Fields returns every field (core first, then attributes in declaration
// order). The result is a copy the caller may modify.
func (s *Schema) Fields() []FieldDef {
	s = schemaOrCore(s)
	out := make([]FieldDef, len(s.fields))
	for i, f := range s.fields {
		f.Ops = slices.Clone(f.Ops)
		f.Values = slices.Clone(f.Values)
		out[i] = f
	}
	return out
}

// Field returns the definition of the field named key.
func (s *Schema) Field(key string) (FieldDef, bool) {
	s = schemaOrCore(s)
	i, ok := s.byKey[key]
	if !ok {
		return FieldDef{}, false
	}
	f := s.fields[i]
	f.Ops = slices.Clone(f.Ops)
	f.Values = slices.Clone(f.Values)
	return f, true
}

// Category is one group of fields for a filter-builder UI.
type Category struct {
	// Name is the category's display name.
	Name string `json:"name"`
	// Fields are the category's fields in schema order.
	Fields []FieldDef `json:"fields"`
}

// Categories returns the fields grouped by category, categories in order of
// first appearance (core categories first).
func (s *Schema) Categories() []Category {
	var out []Category
	idx := map[string]int{}
	for _, f := range s.Fields() {
		i, ok := idx[f.Category]
		if !ok {
			i = len(out)
			idx[f.Category] = i
			out = append(out, Category{Name: f.Category})
		}
		out[i].Fields = append(out[i].Fields, f)
	}
	return out
}

// MarshalJSON encodes the schema as {"categories":[…]}, the document a
// host's filter-builder UI is drawn from.
func (s *Schema) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		FilterVersion int        `json:"filter_version"`
		Categories    []Category `json:"categories"`
	}{FilterVersion, s.Categories()})
}

// lookup returns the definition of key without copying.
func (s *Schema) lookup(key string) (*FieldDef, bool) {
	s = schemaOrCore(s)
	i, ok := s.byKey[key]
	if !ok {
		return nil, false
	}
	return &s.fields[i], true
}
