package twilio_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/twilio"
)

// listServer serves the Messages list resource in Twilio's documented
// shape (GET /2010-04-01/Accounts/{AccountSid}/Messages.json; a page
// object with messages, page, page_size, uri, first_page_uri and
// next_page_uri, null on the last page), its pages given in advance.
type listServer struct {
	*httptest.Server
	mu       sync.Mutex
	pages    [][]map[string]any
	limited  int // answer 429 to this many first requests
	requests []*http.Request
}

const listPath = "/2010-04-01/Accounts/" + testSID + "/Messages.json"

func newListServer(t *testing.T, pages ...[]map[string]any) *listServer {
	t.Helper()
	s := &listServer{pages: pages}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.requests = append(s.requests, r)
		if u, p, ok := r.BasicAuth(); !ok || u != testSID || p != testToken || r.Method != http.MethodGet || r.URL.Path != listPath {
			http.Error(w, `{"code": 20003, "status": 401}`, http.StatusUnauthorized)
			return
		}
		if s.limited > 0 {
			s.limited--
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"code": 20429, "message": "Too Many Requests", "status": 429}`))
			return
		}
		n, _ := strconv.Atoi(r.URL.Query().Get("Page"))
		var msgs []map[string]any
		if n < len(s.pages) {
			msgs = s.pages[n]
		}
		first := listPath + "?" + r.URL.Query().Encode()
		var next any
		if n+1 < len(s.pages) {
			q := r.URL.Query()
			q.Set("Page", strconv.Itoa(n+1))
			q.Set("PageToken", fmt.Sprintf("PA%032d", n+1))
			next = listPath + "?" + q.Encode()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"messages": msgs, "page": n, "page_size": 100, "start": n * 100, "end": n*100 + len(msgs) - 1,
			"uri": r.URL.RequestURI(), "first_page_uri": first, "previous_page_uri": nil, "next_page_uri": next,
		})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *listServer) calls() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.requests...)
}

var sendAt = time.Date(2026, 12, 1, 23, 59, 30, 0, time.UTC)

// listed is one Message resource as the list returns it.
func listed(sid, to, from, body string, created time.Time) map[string]any {
	return map[string]any{
		"account_sid": testSID, "api_version": "2010-04-01", "body": body, "date_created": created.Format(time.RFC1123Z),
		"date_sent": created.Add(time.Second).Format(time.RFC1123Z), "date_updated": created.Add(2 * time.Second).Format(time.RFC1123Z),
		"direction": "outbound-api", "error_code": nil, "error_message": nil, "from": from, "messaging_service_sid": nil,
		"num_media": "0", "num_segments": "1", "price": "-0.00790", "price_unit": "USD", "sid": sid, "status": "delivered",
		"to": to, "uri": listPath[:len(listPath)-5] + "/" + sid + ".json",
	}
}

func acceptanceClient(t *testing.T, s *listServer, now time.Time, mod func(*twilio.Config)) *twilio.Client {
	t.Helper()
	cfg := twilio.Config{AccountSID: testSID, AuthToken: testToken, From: "+15005550006", BaseURL: s.URL, Now: func() time.Time { return now }}
	if mod != nil {
		mod(&cfg)
	}
	c, err := twilio.New(cfg)
	require.NoError(t, err)
	return c
}

const (
	patientTo = "+12125550101"
	ourFrom   = "+15005550006"
	ourBody   = "Sunrise Family: flu shots are in. Reply STOP to opt out."
)

func query() *provider.AcceptanceQuery {
	return &provider.AcceptanceQuery{MessageID: "42", OrgID: "org_1", To: patientTo, Body: ourBody, After: sendAt, Before: sendAt.Add(45 * time.Second)}
}

// Issue 13 §2: CheckAccepted reads the documented Messages list, filtered
// by To, From and the dates sent, following next_page_uri, and matches
// the rendered body within the attempt's window. It says "not accepted"
// only when nothing to the number from the sender was created in the
// window and the queue window has passed.
func TestCheckAccepted(t *testing.T) {
	t.Parallel()
	later := sendAt.Add(11 * time.Hour)
	noise := []map[string]any{
		listed("SM00000000000000000000000000000001", patientTo, ourFrom, ourBody, sendAt.Add(-48*time.Hour)), // an earlier blast's text
		listed("SM00000000000000000000000000000002", patientTo, ourFrom, "Other text", sendAt.Add(-2*time.Hour)),
	}
	inbound := listed("SM00000000000000000000000000000003", patientTo, ourFrom, ourBody, sendAt.Add(10*time.Second))
	inbound["direction"] = "inbound"
	ours := listed("SM00000000000000000000000000000004", patientTo, ourFrom, ourBody, sendAt.Add(20*time.Second))
	changed := listed("SM00000000000000000000000000000005", patientTo, ourFrom, "Sunrise Family: flu shots are in, Jo.", sendAt.Add(20*time.Second))
	for _, tc := range []struct {
		name  string
		pages [][]map[string]any
		now   time.Time
		want  provider.Acceptance
		calls int
	}{
		{"accepted, on the second page", [][]map[string]any{append(noise, inbound), {ours}}, sendAt.Add(time.Minute),
			provider.Acceptance{Status: provider.AcceptanceAccepted, ProviderMessageID: "SM00000000000000000000000000000004"}, 2},
		{"nothing in the window, queue window passed", [][]map[string]any{noise, {inbound}}, later,
			provider.Acceptance{Status: provider.AcceptanceNotAccepted}, 2},
		{"nothing in the window, a message may still be queued", [][]map[string]any{noise}, sendAt.Add(time.Hour),
			provider.Acceptance{}, 1},
		{"another body in the window: the record may have changed", [][]map[string]any{append(noise, changed)}, later,
			provider.Acceptance{}, 1},
		{"an empty list", nil, later, provider.Acceptance{Status: provider.AcceptanceNotAccepted}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newListServer(t, tc.pages...)
			got, err := acceptanceClient(t, s, tc.now, nil).CheckAccepted(context.Background(), query())
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			calls := s.calls()
			require.Len(t, calls, tc.calls)
			q := calls[0].URL.Query()
			assert.Equal(t, patientTo, q.Get("To"))
			assert.Equal(t, ourFrom, q.Get("From"))
			assert.Equal(t, "2026-12-01", q.Get("DateSent>"), "on or after the attempt's day")
			assert.Equal(t, "2026-12-02", q.Get("DateSent<"), "on or before its end plus the queue window")
			assert.Equal(t, "100", q.Get("PageSize"))
			if tc.calls > 1 {
				assert.Equal(t, "1", calls[1].URL.Query().Get("Page"), "followed next_page_uri")
				assert.NotEmpty(t, calls[1].URL.Query().Get("PageToken"))
			}
		})
	}
}

// A 429 is RateLimited with the Retry-After; nothing is concluded.
func TestCheckAcceptedRateLimited(t *testing.T) {
	t.Parallel()
	s := newListServer(t)
	s.limited = 1
	got, err := acceptanceClient(t, s, sendAt.Add(11*time.Hour), nil).CheckAccepted(context.Background(), query())
	var pe *provider.Error
	require.True(t, errors.As(err, &pe), "%v", err)
	assert.Equal(t, provider.RateLimited, pe.Class)
	assert.Equal(t, 7*time.Second, pe.RetryAfter)
	assert.Equal(t, "20429", pe.Code)
	assert.Equal(t, provider.AcceptanceUnknown, got.Status)
	assert.NotContains(t, err.Error(), patientTo)
	// The next call goes through.
	got, err = acceptanceClient(t, s, sendAt.Add(11*time.Hour), nil).CheckAccepted(context.Background(), query())
	require.NoError(t, err)
	assert.Equal(t, provider.AcceptanceNotAccepted, got.Status)
}

// A Messaging Service sender is not a From filter: its messages are
// matched on messaging_service_sid.
func TestCheckAcceptedMessagingService(t *testing.T) {
	t.Parallel()
	const svc = "MG00000000000000000000000000000009"
	other := listed("SM00000000000000000000000000000006", patientTo, "+15005550007", ourBody, sendAt.Add(5*time.Second))
	m := listed("SM00000000000000000000000000000007", patientTo, "+15005550008", ourBody, sendAt.Add(5*time.Second))
	m["messaging_service_sid"] = svc
	s := newListServer(t, []map[string]any{other, m})
	got, err := acceptanceClient(t, s, sendAt.Add(time.Minute), func(c *twilio.Config) { c.MessagingServiceSID = svc }).
		CheckAccepted(context.Background(), &provider.AcceptanceQuery{To: patientTo, Body: ourBody, After: sendAt, Before: sendAt.Add(time.Minute)})
	require.NoError(t, err)
	assert.Equal(t, provider.Acceptance{Status: provider.AcceptanceAccepted, ProviderMessageID: "SM00000000000000000000000000000007"}, got)
	assert.False(t, s.calls()[0].URL.Query().Has("From"))
}

// Unknown whenever the records cannot tell: a redacting account (no
// request made), more pages than are read; a bad query is a typed error.
func TestCheckAcceptedUnknown(t *testing.T) {
	t.Parallel()
	s := newListServer(t)
	got, err := acceptanceClient(t, s, sendAt.Add(11*time.Hour), func(c *twilio.Config) { c.PhoneNumberRedaction = true }).CheckAccepted(context.Background(), query())
	require.NoError(t, err)
	assert.Equal(t, provider.AcceptanceUnknown, got.Status)
	assert.Empty(t, s.calls())

	pages := make([][]map[string]any, 25)
	for i := range pages {
		pages[i] = []map[string]any{listed(fmt.Sprintf("SM%032d", i), "+12125550199", ourFrom, "x", sendAt)}
	}
	s = newListServer(t, pages...)
	got, err = acceptanceClient(t, s, sendAt.Add(11*time.Hour), nil).CheckAccepted(context.Background(), query())
	require.NoError(t, err)
	assert.Equal(t, provider.AcceptanceUnknown, got.Status, "pages left unread")
	assert.Len(t, s.calls(), 20, "bounded")

	_, err = acceptanceClient(t, s, sendAt, nil).CheckAccepted(context.Background(), &provider.AcceptanceQuery{To: patientTo})
	var pe *provider.Error
	require.True(t, errors.As(err, &pe))
	assert.Equal(t, provider.Permanent, pe.Class)
}
