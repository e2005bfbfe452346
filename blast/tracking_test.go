package blast_test

import (
	"bytes"
	"fmt"
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
	"github.com/carecast/carecast/provider"
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
	// A HEAD request is a scanner (compliance.md TR-05 test 1): still
	// redirected, stored as a machine click, not counted.
	rec := serve("HEAD", strings.ReplaceAll(click[1], "&amp;", "&"), nil)
	assert.Equal(t, http.StatusFound, rec.Code)
	rec = serve("GET", strings.ReplaceAll(click[1], "&amp;", "&"), nil)
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
	assert.Equal(t, 1, sum.MachineClicked)
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

// compliance.md TR-04, TR-05: machine opens and clicks are stored flagged
// (auditable per message and in the summary) but never counted as opens
// or clicks: not in the cards, rates, engagement series or analytics.
func TestMachineEngagement(t *testing.T) {
	h, everyone := setup(t, population(3, nil), nil)
	b, sum := sendAndRun(t, h, emailDraft(carecast.Marketing, everyone.ID))
	require.Equal(t, 3, sum.Sent)
	msgs := allMessages(t, h, b.ID, blast.CardSent, 10)
	require.Len(t, msgs, 3)
	rid := func(i int) string { return blast.RecipientID(org, msgs[i].ID) }
	tb := h.Engine.TrackingBackend()
	at := blasttest.Epoch.Add(time.Minute)

	// Patient 0: an Apple MPP open and a HEAD-request scanner click.
	require.NoError(t, tb.RecordOpen(ctx, rid(0), tracking.Engagement{At: at, Machine: true, Reason: "apple_mpp"}))
	require.NoError(t, tb.RecordClick(ctx, rid(0), 0, tracking.Engagement{At: at, Machine: true, Reason: "head_request"}))
	// Patient 1: a human open and click.
	require.NoError(t, tb.RecordOpen(ctx, rid(1), tracking.Engagement{At: at}))
	require.NoError(t, tb.RecordClick(ctx, rid(1), 0, tracking.Engagement{At: at}))
	// Patient 2: the vendor flags the open (SendGrid sg_machine_open).
	pm := h.Email.SentTo(email(2))[0].ProviderMessageID
	assert.Equal(t, blast.EventApplied, event(t, h, provider.Event{ID: "sg1", Kind: provider.EventOpen, ProviderMessageID: pm, Machine: true}))
	assert.Equal(t, blast.EventDuplicate, event(t, h, provider.Event{ID: "sg1", Kind: provider.EventOpen, ProviderMessageID: pm, Machine: true}))

	sum, err := h.Engine.Summary(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Opened)
	assert.Equal(t, 1, sum.Clicked)
	assert.InDelta(t, 1.0/3, sum.OpenRate, 1e-9)
	assert.InDelta(t, 1.0/3, sum.ClickRate, 1e-9)
	assert.Equal(t, 1, cardCount(sum, blast.CardOpened))
	assert.Equal(t, 1, cardCount(sum, blast.CardClicked))
	assert.Equal(t, 2, sum.MachineOpened)
	assert.Equal(t, 1, sum.MachineClicked)

	opened := allMessages(t, h, b.ID, blast.CardOpened, 10)
	require.Len(t, opened, 1)
	assert.Equal(t, msgs[1].ID, opened[0].ID)
	msgs = allMessages(t, h, b.ID, blast.CardSent, 10)
	assert.Equal(t, [3][4]int{{0, 0, 1, 1}, {1, 1, 0, 0}, {0, 0, 1, 0}}, [3][4]int{
		{msgs[0].Opens, msgs[0].Clicks, msgs[0].MachineOpens, msgs[0].MachineClicks},
		{msgs[1].Opens, msgs[1].Clicks, msgs[1].MachineOpens, msgs[1].MachineClicks},
		{msgs[2].Opens, msgs[2].Clicks, msgs[2].MachineOpens, msgs[2].MachineClicks}})

	series, err := h.Engine.Engagement(ctx, org, b.ID, time.Hour)
	require.NoError(t, err)
	assert.Equal(t, 1, series.Opens[len(series.Opens)-1])
	assert.Equal(t, 1, series.Clicks[len(series.Clicks)-1])
	a, err := h.Engine.Analytics(ctx, org, blast.AnalyticsOpts{From: blasttest.Epoch.Add(-time.Hour), To: blasttest.Epoch.Add(time.Hour), Bucket: 2 * time.Hour})
	require.NoError(t, err)
	require.Len(t, a.Points, 1)
	assert.Equal(t, 1, a.Points[0].EmailOpened)
	assert.Equal(t, 1, a.Points[0].EmailClicked)

	// Reasons are PHI-free tokens; the generated event ID describes the
	// event for stores that keep only IDs.
	require.NoError(t, h.Engine.RecordMachineOpen(ctx, org, msgs[2].ID, "", "Ana Doe <ana@example.com>", at))
	require.NoError(t, h.Engine.RecordMachineClick(ctx, org, msgs[2].ID, "scan-1", "scanner", at))
	require.NoError(t, h.Engine.RecordMachineClick(ctx, org, msgs[2].ID, "scan-1", "scanner", at), "replay")
	msgs = allMessages(t, h, b.ID, blast.CardSent, 10)
	assert.Equal(t, 2, msgs[2].MachineOpens)
	assert.Equal(t, 1, msgs[2].MachineClicks)
	assert.Zero(t, msgs[2].Opens+msgs[2].Clicks)
	assert.Error(t, h.Engine.RecordMachineOpen(ctx, "other-org", msgs[2].ID, "", "apple_mpp", at), "other organizations' rows are not found")
}

// compliance.md EM-01: with Config.UnsubscribeMailto, a marketing email
// carries the mailto address after the one-click URL; transactional email
// carries neither.
func TestUnsubscribeMailto(t *testing.T) {
	h, everyone := setup(t, population(1, nil), &blasttest.Options{Config: func(c *blast.Config) {
		c.UnsubscribeMailto = func(orgID, blastID string, rowID int64) string {
			return fmt.Sprintf("mailto:unsub+%s.%d@clinic.example", blastID, rowID)
		}
	}})
	b, _ := sendAndRun(t, h, emailDraft(carecast.Marketing, everyone.ID))
	m := h.Email.SentTo(email(0))[0]
	assert.True(t, strings.HasPrefix(m.ListUnsubscribeURL, "https://"))
	assert.True(t, strings.HasPrefix(m.ListUnsubscribeMailto, "mailto:unsub+"+b.ID+"."), m.ListUnsubscribeMailto)
	h.Email.Reset()
	sendAndRun(t, h, emailDraft(carecast.Transactional, everyone.ID))
	m = h.Email.SentTo(email(0))[0]
	assert.Empty(t, m.ListUnsubscribeURL)
	assert.Empty(t, m.ListUnsubscribeMailto)
}
