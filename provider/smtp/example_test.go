package smtp_test

import (
	"fmt"

	"github.com/carecast/carecast/provider/smtp"
)

func ExampleClassifyReply() {
	for _, r := range []struct {
		code int
		enh  string
	}{{550, "5.1.1"}, {550, "5.7.1"}, {452, "4.2.2"}, {421, "4.7.28"}} {
		fmt.Println(r.code, r.enh, smtp.ClassifyReply(r.code, r.enh))
	}
	// Output:
	// 550 5.1.1 suppress
	// 550 5.7.1 sender_blocked
	// 452 4.2.2 transient
	// 421 4.7.28 rate_limited
}

func ExampleNew() {
	c, err := smtp.New(smtp.Config{
		Host:     "smtp.sendgrid.net",
		Username: "apikey",
		Password: "SG.secret",
		// STARTTLS on 587 is the default.
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	fmt.Println("configured")
	// Output: configured
}
