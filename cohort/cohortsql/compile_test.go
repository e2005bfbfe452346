package cohortsql_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/cohort/cohortsql"
	"github.com/carecast/carecast/cohort/cohorttest"
)

func compiler(t *testing.T, d cohortsql.Dialect) *cohortsql.Compiler {
	t.Helper()
	c, err := cohortsql.New(cohortsql.Config{Dialect: d, Schema: cohorttest.Schema(), Columns: columns()})
	require.NoError(t, err)
	return c
}

func TestWhereGolden(t *testing.T) {
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	f := cohort.Where(cohort.And(
		cohort.BoolIs(cohort.FieldSMSMarketingOptIn, true),
		cohort.Or(
			cohort.Not(cohort.WithinLastDays(cohort.FieldLastVisit, 365)),
			cohort.MoneyOp(cohorttest.AttrTotalSpent, cohort.OpGreater, 500*carecast.Unit),
		),
		cohort.Not(cohort.ContainsAny(cohort.FieldTags, "vip")),
		cohort.NumberOp(cohort.FieldAge, cohort.OpBetween, 18, 65),
	))
	tests := []struct {
		dialect cohortsql.Dialect
		offset  int
		sql     string
		args    []any
	}{
		{cohortsql.Postgres, 1,
			`((COALESCE((sms_marketing_opt_in), FALSE) = TRUE) AND ((NOT ((last_visit) IS NOT NULL AND (last_visit) >= $2 AND (last_visit) <= $3)) OR ((total_spent) IS NOT NULL AND (total_spent) > $4)) AND (NOT EXISTS (SELECT 1 FROM json_array_elements_text(CAST((tags) AS json)) AS cc_e(v) WHERE cc_e.v IN ($5))) AND ((dob) IS NOT NULL AND (dob) > CAST($6 AS date) AND (dob) <= CAST($7 AS date)))`,
			[]any{time.Date(2025, 3, 15, 12, 0, 0, 0, time.UTC), now, int64(500_000_000), "vip", "1960-03-15", "2008-03-15"}},
		{cohortsql.SQLite, 7,
			`((COALESCE((sms_marketing_opt_in), FALSE) = TRUE) AND ((NOT ((last_visit) IS NOT NULL AND (last_visit) >= ? AND (last_visit) <= ?)) OR ((total_spent) IS NOT NULL AND (total_spent) > ?)) AND (NOT EXISTS (SELECT 1 FROM json_each((tags)) AS cc_e WHERE cc_e.value IN (?))) AND ((dob) IS NOT NULL AND (dob) > ? AND (dob) <= ?))`,
			[]any{time.Date(2025, 3, 15, 12, 0, 0, 0, time.UTC).UnixMicro(), now.UnixMicro(), int64(500_000_000), "vip", "1960-03-15", "2008-03-15"}},
	}
	for _, tt := range tests {
		t.Run(tt.dialect.String(), func(t *testing.T) {
			sql, args, err := compiler(t, tt.dialect).Where(f, now, tt.offset)
			require.NoError(t, err)
			assert.Equal(t, tt.sql, sql)
			assert.Equal(t, tt.args, args)
		})
	}
}

func TestWhereEmptyFilter(t *testing.T) {
	sql, args, err := compiler(t, cohortsql.SQLite).Where(cohort.Filter{}, time.Now(), 0)
	require.NoError(t, err)
	assert.Equal(t, "1=1", sql)
	assert.Empty(t, args)
}

// TestHostileValuesStayInArgs checks that operand text never reaches the
// SQL string: the SQL compiled with a hostile value is byte-for-byte the
// SQL compiled with a benign one, and the value travels as an argument.
// (The conformance cases also run hostile values against both databases.)
func TestHostileValuesStayInArgs(t *testing.T) {
	hostile := []string{
		"'; DROP TABLE patients; --", `" OR 1=1 --`, "$1", "?", "?1", "\\", "%' OR '%'='", "\x00", "') OR ('a'='a",
		"*/ SELECT 1 /*", "cc_e.v", "json_each", "\u2028",
	}
	filter := func(v string) cohort.Filter {
		return cohort.Where(cohort.Or(
			cohort.StringIs(cohort.FieldLocation, v),
			cohort.ContainsAll(cohort.FieldTags, v, "vip"),
			cohort.StringIn(cohorttest.AttrReferral, v, "x"+v),
		))
	}
	now := time.Now()
	for _, d := range []cohortsql.Dialect{cohortsql.Postgres, cohortsql.SQLite} {
		c := compiler(t, d)
		benign, _, err := c.Where(filter("benign"), now, 0)
		require.NoError(t, err)
		for _, h := range hostile {
			sql, args, err := c.Where(filter(h), now, 0)
			require.NoError(t, err)
			assert.Equal(t, benign, sql, "dialect %s: SQL depends on an operand", d)
			assert.Equal(t, []any{h, h, "vip", h, "x" + h}, args)
		}
	}
}

func TestWhereErrors(t *testing.T) {
	c, err := cohortsql.New(cohortsql.Config{Dialect: cohortsql.SQLite, Schema: cohorttest.Schema(),
		Columns: map[string]string{cohort.FieldLocation: "location_id"}})
	require.NoError(t, err)
	_, _, err = c.Where(cohort.Where(cohort.IsSet(cohort.FieldTags)), time.Now(), 0)
	assert.True(t, errors.Is(err, cohortsql.ErrUnmapped), "unmapped field: %v", err)
	assert.Contains(t, err.Error(), `"tags"`)

	_, _, err = c.Where(cohort.Where(cohort.IsSet("shoe_size")), time.Now(), 0)
	var fe *cohort.FilterError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, cohort.CodeUnknownField, fe.Code)
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  cohortsql.Config
	}{
		{"no dialect", cohortsql.Config{}},
		{"unknown field", cohortsql.Config{Dialect: cohortsql.Postgres, Columns: map[string]string{"shoe_size": "x"}}},
		{"attribute without schema", cohortsql.Config{Dialect: cohortsql.Postgres, Columns: map[string]string{cohorttest.AttrTotalSpent: "x"}}},
		{"empty expression", cohortsql.Config{Dialect: cohortsql.SQLite, Columns: map[string]string{cohort.FieldLocation: " "}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cohortsql.New(tt.cfg)
			assert.True(t, errors.Is(err, cohortsql.ErrConfig), "got %v", err)
		})
	}
}

// FuzzWhere compiles arbitrary filter documents for both dialects: no
// panic, and exactly one placeholder per argument.
func FuzzWhere(f *testing.F) {
	for _, c := range cohorttest.Cases() {
		f.Add([]byte(c.JSON), uint8(0))
	}
	pg, err := cohortsql.New(cohortsql.Config{Dialect: cohortsql.Postgres, Schema: cohorttest.Schema(), Columns: columns()})
	if err != nil {
		f.Fatal(err)
	}
	lite, err := cohortsql.New(cohortsql.Config{Dialect: cohortsql.SQLite, Schema: cohorttest.Schema(), Columns: columns()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, doc []byte, offset uint8) {
		flt, err := cohort.ParseFilter(doc)
		if err != nil {
			return
		}
		sqlPG, argsPG, errPG := pg.Where(flt, cohorttest.Now(), int(offset))
		sqlLite, argsLite, errLite := lite.Where(flt, cohorttest.Now(), int(offset))
		if (errPG == nil) != (errLite == nil) {
			t.Fatalf("dialects disagree on validity: %v / %v", errPG, errLite)
		}
		if errPG != nil {
			return
		}
		if len(argsPG) != len(argsLite) {
			t.Fatalf("argument counts differ: %d / %d", len(argsPG), len(argsLite))
		}
		if n := strings.Count(sqlLite, "?"); n != len(argsLite) {
			t.Fatalf("sqlite: %d placeholders for %d args in %s", n, len(argsLite), sqlLite)
		}
		for i := range argsPG {
			if !strings.Contains(sqlPG, fmt.Sprintf("$%d", int(offset)+i+1)) {
				t.Fatalf("postgres: placeholder $%d missing in %s", int(offset)+i+1, sqlPG)
			}
		}
		if strings.Contains(sqlPG, fmt.Sprintf("$%d", int(offset)+len(argsPG)+1)) {
			t.Fatalf("postgres: placeholder beyond the arguments in %s", sqlPG)
		}
	})
}
