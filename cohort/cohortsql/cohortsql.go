package cohortsql

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
)

// Dialect is the SQL dialect a Compiler writes.
type Dialect int

// The supported dialects.
const (
	// Postgres writes numbered placeholders ($1, $2, …) and reads
	// string sets with json_array_elements_text.
	Postgres Dialect = iota + 1
	// SQLite writes "?" placeholders and reads string sets with
	// json_each.
	SQLite
)

// String returns the dialect's name.
func (d Dialect) String() string {
	switch d {
	case Postgres:
		return "postgres"
	case SQLite:
		return "sqlite"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// ErrUnmapped is returned (wrapped, naming the field) when a filter uses a
// field the Config maps to no column.
var ErrUnmapped = errors.New("cohortsql: field has no column mapping")

// ErrConfig is the class of Config validation errors from New.
var ErrConfig = errors.New("cohortsql: invalid config")

// Config configures a Compiler.
type Config struct {
	// Dialect is the SQL dialect to write. Required.
	Dialect Dialect
	// Schema declares the attributes filters may use. Defaults to the
	// core fields only.
	Schema *cohort.Schema
	// Columns maps field keys (core fields and attribute keys) to SQL
	// expressions over the host's patient row, such as "p.location_id"
	// or "p.attrs->>'tier'". For cohort.FieldAge map the date-of-birth
	// column. The expressions are trusted SQL written by the host and
	// are inserted verbatim; filter values never are. Each key must be a
	// field of Schema. Fields left unmapped cannot be filtered on
	// (ErrUnmapped).
	Columns map[string]string
}

// Compiler compiles filters into parameterised WHERE clauses. It is
// immutable and safe for concurrent use.
type Compiler struct {
	dialect Dialect
	schema  *cohort.Schema
	cols    map[string]string
}

// New returns a Compiler for cfg. It returns an error of class ErrConfig
// for a missing dialect, a column key that is not a field of the schema,
// or an empty column expression.
func New(cfg Config) (*Compiler, error) {
	if cfg.Dialect != Postgres && cfg.Dialect != SQLite {
		return nil, fmt.Errorf("%w: Dialect must be Postgres or SQLite", ErrConfig)
	}
	c := &Compiler{dialect: cfg.Dialect, schema: cfg.Schema, cols: map[string]string{}}
	for k, expr := range cfg.Columns {
		if _, ok := cfg.Schema.Field(k); !ok {
			return nil, fmt.Errorf("%w: Columns key %q is not a field of the schema", ErrConfig, k)
		}
		if strings.TrimSpace(expr) == "" {
			return nil, fmt.Errorf("%w: Columns[%q] is empty", ErrConfig, k)
		}
		c.cols[k] = expr
	}
	return c, nil
}

// Where compiles f, with relative conditions resolved at now, into a
// boolean SQL expression and its arguments. Placeholders are numbered from
// argOffset+1 for Postgres (pass the number of placeholders the
// surrounding query already uses); argOffset is ignored for SQLite. The
// zero Filter compiles to "1=1".
//
// The expression never evaluates to NULL, so NOT, AND and OR behave as in
// the in-memory matcher: a condition on a NULL (unset) column is false and
// its negation true.
//
// Errors: a *cohort.FilterError for an invalid filter, or ErrUnmapped
// (wrapped) for a field without a column.
func (c *Compiler) Where(f cohort.Filter, now time.Time, argOffset int) (string, []any, error) {
	plan, err := c.schema.Plan(f, now)
	if err != nil {
		return "", nil, err
	}
	if plan.Root == nil {
		return "1=1", nil, nil
	}
	w := &writer{c: c, offset: argOffset}
	if err := w.node(plan.Root); err != nil {
		return "", nil, err
	}
	return w.b.String(), w.args, nil
}

// writer accumulates one compiled clause.
type writer struct {
	c      *Compiler
	offset int
	b      strings.Builder
	args   []any
}

// arg adds a parameter and writes its placeholder.
func (w *writer) arg(v any) {
	w.args = append(w.args, v)
	if w.c.dialect == Postgres {
		w.b.WriteString("$")
		w.b.WriteString(strconv.Itoa(w.offset + len(w.args)))
		return
	}
	w.b.WriteString("?")
}

// list writes "(p1, p2, …)" for the string values.
func (w *writer) list(vs []string) {
	w.b.WriteString("(")
	for i, v := range vs {
		if i > 0 {
			w.b.WriteString(", ")
		}
		w.arg(v)
	}
	w.b.WriteString(")")
}

func (w *writer) node(n *cohort.Node) error {
	switch n.Kind {
	case cohort.NodeNot:
		w.b.WriteString("(NOT ")
		if err := w.node(n.Kids[0]); err != nil {
			return err
		}
		w.b.WriteString(")")
		return nil
	case cohort.NodePred:
		return w.pred(n.Pred)
	}
	op := " AND "
	if n.Kind == cohort.NodeOr {
		op = " OR "
	}
	w.b.WriteString("(")
	for i, k := range n.Kids {
		if i > 0 {
			w.b.WriteString(op)
		}
		if err := w.node(k); err != nil {
			return err
		}
	}
	w.b.WriteString(")")
	return nil
}

func (w *writer) pred(p *cohort.Pred) error {
	col, ok := w.c.cols[p.Field.Key]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnmapped, p.Field.Key)
	}
	col = "(" + col + ")"
	switch p.Field.Type {
	case carecast.AttrStringSet:
		w.set(col, p)
	case carecast.AttrBool:
		w.boolean(col, p)
	case cohort.AttrString, carecast.AttrEnum:
		switch p.Kind {
		case cohort.PredIsSet:
			fmt.Fprintf(&w.b, "(%s IS NOT NULL AND %s <> '')", col, col)
		case cohort.PredIsNotSet:
			fmt.Fprintf(&w.b, "(%s IS NULL OR %s = '')", col, col)
		default: // PredStringIn
			fmt.Fprintf(&w.b, "(%s IS NOT NULL AND %s IN ", col, col)
			w.list(p.Strings)
			w.b.WriteString(")")
		}
	default:
		w.scalar(col, p)
	}
	return nil
}

// set writes a condition on a JSON-array column.
func (w *writer) set(col string, p *cohort.Pred) {
	exists := func(vals []string) {
		if w.c.dialect == Postgres {
			fmt.Fprintf(&w.b, "EXISTS (SELECT 1 FROM json_array_elements_text(CAST(%s AS json)) AS cc_e(v)", col)
			if vals != nil {
				w.b.WriteString(" WHERE cc_e.v IN ")
				w.list(vals)
			}
		} else {
			fmt.Fprintf(&w.b, "EXISTS (SELECT 1 FROM json_each(%s) AS cc_e", col)
			if vals != nil {
				w.b.WriteString(" WHERE cc_e.value IN ")
				w.list(vals)
			}
		}
		w.b.WriteString(")")
	}
	switch p.Kind {
	case cohort.PredIsSet:
		exists(nil)
	case cohort.PredIsNotSet:
		w.b.WriteString("(NOT ")
		exists(nil)
		w.b.WriteString(")")
	case cohort.PredContainsAny:
		exists(p.Strings)
	case cohort.PredContainsNone:
		w.b.WriteString("(NOT ")
		exists(p.Strings)
		w.b.WriteString(")")
	case cohort.PredContainsAll:
		w.b.WriteString("(")
		for i, v := range p.Strings {
			if i > 0 {
				w.b.WriteString(" AND ")
			}
			exists([]string{v})
		}
		w.b.WriteString(")")
	}
}

// boolean writes a condition on a boolean column. Core flags treat NULL
// as false; attribute flags treat NULL as unset.
func (w *writer) boolean(col string, p *cohort.Pred) {
	lit := "FALSE"
	if p.Bool {
		lit = "TRUE"
	}
	switch {
	case p.Kind == cohort.PredIsSet:
		fmt.Fprintf(&w.b, "(%s IS NOT NULL)", col)
	case p.Kind == cohort.PredIsNotSet:
		fmt.Fprintf(&w.b, "(%s IS NULL)", col)
	case p.Field.Core:
		fmt.Fprintf(&w.b, "(COALESCE(%s, FALSE) = %s)", col, lit)
	default:
		fmt.Fprintf(&w.b, "(%s IS NOT NULL AND %s = %s)", col, col, lit)
	}
}

// scalar writes a presence test or a range on a number, money, date or
// date-of-birth column.
func (w *writer) scalar(col string, p *cohort.Pred) {
	switch p.Kind {
	case cohort.PredIsSet:
		fmt.Fprintf(&w.b, "(%s IS NOT NULL)", col)
		return
	case cohort.PredIsNotSet:
		fmt.Fprintf(&w.b, "(%s IS NULL)", col)
		return
	}
	r := p.Range
	fmt.Fprintf(&w.b, "(%s IS NOT NULL", col)
	bound := func(has, incl bool, lower bool, v any) {
		if !has {
			return
		}
		op := "<"
		if lower {
			op = ">"
		}
		if incl {
			op += "="
		}
		fmt.Fprintf(&w.b, " AND %s %s ", col, op)
		w.value(p, v)
	}
	lo, hi := w.bounds(p)
	bound(r.HasMin, r.MinIncl, true, lo)
	bound(r.HasMax, r.MaxIncl, false, hi)
	w.b.WriteString(")")
}

// bounds returns the range's bounds as driver values.
func (w *writer) bounds(p *cohort.Pred) (lo, hi any) {
	r := p.Range
	switch {
	case p.Field.Key == cohort.FieldAge:
		return r.MinDate.String(), r.MaxDate.String()
	case p.Field.Type == carecast.AttrNumber:
		return r.MinNum, r.MaxNum
	case p.Field.Type == carecast.AttrMoney:
		return int64(r.MinMoney), int64(r.MaxMoney)
	case w.c.dialect == SQLite:
		return r.MinTime.UnixMicro(), r.MaxTime.UnixMicro()
	}
	return r.MinTime.UTC(), r.MaxTime.UTC()
}

// value writes one bound's placeholder, with a cast where the dialect
// needs one.
func (w *writer) value(p *cohort.Pred, v any) {
	if w.c.dialect == Postgres && p.Field.Key == cohort.FieldAge {
		w.b.WriteString("CAST(")
		w.arg(v)
		w.b.WriteString(" AS date)")
		return
	}
	w.arg(v)
}
