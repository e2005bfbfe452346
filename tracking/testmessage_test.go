package tracking_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast/tracking"
)

// The links of a test message (Send Test to Me: no ledger row) answer
// with a "this was a test" page and never reach the backend: the
// unsubscribe confirmation, the form's POST and the RFC 8058 one-click
// POST all say so with 200, a click says so too, and the pixel records
// nothing.
func TestTestMessageLinks(t *testing.T) {
	rec := newRecorder()
	h := newHandler(t, rec, &clock{t0.Add(time.Minute)}, func(c *tracking.Config) { c.OrgName = "Sunrise Clinic" })
	u, err := h.UnsubscribeURL(tracking.TestRecipientID, t0)
	require.NoError(t, err)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	require.NoError(t, mw.WriteField("List-Unsubscribe", "One-Click"))
	require.NoError(t, mw.Close())
	for _, tt := range []struct {
		name, method, body string
		hdr                map[string]string
	}{
		{"confirmation page", "GET", "", nil},
		{"form POST", "POST", "confirm=1", form},
		{"one-click POST", "POST", "List-Unsubscribe=One-Click", form},
		{"one-click multipart POST", "POST", mp.String(), map[string]string{"Content-Type": mw.FormDataContentType()}},
	} {
		w := do(h, tt.method, u, tt.body, tt.hdr)
		assert.Equal(t, http.StatusOK, w.Code, tt.name)
		assert.Empty(t, w.Header().Get("Location"), tt.name)
		body := w.Body.String()
		assert.Contains(t, body, "This was a test message", tt.name)
		assert.Contains(t, body, "No one was unsubscribed", tt.name)
		assert.Contains(t, body, "Sunrise Clinic", tt.name)
		assert.NotContains(t, body, "Link not found", tt.name)
		assert.NotContains(t, body, "<form", "%s: nothing to confirm", tt.name)
	}
	assert.Equal(t, http.StatusOK, do(h, "HEAD", u, "", nil).Code)
	// A POST with neither intent is refused as for a real message.
	assert.Equal(t, http.StatusBadRequest, do(h, "POST", u, "foo=bar", form).Code)

	c, err := h.ClickURL(tracking.TestRecipientID, 0, t0)
	require.NoError(t, err)
	for _, m := range []string{"GET", "HEAD"} {
		w := do(h, m, c, "", map[string]string{"User-Agent": "Mozilla/5.0 (Macintosh) Safari"})
		assert.Equal(t, http.StatusOK, w.Code, m)
		assert.Empty(t, w.Header().Get("Location"), m)
		if m == "GET" {
			assert.Contains(t, w.Body.String(), "This was a test message")
		}
	}
	o, err := h.OpenURL(tracking.TestRecipientID, t0)
	require.NoError(t, err)
	w := do(h, "GET", o, "", nil)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "image/gif", w.Header().Get("Content-Type"))

	assert.Zero(t, rec.calls, "no unsubscribe reached the backend")
	assert.Empty(t, rec.unsub)
	assert.Empty(t, rec.opens)
	assert.Empty(t, rec.clicks)
}

// A test token is signed like any other: a forged or tampered one, an
// expired one, or one minted for another purpose is the neutral 404, and
// only a token for exactly TestRecipientID is a test.
func TestTestTokensAreSigned(t *testing.T) {
	rec := newRecorder()
	clk := &clock{t0}
	h := newHandler(t, rec, clk, func(c *tracking.Config) { c.InvalidPerIP = -1 })
	u, err := h.UnsubscribeURL(tracking.TestRecipientID, t0)
	require.NoError(t, err)
	tok := u[strings.LastIndexByte(u, '/')+1:]
	other, err := tracking.NewSigner(tracking.Key{ID: 1, Secret: bytes.Repeat([]byte{0x99}, 32)})
	require.NoError(t, err)
	forged, err := other.Sign(tracking.Claims{Purpose: tracking.PurposeUnsubscribe, RecipientID: tracking.TestRecipientID, IssuedAt: t0})
	require.NoError(t, err)
	open, err := h.OpenURL(tracking.TestRecipientID, t0)
	require.NoError(t, err)
	openTok := open[strings.LastIndexByte(open, '/')+1:]
	tampered := []byte(tok)
	tampered[len(tampered)/2] ^= 1
	for name, bad := range map[string]string{"forged": forged, "tampered": string(tampered), "open token": openTok} {
		w := do(h, "GET", "https://t.clinic.example/t/u/"+bad, "", nil)
		assert.Equal(t, http.StatusNotFound, w.Code, name)
		assert.NotContains(t, w.Body.String(), "test message", name)
	}
	// Not a test: a recipient ID that merely resembles it.
	for _, id := range []string{"~test", "test~", "~TEST~"} {
		s, err := h.UnsubscribeURL(id, t0)
		require.NoError(t, err)
		w := do(h, "POST", s, "List-Unsubscribe=One-Click", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		assert.Equal(t, http.StatusNotFound, w.Code, id)
	}
	assert.Equal(t, 3, rec.calls, "those reached the backend, which does not know them")
	clk.t = t0.Add(tracking.DefaultUnsubscribeMaxAge + time.Hour)
	assert.Equal(t, http.StatusNotFound, do(h, "GET", u, "", nil).Code, "expired")

	s, err := tracking.NewSigner(key1)
	require.NoError(t, err)
	tok2, err := s.Sign(tracking.Claims{Purpose: tracking.PurposeClick, RecipientID: tracking.TestRecipientID, IssuedAt: t0})
	require.NoError(t, err)
	c, err := s.Verify(tok2, tracking.PurposeClick)
	require.NoError(t, err)
	assert.True(t, c.Test())
	c, err = s.Verify(mustSign(t, s, "r1"), tracking.PurposeClick)
	require.NoError(t, err)
	assert.False(t, c.Test())
}

func mustSign(t *testing.T, s *tracking.Signer, id string) string {
	t.Helper()
	tok, err := s.Sign(tracking.Claims{Purpose: tracking.PurposeClick, RecipientID: id, IssuedAt: t0})
	require.NoError(t, err)
	return tok
}
