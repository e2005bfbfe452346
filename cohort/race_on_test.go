//go:build race

package cohort_test

// raceEnabled reports whether the tests run under the race detector, which
// makes each parsed record about ten times slower: size-scaled tests
// shrink their input (the bounds they check do not depend on it).
const raceEnabled = true
