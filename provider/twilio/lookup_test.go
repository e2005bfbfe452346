package twilio_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/twilio"
)

// lookupVendor follows Lookup v2's documented shape: GET
// /v2/PhoneNumbers/{number}?Fields=line_type_intelligence with basic auth,
// 200 with a PhoneNumber resource, 404 {code 20404} for an unknown one.
func lookupVendor(t *testing.T, types map[string]string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != testSID || p != testToken {
			twilioError(w, http.StatusUnauthorized, 20003)
			return
		}
		number, found := strings.CutPrefix(r.URL.Path, "/v2/PhoneNumbers/")
		if r.Method != http.MethodGet || !found || r.URL.Query().Get("Fields") != "line_type_intelligence" {
			twilioError(w, http.StatusBadRequest, 20001)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch typ := types[number]; typ {
		case "":
			twilioError(w, http.StatusNotFound, 20404)
		case "500":
			w.WriteHeader(http.StatusInternalServerError)
		case "invalid":
			fmt.Fprintf(w, `{"phone_number": %q, "valid": false, "line_type_intelligence": null}`, number)
		case "error":
			fmt.Fprintf(w, `{"phone_number": %q, "valid": true, "line_type_intelligence": {"type": null, "error_code": 60601}}`, number)
		default:
			fmt.Fprintf(w, `{"calling_country_code": "1", "country_code": "US", "phone_number": %q, "national_format": "(212) 555-0100", "valid": true,
"line_type_intelligence": {"carrier_name": "Example Wireless", "error_code": null, "mobile_country_code": "310", "mobile_network_code": "456", "type": %q}}`, number, typ)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// compliance.md SF-03: Line Type Intelligence answers map to line types;
// failures are classified errors that never name the number.
func TestLookupLineType(t *testing.T) {
	t.Parallel()
	srv := lookupVendor(t, map[string]string{
		"+12125550100": "landline", "+12125550101": "mobile", "+12125550102": "nonFixedVoip", "+12125550103": "fixedVoip",
		"+12125550104": "tollFree", "+12125550105": "invalid", "+12125550106": "500", "+12125550107": "error",
	})
	c, err := twilio.New(twilio.Config{AccountSID: testSID, AuthToken: testToken, From: "+1", LookupBaseURL: srv.URL})
	require.NoError(t, err)
	for number, want := range map[string]carecast.LineType{
		"+12125550100": carecast.LineLandline, "+12125550101": carecast.LineMobile, "+12125550102": carecast.LineVoIP,
		"+12125550103": carecast.LineVoIP, "+12125550104": carecast.LineUnknown, "+12125550105": carecast.LineUnknown,
	} {
		got, err := c.LookupLineType(context.Background(), number)
		require.NoError(t, err, number)
		assert.Equal(t, want, got, number)
	}
	for number, class := range map[string]provider.Class{
		"+12125550106": provider.Transient, "+12125550107": provider.Permanent, "+12125550199": provider.Permanent,
	} {
		_, err := c.LookupLineType(context.Background(), number)
		require.Error(t, err, number)
		assert.Equal(t, class, provider.Classify(err), number)
		assert.NotContains(t, err.Error(), "555", "errors never name the number")
	}
	bad, err := twilio.New(twilio.Config{AccountSID: testSID, AuthToken: "wrong", From: "+1", LookupBaseURL: srv.URL})
	require.NoError(t, err)
	_, err = bad.LookupLineType(context.Background(), "+12125550100")
	assert.ErrorContains(t, err, "20003")
}
