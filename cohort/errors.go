package cohort

import (
	"errors"
	"strings"
)

// ErrNotFound is returned (possibly wrapped) when a cohort or patient does
// not exist in the organisation asked for. A cohort of another
// organisation is reported as not found, never as forbidden.
var ErrNotFound = errors.New("cohort: not found")

// ErrInvalidFilter is the class of every *FilterError: test for it with
// errors.Is(err, cohort.ErrInvalidFilter).
var ErrInvalidFilter = errors.New("cohort: invalid filter")

// ErrInvalidCohort is the class of errors from saving a malformed Cohort
// (missing name or organisation, both a filter and a contact list, …).
var ErrInvalidCohort = errors.New("cohort: invalid cohort")

// ErrInvalidSchema is the class of errors from [NewSchema].
var ErrInvalidSchema = errors.New("cohort: invalid schema")

// ErrInvalidChange is the class of errors from ApplyContactChange for a
// change that is malformed (unknown kind, empty patient ID).
var ErrInvalidChange = errors.New("cohort: invalid contact change")

// ErrorCode classifies a *FilterError.
type ErrorCode string

// The filter error codes.
const (
	CodeBadJSON        ErrorCode = "bad_json"        // malformed JSON or an unknown JSON field
	CodeBadVersion     ErrorCode = "bad_version"     // missing or unsupported format version
	CodeBadExpr        ErrorCode = "bad_expr"        // a node that is not exactly one of and/or/not/condition, or an empty group
	CodeUnknownField   ErrorCode = "unknown_field"   // the field is neither a core field nor a declared attribute
	CodeBadOperator    ErrorCode = "bad_operator"    // the operator is unknown or not allowed for the field's type
	CodeBadValue       ErrorCode = "bad_value"       // the operand is missing, in the wrong slot, of the wrong count or out of range
	CodeContradiction  ErrorCode = "contradiction"   // a range that no value can satisfy (between min > max, age > 60 AND age < 30)
	CodeTooDeep        ErrorCode = "too_deep"        // the expression nests deeper than MaxDepth
	CodeTooManyOperand ErrorCode = "too_many_values" // more than MaxOperands values in one condition
)

// FilterError reports why a filter is invalid. It names the place in the
// expression (Path, such as "where.and[2].not") and the field, never a
// patient's data or an operand's text. Its class is ErrInvalidFilter.
type FilterError struct {
	// Path locates the offending node ("where", "where.or[1]"); empty for
	// document-level problems (JSON, version).
	Path string
	// Field is the condition's field, when the problem is in a condition.
	Field string
	// Code classifies the problem.
	Code ErrorCode
	// Detail is a human-readable explanation without operand text.
	Detail string
	// Err is the underlying error, if any (a JSON decoding error).
	Err error
}

// Error formats the error as "cohort: invalid filter at PATH: field "F": DETAIL".
func (e *FilterError) Error() string {
	var b strings.Builder
	b.WriteString("cohort: invalid filter")
	if e.Path != "" {
		b.WriteString(" at ")
		b.WriteString(e.Path)
	}
	if e.Field != "" {
		b.WriteString(": field ")
		b.WriteString(quoteName(e.Field))
	}
	b.WriteString(": ")
	b.WriteString(string(e.Code))
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *FilterError) Unwrap() error { return e.Err }

// Is reports whether target is ErrInvalidFilter.
func (e *FilterError) Is(target error) bool { return target == ErrInvalidFilter }

// quoteName quotes a field name for an error message, truncating and
// sanitising it so that a hostile "field" cannot smuggle long text into
// logs.
func quoteName(s string) string {
	const max = 64
	var b strings.Builder
	b.WriteByte('"')
	n := 0
	for _, r := range s {
		if n == max {
			b.WriteString("…")
			break
		}
		n++
		if r < 0x20 || r == '"' || r == '\\' || r == 0x7f {
			b.WriteByte('?')
			continue
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}
