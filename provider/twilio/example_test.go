package twilio_test

import (
	"fmt"
	"net/url"

	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/twilio"
)

// The vector of Twilio's own SDK tests (compliance.md Appendix A).
func ExampleValidateSignature() {
	params := url.Values{
		"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"},
		"From": {"+14158675309"}, "To": {"+18005551212"},
	}
	const u = "https://mycompany.com/myapp.php?foo=1&bar=2"
	fmt.Println(twilio.ValidateSignature("12345", u, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8="))
	params.Set("Digits", "9999")
	fmt.Println(twilio.ValidateSignature("12345", u, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8="))
	// Output:
	// true
	// false
}

func ExampleClassifyCode() {
	for _, code := range []int{21610, 21614, 30006, 30007, 20429, 30003} {
		c := twilio.ClassifyCode(code)
		fmt.Println(code, c, c == provider.Landline)
	}
	// Output:
	// 21610 opted_out false
	// 21614 landline true
	// 30006 landline true
	// 30007 sender_blocked false
	// 20429 rate_limited false
	// 30003 transient false
}

func ExampleNew() {
	c, err := twilio.New(twilio.Config{
		AccountSID:          "AC00000000000000000000000000000001",
		APIKeySID:           "SK00000000000000000000000000000001",
		APIKeySecret:        "secret",
		MessagingServiceSID: "MG00000000000000000000000000000001",
		StatusCallback:      "https://hooks.clinic.example/twilio/status?org=org_1",
	})
	fmt.Println(c != nil, err)
	// Output: true <nil>
}
