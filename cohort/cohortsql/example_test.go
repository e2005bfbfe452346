package cohortsql_test

import (
	"fmt"
	"time"

	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/cohort/cohortsql"
)

// Compiling a filter for SQLite: the hostile-looking value travels as an
// argument, never as SQL text.
func ExampleCompiler_Where() {
	where, err := cohortsql.New(cohortsql.Config{
		Dialect: cohortsql.SQLite,
		Columns: map[string]string{cohort.FieldLocation: "p.location_id", cohort.FieldAge: "p.dob"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	f := cohort.Where(cohort.And(
		cohort.StringIn(cohort.FieldLocation, "downtown", "x' OR '1'='1"),
		cohort.NumberOp(cohort.FieldAge, cohort.OpGreater, 64),
	))
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	clause, args, err := where.Where(f, now, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(clause)
	fmt.Printf("%q\n", args)
	// Output:
	// (((p.location_id) IS NOT NULL AND (p.location_id) IN (?, ?)) AND ((p.dob) IS NOT NULL AND (p.dob) <= ?))
	// ["downtown" "x' OR '1'='1" "1961-03-15"]
}
