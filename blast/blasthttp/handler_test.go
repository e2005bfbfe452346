package blasthttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasthttp"
	"github.com/carecast/carecast/blast/blasttest"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/provider/fake"
	"github.com/carecast/carecast/store"
)

// orgB is a second tenant of the test engine.
const orgB = "org-b"

// env is a harness engine behind the API, mounted under /api as a host
// would. The X-Org header stands in for the host's session.
type env struct {
	h      *blasttest.Harness
	srv    http.Handler
	cohort cohort.Cohort
	logs   *bytes.Buffer
}

func newEnv(t *testing.T, cfg func(*blasthttp.Config)) *env {
	t.Helper()
	return newEnvStore(t, nil, cfg)
}

// newEnvStore is newEnv with the engine's store chosen by st (nil keeps
// the harness's memstore).
func newEnvStore(t *testing.T, st func(testing.TB) store.Store, cfg func(*blasthttp.Config)) *env {
	t.Helper()
	h := blasttest.NewEngine(t, &blasttest.Options{Config: func(c *blast.Config) {
		c.Organizations.(blast.OrgMap)[orgB] = carecast.Organization{ID: orgB, Name: "Other Clinic"}
		if st != nil {
			c.Store = st(t)
		}
	}})
	h.Patients.Put(blasttest.Org, patients(5)...)
	h.Patients.Put(orgB, carecast.Patient{ID: "b-1", FirstName: "Bo", Phone: "+15125550999", Active: true})
	e := &env{h: h, cohort: h.Cohort(t, "Everyone", cohort.Filter{}), logs: &bytes.Buffer{}}
	c := blasthttp.Config{
		Engine: h.Engine, Cohorts: h.Cohorts, Organizations: h.Orgs,
		Org: func(r *http.Request) (string, error) {
			switch org := r.Header.Get("X-Org"); org {
			case "":
				return "", blasthttp.ErrUnauthenticated
			case "nurse":
				return "", blasthttp.ErrForbidden
			default:
				return org, nil
			}
		},
		User:   func(*http.Request) string { return "staff-7" },
		Logger: slog.New(slog.NewTextHandler(e.logs, nil)),
	}
	if cfg != nil {
		cfg(&c)
	}
	api, err := blasthttp.New(&c)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", api))
	e.srv = mux
	return e
}

func patients(n int) []carecast.Patient {
	out := make([]carecast.Patient, n)
	for i := range out {
		out[i] = carecast.Patient{
			ID: fmt.Sprintf("p-%d", i), FirstName: fmt.Sprintf("Pat%d", i), LastName: "Doe",
			Phone: fmt.Sprintf("+1512555%04d", i), Email: fmt.Sprintf("p%d@example.com", i), Active: true,
			Consent: carecast.Consent{SMSMarketingOptIn: true, EmailMarketingOptIn: true},
		}
	}
	return out
}

// do sends a request as org and decodes a JSON answer into out (when not
// nil). It returns the status and the raw body.
func (e *env) do(t *testing.T, org, method, path, body string, out any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "/api"+path, rd)
	if org != "" {
		req.Header.Set("X-Org", org)
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent && rec.Code != http.StatusNotFound || rec.Body.Len() > 0 {
		require.Contains(t, rec.Header().Get("Content-Type"), "application/json", "%s %s: %s", method, path, rec.Body)
	}
	if out != nil {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), out), "%s %s: %s", method, path, rec.Body)
	}
	return rec.Code, rec.Body.String()
}

// errBody is the error envelope.
type errBody struct {
	Error struct {
		Code     string              `json:"code"`
		Message  string              `json:"message"`
		Problems []blasthttp.Problem `json:"problems"`
	} `json:"error"`
}

func (e *env) smsDraft(t *testing.T, body string) blasthttp.Blast {
	t.Helper()
	var b blasthttp.Blast
	st, raw := e.do(t, blasttest.Org, "POST", "/blasts", fmt.Sprintf(
		`{"name":"Flu shots","cohort_ids":[%q],"channel":"sms","purpose":"marketing","sms":{"body":%q}}`, e.cohort.ID, body), &b)
	require.Equal(t, http.StatusCreated, st, raw)
	return b
}

func TestComposeEndpoints(t *testing.T) {
	e := newEnv(t, nil)
	org := blasttest.Org

	var fields struct{ Fields []blasthttp.Field }
	st, _ := e.do(t, org, "GET", "/merge-fields", "", &fields)
	require.Equal(t, http.StatusOK, st)
	require.NotEmpty(t, fields.Fields)
	assert.Equal(t, "first_name", fields.Fields[0].Key)
	assert.Equal(t, "{{first_name}}", fields.Fields[0].Token)

	var cs struct{ Cohorts []blasthttp.Cohort }
	st, _ = e.do(t, org, "GET", "/cohorts", "", &cs)
	require.Equal(t, http.StatusOK, st)
	require.Len(t, cs.Cohorts, 1)
	assert.Equal(t, blasthttp.Cohort{ID: e.cohort.ID, Name: "Everyone", Summary: "All patients"}, cs.Cohorts[0])

	b := e.smsDraft(t, "Hi {{first_name}}, flu shots this week.")
	assert.Equal(t, blast.StatusDraft, b.Status)
	assert.Equal(t, "staff-7", b.CreatedBy)
	assert.Equal(t, carecast.Marketing, b.Purpose)

	var got blasthttp.Blast
	st, _ = e.do(t, org, "GET", "/blasts/"+b.ID, "", &got)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, b.SMS.Body, got.SMS.Body)

	st, raw := e.do(t, org, "PUT", "/blasts/"+b.ID, fmt.Sprintf(`{"cohort_ids":[%q],"channel":"sms","purpose":"marketing","sms":{"body":"Hello {{first_name|there}}"}}`, e.cohort.ID), &got)
	require.Equal(t, http.StatusOK, st, raw)
	assert.Equal(t, "Hello {{first_name|there}}", got.SMS.Body)
	assert.Equal(t, "Flu shots", got.Name, "a blank name keeps the name")
	assert.Equal(t, "staff-7", got.CreatedBy, "update keeps the creator")

	var list struct {
		Blasts     []blasthttp.Blast
		NextCursor string `json:"next_cursor"`
	}
	st, _ = e.do(t, org, "GET", "/blasts?status=draft", "", &list)
	require.Equal(t, http.StatusOK, st)
	require.Len(t, list.Blasts, 1)
	assert.Empty(t, list.NextCursor)

	var pv struct {
		Total    int `json:"total"`
		WillSend int `json:"will_send"`
		Rows     []struct{ Label string }
	}
	st, _ = e.do(t, org, "GET", "/blasts/"+b.ID+"/preview", "", &pv)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, 5, pv.Total)
	assert.Equal(t, 5, pv.WillSend)
	assert.Equal(t, "Will send", pv.Rows[0].Label)

	var est blasthttp.Estimate
	st, _ = e.do(t, org, "GET", "/blasts/"+b.ID+"/estimate", "", &est)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, 5, est.Recipients)
	require.NotNil(t, est.SMS)
	assert.True(t, est.SMS.Exact)
	assert.Equal(t, int64(5), est.SMS.Segments)
	assert.Equal(t, int64(5*7900), est.Cost.Micros)

	var vr struct{ Problems, Warnings []blasthttp.Problem }
	st, raw = e.do(t, org, "POST", "/blasts/"+b.ID+"/validate", "", &vr)
	require.Equal(t, http.StatusOK, st)
	assert.Empty(t, vr.Problems)
	assert.Contains(t, raw, `"warnings":[]`, "the practice name reveals nothing")

	var tr map[string]any
	st, raw = e.do(t, org, "POST", "/blasts/"+b.ID+"/test", `{"to":"+15125550777"}`, &tr)
	require.Equal(t, http.StatusOK, st, raw)
	assert.NotEmpty(t, tr["provider_message_id"])
	blasttest.RequireSent(t, e.h.SMS, "+15125550777")
	st, _ = e.do(t, org, "POST", "/blasts/"+b.ID+"/test", `{}`, nil)
	assert.Equal(t, http.StatusBadRequest, st, "a test send needs an address")

	// Only the draft exists in the list of sent ones.
	st, _ = e.do(t, org, "GET", "/blasts?status=completed", "", &list)
	require.Equal(t, http.StatusOK, st)
	assert.Empty(t, list.Blasts)
}

func TestCountAsYouType(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name       string
		body       string
		typed      blasthttp.SMSCount
		segments   int // of the message; 0: no message
		cost       int64
		unknown    []string
		problemHas string
	}{
		{"plain", `{"text":"Hello","recipients":10}`,
			blasthttp.SMSCount{Encoding: "GSM-7", Characters: 5, Units: 5, Segments: 1, Remaining: 155}, 1, 79000, nil, ""},
		{"ucs2", `{"text":"Zoë 😀","recipients":1}`,
			blasthttp.SMSCount{Encoding: "UCS-2", Characters: 5, Units: 6, Segments: 1, Remaining: 64}, 1, 7900, nil, ""},
		{"two segments", `{"text":"` + strings.Repeat("a", 161) + `","recipients":2}`,
			blasthttp.SMSCount{Encoding: "GSM-7", Characters: 161, Units: 161, Segments: 2, Remaining: 145}, 2, 2 * 2 * 7900, nil, ""},
		{"marketing adds the opt-out line", `{"text":"` + strings.Repeat("a", 150) + `","purpose":"marketing","recipients":1}`,
			blasthttp.SMSCount{Encoding: "GSM-7", Characters: 150, Units: 150, Segments: 1, Remaining: 10}, 2, 2 * 7900, nil, ""},
		{"mms", `{"text":"Look","images":2,"recipients":3}`,
			blasthttp.SMSCount{Encoding: "GSM-7", Characters: 4, Units: 4, Segments: 1, Remaining: 156}, 1, 3 * 23700, nil, ""},
		{"unknown field", `{"text":"Hi {{frist_name}}","recipients":3}`,
			blasthttp.SMSCount{Encoding: "GSM-7", Characters: 17, Units: 21, Segments: 1, Remaining: 139}, 0, 0, []string{"frist_name"}, "unknown"},
		{"unclosed", `{"text":"Hi {{first_name","recipients":3}`,
			blasthttp.SMSCount{Encoding: "GSM-7", Characters: 15, Units: 17, Segments: 1, Remaining: 143}, 0, 0, nil, "closed"},
		{"empty", `{"text":""}`,
			blasthttp.SMSCount{Encoding: "GSM-7", Characters: 0, Units: 0, Segments: 1, Remaining: 160}, 0, 0, nil, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c blasthttp.Count
			st, raw := e.do(t, blasttest.Org, "POST", "/sms/count", tt.body, &c)
			require.Equal(t, http.StatusOK, st, raw)
			assert.Equal(t, tt.typed, c.Typed)
			assert.Equal(t, tt.unknown, c.UnknownFields)
			if tt.segments == 0 {
				assert.Nil(t, c.Message)
				assert.Nil(t, c.Cost)
				assert.Contains(t, c.Problem, tt.problemHas)
				return
			}
			require.NotNil(t, c.Message, raw)
			assert.Equal(t, tt.segments, c.Message.Segments)
			require.NotNil(t, c.Cost)
			assert.Equal(t, tt.cost, c.Cost.Micros)
			assert.Empty(t, c.Problem)
		})
	}
	for _, bad := range []string{`{"text":"x","purpose":"promo"}`, `{"text":"x","images":4}`, `{"text":"x","recipients":-1}`,
		`{"text":"x","recipients":100000001}`} {
		st, _ := e.do(t, blasttest.Org, "POST", "/sms/count", bad, nil)
		assert.Equal(t, http.StatusBadRequest, st, bad)
	}
}

func TestSendAndResults(t *testing.T) {
	e := newEnv(t, nil)
	org := blasttest.Org
	e.h.SMS.FailTo("+15125550003", fake.Permanent("30003"))
	e.h.SMS.FailTo("+15125550004", fake.Permanent("30005"))
	b := e.smsDraft(t, "Hi {{first_name}}")

	var sent blasthttp.Blast
	st, raw := e.do(t, org, "POST", "/blasts/"+b.ID+"/send", "", &sent)
	require.Equal(t, http.StatusAccepted, st, raw)
	// The answer is the blast as it stands once its ledger is written:
	// the workers may already have sent five texts by then.
	assert.Contains(t, []store.BlastStatus{blast.StatusSending, blast.StatusCompleted}, sent.Status)
	e.h.Run(t, org, b.ID)

	var sum blasthttp.Summary
	st, _ = e.do(t, org, "GET", "/blasts/"+b.ID+"/summary", "", &sum)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, blast.StatusCompleted, sum.Status)
	assert.Equal(t, 5, sum.Total)
	assert.Equal(t, 3, sum.Sent)
	assert.Equal(t, 2, sum.Failed)
	require.NotNil(t, sum.LowDelivery, "3 of 5 is under 90%")
	assert.InDelta(t, 0.6, sum.LowDelivery.Rate, 1e-9)
	cards := map[blast.Card]int{}
	for _, c := range sum.Cards {
		cards[c.Card] = c.Count
	}
	assert.Equal(t, map[blast.Card]int{"total": 5, "sent": 3, "skipped": 0, "opted_out": 0, "blocked": 0, "replied": 0, "failed": 2}, cards)

	// The failed card filters the list; pages continue by cursor.
	var page blasthttp.Messages
	st, _ = e.do(t, org, "GET", "/blasts/"+b.ID+"/messages?card=failed&limit=1", "", &page)
	require.Equal(t, http.StatusOK, st)
	require.Len(t, page.Messages, 1)
	assert.Equal(t, "p-3", page.Messages[0].PatientID)
	assert.Equal(t, "30003", page.Messages[0].ErrorCode)
	require.NotEmpty(t, page.NextCursor)
	st, _ = e.do(t, org, "GET", "/blasts/"+b.ID+"/messages?card=failed&limit=1&cursor="+page.NextCursor, "", &page)
	require.Equal(t, http.StatusOK, st)
	require.Len(t, page.Messages, 1)
	assert.Equal(t, "p-4", page.Messages[0].PatientID)
	st, _ = e.do(t, org, "GET", "/blasts/"+b.ID+"/messages", "", &page)
	require.Equal(t, http.StatusOK, st)
	assert.Len(t, page.Messages, 5)
	assert.Empty(t, page.NextCursor)

	// Retry Failed resends only the failed two (the fake now accepts them).
	var rr map[string]int
	st, _ = e.do(t, org, "POST", "/blasts/"+b.ID+"/retry", "", &rr)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, 2, rr["retried"])
	e.h.Run(t, org, b.ID)
	var after blasthttp.Summary
	st, _ = e.do(t, org, "GET", "/blasts/"+b.ID+"/summary", "", &after)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, 5, after.Sent)
	assert.Nil(t, after.LowDelivery)
	blasttest.RequireNoDuplicates(t, e.h.SMS)

	// Add Recipients: search, count, add.
	e.h.Patients.Put(org, carecast.Patient{ID: "p-new", FirstName: "Newton", Phone: "+15125550100", Active: true,
		Consent: carecast.Consent{SMSMarketingOptIn: true}})
	var found struct{ Patients []blasthttp.Candidate }
	st, _ = e.do(t, org, "GET", "/blasts/"+b.ID+"/patients?q=newt", "", &found)
	require.Equal(t, http.StatusOK, st)
	require.Len(t, found.Patients, 1)
	assert.Equal(t, blasthttp.Candidate{ID: "p-new", FirstName: "Newton", Phone: "+15125550100"}, found.Patients[0])
	st, _ = e.do(t, org, "GET", "/blasts/"+b.ID+"/patients?q=pat1", "", &found)
	require.Equal(t, http.StatusOK, st)
	require.Len(t, found.Patients, 1)
	assert.True(t, found.Patients[0].InBlast)

	// The count says how many will be sent (issue 13 §3: an opted-out
	// patient counted as one to send) and why the others are skipped.
	e.h.Patients.Put(org, carecast.Patient{ID: "p-stop", Phone: "+15125550101", Active: true,
		Consent: carecast.Consent{SMSMarketingOptIn: true, SMSOptedOut: true}})
	var cnt blasthttp.RecipientsCount
	st, _ = e.do(t, org, "POST", "/blasts/"+b.ID+"/recipients/count", `{"patient_ids":["p-new","p-stop","p-1","nobody"]}`, &cnt)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, blasthttp.RecipientsCount{Count: 1, Label: "Send to 1 patient", New: 2, Skipped: 1,
		Reasons: map[string]int{"opted_out": 1}}, cnt)
	var added map[string]int
	st, _ = e.do(t, org, "POST", "/blasts/"+b.ID+"/recipients", `{"patient_ids":["p-new","p-1"]}`, &added)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, 1, added["added"])
	e.h.Run(t, org, b.ID)
	blasttest.RequireSent(t, e.h.SMS, "+15125550100")
	many := `{"patient_ids":[` + strings.Repeat(`"p",`, blasthttp.RecipientsMax) + `"p"]}`
	st, _ = e.do(t, org, "POST", "/blasts/"+b.ID+"/recipients", many, nil)
	assert.Equal(t, http.StatusBadRequest, st, "at most RecipientsMax at once")

	// Duplicate: a new draft with the content and cohorts.
	var dup blasthttp.Blast
	st, _ = e.do(t, org, "POST", "/blasts/"+b.ID+"/duplicate", "", &dup)
	require.Equal(t, http.StatusCreated, st)
	assert.Equal(t, blast.StatusDraft, dup.Status)
	assert.Equal(t, b.ID, dup.DuplicatedFrom)
	assert.Equal(t, "Flu shots (copy)", dup.Name)
	assert.Equal(t, b.SMS.Body, dup.SMS.Body)
	assert.Equal(t, b.CohortIDs, dup.CohortIDs)

	// Analytics counts the sends of the day.
	var an blasthttp.Analytics
	from := blasttest.Epoch.Add(-time.Hour).Format(time.RFC3339)
	to := blasttest.Epoch.Add(23 * time.Hour).Format(time.RFC3339)
	st, raw = e.do(t, org, "GET", "/analytics?from="+from+"&to="+to, "", &an)
	require.Equal(t, http.StatusOK, st, raw)
	require.Len(t, an.Points, 1)
	assert.Equal(t, 6, an.Total.SMSSent)
	assert.Equal(t, int64(6*7900), an.Total.Spend.Micros)
}

func TestEmailEngagement(t *testing.T) {
	e := newEnv(t, nil)
	org := blasttest.Org
	var b blasthttp.Blast
	st, raw := e.do(t, org, "POST", "/blasts", fmt.Sprintf(`{"cohort_ids":[%q],"channel":"email","from":"clinic@clinic.example",
		"email":{"subject":"Hours","format":"markdown","body":"Hello {{first_name}}, see [hours](https://clinic.example/h)."}}`, e.cohort.ID), &b)
	require.Equal(t, http.StatusCreated, st, raw)
	assert.Contains(t, b.Name, "Email blast", "a blank name is generated")
	st, raw = e.do(t, org, "POST", "/blasts/"+b.ID+"/send", `{}`, nil)
	require.Equal(t, http.StatusAccepted, st, raw)
	e.h.Run(t, org, b.ID)

	var page blasthttp.Messages
	st, _ = e.do(t, org, "GET", "/blasts/"+b.ID+"/messages", "", &page)
	require.Equal(t, http.StatusOK, st)
	require.Len(t, page.Messages, 5)
	e.h.Clock.Advance(90 * time.Minute)
	require.NoError(t, e.h.Engine.RecordOpen(context.Background(), org, page.Messages[0].ID, "ev-1", e.h.Clock.Now()))

	var eng blasthttp.Engagement
	st, _ = e.do(t, org, "GET", "/blasts/"+b.ID+"/engagement?step=1h", "", &eng)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, int64(3600), eng.StepSeconds)
	require.Len(t, eng.Opens, 72)
	assert.Equal(t, 0, eng.Opens[0])
	assert.Equal(t, 1, eng.Opens[1])
	assert.Equal(t, 1, eng.Opens[71])

	var opened blasthttp.Messages
	st, _ = e.do(t, org, "GET", "/blasts/"+b.ID+"/messages?card=opened", "", &opened)
	require.Equal(t, http.StatusOK, st)
	require.Len(t, opened.Messages, 1)
	assert.Equal(t, 1, opened.Messages[0].Opens)

	st, _ = e.do(t, org, "GET", "/blasts/"+b.ID+"/engagement?step=1s", "", nil)
	assert.Equal(t, http.StatusBadRequest, st)
}

func TestScheduleAndCancel(t *testing.T) {
	e := newEnv(t, nil)
	org := blasttest.Org
	b := e.smsDraft(t, "Hi")
	at := blasttest.Epoch.Add(24 * time.Hour).Format(time.RFC3339)
	var got blasthttp.Blast
	st, raw := e.do(t, org, "POST", "/blasts/"+b.ID+"/send", `{"at":"`+at+`"}`, &got)
	require.Equal(t, http.StatusAccepted, st, raw)
	assert.Equal(t, blast.StatusScheduled, got.Status)
	assert.Equal(t, at, got.ScheduledAt.Format(time.RFC3339))

	var cr map[string]int
	st, _ = e.do(t, org, "POST", "/blasts/"+b.ID+"/cancel", "", &cr)
	require.Equal(t, http.StatusOK, st)
	st, _ = e.do(t, org, "GET", "/blasts/"+b.ID, "", &got)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, blast.StatusCancelled, got.Status)
	assert.False(t, got.CancelledAt.IsZero())
	assert.Equal(t, 0, e.h.SMS.Count())
}

func TestConflicts(t *testing.T) {
	e := newEnv(t, nil)
	org := blasttest.Org
	draft := e.smsDraft(t, "Hi")
	sent := e.smsDraft(t, "Hi")
	st, _ := e.do(t, org, "POST", "/blasts/"+sent.ID+"/send", "", nil)
	require.Equal(t, http.StatusAccepted, st)
	e.h.Run(t, org, sent.ID)
	cancelled := e.smsDraft(t, "Hi")
	st, _ = e.do(t, org, "POST", "/blasts/"+cancelled.ID+"/send", `{"at":"2030-01-01T00:00:00Z"}`, nil)
	require.Equal(t, http.StatusAccepted, st)
	st, _ = e.do(t, org, "POST", "/blasts/"+cancelled.ID+"/cancel", "", nil)
	require.Equal(t, http.StatusOK, st)

	// A sending domain at Gmail's complaint limit (blast.ComplaintGuard).
	require.NoError(t, e.h.Store.AddDomainCounts(t.Context(), org, "clinic.example", e.h.Clock.Now(), 1000, 10))
	var paused blasthttp.Blast
	st, raw := e.do(t, org, "POST", "/blasts", fmt.Sprintf(`{"cohort_ids":[%q],"channel":"email","purpose":"marketing",
		"from":"clinic@clinic.example","email":{"subject":"News","format":"markdown","body":"Hello"}}`, e.cohort.ID), &paused)
	require.Equal(t, http.StatusCreated, st, raw)

	tests := []struct {
		method, path, body, code string
	}{
		{"POST", "/blasts/" + paused.ID + "/send", ``, "complaint_rate_gate"},
		{"PUT", "/blasts/" + sent.ID, `{"channel":"sms"}`, "already_sent"},
		{"POST", "/blasts/" + sent.ID + "/send", ``, "already_sent"},
		{"POST", "/blasts/" + sent.ID + "/cancel", ``, "not_cancellable"},
		{"POST", "/blasts/" + draft.ID + "/cancel", ``, "not_cancellable"},
		{"POST", "/blasts/" + draft.ID + "/retry", ``, "not_sent"},
		{"POST", "/blasts/" + draft.ID + "/recipients", `{"patient_ids":["p-1"]}`, "not_sent"},
		{"POST", "/blasts/" + cancelled.ID + "/retry", ``, "cancelled"},
		{"POST", "/blasts/" + cancelled.ID + "/recipients", `{"patient_ids":["p-1"]}`, "cancelled"},
		{"POST", "/blasts/" + cancelled.ID + "/cancel", ``, "cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path[strings.LastIndex(tt.path, "/"):]+" "+tt.code, func(t *testing.T) {
			var eb errBody
			st, raw := e.do(t, org, tt.method, tt.path, tt.body, &eb)
			assert.Equal(t, http.StatusConflict, st, raw)
			assert.Equal(t, tt.code, eb.Error.Code)
		})
	}
}

func TestValidationErrorShape(t *testing.T) {
	e := newEnv(t, nil)
	org := blasttest.Org
	var b blasthttp.Blast
	st, _ := e.do(t, org, "POST", "/blasts", `{"channel":"sms","sms":{"body":"Hi {{frist_name}} and {{nick}}"}}`, &b)
	require.Equal(t, http.StatusCreated, st, "a draft may be incomplete")
	for _, path := range []string{"/send", "/validate"} {
		var eb errBody
		st, raw := e.do(t, org, "POST", "/blasts/"+b.ID+path, "", &eb)
		require.Equal(t, http.StatusUnprocessableEntity, st, raw)
		assert.Equal(t, "validation", eb.Error.Code)
		codes := map[blast.ProblemCode][]string{}
		for _, p := range eb.Error.Problems {
			assert.NotEmpty(t, p.Field)
			assert.NotEmpty(t, p.Message)
			codes[p.Code] = p.Fields
		}
		assert.Contains(t, codes, blast.ProblemNoCohorts)
		assert.Equal(t, []string{"frist_name", "nick"}, codes[blast.ProblemUnknownFields])
	}
	var got blasthttp.Blast
	st, _ = e.do(t, org, "GET", "/blasts/"+b.ID, "", &got)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, blast.StatusDraft, got.Status, "a refused send leaves the draft")
}

func TestTenantIsolation(t *testing.T) {
	e := newEnv(t, nil)
	a := e.smsDraft(t, "Hi {{first_name}}")
	sent := e.smsDraft(t, "Hi")
	st, _ := e.do(t, blasttest.Org, "POST", "/blasts/"+sent.ID+"/send", "", nil)
	require.Equal(t, http.StatusAccepted, st)
	e.h.Run(t, blasttest.Org, sent.ID)

	for _, id := range []string{a.ID, sent.ID} {
		for _, ep := range []struct{ method, path, body string }{
			{"GET", "", ""},
			{"PUT", "", `{"channel":"sms","sms":{"body":"mine now"}}`},
			{"POST", "/validate", ""},
			{"GET", "/preview", ""},
			{"GET", "/estimate", ""},
			{"POST", "/test", `{"to":"+15125550888"}`},
			{"POST", "/send", ""},
			{"POST", "/cancel", ""},
			{"POST", "/duplicate", ""},
			{"GET", "/summary", ""},
			{"GET", "/messages", ""},
			{"GET", "/engagement", ""},
			{"POST", "/retry", ""},
			{"GET", "/patients?q=pat", ""},
			{"POST", "/recipients/count", `{"patient_ids":["b-1"]}`},
			{"POST", "/recipients", `{"patient_ids":["b-1"]}`},
		} {
			var eb errBody
			st, raw := e.do(t, orgB, ep.method, "/blasts/"+id+ep.path, ep.body, &eb)
			assert.Equal(t, http.StatusNotFound, st, "%s %s: %s", ep.method, ep.path, raw)
			assert.Equal(t, "not_found", eb.Error.Code)
			assert.NotContains(t, raw, id, "the error does not echo the ID")
		}
	}
	var list struct{ Blasts []blasthttp.Blast }
	st, _ = e.do(t, orgB, "GET", "/blasts", "", &list)
	require.Equal(t, http.StatusOK, st)
	assert.Empty(t, list.Blasts)
	var cs struct{ Cohorts []blasthttp.Cohort }
	st, _ = e.do(t, orgB, "GET", "/cohorts", "", &cs)
	require.Equal(t, http.StatusOK, st)
	assert.Empty(t, cs.Cohorts)
	st, _ = e.do(t, orgB, "GET", "/blasts?cursor="+a.ID, "", nil)
	assert.Equal(t, http.StatusBadRequest, st, "another tenant's blast is no cursor")

	// Org A's draft is untouched, and org B's test send went nowhere.
	var got blasthttp.Blast
	st, _ = e.do(t, blasttest.Org, "GET", "/blasts/"+a.ID, "", &got)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, "Hi {{first_name}}", got.SMS.Body)
	blasttest.RequireNotSent(t, e.h.SMS, "+15125550888", "+15125550999")
	// An organization ID in the body is an unknown field, never a tenant.
	st, _ = e.do(t, orgB, "POST", "/blasts", `{"org_id":"org-test","channel":"sms"}`, nil)
	assert.Equal(t, http.StatusBadRequest, st)
}

func TestAuth(t *testing.T) {
	e := newEnv(t, nil)
	var eb errBody
	st, _ := e.do(t, "", "GET", "/blasts", "", &eb)
	assert.Equal(t, http.StatusUnauthorized, st)
	assert.Equal(t, "unauthenticated", eb.Error.Code)
	st, _ = e.do(t, "nurse", "GET", "/blasts", "", &eb)
	assert.Equal(t, http.StatusForbidden, st)
	assert.Equal(t, "forbidden", eb.Error.Code)

	e2 := newEnv(t, func(c *blasthttp.Config) {
		c.Org = func(*http.Request) (string, error) { return "", errors.New("session store down") }
	})
	st, raw := e2.do(t, "x", "GET", "/blasts", "", &eb)
	assert.Equal(t, http.StatusUnauthorized, st)
	assert.NotContains(t, raw, "session store")
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t, func(c *blasthttp.Config) { c.MaxBodyBytes = 1 << 10 })
	org := blasttest.Org
	b := e.smsDraft(t, "Hi")
	tests := []struct {
		name, method, path, body string
		status                   int
		code, msgHas             string
	}{
		{"malformed", "POST", "/blasts", `{"name":`, 400, "bad_json", "truncated"},
		{"syntax", "POST", "/blasts", `{"name" "x"}`, 400, "bad_json", "byte"},
		{"unknown field", "POST", "/blasts", `{"nmae":"x"}`, 400, "unknown_field", `"nmae"`},
		{"unknown nested field", "POST", "/blasts", `{"sms":{"text":"Jane's number"}}`, 400, "unknown_field", `"text"`},
		{"wrong type", "POST", "/blasts", `{"cohort_ids":"c1"}`, 400, "bad_json", "cohort_ids"},
		{"trailing", "POST", "/blasts", `{"name":"x"} {"name":"y"}`, 400, "bad_json", "trailing"},
		{"empty", "POST", "/blasts", ``, 400, "bad_json", "empty"},
		{"too large", "POST", "/blasts", `{"name":"` + strings.Repeat("x", 2<<10) + `"}`, 413, "too_large", "1024"},
		{"bad limit", "GET", "/blasts?limit=0", ``, 400, "bad_request", "limit"},
		{"bad status", "GET", "/blasts?status=sent", ``, 400, "bad_request", "status"},
		{"bad card", "GET", "/blasts/" + b.ID + "/messages?card=vip", ``, 400, "bad_request", "card"},
		{"bad cursor", "GET", "/blasts/" + b.ID + "/messages?cursor=-zz", ``, 400, "bad_request", "cursor"},
		{"bad analytics", "GET", "/analytics?from=yesterday", ``, 400, "bad_request", "from"},
		{"analytics buckets", "GET", "/analytics?from=2026-01-01T00:00:00Z&to=2026-12-01T00:00:00Z&bucket=1h", ``, 400, "bad_request", "buckets"},
		{"too many recipients", "POST", "/blasts/" + b.ID + "/recipients/count", `{"patient_ids":[` + strings.Repeat(`"pp",`, 300) + `"p"]}`, 413, "too_large", "1024"},
		{"unknown blast", "GET", "/blasts/nope", ``, 404, "not_found", "not found"},
		{"long search", "GET", "/blasts/" + b.ID + "/patients?q=" + strings.Repeat("a", blasthttp.SearchQueryMax+1), ``, 400, "bad_request", "search"},
		{"bad time", "POST", "/blasts/" + b.ID + "/send", `{"at":"tomorrow"}`, 400, "bad_json", "format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var eb errBody
			st, raw := e.do(t, org, tt.method, tt.path, tt.body, &eb)
			assert.Equal(t, tt.status, st, raw)
			assert.Equal(t, tt.code, eb.Error.Code)
			assert.Contains(t, eb.Error.Message, tt.msgHas)
			assert.NotContains(t, raw, "Jane", "no body value is echoed")
		})
	}
	var eb errBody
	st, _ := e.do(t, org, "DELETE", "/blasts/"+b.ID, "", &eb)
	assert.Equal(t, http.StatusMethodNotAllowed, st)
	assert.Equal(t, "method_not_allowed", eb.Error.Code)
	st, _ = e.do(t, org, "GET", "/nowhere", "", &eb)
	assert.Equal(t, http.StatusNotFound, st)
	assert.Equal(t, "not_found", eb.Error.Code)
}

// failingCohorts is a cohort store whose listing fails with an error
// carrying text that must not reach the client.
type failingCohorts struct{ cohort.Store }

func (failingCohorts) Cohorts(context.Context, string) ([]cohort.Cohort, error) {
	return nil, errors.New("db: connection reset (secret detail)")
}

func TestServerErrorIsLoggedNotEchoed(t *testing.T) {
	e := newEnv(t, func(c *blasthttp.Config) { c.Cohorts = failingCohorts{c.Cohorts} })
	var eb errBody
	st, raw := e.do(t, blasttest.Org, "GET", "/cohorts", "", &eb)
	assert.Equal(t, http.StatusInternalServerError, st)
	assert.Equal(t, "internal", eb.Error.Code)
	assert.NotContains(t, raw, "secret")
	assert.Contains(t, e.logs.String(), "org=org-test")
	assert.Contains(t, e.logs.String(), "secret detail", "the operator sees the cause")
}

func TestNewValidates(t *testing.T) {
	h := blasttest.NewEngine(t, nil)
	org := func(*http.Request) (string, error) { return "o", nil }
	tests := []struct {
		cfg   *blasthttp.Config
		field string
	}{
		{nil, "Engine"},
		{&blasthttp.Config{Cohorts: h.Cohorts, Org: org}, "Engine"},
		{&blasthttp.Config{Engine: h.Engine, Org: org}, "Cohorts"},
		{&blasthttp.Config{Engine: h.Engine, Cohorts: h.Cohorts}, "Org"},
		{&blasthttp.Config{Engine: h.Engine, Cohorts: h.Cohorts, Org: org, MaxBodyBytes: -1}, "MaxBodyBytes"},
		{&blasthttp.Config{Engine: h.Engine, Cohorts: h.Cohorts, Org: org, LiveInterval: -1}, "LiveInterval"},
		{&blasthttp.Config{Engine: h.Engine, Cohorts: h.Cohorts, Org: org, LiveMax: -time.Second}, "LiveMax"},
	}
	for _, tt := range tests {
		_, err := blasthttp.New(tt.cfg)
		var ce *blasthttp.ConfigError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, tt.field, ce.Field)
		assert.True(t, strings.HasPrefix(err.Error(), "blasthttp: Config."+tt.field))
	}
}

// FuzzCount checks that the count-as-you-type endpoint answers any body
// with 200 or a 400 JSON error, never a server error.
func FuzzCount(f *testing.F) {
	for _, s := range []string{`{"text":"Hi {{first_name}}","recipients":3}`, `{"text":"😀","images":1}`,
		`{"text":"{{"}`, `{"text":"x","purpose":"marketing"}`, `[]`, `{"text":1}`, `{"text":"a"}{}`} {
		f.Add(s)
	}
	h := blasttest.NewEngine(f, &blasttest.Options{NoStart: true})
	api, err := blasthttp.New(&blasthttp.Config{Engine: h.Engine, Cohorts: h.Cohorts, Organizations: h.Orgs,
		Org: func(*http.Request) (string, error) { return blasttest.Org, nil }})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, body string) {
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, httptest.NewRequest("POST", "/sms/count", strings.NewReader(body)))
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("invalid JSON answer for %q", body)
		}
	})
}

// events parses a text/event-stream body into its summary events.
func events(t *testing.T, body string) []blasthttp.Summary {
	t.Helper()
	var out []blasthttp.Summary
	for _, ev := range strings.Split(strings.TrimSpace(body), "\n\n") {
		lines := strings.SplitN(ev, "\n", 2)
		require.Len(t, lines, 2, ev)
		require.Equal(t, "event: summary", lines[0])
		var s blasthttp.Summary
		require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(lines[1], "data: ")), &s))
		out = append(out, s)
	}
	return out
}

func TestLiveProgress(t *testing.T) {
	e := newEnv(t, func(c *blasthttp.Config) { c.LiveInterval = time.Millisecond })
	org := blasttest.Org
	b := e.smsDraft(t, "Hi")
	st, _ := e.do(t, org, "POST", "/blasts/"+b.ID+"/send", "", nil)
	require.Equal(t, http.StatusAccepted, st)

	req := httptest.NewRequest("GET", "/api/blasts/"+b.ID+"/live", nil)
	req.Header.Set("X-Org", org)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.srv.ServeHTTP(rec, req)
	}()
	e.h.Run(t, org, b.ID)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end after the blast completed")
	}
	assert.Equal(t, "text/event-stream", rec.Header().Get("Content-Type"))
	evs := events(t, rec.Body.String())
	require.NotEmpty(t, evs)
	last := evs[len(evs)-1]
	assert.Equal(t, blast.StatusCompleted, last.Status)
	assert.Equal(t, 5, last.Sent)
	for i := 1; i < len(evs); i++ {
		assert.GreaterOrEqual(t, evs[i].Sent, evs[i-1].Sent, "progress never goes back")
	}

	// A settled blast answers one event and ends.
	req = httptest.NewRequest("GET", "/api/blasts/"+b.ID+"/live", nil)
	req.Header.Set("X-Org", org)
	rec = httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	assert.Len(t, events(t, rec.Body.String()), 1)

	// Another tenant gets a plain 404, not a stream.
	var eb errBody
	st, _ = e.do(t, orgB, "GET", "/blasts/"+b.ID+"/live", "", &eb)
	assert.Equal(t, http.StatusNotFound, st)
	assert.Equal(t, "not_found", eb.Error.Code)
}

func TestLiveEndsWithClient(t *testing.T) {
	e := newEnv(t, nil)
	b := e.smsDraft(t, "Hi") // a draft never settles: only the client ends the stream
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, "GET", "/api/blasts/"+b.ID+"/live", nil)
	req.Header.Set("X-Org", blasttest.Org)
	rec := &flushSignal{ResponseRecorder: httptest.NewRecorder(), flushed: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.srv.ServeHTTP(rec, req)
	}()
	<-rec.flushed // the first event is out
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream outlived its client")
	}
	evs := events(t, rec.Body.String())
	require.Len(t, evs, 1)
	assert.Equal(t, blast.StatusDraft, evs[0].Status)
}

// flushSignal is a recorder that says when the first event was flushed.
type flushSignal struct {
	*httptest.ResponseRecorder
	flushed chan struct{}
	once    sync.Once
}

func (f *flushSignal) Flush() {
	f.ResponseRecorder.Flush()
	f.once.Do(func() { close(f.flushed) })
}

// TestNoPHIInErrorsOrLogs sends requests carrying a patient's name and
// number that fail in every way the API reports; neither the answers nor
// the logs may repeat them.
func TestNoPHIInErrorsOrLogs(t *testing.T) {
	const name, phone = "Zelda Quixotic", "+15125557777"
	e := newEnv(t, nil)
	org := blasttest.Org
	b := e.smsDraft(t, "Hi "+name)
	e.h.SMS.FailNext(fake.Permanent("21211"))
	requests := []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/blasts", `{"name":5,"sms":{"body":"` + name + `"}}`, 400},
		{"POST", "/blasts", `{"name":"` + name + `","phone":"` + phone + `"}`, 400},
		{"POST", "/blasts", `{"name":"` + name + `"` + phone, 400},
		{"POST", "/blasts/" + b.ID + "/test", `{"to":"` + phone + `"}`, 502},
		{"POST", "/blasts/" + b.ID + "/test", `{"to":"` + phone + `","patient_id":"` + name + `"}`, 403},
		{"POST", "/blasts/" + b.ID + "/test", `{"to":"` + name + `"}`, 422},
		// Unknown merge fields are named in a 422 (the author's template
		// text, never patient data); the body's literal text is not.
		{"PUT", "/blasts/" + b.ID, `{"channel":"sms","sms":{"body":"Hi ` + name + ` {{nick}}"}}`, 200},
		{"POST", "/blasts/" + b.ID + "/send", ``, 422},
		{"GET", "/blasts/" + b.ID + "/patients?q=" + url.QueryEscape(name) + "&limit=x", ``, 400},
		{"POST", "/blasts/" + b.ID + "/recipients/count", `{"patient_ids":["` + name + `"],"note":"` + phone + `"}`, 400},
	}
	for _, rq := range requests {
		st, raw := e.do(t, org, rq.method, rq.path, rq.body, nil)
		assert.Equal(t, rq.status, st, "%s %s: %s", rq.method, rq.path, raw)
		if st >= 400 {
			assert.NotContains(t, raw, "Zelda", "%s %s", rq.method, rq.path)
			assert.NotContains(t, raw, "Quixotic", "%s %s", rq.method, rq.path)
			assert.NotContains(t, raw, "5557777", "%s %s", rq.method, rq.path)
		}
	}
	assert.NotContains(t, e.logs.String(), "Zelda")
	assert.NotContains(t, e.logs.String(), "5557777")
}

// The staff user of Config.User is the actor of what a request does in
// the engine's audit trail (compliance.md HI-09).
func TestAuditActorFromRequest(t *testing.T) {
	e := newEnv(t, nil)
	org := blasttest.Org
	b := e.smsDraft(t, "Hi")
	st, raw := e.do(t, org, "POST", "/blasts/"+b.ID+"/send", "", nil)
	require.Equal(t, http.StatusAccepted, st, raw)
	trail, err := e.h.Engine.AuditTrail(t.Context(), org, b.ID, 0, 10)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(trail), 2)
	assert.Equal(t, "blast.created", trail[0].Action)
	assert.Equal(t, "staff-7", trail[0].Actor)
	assert.Equal(t, "blast.sent", trail[1].Action)
	assert.Equal(t, "staff-7", trail[1].Actor)
}

// compliance.md HI-01: flagged content is approved only by a user the host
// allows, in that user's name; 422 sensitive_content otherwise.
func TestPHIApproval(t *testing.T) {
	allowed := false
	e := newEnv(t, func(c *blasthttp.Config) {
		c.CanApprovePHI = func(*http.Request) bool { return allowed }
	})
	org := blasttest.Org
	body := fmt.Sprintf(`{"cohort_ids":[%q],"channel":"sms","sms":{"body":"Your HIV screening is due"}%%s}`, e.cohort.ID)

	var b blasthttp.Blast
	st, raw := e.do(t, org, "POST", "/blasts", fmt.Sprintf(body, ""), &b)
	require.Equal(t, http.StatusCreated, st, raw)
	var eb errBody
	st, raw = e.do(t, org, "POST", "/blasts/"+b.ID+"/send", "", &eb)
	require.Equal(t, http.StatusUnprocessableEntity, st, raw)
	require.Len(t, eb.Error.Problems, 1)
	assert.Equal(t, blast.ProblemSensitiveContent, eb.Error.Problems[0].Code)

	st, raw = e.do(t, org, "PUT", "/blasts/"+b.ID, fmt.Sprintf(body, `,"phi_approved":true`), &eb)
	require.Equal(t, http.StatusForbidden, st, raw)
	assert.Equal(t, "phi_approval_forbidden", eb.Error.Code)

	allowed = true
	st, raw = e.do(t, org, "PUT", "/blasts/"+b.ID, fmt.Sprintf(body, `,"phi_approved":true`), &b)
	require.Equal(t, http.StatusOK, st, raw)
	assert.Equal(t, "staff-7", b.PHIApprovedBy, "approved in the requesting user's name")
	assert.True(t, b.PHIApproved)
	st, raw = e.do(t, org, "POST", "/blasts/"+b.ID+"/send", "", nil)
	require.Equal(t, http.StatusAccepted, st, raw)

	var again blasthttp.Blast
	st, raw = e.do(t, org, "POST", "/blasts", fmt.Sprintf(body, ""), &again)
	require.Equal(t, http.StatusCreated, st, raw)
	assert.Empty(t, again.PHIApprovedBy, "an approval is never implied")
}

// The summary's failed card carries its in-doubt part, and the messages
// endpoint filters by it.
func TestInDoubtCardJSON(t *testing.T) {
	e := newEnv(t, nil)
	org := blasttest.Org
	e.h.SMS.FailTo("+15125550002", fake.Ambiguous())
	e.h.SMS.FailTo("+15125550004", fake.Permanent("21211"))
	b := e.smsDraft(t, "Hi {{first_name}}")
	st, raw := e.do(t, org, "POST", "/blasts/"+b.ID+"/send", "", nil)
	require.Equal(t, http.StatusAccepted, st, raw)
	e.h.Run(t, org, b.ID)

	var sum blasthttp.Summary
	st, raw = e.do(t, org, "GET", "/blasts/"+b.ID+"/summary", "", &sum)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, 2, sum.Failed)
	assert.Equal(t, 1, sum.InDoubt)
	assert.Contains(t, raw, `{"card":"failed","label":"Failed","count":2,"rate":0,"parts":[{"card":"in_doubt","label":"In doubt","count":1,"rate":0}]}`)
	assert.Equal(t, 1, strings.Count(raw, `"parts"`), "only the failed card has parts")

	var page blasthttp.Messages
	st, raw = e.do(t, org, "GET", "/blasts/"+b.ID+"/messages?card=in_doubt", "", &page)
	require.Equal(t, http.StatusOK, st, raw)
	require.Len(t, page.Messages, 1)
	assert.Equal(t, "p-2", page.Messages[0].PatientID)
	assert.Equal(t, string(store.RowInDoubt), page.Messages[0].Status)
}

// Issue 13 §2: POST /blasts/{id}/reconcile asks the provider about the
// in-doubt rows; a provider that cannot tell is a 409, a rate limit 503.
func TestReconcileEndpoint(t *testing.T) {
	e := newEnv(t, nil)
	org := blasttest.Org
	e.h.SMS.FailTo("+15125550003", fake.Ambiguous())
	e.h.SMS.FailTo("+15125550004", fake.AmbiguousLost())
	b := e.smsDraft(t, "Hi {{first_name}}")
	st, raw := e.do(t, org, "POST", "/blasts/"+b.ID+"/send", "", nil)
	require.Equal(t, http.StatusAccepted, st, raw)
	e.h.Run(t, org, b.ID)

	e.h.SMS.FailCheckNext(fake.RateLimited(time.Minute))
	st, raw = e.do(t, org, "POST", "/blasts/"+b.ID+"/reconcile", "", nil)
	assert.Equal(t, http.StatusServiceUnavailable, st)
	assert.Contains(t, raw, "provider_rate_limited")

	var out blasthttp.Reconciled
	st, raw = e.do(t, org, "POST", "/blasts/"+b.ID+"/reconcile", "", &out)
	require.Equal(t, http.StatusOK, st, raw)
	assert.Equal(t, blasthttp.Reconciled{Checked: 2, Accepted: 1, NotAccepted: 1}, out)
	assert.NotContains(t, raw, "+1512")

	st, raw = e.do(t, orgB, "POST", "/blasts/"+b.ID+"/reconcile", "", nil)
	assert.Equal(t, http.StatusNotFound, st, raw)
	st, raw = e.do(t, org, "POST", "/blasts/"+b.ID+"/reconcile", `{"x":1}`, nil)
	assert.Equal(t, http.StatusBadRequest, st, raw)
}
