package cohort

import (
	"cmp"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/carecast/carecast"
)

// Limits on one filter, to keep validation and evaluation bounded.
const (
	// MaxDepth is the deepest nesting of groups and NOTs a filter may have.
	MaxDepth = 32
	// MaxOperands is the most values one condition may list.
	MaxOperands = 1000
	// MaxNodes is the most nodes (groups, NOTs and conditions) a filter may have.
	MaxNodes = 10000
	// MaxAge is the largest age operand accepted.
	MaxAge = 200
	// MaxDays is the largest within_last_days operand accepted (100 years).
	MaxDays = 36600
)

// Plan is a validated filter lowered to canonical predicates with every
// relative quantity resolved against one "now": ages become date-of-birth
// ranges and "within the last N days" becomes an instant range. The
// in-memory matcher and package cohortsql both evaluate Plans, which is
// why they agree. Build one with [Schema.Plan]; a nil Root matches every
// patient.
type Plan struct {
	// Root is the lowered expression, nil for "every patient".
	Root *Node
}

// NodeKind is the kind of a Plan node.
type NodeKind int

// The kinds of Plan nodes.
const (
	NodeAnd  NodeKind = iota + 1 // all Kids match
	NodeOr                       // at least one Kid matches
	NodeNot                      // Kids[0] does not match
	NodePred                     // Pred matches
)

// Node is one node of a Plan.
type Node struct {
	// Kind says which of Kids or Pred is meaningful.
	Kind NodeKind
	// Kids are the operands of And, Or (≥ 1) and Not (exactly 1).
	Kids []*Node
	// Pred is the predicate of a NodePred.
	Pred *Pred
}

// PredKind is the kind of a lowered predicate.
type PredKind int

// The kinds of lowered predicates. Every predicate except PredIsNotSet
// and PredContainsNone is false for a patient without a value.
const (
	PredIsSet        PredKind = iota + 1 // the patient has a value
	PredIsNotSet                         // the patient has no value
	PredStringIn                         // value ∈ Strings (equals is a one-element in)
	PredContainsAny                      // set ∩ Strings ≠ ∅
	PredContainsAll                      // Strings ⊆ set
	PredContainsNone                     // set ∩ Strings = ∅ (true for an empty set)
	PredBoolEquals                       // value == Bool
	PredRange                            // value within Range
)

// Pred is one lowered condition.
type Pred struct {
	// Field is the field's definition from the schema. For FieldAge the
	// predicate ranges over the date of birth (Range.MinDate/MaxDate).
	Field FieldDef
	// Kind is the predicate's kind.
	Kind PredKind
	// Strings is the operand of PredStringIn and the PredContains kinds.
	Strings []string
	// Bool is the operand of PredBoolEquals.
	Bool bool
	// Range is the operand of PredRange.
	Range Range
}

// Range is an interval over one of four value kinds; which one follows
// from the field's type (number, money, date) or, for FieldAge, Date.
// A missing bound is unbounded. Times are compared at microsecond
// precision.
type Range struct {
	HasMin, HasMax   bool // whether each bound exists
	MinIncl, MaxIncl bool // whether each bound is inclusive

	MinNum, MaxNum     float64        // number fields
	MinMoney, MaxMoney carecast.Money // money fields
	MinTime, MaxTime   time.Time      // date fields
	MinDate, MaxDate   carecast.Date  // FieldAge: date of birth
}

// Plan validates f against s and lowers it at now. Errors are
// *FilterError (class ErrInvalidFilter) naming the path and field.
func (s *Schema) Plan(f Filter, now time.Time) (*Plan, error) {
	s = schemaOrCore(s)
	if f.Where == nil {
		return &Plan{}, nil
	}
	p := planner{s: s, now: now}
	root, err := p.node(f.Where, "where", 0)
	if err != nil {
		return nil, err
	}
	return &Plan{Root: root}, nil
}

// Validate checks f against s without lowering it. It returns nil or a
// *FilterError.
func (s *Schema) Validate(f Filter) error {
	_, err := s.Plan(f, time.Unix(0, 0).UTC())
	return err
}

// planner holds the state of one Plan call.
type planner struct {
	s     *Schema
	now   time.Time
	nodes int
	// choices holds, per field key, the set of a long choice list, built
	// on first use so that checking operands costs no more than reading
	// them.
	choices map[string]map[string]struct{}
}

// isChoice reports whether v is one of def's choices (def.Values is not
// empty).
func (p *planner) isChoice(def *FieldDef, v string) bool {
	if len(def.Values) <= 8 {
		return contains(def.Values, v)
	}
	set, ok := p.choices[def.Key]
	if !ok {
		set = make(map[string]struct{}, len(def.Values))
		for _, c := range def.Values {
			set[c] = struct{}{}
		}
		if p.choices == nil {
			p.choices = map[string]map[string]struct{}{}
		}
		p.choices[def.Key] = set
	}
	_, in := set[v]
	return in
}

// node lowers e found at path.
func (p *planner) node(e *Expr, path string, depth int) (*Node, error) {
	p.nodes++
	if p.nodes > MaxNodes {
		return nil, &FilterError{Path: path, Code: CodeTooDeep, Detail: fmt.Sprintf("more than %d nodes", MaxNodes)}
	}
	if depth > MaxDepth {
		return nil, &FilterError{Path: path, Code: CodeTooDeep, Detail: fmt.Sprintf("nested deeper than %d", MaxDepth)}
	}
	n := 0
	if e.And != nil {
		n++
	}
	if e.Or != nil {
		n++
	}
	if e.Not != nil {
		n++
	}
	if e.Cond != nil {
		n++
	}
	if n != 1 {
		return nil, &FilterError{Path: path, Code: CodeBadExpr, Detail: "a node must be exactly one of and, or, not, or a condition"}
	}
	switch {
	case e.Not != nil:
		k, err := p.node(e.Not, path+".not", depth+1)
		if err != nil {
			return nil, err
		}
		return &Node{Kind: NodeNot, Kids: []*Node{k}}, nil
	case e.Cond != nil:
		pr, err := p.pred(e.Cond, path)
		if err != nil {
			return nil, err
		}
		return &Node{Kind: NodePred, Pred: pr}, nil
	}
	kind, members, name := NodeAnd, e.And, "and"
	if e.Or != nil {
		kind, members, name = NodeOr, e.Or, "or"
	}
	if len(members) == 0 {
		return nil, &FilterError{Path: path, Code: CodeBadExpr, Detail: "empty " + name + " group"}
	}
	out := &Node{Kind: kind, Kids: make([]*Node, len(members))}
	for i := range members {
		k, err := p.node(&members[i], path+"."+name+"["+strconv.Itoa(i)+"]", depth+1)
		if err != nil {
			return nil, err
		}
		out.Kids[i] = k
	}
	if kind == NodeAnd {
		if err := checkContradictions(out, path); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// pred validates and lowers one condition.
func (p *planner) pred(c *Cond, path string) (*Pred, error) {
	fail := func(code ErrorCode, detail string) error {
		return &FilterError{Path: path, Field: c.Field, Code: code, Detail: detail}
	}
	def, ok := p.s.lookup(c.Field)
	if !ok {
		return nil, fail(CodeUnknownField, "not a core field or a declared attribute")
	}
	allowed := false
	for _, o := range def.Ops {
		allowed = allowed || o == c.Op
	}
	if !allowed {
		if !knownOp(c.Op) {
			return nil, fail(CodeBadOperator, "unknown operator")
		}
		return nil, fail(CodeBadOperator, fmt.Sprintf("operator %s is not allowed for a %s field", c.Op, def.Type))
	}
	// Exactly the operand slot the type and operator need may be filled.
	want := operandSlot(def, c.Op)
	for _, slot := range []struct {
		name string
		used bool
	}{
		{"strings", c.Strings != nil}, {"numbers", c.Numbers != nil}, {"money", c.Money != nil},
		{"times", c.Times != nil}, {"bool", c.Bool != nil}, {"days", c.Days != 0},
	} {
		if slot.used && slot.name != want {
			if want == "" {
				return nil, fail(CodeBadValue, fmt.Sprintf("operator %s takes no operand, got %s", c.Op, slot.name))
			}
			return nil, fail(CodeBadValue, fmt.Sprintf("operand must be in %s, got %s", want, slot.name))
		}
	}
	pr := &Pred{Field: *def}
	switch c.Op {
	case OpIsSet:
		pr.Kind = PredIsSet
		return pr, nil
	case OpIsNotSet:
		pr.Kind = PredIsNotSet
		return pr, nil
	case OpEquals, OpIn:
		if def.Type == carecast.AttrBool {
			if c.Bool == nil {
				return nil, fail(CodeBadValue, "missing bool operand")
			}
			pr.Kind, pr.Bool = PredBoolEquals, *c.Bool
			return pr, nil
		}
		if def.Type == carecast.AttrNumber || def.Type == carecast.AttrMoney {
			break // a range [v, v]
		}
		if err := p.strings(c, def, fail); err != nil {
			return nil, err
		}
		if c.Op == OpEquals && len(c.Strings) != 1 {
			return nil, fail(CodeBadValue, "equals takes exactly one value")
		}
		pr.Kind, pr.Strings = PredStringIn, dedupe(c.Strings)
		return pr, nil
	case OpContainsAny, OpContainsAll, OpContainsNone:
		if err := p.strings(c, def, fail); err != nil {
			return nil, err
		}
		pr.Kind = map[Op]PredKind{OpContainsAny: PredContainsAny, OpContainsAll: PredContainsAll, OpContainsNone: PredContainsNone}[c.Op]
		pr.Strings = dedupe(c.Strings)
		return pr, nil
	}
	pr.Kind = PredRange
	r, err := p.rangeOf(c, def, fail)
	if err != nil {
		return nil, err
	}
	pr.Range = r
	return pr, nil
}

// knownOp reports whether op is one of the defined operators.
func knownOp(op Op) bool {
	switch op {
	case OpEquals, OpIn, OpContainsAny, OpContainsAll, OpContainsNone, OpGreater, OpLess,
		OpBetween, OpBefore, OpAfter, OpWithinLastDays, OpIsSet, OpIsNotSet:
		return true
	}
	return false
}

// operandSlot names the Cond field that must hold the operand of op on a
// field of def's type ("" for none).
func operandSlot(def *FieldDef, op Op) string {
	switch op {
	case OpIsSet, OpIsNotSet:
		return ""
	case OpWithinLastDays:
		return "days"
	}
	switch def.Type {
	case carecast.AttrNumber:
		return "numbers"
	case carecast.AttrMoney:
		return "money"
	case carecast.AttrDate:
		return "times"
	case carecast.AttrBool:
		return "bool"
	}
	return "strings"
}

// strings validates a string operand list.
func (p *planner) strings(c *Cond, def *FieldDef, fail func(ErrorCode, string) error) error {
	if len(c.Strings) == 0 {
		return fail(CodeBadValue, "missing values")
	}
	if len(c.Strings) > MaxOperands {
		return fail(CodeTooManyOperand, fmt.Sprintf("more than %d values", MaxOperands))
	}
	for i, v := range c.Strings {
		if v == "" {
			return fail(CodeBadValue, fmt.Sprintf("value %d is empty", i))
		}
		if len(def.Values) > 0 && !p.isChoice(def, v) {
			return fail(CodeBadValue, fmt.Sprintf("value %d is not one of the field's choices", i))
		}
	}
	return nil
}

// rangeOf lowers a comparison (equals, greater, less, between, before,
// after, within_last_days) on a number, money, date or age field.
func (p *planner) rangeOf(c *Cond, def *FieldDef, fail func(ErrorCode, string) error) (Range, error) {
	var r Range
	count := map[Op]int{OpEquals: 1, OpIn: 1, OpGreater: 1, OpLess: 1, OpBefore: 1, OpAfter: 1, OpBetween: 2}
	n := 0
	switch def.Type {
	case carecast.AttrNumber:
		n = len(c.Numbers)
		for i, v := range c.Numbers {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return r, fail(CodeBadValue, fmt.Sprintf("value %d is not a finite number", i))
			}
		}
	case carecast.AttrMoney:
		n = len(c.Money)
	case carecast.AttrDate:
		n = len(c.Times)
		for i, t := range c.Times {
			if t.IsZero() {
				return r, fail(CodeBadValue, fmt.Sprintf("time %d is zero", i))
			}
		}
	}
	if c.Op == OpWithinLastDays {
		if c.Days < 1 || c.Days > MaxDays {
			return r, fail(CodeBadValue, fmt.Sprintf("days must be between 1 and %d", MaxDays))
		}
		r.HasMin, r.MinIncl, r.MinTime = true, true, truncMicro(p.now.AddDate(0, 0, -c.Days))
		r.HasMax, r.MaxIncl, r.MaxTime = true, true, truncMicro(p.now)
		return r, nil
	}
	if n != count[c.Op] {
		return r, fail(CodeBadValue, fmt.Sprintf("%s takes %d value(s), got %d", c.Op, count[c.Op], n))
	}
	lo, hi := 0, 0 // operand indexes of the bounds
	if c.Op == OpBetween {
		hi = 1
	}
	switch c.Op {
	case OpEquals, OpIn, OpBetween:
		r.HasMin, r.MinIncl, r.HasMax, r.MaxIncl = true, true, true, true
	case OpGreater, OpAfter:
		r.HasMin = true
	case OpLess, OpBefore:
		r.HasMax, hi = true, 0
	}
	switch def.Type {
	case carecast.AttrNumber:
		r.MinNum, r.MaxNum = c.Numbers[lo], c.Numbers[hi]
		if def.Key == FieldAge {
			return p.ageRange(c, r, fail)
		}
	case carecast.AttrMoney:
		r.MinMoney, r.MaxMoney = c.Money[lo], c.Money[hi]
	case carecast.AttrDate:
		r.MinTime, r.MaxTime = truncMicro(c.Times[lo]), truncMicro(c.Times[hi])
	}
	if r.empty(def) {
		return r, fail(CodeContradiction, "between: min is greater than max")
	}
	return r, nil
}

// ageRange turns an age range in whole years into a date-of-birth range:
// age ≥ a ⇔ dob ≤ (Y−a, M, D) and age ≤ b ⇔ dob > (Y−b−1, M, D), where
// (Y, M, D) is now's calendar date (dates are clamped to the month's last
// day, which is exact because no one is born on a day that does not
// exist). This matches carecast.Date.AgeOn.
func (p *planner) ageRange(c *Cond, r Range, fail func(ErrorCode, string) error) (Range, error) {
	for i, v := range c.Numbers {
		if v != math.Trunc(v) || v < 0 || v > MaxAge {
			return r, fail(CodeBadValue, fmt.Sprintf("age %d must be a whole number from 0 to %d", i, MaxAge))
		}
	}
	minAge, maxAge := -1, -1 // -1: unbounded
	switch c.Op {
	case OpEquals, OpIn, OpBetween:
		minAge, maxAge = int(r.MinNum), int(r.MaxNum)
	case OpGreater:
		minAge = int(r.MinNum) + 1
	case OpLess:
		maxAge = int(r.MaxNum) - 1
		if maxAge < 0 {
			return r, fail(CodeContradiction, "no age is less than 0")
		}
	}
	if minAge >= 0 && maxAge >= 0 && minAge > maxAge {
		return r, fail(CodeContradiction, "between: min is greater than max")
	}
	out := Range{}
	y, m, d := p.now.Date()
	if minAge >= 0 { // dob ≤ (y−minAge, m, d)
		out.HasMax, out.MaxIncl, out.MaxDate = true, true, clampDate(y-minAge, m, d)
	}
	if maxAge >= 0 { // dob > (y−maxAge−1, m, d)
		out.HasMin, out.MinDate = true, clampDate(y-maxAge-1, m, d)
	}
	return out, nil
}

// clampDate returns the date y-m-d, with d clamped to the month's length.
func clampDate(y int, m time.Month, d int) carecast.Date {
	last := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
	if d > last {
		d = last
	}
	return carecast.NewDate(y, m, d)
}

// truncMicro drops t's sub-microsecond part and monotonic reading.
func truncMicro(t time.Time) time.Time { return t.Truncate(time.Microsecond).Round(0) }

// empty reports whether no value satisfies r (for def's value kind).
func (r Range) empty(def *FieldDef) bool {
	if !r.HasMin || !r.HasMax {
		return false
	}
	var c int
	switch {
	case def.Key == FieldAge:
		c = cmp.Compare(dateKey(r.MinDate), dateKey(r.MaxDate))
	case def.Type == carecast.AttrNumber:
		c = cmp.Compare(r.MinNum, r.MaxNum)
	case def.Type == carecast.AttrMoney:
		c = cmp.Compare(int64(r.MinMoney), int64(r.MaxMoney))
	default:
		c = cmp.Compare(r.MinTime.UnixMicro(), r.MaxTime.UnixMicro())
	}
	return c > 0 || c == 0 && !(r.MinIncl && r.MaxIncl)
}

// intersect returns the intersection of r and o over def's value kind.
func (r Range) intersect(o Range, def *FieldDef) Range {
	cmp := func(a, b Range, max bool) int {
		switch {
		case def.Key == FieldAge:
			if max {
				return cmp.Compare(dateKey(a.MaxDate), dateKey(b.MaxDate))
			}
			return cmp.Compare(dateKey(a.MinDate), dateKey(b.MinDate))
		case def.Type == carecast.AttrNumber:
			if max {
				return cmp.Compare(a.MaxNum, b.MaxNum)
			}
			return cmp.Compare(a.MinNum, b.MinNum)
		case def.Type == carecast.AttrMoney:
			if max {
				return cmp.Compare(int64(a.MaxMoney), int64(b.MaxMoney))
			}
			return cmp.Compare(int64(a.MinMoney), int64(b.MinMoney))
		}
		if max {
			return cmp.Compare(a.MaxTime.UnixMicro(), b.MaxTime.UnixMicro())
		}
		return cmp.Compare(a.MinTime.UnixMicro(), b.MinTime.UnixMicro())
	}
	out := r
	if o.HasMin {
		c := cmp(o, r, false)
		if !r.HasMin || c > 0 || c == 0 && !o.MinIncl {
			out.HasMin, out.MinIncl = true, o.MinIncl
			out.MinNum, out.MinMoney, out.MinTime, out.MinDate = o.MinNum, o.MinMoney, o.MinTime, o.MinDate
		}
	}
	if o.HasMax {
		c := cmp(o, r, true)
		if !r.HasMax || c < 0 || c == 0 && !o.MaxIncl {
			out.HasMax, out.MaxIncl = true, o.MaxIncl
			out.MaxNum, out.MaxMoney, out.MaxTime, out.MaxDate = o.MaxNum, o.MaxMoney, o.MaxTime, o.MaxDate
		}
	}
	return out
}

// checkContradictions rejects an AND group whose direct range conditions
// on one field cannot all hold (age > 60 AND age < 30).
func checkContradictions(n *Node, path string) error {
	acc := map[string]Range{}
	for _, k := range n.Kids {
		if k.Kind != NodePred || k.Pred.Kind != PredRange {
			continue
		}
		def := &k.Pred.Field
		r, seen := acc[def.Key]
		if !seen {
			acc[def.Key] = k.Pred.Range
			continue
		}
		r = r.intersect(k.Pred.Range, def)
		if r.empty(def) {
			return &FilterError{Path: path, Field: def.Key, Code: CodeContradiction, Detail: "the and group's conditions on this field exclude every value"}
		}
		acc[def.Key] = r
	}
	return nil
}

// dateKey orders dates as integers (YYYYMMDD).
func dateKey(d carecast.Date) int64 {
	return int64(d.Year)*10000 + int64(d.Month)*100 + int64(d.Day)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// dedupe returns ss without repeated values, first occurrence order, in
// time linear in len(ss) (a list of MaxOperands values is not compared
// pairwise).
func dedupe(ss []string) []string {
	out := make([]string, 0, len(ss))
	if len(ss) <= 8 {
		for _, s := range ss {
			if !contains(out, s) {
				out = append(out, s)
			}
		}
		return out
	}
	seen := make(map[string]struct{}, len(ss))
	for _, s := range ss {
		if _, dup := seen[s]; !dup {
			seen[s] = struct{}{}
			out = append(out, s)
		}
	}
	return out
}
