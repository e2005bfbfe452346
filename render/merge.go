package render

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/carecast/carecast"
)

// Data is what a template is rendered with: one patient and the
// organization sending the blast. Either may be nil; the fields that read a
// nil one are missing (see the package documentation, "Missing values").
type Data struct {
	// Patient supplies every field except organization_name.
	Patient *carecast.Patient
	// Org supplies organization_name and the region used to read phone
	// numbers written without a country code (PhoneRegion, default "US").
	Org *carecast.Organization
}

// Field describes one merge field for the editor's @ menu.
type Field struct {
	// Key is what the stored token holds: {{Key}}.
	Key string
	// Label is the menu entry ("First name").
	Label string
	// Description says what the patient sees.
	Description string
	// Example is a sample value, also used to estimate lengths while the
	// user types (see SMSTemplate.Preview).
	Example string
}

// mergeKey identifies a merge field inside a parsed template.
type mergeKey uint8

// The merge fields, in the guide's order. The zero value means "no field".
const (
	mergeNone mergeKey = iota
	mergeFirstName
	mergeLastName
	mergeFullName
	mergePreferredName
	mergeDateOfBirth
	mergeBirthday
	mergePhone
	mergeEmail
	mergePatientID
	mergeOrgName
	mergeKeyCount
)

// mergeFields is the read-only field table, indexed by mergeKey.
var mergeFields = [mergeKeyCount]Field{
	mergeFirstName:     {"first_name", "First name", "Patient's first name", "Jane"},
	mergeLastName:      {"last_name", "Last name", "Patient's last name", "Smith"},
	mergeFullName:      {"full_name", "Full name", "Patient's full name", "Jane Smith"},
	mergePreferredName: {"preferred_name", "Preferred name", "Patient's preferred name (falls back to first name)", "Janie"},
	mergeDateOfBirth:   {"date_of_birth", "Date of birth", "Patient's date of birth", "January 15, 1990"},
	mergeBirthday:      {"birthday", "Birthday", "Patient's birthday without the year", "January 15"},
	mergePhone:         {"phone", "Phone number", "Patient's phone number", "(555) 123-4567"},
	mergeEmail:         {"email", "Email", "Patient's email address", "jane.smith@example.com"},
	mergePatientID:     {"patient_id", "Patient ID", "Patient's ID", "P-10042"},
	mergeOrgName:       {"organization_name", "Organization name", "Your organization's name", "Sunrise Family Clinic"},
}

// Fields returns the available merge fields in the order of the guide's
// table, for the editor's @ menu. The slice is a fresh copy.
func Fields() []Field {
	out := make([]Field, 0, mergeKeyCount-1)
	for k := mergeFirstName; k < mergeKeyCount; k++ {
		out = append(out, mergeFields[k])
	}
	return out
}

// mergeLookup returns the mergeKey for a field key, or mergeNone.
func mergeLookup(key string) mergeKey {
	for k := mergeFirstName; k < mergeKeyCount; k++ {
		if mergeFields[k].Key == key {
			return k
		}
	}
	return mergeNone
}

// FieldRef is one merge token found in a template: its key as written and
// the byte offset of its opening "{{" in the template source.
type FieldRef struct {
	Key    string
	Offset int
}

// MaxReportedFields is how many unknown tokens an *UnknownFieldsError
// lists, twice over: that many naming clinical information (see
// PHIFields) and that many others; Count has them all. A template of a million "{{x}}" costs one short
// list, not a million entries.
const MaxReportedFields = 20

// maxReportedKey is the longest key an *UnknownFieldsError keeps, in
// bytes (cut at a character boundary).
const maxReportedKey = 64

// UnknownFieldsError is returned by ParseTemplate when tokens name fields
// that do not exist. Fields lists the first MaxReportedFields unknown
// tokens in source order (and every token naming clinical information
// among the first MaxReportedFields of those), each key cut to 64 bytes;
// Count is how many unknown tokens there are in all. The keys come from
// the template text, never from patient data. When a key names clinical
// information ("{{.Diagnosis}}", "{{lab_result}}") the error also matches
// ErrPHIField (see PHIFields).
type UnknownFieldsError struct {
	Fields []FieldRef
	// Count is the number of unknown tokens, listed or not. Zero in an
	// error built by hand means len(Fields).
	Count int

	phi    []bool // phi[i]: Fields[i] names clinical information (computed on the whole key)
	anyPHI bool   // some unknown token, listed or not, names clinical information
}

// Total returns Count, or len(Fields) when Count was not set.
func (e *UnknownFieldsError) Total() int {
	if e.Count > len(e.Fields) {
		return e.Count
	}
	return len(e.Fields)
}

// add records one unknown token: counted always, listed while the lists
// have room.
func (e *UnknownFieldsError) add(key string, offset int) {
	e.Count++
	phi := phiKey(key)
	e.anyPHI = e.anyPHI || phi
	nPHI := 0
	for _, p := range e.phi {
		if p {
			nPHI++
		}
	}
	if phi && nPHI >= MaxReportedFields || !phi && len(e.Fields)-nPHI >= MaxReportedFields {
		return
	}
	if len(key) > maxReportedKey {
		cut := maxReportedKey
		for cut > 0 && !utf8.RuneStart(key[cut]) {
			cut--
		}
		key = key[:cut]
	}
	e.Fields = append(e.Fields, FieldRef{Key: key, Offset: offset})
	e.phi = append(e.phi, phi)
}

// Error lists the unknown keys and their offsets.
func (e *UnknownFieldsError) Error() string {
	var b strings.Builder
	b.WriteString("render: unknown merge field")
	if e.Total() > 1 {
		b.WriteString("s")
	}
	for i, f := range e.Fields {
		if i > 0 {
			b.WriteString(",")
		}
		key := f.Key
		if len(key) > 40 {
			cut := 40
			for cut > 0 && !utf8.RuneStart(key[cut]) {
				cut--
			}
			key = key[:cut] + "…"
		}
		fmt.Fprintf(&b, " %q at byte %d", key, f.Offset)
	}
	if more := e.Total() - len(e.Fields); more > 0 {
		fmt.Fprintf(&b, " and %d more", more)
	}
	return b.String()
}

// TemplateSyntaxError is returned by ParseTemplate for a "{{" that is
// never closed by "}}". Offset is the byte offset of the "{{".
type TemplateSyntaxError struct {
	Offset int
}

// Error names the offset of the unclosed token.
func (e *TemplateSyntaxError) Error() string {
	return fmt.Sprintf("render: merge token at byte %d is not closed with \"}}\" (write a literal \"{{\" as \"{{{{\")", e.Offset)
}

// mergePart is a literal run followed by an optional field.
type mergePart struct {
	lit      string
	key      mergeKey
	fallback string
}

// Template is a parsed, reusable merge template. Parse it once with
// ParseTemplate and render it once per recipient; a Template is immutable
// and safe for concurrent use.
type Template struct {
	src     string
	parts   []mergePart
	litLen  int
	nFields int
	keys    []string
}

// ParseTemplate parses stored template text (see the package documentation,
// "Merge fields"). A token naming an unknown field makes it return an
// *UnknownFieldsError counting every unknown token (matching ErrPHIField
// when one names clinical information); a "{{" without a closing "}}"
// returns a *TemplateSyntaxError.
func ParseTemplate(text string) (*Template, error) {
	t := &Template{src: text}
	var unknown UnknownFieldsError
	var lit strings.Builder
	var seen [mergeKeyCount]bool
	err := mergeScan(text, func(s string) { lit.WriteString(s) }, func(start, end int) {
		keyText, fallback, _ := strings.Cut(text[start+2:end-2], "|")
		keyText = strings.TrimSpace(keyText)
		k := mergeLookup(keyText)
		if k == mergeNone {
			unknown.add(keyText, start)
			return
		}
		if !seen[k] {
			seen[k] = true
			t.keys = append(t.keys, mergeFields[k].Key)
		}
		t.parts = append(t.parts, mergePart{lit: lit.String(), key: k, fallback: fallback})
		t.litLen += lit.Len() + len(fallback)
		t.nFields++
		lit.Reset()
	})
	if err != nil {
		return nil, err
	}
	if unknown.Count > 0 {
		return nil, &unknown
	}
	if lit.Len() > 0 || len(t.parts) == 0 {
		t.parts = append(t.parts, mergePart{lit: lit.String()})
		t.litLen += lit.Len()
	}
	return t, nil
}

// mergeScan reads template text the one way every template reader in this
// package must: a "{{" followed by "{{" is a literal "{{"; any other "{{"
// opens a token that runs to the next "}}". It calls lit with each run of
// literal text as it renders (escapes resolved; runs may be split) and tok
// with each token's byte range [start, end) in text, braces included, in
// order. A token never closed returns a *TemplateSyntaxError.
func mergeScan(text string, lit func(string), tok func(start, end int)) error {
	i := 0
	for {
		j := strings.Index(text[i:], "{{")
		if j < 0 {
			break
		}
		j += i
		if strings.HasPrefix(text[j+2:], "{{") { // escaped literal "{{"
			lit(text[i : j+2])
			i = j + 4
			continue
		}
		end := strings.Index(text[j+2:], "}}")
		if end < 0 {
			return &TemplateSyntaxError{Offset: j}
		}
		end += j + 4
		if j > i {
			lit(text[i:j])
		}
		tok(j, end)
		i = end
	}
	if i < len(text) {
		lit(text[i:])
	}
	return nil
}

// EscapeText returns plain text written so that ParseTemplate reads it back
// unchanged: every "{{" becomes "{{{{". Editors use it for text the user
// typed between inserted fields.
func EscapeText(s string) string {
	return strings.ReplaceAll(s, "{{", "{{{{")
}

// Source returns the template text exactly as given to ParseTemplate.
func (t *Template) Source() string { return t.src }

// FieldKeys returns the distinct field keys the template uses, in order
// of first use. The slice is a fresh copy.
func (t *Template) FieldKeys() []string {
	return append([]string(nil), t.keys...)
}

// Render returns the template personalised for d. Missing values render as
// the token's fallback, or as nothing.
func (t *Template) Render(d Data) string {
	b := make([]byte, 0, t.litLen+24*t.nFields)
	b = t.AppendRender(b, d, nil)
	// b is never written again, so it can back the string directly.
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// AppendRender appends the template personalised for d to dst and returns
// the extended slice. When escape is not nil it is applied to every
// substituted value (a field's value or a token's fallback text), never to
// the template's literal text; email composition passes an HTML escaper.
// A nil escape appends values raw.
func (t *Template) AppendRender(dst []byte, d Data, escape func(dst []byte, value string) []byte) []byte {
	for i := range t.parts {
		p := &t.parts[i]
		dst = append(dst, p.lit...)
		if p.key == mergeNone {
			continue
		}
		if escape == nil {
			n := len(dst)
			dst = mergeAppendValue(dst, p.key, d)
			if len(dst) == n {
				dst = append(dst, p.fallback...)
			}
			continue
		}
		var scratch [64]byte
		v := mergeAppendValue(scratch[:0], p.key, d)
		if len(v) == 0 {
			dst = escape(dst, p.fallback)
		} else {
			dst = escape(dst, string(v))
		}
	}
	return dst
}

// RenderSample returns the template rendered for previews: values d has
// are used, and every missing value is replaced by the field's Example
// (not by the token's fallback), so that a template is measured with
// realistic content before any patient is chosen.
func (t *Template) RenderSample(d Data) string {
	b := make([]byte, 0, t.litLen+24*t.nFields)
	for i := range t.parts {
		p := &t.parts[i]
		b = append(b, p.lit...)
		if p.key == mergeNone {
			continue
		}
		n := len(b)
		b = mergeAppendValue(b, p.key, d)
		if len(b) == n {
			b = append(b, mergeFields[p.key].Example...)
		}
	}
	return string(b)
}

// FieldValue returns the value field key has for d, formatted as the
// patient sees it (no fallback applies). ok is false when the key is not a
// merge field or the value is missing.
func FieldValue(key string, d Data) (value string, ok bool) {
	k := mergeLookup(key)
	if k == mergeNone {
		return "", false
	}
	v := mergeAppendValue(nil, k, d)
	return string(v), len(v) > 0
}

// mergeAppendValue appends field k's display value for d to dst. Values
// are trimmed of surrounding white space; a missing value appends nothing.
func mergeAppendValue(dst []byte, k mergeKey, d Data) []byte {
	if k == mergeOrgName {
		if d.Org == nil {
			return dst
		}
		return append(dst, strings.TrimSpace(d.Org.DisplayName())...)
	}
	p := d.Patient
	if p == nil {
		return dst
	}
	switch k {
	case mergeFirstName:
		return append(dst, strings.TrimSpace(p.FirstName)...)
	case mergeLastName:
		return append(dst, strings.TrimSpace(p.LastName)...)
	case mergeFullName:
		first, last := strings.TrimSpace(p.FirstName), strings.TrimSpace(p.LastName)
		dst = append(dst, first...)
		if first != "" && last != "" {
			dst = append(dst, ' ')
		}
		return append(dst, last...)
	case mergePreferredName:
		s := strings.TrimSpace(p.PreferredName)
		if s == "" {
			s = strings.TrimSpace(p.FirstName)
		}
		return append(dst, s...)
	case mergeDateOfBirth, mergeBirthday:
		dob := p.DateOfBirth
		if !dob.Valid() {
			return dst
		}
		dst = append(dst, dob.Month.String()...)
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, int64(dob.Day), 10)
		if k == mergeDateOfBirth {
			dst = append(dst, ", "...)
			dst = strconv.AppendInt(dst, int64(dob.Year), 10)
		}
		return dst
	case mergePhone:
		region := ""
		if d.Org != nil {
			region = d.Org.PhoneRegion
		}
		return mergeAppendPhone(dst, p.Phone, region)
	case mergeEmail:
		return append(dst, strings.TrimSpace(p.Email)...)
	case mergePatientID:
		return append(dst, strings.TrimSpace(p.ID)...)
	}
	return dst
}
