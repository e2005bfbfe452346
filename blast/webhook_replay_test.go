package blast_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasttest"
	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/sendgrid"
	"github.com/carecast/carecast/provider/ses"
	"github.com/carecast/carecast/store"
)

// Issue 12 §4: an event for another organisation's message (or for no
// known message) changes nothing and does not burn its ID, so the event
// that does match, carrying the same ID, is applied afterwards.
func TestEventForOtherOrganisationDoesNotBurnID(t *testing.T) {
	h, everyone, _ := complaintSetup(t)
	b, sum := sendAndRun(t, h, emailDraft(carecast.Marketing, everyone))
	require.Equal(t, 3, sum.Sent)
	pm := func(i int) string { return h.Email.SentTo(email(i))[0].ProviderMessageID }
	now := h.Clock.Now()
	for _, ev := range []provider.Event{
		{ID: "d0", Kind: provider.EventDelivered, ProviderMessageID: pm(0), At: now},
		{ID: "c1", Kind: provider.EventComplaint, ProviderMessageID: pm(1), At: now},
	} {
		wrong := ev
		wrong.OrgID = "org-b"
		assert.Equal(t, blast.EventIgnored, event(t, h, wrong), ev.ID)
		assert.Equal(t, blast.EventIgnored, event(t, h, wrong), "a replay is ignored again, never recorded")
		unknown := ev
		unknown.ProviderMessageID = "not-ours@elsewhere.example"
		assert.Equal(t, blast.EventIgnored, event(t, h, unknown), ev.ID)

		ev.OrgID = org
		assert.Equal(t, blast.EventApplied, event(t, h, ev), "the genuine event, same ID")
		assert.Equal(t, blast.EventDuplicate, event(t, h, ev))
	}
	assertDeliveredAndComplaint(t, h, b.ID)
}

// assertDeliveredAndComplaint checks what a delivered event for patient 0
// and a complaint from patient 1 leave behind.
func assertDeliveredAndComplaint(t *testing.T, h *blasttest.Harness, blastID string) {
	t.Helper()
	sum, err := h.Engine.Summary(ctx, org, blastID)
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Delivered, "the row became delivered")
	_, err = h.Engine.ComplaintHealth(ctx, org, sendingDomain) // flushes the buffered counts
	require.NoError(t, err)
	days, err := h.Store.DomainDays(ctx, org, sendingDomain, h.Clock.Now(), h.Clock.Now())
	require.NoError(t, err)
	require.Len(t, days, 1)
	assert.Equal(t, store.DomainDay{Day: days[0].Day, Delivered: 1, Complaints: 1}, days[0], "the complaint was counted")
	ps, err := h.Patients.PatientsByID(ctx, org, []string{"p00001"})
	require.NoError(t, err)
	assert.True(t, ps[0].Consent.EmailUnsubscribed, "the complainant is unsubscribed")
}

// engineSink is the host's usual wiring of a webhook to the engine.
func engineSink(h *blasttest.Harness) provider.EventSink {
	return func(ctx context.Context, evs []provider.Event) error {
		for _, ev := range evs {
			if _, err := h.Engine.HandleEvent(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	}
}

// Issue 12 §4, end to end through SendGrid: a captured signed batch
// re-posted with ?org=org-b (SendGrid does not sign the URL) is harmless,
// and the genuine delivery afterwards leaves the row delivered and the
// complaint counted. Before the fix the replay burned the event IDs and
// the genuine batch was ignored as a duplicate.
func TestSendGridReplayWithOtherOrg(t *testing.T) {
	h, everyone, _ := complaintSetup(t)
	b, sum := sendAndRun(t, h, emailDraft(carecast.Marketing, everyone))
	require.Equal(t, 3, sum.Sent)
	pm := func(i int) string { return h.Email.SentTo(email(i))[0].ProviderMessageID }

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	w, err := sendgrid.NewWebhook(sendgrid.Config{PublicKey: base64.StdEncoding.EncodeToString(der), Now: h.Clock.Now})
	require.NoError(t, err)
	ts := strconv.FormatInt(h.Clock.Now().Unix(), 10)
	body := fmt.Sprintf(`[{"email":%q,"event":"delivered","sg_event_id":"sg-d0","smtp-id":"<%s>","timestamp":%s},
{"email":%q,"event":"spamreport","sg_event_id":"sg-c1","smtp-id":"<%s>","timestamp":%s}]`+"\r\n",
		email(0), pm(0), ts, email(1), pm(1), ts)
	digest := sha256.Sum256([]byte(ts + body))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	require.NoError(t, err)

	handler := w.Handler(engineSink(h))
	for _, target := range []string{"/sendgrid?org=org-b", "/sendgrid?org=" + org} {
		r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
		r.Header.Set(sendgrid.SignatureHeader, base64.StdEncoding.EncodeToString(sig))
		r.Header.Set(sendgrid.TimestampHeader, ts)
		rw := httptest.NewRecorder()
		handler.ServeHTTP(rw, r)
		require.Equal(t, http.StatusNoContent, rw.Code, target)
	}
	assertDeliveredAndComplaint(t, h, b.ID)
}

// snsCert is an injected SNS signing certificate.
type snsCert struct{ cert *x509.Certificate }

func (c snsCert) FetchCertificate(context.Context, string) (*x509.Certificate, error) {
	return c.cert, nil
}

// The same through SES/SNS, whose endpoint URL is not signed either.
func TestSESReplayWithOtherOrg(t *testing.T) {
	h, everyone, _ := complaintSetup(t)
	b, sum := sendAndRun(t, h, emailDraft(carecast.Marketing, everyone))
	require.Equal(t, 3, sum.Sent)
	pm := func(i int) string { return h.Email.SentTo(email(i))[0].ProviderMessageID }

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	now := h.Clock.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	const topic = "arn:aws:sns:us-east-1:123456789012:ses-events"
	w, err := ses.NewWebhook(ses.Config{AllowedTopics: []string{topic}, CertFetcher: snsCert{cert}, Now: h.Clock.Now})
	require.NoError(t, err)
	message := func(id, payload string) []byte {
		m := &ses.Message{Type: "Notification", MessageId: id, TopicArn: topic, Message: payload,
			Timestamp: now.UTC().Format(time.RFC3339Nano), SignatureVersion: "2",
			SigningCertURL: "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem"}
		s, err := m.StringToSign()
		require.NoError(t, err)
		digest := sha256.Sum256([]byte(s))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
		require.NoError(t, err)
		m.Signature = base64.StdEncoding.EncodeToString(sig)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return b
	}
	at := now.UTC().Format(time.RFC3339)
	delivered := message("sns-d0", fmt.Sprintf(`{"notificationType":"Delivery","delivery":{"timestamp":%q,"recipients":[%q]},"mail":{"messageId":"ses-0","commonHeaders":{"messageId":"<%s>"}}}`, at, email(0), pm(0)))
	complaint := message("sns-c1", fmt.Sprintf(`{"notificationType":"Complaint","complaint":{"timestamp":%q,"complainedRecipients":[{"emailAddress":%q}]},"mail":{"messageId":"ses-1","commonHeaders":{"messageId":"<%s>"}}}`, at, email(1), pm(1)))

	handler := w.Handler(engineSink(h))
	for _, target := range []string{"/ses?org=org-b", "/ses?org=" + org} {
		for _, msg := range [][]byte{delivered, complaint} {
			rw := httptest.NewRecorder()
			handler.ServeHTTP(rw, httptest.NewRequest(http.MethodPost, target, strings.NewReader(string(msg))))
			require.Equal(t, http.StatusNoContent, rw.Code, target)
		}
	}
	assertDeliveredAndComplaint(t, h, b.ID)
}
