package sendgrid_test

import (
	"fmt"

	"github.com/carecast/carecast/provider/sendgrid"
)

// The vector of SendGrid's own SDK tests (compliance.md Appendix A): the
// signature covers the timestamp and the raw body, trailing CRLF included.
func ExampleVerifySignature() {
	key, err := sendgrid.ParsePublicKey(vectorKey)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sendgrid.VerifySignature(key, vectorSignature, "1600112502", []byte(vectorPayload)))
	fmt.Println(sendgrid.VerifySignature(key, vectorSignature, "1600112503", []byte(vectorPayload)))
	// Output:
	// true
	// false
}
