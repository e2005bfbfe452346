package cohort_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast/cohort"
)

// A NUL byte in a cohort's name or filter was stored by the in-memory
// store and refused by PostgreSQL as a server fault: Check refuses both.
func TestCohortCheckText(t *testing.T) {
	filter := func(v string) cohort.Filter {
		f, err := cohort.ParseFilter([]byte(`{"version":1,"where":{"or":[{"field":"city","op":"equals","strings":["x"]},
			{"not":{"field":"city","op":"in","strings":["y",` + v + `]}}]}}`))
		require.NoError(t, err)
		return f
	}
	for _, c := range []cohort.Cohort{
		{OrgID: "o", Name: "Flu\x00"},
		{OrgID: "o", Name: "Flu\x1b[2J"},
		{OrgID: "o", Name: "Flu \xff"},
		{OrgID: "o", Name: "Flu", Filter: filter(`"a\u0000"`)},
	} {
		assert.ErrorIs(t, c.Check(), cohort.ErrInvalidCohort, "%q", c.Name)
	}
	ok := cohort.Cohort{OrgID: "o", Name: "Flu shots – 65+ ✓", Filter: filter(`"São Paulo"`)}
	assert.NoError(t, ok.Check())
}
