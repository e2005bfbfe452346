package fake_test

import (
	"sync"
	"testing"
	"time"

	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/fake"
	"github.com/carecast/carecast/provider/providertest"
)

// backend scripts the fake through its ScriptFunc, which sees every call,
// and records what the "vendor" received.
type backend struct {
	mu       sync.Mutex
	sms      []providertest.SMSOutcome
	email    []providertest.EmailOutcome
	received []fake.Message
}

func newBackend(p *fake.Provider) *backend {
	b := &backend{}
	p.Script(func(m *fake.Message, _ int) error {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.received = append(b.received, *m)
		if len(b.sms) > 0 {
			o := b.sms[0]
			b.sms = b.sms[1:]
			return smsError(o)
		}
		if len(b.email) > 0 {
			o := b.email[0]
			b.email = b.email[1:]
			return emailError(o)
		}
		return nil
	})
	return b
}

func smsError(o providertest.SMSOutcome) error {
	switch o {
	case providertest.SMSInvalidNumber:
		return fake.Permanent("21211")
	case providertest.SMSLandline:
		return fake.Landline()
	case providertest.SMSOptedOut:
		return fake.OptedOut()
	case providertest.SMSRateLimited:
		return fake.RateLimited(2 * time.Second)
	case providertest.SMSUnavailable:
		return fake.Transient()
	case providertest.SMSCutAfterRequest:
		return fake.Ambiguous()
	}
	return nil
}

func emailError(o providertest.EmailOutcome) error {
	switch o {
	case providertest.EmailTempFail:
		return fake.Transient()
	case providertest.EmailMailboxUnknown:
		return fake.Bounce()
	case providertest.EmailPolicyBlock:
		return fake.Permanent("550 5.7.1")
	case providertest.EmailRateLimited:
		return fake.RateLimited(0)
	case providertest.EmailCutAfterRequest:
		return fake.Ambiguous()
	}
	return nil
}

type smsBackend struct{ *backend }

func (b smsBackend) Script(o ...providertest.SMSOutcome) {
	b.mu.Lock()
	b.sms = append(b.sms, o...)
	b.mu.Unlock()
}

func (b smsBackend) Received() []providertest.SMSReceived {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []providertest.SMSReceived
	for _, m := range b.received {
		out = append(out, providertest.SMSReceived{To: m.To, From: m.From, Body: m.Body, MediaURLs: m.MediaURLs})
	}
	return out
}

type emailBackend struct{ *backend }

func (b emailBackend) Script(o ...providertest.EmailOutcome) {
	b.mu.Lock()
	b.email = append(b.email, o...)
	b.mu.Unlock()
}

func (b emailBackend) Received() []providertest.EmailReceived {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []providertest.EmailReceived
	for _, m := range b.received {
		out = append(out, providertest.EmailReceived{From: m.From, To: m.To})
	}
	return out
}

func TestConformanceSMS(t *testing.T) {
	t.Parallel()
	providertest.TestSMSSender(t, providertest.SMSHarness{
		From: "+15005550006",
		New: func(t *testing.T) (provider.SMSSender, providertest.SMSBackend) {
			p := fake.New(nil)
			return p, smsBackend{newBackend(p)}
		},
		// The fake has no wire format to garble, keeps no status
		// callback, and accepts any message.
		Unsupported:      []providertest.SMSOutcome{providertest.SMSGarbage},
		NoStatusCallback: true,
		Lenient:          true,
	})
}

func TestConformanceEmail(t *testing.T) {
	t.Parallel()
	providertest.TestEmailSender(t, providertest.EmailHarness{
		New: func(t *testing.T) (provider.EmailSender, providertest.EmailBackend) {
			p := fake.New(nil)
			return p, emailBackend{newBackend(p)}
		},
		Lenient: true,
	})
}
