package storetest_test

import (
	"testing"

	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/store/storetest"
)

// The suite is checked against the reference implementation.
func TestCohortsMemStore(t *testing.T) {
	storetest.RunCohorts(t, func(*testing.T) cohort.Store { return cohort.NewMemStore() })
}
