package blast_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasttest"
	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/fake"
	"github.com/carecast/carecast/provider/twilio"
	"github.com/carecast/carecast/store"
)

const (
	hookToken  = "twilio-auth-token"
	hookPublic = "https://hooks.clinic.example"
)

// twilioCallback posts a Twilio status callback for message sid, signed
// for signedPath the way Twilio signs it (HMAC-SHA1 of URL and sorted
// form parameters), to path (the request line an attacker may change).
func twilioCallback(t *testing.T, h http.Handler, signedPath, path, sid, status, code string) int {
	t.Helper()
	form := url.Values{"MessageSid": {sid}, "MessageStatus": {status}, "AccountSid": {"AC1"}}
	if code != "" {
		form.Set("ErrorCode", code)
	}
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	mac := hmac.New(sha1.New, []byte(hookToken))
	mac.Write([]byte(hookPublic + signedPath))
	for _, k := range keys {
		mac.Write([]byte(k + form.Get(k)))
	}
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Twilio-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	rw := httptest.NewRecorder()
	h.ServeHTTP(rw, r)
	return rw.Code
}

// Issue 13 §2: a delivery receipt for a row whose send answer was lost
// (in doubt) resolves it. The engine never learned the vendor's message
// ID, so the receipt is matched through the row's own message ID, which
// the per-row status-callback URL carries and Twilio signs: delivered →
// delivered with the vendor ID recorded; undelivered → failed with its
// class. A forged message ID, an unsigned one, another organization's and
// a row that is not in doubt change nothing. On the base commit both
// receipts were "ignored" and the rows stayed in doubt.
func TestReceiptResolvesInDoubtRow(t *testing.T) {
	h, everyone := setup(t, population(4, nil), &blasttest.Options{Config: func(c *blast.Config) {
		c.StatusCallbackURL = func(orgID, _ string, rowID int64) string {
			return hookPublic + "/twilio/status?org=" + url.QueryEscape(orgID) + "&msg=" + strconv.FormatInt(rowID, 10)
		}
	}})
	h.SMS.FailTo(phone(1), fake.Ambiguous())
	h.SMS.FailTo(phone(2), fake.Ambiguous())
	b, sum := sendAndRun(t, h, smsDraft("Hi {{first_name}}", "", everyone.ID))
	require.Equal(t, 2, sum.InDoubt)
	require.Equal(t, 2, sum.Sent)

	wh, err := twilio.NewWebhook(twilio.WebhookConfig{AuthToken: hookToken, PublicURL: hookPublic})
	require.NoError(t, err)
	var results []blast.EventResult
	handler := wh.StatusHandler(func(c context.Context, evs []provider.Event) error {
		for _, ev := range evs {
			res, err := h.Engine.HandleEvent(c, ev)
			if err != nil {
				return err
			}
			results = append(results, res)
		}
		return nil
	})
	accepted := func(i int) fake.Message { // what the fake accepted despite the lost answer
		ms := h.SMS.SentTo(phone(i))
		require.Len(t, ms, 1)
		return ms[0]
	}
	cb := func(i int) string { // the signed callback path of patient i's message
		u, err := url.Parse(accepted(i).StatusCallback)
		require.NoError(t, err)
		return u.RequestURI()
	}
	rowOf := func(i int) store.Row {
		id, err := strconv.ParseInt(accepted(i).ID, 10, 64)
		require.NoError(t, err)
		r, err := h.Store.Row(ctx, org, id)
		require.NoError(t, err)
		return r
	}
	last := func() blast.EventResult { require.NotEmpty(t, results); return results[len(results)-1] }
	require.Equal(t, store.RowInDoubt, rowOf(1).Status)
	require.Contains(t, cb(1), "msg=")

	// Forged: patient 2's receipt re-posted naming patient 1's row is
	// refused by the signature; unsigned (no org, no msg in the signed
	// URL) or naming another organization, it matches nothing.
	sid1, sid2 := accepted(1).ProviderMessageID, accepted(2).ProviderMessageID
	assert.Equal(t, http.StatusForbidden, twilioCallback(t, handler, cb(2), cb(1), sid2, "delivered", ""))
	assert.Equal(t, http.StatusNoContent, twilioCallback(t, handler, "/twilio/status", "/twilio/status", sid1, "delivered", ""))
	assert.Equal(t, blast.EventIgnored, last(), "no signed message ID")
	other := "/twilio/status?org=org-other&msg=" + accepted(1).ID
	assert.Equal(t, http.StatusNoContent, twilioCallback(t, handler, other, other, sid1, "delivered", ""))
	assert.Equal(t, blast.EventIgnored, last(), "another organization's row")
	res, err := h.Engine.HandleEvent(ctx, provider.Event{ID: "bare", Kind: provider.EventDelivered, ProviderMessageID: sid1, MessageID: accepted(1).ID})
	require.NoError(t, err)
	assert.Equal(t, blast.EventIgnored, res, "a message ID without a signed organization")
	// A row that was sent (its vendor ID known) is not touched by a
	// receipt naming it under an unknown vendor ID.
	sent := rowOf(0)
	require.Equal(t, store.RowSent, sent.Status)
	assert.Equal(t, http.StatusNoContent, twilioCallback(t, handler, cb(0), cb(0), "SMunknown", "undelivered", "30005"))
	assert.Equal(t, blast.EventIgnored, last(), "not in doubt")
	assert.Equal(t, store.RowSent, rowOf(0).Status)
	assert.Equal(t, sent.ProviderMessageID, rowOf(0).ProviderMessageID)
	require.Equal(t, store.RowInDoubt, rowOf(1).Status)

	// Genuine receipts resolve the rows.
	assert.Equal(t, http.StatusNoContent, twilioCallback(t, handler, cb(1), cb(1), sid1, "delivered", ""))
	assert.Equal(t, blast.EventApplied, last())
	r1 := rowOf(1)
	assert.Equal(t, store.RowDelivered, r1.Status)
	assert.Equal(t, sid1, r1.ProviderMessageID, "the vendor ID is learned")
	assert.Equal(t, http.StatusNoContent, twilioCallback(t, handler, cb(1), cb(1), sid1, "delivered", ""))
	assert.Equal(t, blast.EventDuplicate, last(), "a redelivery")

	assert.Equal(t, http.StatusNoContent, twilioCallback(t, handler, cb(2), cb(2), sid2, "undelivered", "30005"))
	assert.Equal(t, blast.EventApplied, last())
	r2 := rowOf(2)
	assert.Equal(t, store.RowFailed, r2.Status)
	assert.Equal(t, "undelivered", r2.Reason)
	assert.Equal(t, "30005", r2.ErrorCode)
	assert.Equal(t, sid2, r2.ProviderMessageID)

	sum, err = h.Engine.Summary(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Zero(t, sum.InDoubt)
	assert.Equal(t, 1, sum.Delivered)
	// Nothing is left for Retry Failed with IncludeInDoubt but the
	// undelivered row; nobody who got the text gets it twice.
	k, err := h.Engine.RetryFailed(ctx, org, b.ID, &blast.RetryOpts{IncludeInDoubt: true})
	require.NoError(t, err)
	assert.Equal(t, 1, k)
	h.Run(t, org, b.ID)
	assert.Len(t, h.SMS.SentTo(phone(1)), 1, "the delivered in-doubt row was not re-sent")
	assert.Len(t, h.SMS.SentTo(phone(2)), 2, "the undelivered one was")
}
