// Package cohortsql compiles cohort filters into parameterised SQL WHERE
// clauses, so that a host with a large patients table filters in its
// database instead of streaming every patient through the in-memory
// matcher. It writes PostgreSQL ($1, $2, …) and SQLite (?) dialects.
package cohortsql
