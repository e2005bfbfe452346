// Package cohortsql compiles cohort filters into parameterised SQL WHERE
// clauses, so that a host with a large patients table filters in its
// database instead of streaming every patient through the in-memory
// matcher. It writes the PostgreSQL ($1, $2, …) and SQLite (?) dialects
// and imports no database driver: it only produces text and arguments.
//
// # Usage
//
// Map the fields filters may use to SQL expressions over the host's
// patient row, once:
//
//	where, err := cohortsql.New(cohortsql.Config{
//		Dialect: cohortsql.Postgres,
//		Schema:  schema, // the host's cohort.Schema
//		Columns: map[string]string{
//			cohort.FieldLocation: "p.location_id",
//			cohort.FieldTags:     "p.tags",
//			cohort.FieldAge:      "p.date_of_birth",
//			"total_spent":        "p.total_spent_micros",
//		},
//	})
//
// then, in the host's PatientStore.Patients:
//
//	clause, args, err := where.Where(q.Filter, q.Now, 1) // $1 is the org
//	rows, err := db.QueryContext(ctx,
//		`SELECT … FROM patients p WHERE p.org_id = $1 AND `+clause+
//			` ORDER BY p.id COLLATE "C"`, append([]any{orgID}, args...)...)
//
// Every operand travels as an argument; the SQL text depends only on the
// filter's shape and the Columns expressions, which are trusted host SQL.
// Field names from a filter document never reach the SQL: a field is
// looked up in Columns, and an unmapped one is an error (ErrUnmapped).
//
// # Column encodings
//
// The compiler assumes these representations; NULL always means "not
// set":
//
//	type (fields)             PostgreSQL                 SQLite
//	string, enum              text ('' also unset)       TEXT ('' also unset)
//	string_set (tags)         json/jsonb array of text   TEXT holding a JSON array
//	number                    double precision/numeric   REAL or INTEGER
//	money                     bigint micro-units         INTEGER micro-units
//	date (last_visit, attrs)  timestamptz                INTEGER Unix microseconds
//	age → date of birth       date                       TEXT 'YYYY-MM-DD'
//	bool                      boolean                    INTEGER 0/1
//
// Core flags (active, consent) treat NULL as false, as carecast.Patient
// does; attribute flags treat NULL as unset.
//
// # Semantics
//
// The clause is built from cohort.Schema.Plan, the same lowering the
// in-memory matcher runs: ages become date-of-birth ranges and "within the
// last N days" becomes an instant range computed from the now passed to
// Where, so the database's clock and time zone play no part. Every leaf is
// guarded so that it is TRUE or FALSE, never NULL; NOT therefore has the
// package cohort meaning (NOT over an unset value is true) instead of SQL's
// three-valued one.
//
// # Testing
//
// The package's tests run the cohorttest conformance suite against a
// reference store built on this compiler over real SQLite
// (modernc.org/sqlite) and real PostgreSQL, plus a randomised differential
// test comparing both databases with the in-memory matcher. PostgreSQL
// runs when CARECAST_TEST_POSTGRES holds a connection URL, for example
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable; each test
// creates its own schema and drops it.
package cohortsql
