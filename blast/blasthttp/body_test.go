package blasthttp_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast/blast/blasthttp"
	"github.com/carecast/carecast/blast/blasttest"
	"github.com/carecast/carecast/provider/providertest"
)

// issue 12 §3 (same class as the contact lists): a body of many tiny
// values under the size limit was decoded in full before any count was
// checked — 8 MiB of "", is 2.8 million patient IDs, about 150 MiB live
// and 270 MiB allocated. Now it is refused before decoding.
func TestManyValuesRefusedBeforeDecoding(t *testing.T) {
	e := newEnv(t, nil)
	org := blasttest.Org
	b := e.smsDraft(t, "Hi")
	body := `{"patient_ids":[` + strings.Repeat(`"",`, (blasthttp.MaxBodyBytesDefault-64)/3) + `""]}`
	require.Less(t, len(body), blasthttp.MaxBodyBytesDefault)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	req := httptest.NewRequest("POST", "/api/blasts/"+b.ID+"/recipients/count", strings.NewReader(body))
	req.Header.Set("X-Org", org)
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	runtime.ReadMemStats(&after)
	require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), `"too_many_values"`)
	// The body itself (8 MiB, read twice over by io.ReadAll's growth)
	// and nothing per value.
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("8 MiB of empty IDs: %d bytes allocated", alloc)
	assert.Less(t, alloc, uint64(40<<20), "allocated by one request")

	// An ordinary request is far from the bound.
	var got map[string]any
	st, raw := e.do(t, org, "POST", "/blasts/"+b.ID+"/recipients/count", `{"patient_ids":["p1","p2"]}`, &got)
	require.Equal(t, http.StatusOK, st, raw)
}

// issue 12 §4's slow bodies, for the JSON API: a body trickled a byte at
// a time gets 408 at Config.BodyReadTimeout instead of holding the
// connection and its goroutine.
func TestSlowBodyTimesOut(t *testing.T) {
	e := newEnv(t, func(c *blasthttp.Config) { c.BodyReadTimeout = 200 * time.Millisecond })
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("X-Org", blasttest.Org)
		e.srv.ServeHTTP(w, r)
	})
	res := providertest.SlowBody(t, h, "/api/blasts")
	assert.Equal(t, http.StatusRequestTimeout, res.Status)
	assert.Equal(t, http.StatusRequestTimeout, res.ClientStatus)
	assert.True(t, res.Closed, "the rest of the body is never read")
}

func TestBodyReadTimeoutConfig(t *testing.T) {
	e := newEnv(t, nil)
	_, err := blasthttp.New(&blasthttp.Config{Engine: e.h.Engine, Cohorts: e.h.Cohorts,
		Org: func(*http.Request) (string, error) { return "o", nil }, BodyReadTimeout: -time.Second})
	var ce *blasthttp.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "BodyReadTimeout", ce.Field)
}

// jsonValues is checked against encoding/json's tokenizer: every token
// but a closing bracket is one value.
func TestJSONValueCount(t *testing.T) {
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{`{"patient_ids":["a","b"]}`, true},
		{`[` + strings.Repeat(`1,`, blasthttp.MaxJSONValues-2) + `1]`, true},
		{`[` + strings.Repeat(`1,`, blasthttp.MaxJSONValues-1) + `1]`, false},
		{`{"name":"` + strings.Repeat(`\"[{,`, 100_000) + `"}`, true}, // brackets inside a string are text
		{`[` + strings.Repeat(`{"a":null},`, blasthttp.MaxJSONValues/3+1) + `true]`, false},
	} {
		t.Run(fmt.Sprint(len(tc.body)), func(t *testing.T) {
			e := newEnv(t, nil)
			req := httptest.NewRequest("POST", "/api/blasts", strings.NewReader(tc.body))
			req.Header.Set("X-Org", blasttest.Org)
			rec := httptest.NewRecorder()
			e.srv.ServeHTTP(rec, req)
			assert.Equal(t, !tc.ok, strings.Contains(rec.Body.String(), "too_many_values"), rec.Body.String())
		})
	}
}
