// Package cohort defines the audiences of blasts: saved, named, reusable
// [Cohort]s of one organisation's patients, and the [PatientStore]
// interface through which carecast reads the host's patients.
//
// A cohort is either a filter expression over patients ("opted in to SMS
// marketing AND (no visit in 12 months OR total spent > $500) AND NOT
// tag vip") or a contact list pasted or uploaded by a user ("Custom list ·
// 42 contacts"). [Resolve] turns the cohorts of a blast into one stream of
// patients, each once, in ascending ID order.
//
// # Filters
//
// A [Filter] is a tree of [Expr] nodes: AND groups, OR groups, NOT, and
// conditions ([Cond]) of a field, an operator and an operand. Fields are
// the core fields read from carecast.Patient (location, provider, tags,
// age, gender, active, last_visit, consent flags …) and the attributes the
// host declares in a [Schema].
//
// # Unset values
//
// Every condition except is_not_set is false for a patient who has no
// value for its field, and NOT is plain boolean negation. So NOT over a
// condition on an unset value is true: "NOT last_visit within_last_days
// 365" selects patients whose last visit is older than a year AND
// patients with no recorded visit at all, which is what "no visit in 12
// months" means.
package cohort
