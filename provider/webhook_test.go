package provider_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/providertest"
)

// Issue 12 §4: a client trickling one byte every 10 ms (always making
// progress, so an idle timeout never fires) used to hold the handler and
// its goroutine for as long as it liked. The handler's own read deadline
// ends the request with 408, the sink is never called, and the
// connection is closed.
func TestWebhookHandlerTrickledBodyTimesOut(t *testing.T) {
	t.Parallel()
	var sunk atomic.Int32
	h := provider.WebhookHandler(provider.BodyLimits{MaxBytes: 1 << 20, ReadTimeout: 200 * time.Millisecond},
		func(*http.Request, []byte) ([]provider.Event, error) { return []provider.Event{{ID: "a"}}, nil },
		func(context.Context, []provider.Event) error { sunk.Add(1); return nil }, nil)
	got := providertest.SlowBody(t, h, "/hook")
	assert.Equal(t, providertest.SlowBodyResult{Status: 408, ClientStatus: 408, Closed: true}, got)
	assert.Zero(t, sunk.Load(), "no events from an incomplete body")
}

func TestWebhookHandlerBodyTooLarge(t *testing.T) {
	t.Parallel()
	var parsed atomic.Int32
	h := provider.WebhookHandler(provider.BodyLimits{MaxBytes: 16},
		func(*http.Request, []byte) ([]provider.Event, error) { parsed.Add(1); return nil, nil },
		func(context.Context, []provider.Event) error { return nil }, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/hook", "application/json", strings.NewReader(strings.Repeat("x", 17)))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.Zero(t, parsed.Load())

	resp, err = http.Post(srv.URL+"/hook", "application/json", strings.NewReader(strings.Repeat("x", 16)))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode, "exactly MaxBytes is accepted")
}

// A ResponseWriter that cannot set deadlines (a recorder, middleware
// without Unwrap) still gets the size bound and no error.
func TestReadBodyWithoutDeadlineSupport(t *testing.T) {
	t.Parallel()
	rw := httptest.NewRecorder()
	body, err := provider.ReadBody(rw, httptest.NewRequest("POST", "/", strings.NewReader("hello")), provider.BodyLimits{MaxBytes: 5})
	require.NoError(t, err)
	assert.Equal(t, "hello", string(body))
	_, err = provider.ReadBody(rw, httptest.NewRequest("POST", "/", strings.NewReader("hello!")), provider.BodyLimits{MaxBytes: 5})
	assert.True(t, errors.Is(err, provider.ErrWebhookTooLarge), "%v", err)
	assert.True(t, errors.Is(err, provider.ErrWebhookMalformed), "too large is a kind of malformed")
	_, err = provider.ReadBody(rw, httptest.NewRequest("POST", "/", strings.NewReader("x")), provider.BodyLimits{})
	assert.ErrorContains(t, err, "MaxBytes")
}
