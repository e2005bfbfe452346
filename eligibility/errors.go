package eligibility

import "strconv"

// ReasonError is returned by [ParseReason] and [Reason.UnmarshalText]
// for a string that names no reason.
type ReasonError struct {
	// Name is the rejected input (truncated to 40 bytes in the message).
	Name string
}

// Error implements error.
func (e *ReasonError) Error() string {
	n := e.Name
	if len(n) > 40 {
		n = n[:40] + "…"
	}
	return "eligibility: unknown reason " + strconv.Quote(n)
}

// ArgError reports an invalid argument or configuration value: an
// undefined channel or purpose, or an unsupported phone region. It never
// carries patient data.
type ArgError struct {
	// Field names the argument or field ("channel", "purpose",
	// "Classifier.Region").
	Field string
	// Value is the rejected value.
	Value string
}

// Error implements error.
func (e *ArgError) Error() string {
	return "eligibility: invalid " + e.Field + " " + strconv.Quote(e.Value)
}
