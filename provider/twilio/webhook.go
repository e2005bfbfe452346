package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/carecast/carecast/provider"
)

// DefaultMaxBodyBytes bounds a webhook request body when
// WebhookConfig.MaxBodyBytes is zero.
const DefaultMaxBodyBytes = 64 << 10

// WebhookConfig configures a [Webhook].
type WebhookConfig struct {
	// AuthToken is the account's Auth Token, the HMAC-SHA1 key Twilio signs
	// webhooks with. Required.
	AuthToken string
	// PublicURL is the scheme and authority Twilio calls, exactly as
	// configured in Twilio ("https://hooks.clinic.example"). The path and
	// query are taken from the request line as received. The URL is never
	// rebuilt from Host or X-Forwarded-* headers, which a caller controls.
	// Required.
	PublicURL string
	// SigningKeys are the shared keys of Twilio Webhooks rules, by name.
	// A request with "X-Twilio-Webhooks-Signature-Settings:
	// key=<name>,algorithm=HMAC_SHA256" is verified with SigningKeys[name]
	// and HMAC-SHA256. Empty means such requests are rejected.
	SigningKeys map[string]string
	// AccountSID, when set, rejects verified callbacks for any other
	// account with ErrWebhookForbidden.
	AccountSID string
	// OrgParam is the query parameter of the callback URL that names the
	// organisation (Event.OrgID). Defaults to "org". It can be trusted
	// because Twilio signs the whole URL, query included: a signed
	// request re-posted with another value fails verification.
	OrgParam string
	// MessageParam is the query parameter of the status-callback URL that
	// carries the engine's message ID (provider.SMSMessage.ID, the ledger
	// row), copied to Event.MessageID, so a delivery receipt can resolve
	// a row whose send answer was lost (in doubt). Defaults to "msg".
	// Trusted for the same reason as OrgParam: Twilio signs the whole URL.
	MessageParam string
	// MaxBodyBytes bounds the request body; a larger one is refused (413)
	// without reading the rest. Defaults to DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// ReadTimeout bounds how long the handlers wait for a request body
	// (408 past it). Zero selects provider.DefaultWebhookReadTimeout
	// (10 s); negative leaves only the http.Server's ReadTimeout.
	ReadTimeout time.Duration
	// Now is the clock stamped on events (Twilio callbacks carry no
	// time). Defaults to time.Now.
	Now func() time.Time
}

// Webhook verifies and parses Twilio status callbacks and inbound
// messages. It is safe for concurrent use.
type Webhook struct {
	cfg  WebhookConfig
	base string
}

// NewWebhook validates cfg and returns a Webhook.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	if cfg.AuthToken == "" {
		return nil, errors.New("twilio: WebhookConfig.AuthToken is required")
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, errors.New("twilio: WebhookConfig.PublicURL must be scheme://host[:port] with no path")
	}
	if cfg.OrgParam == "" {
		cfg.OrgParam = "org"
	}
	if cfg.MessageParam == "" {
		cfg.MessageParam = "msg"
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Webhook{cfg: cfg, base: strings.TrimRight(cfg.PublicURL, "/")}, nil
}

// ValidateSignature reports whether signature (the X-Twilio-Signature
// header) is the HMAC-SHA1 of fullURL followed by the POST parameters
// sorted by name (name then value, no separators), keyed with authToken.
// The comparison is constant-time. Like Twilio's SDKs it also accepts the
// URL with its port removed or with the scheme's default port added, so a
// proxy that rewrites the port does not break verification.
func ValidateSignature(authToken, fullURL string, params url.Values, signature string) bool {
	return validate(sha1.New, authToken, fullURL, params, signature)
}

// ValidateJSONSignature verifies a webhook with a JSON body: fullURL
// carries bodySHA256=<hex SHA-256 of body>, the signature covers the URL
// alone, and the body must hash to that value.
func ValidateJSONSignature(authToken, fullURL string, body []byte, signature string) bool {
	return validateJSON(sha1.New, authToken, fullURL, body, signature)
}

func validateJSON(h func() hash.Hash, key, fullURL string, body []byte, signature string) bool {
	u, err := url.Parse(fullURL)
	if err != nil {
		return false
	}
	want := u.Query().Get("bodySHA256")
	sum := sha256.Sum256(body)
	got := hex.EncodeToString(sum[:])
	if want == "" || !hmac.Equal([]byte(strings.ToLower(want)), []byte(got)) {
		return false
	}
	return validate(h, key, fullURL, nil, signature)
}

func validate(h func() hash.Hash, key, fullURL string, params url.Values, signature string) bool {
	if key == "" || signature == "" {
		return false
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return false
	}
	ok := false
	for _, u := range urlVariants(fullURL) {
		for _, p := range paramStrings(params) {
			mac := hmac.New(h, []byte(key))
			io.WriteString(mac, u)
			io.WriteString(mac, p)
			// Evaluate every variant so timing does not reveal which matched.
			if hmac.Equal(mac.Sum(nil), sig) {
				ok = true
			}
		}
	}
	return ok
}

// urlVariants returns fullURL as given, then with the port removed or the
// default port added.
func urlVariants(fullURL string) []string {
	out := []string{fullURL}
	u, err := url.Parse(fullURL)
	if err != nil || u.Host == "" {
		return out
	}
	// Keep the host exactly as received (case matters to the signature):
	// split the authority text ourselves.
	rest := fullURL[len(u.Scheme)+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	if host, _, err := net.SplitHostPort(authority); err == nil {
		return append(out, u.Scheme+"://"+host+tail)
	}
	def := map[string]string{"https": "443", "http": "80"}[u.Scheme]
	if def != "" {
		out = append(out, u.Scheme+"://"+authority+":"+def+tail)
	}
	return out
}

// paramStrings returns the concatenated sorted parameters; when a name
// repeats, both the plain form and the deduplicated form (as some Twilio
// SDKs sign) are returned.
func paramStrings(params url.Values) []string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var plain, dedup strings.Builder
	dup := false
	for _, k := range keys {
		vs := slices.Clone(params[k])
		slices.Sort(vs)
		for i, v := range vs {
			plain.WriteString(k + v)
			if i > 0 && vs[i-1] == v {
				dup = true
				continue
			}
			dedup.WriteString(k + v)
		}
	}
	if dup {
		return []string{plain.String(), dedup.String()}
	}
	return []string{plain.String()}
}

// verify reads and authenticates r, returning its POST parameters. It
// reads at most MaxBodyBytes but sets no read deadline: the handlers do.
func (w *Webhook) verify(r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("twilio: method %s: %w", r.Method, provider.ErrWebhookMalformed)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, w.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("twilio: read body: %w", provider.ErrWebhookMalformed)
	}
	if int64(len(body)) > w.cfg.MaxBodyBytes {
		return nil, fmt.Errorf("twilio: body larger than %d bytes: %w", w.cfg.MaxBodyBytes, provider.ErrWebhookTooLarge)
	}
	return w.verifyBody(r, body)
}

// verifyBody authenticates r with its body already read. The signed URL
// is PublicURL plus the request line's path and query as received, so
// the org query parameter (OrgParam) is covered by the signature.
func (w *Webhook) verifyBody(r *http.Request, body []byte) (url.Values, error) {
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("twilio: method %s: %w", r.Method, provider.ErrWebhookMalformed)
	}
	sig := r.Header.Get("X-Twilio-Signature")
	if sig == "" {
		return nil, fmt.Errorf("twilio: missing X-Twilio-Signature: %w", provider.ErrWebhookSignature)
	}
	h, key := sha1.New, w.cfg.AuthToken
	if settings := r.Header.Get("X-Twilio-Webhooks-Signature-Settings"); settings != "" {
		name, alg := "", ""
		for _, kv := range strings.Split(settings, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
			switch k {
			case "key":
				name = v
			case "algorithm":
				alg = v
			}
		}
		k, ok := w.cfg.SigningKeys[name]
		if !ok || alg != "HMAC_SHA256" {
			return nil, fmt.Errorf("twilio: unknown webhook signing key or algorithm: %w", provider.ErrWebhookSignature)
		}
		h, key = sha256.New, k
	}
	target := r.RequestURI
	if target == "" {
		target = r.URL.RequestURI()
	}
	full := w.base + target
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		if !validateJSON(h, key, full, body, sig) {
			return nil, fmt.Errorf("twilio: signature mismatch: %w", provider.ErrWebhookSignature)
		}
		return nil, fmt.Errorf("twilio: JSON callbacks are not messaging callbacks: %w", provider.ErrWebhookMalformed)
	case "application/x-www-form-urlencoded", "":
	default:
		return nil, fmt.Errorf("twilio: content type %q: %w", mt, provider.ErrWebhookMalformed)
	}
	params, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("twilio: form body: %w", provider.ErrWebhookMalformed)
	}
	if !validate(h, key, full, params, sig) {
		return nil, fmt.Errorf("twilio: signature mismatch: %w", provider.ErrWebhookSignature)
	}
	if w.cfg.AccountSID != "" && params.Get("AccountSid") != w.cfg.AccountSID {
		return nil, fmt.Errorf("twilio: callback for another account: %w", provider.ErrWebhookForbidden)
	}
	return params, nil
}

// messageSID returns the callback's MessageSid (or legacy SmsSid).
func messageSID(p url.Values) string {
	if s := p.Get("MessageSid"); s != "" {
		return s
	}
	return p.Get("SmsSid")
}

// ParseStatus verifies a status callback and translates it: "delivered"
// becomes EventDelivered; "undelivered" and "failed" become
// EventUndelivered with the error code classified by [ClassifyCode]
// (30006 Landline, 30003 Transient, 30005 Permanent, …). Intermediate
// statuses (queued, sent, …) yield no event. The event ID is stable across
// Twilio's redeliveries: MessageSid, status and error code.
func (w *Webhook) ParseStatus(r *http.Request) ([]provider.Event, error) {
	p, err := w.verify(r)
	if err != nil {
		return nil, err
	}
	return w.status(r, p)
}

func (w *Webhook) status(r *http.Request, p url.Values) ([]provider.Event, error) {
	sid := messageSID(p)
	status := p.Get("MessageStatus")
	if status == "" {
		status = p.Get("SmsStatus")
	}
	if sid == "" || status == "" {
		return nil, fmt.Errorf("twilio: status callback without MessageSid or MessageStatus: %w", provider.ErrWebhookMalformed)
	}
	ev := provider.Event{
		ID:                "twilio:" + sid + ":" + status,
		OrgID:             r.URL.Query().Get(w.cfg.OrgParam),
		ProviderMessageID: sid,
		MessageID:         r.URL.Query().Get(w.cfg.MessageParam),
		At:                w.cfg.Now(),
	}
	switch status {
	case "delivered":
		ev.Kind = provider.EventDelivered
	case "undelivered", "failed":
		ev.Kind = provider.EventUndelivered
		ev.Class = provider.Permanent
		if c := p.Get("ErrorCode"); c != "" {
			n, err := strconv.Atoi(c)
			if err != nil {
				return nil, fmt.Errorf("twilio: ErrorCode is not a number: %w", provider.ErrWebhookMalformed)
			}
			ev.Code = c
			ev.Class = ClassifyCode(n)
			ev.ID += ":" + c
		}
	default:
		return nil, nil
	}
	return []provider.Event{ev}, nil
}

// ParseInbound verifies an incoming message webhook and translates it into
// an EventInbound. The keyword comes from Twilio's OptOutType when Twilio
// Advanced Opt-Out matched it (then ProviderHandledOptOut is true: Twilio
// already replied, so the engine must not send a second confirmation),
// otherwise from [provider.ParseKeyword]. The body may be PHI: it is never
// logged or put in errors.
func (w *Webhook) ParseInbound(r *http.Request) ([]provider.Event, error) {
	p, err := w.verify(r)
	if err != nil {
		return nil, err
	}
	return w.inbound(r, p)
}

func (w *Webhook) inbound(r *http.Request, p url.Values) ([]provider.Event, error) {
	sid := messageSID(p)
	if sid == "" || p.Get("From") == "" {
		return nil, fmt.Errorf("twilio: inbound message without MessageSid or From: %w", provider.ErrWebhookMalformed)
	}
	ev := provider.Event{
		ID:                "twilio:" + sid,
		OrgID:             r.URL.Query().Get(w.cfg.OrgParam),
		Kind:              provider.EventInbound,
		ProviderMessageID: sid,
		At:                w.cfg.Now(),
		From:              p.Get("From"),
		To:                p.Get("To"),
		Body:              p.Get("Body"),
	}
	switch strings.ToUpper(p.Get("OptOutType")) {
	case "STOP":
		ev.Keyword, ev.ProviderHandledOptOut = provider.KeywordStop, true
	case "START":
		ev.Keyword, ev.ProviderHandledOptOut = provider.KeywordStart, true
	case "HELP":
		ev.Keyword, ev.ProviderHandledOptOut = provider.KeywordHelp, true
	default:
		ev.Keyword = provider.ParseKeyword(ev.Body)
	}
	return []provider.Event{ev}, nil
}

// StatusHandler returns an http.Handler for status callbacks: it reads
// the body within MaxBodyBytes and ReadTimeout, verifies and parses the
// request like ParseStatus, passes the events to sink, and answers 204;
// 403 for a missing or wrong signature, 400 for a malformed request, 413
// for a body too large, 408 for one too slow (sink is not called), 500
// when sink fails so that Twilio redelivers.
func (w *Webhook) StatusHandler(sink provider.EventSink) http.Handler {
	return w.handler(w.status, sink, false)
}

// InboundHandler returns an http.Handler for incoming messages, like
// StatusHandler, answering an empty TwiML <Response/> (the engine sends
// any reply itself).
func (w *Webhook) InboundHandler(sink provider.EventSink) http.Handler {
	return w.handler(w.inbound, sink, true)
}

func (w *Webhook) handler(translate func(*http.Request, url.Values) ([]provider.Event, error), sink provider.EventSink, twiml bool) http.Handler {
	var success http.HandlerFunc
	if twiml {
		success = func(rw http.ResponseWriter, _ *http.Request) {
			rw.Header().Set("Content-Type", "text/xml; charset=utf-8")
			io.WriteString(rw, `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`)
		}
	}
	parse := func(r *http.Request, body []byte) ([]provider.Event, error) {
		p, err := w.verifyBody(r, body)
		if err != nil {
			return nil, err
		}
		return translate(r, p)
	}
	limits := provider.BodyLimits{MaxBytes: w.cfg.MaxBodyBytes, ReadTimeout: w.cfg.ReadTimeout}
	return provider.WebhookHandler(limits, parse, sink, success)
}
