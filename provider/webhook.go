package provider

import (
	"context"
	"errors"
	"net/http"
)

// EventSink receives the verified events of one webhook request. Webhook
// handlers call it only after the request's signature has been verified;
// an error makes the handler answer 500 so that the vendor redelivers.
// Events carry a stable ID, so a redelivered request is harmless.
type EventSink func(ctx context.Context, events []Event) error

// Webhook rejection causes. Adapters wrap them with the detail
// ("twilio: missing X-Twilio-Signature: provider: webhook signature
// invalid"); [WebhookStatus] turns them into HTTP status codes.
var (
	// ErrWebhookSignature: the request is unsigned, mis-signed, or signed
	// with an untrusted certificate or key. Answered 403.
	ErrWebhookSignature = errors.New("provider: webhook signature invalid")
	// ErrWebhookStale: the signature is valid but its timestamp is outside
	// the accepted window (a replay). Answered 401.
	ErrWebhookStale = errors.New("provider: webhook timestamp outside window")
	// ErrWebhookForbidden: a verified request for a topic, account or
	// sender the host does not accept. Answered 403.
	ErrWebhookForbidden = errors.New("provider: webhook source not allowed")
	// ErrWebhookMalformed: the request is not a well-formed callback
	// (bad content type, unparsable body, missing fields, too large).
	// Answered 400.
	ErrWebhookMalformed = errors.New("provider: webhook malformed")
)

// WebhookStatus returns the HTTP status a webhook handler answers for err:
// 200 for nil, 403 for ErrWebhookSignature and ErrWebhookForbidden, 401 for
// ErrWebhookStale, 400 for ErrWebhookMalformed and 500 for anything else
// (a failing EventSink: the vendor will redeliver).
func WebhookStatus(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrWebhookSignature), errors.Is(err, ErrWebhookForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrWebhookStale):
		return http.StatusUnauthorized
	case errors.Is(err, ErrWebhookMalformed):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// WebhookHandler is the HTTP side shared by webhook adapters: it parses
// each request with parse (which must verify it), passes the events to sink
// and answers 204, or calls success to write the answer instead when it is
// not nil. A parse error is answered with [WebhookStatus] (403, 401 or 400)
// and sink is not called; a sink error is answered 500 so that the vendor
// redelivers. Error answers carry only the status text.
func WebhookHandler(parse func(*http.Request) ([]Event, error), sink EventSink, success http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		evs, err := parse(r)
		if err == nil && len(evs) > 0 {
			err = sink(r.Context(), evs)
		}
		if err != nil {
			status := WebhookStatus(err)
			http.Error(rw, http.StatusText(status), status)
			return
		}
		if success != nil {
			success(rw, r)
			return
		}
		rw.WriteHeader(http.StatusNoContent)
	})
}
