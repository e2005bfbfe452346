package ses_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/providertest"
	"github.com/carecast/carecast/provider/ses"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	topic   = "arn:aws:sns:us-east-1:123456789012:ses-events"
	certURL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem"
)

var testNow = time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)

// testCA is a signing key and self-signed certificate standing in for the
// SNS signing certificate.
type testCA struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

var (
	caOnce sync.Once
	ca     testCA
)

func signingCA(t *testing.T) testCA {
	caOnce.Do(func() {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "sns.amazonaws.com"},
			NotBefore: testNow.Add(-24 * time.Hour), NotAfter: testNow.Add(24 * time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		cert, _ := x509.ParseCertificate(der)
		ca = testCA{key: key, cert: cert}
	})
	return ca
}

// fetcher is an injected CertFetcher that counts fetches.
type fetcher struct {
	mu   sync.Mutex
	urls []string
	cert *x509.Certificate
	err  error
}

func (f *fetcher) FetchCertificate(_ context.Context, u string) (*x509.Certificate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.urls = append(f.urls, u)
	return f.cert, f.err
}

func (f *fetcher) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.urls)
}

// subscribeTransport answers SubscribeURL visits without a network.
type subscribeTransport struct {
	mu     sync.Mutex
	visits []string
}

func (s *subscribeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.visits = append(s.visits, r.URL.String())
	s.mu.Unlock()
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("<ConfirmSubscriptionResponse/>")), Header: http.Header{}}, nil
}

func sign(t *testing.T, m *ses.Message) {
	t.Helper()
	s, err := m.StringToSign()
	require.NoError(t, err)
	var sig []byte
	k := signingCA(t).key
	if m.SignatureVersion == "1" {
		h := sha1.Sum([]byte(s))
		sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA1, h[:])
	} else {
		h := sha256.Sum256([]byte(s))
		sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, h[:])
	}
	require.NoError(t, err)
	m.Signature = base64.StdEncoding.EncodeToString(sig)
}

func notification(t *testing.T, id, body string) *ses.Message {
	m := &ses.Message{Type: "Notification", MessageId: id, TopicArn: topic, Message: body,
		Timestamp: "2026-03-03T09:59:00.000Z", SignatureVersion: "2", SigningCertURL: certURL}
	sign(t, m)
	return m
}

func req(t *testing.T, m any) *http.Request {
	b, err := json.Marshal(m)
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodPost, "/ses?org=org_1", strings.NewReader(string(b)))
	r.Header.Set("x-amz-sns-message-type", "Notification")
	return r
}

func setup(t *testing.T, mod func(*ses.Config)) (*ses.Webhook, *fetcher, *subscribeTransport) {
	f := &fetcher{cert: signingCA(t).cert}
	st := &subscribeTransport{}
	cfg := ses.Config{AllowedTopics: []string{topic}, CertFetcher: f, HTTPClient: &http.Client{Transport: st},
		Now: func() time.Time { return testNow }}
	if mod != nil {
		mod(&cfg)
	}
	w, err := ses.NewWebhook(cfg)
	require.NoError(t, err)
	return w, f, st
}

type recorder struct{ events []provider.Event }

func (r *recorder) sink(_ context.Context, evs []provider.Event) error {
	r.events = append(r.events, evs...)
	return nil
}

const bounce3 = `{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General","timestamp":"2026-03-03T09:58:00.000Z","bouncedRecipients":[
 {"emailAddress":"a@example.net","status":"5.1.1","action":"failed"},
 {"emailAddress":"b@example.net","status":"5.1.1"},
 {"emailAddress":"c@example.net","status":"5.7.1"}]},
 "mail":{"messageId":"0100018e-ses-id","timestamp":"2026-03-03T09:57:00.000Z","destination":["a@example.net"],"commonHeaders":{"messageId":"<cc.row_1@mail.clinic.example>"}},"futureField":1}`

// BO-02 test 1, BO-03 test 3.
func TestBounceNotification(t *testing.T) {
	t.Parallel()
	for _, version := range []string{"1", "2"} {
		t.Run("SignatureVersion"+version, func(t *testing.T) {
			w, _, _ := setup(t, nil)
			m := &ses.Message{Type: "Notification", MessageId: "sns-1", TopicArn: topic, Message: bounce3, Subject: "Amazon SES Email Event Notification",
				Timestamp: "2026-03-03T09:59:00.000Z", SignatureVersion: version, SigningCertURL: certURL}
			sign(t, m)
			rec := &recorder{}
			rw := httptest.NewRecorder()
			w.Handler(rec.sink).ServeHTTP(rw, req(t, m))
			require.Equal(t, http.StatusNoContent, rw.Code)
			require.Len(t, rec.events, 3)
			at := time.Date(2026, 3, 3, 9, 58, 0, 0, time.UTC)
			assert.Equal(t, provider.Event{ID: "ses:sns-1:0", OrgID: "", Kind: provider.EventBounce, ProviderMessageID: "cc.row_1@mail.clinic.example",
				At: at, Code: "5.1.1", Class: provider.Suppress, HardBounce: true, To: "a@example.net"}, rec.events[0])
			assert.Equal(t, "ses:sns-1:1", rec.events[1].ID)
			assert.Equal(t, provider.Suppress, rec.events[1].Class)
			assert.Equal(t, provider.SenderBlocked, rec.events[2].Class, "5.7.1 never suppresses")
			assert.False(t, rec.events[2].HardBounce)
		})
	}
}

func TestNotificationKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		body  string
		kinds []provider.EventKind
		class provider.Class
	}{
		{"complaint", `{"notificationType":"Complaint","complaint":{"timestamp":"2026-03-03T09:58:00Z","complainedRecipients":[{"emailAddress":"a@example.net"}]},"mail":{"messageId":"x"}}`, []provider.EventKind{provider.EventComplaint}, provider.Permanent},
		{"delivery", `{"notificationType":"Delivery","delivery":{"timestamp":"2026-03-03T09:58:00Z","recipients":["a@example.net"]},"mail":{"messageId":"x"}}`, []provider.EventKind{provider.EventDelivered}, provider.Permanent},
		{"soft bounce", `{"notificationType":"Bounce","bounce":{"bounceType":"Transient","bounceSubType":"MailboxFull","bouncedRecipients":[{"emailAddress":"a@example.net","status":"4.2.2"}]},"mail":{"messageId":"x"}}`, []provider.EventKind{provider.EventBounce}, provider.Transient},
		{"event publishing open", `{"eventType":"Open","open":{"timestamp":"2026-03-03T09:58:00Z"},"mail":{"messageId":"x","destination":["a@example.net"]}}`, []provider.EventKind{provider.EventOpen}, provider.Permanent},
		{"click", `{"eventType":"Click","click":{"timestamp":"2026-03-03T09:58:00Z","link":"https://clinic.example/x"},"mail":{"messageId":"x","destination":["a@example.net"]}}`, []provider.EventKind{provider.EventClick}, provider.Permanent},
		{"send ignored", `{"eventType":"Send","send":{},"mail":{"messageId":"x"}}`, nil, provider.Permanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _, _ := setup(t, nil)
			evs, err := w.Parse(req(t, notification(t, "sns-"+tt.name, tt.body)))
			require.NoError(t, err)
			var kinds []provider.EventKind
			for _, e := range evs {
				kinds = append(kinds, e.Kind)
				assert.Equal(t, tt.class, e.Class)
				assert.Equal(t, "x", e.ProviderMessageID, "SES message ID when no Message-ID header")
			}
			assert.Equal(t, tt.kinds, kinds)
		})
	}
}

// WH-03 tests 1 and 2.
func TestRejects(t *testing.T) {
	t.Parallel()
	withCert := func(u string) func(*testing.T) any {
		return func(t *testing.T) any {
			m := notification(t, "sns-x", bounce3)
			m.SigningCertURL = u
			sign(t, m)
			return m
		}
	}
	tests := []struct {
		name    string
		msg     func(*testing.T) any
		status  int
		is      error
		fetches int
	}{
		{"cert host suffix", withCert("https://sns.us-east-1.amazonaws.com.evil.example/cert.pem"), 403, provider.ErrWebhookSignature, 0},
		{"cert over http", withCert("http://sns.us-east-1.amazonaws.com/x.pem"), 403, provider.ErrWebhookSignature, 0},
		{"cert userinfo", withCert("https://sns.us-east-1.amazonaws.com@evil.example/x.pem"), 403, provider.ErrWebhookSignature, 0},
		{"cert not pem", withCert("https://sns.us-east-1.amazonaws.com/x.txt"), 403, provider.ErrWebhookSignature, 0},
		{"cert port", withCert("https://sns.us-east-1.amazonaws.com:8443/x.pem"), 403, provider.ErrWebhookSignature, 0},
		{"cert query", withCert(certURL + "?n=1"), 403, provider.ErrWebhookSignature, 0},
		{"cert fragment", withCert(certURL + "#n=1"), 403, provider.ErrWebhookSignature, 0},
		{"topic not allowed", func(t *testing.T) any {
			m := notification(t, "sns-x", bounce3)
			m.TopicArn = "arn:aws:sns:us-east-1:999999999999:other"
			sign(t, m)
			return m
		}, 403, provider.ErrWebhookForbidden, 0},
		{"tampered message", func(t *testing.T) any {
			m := notification(t, "sns-x", bounce3)
			m.Message = strings.Replace(m.Message, "5.7.1", "5.1.1", 1)
			return m
		}, 403, provider.ErrWebhookSignature, 1},
		{"unsupported signature version", func(t *testing.T) any {
			m := notification(t, "sns-x", bounce3)
			m.SignatureVersion = "3"
			return m
		}, 403, provider.ErrWebhookSignature, 1},
		{"not json", func(*testing.T) any { return "just a string" }, 400, provider.ErrWebhookMalformed, 0},
		{"unknown type", func(t *testing.T) any {
			m := notification(t, "sns-x", bounce3)
			m.Type = "Other"
			return m
		}, 400, provider.ErrWebhookMalformed, 0},
		{"message not SES JSON", func(t *testing.T) any { return notification(t, "sns-x", "hello") }, 400, provider.ErrWebhookMalformed, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, f, _ := setup(t, nil)
			_, err := w.Parse(req(t, tt.msg(t)))
			require.Error(t, err)
			assert.True(t, errors.Is(err, tt.is), "%v", err)
			rec := &recorder{}
			rw := httptest.NewRecorder()
			w.Handler(rec.sink).ServeHTTP(rw, req(t, tt.msg(t)))
			assert.Equal(t, tt.status, rw.Code)
			assert.Empty(t, rec.events)
			assert.Equal(t, tt.fetches*2, f.count(), "certificate fetches")
		})
	}
}

func TestStaleAndCertProblems(t *testing.T) {
	t.Parallel()
	w, _, _ := setup(t, func(c *ses.Config) { c.MaxAge = time.Minute })
	m := notification(t, "sns-old", bounce3)
	m.Timestamp = "2026-03-03T09:00:00.000Z"
	sign(t, m)
	_, err := w.Parse(req(t, m))
	assert.ErrorIs(t, err, provider.ErrWebhookStale)

	w, f, _ := setup(t, nil)
	f.err = errors.New("network down")
	rw := httptest.NewRecorder()
	w.Handler((&recorder{}).sink).ServeHTTP(rw, req(t, notification(t, "sns-1", bounce3)))
	assert.Equal(t, 500, rw.Code, "SNS retries when the certificate cannot be fetched")

	w, _, _ = setup(t, func(c *ses.Config) {
		c.Now = func() time.Time { return testNow.Add(72 * time.Hour) }
		c.MaxAge = ses.NoMaxAge
	})
	_, err = w.Parse(req(t, notification(t, "sns-1", bounce3)))
	assert.ErrorIs(t, err, provider.ErrWebhookSignature, "expired certificate")
}

// Issue 12 §4: freshness is on by default (SNS never retries an HTTP/S
// delivery for more than 3,600 s), checked before any certificate fetch,
// and can be turned off explicitly.
func TestMaxAgeDefault(t *testing.T) {
	t.Parallel()
	at := func(ts time.Time) *ses.Message {
		m := notification(t, "sns-age", bounce3)
		m.Timestamp = ts.Format(time.RFC3339Nano)
		sign(t, m)
		return m
	}
	tests := []struct {
		name   string
		maxAge time.Duration
		ts     time.Time
		is     error // nil: accepted
	}{
		{"a minute old", 0, testNow.Add(-time.Minute), nil},
		{"an hour old: SNS's last retry", 0, testNow.Add(-time.Hour), nil},
		{"two hours old: a replay", 0, testNow.Add(-2 * time.Hour), provider.ErrWebhookStale},
		{"a day old", 0, testNow.Add(-24 * time.Hour), provider.ErrWebhookStale},
		{"from the future, within skew", 0, testNow.Add(4 * time.Minute), nil},
		{"from the future", 0, testNow.Add(time.Hour), provider.ErrWebhookStale},
		{"custom window", 10 * time.Minute, testNow.Add(-11 * time.Minute), provider.ErrWebhookStale},
		{"disabled", ses.NoMaxAge, testNow.Add(-24 * time.Hour), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, f, _ := setup(t, func(c *ses.Config) { c.MaxAge = tt.maxAge })
			_, err := w.Parse(req(t, at(tt.ts)))
			if tt.is == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tt.is)
			assert.Zero(t, f.count(), "refused before fetching the certificate")
			rw := httptest.NewRecorder()
			w.Handler((&recorder{}).sink).ServeHTTP(rw, req(t, at(tt.ts)))
			assert.Equal(t, http.StatusUnauthorized, rw.Code)
		})
	}
	_, err := ses.NewWebhook(ses.Config{AllowedTopics: []string{topic}, MaxAge: -time.Hour})
	assert.ErrorContains(t, err, "MaxAge")
	m := notification(t, "sns-bad-ts", bounce3)
	m.Timestamp = "yesterday"
	sign(t, m)
	w, _, _ := setup(t, nil)
	_, err = w.Parse(req(t, m))
	assert.ErrorIs(t, err, provider.ErrWebhookMalformed)
}

// WH-03 test 3.
func TestSubscriptionConfirmation(t *testing.T) {
	t.Parallel()
	w, _, st := setup(t, nil)
	m := &ses.Message{Type: "SubscriptionConfirmation", MessageId: "sub-1", TopicArn: topic, Token: "tok",
		Message: "You have chosen to subscribe", SubscribeURL: "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok",
		Timestamp: "2026-03-03T09:59:00.000Z", SignatureVersion: "1", SigningCertURL: certURL}
	sign(t, m)
	for range 2 {
		rec := &recorder{}
		rw := httptest.NewRecorder()
		w.Handler(rec.sink).ServeHTTP(rw, req(t, m))
		assert.Equal(t, http.StatusNoContent, rw.Code)
		assert.Empty(t, rec.events)
	}
	assert.Equal(t, []string{m.SubscribeURL}, st.visits, "confirmed exactly once")

	evil := *m
	evil.MessageId, evil.SubscribeURL = "sub-2", "https://evil.example/?Action=ConfirmSubscription"
	sign(t, &evil)
	_, err := w.Parse(req(t, &evil))
	assert.ErrorIs(t, err, provider.ErrWebhookForbidden)
	assert.Len(t, st.visits, 1)
}

func TestHTTPCertFetcher(t *testing.T) {
	t.Parallel()
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: signingCA(t).cert.Raw})
	var hits int
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		hits++
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(string(pemCert))), Header: http.Header{}}, nil
	})}
	f := &ses.HTTPCertFetcher{Client: client}
	for range 2 {
		c, err := f.FetchCertificate(context.Background(), certURL)
		require.NoError(t, err)
		assert.Equal(t, signingCA(t).cert.Raw, c.Raw)
	}
	assert.Equal(t, 1, hits, "cached")
	_, err := f.FetchCertificate(context.Background(), "https://evil.example/x.pem")
	assert.Error(t, err)
	assert.Equal(t, 1, hits)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestNewWebhookValidates(t *testing.T) {
	t.Parallel()
	_, err := ses.NewWebhook(ses.Config{})
	assert.ErrorContains(t, err, "AllowedTopics")
	_, err = ses.NewWebhook(ses.Config{AllowedTopics: []string{"ses-events"}})
	assert.ErrorContains(t, err, "ARN")
}

func FuzzCheckSNSURL(f *testing.F) {
	for _, s := range []string{certURL, "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem", "https://a@sns.x.amazonaws.com/x.pem", "://",
		certURL + "?n=1", certURL + "#f", "https://sns.us-east-1.amazonaws.com/a/../x.pem", "https://sns.us-east-1.amazonaws.com/%78.pem"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ses.CheckSNSURL(s, true) != nil {
			return
		}
		u, err := url.Parse(s)
		if err != nil || u.Scheme != "https" || u.User != nil || u.Port() != "" || !strings.HasPrefix(u.Host, "sns.") ||
			!(strings.HasSuffix(u.Host, ".amazonaws.com") || strings.HasSuffix(u.Host, ".amazonaws.com.cn")) || !strings.HasSuffix(u.Path, ".pem") ||
			strings.ContainsAny(s, "?#%") || strings.Contains(u.Path, "/.") || strings.Contains(u.Path, "//") {
			t.Fatalf("accepted %q", s)
		}
		key, err := ses.CertURLKey(s)
		if err != nil {
			t.Fatalf("CheckSNSURL accepted %q but CertURLKey refused it: %v", s, err)
		}
		if again, err := ses.CertURLKey(key); err != nil || again != key {
			t.Fatalf("key %q of %q is not a fixed point (%q, %v)", key, s, again, err)
		}
	})
}

// Issue 12 §4: 300 forged certificate URLs that differ only in a query
// used to cost 300 fetches (and 300 cache entries). They are refused
// before any fetch, like every other URL shape that could name one
// certificate in many ways.
func TestForgedCertURLsNeverFetched(t *testing.T) {
	t.Parallel()
	w, f, _ := setup(t, nil)
	h := w.Handler((&recorder{}).sink)
	for i := range 300 {
		m := notification(t, "sns-forged", bounce3)
		m.SigningCertURL = "https://sns.us-east-1.amazonaws.com/x.pem?n=" + strconv.Itoa(i)
		rw := httptest.NewRecorder()
		h.ServeHTTP(rw, req(t, m))
		require.Equal(t, http.StatusForbidden, rw.Code)
	}
	assert.Zero(t, f.count(), "certificate fetches")

	for _, u := range []string{
		certURL + "?", certURL + "#", certURL + "?a=b#c",
		"https://sns.us-east-1.amazonaws.com:/x.pem",
		"https://sns.us-east-1.amazonaws.com/%53impleNotificationService.pem",
		"https://sns.us-east-1.amazonaws.com/a/../x.pem",
		"https://sns.us-east-1.amazonaws.com/./x.pem",
		"https://sns.us-east-1.amazonaws.com//x.pem",
		"https://sns.us-east-1.amazonaws.com/.pem",
		"https://SNS.us-east-1.amazonaws.com/x.pem",
		"https:sns.us-east-1.amazonaws.com/x.pem",
	} {
		_, err := ses.CertURLKey(u)
		assert.Error(t, err, u)
		assert.Error(t, ses.CheckSNSURL(u, true), u)
	}
	key, err := ses.CertURLKey(certURL)
	require.NoError(t, err)
	assert.Equal(t, certURL, key)
	// A SubscribeURL keeps its query (that is how SNS builds it), but no
	// fragment.
	assert.NoError(t, ses.CheckSNSURL("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=t", false))
	assert.Error(t, ses.CheckSNSURL("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription#x", false))
}

// certServer answers any certificate URL with the test certificate and
// counts the fetches per path.
type certServer struct {
	mu   sync.Mutex
	hits map[string]int
	pem  []byte
}

func (s *certServer) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.hits[r.URL.Path]++
	s.mu.Unlock()
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(string(s.pem))), Header: http.Header{}}, nil
}

func (s *certServer) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, h := range s.hits {
		n += h
	}
	return n
}

// Issue 12 §4: the certificate cache is a bounded LRU (DefaultCertCacheSize
// entries): after 100 distinct certificates, the 32 most recently used
// are served from the cache and the 33rd most recent is fetched again.
func TestHTTPCertFetcherCacheBound(t *testing.T) {
	t.Parallel()
	srv := &certServer{hits: map[string]int{}, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: signingCA(t).cert.Raw})}
	f := &ses.HTTPCertFetcher{Client: &http.Client{Transport: srv}}
	u := func(i int) string {
		return "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-" + strconv.Itoa(i) + ".pem"
	}
	for i := range 100 {
		_, err := f.FetchCertificate(context.Background(), u(i))
		require.NoError(t, err)
	}
	require.Equal(t, 100, srv.total())
	require.Equal(t, 32, ses.DefaultCertCacheSize)
	for i := 99; i >= 100-ses.DefaultCertCacheSize; i-- {
		_, err := f.FetchCertificate(context.Background(), u(i))
		require.NoError(t, err)
	}
	assert.Equal(t, 100, srv.total(), "the 32 most recent are cached")
	_, err := f.FetchCertificate(context.Background(), u(100-ses.DefaultCertCacheSize-1))
	require.NoError(t, err)
	assert.Equal(t, 101, srv.total(), "the 33rd most recent was evicted")
	// Least recently used, not first in: the re-reads above left 98 next
	// in line (99 went for 67); reading 98 again protects it, and the
	// next new certificate evicts 97 instead.
	fetch := func(i int) int {
		_, err := f.FetchCertificate(context.Background(), u(i))
		require.NoError(t, err)
		return srv.total()
	}
	assert.Equal(t, 101, fetch(98), "cached")
	assert.Equal(t, 102, fetch(500), "new")
	assert.Equal(t, 102, fetch(98), "recently used entries stay")
	assert.Equal(t, 103, fetch(97), "the least recently used one left")

	small := &ses.HTTPCertFetcher{Client: &http.Client{Transport: srv}, CacheSize: 2}
	before := srv.total()
	for _, i := range []int{1, 2, 1, 3, 1, 2} {
		_, err := small.FetchCertificate(context.Background(), u(i))
		require.NoError(t, err)
	}
	assert.Equal(t, before+4, srv.total(), "1, 2, (1), 3 evicts 2, (1), 2 again")
}

func TestHTTPCertFetcherRefusesRedirectsAndJunk(t *testing.T) {
	t.Parallel()
	var hits int
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		hits++
		if strings.HasSuffix(r.URL.Path, "moved.pem") {
			return &http.Response{StatusCode: 302, Body: io.NopCloser(strings.NewReader("")),
				Header: http.Header{"Location": {"https://evil.example/x.pem"}}, Request: r}, nil
		}
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("not a certificate")), Header: http.Header{}}, nil
	})}
	f := &ses.HTTPCertFetcher{Client: client}
	_, err := f.FetchCertificate(context.Background(), "https://sns.us-east-1.amazonaws.com/moved.pem")
	assert.ErrorContains(t, err, "HTTP 302")
	assert.Equal(t, 1, hits, "the redirect is not followed")
	for range 2 {
		_, err = f.FetchCertificate(context.Background(), "https://sns.us-east-1.amazonaws.com/junk.pem")
		assert.ErrorContains(t, err, "not PEM")
	}
	assert.Equal(t, 3, hits, "failures are not cached")
}

// Issue 12 §4: SNS does not sign the endpoint URL, so the organisation
// is never read from it.
func TestOrganisationNeverFromQuery(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ orgID, target, want string }{
		{"", "/ses?org=org-b", ""},
		{"org_1", "/ses?org=org-b", "org_1"},
	} {
		w, _, _ := setup(t, func(c *ses.Config) { c.OrgID = tt.orgID })
		b, err := json.Marshal(notification(t, "sns-org", bounce3))
		require.NoError(t, err)
		evs, err := w.Parse(httptest.NewRequest(http.MethodPost, tt.target, strings.NewReader(string(b))))
		require.NoError(t, err)
		require.NotEmpty(t, evs)
		for _, e := range evs {
			assert.Equal(t, tt.want, e.OrgID)
		}
	}
}

// Issue 12 §4: the handler's own read deadline ends a trickled body.
func TestHandlerSlowBody(t *testing.T) {
	t.Parallel()
	w, f, _ := setup(t, func(c *ses.Config) { c.ReadTimeout = 200 * time.Millisecond })
	rec := &recorder{}
	got := providertest.SlowBody(t, w.Handler(rec.sink), "/hook?org=org_1")
	assert.Equal(t, providertest.SlowBodyResult{Status: 408, ClientStatus: 408, Closed: true}, got)
	assert.Empty(t, rec.events)
	assert.Zero(t, f.count())
}

// The SubscribeURL is checked against the SNS hosts; a redirect from it
// to anywhere else is not followed.
func TestSubscribeURLRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	var visits []string
	w, _, _ := setup(t, func(c *ses.Config) {
		c.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			visits = append(visits, r.URL.Host)
			return &http.Response{StatusCode: 302, Body: io.NopCloser(strings.NewReader("")),
				Header: http.Header{"Location": {"https://evil.example/"}}, Request: r}, nil
		})}
	})
	m := &ses.Message{Type: "SubscriptionConfirmation", MessageId: "sub-r", TopicArn: topic, Token: "tok",
		Message: "You have chosen to subscribe", SubscribeURL: "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok",
		Timestamp: "2026-03-03T09:59:00.000Z", SignatureVersion: "2", SigningCertURL: certURL}
	sign(t, m)
	_, err := w.Parse(req(t, m))
	assert.ErrorContains(t, err, "HTTP 302")
	assert.Equal(t, []string{"sns.us-east-1.amazonaws.com"}, visits)
}
