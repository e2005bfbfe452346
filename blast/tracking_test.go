package blast_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasttest"
	"github.com/carecast/carecast/tracking"
)

func TestRecipientID(t *testing.T) {
	for _, tt := range []struct {
		org string
		row int64
	}{{"org1", 1}, {"org~with~tildes", 123456789}, {"x", 1 << 40}} {
		id := blast.RecipientID(tt.org, tt.row)
		org, row, ok := blast.ParseRecipientID(id)
		require.True(t, ok, id)
		assert.Equal(t, tt.org, org)
		assert.Equal(t, tt.row, row)
	}
	for _, bad := range []string{"", "~1", "org~", "org~-1", "org~zz!", "org"} {
		_, _, ok := blast.ParseRecipientID(bad)
		assert.False(t, ok, bad)
	}
}

// The engine wired to a tracking.Handler: links are rewritten, the open
// pixel and the unsubscribe link land in the ledger and the patient
// record.
func TestTrackingEndToEnd(t *testing.T) {
	var th *tracking.Handler
	h, everyone := setup(t, population(2, nil), &blasttest.Options{Config: func(c *blast.Config) {
		issued := func() time.Time { return blasttest.Epoch }
		c.UnsubscribeURL = func(org, _ string, row int64) string {
			u, _ := th.UnsubscribeURL(blast.RecipientID(org, row), issued())
			return u
		}
		c.OpenPixelURL = func(org, _ string, row int64) string {
			u, _ := th.OpenURL(blast.RecipientID(org, row), issued())
			return u
		}
		c.RewriteLink = func(org, _ string, row int64, i int, _ string) string {
			u, _ := th.ClickURL(blast.RecipientID(org, row), i, issued())
			return u
		}
	}})
	signer, err := tracking.NewSigner(tracking.Key{ID: 1, Secret: bytes.Repeat([]byte("k"), 32)})
	require.NoError(t, err)
	th, err = tracking.NewHandler(tracking.Config{Signer: signer, Backend: h.Engine.TrackingBackend(),
		BaseURL: "https://t.clinic.example/t", Now: func() time.Time { return blasttest.Epoch.Add(time.Hour) }})
	require.NoError(t, err)

	b, sum := sendAndRun(t, h, emailDraft(carecast.Marketing, everyone.ID))
	require.Equal(t, 2, sum.Sent)
	m := h.Email.SentTo(email(0))[0]
	serve := func(method, raw string, body url.Values) *httptest.ResponseRecorder {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		var req *http.Request
		if body != nil {
			req = httptest.NewRequest(method, u.Path, strings.NewReader(body.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req = httptest.NewRequest(method, u.Path, nil)
		}
		req.Header.Set("User-Agent", "Mozilla/5.0 (Macintosh) AppleWebKit Safari")
		rec := httptest.NewRecorder()
		http.StripPrefix("/t", th).ServeHTTP(rec, req)
		return rec
	}

	pixel := regexp.MustCompile(`<img src="(https://t\.clinic\.example/t/o/[^"]+)"`).FindStringSubmatch(m.HTML)
	require.Len(t, pixel, 2, "open pixel inserted")
	assert.Equal(t, http.StatusOK, serve("GET", pixel[1], nil).Code)

	click := regexp.MustCompile(`href="(https://t\.clinic\.example/t/c/[^"]+)"`).FindStringSubmatch(m.HTML)
	require.Len(t, click, 2, "links rewritten")
	rec := serve("GET", strings.ReplaceAll(click[1], "&amp;", "&"), nil)
	assert.Equal(t, http.StatusFound, rec.Code)
	assert.Equal(t, "https://clinic.example/hours", rec.Header().Get("Location"))

	rec = serve("POST", m.ListUnsubscribeURL, url.Values{"List-Unsubscribe": {"One-Click"}})
	assert.Less(t, rec.Code, 300)
	rec = serve("POST", m.ListUnsubscribeURL, url.Values{"List-Unsubscribe": {"One-Click"}})
	assert.Less(t, rec.Code, 300, "idempotent")

	sum, err = h.Engine.Summary(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Opened)
	assert.Equal(t, 1, sum.Clicked)
	ps, err := h.Patients.PatientsByID(ctx, org, []string{"p00000"})
	require.NoError(t, err)
	assert.True(t, ps[0].Consent.EmailUnsubscribed)
	n := 0
	for _, c := range h.Patients.ContactChanges(org) {
		if c.PatientID == "p00000" {
			n++
		}
	}
	assert.Equal(t, 1, n, "one patient change for two unsubscribe requests")
}
