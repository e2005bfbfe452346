package sendgrid

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/carecast/carecast/provider"
)

// Header names of SendGrid's Signed Event Webhook.
const (
	SignatureHeader = "X-Twilio-Email-Event-Webhook-Signature"
	TimestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp"
)

// Defaults for Config fields left zero.
const (
	DefaultWindow       = 5 * time.Minute
	DefaultMaxBodyBytes = 4 << 20
)

// Config configures a [Webhook].
type Config struct {
	// PublicKey is the verification key from SendGrid's Mail Settings,
	// base64 DER (SubjectPublicKeyInfo) of an ECDSA P-256 key. Required:
	// there is no unverified mode.
	PublicKey string
	// Window is how far the signed timestamp may be from now (either
	// way) before a request is refused as a replay. Defaults to
	// DefaultWindow (300 s).
	Window time.Duration
	// MaxBodyBytes bounds a request body; a larger one is refused (413)
	// without reading the rest. Defaults to DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// ReadTimeout bounds how long [Webhook.Handler] waits for a request
	// body (408 past it). Zero selects provider.DefaultWebhookReadTimeout
	// (10 s); negative leaves only the http.Server's ReadTimeout.
	ReadTimeout time.Duration
	// OrgID, when set, is the one organisation this webhook serves
	// (Event.OrgID): a host that gives each organisation its own
	// SendGrid account configures one Webhook per account, each with
	// that account's PublicKey, and the engine then ignores events
	// naming another organisation's message. Empty (one account for
	// every organisation): the engine takes the organisation from the
	// ledger row the event's message ID names. The organisation is
	// never read from the request: SendGrid does not sign the URL, so a
	// query parameter would let anyone re-post a captured batch for
	// another organisation.
	OrgID string
	// Now is the clock for the window. Defaults to time.Now.
	Now func() time.Time
}

// Webhook verifies and parses SendGrid event webhook batches. It is safe
// for concurrent use.
type Webhook struct {
	cfg Config
	key *ecdsa.PublicKey
}

// ParsePublicKey decodes SendGrid's base64 DER verification key.
func ParsePublicKey(b64 string) (*ecdsa.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, errors.New("sendgrid: public key is not base64")
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("sendgrid: public key: %w", err)
	}
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok || k.Curve.Params().Name != "P-256" {
		return nil, errors.New("sendgrid: public key is not an ECDSA P-256 key")
	}
	return k, nil
}

// NewWebhook validates cfg and returns a Webhook.
func NewWebhook(cfg Config) (*Webhook, error) {
	if cfg.PublicKey == "" {
		return nil, errors.New("sendgrid: Config.PublicKey is required (signed event webhook)")
	}
	key, err := ParsePublicKey(cfg.PublicKey)
	if err != nil {
		return nil, err
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Window < 0 {
		return nil, errors.New("sendgrid: Config.Window must not be negative")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Webhook{cfg: cfg, key: key}, nil
}

// VerifySignature reports whether signature (base64 DER ECDSA) signs
// timestamp followed by the raw body with key. The body must be the exact
// bytes received, trailing CRLF included.
func VerifySignature(key *ecdsa.PublicKey, signature, timestamp string, body []byte) bool {
	if key == nil || signature == "" || timestamp == "" {
		return false
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return false
	}
	h := sha256.New()
	io.WriteString(h, timestamp)
	h.Write(body)
	return ecdsa.VerifyASN1(key, h.Sum(nil), sig)
}

// Verify checks a request's signature and timestamp without parsing the
// body: ErrWebhookSignature for a missing or wrong signature,
// ErrWebhookStale for a timestamp outside the window.
func (w *Webhook) Verify(signature, timestamp string, body []byte) error {
	if w == nil || w.key == nil {
		return fmt.Errorf("sendgrid: no verification key configured: %w", provider.ErrWebhookSignature)
	}
	if signature == "" || timestamp == "" {
		return fmt.Errorf("sendgrid: missing signature or timestamp header: %w", provider.ErrWebhookSignature)
	}
	if !VerifySignature(w.key, signature, timestamp, body) {
		return fmt.Errorf("sendgrid: signature mismatch: %w", provider.ErrWebhookSignature)
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("sendgrid: timestamp is not a number: %w", provider.ErrWebhookMalformed)
	}
	d := w.cfg.Now().Sub(time.Unix(ts, 0))
	if d > w.cfg.Window || d < -w.cfg.Window {
		return fmt.Errorf("sendgrid: timestamp %s outside the %s window: %w", d.Round(time.Second), w.cfg.Window, provider.ErrWebhookStale)
	}
	return nil
}

// event is the part of a SendGrid event the adapter reads. Unknown fields
// are ignored.
type event struct {
	Email          string          `json:"email"`
	Timestamp      int64           `json:"timestamp"`
	Event          string          `json:"event"`
	EventID        string          `json:"sg_event_id"`
	MessageID      string          `json:"sg_message_id"`
	SMTPID         string          `json:"smtp-id"`
	Reason         string          `json:"reason"`
	Status         string          `json:"status"`
	Type           string          `json:"type"`
	Classification string          `json:"bounce_classification"`
	URL            string          `json:"url"`
	MachineOpen    bool            `json:"sg_machine_open"`
	Raw            json.RawMessage `json:"-"`
}

// ParseBody verifies a batch and translates its events. Events the engine
// has no use for (processed, deferred, unsubscribe, group_unsubscribe,
// group_resubscribe and unknown ones) are skipped.
//
//	delivered                     EventDelivered
//	bounce (type "bounce")        EventBounce, classified by status
//	                              (5.1.1 → hard, Suppress)
//	bounce (type "blocked")       EventBounce, Permanent, not hard
//	dropped "Bounced Address",
//	"Invalid"                     EventBounce, hard, Suppress
//	dropped "Spam Reporting
//	Address"                      EventComplaint
//	other dropped                 EventUndelivered, Permanent
//	spamreport                    EventComplaint
//	open, click                   EventOpen, EventClick (with URL); an open
//	                              with sg_machine_open is flagged Machine
//
// Event.ID is "sendgrid:" plus sg_event_id (a hash of the event when it is
// missing), so SendGrid's frequent redeliveries are harmless. Event.To is
// the recipient address. ProviderMessageID is the smtp-id (the Message-ID
// header, as provider/smtp returns it) or else the sg_message_id up to its
// first dot (the X-Message-Id of the v3 Mail Send API). Event.OrgID is
// Config.OrgID.
func (w *Webhook) ParseBody(signature, timestamp string, body []byte) ([]provider.Event, error) {
	if err := w.Verify(signature, timestamp, body); err != nil {
		return nil, err
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, fmt.Errorf("sendgrid: body is not a JSON array of events: %w", provider.ErrWebhookMalformed)
	}
	var out []provider.Event
	for i, raw := range raws {
		var e event
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("sendgrid: event %d is not an object: %w", i, provider.ErrWebhookMalformed)
		}
		ev, ok := translate(&e)
		if !ok {
			continue
		}
		ev.OrgID = w.cfg.OrgID
		ev.ID = "sendgrid:" + e.EventID
		if e.EventID == "" {
			sum := sha256.Sum256(raw)
			ev.ID = "sendgrid:h:" + hex.EncodeToString(sum[:16])
		}
		out = append(out, ev)
	}
	return out, nil
}

func translate(e *event) (provider.Event, bool) {
	ev := provider.Event{To: e.Email, At: time.Unix(e.Timestamp, 0).UTC()}
	ev.ProviderMessageID = strings.Trim(e.SMTPID, "<> ")
	if ev.ProviderMessageID == "" {
		ev.ProviderMessageID, _, _ = strings.Cut(e.MessageID, ".")
	}
	switch e.Event {
	case "delivered":
		ev.Kind = provider.EventDelivered
	case "bounce":
		// A bounce is final for the message (SendGrid reports soft
		// failures as "deferred"); it suppresses the address only for a
		// dead mailbox, never for a block (type "blocked", 5.7.x).
		ev.Kind, ev.Code, ev.Class = provider.EventBounce, e.Status, provider.Permanent
		c := provider.ClassifyBounce(e.Status)
		unknownStatus := c == provider.Ambiguous || c == provider.Permanent && !strings.HasPrefix(e.Status, "5.7.")
		deadMailbox := e.Classification == "Invalid Address" || e.Classification == "Mailbox Unavailable"
		switch {
		case e.Type == "blocked" || c == provider.SenderBlocked:
			ev.Class = provider.SenderBlocked
		case c == provider.Suppress || unknownStatus && deadMailbox:
			ev.Class = provider.Suppress
		}
		ev.HardBounce = ev.Class == provider.Suppress
	case "dropped":
		switch e.Reason {
		case "Bounced Address", "Invalid":
			ev.Kind, ev.Class, ev.HardBounce = provider.EventBounce, provider.Suppress, true
		case "Spam Reporting Address":
			ev.Kind = provider.EventComplaint
		default:
			ev.Kind, ev.Class = provider.EventUndelivered, provider.Permanent
		}
		ev.Code = "dropped"
	case "spamreport":
		ev.Kind = provider.EventComplaint
	case "open":
		ev.Kind = provider.EventOpen
		if e.MachineOpen { // Apple Mail Privacy Protection and similar proxies (TR-04)
			ev.Machine, ev.MachineReason = true, "sg_machine_open"
		}
	case "click":
		ev.Kind, ev.URL = provider.EventClick, e.URL
	default:
		return provider.Event{}, false
	}
	return ev, true
}

// Parse reads, verifies and translates a webhook request (see ParseBody).
// It reads at most Config.MaxBodyBytes but sets no read deadline:
// [Webhook.Handler] does.
func (w *Webhook) Parse(r *http.Request) ([]provider.Event, error) {
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("sendgrid: method %s: %w", r.Method, provider.ErrWebhookMalformed)
	}
	max := w.limits().MaxBytes
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("sendgrid: body unreadable: %w", provider.ErrWebhookMalformed)
	}
	if int64(len(body)) > max {
		return nil, fmt.Errorf("sendgrid: body larger than %d bytes: %w", max, provider.ErrWebhookTooLarge)
	}
	return w.parse(r, body)
}

func (w *Webhook) parse(r *http.Request, body []byte) ([]provider.Event, error) {
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("sendgrid: method %s: %w", r.Method, provider.ErrWebhookMalformed)
	}
	return w.ParseBody(r.Header.Get(SignatureHeader), r.Header.Get(TimestampHeader), body)
}

func (w *Webhook) limits() provider.BodyLimits {
	if w == nil {
		return provider.BodyLimits{MaxBytes: DefaultMaxBodyBytes}
	}
	return provider.BodyLimits{MaxBytes: w.cfg.MaxBodyBytes, ReadTimeout: w.cfg.ReadTimeout}
}

// Handler returns an http.Handler that reads each request's body within
// Config.MaxBodyBytes and Config.ReadTimeout, verifies and parses it,
// passes the events to sink and answers 204; 403 for a missing or wrong
// signature, 401 for a stale timestamp, 400 for a malformed body, 413
// for one too large, 408 for one too slow (sink is not called), and 500
// when sink fails so that SendGrid redelivers.
func (w *Webhook) Handler(sink provider.EventSink) http.Handler {
	return provider.WebhookHandler(w.limits(), w.parse, sink, nil)
}
