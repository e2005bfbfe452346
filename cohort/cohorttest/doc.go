// Package cohorttest is the conformance suite for cohort.PatientStore
// implementations. A host runs it against its own store from a test:
//
//	func TestPatientStore(t *testing.T) {
//		cohorttest.Run(t, cohorttest.Harness{
//			NewStore: func(t *testing.T, patients map[string][]carecast.Patient) cohort.PatientStore {
//				db := newTestDB(t)                      // a fresh database
//				loadPatients(t, db, patients)          // one row per patient
//				return mystore.New(db, cohorttest.Schema())
//			},
//		})
//	}
//
// The in-memory cohort.MemPatientStore and the SQL reference stores in
// package cohortsql's tests (SQLite and PostgreSQL) run the same suite.
//
// # What it checks
//
//   - Filter semantics: every case of Cases() over the fixtures of
//     Patients(), evaluated at the fixed Now() (or the case's own instant):
//     string, enum, set, number, money (to the micro-unit), date and bool
//     conditions, age boundaries (birthdays today and tomorrow, 29
//     February), time windows, NOT over unset values, nested groups and
//     hostile string values. Count is checked too when the store
//     implements cohort.PatientCounter.
//   - Invalid filters are rejected with *cohort.FilterError.
//   - Ordering: ascending byte-wise IDs, no locale collation; Query.AfterID.
//   - Early break, cancelled contexts.
//   - Tenant isolation: OrgB reuses OrgA's contacts and (unless
//     Harness.GlobalIDs) one of its patient IDs.
//   - PatientsByID, Search, FindByContact (national-format phones,
//     mixed-case emails, shared family email), and cohort.ContactMatcher
//     when the store implements it.
//   - ApplyContactChange effects for every ChangeKind (skip with
//     Harness.ReadOnly).
//   - Resolve deduplication across overlapping filter and list cohorts,
//     and a contact-list import matched through the store.
//
// # Fixtures
//
// The store must be built with Schema() (the attributes the fixtures use)
// and the "US" phone region, and must hold exactly the patients passed to
// NewStore. Expectations in Cases() were written by hand from the fixture
// comments, so a disagreement means the store, not the suite, is wrong —
// or the semantics documented in package cohort changed.
package cohorttest
