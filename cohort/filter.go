package cohort

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/carecast/carecast"
)

// FilterVersion is the version of the filter JSON format this package
// writes and the newest it reads. Filter documents carry it as "version".
const FilterVersion = 1

// Filter is a boolean expression over an organisation's patients. The zero
// Filter (Where == nil) matches every patient.
//
// A Filter is plain data: build it in Go with [And], [Or], [Not] and the
// condition constructors, or decode it from JSON. It is checked against a
// [Schema] by [Schema.Validate] or [Schema.Compile]; a PatientStore rejects
// an invalid filter with a *[FilterError].
//
// In JSON a Filter is an object with the format version and the expression:
//
//	{"version":1,"where":{"and":[
//	  {"field":"sms_marketing_opt_in","op":"equals","bool":true},
//	  {"not":{"field":"tags","op":"contains_any","strings":["vip"]}}]}}
//
// Decoding rejects unknown JSON fields, a missing or newer version, and
// trailing data. Encoding then decoding yields an equal Filter, and decoding
// then encoding yields the same bytes (round-trip stable).
type Filter struct {
	// Where is the expression; nil matches every patient.
	Where *Expr
}

// filterJSON is the wire shape of Filter.
type filterJSON struct {
	Version *int  `json:"version"`
	Where   *Expr `json:"where,omitempty"`
}

// MarshalJSON encodes f as {"version":1,"where":…}.
func (f Filter) MarshalJSON() ([]byte, error) {
	v := FilterVersion
	return json.Marshal(filterJSON{Version: &v, Where: f.Where})
}

// UnmarshalJSON decodes a filter document, rejecting unknown fields and
// unsupported versions with a *FilterError.
func (f *Filter) UnmarshalJSON(b []byte) error {
	if err := checkShape(b); err != nil {
		return err
	}
	var w filterJSON
	if err := decodeStrict(b, &w); err != nil {
		return &FilterError{Code: CodeBadJSON, Detail: jsonDetail(err), Err: err}
	}
	switch {
	case w.Version == nil:
		return &FilterError{Code: CodeBadVersion, Detail: "missing version"}
	case *w.Version < 1 || *w.Version > FilterVersion:
		return &FilterError{Code: CodeBadVersion, Detail: fmt.Sprintf("unsupported version %d (supported: 1..%d)", *w.Version, FilterVersion)}
	}
	f.Where = w.Where
	return nil
}

// ParseFilter decodes a filter document. Unlike json.Unmarshal, which
// reports malformed JSON as a *json.SyntaxError before Filter.UnmarshalJSON
// runs, every error it returns is a *FilterError. It does not validate the
// expression against a Schema (see Schema.Validate).
func ParseFilter(doc []byte) (Filter, error) {
	var f Filter
	if !json.Valid(doc) {
		err := decodeStrict(doc, new(any))
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return Filter{}, &FilterError{Code: CodeBadJSON, Detail: jsonDetail(err), Err: err}
	}
	if err := f.UnmarshalJSON(doc); err != nil {
		return Filter{}, err
	}
	return f, nil
}

// decodeStrict decodes one JSON value into v, rejecting unknown fields and
// trailing data.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after JSON value")
	}
	return nil
}

// maxJSONDepth is the deepest JSON nesting a filter within MaxDepth can
// have: the document and the root node, two levels per group (its member
// array and the member), one per NOT, one for an operand list; with
// slack.
const maxJSONDepth = 2*MaxDepth + 8

// checkShape reads a filter document once, without decoding it, and
// refuses one that decoding would turn into more than the filter limits
// allow (Schema.Plan checks them only after decoding, by which time a
// small document can have allocated without bound: 8 MiB of "{}," group
// members decoded into 600 MiB). It counts objects (every node is one, so
// at most MaxNodes plus the document), the members of and/or groups (at
// most MaxNodes), the values of other lists (at most MaxOperands) and the
// nesting depth. It allocates nothing. Malformed JSON is left to the
// decoder to report.
func checkShape(doc []byte) *FilterError {
	type frame struct {
		array  bool
		key    []byte // object: the current member's key, raw
		esc    bool   // the key has escapes
		commas int    // array: separators so far (members = commas+1)
		limit  int    // array: the most members allowed
		group  bool   // array: an and/or group
	}
	var stackBuf [maxJSONDepth + 1]frame // the depth check keeps it on the stack
	stack := stackBuf[:0]
	// path names the node holding stack[:n] the way Schema.Plan does
	// ("where.and[2].not"); built only for an error.
	path := func(n int) string {
		var b strings.Builder
		for k := 1; k < n; k++ {
			if parent := &stack[k-1]; parent.array {
				fmt.Fprintf(&b, "[%d]", parent.commas)
			} else {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(pathKey(parent.key))
			}
		}
		return b.String()
	}
	objects, expectKey := 0, false
	for i := 0; i < len(doc); i++ {
		switch doc[i] {
		case '"':
			j, esc := i+1, false
			for ; j < len(doc) && doc[j] != '"'; j++ {
				if doc[j] == '\\' {
					j++
					esc = true
				}
			}
			if j >= len(doc) {
				return nil
			}
			if n := len(stack); expectKey && n > 0 && !stack[n-1].array {
				stack[n-1].key, stack[n-1].esc = doc[i+1:j], esc
			}
			expectKey = false
			i = j
		case '{':
			stack = append(stack, frame{})
			expectKey = true
			if len(stack) > maxJSONDepth {
				return &FilterError{Path: path(len(stack)), Code: CodeTooDeep, Detail: fmt.Sprintf("nested deeper than %d", MaxDepth)}
			}
			if objects++; objects > MaxNodes+1 {
				return &FilterError{Path: path(len(stack)), Code: CodeTooDeep, Detail: fmt.Sprintf("more than %d nodes", MaxNodes)}
			}
		case '[':
			// The encoding/json decoder matches keys case-insensitively.
			f := frame{array: true, limit: MaxNodes} // under another array or an escaped key: the decoder decides
			if n := len(stack); n > 0 && !stack[n-1].array && !stack[n-1].esc {
				k := stack[n-1].key
				f.group = bytes.EqualFold(k, []byte("and")) || bytes.EqualFold(k, []byte("or"))
				if !f.group {
					f.limit = MaxOperands
				}
			}
			stack = append(stack, f)
			if len(stack) > maxJSONDepth {
				return &FilterError{Path: path(len(stack)), Code: CodeTooDeep, Detail: fmt.Sprintf("nested deeper than %d", MaxDepth)}
			}
		case '}', ']':
			if len(stack) == 0 {
				return nil
			}
			stack = stack[:len(stack)-1]
		case ',':
			n := len(stack)
			if n == 0 {
				return nil
			}
			top := &stack[n-1]
			if !top.array {
				expectKey = true
				continue
			}
			if top.commas++; top.commas >= top.limit {
				if top.group {
					return &FilterError{Path: path(n - 1), Code: CodeTooDeep, Detail: fmt.Sprintf("more than %d nodes", MaxNodes)}
				}
				return &FilterError{Path: path(n - 1), Code: CodeTooManyOperand, Detail: fmt.Sprintf("more than %d values", top.limit)}
			}
		}
	}
	return nil
}

// pathKey returns an object key for an error's path: the filter's own
// keys as they are, anything else as "?" (a path never carries document
// text).
func pathKey(k []byte) string {
	for _, name := range []string{"where", "and", "or", "not"} {
		if bytes.EqualFold(k, []byte(name)) {
			return name
		}
	}
	return "?"
}

// jsonDetail describes a JSON decoding error without quoting the input:
// encoding/json errors name fields and Go types, never values; syntax
// errors (which quote a character) are reduced to their offset; an
// unknown member's name, which is document text of any length, is
// truncated and sanitised like a field name.
func jsonDetail(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON: syntax error at byte offset %d", se.Offset)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if k, uerr := strconv.Unquote(name); uerr == nil {
			name = k
		}
		return "invalid JSON: unknown field " + quoteName(name)
	}
	return "invalid JSON: " + err.Error()
}

// Expr is one node of a filter expression: exactly one of an AND group, an
// OR group, a negation or a condition. Groups nest to any depth.
//
// In JSON a condition's fields sit directly in the node
// ({"field":"age","op":"between","numbers":[18,65]}), groups are
// {"and":[…]} / {"or":[…]} and negation is {"not":{…}}.
type Expr struct {
	// And holds the members of an AND group (all must match). It must not
	// be empty.
	And []Expr `json:"and,omitempty"`
	// Or holds the members of an OR group (at least one must match). It
	// must not be empty.
	Or []Expr `json:"or,omitempty"`
	// Not negates one expression. See the package documentation ("Unset
	// values") for how NOT treats patients without a value.
	Not *Expr `json:"not,omitempty"`
	// Cond is a single condition on one field.
	*Cond
}

// Cond is one condition: a field (a core field such as "age" or a host
// attribute key declared in the [Schema]), an operator and its operand.
//
// The operand goes in the slot matching the field's type, and only there:
//
//	string, enum, string_set  Strings (equals: 1; in, contains_*: ≥ 1)
//	number                    Numbers (equals, greater, less: 1; between: 2)
//	money                     Money in micro-units (as Numbers)
//	date                      Times (before, after: 1; between: 2), or
//	                          Days for within_last_days
//	bool                      Bool (equals)
//
// is_set and is_not_set take no operand. between is inclusive at both ends.
type Cond struct {
	// Field names the core field or attribute key.
	Field string `json:"field"`
	// Op is the operator; which are allowed depends on the field's type.
	Op Op `json:"op"`
	// Strings is the operand of string, enum and string_set conditions.
	Strings []string `json:"strings,omitempty"`
	// Numbers is the operand of number conditions (and of "age").
	Numbers []float64 `json:"numbers,omitempty"`
	// Money is the operand of money conditions, in micro-units.
	Money []carecast.Money `json:"money,omitempty"`
	// Times is the operand of date conditions.
	Times []time.Time `json:"times,omitempty"`
	// Bool is the operand of bool conditions.
	Bool *bool `json:"bool,omitempty"`
	// Days is the operand of within_last_days: the window ends at the
	// query's "now" and starts Days calendar days earlier.
	Days int `json:"days,omitempty"`
}

// Op is a condition operator.
type Op string

// The operators. Which ones a field accepts depends on its type; see
// [OpsFor].
const (
	OpEquals         Op = "equals"           // value equals the operand
	OpIn             Op = "in"               // value equals one of the operands
	OpContainsAny    Op = "contains_any"     // set holds at least one operand
	OpContainsAll    Op = "contains_all"     // set holds every operand
	OpContainsNone   Op = "contains_none"    // set holds no operand (true for an empty set)
	OpGreater        Op = "greater"          // value > operand
	OpLess           Op = "less"             // value < operand
	OpBetween        Op = "between"          // min ≤ value ≤ max
	OpBefore         Op = "before"           // instant < operand
	OpAfter          Op = "after"            // instant > operand
	OpWithinLastDays Op = "within_last_days" // now − Days ≤ instant ≤ now
	OpIsSet          Op = "is_set"           // the patient has a value
	OpIsNotSet       Op = "is_not_set"       // the patient has no value
)

// And returns an AND group of es.
func And(es ...Expr) Expr { return Expr{And: es} }

// Or returns an OR group of es.
func Or(es ...Expr) Expr { return Expr{Or: es} }

// Not returns the negation of e.
func Not(e Expr) Expr { return Expr{Not: &e} }

// Where returns a Filter whose expression is e.
func Where(e Expr) Filter { return Filter{Where: &e} }

// C returns the expression holding condition c.
func C(c Cond) Expr { return Expr{Cond: &c} }

// StringIs returns the condition field equals s (string and enum fields).
func StringIs(field, s string) Expr {
	return C(Cond{Field: field, Op: OpEquals, Strings: []string{s}})
}

// StringIn returns the condition field is one of ss (string and enum fields).
func StringIn(field string, ss ...string) Expr {
	return C(Cond{Field: field, Op: OpIn, Strings: ss})
}

// ContainsAny returns the condition set field holds at least one of ss.
func ContainsAny(field string, ss ...string) Expr {
	return C(Cond{Field: field, Op: OpContainsAny, Strings: ss})
}

// ContainsAll returns the condition set field holds all of ss.
func ContainsAll(field string, ss ...string) Expr {
	return C(Cond{Field: field, Op: OpContainsAll, Strings: ss})
}

// ContainsNone returns the condition set field holds none of ss.
func ContainsNone(field string, ss ...string) Expr {
	return C(Cond{Field: field, Op: OpContainsNone, Strings: ss})
}

// BoolIs returns the condition bool field equals b.
func BoolIs(field string, b bool) Expr {
	return C(Cond{Field: field, Op: OpEquals, Bool: &b})
}

// NumberOp returns the number condition field op ns (equals, greater, less:
// one operand; between: two).
func NumberOp(field string, op Op, ns ...float64) Expr {
	return C(Cond{Field: field, Op: op, Numbers: ns})
}

// MoneyOp returns the money condition field op ms (equals, greater, less:
// one operand; between: two).
func MoneyOp(field string, op Op, ms ...carecast.Money) Expr {
	return C(Cond{Field: field, Op: op, Money: ms})
}

// TimeOp returns the date condition field op ts (before, after: one
// operand; between: two).
func TimeOp(field string, op Op, ts ...time.Time) Expr {
	return C(Cond{Field: field, Op: op, Times: ts})
}

// WithinLastDays returns the condition date field lies within the last n
// days before the query's now.
func WithinLastDays(field string, n int) Expr {
	return C(Cond{Field: field, Op: OpWithinLastDays, Days: n})
}

// IsSet returns the condition the patient has a value for field.
func IsSet(field string) Expr { return C(Cond{Field: field, Op: OpIsSet}) }

// IsNotSet returns the condition the patient has no value for field.
func IsNotSet(field string) Expr { return C(Cond{Field: field, Op: OpIsNotSet}) }
