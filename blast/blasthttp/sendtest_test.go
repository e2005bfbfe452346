package blasthttp_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasthttp"
	"github.com/carecast/carecast/blast/blasttest"
	"github.com/carecast/carecast/provider"
)

// POST /blasts/{id}/test answers a bad destination 422 naming "to", a
// refused one 409 with its reason, a real patient the user may not see
// 403, and personalises for a real patient only when
// Config.CanViewPatient allows that patient.
func TestSendTestEndpointErrors(t *testing.T) {
	var asked []string
	e := newEnv(t, func(c *blasthttp.Config) {
		c.CanViewPatient = func(r *http.Request, id string) bool {
			asked = append(asked, id)
			return r.Header.Get("X-Org") == blasttest.Org && id != "p-4"
		}
	})
	org := blasttest.Org
	b := e.smsDraft(t, "Hi {{first_name}}")
	path := "/blasts/" + b.ID + "/test"
	_, err := e.h.Engine.HandleEvent(t.Context(), provider.Event{ID: "stop-1", OrgID: org, Kind: provider.EventInbound,
		From: "+15125557777", To: "+15125550000", Body: "STOP"})
	require.NoError(t, err)
	before := e.h.SMS.Calls()

	for _, tt := range []struct {
		body, code, field, problem string
		status                     int
	}{
		{`{"to":"abc"}`, "invalid_destination", "to", "destination", http.StatusUnprocessableEntity},
		{`{"to":"555-0100"}`, "invalid_destination", "to", "destination", http.StatusUnprocessableEntity},
		{`{"to":"not-an-email"}`, "invalid_destination", "to", "destination", http.StatusUnprocessableEntity},
		{`{"to":"+15125557777"}`, "destination_refused", "to", "opted_out", http.StatusConflict},
		{`{"to":"(512) 555-7777"}`, "destination_refused", "to", "opted_out", http.StatusConflict},
		{`{"to":"+15125550142","patient_id":"p-4"}`, "patient_forbidden", "", "", http.StatusForbidden},
		{`{"to":"+15125550142","patient_id":"b-1"}`, "not_found", "", "", http.StatusNotFound},
		{`{"to":"+15125550142","patient_id":"p-nobody"}`, "not_found", "", "", http.StatusNotFound},
	} {
		var eb errBody
		st, raw := e.do(t, org, "POST", path, tt.body, &eb)
		require.Equal(t, tt.status, st, "%s: %s", tt.body, raw)
		assert.Equal(t, tt.code, eb.Error.Code, tt.body)
		if tt.field != "" {
			require.Len(t, eb.Error.Problems, 1, tt.body)
			assert.Equal(t, tt.field, eb.Error.Problems[0].Field, tt.body)
			assert.Equal(t, blast.ProblemCode(tt.problem), eb.Error.Problems[0].Code, tt.body)
		}
		assert.NotContains(t, raw, "5557777", "the destination is never echoed")
		assert.NotContains(t, raw, "abc")
	}
	assert.Equal(t, before, e.h.SMS.Calls(), "nothing sent")

	var ok struct {
		ProviderMessageID string `json:"provider_message_id"`
		PatientID         string `json:"patient_id"`
		PortalNotice      bool   `json:"portal_notice"`
	}
	st, raw := e.do(t, org, "POST", path, `{"to":"+15125550142","patient_id":"p-2"}`, &ok)
	require.Equal(t, http.StatusOK, st, raw)
	assert.Equal(t, "p-2", ok.PatientID)
	assert.Contains(t, blasttest.RequireSent(t, e.h.SMS, "+15125550142")[0].Body, "Hi Pat2")
	st, raw = e.do(t, org, "POST", path, `{"to":"+15125550143"}`, &ok)
	require.Equal(t, http.StatusOK, st, raw)
	assert.Empty(t, ok.PatientID)
	assert.Contains(t, blasttest.RequireSent(t, e.h.SMS, "+15125550143")[0].Body, "Hi Sample")
	assert.Equal(t, []string{"p-4", "b-1", "p-nobody", "p-2"}, asked, "asked only for real patients")
}

// Without Config.CanViewPatient nobody may personalise a test for a
// real patient.
func TestSendTestEndpointNoPatientAccessByDefault(t *testing.T) {
	e := newEnv(t, nil)
	b := e.smsDraft(t, "Hi {{first_name}}")
	var eb errBody
	st, raw := e.do(t, blasttest.Org, "POST", "/blasts/"+b.ID+"/test", `{"to":"+15125550142","patient_id":"p-1"}`, &eb)
	require.Equal(t, http.StatusForbidden, st, raw)
	assert.Equal(t, "patient_forbidden", eb.Error.Code)
	assert.Zero(t, e.h.SMS.Calls())
}
