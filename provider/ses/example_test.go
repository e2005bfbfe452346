package ses_test

import (
	"fmt"

	"github.com/carecast/carecast/provider/ses"
)

func ExampleCheckSNSURL() {
	for _, u := range []string{
		"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
		"https://sns.us-east-1.amazonaws.com.evil.example/cert.pem",
		"http://sns.us-east-1.amazonaws.com/x.pem",
		"https://sns.us-east-1.amazonaws.com@evil.example/x.pem",
	} {
		fmt.Println(ses.CheckSNSURL(u, true) == nil)
	}
	// Output:
	// true
	// false
	// false
	// false
}

func ExampleMessage_StringToSign() {
	m := ses.Message{Type: "Notification", MessageId: "m1", TopicArn: "arn:aws:sns:us-east-1:1:t", Message: "{}", Timestamp: "2026-01-01T00:00:00Z"}
	s, _ := m.StringToSign()
	fmt.Print(s)
	// Output:
	// Message
	// {}
	// MessageId
	// m1
	// Timestamp
	// 2026-01-01T00:00:00Z
	// TopicArn
	// arn:aws:sns:us-east-1:1:t
	// Type
	// Notification
}
