package tracking_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carecast/carecast/tracking"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	key1 = tracking.Key{ID: 1, Secret: bytes.Repeat([]byte{0x11}, 32)}
	key2 = tracking.Key{ID: 2, Secret: bytes.Repeat([]byte{0x22}, 32)}
	t0   = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
)

// recorder is a real in-memory Backend.
type recorder struct {
	mu     sync.Mutex
	links  map[string][]string
	opens  []tracking.Engagement
	clicks []tracking.Engagement
	unsub  map[string]int // recipient -> audit events written
	calls  int            // unsubscribe write-path calls
}

func newRecorder() *recorder {
	return &recorder{links: map[string][]string{"r1": {"https://clinic.example/book", "https://clinic.example/a", "https://clinic.example/b", "https://clinic.example/c", "https://clinic.example/d", "https://clinic.example/e"}}, unsub: map[string]int{}}
}

func (r *recorder) LinkURL(_ context.Context, id string, i int) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.links[id]
	if !ok || i >= len(l) {
		return "", tracking.ErrUnknownRecipient
	}
	return l[i], nil
}
func (r *recorder) RecordOpen(_ context.Context, _ string, e tracking.Engagement) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.opens = append(r.opens, e)
	return nil
}
func (r *recorder) RecordClick(_ context.Context, _ string, _ int, e tracking.Engagement) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clicks = append(r.clicks, e)
	return nil
}
func (r *recorder) Unsubscribe(_ context.Context, id string, _ tracking.Unsubscription) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if _, ok := r.links[id]; !ok {
		return tracking.ErrUnknownRecipient
	}
	if r.unsub[id] == 0 { // idempotent: one audit event
		r.unsub[id] = 1
	}
	return nil
}

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func newHandler(t *testing.T, rec *recorder, clk *clock, mod func(*tracking.Config)) *tracking.Handler {
	t.Helper()
	s, err := tracking.NewSigner(key1, key2)
	require.NoError(t, err)
	cfg := tracking.Config{Signer: s, Backend: rec, BaseURL: "https://t.clinic.example/t", Now: clk.Now}
	if mod != nil {
		mod(&cfg)
	}
	h, err := tracking.NewHandler(cfg)
	require.NoError(t, err)
	return h
}

func do(h http.Handler, method, rawURL string, body string, hdr map[string]string) *httptest.ResponseRecorder {
	u, _ := url.Parse(rawURL)
	req := httptest.NewRequest(method, u.RequestURI(), strings.NewReader(body))
	req.RemoteAddr = "203.0.113.9:4000"
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestTokenRoundTripAndPurposeBinding(t *testing.T) {
	s, err := tracking.NewSigner(key1)
	require.NoError(t, err)
	for _, id := range []string{"0190a5d2-7b3c-7def-8123-456789abcdef", "row-42"} {
		for _, p := range []tracking.Purpose{tracking.PurposeOpen, tracking.PurposeClick, tracking.PurposeUnsubscribe} {
			tok, err := s.Sign(tracking.Claims{Purpose: p, RecipientID: id, LinkIndex: 3, IssuedAt: t0})
			require.NoError(t, err)
			c, err := s.Verify(tok, p)
			require.NoError(t, err, "%s %s", id, p)
			assert.Equal(t, id, c.RecipientID)
			assert.True(t, c.IssuedAt.Equal(t0))
			if p == tracking.PurposeClick {
				assert.Equal(t, 3, c.LinkIndex)
			}
			for _, other := range []tracking.Purpose{tracking.PurposeOpen, tracking.PurposeClick, tracking.PurposeUnsubscribe} {
				if other != p {
					_, err := s.Verify(tok, other)
					assert.ErrorIs(t, err, tracking.ErrInvalidToken, "token for %s accepted as %s", p, other)
				}
			}
		}
	}
}

func TestTokenTamperingEveryByte(t *testing.T) {
	s, _ := tracking.NewSigner(key1)
	tok, _ := s.Sign(tracking.Claims{Purpose: tracking.PurposeUnsubscribe, RecipientID: "row-1", IssuedAt: t0})
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	for i := range raw {
		b := bytes.Clone(raw)
		b[i] ^= 0x01
		_, err := s.Verify(base64.RawURLEncoding.EncodeToString(b), tracking.PurposeUnsubscribe)
		assert.ErrorIs(t, err, tracking.ErrInvalidToken, "flipped byte %d accepted", i)
	}
}

func TestKeyRotation(t *testing.T) {
	old, _ := tracking.NewSigner(key1)
	tok, _ := old.Sign(tracking.Claims{Purpose: tracking.PurposeOpen, RecipientID: "row-1", IssuedAt: t0})
	rotated, _ := tracking.NewSigner(key2, key1) // signs with key2, still verifies key1
	_, err := rotated.Verify(tok, tracking.PurposeOpen)
	assert.NoError(t, err, "retired key still in the verify set must be accepted")
	removed, _ := tracking.NewSigner(key2)
	_, err = removed.Verify(tok, tracking.PurposeOpen)
	assert.ErrorIs(t, err, tracking.ErrInvalidToken)
}

func TestNewSignerRejectsWeakKeys(t *testing.T) {
	_, err := tracking.NewSigner(tracking.Key{ID: 1, Secret: []byte("short")})
	assert.ErrorContains(t, err, "at least 32")
	_, err = tracking.NewSigner(key1, tracking.Key{ID: 1, Secret: key2.Secret})
	assert.ErrorContains(t, err, "appears twice")
	_, err = tracking.NewSigner()
	assert.Error(t, err)
}

func TestURLsCarryNoPHI(t *testing.T) {
	h := newHandler(t, newRecorder(), &clock{t0}, nil)
	u1, _ := h.UnsubscribeURL("0190a5d2-7b3c-7def-8123-456789abcdef", t0)
	u2, _ := h.ClickURL("0190a5d2-7b3c-7def-8123-456789abcdef", 2, t0)
	for _, u := range []string{u1, u2} {
		for _, phi := range []string{"ana@example.com", "+15555550100", "Ana", "1990-01-15"} {
			for _, form := range []string{phi, strings.ToLower(phi), base64.RawURLEncoding.EncodeToString([]byte(phi)), url.QueryEscape(phi)} {
				assert.NotContains(t, u, form)
			}
		}
		assert.True(t, strings.HasPrefix(u, "https://t.clinic.example/t/"), u)
	}
}

func TestClickRedirectIgnoresURLParameter(t *testing.T) {
	rec, clk := newRecorder(), &clock{t0}
	h := newHandler(t, rec, clk, nil)
	u, _ := h.ClickURL("r1", 0, t0)
	clk.t = t0.Add(3 * time.Hour)
	w := do(h, "GET", u+"?url=https://evil.example", "", map[string]string{"User-Agent": "Mozilla/5.0 (Windows NT 10.0) Chrome/120"})
	assert.Equal(t, http.StatusFound, w.Code)
	assert.Equal(t, "https://clinic.example/book", w.Header().Get("Location"))
	require.Len(t, rec.clicks, 1)
	assert.False(t, rec.clicks[0].Machine, "a human click 3 h after sending")
}

func TestGarbageTokensAre404WithoutLocation(t *testing.T) {
	h := newHandler(t, newRecorder(), &clock{t0}, nil)
	for _, p := range []string{"/t/c/garbage", "/t/u/AAAA", "/t/x/abc", "/t/c/", "/t/u/a/b"} {
		w := do(h, "GET", "https://t.clinic.example"+p, "", nil)
		assert.Equal(t, http.StatusNotFound, w.Code, p)
		assert.Empty(t, w.Header().Get("Location"), p)
	}
}

func TestOpenTokenRejectedAtUnsubscribe(t *testing.T) {
	rec := newRecorder()
	h := newHandler(t, rec, &clock{t0}, nil)
	u, _ := h.OpenURL("r1", t0)
	tok := u[strings.LastIndex(u, "/")+1:]
	w := do(h, "POST", "https://t.clinic.example/t/u/"+tok, "List-Unsubscribe=One-Click", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	assert.Equal(t, http.StatusNotFound, w.Code)
	assert.Zero(t, rec.calls)
}

func TestTrackingWindow(t *testing.T) {
	rec, clk := newRecorder(), &clock{t0}
	h := newHandler(t, rec, clk, nil)
	cu, _ := h.ClickURL("r1", 0, t0)
	ou, _ := h.OpenURL("r1", t0)
	clk.t = t0.Add(73 * time.Hour)
	w := do(h, "GET", cu, "", map[string]string{"User-Agent": "Mozilla/5.0 (Macintosh) Safari/17"})
	assert.Equal(t, http.StatusFound, w.Code, "links keep working after the window")
	w = do(h, "GET", ou, "", nil)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "image/gif", w.Header().Get("Content-Type"))
	assert.Contains(t, w.Header().Get("Cache-Control"), "no-store")
	assert.True(t, bytes.HasPrefix(w.Body.Bytes(), []byte("GIF89a")))
	assert.Empty(t, rec.clicks)
	assert.Empty(t, rec.opens)
}

func TestMachineOpens(t *testing.T) {
	apple := netip.MustParsePrefix("17.0.0.0/8")
	rec, clk := newRecorder(), &clock{t0}
	h := newHandler(t, rec, clk, func(c *tracking.Config) { c.AppleProxyPrefixes = []netip.Prefix{apple} })
	ou, _ := h.OpenURL("r1", t0)
	tests := []struct {
		name    string
		after   time.Duration
		ip, ua  string
		machine bool
		reason  string
	}{
		{"apple privacy proxy", time.Hour, "17.58.1.2", "Mozilla/5.0", true, "apple_mpp"},
		{"prefetch right after sending", 2 * time.Second, "198.51.100.7", "Mozilla/5.0 (compatible)", true, "prefetch"},
		{"a person hours later", 5 * time.Hour, "198.51.100.7", "Mozilla/5.0 (iPhone) Mobile", false, ""},
		{"apple UA from elsewhere is a person", 5 * time.Hour, "198.51.100.7", "Mozilla/5.0", false, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.t = t0.Add(tt.after)
			u, _ := url.Parse(ou)
			req := httptest.NewRequest("GET", u.RequestURI(), nil)
			req.RemoteAddr = tt.ip + ":1234"
			req.Header.Set("User-Agent", tt.ua)
			h.ServeHTTP(httptest.NewRecorder(), req)
			require.Len(t, rec.opens, i+1)
			assert.Equal(t, tt.machine, rec.opens[i].Machine)
			assert.Equal(t, tt.reason, rec.opens[i].Reason)
		})
	}
}

func TestScannerClicks(t *testing.T) {
	rec, clk := newRecorder(), &clock{t0}
	h := newHandler(t, rec, clk, nil)
	browser := map[string]string{"User-Agent": "Mozilla/5.0 (Windows NT 10.0) Chrome/120"}
	// HEAD request: still redirects, flagged.
	u0, _ := h.ClickURL("r1", 0, t0)
	clk.t = t0.Add(time.Hour)
	w := do(h, "HEAD", u0, "", browser)
	assert.Equal(t, http.StatusFound, w.Code)
	require.Len(t, rec.clicks, 1)
	assert.Equal(t, "head_request", rec.clicks[0].Reason)
	// All 6 links within 1.2 s, 5 s after delivery: every one flagged.
	rec.clicks = nil
	for i := 0; i < 6; i++ {
		clk.t = t0.Add(5*time.Second + time.Duration(i)*200*time.Millisecond)
		u, _ := h.ClickURL("r1", i, t0)
		do(h, "GET", u, "", browser)
	}
	require.Len(t, rec.clicks, 6)
	for i, c := range rec.clicks {
		assert.True(t, c.Machine, "click %d", i)
	}
	// A burst across links later on: the second click is flagged.
	rec.clicks = nil
	for i := 0; i < 2; i++ {
		clk.t = t0.Add(2*time.Hour + time.Duration(i)*time.Second)
		u, _ := h.ClickURL("r1", i, t0)
		do(h, "GET", u, "", browser)
	}
	require.Len(t, rec.clicks, 2)
	assert.False(t, rec.clicks[0].Machine)
	assert.Equal(t, "click_burst", rec.clicks[1].Reason)
	// Known scanner user agent.
	clk.t = t0.Add(4 * time.Hour)
	do(h, "GET", u0, "", map[string]string{"User-Agent": "Mozilla/5.0 Proofpoint URL Defense"})
	assert.Equal(t, "scanner", rec.clicks[2].Reason)
}

func TestUnsubscribeGetNeverChangesState(t *testing.T) {
	rec := newRecorder()
	h := newHandler(t, rec, &clock{t0}, func(c *tracking.Config) { c.OrgName = "Sunrise <Clinic>" })
	u, _ := h.UnsubscribeURL("r1", t0)
	for _, m := range []string{"GET", "HEAD"} {
		w := do(h, m, u, "", nil)
		assert.Equal(t, http.StatusOK, w.Code, m)
	}
	w := do(h, "GET", u, "", nil)
	assert.Contains(t, w.Body.String(), `<form method="post" action="`+u+`">`)
	assert.Contains(t, w.Body.String(), "Sunrise &lt;Clinic&gt;", "org name is escaped")
	assert.Zero(t, rec.calls, "GET/HEAD must never reach the unsubscribe write path")
}

func TestUnsubscribeOneClickRFC8058(t *testing.T) {
	rec := newRecorder()
	h := newHandler(t, rec, &clock{t0}, nil)
	u, _ := h.UnsubscribeURL("r1", t0)
	w := do(h, "POST", u, "List-Unsubscribe=One-Click", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	assert.Contains(t, []int{200, 204}, w.Code)
	assert.Empty(t, w.Header().Get("Location"))
	assert.Equal(t, 1, rec.unsub["r1"])
	// multipart form, sent again: idempotent, still 200, one audit event.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	require.NoError(t, mw.WriteField("List-Unsubscribe", "One-Click"))
	require.NoError(t, mw.Close())
	w = do(h, "POST", u, body.String(), map[string]string{"Content-Type": mw.FormDataContentType()})
	assert.Contains(t, []int{200, 204}, w.Code)
	assert.Equal(t, 1, rec.unsub["r1"])
	assert.Equal(t, 2, rec.calls)
	// The confirmation form.
	w = do(h, "POST", u, "confirm=1", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	assert.Equal(t, http.StatusOK, w.Code)
	// A POST with neither intent changes nothing.
	w = do(h, "POST", u, "foo=bar", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Equal(t, 3, rec.calls)
}

func TestUnsubscribeTokensOutliveTracking(t *testing.T) {
	rec, clk := newRecorder(), &clock{t0}
	h := newHandler(t, rec, clk, nil)
	u, _ := h.UnsubscribeURL("r1", t0)
	clk.t = t0.Add(31 * 24 * time.Hour)
	w := do(h, "POST", u, "List-Unsubscribe=One-Click", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	assert.Equal(t, http.StatusOK, w.Code)
	clk.t = t0.Add(401 * 24 * time.Hour)
	w = do(h, "POST", u, "List-Unsubscribe=One-Click", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	assert.Equal(t, http.StatusNotFound, w.Code, "past UnsubscribeMaxAge")
}

func TestUnknownRecipientSameAsBadToken(t *testing.T) {
	rec := newRecorder()
	h := newHandler(t, rec, &clock{t0}, nil)
	u, _ := h.UnsubscribeURL("nobody", t0)
	w1 := do(h, "POST", u, "List-Unsubscribe=One-Click", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	w2 := do(h, "POST", "https://t.clinic.example/t/u/tampered", "List-Unsubscribe=One-Click", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	assert.Equal(t, http.StatusNotFound, w1.Code)
	assert.Equal(t, w1.Code, w2.Code)
	assert.Equal(t, w1.Body.String(), w2.Body.String(), "no oracle")
}

func TestInvalidTokensThrottledValidNever(t *testing.T) {
	rec := newRecorder()
	h := newHandler(t, rec, &clock{t0}, nil)
	throttled := 0
	for i := 0; i < 1000; i++ {
		w := do(h, "POST", "https://t.clinic.example/t/u/bad"+strings.Repeat("x", i%7), "List-Unsubscribe=One-Click", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		if w.Code == http.StatusTooManyRequests {
			throttled++
		}
	}
	assert.Greater(t, throttled, 900)
	u, _ := h.UnsubscribeURL("r1", t0)
	w := do(h, "POST", u, "List-Unsubscribe=One-Click", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	assert.Equal(t, http.StatusOK, w.Code, "a valid token from a throttled IP is still processed")
}

func TestMountedWithStripPrefix(t *testing.T) {
	rec := newRecorder()
	h := newHandler(t, rec, &clock{t0.Add(time.Hour)}, nil)
	mux := http.NewServeMux()
	mux.Handle("/t/", http.StripPrefix("/t", h))
	u, _ := h.ClickURL("r1", 1, t0)
	w := do(mux, "GET", u, "", map[string]string{"User-Agent": "Mozilla/5.0 (X11) Firefox/120"})
	assert.Equal(t, http.StatusFound, w.Code)
	assert.Equal(t, "https://clinic.example/a", w.Header().Get("Location"))
}

func TestNewHandlerValidation(t *testing.T) {
	s, _ := tracking.NewSigner(key1)
	_, err := tracking.NewHandler(tracking.Config{Signer: s, Backend: newRecorder(), BaseURL: "http://t.example"})
	assert.ErrorContains(t, err, "https")
	_, err = tracking.NewHandler(tracking.Config{Signer: s, Backend: newRecorder(), BaseURL: "https://t.example", UnsubscribeMaxAge: 24 * time.Hour})
	assert.ErrorContains(t, err, "30 days")
	_, err = tracking.NewHandler(tracking.Config{Backend: newRecorder(), BaseURL: "https://t.example"})
	assert.ErrorContains(t, err, "Signer")
}

func FuzzVerify(f *testing.F) {
	s, _ := tracking.NewSigner(key1)
	tok, _ := s.Sign(tracking.Claims{Purpose: tracking.PurposeClick, RecipientID: "row-1", LinkIndex: 2, IssuedAt: t0})
	f.Add(tok)
	f.Add("")
	f.Add("AQEA")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.Verify(tok, tracking.PurposeClick)
		if err == nil {
			again, err := s.Sign(c)
			if err != nil {
				t.Fatalf("verified claims do not re-sign: %v", err)
			}
			if _, err := s.Verify(again, tracking.PurposeClick); err != nil {
				t.Fatal(err)
			}
		}
	})
}
