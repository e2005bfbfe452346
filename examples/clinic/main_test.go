package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/provider/fake"
)

// clinic is the app on a test server, with a client that does not follow
// redirects (the test reads them).
type clinic struct {
	app *app
	srv *httptest.Server
	c   *http.Client
}

func startClinic(t *testing.T) *clinic {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	a, err := newApp(context.Background(), &appConfig{
		DBPath: filepath.Join(t.TempDir(), "clinic.db"), BaseURL: "http://" + ln.Addr().String(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(a)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		require.NoError(t, a.Close())
	})
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &clinic{app: a, srv: srv, c: c}
}

func (c *clinic) get(t *testing.T, path string) (int, string) {
	t.Helper()
	res, err := c.c.Get(c.srv.URL + path)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

// post submits a form and returns the status, the redirect target and
// the body.
func (c *clinic) post(t *testing.T, path string, form url.Values, hdr ...string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest("POST", c.srv.URL+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.c.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, res.Header.Get("Location"), string(b)
}

var editPath = regexp.MustCompile(`^/blasts/([0-9a-f-]{36})/edit$`)

// newBlast walks New Blast → Next: Compose and returns the draft's ID.
func (c *clinic) newBlast(t *testing.T, name, channel string, cohorts ...string) string {
	t.Helper()
	st, loc, _ := c.post(t, "/blasts", url.Values{"name": {name}, "channel": {channel}, "cohort": cohorts})
	require.Equal(t, http.StatusSeeOther, st)
	m := editPath.FindStringSubmatch(loc)
	require.NotNil(t, m, loc)
	return m[1]
}

func (c *clinic) wait(t *testing.T, id string) blast.Summary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sum, err := c.app.engine.Wait(ctx, c.app.org.ID, id)
	require.NoError(t, err)
	return sum
}

// TestMainFlow creates an SMS blast through the pages, tests it, sends it
// and reads the results, as the guide walks through it.
func TestMainFlow(t *testing.T) {
	c := startClinic(t)
	st, body := c.get(t, "/")
	require.Equal(t, http.StatusOK, st)
	assert.Contains(t, body, "No blasts yet")
	st, body = c.get(t, "/blasts/new")
	require.Equal(t, http.StatusOK, st)
	assert.Contains(t, body, "Downtown patients")

	id := c.newBlast(t, "Flu shots", "sms", "downtown")
	st, body = c.get(t, "/blasts/"+id+"/edit")
	require.Equal(t, http.StatusOK, st)
	for _, want := range []string{"Send preview", "Will send", "Opted out", `id="counter"`, `data-key="first_name"`, "Send Test"} {
		assert.Contains(t, body, want)
	}

	// The counter the page's script calls.
	res, err := c.c.Post(c.srv.URL+"/api/sms/count", "application/json",
		strings.NewReader(`{"text":"Hi {{first_name}}","purpose":"marketing","recipients":10}`))
	require.NoError(t, err)
	var cnt struct {
		Typed   struct{ Characters int }
		Message struct{ Segments int }
		Cost    struct{ Micros int64 }
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&cnt))
	res.Body.Close()
	assert.Equal(t, 17, cnt.Typed.Characters)
	assert.Equal(t, 1, cnt.Message.Segments)
	assert.Equal(t, int64(10*7900), cnt.Cost.Micros)

	// Sending an empty message shows the problems, and sends nothing.
	form := url.Values{"name": {"Flu shots"}, "channel": {"sms"}, "cohort": {"downtown"}, "marketing": {"1"}, "body": {""}}
	form.Set("action", "send")
	st, _, body = c.post(t, "/blasts/"+id+"/edit", form)
	require.Equal(t, http.StatusOK, st)
	assert.Contains(t, body, "cannot be sent yet")

	// Send Test to Me lands in the outbox.
	form.Set("body", "Hi {{first_name|there}}, {{organization_name}} has flu shots this week.")
	form.Set("action", "test")
	form.Set("test_to", "+17375550000")
	st, loc, _ := c.post(t, "/blasts/"+id+"/edit", form)
	require.Equal(t, http.StatusSeeOther, st)
	assert.Equal(t, "/blasts/"+id+"/edit?done=test", loc)
	_, body = c.get(t, "/outbox")
	assert.Contains(t, body, "&#43;17375550000", "html/template escapes +")
	assert.Contains(t, body, "Sunrise Family Clinic has flu shots this week.\nReply STOP to opt out")

	// Estimate on the saved draft, then Send.
	est, err := c.app.engine.Estimate(context.Background(), c.app.org.ID, id)
	require.NoError(t, err)
	_, body = c.get(t, "/blasts/"+id+"/edit")
	assert.Contains(t, body, "Estimated cost: <b>"+staffMoney(est.Cost)+"</b>")
	form.Set("action", "send")
	st, loc, _ = c.post(t, "/blasts/"+id+"/edit", form)
	require.Equal(t, http.StatusSeeOther, st)
	require.Equal(t, "/blasts/"+id, loc)
	sum := c.wait(t, id)
	assert.Equal(t, est.Recipients, sum.Sent)
	assert.Positive(t, sum.Skipped+sum.OptedOut+sum.Blocked, "the seeded practice has ineligible patients")

	st, body = c.get(t, "/blasts/"+id)
	require.Equal(t, http.StatusOK, st)
	for _, cs := range sum.Cards {
		card := `<b data-card="` + string(cs.Card) + `">` + itoa(cs.Count) + "</b>" + cs.Label
		assert.True(t, strings.Contains(body, card), "the page lacks %s", card)
	}
	assert.NotContains(t, body, "EventSource", "a completed blast is not followed live")
	_, body = c.get(t, "/blasts/"+id+"?card=opted_out")
	assert.Equal(t, sum.OptedOut, strings.Count(body, "Opted out</span>"), "the card filters the list")
	_, body = c.get(t, "/outbox")
	assert.Equal(t, sum.Sent+1, c.app.sms.Count())
	assert.Contains(t, body, "Hi Amara, Sunrise Family Clinic")

	// Add Recipients: a patient from another location.
	_, body = c.get(t, "/blasts/"+id+"?q=patient0002")
	assert.Contains(t, body, `value="pt-0002"`)
	st, loc, _ = c.post(t, "/blasts/"+id+"/recipients", url.Values{"patient": {"pt-0002"}})
	require.Equal(t, http.StatusSeeOther, st)
	assert.Equal(t, "/blasts/"+id+"?done=added&n=1", loc)
	after := c.wait(t, id)
	assert.Equal(t, sum.Total+1, after.Total)

	// Duplicate from the list opens the copy's compose page.
	_, body = c.get(t, "/")
	assert.Contains(t, body, "Flu shots")
	st, loc, _ = c.post(t, "/blasts/"+id+"/duplicate", nil)
	require.Equal(t, http.StatusSeeOther, st)
	require.Regexp(t, editPath, loc)
	_, body = c.get(t, loc)
	assert.Contains(t, body, "Flu shots (copy)")
	assert.Contains(t, body, "{{organization_name}} has flu shots")
}

// TestRetryAndLowDelivery fails most texts at the provider: the banner
// shows, Retry Failed resends them.
func TestRetryAndLowDelivery(t *testing.T) {
	c := startClinic(t)
	id := c.newBlast(t, "Closure", "sms", "vip")
	for i := 1; i <= 240; i++ {
		c.app.sms.FailTo("+1737555"+pad4(i), errPermanent)
	}
	st, _, _ := c.post(t, "/blasts/"+id+"/edit", url.Values{"channel": {"sms"}, "cohort": {"vip"},
		"body": {"The clinic is closed Friday."}, "action": {"send"}})
	require.Equal(t, http.StatusSeeOther, st)
	sum := c.wait(t, id)
	require.Positive(t, sum.Failed)
	_, body := c.get(t, "/blasts/"+id)
	assert.Contains(t, body, `id="low-delivery"`)
	assert.Contains(t, body, "Retry Failed ("+itoa(sum.Failed)+")")

	st, loc, _ := c.post(t, "/blasts/"+id+"/retry", nil)
	require.Equal(t, http.StatusSeeOther, st)
	assert.Equal(t, "/blasts/"+id+"?done=retried&n="+itoa(sum.Failed), loc)
	after := c.wait(t, id)
	assert.Equal(t, 0, after.Failed)
	assert.Equal(t, sum.Sent+sum.Failed, after.Sent)
	_, body = c.get(t, "/blasts/"+id+"?done=retried&n=3")
	assert.NotContains(t, body, `id="low-delivery"`)
	assert.Contains(t, body, "3 failed message(s) queued again.")
}

// TestEmailUnsubscribe sends a marketing email and follows its
// unsubscribe link through the mounted tracking handler.
func TestEmailUnsubscribe(t *testing.T) {
	c := startClinic(t)
	id := c.newBlast(t, "Newsletter", "email", "vip")
	st, loc, body := c.post(t, "/blasts/"+id+"/edit", url.Values{"channel": {"email"}, "cohort": {"vip"}, "marketing": {"1"},
		"from": {defaultFrom}, "subject": {"News for {{first_name}}"}, "body": {"# Hello\n\nSee [our hours](https://clinic.example/hours)."},
		"action": {"send"}})
	require.Equal(t, http.StatusSeeOther, st, body)
	require.Equal(t, "/blasts/"+id, loc)
	sum := c.wait(t, id)
	require.Positive(t, sum.Sent)
	msg := c.app.email.Sent()[0]
	require.True(t, strings.HasPrefix(msg.ListUnsubscribeURL, c.srv.URL+"/t/u/"), msg.ListUnsubscribeURL)
	assert.Contains(t, msg.HTML, c.srv.URL+"/t/c/", "links are rewritten for click tracking")

	// The open pixel is served by the mounted tracking handler (an open
	// this soon after sending is flagged as a prefetch and not counted);
	// an open an hour later shows on the card and the engagement chart.
	pixel := regexp.MustCompile(regexp.QuoteMeta(c.srv.URL) + `/t/o/[A-Za-z0-9_-]+`).FindString(msg.HTML)
	require.NotEmpty(t, pixel)
	res, err := c.c.Get(pixel)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, "image/gif", res.Header.Get("Content-Type"))
	b, err := c.app.engine.Get(context.Background(), c.app.org.ID, id)
	require.NoError(t, err)
	page, err := c.app.engine.Messages(context.Background(), c.app.org.ID, id, &blast.MessagesOpts{Card: blast.CardSent, Limit: 1})
	require.NoError(t, err)
	require.NoError(t, c.app.engine.RecordOpen(context.Background(), c.app.org.ID, page.Messages[0].ID, "open-1", b.StartedAt.Add(90*time.Minute)))
	_, body = c.get(t, "/blasts/"+id)
	assert.True(t, strings.Contains(body, `<b data-card="opened">1</b>Opened`), "one open on the Opened card")
	assert.Contains(t, body, `aria-label="Opens and clicks over time"`)

	// RFC 8058 one-click, from the mail provider: no Origin check applies.
	st, _, _ = c.post(t, strings.TrimPrefix(msg.ListUnsubscribeURL, c.srv.URL), url.Values{"List-Unsubscribe": {"One-Click"}},
		"Sec-Fetch-Site", "cross-site")
	require.Equal(t, http.StatusOK, st)
	pts, err := c.app.patients.FindByContact(context.Background(), c.app.org.ID, msg.To)
	require.NoError(t, err)
	require.NotEmpty(t, pts)
	assert.True(t, pts[0].Consent.EmailUnsubscribed)
}

// TestCrossSitePostRefused checks the pages refuse a form posted from
// another site, and unknown blasts are 404.
func TestCrossSitePostRefused(t *testing.T) {
	c := startClinic(t)
	id := c.newBlast(t, "x", "sms", "vip")
	st, _, _ := c.post(t, "/blasts/"+id+"/duplicate", nil, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	assert.Equal(t, http.StatusForbidden, st)
	st, _ = c.get(t, "/blasts/00000000-0000-0000-0000-000000000000")
	assert.Equal(t, http.StatusNotFound, st)
	st, _, _ = c.post(t, "/blasts/"+id+"/retry", nil)
	assert.Equal(t, http.StatusConflict, st, "a draft has nothing to retry")
}

// TestScheduledFollowAndCancel: a scheduled blast's page follows the live
// stream, and Cancel stops it.
func TestScheduledFollowAndCancel(t *testing.T) {
	c := startClinic(t)
	id := c.newBlast(t, "Later", "sms", "vip")
	st, _, _ := c.post(t, "/blasts/"+id+"/edit", url.Values{"channel": {"sms"}, "cohort": {"vip"}, "body": {"Hi"}, "action": {"save"}})
	require.Equal(t, http.StatusSeeOther, st)
	_, err := c.app.engine.Send(context.Background(), c.app.org.ID, id, &blast.SendOpts{At: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	_, body := c.get(t, "/blasts/"+id)
	assert.Contains(t, body, "new EventSource('/api/blasts/"+id+"/live')")
	assert.Contains(t, body, `<noscript><meta http-equiv="refresh"`)
	st, loc, _ := c.post(t, "/blasts/"+id+"/cancel", nil)
	require.Equal(t, http.StatusSeeOther, st)
	assert.Equal(t, "/blasts/"+id+"?done=cancelled&n=0", loc)
	_, body = c.get(t, loc)
	assert.Contains(t, body, "Blast cancelled")
	assert.NotContains(t, body, "EventSource")
	assert.Equal(t, 0, c.app.sms.Count())
}

func TestChart(t *testing.T) {
	assert.Nil(t, newChart(blast.EngagementSeries{}, 10), "no chart before sending")
	c := newChart(blast.EngagementSeries{Opens: []int{0, 5, 10}, Clicks: []int{0, 0, 2}}, 10)
	require.NotNil(t, c)
	assert.Equal(t, "0,120 10,120 20,60 30,0", c.Opens)
	assert.Equal(t, "0,120 10,120 20,120 30,96", c.Clicks)
	assert.Equal(t, 30, c.Width)
	assert.Equal(t, 1, newChart(blast.EngagementSeries{Opens: []int{0}, Clicks: []int{0}}, 0).Top, "no division by zero")
}

func TestSeedPatients(t *testing.T) {
	ps := seedPatients(240, time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC))
	var noPhone, landline, optedOut int
	ids := map[string]bool{}
	for _, p := range ps {
		ids[p.ID] = true
		if p.Phone == "" {
			noPhone++
		}
		if p.PhoneLineType == carecast.LineLandline {
			landline++
		}
		if p.Consent.SMSOptedOut {
			optedOut++
		}
	}
	assert.Len(t, ids, 240, "IDs are unique")
	assert.Positive(t, noPhone)
	assert.Positive(t, landline)
	assert.Positive(t, optedOut)
}

var errPermanent = fake.Permanent("30003")

func itoa(n int) string { return strconv.Itoa(n) }

func pad4(n int) string { return fmt.Sprintf("%04d", n) }

// A draft over a limit is refused with the fields at fault (422), not
// an internal error.
func TestDraftOverLimit(t *testing.T) {
	c := startClinic(t)
	st, _, body := c.post(t, "/blasts", url.Values{"name": {strings.Repeat("n", 201)}, "channel": {"sms"}})
	assert.Equal(t, http.StatusUnprocessableEntity, st)
	assert.Contains(t, body, "Name: at most 200 characters")
	assert.NotContains(t, body, "nnnnnnnn", "nothing echoed")
}

// Amounts read as an office manager reads them: dollars and cents, or
// cents for less than one (a single text's price).
func TestStaffMoney(t *testing.T) {
	const cent = carecast.Unit / 100
	for m, want := range map[carecast.Money]string{
		0:                      "$0.00",
		7900:                   "0.79¢", // $0.0079, one SMS segment
		cent:                   "$0.01",
		489_800:                "$0.49", // 62 texts at $0.0079
		carecast.Unit * 12:     "$12.00",
		carecast.Unit*3 + 4999: "$3.00",
		carecast.Unit*3 + 5000: "$3.01",
		-7900:                  "-0.79¢",
	} {
		assert.Equal(t, want, staffMoney(m), "%d", m)
	}
}
