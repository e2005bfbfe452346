package cohort_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/cohort/cohorttest"
)

// TestFilterJSONRoundTrip decodes every conformance case, re-encodes it,
// and checks both directions are stable.
func TestFilterJSONRoundTrip(t *testing.T) {
	for _, c := range cohorttest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			f, err := c.Filter()
			require.NoError(t, err)
			b1, err := json.Marshal(f)
			require.NoError(t, err)
			var g cohort.Filter
			require.NoError(t, json.Unmarshal(b1, &g))
			b2, err := json.Marshal(g)
			require.NoError(t, err)
			assert.Equal(t, string(b1), string(b2), "JSON → Filter → JSON must be stable")
			assert.JSONEq(t, c.JSON, string(b1), "the document must come back unchanged")
		})
	}
}

func TestFilterGoRoundTrip(t *testing.T) {
	yes := true
	f := cohort.Where(cohort.And(
		cohort.C(cohort.Cond{Field: "active", Op: cohort.OpEquals, Bool: &yes}),
		cohort.Or(cohort.TimeOp("last_visit", cohort.OpBetween, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)),
			cohort.MoneyOp("total_spent", cohort.OpGreater, 500*carecast.Unit)),
		cohort.Not(cohort.ContainsAny("tags", "vip")),
	))
	b, err := json.Marshal(f)
	require.NoError(t, err)
	var g cohort.Filter
	require.NoError(t, json.Unmarshal(b, &g))
	assert.Equal(t, f, g, "Filter → JSON → Filter must be equal")
	assert.Equal(t, `{"version":1}`, mustMarshal(t, cohort.Filter{}))
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestFilterJSONRejects(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		code cohort.ErrorCode
	}{
		{"unknown top-level member", `{"version":1,"wher":{}}`, cohort.CodeBadJSON},
		{"unknown nested member", `{"version":1,"where":{"and":[{"not":{"field":"tags","op":"is_set","x":1}}]}}`, cohort.CodeBadJSON},
		{"wrong JSON type", `{"version":1,"where":{"field":"age","op":"equals","numbers":"18"}}`, cohort.CodeBadJSON},
		{"trailing data", `{"version":1} {}`, cohort.CodeBadJSON},
		{"not JSON", `version 1`, cohort.CodeBadJSON},
		{"missing version", `{}`, cohort.CodeBadVersion},
		{"future version", `{"version":2}`, cohort.CodeBadVersion},
		{"version zero", `{"version":0}`, cohort.CodeBadVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cohort.ParseFilter([]byte(tt.doc))
			var fe *cohort.FilterError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.code, fe.Code)
			assert.ErrorIs(t, err, cohort.ErrInvalidFilter)
		})
	}
}

func TestValidateErrors(t *testing.T) {
	s := cohorttest.Schema()
	yes := true
	tests := []struct {
		name  string
		e     cohort.Expr
		code  cohort.ErrorCode
		path  string
		field string
	}{
		{"unknown field", cohort.IsSet("shoe_size"), cohort.CodeUnknownField, "where", "shoe_size"},
		{"unknown operator", cohort.C(cohort.Cond{Field: "age", Op: "near"}), cohort.CodeBadOperator, "where", "age"},
		{"operator for another type", cohort.ContainsAny("total_spent", "x"), cohort.CodeBadOperator, "where", "total_spent"},
		{"is_set on a core flag", cohort.IsSet("active"), cohort.CodeBadOperator, "where", "active"},
		{"equals on phone", cohort.StringIs("phone", "+1"), cohort.CodeBadOperator, "where", "phone"},
		{"money in numbers slot", cohort.NumberOp("total_spent", cohort.OpGreater, 5), cohort.CodeBadValue, "where", "total_spent"},
		{"second operand slot", cohort.C(cohort.Cond{Field: "tags", Op: cohort.OpContainsAny, Strings: []string{"a"}, Bool: &yes}), cohort.CodeBadValue, "where", "tags"},
		{"operand on is_set", cohort.C(cohort.Cond{Field: "tags", Op: cohort.OpIsSet, Strings: []string{"a"}}), cohort.CodeBadValue, "where", "tags"},
		{"missing bool", cohort.C(cohort.Cond{Field: "active", Op: cohort.OpEquals}), cohort.CodeBadValue, "where", "active"},
		{"empty in list", cohort.StringIn("location"), cohort.CodeBadValue, "where", "location"},
		{"empty string value", cohort.StringIs("location", ""), cohort.CodeBadValue, "where", "location"},
		{"equals with two values", cohort.C(cohort.Cond{Field: "location", Op: cohort.OpEquals, Strings: []string{"a", "b"}}), cohort.CodeBadValue, "where", "location"},
		{"between with one value", cohort.NumberOp("age", cohort.OpBetween, 18), cohort.CodeBadValue, "where", "age"},
		{"fractional age", cohort.NumberOp("age", cohort.OpGreater, 17.5), cohort.CodeBadValue, "where", "age"},
		{"negative age", cohort.NumberOp("age", cohort.OpGreater, -1), cohort.CodeBadValue, "where", "age"},
		{"age less than zero", cohort.NumberOp("age", cohort.OpLess, 0), cohort.CodeContradiction, "where", "age"},
		{"age min > max", cohort.NumberOp("age", cohort.OpBetween, 65, 18), cohort.CodeContradiction, "where", "age"},
		{"money min > max", cohort.MoneyOp("total_spent", cohort.OpBetween, 10, 5), cohort.CodeContradiction, "where", "total_spent"},
		{"dates reversed", cohort.TimeOp("last_visit", cohort.OpBetween, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)), cohort.CodeContradiction, "where", "last_visit"},
		{"zero time", cohort.TimeOp("last_visit", cohort.OpBefore, time.Time{}), cohort.CodeBadValue, "where", "last_visit"},
		{"zero days", cohort.WithinLastDays("last_visit", 0), cohort.CodeBadValue, "where", "last_visit"},
		{"enum value undeclared", cohort.StringIs("membership", "diamond"), cohort.CodeBadValue, "where", "membership"},
		{"nested path", cohort.And(cohort.IsSet("tags"), cohort.Or(cohort.IsSet("email"), cohort.Not(cohort.IsSet("nope")))), cohort.CodeUnknownField, "where.and[1].or[1].not", "nope"},
		{"empty node", cohort.And(cohort.Expr{}), cohort.CodeBadExpr, "where.and[0]", ""},
		{"two kinds in one node", cohort.Expr{And: []cohort.Expr{cohort.IsSet("tags")}, Not: &cohort.Expr{}}, cohort.CodeBadExpr, "where", ""},
		{"empty and", cohort.And(), cohort.CodeBadExpr, "where", ""},
		{"contradictory and", cohort.And(cohort.MoneyOp("total_spent", cohort.OpGreater, 500), cohort.MoneyOp("total_spent", cohort.OpLess, 100)), cohort.CodeContradiction, "where", "total_spent"},
		{"contradictory and at the boundary", cohort.And(cohort.NumberOp("medication_count", cohort.OpGreater, 3), cohort.NumberOp("medication_count", cohort.OpLess, 3)), cohort.CodeContradiction, "where", "medication_count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Validate(cohort.Where(tt.e))
			var fe *cohort.FilterError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.code, fe.Code, "%v", err)
			assert.Equal(t, tt.path, fe.Path)
			assert.Equal(t, tt.field, fe.Field)
			assert.True(t, errors.Is(err, cohort.ErrInvalidFilter))
			assert.True(t, strings.HasPrefix(err.Error(), "cohort: "), err.Error())
		})
	}
}

func TestValidateAcceptsTouchingRanges(t *testing.T) {
	s := cohorttest.Schema()
	// age ≥ 30 AND age ≤ 30 leaves exactly 30: not a contradiction.
	f := cohort.Where(cohort.And(cohort.NumberOp("age", cohort.OpBetween, 30, 40), cohort.NumberOp("age", cohort.OpBetween, 20, 30)))
	assert.NoError(t, s.Validate(f))
}

// TestErrorsCarryNoOperands feeds PHI-looking operands into invalid
// filters and checks the messages never echo them.
func TestErrorsCarryNoOperands(t *testing.T) {
	phi := "Jane Doe +15551234567 jane@example.com"
	s := cohorttest.Schema()
	for _, e := range []cohort.Expr{
		cohort.StringIs("membership", phi),
		cohort.StringIn("location", phi, ""),
		cohort.C(cohort.Cond{Field: "location", Op: cohort.OpEquals, Strings: []string{phi, phi}}),
		cohort.C(cohort.Cond{Field: "location", Op: cohort.Op(phi)}),
		cohort.ContainsAny("total_spent", phi),
	} {
		err := s.Validate(cohort.Where(e))
		require.Error(t, err)
		for _, part := range strings.Fields(phi) {
			assert.NotContains(t, err.Error(), part)
		}
	}
	// A hostile field name is quoted, truncated and sanitised.
	err := s.Validate(cohort.Where(cohort.IsSet(strings.Repeat("x", 500) + "\n\"")))
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 200)
	assert.NotContains(t, err.Error(), "\n")
}

func TestLimits(t *testing.T) {
	s := cohorttest.Schema()
	e := cohort.IsSet("tags")
	for range cohort.MaxDepth + 1 {
		e = cohort.Not(e)
	}
	var fe *cohort.FilterError
	require.ErrorAs(t, s.Validate(cohort.Where(e)), &fe)
	assert.Equal(t, cohort.CodeTooDeep, fe.Code)

	many := make([]string, cohort.MaxOperands+1)
	for i := range many {
		many[i] = "t" + strings.Repeat("x", i%7)
	}
	require.ErrorAs(t, s.Validate(cohort.Where(cohort.ContainsAny("tags", many...))), &fe)
	assert.Equal(t, cohort.CodeTooManyOperand, fe.Code)
}

// TestAgeMatchesAgeOn checks the lowering of age conditions to
// date-of-birth ranges against carecast.Date.AgeOn on random dates,
// including 29 February birthdays and evaluation days.
func TestAgeMatchesAgeOn(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	s, err := cohort.NewSchema()
	require.NoError(t, err)
	for range 3000 {
		now := time.Date(2000+r.IntN(40), time.Month(1+r.IntN(12)), 1+r.IntN(31), r.IntN(24), 0, 0, 0, time.UTC)
		if r.IntN(5) == 0 {
			now = time.Date(2020+r.IntN(12), 2, 28+r.IntN(2), 12, 0, 0, 0, time.UTC)
		}
		dob := carecast.NewDate(1900+r.IntN(130), time.Month(1+r.IntN(12)), 1+r.IntN(28))
		if r.IntN(4) == 0 {
			dob = carecast.NewDate(1904+4*r.IntN(30), 2, 29)
		}
		if !dob.Valid() || time.Date(dob.Year, dob.Month, dob.Day, 0, 0, 0, 0, time.UTC).After(now) {
			continue
		}
		age := dob.AgeOn(now)
		a, b := float64(r.IntN(100)), float64(r.IntN(100))
		if a > b {
			a, b = b, a
		}
		p := &carecast.Patient{DateOfBirth: dob}
		checks := []struct {
			e    cohort.Expr
			want bool
		}{
			{cohort.NumberOp("age", cohort.OpEquals, float64(age)), true},
			{cohort.NumberOp("age", cohort.OpBetween, a, b), float64(age) >= a && float64(age) <= b},
			{cohort.NumberOp("age", cohort.OpGreater, a), float64(age) > a},
			{cohort.NumberOp("age", cohort.OpLess, b+1), float64(age) < b+1},
		}
		for _, c := range checks {
			m, err := s.Compile(cohort.Where(c.e), now)
			require.NoError(t, err)
			require.Equal(t, c.want, m.Match(p), "dob %s now %s age %d expr %s", dob, now.Format(time.DateOnly), age, mustMarshal(t, cohort.Where(c.e)))
		}
	}
}

// FuzzParseFilter checks that arbitrary documents never panic the parser,
// the validator or the compiler, that every error is a *FilterError, and
// that an accepted document round-trips to stable JSON.
func FuzzParseFilter(f *testing.F) {
	for _, c := range cohorttest.Cases() {
		f.Add([]byte(c.JSON))
	}
	for _, c := range cohorttest.InvalidCases() {
		f.Add([]byte(c.JSON))
	}
	f.Add([]byte(`{"version":1,"where":{"not":{"not":{"and":[{"or":[]}]}}}}`))
	f.Add([]byte(`{"version":1,"where":{"field":"age","op":"between","numbers":[1e308,-1e308]}}`))
	f.Add([]byte(`{"version":1,"where":{"\u006fr":[{"field":"active","op":"equals","bool":true}],"x":{"a":[[],{}]}}}`))
	schema := cohorttest.Schema()
	now := cohorttest.Now()
	p := &carecast.Patient{ID: "x", Tags: []string{"vip"}, DateOfBirth: carecast.NewDate(1990, 2, 28), LastVisit: now}
	f.Fuzz(func(t *testing.T, doc []byte) {
		flt, err := cohort.ParseFilter(doc)
		if err != nil {
			var fe *cohort.FilterError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v is not a *FilterError", err, err)
			}
			// A limit ParseFilter enforces before decoding must refuse
			// only what Validate would refuse after decoding.
			var raw struct {
				Where *cohort.Expr `json:"where"`
			}
			if (fe.Code == cohort.CodeTooDeep || fe.Code == cohort.CodeTooManyOperand) && json.Unmarshal(doc, &raw) == nil && raw.Where != nil {
				if schema.Validate(cohort.Filter{Where: raw.Where}) == nil {
					t.Fatalf("ParseFilter refused a filter Validate accepts: %v", err)
				}
			}
			return
		}
		m, err := schema.Compile(flt, now)
		if err != nil {
			var fe *cohort.FilterError
			if !errors.As(err, &fe) {
				t.Fatalf("compile error %T %v is not a *FilterError", err, err)
			}
			return
		}
		_ = m.Match(p)
		b1, err := json.Marshal(flt)
		if err != nil {
			t.Fatal(err)
		}
		again, err := cohort.ParseFilter(b1)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", b1, err)
		}
		b2, _ := json.Marshal(again)
		if string(b1) != string(b2) {
			t.Fatalf("unstable JSON:\n%s\n%s", b1, b2)
		}
	})
}

func TestDescribe(t *testing.T) {
	s := cohorttest.Schema()
	tests := []struct {
		f    cohort.Filter
		want string
	}{
		{cohort.Filter{}, "All patients"},
		{cohort.Where(cohort.And(
			cohort.BoolIs(cohort.FieldSMSMarketingOptIn, true),
			cohort.Or(cohort.Not(cohort.WithinLastDays(cohort.FieldLastVisit, 365)), cohort.MoneyOp(cohorttest.AttrTotalSpent, cohort.OpGreater, 500*carecast.Unit)),
			cohort.Not(cohort.ContainsAny(cohort.FieldTags, "vip")),
		)), `Opted in to SMS marketing is yes AND (NOT Last visit within the last 365 days OR Total spent > 500.00) AND NOT Tags include any of "vip"`},
		{cohort.Where(cohort.And(cohort.NumberOp(cohort.FieldAge, cohort.OpBetween, 18, 65), cohort.StringIn(cohort.FieldLocation, "a", "b"))),
			`Age between 18 and 65 AND Location is one of "a", "b"`},
		{cohort.Where(cohort.TimeOp(cohort.FieldLastVisit, cohort.OpBefore, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))), "Last visit before 2025-01-01"},
		{cohort.Where(cohort.Not(cohort.And(cohort.IsSet("membership"), cohort.BoolIs(cohort.FieldActive, false)))), "NOT (Membership is set AND Active patient is no)"},
		{cohort.Where(cohort.IsNotSet("shoe_size")), "shoe_size is not set"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, s.Describe(tt.f))
	}
}

// orDoc returns a filter document whose where is an OR of n copies of
// member.
func orDoc(key string, n int, member string) []byte {
	var b strings.Builder
	b.WriteString(`{"version":1,"where":{"` + key + `":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(member)
	}
	b.WriteString(`]}}`)
	return []byte(b.String())
}

// operandsDoc returns a filter document with one contains_any condition
// on tags listing n distinct values under the given key.
func operandsDoc(key string, n int) []byte {
	var b strings.Builder
	b.WriteString(`{"version":1,"where":{"field":"tags","op":"contains_any","` + key + `":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"t%d"`, i)
	}
	b.WriteString(`]}}`)
	return []byte(b.String())
}

// TestParseFilterRefusesBeforeDecoding is the regression test for a filter
// decoder that built the whole document before the limits were checked:
// 8 MiB of "{}," members decoded into 600 MiB. A document past MaxNodes,
// MaxOperands or the nesting a MaxDepth filter can have is refused by
// ParseFilter itself, naming the place, and one within them is accepted.
func TestParseFilterRefusesBeforeDecoding(t *testing.T) {
	s := cohorttest.Schema()
	cond := `{"field":"active","op":"equals","bool":true}`
	deepest := cohort.IsSet("tags")
	for i := range cohort.MaxDepth {
		if i%2 == 0 {
			deepest = cohort.And(deepest, cohort.ContainsAny("tags", "a", "b"))
		} else {
			deepest = cohort.Not(deepest)
		}
	}
	deepestDoc, err := json.Marshal(cohort.Where(deepest))
	require.NoError(t, err)
	tooDeep := `{"version":1,"where":` + strings.Repeat(`{"not":`, 2*cohort.MaxDepth+8) + cond + strings.Repeat(`}`, 2*cohort.MaxDepth+8) + `}`
	for _, tt := range []struct {
		name string
		doc  []byte
		code cohort.ErrorCode // "": accepted and valid
		path string
	}{
		{"a group of MaxNodes-1 members", orDoc("or", cohort.MaxNodes-1, cond), "", ""},
		{"a group of MaxNodes members", orDoc("or", cohort.MaxNodes, cond), cohort.CodeTooDeep, fmt.Sprintf("where.or[%d]", cohort.MaxNodes-1)},
		{"group keys match case-insensitively", orDoc("AND", cohort.MaxNodes, cond), cohort.CodeTooDeep, fmt.Sprintf("where.and[%d]", cohort.MaxNodes-1)},
		{"MaxOperands values", operandsDoc("strings", cohort.MaxOperands), "", ""},
		{"MaxOperands+1 values", operandsDoc("strings", cohort.MaxOperands+1), cohort.CodeTooManyOperand, "where"},
		{"operand keys match case-insensitively", operandsDoc("Strings", cohort.MaxOperands+1), cohort.CodeTooManyOperand, "where"},
		{"the deepest filter MaxDepth allows", deepestDoc, "", ""},
		{"nesting far past MaxDepth", []byte(tooDeep), cohort.CodeTooDeep, "where" + strings.Repeat(".not", 2*cohort.MaxDepth+7)},
		{"8 MiB of empty members", orDoc("or", (8<<20)/3, `{}`), cohort.CodeTooDeep, fmt.Sprintf("where.or[%d]", cohort.MaxNodes-1)},
		{"8 MiB of empty values", []byte(`{"version":1,"where":{"field":"tags","op":"contains_any","strings":[` + strings.Repeat(`"",`, (8<<20)/3) + `""]}}`), cohort.CodeTooManyOperand, "where"},
		{"a hostile key is not echoed", []byte(`{"version":1,"where":{"Ann Lee DOB 1990":{"or":[` + strings.Repeat(cond+",", cohort.MaxNodes) + cond + `]}}}`), cohort.CodeTooDeep, fmt.Sprintf("where.?.or[%d]", cohort.MaxNodes-2)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			f, err := cohort.ParseFilter(tt.doc)
			runtime.ReadMemStats(&after)
			if tt.code == "" {
				require.NoError(t, err)
				require.NoError(t, s.Validate(f))
				return
			}
			var fe *cohort.FilterError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.code, fe.Code)
			assert.Equal(t, tt.path, fe.Path)
			assert.NotContains(t, err.Error(), "Ann")
			// Refused without decoding: a few allocations for the error,
			// nothing in proportion to the document.
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<10), "bytes allocated")
		})
	}
}

// TestParseFilterUnknownMemberIsClipped: an unknown member's name is
// document text; the error names it truncated and sanitised, so its size
// does not grow with the document.
func TestParseFilterUnknownMemberIsClipped(t *testing.T) {
	key := strings.Repeat("Ann Lee ", 100_000) + `\n` // a JSON-escaped newline
	_, err := cohort.ParseFilter([]byte(`{"version":1,"where":{"` + key + `":1}}`))
	var fe *cohort.FilterError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, cohort.CodeBadJSON, fe.Code)
	assert.Contains(t, err.Error(), "unknown field")
	assert.Less(t, len(err.Error()), 200)
	assert.NotContains(t, err.Error(), "\n")
}

// TestPlanDedupesOperandsInOrder: repeated operands are dropped, first
// occurrences kept in order, for short lists and long ones; operands are
// checked against long choice lists.
func TestPlanDedupesOperandsInOrder(t *testing.T) {
	choices := make([]string, 50)
	for i := range choices {
		choices[i] = fmt.Sprintf("tag%02d", i)
	}
	s, err := cohort.NewSchemaWith(cohort.SchemaConfig{Choices: map[string][]string{cohort.FieldTags: choices}})
	require.NoError(t, err)
	for _, n := range []int{3, 40} {
		var in, want []string
		for i := range n {
			in = append(in, choices[(i*7)%n], choices[i%n])
		}
		seen := map[string]bool{}
		for _, v := range in {
			if !seen[v] {
				seen[v] = true
				want = append(want, v)
			}
		}
		p, err := s.Plan(cohort.Where(cohort.ContainsAny(cohort.FieldTags, in...)), cohorttest.Now())
		require.NoError(t, err)
		assert.Equal(t, want, p.Root.Pred.Strings, "n=%d", n)
	}
	var fe *cohort.FilterError
	require.ErrorAs(t, s.Validate(cohort.Where(cohort.ContainsAny(cohort.FieldTags, choices[49], "tag50"))), &fe)
	assert.Equal(t, cohort.CodeBadValue, fe.Code)
	assert.Contains(t, fe.Detail, "value 1 ")
}
