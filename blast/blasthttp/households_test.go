package blasthttp_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasthttp"
	"github.com/carecast/carecast/blast/blasttest"
)

// A draft's households option goes through the API both ways, and an
// unknown value is a 400 naming the field.
func TestDraftHouseholds(t *testing.T) {
	e := newEnv(t, nil)
	org := blasttest.Org
	var b blasthttp.Blast
	st, raw := e.do(t, org, "POST", "/blasts", fmt.Sprintf(`{"channel":"sms","purpose":"marketing","cohort_ids":[%q],"sms":{"body":"Hi"},"households":"each"}`, e.cohort.ID), &b)
	require.Equal(t, http.StatusCreated, st, raw)
	assert.Equal(t, blast.HouseholdsEach, b.Households)
	var got blasthttp.Blast
	st, raw = e.do(t, org, "GET", "/blasts/"+b.ID, "", &got)
	require.Equal(t, http.StatusOK, st, raw)
	assert.Equal(t, blast.HouseholdsEach, got.Households)
	st, raw = e.do(t, org, "POST", "/blasts", fmt.Sprintf(`{"channel":"sms","cohort_ids":[%q],"sms":{"body":"Hi"},"households":"some"}`, e.cohort.ID), nil)
	assert.Equal(t, http.StatusUnprocessableEntity, st, "a validation problem, as for every draft field")
	assert.Contains(t, raw, "Households")
	assert.Contains(t, raw, "households")
}
