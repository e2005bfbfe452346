package cohort

import (
	"strconv"
	"strings"
	"time"
)

// Describe renders f in words with the schema's labels, for a cohort
// picker or a confirmation dialog:
//
//	Opted in to SMS marketing is yes AND (NOT Last visit within the last
//	365 days OR Total spent > 500.00) AND NOT Tags include any of "vip"
//
// It describes f as written (ages stay ages, windows stay windows) and
// does not validate it: unknown fields are shown by key. The zero Filter
// is "All patients". Operands appear in the text, so do not log it if
// your filters may hold sensitive values.
func (s *Schema) Describe(f Filter) string {
	if f.Where == nil {
		return "All patients"
	}
	var b strings.Builder
	schemaOrCore(s).describe(&b, f.Where, false)
	return b.String()
}

func (s *Schema) describe(b *strings.Builder, e *Expr, nested bool) {
	switch {
	case e.Not != nil:
		b.WriteString("NOT ")
		s.describe(b, e.Not, true)
	case e.Cond != nil:
		s.describeCond(b, e.Cond)
	case e.And != nil || e.Or != nil:
		members, sep := e.And, " AND "
		if e.Or != nil {
			members, sep = e.Or, " OR "
		}
		paren := nested && len(members) > 1
		if paren {
			b.WriteString("(")
		}
		for i := range members {
			if i > 0 {
				b.WriteString(sep)
			}
			s.describe(b, &members[i], true)
		}
		if paren {
			b.WriteString(")")
		}
	default:
		b.WriteString("(empty)")
	}
}

func (s *Schema) describeCond(b *strings.Builder, c *Cond) {
	label := c.Field
	if def, ok := s.lookup(c.Field); ok {
		label = def.Label
	}
	b.WriteString(label)
	b.WriteString(" ")
	quoted := func(ss []string) string {
		q := make([]string, len(ss))
		for i, v := range ss {
			q[i] = strconv.Quote(v)
		}
		return strings.Join(q, ", ")
	}
	var vals []string
	for _, n := range c.Numbers {
		vals = append(vals, strconv.FormatFloat(n, 'f', -1, 64))
	}
	for _, m := range c.Money {
		vals = append(vals, m.String())
	}
	for _, t := range c.Times {
		vals = append(vals, describeTime(t))
	}
	if len(vals) == 0 && len(c.Strings) > 0 {
		vals = []string{quoted(c.Strings)}
	}
	first := ""
	if len(vals) > 0 {
		first = vals[0]
	}
	switch c.Op {
	case OpEquals:
		switch {
		case c.Bool != nil && *c.Bool:
			b.WriteString("is yes")
		case c.Bool != nil:
			b.WriteString("is no")
		case len(c.Strings) > 0:
			b.WriteString("is " + first)
		default:
			b.WriteString("= " + first)
		}
	case OpIn:
		b.WriteString("is one of " + first)
	case OpContainsAny:
		b.WriteString("include any of " + first)
	case OpContainsAll:
		b.WriteString("include all of " + first)
	case OpContainsNone:
		b.WriteString("include none of " + first)
	case OpGreater:
		b.WriteString("> " + first)
	case OpLess:
		b.WriteString("< " + first)
	case OpBefore:
		b.WriteString("before " + first)
	case OpAfter:
		b.WriteString("after " + first)
	case OpBetween:
		b.WriteString("between " + strings.Join(vals, " and "))
	case OpWithinLastDays:
		b.WriteString("within the last " + strconv.Itoa(c.Days) + " days")
	case OpIsSet:
		b.WriteString("is set")
	case OpIsNotSet:
		b.WriteString("is not set")
	default:
		b.WriteString(string(c.Op) + " " + strings.Join(vals, ", "))
	}
}

// describeTime shows midnight UTC as a date and other instants in full.
func describeTime(t time.Time) string {
	if t.Equal(t.UTC().Truncate(24 * time.Hour)) {
		return t.UTC().Format(time.DateOnly)
	}
	return t.Format(time.RFC3339)
}
