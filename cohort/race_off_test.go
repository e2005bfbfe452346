//go:build !race

package cohort_test

// raceEnabled: see race_on_test.go.
const raceEnabled = false
