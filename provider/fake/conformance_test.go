package fake_test

import (
	"testing"
	"time"

	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/fake"
	"github.com/carecast/carecast/provider/providertest"
)

// backend scripts a fake through FailNext and reports its call log, as a
// vendor test server would.
type backend struct{ p *fake.Provider }

func smsErr(o providertest.SMSOutcome) error {
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
	case providertest.SMSCutAfterRequest, providertest.SMSGarbage:
		return fake.Ambiguous()
	}
	return nil
}

func emailErr(o providertest.EmailOutcome) error {
	switch o {
	case providertest.EmailTempFail:
		return &provider.Error{Class: provider.Transient, Code: "451 4.3.0", Message: "fake try again later"}
	case providertest.EmailMailboxUnknown:
		return fake.Bounce()
	case providertest.EmailPolicyBlock:
		return fake.SenderBlocked("550 5.7.1")
	case providertest.EmailRateLimited:
		return fake.RateLimited(0)
	case providertest.EmailCutAfterRequest:
		return fake.Ambiguous()
	}
	return nil
}

func (b backend) Script(os ...providertest.SMSOutcome) {
	for _, o := range os {
		b.p.FailNext(smsErr(o))
	}
}

func (b backend) Received() []providertest.SMSReceived {
	var out []providertest.SMSReceived
	for _, m := range b.p.Received() {
		out = append(out, providertest.SMSReceived{To: m.To, From: m.From, Body: m.Body, MediaURLs: m.MediaURLs, StatusCallback: m.StatusCallback})
	}
	return out
}

type emailBackend struct{ p *fake.Provider }

func (b emailBackend) Script(os ...providertest.EmailOutcome) {
	for _, o := range os {
		b.p.FailNext(emailErr(o))
	}
}

func (b emailBackend) Received() []providertest.EmailReceived {
	var out []providertest.EmailReceived
	for _, m := range b.p.Received() {
		out = append(out, providertest.EmailReceived{From: m.From, To: m.To})
	}
	return out
}

func TestSMSConformance(t *testing.T) {
	providertest.TestSMSSender(t, providertest.SMSHarness{
		New: func(t *testing.T) (provider.SMSSender, providertest.SMSBackend) {
			p := fake.New(nil)
			return p, backend{p}
		},
		Lenient: true,
	})
}

func TestEmailConformance(t *testing.T) {
	providertest.TestEmailSender(t, providertest.EmailHarness{
		New: func(t *testing.T) (provider.EmailSender, providertest.EmailBackend) {
			p := fake.New(nil)
			return p, emailBackend{p}
		},
		Lenient: true,
	})
}
