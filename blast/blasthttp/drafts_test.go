package blasthttp_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasthttp"
	"github.com/carecast/carecast/blast/blasttest"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/store"
	"github.com/carecast/carecast/store/pgstore"
	"github.com/carecast/carecast/store/sqlitestore"
)

// stores are the engine stores the hostile-input tests run against:
// the harness's memstore, SQLite, and PostgreSQL when
// CARECAST_TEST_POSTGRES names a database.
func stores() map[string]func(testing.TB) store.Store {
	out := map[string]func(testing.TB) store.Store{
		"memstore": nil,
		"sqlite": func(tb testing.TB) store.Store {
			s, err := sqlitestore.Open(context.Background(), filepath.Join(tb.TempDir(), "carecast.db"), nil)
			require.NoError(tb, err)
			tb.Cleanup(func() { _ = s.Close() })
			return s
		},
	}
	if conn := os.Getenv("CARECAST_TEST_POSTGRES"); conn != "" {
		out["postgres"] = func(tb testing.TB) store.Store {
			schema := fmt.Sprintf("carecast_blasthttp_%d", time.Now().UnixNano())
			s, err := pgstore.Open(context.Background(), &pgstore.Config{ConnString: conn, Schema: schema, MaxConns: 4})
			require.NoError(tb, err)
			tb.Cleanup(func() {
				_, _ = s.Pool().Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
				_ = s.Close()
			})
			return s
		}
	}
	return out
}

// issue 12 §5: client input is answered 4xx, never 500 (a NUL byte in a
// name was a 500 on PostgreSQL, preview of a bogus channel or an unknown
// cohort a 500). Every endpoint gets every hostile input, on every store.
func TestHostileInputsNever500(t *testing.T) {
	for name, st := range stores() {
		t.Run(name, func(t *testing.T) {
			e := newEnvStore(t, st, func(c *blasthttp.Config) {
				c.LiveMax = time.Millisecond
				c.CanApprovePHI = func(*http.Request) bool { return true }
			})
			org := blasttest.Org
			draft := e.smsDraft(t, "Hi")
			sent := e.smsDraft(t, "Hi")
			st, raw := e.do(t, org, "POST", "/blasts/"+sent.ID+"/send", "", nil)
			require.Equal(t, http.StatusAccepted, st, raw)
			e.h.Run(t, org, sent.ID)
			var theirs blasthttp.Blast
			st, raw = e.do(t, orgB, "POST", "/blasts", `{"channel":"sms","sms":{"body":"x"}}`, &theirs)
			require.Equal(t, http.StatusCreated, st, raw)
			var lost blasthttp.Blast // a cohort deleted since it was chosen
			st, raw = e.do(t, org, "POST", "/blasts", `{"channel":"sms","cohort_ids":["nope"],"sms":{"body":"x"}}`, &lost)
			require.Equal(t, http.StatusCreated, st, raw)

			ids := []string{draft.ID, sent.ID, theirs.ID, lost.ID, "zzz", "%00", "%FF%FE", "a%0Ab", strings.Repeat("a", 300)}
			routes := []struct{ method, path string }{
				{"GET", "/merge-fields"}, {"POST", "/sms/count"}, {"GET", "/cohorts"}, {"GET", "/analytics"},
				{"GET", "/blasts"}, {"POST", "/blasts"}, {"GET", "/blasts/{id}"}, {"PUT", "/blasts/{id}"},
				{"POST", "/blasts/{id}/validate"}, {"GET", "/blasts/{id}/preview"}, {"GET", "/blasts/{id}/estimate"},
				{"POST", "/blasts/{id}/test"}, {"POST", "/blasts/{id}/send"}, {"POST", "/blasts/{id}/cancel"},
				{"POST", "/blasts/{id}/resume"}, {"POST", "/blasts/{id}/duplicate"}, {"GET", "/blasts/{id}/summary"},
				{"GET", "/blasts/{id}/live"}, {"GET", "/blasts/{id}/messages"}, {"GET", "/blasts/{id}/engagement"},
				{"POST", "/blasts/{id}/retry"}, {"GET", "/blasts/{id}/patients"}, {"POST", "/blasts/{id}/recipients/count"},
				{"POST", "/blasts/{id}/recipients"},
			}
			bodies := []string{
				``, `null`, `[]`, `{`, `"x"`, `{}`, strings.Repeat("[", 20000),
				`{"name":"x\u0000y","channel":"sms"}`,
				`{"name":"` + strings.Repeat("é", 300) + `","channel":"sms"}`,
				`{"name":"\ud800","channel":"SMS","purpose":"spam","hipaa_basis":"x"}`,
				`{"channel":"sms","cohort_ids":["\u0000",""],"sms":{"body":"hi\u0000","images":[{"data":"AAAA"}]}}`,
				`{"channel":"sms","cohort_ids":["nope"],"from":"\r\nx","sms":{"body":"` + strings.Repeat("x", blast.SMSMaxSourceBytes+1) + `"}}`,
				`{"channel":"email","email":{"subject":"s\u0000","format":"word","body":"b","style":{"content_width":-5,"text_color":"x;}"},
				  "attachments":[{"filename":"../a.exe","content_type":"\r\n","data":"AAAA"}]}}`,
				`{"channel":"sms","phi":true,"phi_approved":true,"portal_sms":{"body":"HIV"},"sms":{"body":"HIV"}}`,
				`{"patient_ids":["\u0000","","p-1","b-1"],"phi_approved":true}`,
				`{"patient_ids":5}`,
				`{"at":"9999-12-31T23:59:59Z"}`, `{"at":"1000-01-01T00:00:00Z"}`,
				`{"to":"\u0000","patient_id":"\u0000"}`, `{"to":"+15125550100","patient_id":"b-1"}`,
				`{"text":"{{","purpose":"bogus","images":-1,"recipients":1e30}`,
				`{"text":"` + strings.Repeat("€", 3000) + `","images":3,"recipients":100000000}`,
				`{"include_in_doubt":"yes"}`, `{"name":"` + strings.Repeat("n", 250) + `"}`,
			}
			queries := []string{
				"", "?limit=-1", "?limit=abc", "?limit=99999999999999999999", "?cursor=zzz", "?cursor=%00",
				"?cursor=zzzzzzzzzzzzzzz_00000000-0000-0000-0000-000000000000", "?cursor=1_nope", "?status=bogus",
				"?card=bogus", "?step=1ns", "?step=9999999h", "?q=%00", "?q=" + strings.Repeat("a", 300),
				"?from=x&to=y", "?from=2026-01-01T00:00:00Z&to=2030-01-01T00:00:00Z&bucket=1h",
				"?from=0001-01-01T00:00:00Z&to=9999-01-01T00:00:00Z&bucket=9999999h",
			}
			n := 0
			check := func(method, path, body string) {
				t.Helper()
				req := httptest.NewRequest(method, "/api"+path, strings.NewReader(body))
				req.Header.Set("X-Org", org)
				rec := httptest.NewRecorder()
				e.srv.ServeHTTP(rec, req)
				n++
				if rec.Code >= 500 && rec.Code != http.StatusBadGateway {
					t.Errorf("%s %s %.80q: %d %s", method, path, body, rec.Code, rec.Body)
				}
			}
			for _, rt := range routes {
				paths := []string{rt.path}
				if strings.Contains(rt.path, "{id}") {
					paths = paths[:0]
					for _, id := range ids {
						paths = append(paths, strings.Replace(rt.path, "{id}", id, 1))
					}
				}
				for _, p := range paths {
					if rt.method == "GET" {
						for _, q := range queries {
							check(rt.method, p+q, "")
						}
						continue
					}
					for _, b := range bodies {
						check(rt.method, p, b)
					}
				}
			}
			assert.Greater(t, n, 1000)
			assert.NotContains(t, e.logs.String(), "request failed", "no server error was logged")
		})
	}
}

// issue 12 §5: create and update refuse an unknown channel or purpose and
// a name NUL byte (422 naming the field); unknown enum strings in the JSON
// are never stored.
func TestDraftValidationStatus(t *testing.T) {
	e := newEnv(t, nil)
	org := blasttest.Org
	b := e.smsDraft(t, "Hi")
	tests := []struct {
		body, code, field string
	}{
		{`{"channel":"bogus"}`, "channel", "Channel"},
		{`{"channel":"SMS"}`, "channel", "Channel"},
		{`{"channel":""}`, "channel", "Channel"},
		{`{"channel":"sms","purpose":"spam"}`, "purpose", "Purpose"},
		{`{"channel":"sms","hipaa_basis":"because"}`, "hipaa_basis", "HIPAABasis"},
		{`{"channel":"sms","name":"Flu\u0000shots"}`, "name", "Name"},
		{`{"channel":"sms","name":"` + strings.Repeat("x", 3000) + `"}`, "name", "Name"},
		{`{"channel":"email","email":{"subject":"s","format":"docx","body":"b"}}`, "content", "Email.Format"},
	}
	for _, tt := range tests {
		for _, m := range []struct{ method, path string }{{"POST", "/blasts"}, {"PUT", "/blasts/" + b.ID}} {
			var eb errBody
			st, raw := e.do(t, org, m.method, m.path, tt.body, &eb)
			require.Equal(t, http.StatusUnprocessableEntity, st, "%s %s: %s", m.method, tt.body, raw)
			assert.Equal(t, "validation", eb.Error.Code)
			assert.Equal(t, "the draft cannot be saved", eb.Error.Message)
			require.NotEmpty(t, eb.Error.Problems)
			assert.Equal(t, blast.ProblemCode(tt.code), eb.Error.Problems[0].Code, raw)
			assert.Equal(t, tt.field, eb.Error.Problems[0].Field)
			assert.NotContains(t, raw, "xxxxxxxx", "nothing echoed")
		}
	}
	var got blasthttp.Blast
	st, _ := e.do(t, org, "GET", "/blasts/"+b.ID, "", &got)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, carecast.SMS, got.Channel, "refused updates changed nothing")

	// A cohort deleted since it was chosen, or another organization's:
	// preview and estimate say so (422), as Send does.
	theirs, err := e.h.Cohorts.SaveCohort(t.Context(), cohortOf(orgB))
	require.NoError(t, err)
	for _, id := range []string{"nope", theirs.ID} {
		var d blasthttp.Blast
		st, raw := e.do(t, org, "POST", "/blasts", fmt.Sprintf(`{"channel":"sms","cohort_ids":[%q],"sms":{"body":"Hi"}}`, id), &d)
		require.Equal(t, http.StatusCreated, st, raw)
		for _, ep := range []string{"/preview", "/estimate"} {
			var eb errBody
			st, raw = e.do(t, org, "GET", "/blasts/"+d.ID+ep, "", &eb)
			require.Equal(t, http.StatusUnprocessableEntity, st, raw)
			assert.Equal(t, blast.ProblemUnknownCohort, eb.Error.Problems[0].Code)
			assert.Equal(t, "CohortIDs", eb.Error.Problems[0].Field)
		}
	}
}

// issue 12 §5: ?cursor=zzz was a 200 with an empty page. A cursor that
// is not one the list returned is a 400 naming "cursor"; the cursors the
// list returns page through every blast.
func TestListCursor(t *testing.T) {
	e := newEnv(t, nil)
	org := blasttest.Org
	want := map[string]bool{}
	for range 5 {
		want[e.smsDraft(t, "Hi").ID] = true
		e.h.Clock.Advance(time.Second)
	}
	for _, c := range []string{"zzz", "%00", "1_nope", "_", "zzzzzzzzzzzzzzzzzz_01a235b6-70da-7a75-a5cb-047cab9f317d", want0(want)} {
		var eb struct {
			Error struct{ Code, Field string }
		}
		st, raw := e.do(t, org, "GET", "/blasts?cursor="+c, "", &eb)
		assert.Equal(t, http.StatusBadRequest, st, "%s: %s", c, raw)
		assert.Equal(t, "bad_request", eb.Error.Code)
		assert.Equal(t, "cursor", eb.Error.Field)
	}
	seen := map[string]bool{}
	cursor := ""
	for range 10 {
		var page struct {
			Blasts     []blasthttp.Listing
			NextCursor string `json:"next_cursor"`
		}
		st, raw := e.do(t, org, "GET", "/blasts?limit=2&cursor="+cursor, "", &page)
		require.Equal(t, http.StatusOK, st, raw)
		for _, b := range page.Blasts {
			assert.False(t, seen[b.ID], "no blast twice")
			seen[b.ID] = true
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	assert.Equal(t, want, seen)
}

// want0 returns a bare blast ID: the old cursor format, which the list no
// longer returns.
func want0(ids map[string]bool) string {
	for id := range ids {
		return id
	}
	return ""
}

// issue 12 §3: GET /blasts returned every blast's full content (40
// drafts of 8 MiB: a 320 MiB response, 1.7 GiB peak heap). The list is
// summaries, whatever the drafts carry: see "Memory" in the package
// documentation for the figure this test bounds.
func TestListIsSmall(t *testing.T) {
	e := newEnv(t, nil)
	org := blasttest.Org
	// 40 drafts at the request limit: a 5.9 MiB attachment, 7.9 MiB of
	// JSON each.
	data := make([]byte, 59<<20/10)
	for i := range data {
		data[i] = byte(i)
	}
	body := fmt.Sprintf(`{"name":"Leaflet","channel":"email","cohort_ids":[%q],"from":"a@clinic.example",
		"email":{"subject":"Leaflet","format":"markdown","body":"See the leaflet.","attachments":[{"filename":"leaflet.pdf","data":%q}]}}`,
		e.cohort.ID, base64.StdEncoding.EncodeToString(data))
	require.Less(t, len(body), blasthttp.MaxBodyBytesDefault)
	var first blasthttp.Blast
	st, raw := e.do(t, org, "POST", "/blasts", body, &first)
	require.Equal(t, http.StatusCreated, st, raw[:min(len(raw), 200)])
	// 39 more as stored (one encoding, copied: the test stays fast under
	// -race).
	sb, err := e.h.Store.Blast(t.Context(), org, first.ID)
	require.NoError(t, err)
	require.Greater(t, len(sb.Content), 7<<20)
	for i := range 39 {
		sb.ID = fmt.Sprintf("01a235b6-70da-7a75-a5cb-%012d", i)
		_, err := e.h.Store.CreateBlast(t.Context(), sb)
		require.NoError(t, err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/blasts?limit=200", nil)
	req.Header.Set("X-Org", org)
	e.srv.ServeHTTP(rec, req)
	runtime.ReadMemStats(&after)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Less(t, rec.Body.Len(), 40<<10, "40 summaries: about 400 bytes each")
	assert.NotContains(t, rec.Body.String(), "leaflet.pdf", "no content in the list")
	assert.NotContains(t, rec.Body.String(), "See the leaflet")
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("GET /blasts?limit=200 over 40 drafts of 7.9 MiB: %d bytes allocated, %d-byte response", alloc, rec.Body.Len())
	assert.Less(t, alloc, uint64(listAllocBound), "allocated by one list request")
}

// issue 12 §5: the approval leaks through the API. A user without
// approval rights duplicates an approved sensitive draft and sends the
// copy; adding recipients to an approved blast needs a privileged user.
func TestApprovalScopeOverHTTP(t *testing.T) {
	privileged := false
	e := newEnv(t, func(c *blasthttp.Config) {
		c.CanApprovePHI = func(*http.Request) bool { return privileged }
	})
	org := blasttest.Org
	body := fmt.Sprintf(`{"cohort_ids":[%q],"channel":"sms","sms":{"body":"Your HIV screening is due"}%%s}`, e.cohort.ID)
	privileged = true
	var b blasthttp.Blast
	st, raw := e.do(t, org, "POST", "/blasts", fmt.Sprintf(body, `,"phi_approved":true`), &b)
	require.Equal(t, http.StatusCreated, st, raw)
	require.Equal(t, "staff-7", b.PHIApprovedBy)
	assert.False(t, b.PHIApprovedAt.IsZero())
	privileged = false

	var cp blasthttp.Blast
	st, raw = e.do(t, org, "POST", "/blasts/"+b.ID+"/duplicate", "", &cp)
	require.Equal(t, http.StatusCreated, st, raw)
	assert.Empty(t, cp.PHIApprovedBy)
	assert.False(t, cp.PHIApproved)
	var eb errBody
	st, raw = e.do(t, org, "POST", "/blasts/"+cp.ID+"/send", "", &eb)
	require.Equal(t, http.StatusUnprocessableEntity, st, raw)
	assert.Equal(t, blast.ProblemSensitiveContent, eb.Error.Problems[0].Code)
	assert.Zero(t, e.h.SMS.Calls(), "the copy sent nothing")

	st, raw = e.do(t, org, "POST", "/blasts/"+b.ID+"/send", "", nil)
	require.Equal(t, http.StatusAccepted, st, raw)
	e.h.Run(t, org, b.ID)
	sentBefore := e.h.SMS.Count()
	e.h.Patients.Put(org, carecast.Patient{ID: "p-late", FirstName: "Late", Phone: "+15125550777", Active: true})
	add := `{"patient_ids":["p-late"]%s}`
	st, raw = e.do(t, org, "POST", "/blasts/"+b.ID+"/recipients", fmt.Sprintf(add, ""), &eb)
	require.Equal(t, http.StatusUnprocessableEntity, st, raw)
	assert.Equal(t, "the recipients cannot be added", eb.Error.Message)
	assert.Equal(t, blast.ProblemApprovalScope, eb.Error.Problems[0].Code)
	st, raw = e.do(t, org, "POST", "/blasts/"+b.ID+"/recipients", fmt.Sprintf(add, `,"phi_approved":true`), &eb)
	require.Equal(t, http.StatusForbidden, st, raw)
	assert.Equal(t, "phi_approval_forbidden", eb.Error.Code)
	e.h.Run(t, org, b.ID)
	assert.Equal(t, sentBefore, e.h.SMS.Count(), "nothing sent to the new patient without an approval")

	privileged = true
	var added map[string]int
	st, raw = e.do(t, org, "POST", "/blasts/"+b.ID+"/recipients", fmt.Sprintf(add, `,"phi_approved":true`), &added)
	require.Equal(t, http.StatusOK, st, raw)
	assert.Equal(t, 1, added["added"])
	e.h.Run(t, org, b.ID)
	assert.Len(t, e.h.SMS.SentTo("+15125550777"), 1)
}

// listAllocBound bounds the bytes one GET /blasts?limit=200 allocates
// over 40 drafts of 7.9 MiB (documented in doc.go, "Memory"); it was
// over 1.7 GiB when the list carried content.
const listAllocBound = 2 << 20

func cohortOf(orgID string) cohort.Cohort { return cohort.Cohort{OrgID: orgID, Name: "Theirs"} }
