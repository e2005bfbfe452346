package twilio_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/providertest"
	"github.com/carecast/carecast/provider/twilio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testSID   = "AC00000000000000000000000000000001"
	testToken = "token-secret-1"
)

func newClient(t *testing.T, v *vendor, mod func(*twilio.Config)) *twilio.Client {
	t.Helper()
	cfg := twilio.Config{AccountSID: testSID, AuthToken: testToken, From: "+15005550006", BaseURL: v.URL}
	if mod != nil {
		mod(&cfg)
	}
	c, err := twilio.New(cfg)
	require.NoError(t, err)
	return c
}

func TestConformance(t *testing.T) {
	t.Parallel()
	providertest.TestSMSSender(t, providertest.SMSHarness{
		From: "+15005550006",
		New: func(t *testing.T) (provider.SMSSender, providertest.SMSBackend) {
			v := newVendor(t, testSID, testToken)
			return newClient(t, v, nil), v
		},
	})
}

func TestConformanceAPIKeyMessagingService(t *testing.T) {
	t.Parallel()
	providertest.TestSMSSender(t, providertest.SMSHarness{
		New: func(t *testing.T) (provider.SMSSender, providertest.SMSBackend) {
			v := newVendor(t, "SK0001", "key-secret")
			return newClient(t, v, func(c *twilio.Config) {
				c.AuthToken, c.APIKeySID, c.APIKeySecret = "", "SK0001", "key-secret"
				c.From, c.MessagingServiceSID = "", "MG0000000000000000000000000000000a"
			}), v
		},
	})
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  twilio.Config
		want string
	}{
		{"no account", twilio.Config{AuthToken: "x", From: "+1"}, "AccountSID"},
		{"no credentials", twilio.Config{AccountSID: "AC1", From: "+1"}, "AuthToken"},
		{"half key", twilio.Config{AccountSID: "AC1", APIKeySID: "SK1", From: "+1"}, "APIKeySecret"},
		{"no sender", twilio.Config{AccountSID: "AC1", AuthToken: "x"}, "From"},
		{"bad base", twilio.Config{AccountSID: "AC1", AuthToken: "x", From: "+1", BaseURL: "ftp://x"}, "BaseURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := twilio.New(tt.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestSendForm(t *testing.T) {
	t.Parallel()
	v := newVendor(t, testSID, testToken)
	c := newClient(t, v, func(c *twilio.Config) { c.StatusCallback = "https://hooks.example/status" })
	res, err := c.SendSMS(context.Background(), &provider.SMSMessage{To: "+14155550100", Body: "Hello", From: "MG123", MediaURLs: []string{"https://x.example/a.png"}})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(res.ProviderMessageID, "MM"))
	assert.Equal(t, 1, res.Segments)
	f := v.Forms()[0]
	assert.Equal(t, "MG123", f.Get("MessagingServiceSid"))
	assert.Empty(t, f.Get("From"))
	assert.Equal(t, "https://hooks.example/status", f.Get("StatusCallback"))
	assert.Equal(t, []string{"https://x.example/a.png"}, f["MediaUrl"])
}

func TestClassifyCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code int
		want provider.Class
	}{
		{21211, provider.Permanent}, {21614, provider.Landline}, {21635, provider.Landline},
		{21610, provider.OptedOut}, {30003, provider.Transient}, {30005, provider.Permanent},
		{30006, provider.Landline}, {30007, provider.SenderBlocked}, {30034, provider.SenderBlocked}, {30002, provider.SenderBlocked}, {30008, provider.Transient},
		{20429, provider.RateLimited}, {30500, provider.Transient}, {99999, provider.Permanent},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, twilio.ClassifyCode(tt.code), "code %d", tt.code)
	}
}

// TestAmbiguousAfterWrite covers SF-02 test 1: the request was written and
// the client timed out waiting: unknown outcome, never transient.
func TestAmbiguousAfterWrite(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	srv := newVendor(t, testSID, testToken)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
	})
	t.Cleanup(func() { close(release) })
	c := newClient(t, srv, nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived // the server holds the whole request: now give up
		cancel()
	}()
	_, err := c.SendSMS(ctx, &provider.SMSMessage{To: "+14155550100", Body: "x"})
	require.Error(t, err)
	assert.Equal(t, provider.Ambiguous, provider.Classify(err))
	assert.True(t, errors.Is(err, context.Canceled))
}

// TestTransientBeforeWrite: connection refused means nothing was sent.
func TestTransientBeforeWrite(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	c, err := twilio.New(twilio.Config{AccountSID: testSID, AuthToken: testToken, From: "+1", BaseURL: "http://" + addr})
	require.NoError(t, err)
	_, err = c.SendSMS(context.Background(), &provider.SMSMessage{To: "+14155550100", Body: "x"})
	require.Error(t, err)
	assert.Equal(t, provider.Transient, provider.Classify(err))
}

func TestHTTPStatusWithoutCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		want   provider.Class
	}{
		{500, provider.Transient}, {502, provider.Transient}, {503, provider.Transient},
		{504, provider.Ambiguous}, {401, provider.Permanent}, {418, provider.Permanent},
		{429, provider.RateLimited},
	}
	for _, tt := range tests {
		v := newVendor(t, testSID, testToken)
		v.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tt.status) })
		c := newClient(t, v, nil)
		_, err := c.SendSMS(context.Background(), &provider.SMSMessage{To: "+14155550100", Body: "x"})
		require.Error(t, err)
		assert.Equal(t, tt.want, provider.Classify(err), "status %d", tt.status)
	}
}

// compliance.md HI-05: the client reports BAA coverage only when the host
// declares it.
func TestCoversPHI(t *testing.T) {
	t.Parallel()
	c, err := twilio.New(twilio.Config{AccountSID: testSID, AuthToken: testToken, From: "+1"})
	require.NoError(t, err)
	assert.False(t, provider.CoversPHI(c))
	c, err = twilio.New(twilio.Config{AccountSID: testSID, AuthToken: testToken, From: "+1", BAACoversPHI: true})
	require.NoError(t, err)
	assert.True(t, provider.CoversPHI(c))
}

// compliance.md SM-08: the client reports redaction when declared.
func TestRedactsNumbers(t *testing.T) {
	t.Parallel()
	c, err := twilio.New(twilio.Config{AccountSID: testSID, AuthToken: testToken, From: "+1", PhoneNumberRedaction: true})
	require.NoError(t, err)
	assert.True(t, provider.RedactsNumbers(c))
	assert.False(t, provider.RedactsNumbers(nil))
}
