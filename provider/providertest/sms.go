package providertest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carecast/carecast/provider"
)

// SMSOutcome is a scripted vendor answer to one send request.
type SMSOutcome int

// The vendor behaviours an SMS backend reproduces, with the class the
// sender must report.
const (
	// SMSAccept: the vendor accepts the message. No error.
	SMSAccept SMSOutcome = iota
	// SMSInvalidNumber: the number is not valid (Twilio 21211).
	// Permanent.
	SMSInvalidNumber
	// SMSLandline: the number cannot receive texts (Twilio 21614).
	// Landline.
	SMSLandline
	// SMSOptedOut: the recipient opted out at the vendor (Twilio 21610).
	// OptedOut.
	SMSOptedOut
	// SMSRateLimited: HTTP 429 with "Retry-After: 2". RateLimited, with
	// provider.RetryAfter(err) == 2s.
	SMSRateLimited
	// SMSUnavailable: the vendor answers that it accepted nothing (HTTP
	// 503). Transient.
	SMSUnavailable
	// SMSCutAfterRequest: the backend reads the whole request, then
	// closes the connection without answering. Ambiguous.
	SMSCutAfterRequest
	// SMSGarbage: a success status with a body the adapter cannot
	// understand. Ambiguous or Permanent, never success or retryable.
	SMSGarbage
)

var smsOutcomeNames = [...]string{"accept", "invalid_number", "landline", "opted_out", "rate_limited", "unavailable", "cut_after_request", "garbage"}

// String returns the outcome's name.
func (o SMSOutcome) String() string {
	if o >= 0 && int(o) < len(smsOutcomeNames) {
		return smsOutcomeNames[o]
	}
	return fmt.Sprintf("SMSOutcome(%d)", int(o))
}

// SMSReceived is one send request as the vendor backend received it,
// whatever the scripted outcome.
type SMSReceived struct {
	// To and From are the recipient and sender (a number or a Messaging
	// Service SID) as sent to the vendor.
	To, From string
	// Body is the text.
	Body string
	// MediaURLs are the MMS image URLs, in order.
	MediaURLs []string
	// StatusCallback is the delivery-status URL passed to the vendor.
	StatusCallback string
}

// SMSBackend is a vendor-like server the suite scripts and inspects.
// Implementations must be safe for concurrent use.
type SMSBackend interface {
	// Script queues outcomes for the next requests, in order; once they
	// are used up the backend accepts every request.
	Script(outcomes ...SMSOutcome)
	// Received returns every send request received so far, in order.
	Received() []SMSReceived
}

// SMSHarness connects the suite to one sender implementation.
type SMSHarness struct {
	// New returns a sender wired to a fresh backend. Required. Register
	// cleanups with t.Cleanup.
	New func(t *testing.T) (provider.SMSSender, SMSBackend)
	// From is the sender identity put on messages; empty means leave
	// SMSMessage.From empty (the adapter's default).
	From string
	// Unsupported lists outcomes the backend cannot reproduce; their
	// subtests are skipped.
	Unsupported []SMSOutcome
	// NoStatusCallback is set for senders that do not pass
	// SMSMessage.StatusCallback to the backend (in-memory fakes); the
	// callback check is skipped.
	NoStatusCallback bool
	// Lenient is set for senders that accept any message without
	// validating it (in-memory fakes); the InvalidMessage subtest is
	// skipped.
	Lenient bool
}

// smsPHI are the recipient and body used by the suite; errors must never
// contain them.
const (
	smsTo   = "+14155550123"
	smsBody = "Hi Dana, your flu shot is ready at Oak Clinic."
)

// TestSMSSender runs the SMS conformance suite against h.
func TestSMSSender(t *testing.T, h SMSHarness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("providertest: SMSHarness.New is required")
	}
	msg := func(id string) *provider.SMSMessage {
		return &provider.SMSMessage{ID: id, OrgID: "org_1", To: smsTo, From: h.From, Body: smsBody}
	}
	skip := func(t *testing.T, o SMSOutcome) {
		if slices.Contains(h.Unsupported, o) {
			t.Skipf("backend cannot reproduce %v", o)
		}
	}

	t.Run("Accept", func(t *testing.T) {
		s, b := h.New(t)
		res, err := s.SendSMS(context.Background(), msg("row_1"))
		if err != nil {
			t.Fatalf("SendSMS: %v", err)
		}
		if res.ProviderMessageID == "" {
			t.Error("accepted send has empty ProviderMessageID")
		}
		got := b.Received()
		if len(got) != 1 {
			t.Fatalf("vendor received %d requests, want exactly 1", len(got))
		}
		if got[0].To != smsTo || got[0].Body != smsBody {
			t.Errorf("vendor received To/Body %q/%q, want %q/%q", got[0].To, got[0].Body, smsTo, smsBody)
		}
		if h.From != "" && got[0].From != h.From {
			t.Errorf("vendor received From %q, want %q", got[0].From, h.From)
		}
		if len(got[0].MediaURLs) != 0 {
			t.Errorf("plain SMS carried media %v", got[0].MediaURLs)
		}
	})

	t.Run("MMSAndCallback", func(t *testing.T) {
		s, b := h.New(t)
		m := msg("row_mms")
		m.MediaURLs = []string{"https://cdn.clinic.example/a.png", "https://cdn.clinic.example/b.jpg"}
		m.StatusCallback = "https://hooks.clinic.example/twilio/status?org=org_1"
		if _, err := s.SendSMS(context.Background(), m); err != nil {
			t.Fatalf("SendSMS: %v", err)
		}
		got := b.Received()
		if len(got) != 1 {
			t.Fatalf("vendor received %d requests, want 1", len(got))
		}
		if !slices.Equal(got[0].MediaURLs, m.MediaURLs) {
			t.Errorf("media = %v, want %v", got[0].MediaURLs, m.MediaURLs)
		}
		if !h.NoStatusCallback && got[0].StatusCallback != m.StatusCallback {
			t.Errorf("status callback = %q, want %q", got[0].StatusCallback, m.StatusCallback)
		}
	})

	t.Run("UniqueIDs", func(t *testing.T) {
		s, _ := h.New(t)
		r1, err1 := s.SendSMS(context.Background(), msg("row_a"))
		r2, err2 := s.SendSMS(context.Background(), msg("row_b"))
		if err1 != nil || err2 != nil {
			t.Fatalf("SendSMS: %v, %v", err1, err2)
		}
		if r1.ProviderMessageID == r2.ProviderMessageID {
			t.Errorf("two sends share ProviderMessageID %q", r1.ProviderMessageID)
		}
	})

	failures := []struct {
		outcome SMSOutcome
		want    []provider.Class
	}{
		{SMSInvalidNumber, []provider.Class{provider.Permanent}},
		{SMSLandline, []provider.Class{provider.Landline}},
		{SMSOptedOut, []provider.Class{provider.OptedOut}},
		{SMSRateLimited, []provider.Class{provider.RateLimited}},
		{SMSUnavailable, []provider.Class{provider.Transient}},
		{SMSCutAfterRequest, []provider.Class{provider.Ambiguous}},
		{SMSGarbage, []provider.Class{provider.Ambiguous, provider.Permanent}},
	}
	for _, f := range failures {
		t.Run("Outcome_"+f.outcome.String(), func(t *testing.T) {
			skip(t, f.outcome)
			s, b := h.New(t)
			b.Script(f.outcome)
			res, err := s.SendSMS(context.Background(), msg("row_"+f.outcome.String()))
			if err == nil {
				t.Fatalf("outcome %v: SendSMS succeeded (%+v), want class %v", f.outcome, res, f.want)
			}
			checkClass(t, err, f.want)
			checkNoPHI(t, err, smsTo, smsBody)
			if n := len(b.Received()); n != 1 {
				t.Errorf("vendor received %d requests, want exactly 1 (adapters never retry)", n)
			}
			if f.outcome == SMSRateLimited {
				if ra := provider.RetryAfter(err); ra != 2*time.Second {
					t.Errorf("RetryAfter = %v, want 2s from the Retry-After header", ra)
				}
			}
			// The next request is accepted again: the failure left the
			// sender usable.
			if _, err := s.SendSMS(context.Background(), msg("row_after")); err != nil {
				t.Errorf("send after %v failed: %v", f.outcome, err)
			}
		})
	}

	t.Run("CancelledContext", func(t *testing.T) {
		s, b := h.New(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := s.SendSMS(ctx, msg("row_cancel"))
		if err == nil {
			t.Fatal("send with a cancelled context succeeded")
		}
		if c := provider.Classify(err); c != provider.Transient {
			t.Errorf("class = %v, want transient (nothing was sent)", c)
		}
		if n := len(b.Received()); n != 0 {
			t.Errorf("vendor received %d requests after cancellation, want 0", n)
		}
	})

	t.Run("InvalidMessage", func(t *testing.T) {
		if h.Lenient {
			t.Skip("sender does not validate messages")
		}
		s, b := h.New(t)
		m := msg("row_empty")
		m.To = ""
		_, err := s.SendSMS(context.Background(), m)
		if err == nil {
			t.Fatal("send without a recipient succeeded")
		}
		checkClass(t, err, []provider.Class{provider.Permanent})
		if n := len(b.Received()); n != 0 {
			t.Errorf("vendor received %d requests for an invalid message, want 0", n)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s, b := h.New(t)
		checkConcurrent(t, 16, func(i int) (provider.Result, error) {
			return s.SendSMS(context.Background(), msg(fmt.Sprintf("row_c%d", i)))
		}, func() int { return len(b.Received()) })
	})
}

// checkConcurrent runs send n times in parallel and checks that every call
// succeeded with a distinct ProviderMessageID and the backend received n.
func checkConcurrent(t *testing.T, n int, send func(i int) (provider.Result, error), received func() int) {
	t.Helper()
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := send(i)
			ids[i], errs[i] = res.ProviderMessageID, err
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("concurrent send %d: %v", i, errs[i])
		}
		if seen[ids[i]] {
			t.Errorf("duplicate ProviderMessageID %q", ids[i])
		}
		seen[ids[i]] = true
	}
	if got := received(); got != n {
		t.Errorf("backend received %d requests, want %d", got, n)
	}
}

// checkClass fails t unless err classifies as one of want.
func checkClass(t *testing.T, err error, want []provider.Class) {
	t.Helper()
	c := provider.Classify(err)
	if !slices.Contains(want, c) {
		t.Errorf("Classify(%v) = %v, want one of %v", err, c, want)
	}
}

// checkNoPHI fails t if err's message contains any of the values.
func checkNoPHI(t *testing.T, err error, values ...string) {
	t.Helper()
	s := err.Error()
	for _, v := range values {
		if v != "" && strings.Contains(s, v) {
			t.Errorf("error %q contains PHI %q", s, v)
		}
	}
}
