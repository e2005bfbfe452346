package cohort

import (
	"time"

	"github.com/carecast/carecast"
)

// Matcher is a compiled filter: it tests in-memory patients without
// allocating. A Matcher is immutable and safe for concurrent use. Build one
// with [Schema.Compile].
type Matcher struct {
	match func(*carecast.Patient) bool // nil: every patient
}

// Compile validates f against s, lowers it at now (see [Schema.Plan]) and
// compiles it into a Matcher. Errors are *FilterError.
func (s *Schema) Compile(f Filter, now time.Time) (*Matcher, error) {
	p, err := s.Plan(f, now)
	if err != nil {
		return nil, err
	}
	return p.Matcher(), nil
}

// Matcher compiles the plan into a Matcher.
func (p *Plan) Matcher() *Matcher {
	if p.Root == nil {
		return &Matcher{}
	}
	return &Matcher{match: compileNode(p.Root)}
}

// Match reports whether p satisfies the filter.
func (m *Matcher) Match(p *carecast.Patient) bool {
	return m.match == nil || m.match(p)
}

// MatchesAll reports whether the matcher accepts every patient (the zero
// Filter).
func (m *Matcher) MatchesAll() bool { return m.match == nil }

// Count returns how many of ps match.
func (m *Matcher) Count(ps []carecast.Patient) int {
	if m.match == nil {
		return len(ps)
	}
	n := 0
	for i := range ps {
		if m.match(&ps[i]) {
			n++
		}
	}
	return n
}

type predFunc = func(*carecast.Patient) bool

// compileNode compiles one plan node.
func compileNode(n *Node) predFunc {
	switch n.Kind {
	case NodeNot:
		k := compileNode(n.Kids[0])
		return func(p *carecast.Patient) bool { return !k(p) }
	case NodePred:
		return compilePred(n.Pred)
	}
	kids := make([]predFunc, len(n.Kids))
	for i, k := range n.Kids {
		kids[i] = compileNode(k)
	}
	if len(kids) == 1 {
		return kids[0]
	}
	if n.Kind == NodeAnd {
		if len(kids) == 2 {
			a, b := kids[0], kids[1]
			return func(p *carecast.Patient) bool { return a(p) && b(p) }
		}
		return func(p *carecast.Patient) bool {
			for _, k := range kids {
				if !k(p) {
					return false
				}
			}
			return true
		}
	}
	if len(kids) == 2 {
		a, b := kids[0], kids[1]
		return func(p *carecast.Patient) bool { return a(p) || b(p) }
	}
	return func(p *carecast.Patient) bool {
		for _, k := range kids {
			if k(p) {
				return true
			}
		}
		return false
	}
}

// compilePred compiles one predicate over the field's accessor.
func compilePred(pr *Pred) predFunc {
	def := &pr.Field
	switch def.Type {
	case carecast.AttrStringSet:
		return setPred(pr, setGetter(def))
	case carecast.AttrBool:
		get := boolGetter(def)
		switch pr.Kind {
		case PredIsSet:
			return func(p *carecast.Patient) bool { _, ok := get(p); return ok }
		case PredIsNotSet:
			return func(p *carecast.Patient) bool { _, ok := get(p); return !ok }
		}
		want := pr.Bool
		return func(p *carecast.Patient) bool { v, ok := get(p); return ok && v == want }
	case AttrString, carecast.AttrEnum:
		return stringPred(pr, stringGetter(def))
	}
	// number, money, date: is_set / is_not_set / range over an int64 or
	// float64 key.
	if def.Type == carecast.AttrNumber && def.Key != FieldAge {
		get := numberGetter(def)
		switch pr.Kind {
		case PredIsSet:
			return func(p *carecast.Patient) bool { _, ok := get(p); return ok }
		case PredIsNotSet:
			return func(p *carecast.Patient) bool { _, ok := get(p); return !ok }
		}
		r := pr.Range
		return func(p *carecast.Patient) bool {
			v, ok := get(p)
			if !ok {
				return false
			}
			if r.HasMin && (v < r.MinNum || v == r.MinNum && !r.MinIncl) {
				return false
			}
			return !r.HasMax || v < r.MaxNum || v == r.MaxNum && r.MaxIncl
		}
	}
	get := intGetter(def)
	switch pr.Kind {
	case PredIsSet:
		return func(p *carecast.Patient) bool { _, ok := get(p); return ok }
	case PredIsNotSet:
		return func(p *carecast.Patient) bool { _, ok := get(p); return !ok }
	}
	lo, hi := intBounds(def, pr.Range)
	r := pr.Range
	return func(p *carecast.Patient) bool {
		v, ok := get(p)
		if !ok {
			return false
		}
		if r.HasMin && (v < lo || v == lo && !r.MinIncl) {
			return false
		}
		return !r.HasMax || v < hi || v == hi && r.MaxIncl
	}
}

// intBounds returns the range bounds as the int64 keys intGetter yields.
func intBounds(def *FieldDef, r Range) (lo, hi int64) {
	switch {
	case def.Key == FieldAge:
		return dateKey(r.MinDate), dateKey(r.MaxDate)
	case def.Type == carecast.AttrMoney:
		return int64(r.MinMoney), int64(r.MaxMoney)
	}
	return r.MinTime.UnixMicro(), r.MaxTime.UnixMicro()
}

// stringPred compiles a predicate on a string or enum field.
func stringPred(pr *Pred, get func(*carecast.Patient) (string, bool)) predFunc {
	switch pr.Kind {
	case PredIsSet:
		return func(p *carecast.Patient) bool { _, ok := get(p); return ok }
	case PredIsNotSet:
		return func(p *carecast.Patient) bool { _, ok := get(p); return !ok }
	}
	if len(pr.Strings) == 1 {
		want := pr.Strings[0]
		return func(p *carecast.Patient) bool { v, ok := get(p); return ok && v == want }
	}
	if len(pr.Strings) <= 8 {
		want := pr.Strings
		return func(p *carecast.Patient) bool {
			v, ok := get(p)
			return ok && contains(want, v)
		}
	}
	set := make(map[string]struct{}, len(pr.Strings))
	for _, s := range pr.Strings {
		set[s] = struct{}{}
	}
	return func(p *carecast.Patient) bool {
		v, ok := get(p)
		if !ok {
			return false
		}
		_, in := set[v]
		return in
	}
}

// setPred compiles a predicate on a string_set field. An unset set is the
// empty set.
func setPred(pr *Pred, get func(*carecast.Patient) []string) predFunc {
	want := pr.Strings
	switch pr.Kind {
	case PredIsSet:
		return func(p *carecast.Patient) bool { return len(get(p)) > 0 }
	case PredIsNotSet:
		return func(p *carecast.Patient) bool { return len(get(p)) == 0 }
	case PredContainsAny:
		return func(p *carecast.Patient) bool { return anyIn(get(p), want) }
	case PredContainsNone:
		return func(p *carecast.Patient) bool { return !anyIn(get(p), want) }
	}
	return func(p *carecast.Patient) bool { // contains all
		have := get(p)
		for _, w := range want {
			if !contains(have, w) {
				return false
			}
		}
		return true
	}
}

// anyIn reports whether have and want share an element.
func anyIn(have, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if h == w {
				return true
			}
		}
	}
	return false
}

// attr returns the patient's value of attribute def if it is set and of
// the declared type.
func attr(p *carecast.Patient, def *FieldDef) (carecast.AttrValue, bool) {
	v, ok := p.Attributes[def.Key]
	return v, ok && v.Type == def.Type
}

func stringGetter(def *FieldDef) func(*carecast.Patient) (string, bool) {
	if !def.Core {
		key, typ := def.Key, def.Type
		return func(p *carecast.Patient) (string, bool) {
			v, ok := p.Attributes[key]
			return v.String, ok && v.Type == typ && v.String != ""
		}
	}
	var f func(*carecast.Patient) string
	switch def.Key {
	case FieldLocation:
		f = func(p *carecast.Patient) string { return p.LocationID }
	case FieldProvider:
		f = func(p *carecast.Patient) string { return p.ProviderID }
	case FieldGender:
		f = func(p *carecast.Patient) string { return p.Gender }
	case FieldPhone:
		f = func(p *carecast.Patient) string { return p.Phone }
	case FieldEmail:
		f = func(p *carecast.Patient) string { return p.Email }
	case FieldPhoneLineType:
		f = func(p *carecast.Patient) string { return string(p.PhoneLineType) }
	default:
		panic("cohort: no accessor for core string field " + def.Key) // programmer error: coreFields and this switch disagree
	}
	return func(p *carecast.Patient) (string, bool) { v := f(p); return v, v != "" }
}

func setGetter(def *FieldDef) func(*carecast.Patient) []string {
	if def.Core {
		return func(p *carecast.Patient) []string { return p.Tags }
	}
	key := def.Key
	return func(p *carecast.Patient) []string {
		v, ok := p.Attributes[key]
		if !ok || v.Type != carecast.AttrStringSet {
			return nil
		}
		return v.Set
	}
}

func boolGetter(def *FieldDef) func(*carecast.Patient) (bool, bool) {
	if !def.Core {
		return func(p *carecast.Patient) (bool, bool) {
			v, ok := attr(p, def)
			return v.Bool, ok
		}
	}
	var f func(*carecast.Patient) bool
	switch def.Key {
	case FieldActive:
		f = func(p *carecast.Patient) bool { return p.Active }
	case FieldSMSOptedOut:
		f = func(p *carecast.Patient) bool { return p.Consent.SMSOptedOut }
	case FieldSMSBlocked:
		f = func(p *carecast.Patient) bool { return p.Consent.SMSBlocked }
	case FieldSMSMarketingOptIn:
		f = func(p *carecast.Patient) bool { return p.Consent.SMSMarketingOptIn }
	case FieldEmailMarketingOptIn:
		f = func(p *carecast.Patient) bool { return p.Consent.EmailMarketingOptIn }
	case FieldEmailUnsubscribed:
		f = func(p *carecast.Patient) bool { return p.Consent.EmailUnsubscribed }
	case FieldEmailSuppressed:
		f = func(p *carecast.Patient) bool { return p.Consent.EmailSuppressed }
	default:
		panic("cohort: no accessor for core bool field " + def.Key) // programmer error
	}
	return func(p *carecast.Patient) (bool, bool) { return f(p), true }
}

func numberGetter(def *FieldDef) func(*carecast.Patient) (float64, bool) {
	return func(p *carecast.Patient) (float64, bool) {
		v, ok := attr(p, def)
		return v.Number, ok
	}
}

// intGetter returns an accessor yielding money (micro-units), dates (Unix
// microseconds) or, for age, the date of birth as YYYYMMDD.
func intGetter(def *FieldDef) func(*carecast.Patient) (int64, bool) {
	switch {
	case def.Key == FieldAge:
		return func(p *carecast.Patient) (int64, bool) {
			d := p.DateOfBirth
			return dateKey(d), !d.IsZero()
		}
	case def.Key == FieldLastVisit:
		return func(p *carecast.Patient) (int64, bool) {
			t := p.LastVisit
			return t.UnixMicro(), !t.IsZero()
		}
	case def.Type == carecast.AttrMoney:
		return func(p *carecast.Patient) (int64, bool) {
			v, ok := attr(p, def)
			return int64(v.Money), ok
		}
	}
	return func(p *carecast.Patient) (int64, bool) {
		v, ok := attr(p, def)
		return v.Time.UnixMicro(), ok && !v.Time.IsZero()
	}
}
