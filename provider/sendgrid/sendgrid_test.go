package sendgrid_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/providertest"
	"github.com/carecast/carecast/provider/sendgrid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// compliance.md Appendix A (sendgrid-python test_eventwebhook.py).
const (
	vectorKey       = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
	vectorFailKey   = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA=="
	vectorTimestamp = "1600112502"
	vectorSignature = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
	vectorFailSig   = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH3j/0="
	vectorPayload   = `[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]` + "\r\n"
)

func vectorNow() time.Time { return time.Unix(1600112502, 0) }

func TestVectorPayloadLength(t *testing.T) {
	assert.Len(t, vectorPayload, 327)
}

func TestVerifySignatureVectors(t *testing.T) {
	t.Parallel()
	key, err := sendgrid.ParsePublicKey(vectorKey)
	require.NoError(t, err)
	failKey, err := sendgrid.ParsePublicKey(vectorFailKey)
	require.NoError(t, err)
	tests := []struct {
		name      string
		key       *ecdsa.PublicKey
		sig, ts   string
		payload   string
		wantValid bool
	}{
		{"vector", key, vectorSignature, vectorTimestamp, vectorPayload, true},
		{"without CRLF", key, vectorSignature, vectorTimestamp, strings.TrimSuffix(vectorPayload, "\r\n"), false},
		{"other timestamp", key, vectorSignature, "1600112503", vectorPayload, false},
		{"failing key", failKey, vectorSignature, vectorTimestamp, vectorPayload, false},
		{"failing signature", key, vectorFailSig, vectorTimestamp, vectorPayload, false},
		{"no key", nil, vectorSignature, vectorTimestamp, vectorPayload, false},
		{"garbage signature", key, "!!", vectorTimestamp, vectorPayload, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.wantValid, sendgrid.VerifySignature(tt.key, tt.sig, tt.ts, []byte(tt.payload)))
		})
	}
}

func newWebhook(t *testing.T, key string, now func() time.Time) *sendgrid.Webhook {
	t.Helper()
	w, err := sendgrid.NewWebhook(sendgrid.Config{PublicKey: key, Now: now})
	require.NoError(t, err)
	return w
}

func request(sig, ts, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/sendgrid/events?org=org_1", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if sig != "" {
		r.Header.Set(sendgrid.SignatureHeader, sig)
	}
	if ts != "" {
		r.Header.Set(sendgrid.TimestampHeader, ts)
	}
	return r
}

type recorder struct{ events []provider.Event }

func (r *recorder) sink(_ context.Context, evs []provider.Event) error {
	r.events = append(r.events, evs...)
	return nil
}

func TestHandlerVector(t *testing.T) {
	t.Parallel()
	w := newWebhook(t, vectorKey, vectorNow)
	rec := &recorder{}
	rw := httptest.NewRecorder()
	w.Handler(rec.sink).ServeHTTP(rw, request(vectorSignature, vectorTimestamp, vectorPayload))
	require.Equal(t, http.StatusNoContent, rw.Code)
	require.Len(t, rec.events, 1)
	assert.Equal(t, provider.Event{
		ID: "sendgrid:ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA", OrgID: "",
		Kind: provider.EventBounce, ProviderMessageID: "LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net",
		At: time.Unix(1600112492, 0).UTC(), Code: "dropped", Class: provider.Suppress, HardBounce: true,
		To: "hello@world.com",
	}, rec.events[0])
}

// WH-04 test 3 and WH-02: replay window, missing key, bad signatures.
func TestHandlerRejects(t *testing.T) {
	t.Parallel()
	hourLater := func() time.Time { return vectorNow().Add(time.Hour) }
	tests := []struct {
		name   string
		w      *sendgrid.Webhook
		req    *http.Request
		status int
		is     error
	}{
		{"stale", newWebhook(t, vectorKey, hourLater), request(vectorSignature, vectorTimestamp, vectorPayload), 401, provider.ErrWebhookStale},
		{"from the future", newWebhook(t, vectorKey, func() time.Time { return vectorNow().Add(-time.Hour) }), request(vectorSignature, vectorTimestamp, vectorPayload), 401, provider.ErrWebhookStale},
		{"unsigned", newWebhook(t, vectorKey, vectorNow), request("", "", vectorPayload), 403, provider.ErrWebhookSignature},
		{"no timestamp", newWebhook(t, vectorKey, vectorNow), request(vectorSignature, "", vectorPayload), 403, provider.ErrWebhookSignature},
		{"mis-signed", newWebhook(t, vectorKey, vectorNow), request(vectorFailSig, vectorTimestamp, vectorPayload), 403, provider.ErrWebhookSignature},
		{"body re-serialised", newWebhook(t, vectorKey, vectorNow), request(vectorSignature, vectorTimestamp, strings.TrimSpace(vectorPayload)), 403, provider.ErrWebhookSignature},
		{"wrong key", newWebhook(t, vectorFailKey, vectorNow), request(vectorSignature, vectorTimestamp, vectorPayload), 403, provider.ErrWebhookSignature},
		{"no key configured", nil, request(vectorSignature, vectorTimestamp, vectorPayload), 403, provider.ErrWebhookSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			rw := httptest.NewRecorder()
			tt.w.Handler(rec.sink).ServeHTTP(rw, tt.req)
			assert.Equal(t, tt.status, rw.Code)
			assert.Empty(t, rec.events)
		})
	}
	_, err := sendgrid.NewWebhook(sendgrid.Config{})
	assert.ErrorContains(t, err, "PublicKey")
}

// signer signs test batches with a fresh P-256 key.
type signer struct {
	key *ecdsa.PrivateKey
	pub string
}

func newSigner(t *testing.T) *signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	require.NoError(t, err)
	return &signer{key: k, pub: base64.StdEncoding.EncodeToString(der)}
}

func (s *signer) sign(t *testing.T, ts, body string) string {
	h := sha256.Sum256([]byte(ts + body))
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, h[:])
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(sig)
}

func TestEventMapping(t *testing.T) {
	t.Parallel()
	s := newSigner(t)
	now := time.Unix(1700000000, 0)
	w := newWebhook(t, s.pub, func() time.Time { return now })
	ts := strconv.FormatInt(now.Unix(), 10)
	body := `[
{"email":"a@example.net","event":"delivered","sg_event_id":"e1","smtp-id":"<cc.row_1@mail.clinic.example>","timestamp":1700000000},
{"email":"a@example.net","event":"bounce","type":"bounce","status":"5.1.1","sg_event_id":"e2","sg_message_id":"XMSG.filter1","timestamp":1700000001},
{"email":"a@example.net","event":"bounce","type":"blocked","status":"5.7.1","sg_event_id":"e3","timestamp":1700000002},
{"email":"a@example.net","event":"bounce","type":"bounce","status":"5.0.0","bounce_classification":"Invalid Address","sg_event_id":"e4","timestamp":1700000003},
{"email":"a@example.net","event":"bounce","type":"bounce","status":"5.7.26","bounce_classification":"Invalid Address","sg_event_id":"e4b","timestamp":1700000003},
{"email":"a@example.net","event":"spamreport","sg_event_id":"e5","timestamp":1700000004},
{"email":"a@example.net","event":"open","sg_event_id":"e6","timestamp":1700000005},
{"email":"a@example.net","event":"open","sg_machine_open":true,"sg_event_id":"e6m","timestamp":1700000005},
{"email":"a@example.net","event":"click","url":"https://clinic.example/flu","sg_event_id":"e7","timestamp":1700000006},
{"email":"a@example.net","event":"processed","sg_event_id":"e8","timestamp":1700000007},
{"email":"a@example.net","event":"deferred","sg_event_id":"e9","timestamp":1700000008},
{"email":"a@example.net","event":"dropped","reason":"Spam Reporting Address","sg_event_id":"e10","timestamp":1700000009},
{"email":"a@example.net","event":"dropped","reason":"Invalid SMTPAPI header","sg_event_id":"e11","timestamp":1700000010},
{"email":"a@example.net","event":"delivered","timestamp":1700000011,"future_field":{"x":1}}
]` + "\r\n"
	evs, err := w.ParseBody(s.sign(t, ts, body), ts, []byte(body))
	require.NoError(t, err)
	type row struct {
		id   string
		kind provider.EventKind
		cls  provider.Class
		hard bool
	}
	var got []row
	for _, e := range evs {
		got = append(got, row{e.ID, e.Kind, e.Class, e.HardBounce})
	}
	assert.Equal(t, []row{
		{"sendgrid:e1", provider.EventDelivered, provider.Permanent, false},
		{"sendgrid:e2", provider.EventBounce, provider.Suppress, true},
		{"sendgrid:e3", provider.EventBounce, provider.SenderBlocked, false},
		{"sendgrid:e4", provider.EventBounce, provider.Suppress, true},
		{"sendgrid:e4b", provider.EventBounce, provider.SenderBlocked, false},
		{"sendgrid:e5", provider.EventComplaint, provider.Permanent, false},
		{"sendgrid:e6", provider.EventOpen, provider.Permanent, false},
		{"sendgrid:e6m", provider.EventOpen, provider.Permanent, false},
		{"sendgrid:e7", provider.EventClick, provider.Permanent, false},
		{"sendgrid:e10", provider.EventComplaint, provider.Permanent, false},
		{"sendgrid:e11", provider.EventUndelivered, provider.Permanent, false},
		{evs[11].ID, provider.EventDelivered, provider.Permanent, false},
	}, got)
	// TR-04: SendGrid's machine-open flag is carried; a plain open is human.
	assert.False(t, evs[6].Machine)
	assert.True(t, evs[7].Machine)
	assert.Equal(t, "sg_machine_open", evs[7].MachineReason)
	assert.Equal(t, "cc.row_1@mail.clinic.example", evs[0].ProviderMessageID)
	assert.Equal(t, "XMSG", evs[1].ProviderMessageID)
	assert.Equal(t, "https://clinic.example/flu", evs[8].URL)
	assert.True(t, strings.HasPrefix(evs[11].ID, "sendgrid:h:"), "hash ID when sg_event_id is missing")

	// BO-03 test 2: the same batch redelivered yields the same IDs.
	again, err := w.ParseBody(s.sign(t, ts, body), ts, []byte(body))
	require.NoError(t, err)
	for i := range evs {
		assert.Equal(t, evs[i].ID, again[i].ID)
	}
}

func TestMalformedAfterValidSignature(t *testing.T) {
	t.Parallel()
	s := newSigner(t)
	now := time.Unix(1700000000, 0)
	w := newWebhook(t, s.pub, func() time.Time { return now })
	ts := strconv.FormatInt(now.Unix(), 10)
	for _, body := range []string{`{"event":"delivered"}`, `[1,2]`, `not json`} {
		_, err := w.ParseBody(s.sign(t, ts, body), ts, []byte(body))
		assert.True(t, errors.Is(err, provider.ErrWebhookMalformed), "%q: %v", body, err)
	}
}

func TestSinkFailure(t *testing.T) {
	t.Parallel()
	w := newWebhook(t, vectorKey, vectorNow)
	rw := httptest.NewRecorder()
	w.Handler(func(context.Context, []provider.Event) error { return errors.New("down") }).ServeHTTP(rw, request(vectorSignature, vectorTimestamp, vectorPayload))
	assert.Equal(t, 500, rw.Code)
}

// Issue 12 §4: SendGrid does not sign the URL, so the organisation is
// never read from it. A captured batch re-posted with ?org=org-b yields
// exactly the events of the original (the engine then finds the
// organisation from the ledger row the message ID names); a webhook
// configured for one organisation stamps that one, whatever the query.
func TestOrganisationNeverFromQuery(t *testing.T) {
	t.Parallel()
	post := func(w *sendgrid.Webhook, target string) []provider.Event {
		t.Helper()
		r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(vectorPayload))
		r.Header.Set(sendgrid.SignatureHeader, vectorSignature)
		r.Header.Set(sendgrid.TimestampHeader, vectorTimestamp)
		rec := &recorder{}
		rw := httptest.NewRecorder()
		w.Handler(rec.sink).ServeHTTP(rw, r)
		require.Equal(t, http.StatusNoContent, rw.Code)
		require.Len(t, rec.events, 1)
		return rec.events
	}
	shared := newWebhook(t, vectorKey, vectorNow)
	genuine := post(shared, "/sendgrid/events")
	for _, target := range []string{"/sendgrid/events?org=org-b", "/sendgrid/events?org=org_1&org=org-b", "/sendgrid/events?OrgID=org-b"} {
		assert.Equal(t, genuine, post(shared, target), target)
		assert.Empty(t, post(shared, target)[0].OrgID, target)
	}
	perOrg, err := sendgrid.NewWebhook(sendgrid.Config{PublicKey: vectorKey, Now: vectorNow, OrgID: "org_1"})
	require.NoError(t, err)
	assert.Equal(t, "org_1", post(perOrg, "/sendgrid/events?org=org-b")[0].OrgID)
}

// Issue 12 §4: the handler has a read deadline of its own; a body
// trickled a byte at a time is answered 408 at Config.ReadTimeout.
func TestHandlerSlowBody(t *testing.T) {
	t.Parallel()
	w, err := sendgrid.NewWebhook(sendgrid.Config{PublicKey: vectorKey, Now: vectorNow, ReadTimeout: 200 * time.Millisecond})
	require.NoError(t, err)
	rec := &recorder{}
	got := providertest.SlowBody(t, w.Handler(rec.sink), "/hook?org=org_1")
	assert.Equal(t, providertest.SlowBodyResult{Status: 408, ClientStatus: 408, Closed: true}, got)
	assert.Empty(t, rec.events)
}

func TestHandlerBodyTooLarge(t *testing.T) {
	t.Parallel()
	w, err := sendgrid.NewWebhook(sendgrid.Config{PublicKey: vectorKey, Now: vectorNow, MaxBodyBytes: 100})
	require.NoError(t, err)
	rw := httptest.NewRecorder()
	w.Handler((&recorder{}).sink).ServeHTTP(rw, request(vectorSignature, vectorTimestamp, vectorPayload))
	assert.Equal(t, http.StatusRequestEntityTooLarge, rw.Code)
	_, err = w.Parse(request(vectorSignature, vectorTimestamp, vectorPayload))
	assert.ErrorIs(t, err, provider.ErrWebhookTooLarge)
}
