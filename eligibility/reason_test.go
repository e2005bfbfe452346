package eligibility

import (
	"encoding/json"
	"testing"

	"github.com/carecast/carecast"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReasonStrings(t *testing.T) {
	tests := []struct {
		r               Reason
		str, sms, email string
		group           Reason
		card            ResultCard
	}{
		{Send, "send", "Will send", "Will send", Send, CardNone},
		{NoContact, "no_contact_info", "No contact info", "No email", NoContact, CardSkipped},
		{Landline, "landline", "Landline", "Landline", Landline, CardSkipped},
		{OptedOut, "opted_out", "Opted out", "Opted out", OptedOut, CardOptedOut},
		{Blocked, "blocked", "Blocked", "Blocked", OptedOut, CardBlocked},
		{NotOptedIn, "not_opted_in", "Not opted in", "Not opted in", NotOptedIn, CardSkipped},
		{Suppressed, "suppressed", "Suppressed", "Suppressed", Suppressed, CardSkipped},
		{Unsubscribed, "unsubscribed", "Unsubscribed", "Unsubscribed", Unsubscribed, CardSkipped},
		{SharedAddress, "shared_address", "Shared address", "Shared address", SharedAddress, CardSkipped},
		{NoAuthorization, "no_hipaa_authorization", "No authorization", "No authorization", NoAuthorization, CardSkipped},
		{NoPEWC, "no_pewc", "No written consent", "No written consent", NoPEWC, CardSkipped},
		{Confidential, "confidential_request", "Confidential request", "Confidential request", Confidential, CardSkipped},
	}
	require.Len(t, tests, NumReasons, "every reason is listed")
	require.Equal(t, Reasons(), func() (rs []Reason) {
		for _, tt := range tests {
			rs = append(rs, tt.r)
		}
		return rs
	}())
	for _, tt := range tests {
		t.Run(tt.str, func(t *testing.T) {
			assert.True(t, tt.r.Valid())
			assert.Equal(t, tt.str, tt.r.String())
			assert.Equal(t, tt.sms, tt.r.Label(carecast.SMS))
			assert.Equal(t, tt.email, tt.r.Label(carecast.Email))
			assert.Equal(t, tt.group, tt.r.PreviewGroup())
			assert.Equal(t, tt.card, tt.r.ResultCard())
			assert.Equal(t, tt.r != Send, tt.r.Skipped())
			back, err := ParseReason(tt.str)
			require.NoError(t, err)
			assert.Equal(t, tt.r, back)
		})
	}
	assert.Equal(t, "Reason(200)", Reason(200).String())
	assert.Equal(t, "Reason(200)", Reason(200).Label(carecast.SMS))
	assert.False(t, Reason(NumReasons).Valid())
	assert.Equal(t, "", CardNone.String())
	assert.Equal(t, "Skipped", CardSkipped.String())
	assert.Equal(t, "Opted Out", CardOptedOut.String())
	assert.Equal(t, "Blocked", CardBlocked.String())
	assert.Equal(t, "ResultCard(9)", ResultCard(9).String())
}

func TestParseReasonError(t *testing.T) {
	for _, s := range []string{"", "Send", "opted out", "OPTED_OUT", "Reason(3)"} {
		_, err := ParseReason(s)
		var re *ReasonError
		require.ErrorAs(t, err, &re, s)
		assert.Equal(t, s, re.Name)
	}
	_, err := ParseReason("x-very-long-reason-name-that-goes-on-and-on-and-on")
	assert.Equal(t, `eligibility: unknown reason "x-very-long-reason-name-that-goes-on-and…"`, err.Error())
}

func TestReasonJSON(t *testing.T) {
	in := map[string]Reason{"a": Blocked, "b": Send}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	assert.JSONEq(t, `{"a":"blocked","b":"send"}`, string(b))
	var out map[string]Reason
	require.NoError(t, json.Unmarshal(b, &out))
	assert.Equal(t, in, out)

	var r Reason
	assert.Error(t, json.Unmarshal([]byte(`"nope"`), &r))
	_, err = json.Marshal(Reason(99))
	assert.ErrorContains(t, err, "eligibility: cannot marshal undefined Reason(99)")
}
