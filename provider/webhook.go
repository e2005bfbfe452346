package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
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
	// ErrWebhookTooLarge: the body is larger than the adapter's
	// MaxBodyBytes. Answered 413. It wraps ErrWebhookMalformed.
	ErrWebhookTooLarge = fmt.Errorf("provider: webhook body too large: %w", ErrWebhookMalformed)
	// ErrWebhookTimeout: the body did not arrive within the adapter's
	// ReadTimeout (a client trickling bytes to hold a connection).
	// Answered 408. It wraps ErrWebhookMalformed.
	ErrWebhookTimeout = fmt.Errorf("provider: webhook body not received in time: %w", ErrWebhookMalformed)
)

// DefaultWebhookReadTimeout is how long a webhook handler waits for a
// request body when the adapter's ReadTimeout is zero. Vendors post a few
// kilobytes (SendGrid batches: at most a few megabytes) from well-connected
// servers; ten seconds is ample for them and short for a client that
// trickles a byte a second to hold a connection and a goroutine.
const DefaultWebhookReadTimeout = 10 * time.Second

// BodyLimits bounds how a webhook handler reads a request body.
type BodyLimits struct {
	// MaxBytes is the largest body accepted; a larger one is refused
	// with ErrWebhookTooLarge (413) as soon as the limit is passed,
	// without reading the rest. Must be positive.
	MaxBytes int64
	// ReadTimeout is how long the whole body may take to arrive, from
	// when the handler starts reading it. Zero selects
	// DefaultWebhookReadTimeout; a negative value sets no deadline of
	// the handler's own (the http.Server's ReadTimeout still applies).
	ReadTimeout time.Duration
}

// ReadBody reads r's body within l: at most l.MaxBytes
// ([http.MaxBytesReader]; over it, ErrWebhookTooLarge) and before a read
// deadline l.ReadTimeout from now, set on the connection through
// [http.ResponseController] (past it, ErrWebhookTimeout). net/http lifts
// the deadline when the body has been read to its end, so it never
// cancels the request's context while the events are being recorded;
// after a failed read it stays, so the server does not wait for the rest
// of the body either (it drains an unread body before answering). It replaces the
// http.Server's ReadTimeout deadline for this request's body; a host
// whose server has a shorter ReadTimeout should configure the same value
// here.
//
// When w cannot set deadlines ([http.ErrNotSupported]: an
// httptest.ResponseRecorder, or middleware whose ResponseWriter has no
// Unwrap method), the body is still bounded in size and only the
// server's own ReadTimeout bounds the wait. Any other read failure is
// ErrWebhookMalformed.
func ReadBody(w http.ResponseWriter, r *http.Request, l BodyLimits) ([]byte, error) {
	if l.MaxBytes <= 0 {
		return nil, errors.New("provider: ReadBody: BodyLimits.MaxBytes must be positive")
	}
	timeout := l.ReadTimeout
	if timeout == 0 {
		timeout = DefaultWebhookReadTimeout
	}
	if timeout > 0 {
		err := http.NewResponseController(w).SetReadDeadline(time.Now().Add(timeout))
		if err != nil && !errors.Is(err, http.ErrNotSupported) {
			return nil, fmt.Errorf("provider: setting the body read deadline: %w", err)
		}
	}
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, l.MaxBytes))
	if err != nil {
		return nil, bodyError(err, l.MaxBytes)
	}
	return body, nil
}

// bodyError classifies a failed body read.
func bodyError(err error, max int64) error {
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &mbe):
		return fmt.Errorf("body larger than %d bytes: %w", max, ErrWebhookTooLarge)
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ErrWebhookTimeout
	}
	return fmt.Errorf("body unreadable: %w", ErrWebhookMalformed)
}

// WebhookStatus returns the HTTP status a webhook handler answers for err:
// 200 for nil, 403 for ErrWebhookSignature and ErrWebhookForbidden, 401 for
// ErrWebhookStale, 413 for ErrWebhookTooLarge, 408 for ErrWebhookTimeout,
// 400 for any other ErrWebhookMalformed and 500 for anything else (a
// failing EventSink: the vendor will redeliver).
func WebhookStatus(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrWebhookSignature), errors.Is(err, ErrWebhookForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrWebhookStale):
		return http.StatusUnauthorized
	case errors.Is(err, ErrWebhookTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrWebhookTimeout):
		return http.StatusRequestTimeout
	case errors.Is(err, ErrWebhookMalformed):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// WebhookHandler is the HTTP side shared by webhook adapters: it reads
// each request's body within limits ([ReadBody]: a size bound and a read
// deadline of its own), parses it with parse (which must verify it),
// passes the events to sink and answers 204, or calls success to write
// the answer instead when it is not nil. A body too large, too slow or
// unreadable, or a parse error, is answered with [WebhookStatus] (413,
// 408, 403, 401 or 400) and sink is not called; a sink error is answered
// 500 so that the vendor redelivers. Error answers carry only the status
// text.
func WebhookHandler(limits BodyLimits, parse func(r *http.Request, body []byte) ([]Event, error), sink EventSink, success http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, err := ReadBody(rw, r, limits)
		var evs []Event
		if err == nil {
			evs, err = parse(r, body)
		}
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
