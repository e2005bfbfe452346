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
	"time"

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

// Issue 13 §2: ReconcileInDoubt asks the provider about each in-doubt
// row (the fake knows what it accepted): accepted → sent with the
// provider's ID, never sent again; not accepted → failed "not_accepted",
// which Retry Failed sends; unknown → still in doubt, and Retry Failed
// with IncludeInDoubt re-sends only those. Each resolution is audited
// without PHI.
func TestReconcileInDoubt(t *testing.T) {
	h, everyone := setup(t, population(6, nil), nil)
	h.SMS.FailTo(phone(1), fake.Ambiguous())     // accepted, answer lost
	h.SMS.FailTo(phone(2), fake.AmbiguousLost()) // never reached the vendor
	h.SMS.FailTo(phone(3), fake.Ambiguous())     // accepted; the vendor cannot tell
	h.SMS.FailTo(phone(4), fake.AmbiguousLost()) // not accepted; the vendor cannot tell
	h.SMS.AcceptanceUnknownFor(phone(3), phone(4))
	b, sum := sendAndRun(t, h, smsDraft("Hi {{first_name}}, flu shots are in.", "", everyone.ID))
	require.Equal(t, 4, sum.InDoubt)
	require.Equal(t, 2, sum.Sent)
	sid1 := h.SMS.SentTo(phone(1))[0].ProviderMessageID

	res, err := h.Engine.ReconcileInDoubt(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, blast.ReconcileResult{Checked: 4, Accepted: 1, NotAccepted: 1, Unknown: 2}, res)
	assert.Equal(t, 4, h.SMS.Checks())
	msgs := map[string]blast.Message{}
	for _, card := range []blast.Card{blast.CardSent, blast.CardFailed} {
		for _, m := range allMessages(t, h, b.ID, card, 10) {
			msgs[m.PatientID] = m
		}
	}
	assert.Equal(t, store.RowSent, msgs["p00001"].Status)
	assert.Equal(t, store.RowFailed, msgs["p00002"].Status)
	assert.Equal(t, blast.ReasonNotAccepted, msgs["p00002"].Reason)
	assert.Equal(t, store.RowInDoubt, msgs["p00003"].Status)
	assert.Equal(t, store.RowInDoubt, msgs["p00004"].Status)
	sum, err = h.Engine.Summary(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, sum.InDoubt)
	assert.Equal(t, 3, sum.Sent)

	// The learned provider ID routes later receipts.
	assert.Equal(t, blast.EventApplied, event(t, h, provider.Event{ID: "d1", Kind: provider.EventDelivered, ProviderMessageID: sid1}))

	// A second run asks only about what is still in doubt.
	res, err = h.Engine.ReconcileInDoubt(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, blast.ReconcileResult{Checked: 2, Unknown: 2}, res)

	// Audited: one entry per resolution, the run's counts; no PHI.
	trail, err := h.Engine.AuditTrail(ctx, org, b.ID, 0, 1000)
	require.NoError(t, err)
	var verdicts []string
	runs := 0
	for _, a := range trail {
		switch a.Action {
		case "row.reconciled":
			verdicts = append(verdicts, a.Detail)
			assert.NotZero(t, a.RowID)
		case "blast.reconcile_in_doubt":
			runs++
		}
		for i := 1; i <= 4; i++ {
			assert.NotContains(t, a.Detail, phone(i))
		}
		assert.NotContains(t, a.Detail, "flu shots")
	}
	assert.ElementsMatch(t, []string{"accepted", "not_accepted"}, verdicts)
	assert.Equal(t, 2, runs)

	// Retry Failed with IncludeInDoubt re-sends the not-accepted row and
	// the two still unknown, never the reconciled-accepted one.
	k, err := h.Engine.RetryFailed(ctx, org, b.ID, &blast.RetryOpts{IncludeInDoubt: true})
	require.NoError(t, err)
	assert.Equal(t, 3, k)
	h.Run(t, org, b.ID)
	assert.Len(t, h.SMS.SentTo(phone(1)), 1, "reconciled as accepted: not sent again")
	assert.Len(t, h.SMS.SentTo(phone(2)), 1, "not accepted: sent now, once")
	assert.Len(t, h.SMS.SentTo(phone(3)), 2, "unknown: the user accepted the risk")
	assert.Len(t, h.SMS.SentTo(phone(4)), 1)
	assert.Equal(t, 1, h.SMS.Duplicates(), "only the unknown-and-accepted row doubled")
}

// ReconcileInDoubt stops at a rate limit (the row stays in doubt, the
// error says so) and resumes on the next call; it refuses email blasts
// and drafts.
func TestReconcileInDoubtLimits(t *testing.T) {
	h, everyone := setup(t, population(3, nil), nil)
	h.SMS.FailTo(phone(0), fake.Ambiguous())
	h.SMS.FailTo(phone(1), fake.Ambiguous())
	b, sum := sendAndRun(t, h, smsDraft("Hi", "", everyone.ID))
	require.Equal(t, 2, sum.InDoubt)

	h.SMS.FailCheckNext(fake.Transient(), fake.RateLimited(time.Minute))
	res, err := h.Engine.ReconcileInDoubt(ctx, org, b.ID)
	require.Error(t, err)
	assert.Equal(t, provider.RateLimited, provider.Classify(err))
	assert.Equal(t, time.Minute, provider.RetryAfter(err))
	assert.Equal(t, blast.ReconcileResult{Checked: 2, Unknown: 2, Errors: 2}, res)
	res, err = h.Engine.ReconcileInDoubt(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, blast.ReconcileResult{Checked: 2, Accepted: 2}, res)

	// A patient whose number changed since: the attempt may have gone
	// to either number, so the row stays in doubt without asking.
	h.SMS.FailTo(phone(2), fake.AmbiguousLost())
	b2, sum := sendAndRun(t, h, smsDraft("Hello", "", everyone.ID))
	require.Equal(t, 1, sum.InDoubt)
	moved := patient(2)
	moved.Phone = phone(9)
	h.Patients.Put(org, moved)
	checks := h.SMS.Checks()
	res, err = h.Engine.ReconcileInDoubt(ctx, org, b2.ID)
	require.NoError(t, err)
	assert.Equal(t, blast.ReconcileResult{Checked: 1, Unknown: 1}, res)
	assert.Equal(t, checks, h.SMS.Checks())

	eb, _ := sendAndRun(t, h, emailDraft("", everyone.ID))
	_, err = h.Engine.ReconcileInDoubt(ctx, org, eb.ID)
	assert.ErrorIs(t, err, blast.ErrReconcileUnsupported)
	d, err := h.Engine.CreateDraft(ctx, org, smsDraft("Hi", "", everyone.ID))
	require.NoError(t, err)
	_, err = h.Engine.ReconcileInDoubt(ctx, org, d.ID)
	assert.ErrorIs(t, err, blast.ErrNotSent)
	_, err = h.Engine.ReconcileInDoubt(ctx, "org-other", b.ID)
	assert.ErrorIs(t, err, blast.ErrNotFound)
}
