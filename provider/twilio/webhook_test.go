package twilio_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/providertest"
	"github.com/carecast/carecast/provider/twilio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Appendix A vectors (twilio-csharp and twilio-php RequestValidatorTest).
var vectorParams = url.Values{
	"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"},
	"From": {"+14158675309"}, "To": {"+18005551212"},
}

const vectorBodyHash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"

func TestValidateSignatureVectors(t *testing.T) {
	t.Parallel()
	changed := url.Values{}
	for k, v := range vectorParams {
		changed[k] = v
	}
	changed.Set("Digits", "9999")
	tests := []struct {
		name   string
		url    string
		params url.Values
		sig    string
		want   bool
	}{
		{"canonical", "https://mycompany.com/myapp.php?foo=1&bar=2", vectorParams, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", true},
		{"changed param", "https://mycompany.com/myapp.php?foo=1&bar=2", changed, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", false},
		{"wrong signature", "https://mycompany.com/myapp.php?foo=1&bar=2", vectorParams, "NOTRSOYDt4T1cUTdK1PDd93/VVr8B8=", false},
		{"host case", "https://MyCompany.com/myapp.php?foo=1&bar=2", vectorParams, "g9IN/x4Cft2g517EjYvEvM/W7LU=", true},
		{"host case never lowered", "https://MyCompany.com/myapp.php?foo=1&bar=2", vectorParams, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", false},
		{"port 1234", "https://mycompany.com:1234/myapp.php?foo=1&bar=2", vectorParams, "CYn1h0gLBdNxDGkKJg6hYohgeD8=", true},
		{"port stripped variant", "https://mycompany.com:1234/myapp.php?foo=1&bar=2", vectorParams, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", true},
		{"default port added variant", "https://mycompany.com/myapp.php?foo=1&bar=2", vectorParams, "kvajT1Ptam85bY51eRf/AJRuM3w=", true},
		{"explicit 443", "https://mycompany.com:443/myapp.php?foo=1&bar=2", vectorParams, "kvajT1Ptam85bY51eRf/AJRuM3w=", true},
		{"http 1234", "http://mycompany.com:1234/myapp.php?foo=1&bar=2", vectorParams, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=", true},
		{"http 80", "http://mycompany.com:80/myapp.php?foo=1&bar=2", vectorParams, "0ZXoZLH/DfblKGATFgpif+LLRf4=", true},
		{"empty signature", "https://mycompany.com/myapp.php?foo=1&bar=2", vectorParams, "", false},
		{"not base64", "https://mycompany.com/myapp.php?foo=1&bar=2", vectorParams, "%%%", false},
		{"php repeated values", "https://mycompany.com/myapp.php?foo=1&bar=2", url.Values{"Sid": {"CA123"}, "SidAccount": {"AC123"}, "Digits": {"5678", "1234", "1234"}}, "IK+Dwps556ElfBT0I3Rgjkr1wJU=", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, twilio.ValidateSignature("12345", tt.url, tt.params, tt.sig))
		})
	}
	assert.False(t, twilio.ValidateSignature("54321", "https://mycompany.com/myapp.php?foo=1&bar=2", vectorParams, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), "wrong token")
}

func TestValidateJSONSignatureVectors(t *testing.T) {
	t.Parallel()
	body := []byte(`{"property": "value", "boolean": true}`)
	u := "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=" + vectorBodyHash
	assert.True(t, twilio.ValidateJSONSignature("12345", u, body, "a9nBmqA0ju/hNViExpshrM61xv4="))
	assert.True(t, twilio.ValidateJSONSignature("12345", "https://mycompany.com/myapp.php?bodySHA256="+vectorBodyHash, body, "y77kIzt2vzLz71DgmJGsen2scGs="))
	changed := []byte(`{"property": "value", "boolean": false}`)
	assert.False(t, twilio.ValidateJSONSignature("12345", u, changed, "a9nBmqA0ju/hNViExpshrM61xv4="), "body changed")
	assert.False(t, twilio.ValidateJSONSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", body, "a9nBmqA0ju/hNViExpshrM61xv4="), "no bodySHA256")
}

func FuzzValidateSignature(f *testing.F) {
	f.Add("https://mycompany.com/myapp.php?foo=1&bar=2", "Digits=1234", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
	f.Add("https://[::1]:99/x", "a=b&a=c", "")
	f.Add("https://x.example", "%zz", "AAAA")
	f.Fuzz(func(t *testing.T, u, form, sig string) {
		params, _ := url.ParseQuery(form)
		// Must not panic; a signature computed here must verify.
		twilio.ValidateSignature("12345", u, params, sig)
		mac := hmac.New(sha1.New, []byte("k"))
		io.WriteString(mac, u)
		if len(params) == 0 && !twilio.ValidateSignature("k", u, params, base64.StdEncoding.EncodeToString(mac.Sum(nil))) {
			t.Fatalf("own signature for %q rejected", u)
		}
	})
}

// twilioSign computes X-Twilio-Signature the way Twilio does.
func twilioSign(key, full string, params url.Values, sha1Alg bool) string {
	var mac = hmac.New(sha256.New, []byte(key))
	if sha1Alg {
		mac = hmac.New(sha1.New, []byte(key))
	}
	io.WriteString(mac, full)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range params[k] {
			io.WriteString(mac, k+v)
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

const public = "https://hooks.clinic.example"

var fixed = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newWebhook(t *testing.T) *twilio.Webhook {
	t.Helper()
	w, err := twilio.NewWebhook(twilio.WebhookConfig{
		AuthToken: testToken, PublicURL: public, AccountSID: testSID,
		SigningKeys: map[string]string{"rule1": "shared-key"},
		Now:         func() time.Time { return fixed },
	})
	require.NoError(t, err)
	return w
}

func post(target string, params url.Values, sig string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(params.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig != "" {
		r.Header.Set("X-Twilio-Signature", sig)
	}
	return r
}

func signedPost(target string, params url.Values) *http.Request {
	return post(target, params, twilioSign(testToken, public+target, params, true))
}

type recorder struct{ events []provider.Event }

func (r *recorder) sink(_ context.Context, evs []provider.Event) error {
	r.events = append(r.events, evs...)
	return nil
}

func TestStatusCallback(t *testing.T) {
	t.Parallel()
	w := newWebhook(t)
	base := func(status, code string) url.Values {
		v := url.Values{"MessageSid": {"SM0001"}, "MessageStatus": {status}, "AccountSid": {testSID}, "To": {"+14155550100"}, "From": {"+15005550006"}}
		if code != "" {
			v.Set("ErrorCode", code)
		}
		return v
	}
	tests := []struct {
		name   string
		params url.Values
		want   []provider.Event
	}{
		{"delivered", base("delivered", ""), []provider.Event{{ID: "twilio:SM0001:delivered", OrgID: "org_9", Kind: provider.EventDelivered, ProviderMessageID: "SM0001", At: fixed}}},
		{"30006 landline", base("undelivered", "30006"), []provider.Event{{ID: "twilio:SM0001:undelivered:30006", OrgID: "org_9", Kind: provider.EventUndelivered, ProviderMessageID: "SM0001", At: fixed, Code: "30006", Class: provider.Landline}}},
		{"30003 unreachable", base("undelivered", "30003"), []provider.Event{{ID: "twilio:SM0001:undelivered:30003", OrgID: "org_9", Kind: provider.EventUndelivered, ProviderMessageID: "SM0001", At: fixed, Code: "30003", Class: provider.Transient}}},
		{"30005 unknown handset", base("failed", "30005"), []provider.Event{{ID: "twilio:SM0001:failed:30005", OrgID: "org_9", Kind: provider.EventUndelivered, ProviderMessageID: "SM0001", At: fixed, Code: "30005", Class: provider.Permanent}}},
		{"sent is intermediate", base("sent", ""), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			rw := httptest.NewRecorder()
			w.StatusHandler(rec.sink).ServeHTTP(rw, signedPost("/twilio/status?org=org_9", tt.params))
			assert.Equal(t, http.StatusNoContent, rw.Code)
			assert.Equal(t, tt.want, rec.events)
		})
	}
	// A redelivery yields the same event ID (the engine deduplicates).
	a, err := w.ParseStatus(signedPost("/s", base("delivered", "")))
	require.NoError(t, err)
	b, err := w.ParseStatus(signedPost("/s", base("delivered", "")))
	require.NoError(t, err)
	assert.Equal(t, a[0].ID, b[0].ID)
}

func TestInbound(t *testing.T) {
	t.Parallel()
	w := newWebhook(t)
	tests := []struct {
		name       string
		body, opt  string
		keyword    provider.Keyword
		providerOK bool
	}{
		{"twilio handled STOP", "STOP", "STOP", provider.KeywordStop, true},
		{"library handles stop!", "stop!", "", provider.KeywordStop, false},
		{"twilio handled START", "start", "START", provider.KeywordStart, true},
		{"help", "HELP", "HELP", provider.KeywordHelp, true},
		{"meds question", "can I stop my meds?", "", provider.KeywordNone, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := url.Values{"MessageSid": {"SM77"}, "AccountSid": {testSID}, "From": {"+14155550100"}, "To": {"+15005550006"}, "Body": {tt.body}, "NumMedia": {"0"}}
			if tt.opt != "" {
				p.Set("OptOutType", tt.opt)
			}
			rec := &recorder{}
			rw := httptest.NewRecorder()
			w.InboundHandler(rec.sink).ServeHTTP(rw, signedPost("/twilio/inbound", p))
			require.Equal(t, http.StatusOK, rw.Code)
			assert.Contains(t, rw.Body.String(), "<Response></Response>")
			require.Len(t, rec.events, 1)
			ev := rec.events[0]
			assert.Equal(t, provider.EventInbound, ev.Kind)
			assert.Equal(t, "twilio:SM77", ev.ID)
			assert.Equal(t, tt.keyword, ev.Keyword)
			assert.Equal(t, tt.providerOK, ev.ProviderHandledOptOut)
			assert.Equal(t, tt.body, ev.Body)
			assert.Equal(t, "+14155550100", ev.From)
		})
	}
}

func TestWebhookRejects(t *testing.T) {
	t.Parallel()
	w := newWebhook(t)
	good := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}, "AccountSid": {testSID}}
	otherAccount := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}, "AccountSid": {"AC999"}}
	noSid := url.Values{"MessageStatus": {"delivered"}, "AccountSid": {testSID}}
	tests := []struct {
		name   string
		req    func() *http.Request
		status int
		is     error
	}{
		{"unsigned", func() *http.Request { return post("/s", good, "") }, 403, provider.ErrWebhookSignature},
		{"mis-signed", func() *http.Request { return post("/s", good, "RSOYDt4T1cUTdK1PDd93/VVr8B8=") }, 403, provider.ErrWebhookSignature},
		{"signed for another path", func() *http.Request {
			return post("/s", good, twilioSign(testToken, public+"/other", good, true))
		}, 403, provider.ErrWebhookSignature},
		{"tampered body", func() *http.Request {
			r := signedPost("/s", good)
			tampered := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"undelivered"}, "AccountSid": {testSID}}
			r.Body = io.NopCloser(strings.NewReader(tampered.Encode()))
			return r
		}, 403, provider.ErrWebhookSignature},
		{"host header is ignored", func() *http.Request {
			r := post("/s", good, twilioSign(testToken, "https://evil.example/s", good, true))
			r.Host = "evil.example"
			return r
		}, 403, provider.ErrWebhookSignature},
		{"other account", func() *http.Request { return signedPost("/s", otherAccount) }, 403, provider.ErrWebhookForbidden},
		{"missing sid", func() *http.Request { return signedPost("/s", noSid) }, 400, provider.ErrWebhookMalformed},
		{"GET", func() *http.Request {
			r := signedPost("/s", good)
			r.Method = http.MethodGet
			return r
		}, 400, provider.ErrWebhookMalformed},
		{"bad content type", func() *http.Request {
			r := signedPost("/s", good)
			r.Header.Set("Content-Type", "text/plain")
			return r
		}, 400, provider.ErrWebhookMalformed},
		{"too large", func() *http.Request {
			big := url.Values{"MessageSid": {"SM1"}, "Body": {strings.Repeat("a", twilio.DefaultMaxBodyBytes)}}
			return signedPost("/s", big)
		}, 413, provider.ErrWebhookTooLarge},
		{"unknown signing rule", func() *http.Request {
			r := signedPost("/s", good)
			r.Header.Set("X-Twilio-Webhooks-Signature-Settings", "key=nope,algorithm=HMAC_SHA256")
			return r
		}, 403, provider.ErrWebhookSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.ParseStatus(tt.req())
			require.Error(t, err)
			assert.True(t, errors.Is(err, tt.is), "%v", err)
			rec := &recorder{}
			rw := httptest.NewRecorder()
			w.StatusHandler(rec.sink).ServeHTTP(rw, tt.req())
			assert.Equal(t, tt.status, rw.Code)
			assert.Empty(t, rec.events, "nothing recorded")
		})
	}
}

func TestWebhookRuleSHA256(t *testing.T) {
	t.Parallel()
	w := newWebhook(t)
	p := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}, "AccountSid": {testSID}}
	r := post("/s", p, twilioSign("shared-key", public+"/s", p, false))
	r.Header.Set("X-Twilio-Webhooks-Signature-Settings", "key=rule1,algorithm=HMAC_SHA256")
	evs, err := w.ParseStatus(r)
	require.NoError(t, err)
	assert.Len(t, evs, 1)
}

func TestSinkFailureIs500(t *testing.T) {
	t.Parallel()
	w := newWebhook(t)
	p := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}, "AccountSid": {testSID}}
	rw := httptest.NewRecorder()
	w.StatusHandler(func(context.Context, []provider.Event) error { return errors.New("db down") }).ServeHTTP(rw, signedPost("/s", p))
	assert.Equal(t, 500, rw.Code)
}

func TestNewWebhookValidates(t *testing.T) {
	t.Parallel()
	_, err := twilio.NewWebhook(twilio.WebhookConfig{PublicURL: public})
	assert.ErrorContains(t, err, "AuthToken")
	_, err = twilio.NewWebhook(twilio.WebhookConfig{AuthToken: "x", PublicURL: "https://h.example/path"})
	assert.ErrorContains(t, err, "PublicURL")
}

func BenchmarkValidateSignature(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if !twilio.ValidateSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", vectorParams, "RSOYDt4T1cUTdK1PDd93/VVr8B8=") {
			b.Fatal("vector rejected")
		}
	}
}

// Issue 12 §4 (checked for Twilio): the org query parameter is trusted
// because Twilio signs the whole URL, query included. A signed callback
// re-posted with another organisation is refused, for status callbacks
// and inbound texts alike, and nothing reaches the sink.
func TestOrgParamIsSigned(t *testing.T) {
	t.Parallel()
	w := newWebhook(t)
	p := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}, "AccountSid": {testSID}, "From": {"+15005550006"}, "Body": {"STOP"}}
	sig := twilioSign(testToken, public+"/twilio/status?org=org_a", p, true)
	for _, target := range []string{"/twilio/status?org=org_b", "/twilio/status?org=org_a&org=org_b", "/twilio/status?org=org_b&org=org_a", "/twilio/status"} {
		for name, h := range map[string]func(provider.EventSink) http.Handler{"status": w.StatusHandler, "inbound": w.InboundHandler} {
			rec := &recorder{}
			rw := httptest.NewRecorder()
			h(rec.sink).ServeHTTP(rw, post(target, p, sig))
			assert.Equal(t, http.StatusForbidden, rw.Code, "%s %s", name, target)
			assert.Empty(t, rec.events)
		}
	}
	rec := &recorder{}
	rw := httptest.NewRecorder()
	w.StatusHandler(rec.sink).ServeHTTP(rw, post("/twilio/status?org=org_a", p, sig))
	require.Equal(t, http.StatusNoContent, rw.Code)
	require.Len(t, rec.events, 1)
	assert.Equal(t, "org_a", rec.events[0].OrgID)
}

// Issue 12 §4: the handlers have a read deadline of their own.
func TestHandlerSlowBody(t *testing.T) {
	t.Parallel()
	w, err := twilio.NewWebhook(twilio.WebhookConfig{AuthToken: testToken, PublicURL: public, ReadTimeout: 200 * time.Millisecond})
	require.NoError(t, err)
	for _, h := range []func(provider.EventSink) http.Handler{w.StatusHandler, w.InboundHandler} {
		rec := &recorder{}
		got := providertest.SlowBody(t, h(rec.sink), "/twilio/status?org=org_1")
		assert.Equal(t, providertest.SlowBodyResult{Status: 408, ClientStatus: 408, Closed: true}, got)
		assert.Empty(t, rec.events)
	}
}

// Issue 13 §2: the status callback's msg parameter (the engine's message
// ID, the ledger row) reaches Event.MessageID only from the signed URL: a
// signed callback re-posted naming another row is refused, and a msg
// sent in the (signed) form body is not read as the message ID.
func TestMessageParamIsSigned(t *testing.T) {
	t.Parallel()
	w := newWebhook(t)
	p := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}, "AccountSid": {testSID}, "msg": {"99"}}
	sig := twilioSign(testToken, public+"/twilio/status?org=org_a&msg=42", p, true)
	for _, target := range []string{"/twilio/status?org=org_a&msg=43", "/twilio/status?org=org_a&msg=42&msg=43", "/twilio/status?org=org_a"} {
		rec := &recorder{}
		rw := httptest.NewRecorder()
		w.StatusHandler(rec.sink).ServeHTTP(rw, post(target, p, sig))
		assert.Equal(t, http.StatusForbidden, rw.Code, target)
		assert.Empty(t, rec.events)
	}
	rec := &recorder{}
	rw := httptest.NewRecorder()
	w.StatusHandler(rec.sink).ServeHTTP(rw, post("/twilio/status?org=org_a&msg=42", p, sig))
	require.Equal(t, http.StatusNoContent, rw.Code)
	require.Len(t, rec.events, 1)
	assert.Equal(t, "org_a", rec.events[0].OrgID)
	assert.Equal(t, "42", rec.events[0].MessageID, "from the signed URL, never the body's msg")

	// Without the parameter the event has no message ID.
	sig = twilioSign(testToken, public+"/twilio/status?org=org_a", p, true)
	rec = &recorder{}
	w.StatusHandler(rec.sink).ServeHTTP(httptest.NewRecorder(), post("/twilio/status?org=org_a", p, sig))
	require.Len(t, rec.events, 1)
	assert.Empty(t, rec.events[0].MessageID)
}
