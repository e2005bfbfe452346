package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/carecast/carecast/provider"
)

// DefaultBaseURL is Twilio's REST API root.
const DefaultBaseURL = "https://api.twilio.com"

// DefaultTimeout bounds one send request when Config.Timeout is zero.
const DefaultTimeout = 15 * time.Second

// Config configures a [Client]. Credentials are either the account's Auth
// Token or an API key (SID "SK…" and secret); API keys are recommended
// because they can be revoked one by one.
type Config struct {
	// AccountSID is the account ("AC…") messages are sent from. Required.
	AccountSID string
	// AuthToken authenticates as the account. Either AuthToken or both
	// APIKeySID and APIKeySecret are required.
	AuthToken string
	// APIKeySID ("SK…") and APIKeySecret authenticate with an API key.
	APIKeySID    string
	APIKeySecret string
	// From is the default sender: an E.164 number or short code, used
	// when SMSMessage.From is empty. Either From or MessagingServiceSID
	// is required.
	From string
	// MessagingServiceSID ("MG…") sends through a Messaging Service
	// (sender pool, Advanced Opt-Out). It wins over From when both are
	// set. An SMSMessage.From starting with "MG" is also sent as a
	// Messaging Service SID.
	MessagingServiceSID string
	// StatusCallback is the default status callback URL, used when
	// SMSMessage.StatusCallback is empty. Empty means none.
	StatusCallback string
	// BaseURL is the API root. Defaults to DefaultBaseURL; tests and
	// regional or proxy deployments override it.
	BaseURL string
	// HTTPClient sends the requests. Defaults to a client with Timeout.
	HTTPClient *http.Client
	// Timeout bounds one request when HTTPClient is nil. Defaults to
	// DefaultTimeout.
	Timeout time.Duration
	// BAACoversPHI declares that the host's BAA with Twilio covers this
	// account (a Twilio Edition with HIPAA accounts, a designated HIPAA
	// project, HIPAA-eligible services only), so PHI-bearing blasts may
	// be sent through it (provider.BAACoverage; compliance.md HI-05).
	// Defaults to false.
	BAACoversPHI bool
	// PhoneNumberRedaction declares that the account has Twilio's Phone
	// Number Redaction on (provider.Redaction). Twilio's STOP filtering
	// and Advanced Opt-Out do not work with it, so the engine answers
	// STOP, START and HELP itself (compliance.md SM-08).
	PhoneNumberRedaction bool
	// LookupBaseURL is the Lookup v2 API root (LookupLineType). Defaults
	// to DefaultLookupBaseURL.
	LookupBaseURL string
	// QueueWindow is how long after its send attempt a message may still
	// wait in Twilio's outgoing queue, unlisted by date sent
	// (CheckAccepted answers "not accepted" only once it has passed).
	// Defaults to DefaultQueueWindow.
	QueueWindow time.Duration
	// Now is the clock CheckAccepted compares QueueWindow with. Defaults
	// to time.Now.
	Now func() time.Time
}

// Client sends SMS and MMS through Twilio's Messages REST API. It is safe
// for concurrent use.
type Client struct {
	cfg      Config
	endpoint string
	user     string
	pass     string
	hc       *http.Client
}

var (
	_ provider.SMSSender = (*Client)(nil)
)

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.AccountSID == "" {
		return nil, errors.New("twilio: Config.AccountSID is required")
	}
	user, pass := cfg.AccountSID, cfg.AuthToken
	switch {
	case cfg.APIKeySID != "" || cfg.APIKeySecret != "":
		if cfg.APIKeySID == "" || cfg.APIKeySecret == "" {
			return nil, errors.New("twilio: Config.APIKeySID and Config.APIKeySecret must be set together")
		}
		user, pass = cfg.APIKeySID, cfg.APIKeySecret
	case cfg.AuthToken == "":
		return nil, errors.New("twilio: Config.AuthToken or an API key (APIKeySID, APIKeySecret) is required")
	}
	if cfg.From == "" && cfg.MessagingServiceSID == "" {
		return nil, errors.New("twilio: Config.From or Config.MessagingServiceSID is required")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("twilio: Config.BaseURL %q is not an http(s) URL", cfg.BaseURL)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.QueueWindow <= 0 {
		cfg.QueueWindow = DefaultQueueWindow
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: cfg.Timeout}
	}
	return &Client{
		cfg:      cfg,
		endpoint: strings.TrimRight(cfg.BaseURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID) + "/Messages.json",
		user:     user,
		pass:     pass,
		hc:       hc,
	}, nil
}

// messageResource is the part of Twilio's Message resource the adapter
// reads.
type messageResource struct {
	SID         string          `json:"sid"`
	Status      string          `json:"status"`
	NumSegments json.RawMessage `json:"num_segments"`
	ErrorCode   *int            `json:"error_code"`
}

// apiError is Twilio's error body.
type apiError struct {
	Code   int `json:"code"`
	Status int `json:"status"`
}

// CoversPHI implements provider.BAACoverage: it reports
// Config.BAACoversPHI.
func (c *Client) CoversPHI() bool { return c.cfg.BAACoversPHI }

// RedactsNumbers implements provider.Redaction: it reports
// Config.PhoneNumberRedaction.
func (c *Client) RedactsNumbers() bool { return c.cfg.PhoneNumberRedaction }

// SendSMS sends msg with one POST to the Messages resource. It never
// retries. Failures are *provider.Error values classified per
// compliance.md SF-01 (see [ClassifyCode]); a request whose outcome is
// unknown (the connection broke after the request was written, or the
// answer is unreadable) is Ambiguous.
func (c *Client) SendSMS(ctx context.Context, msg *provider.SMSMessage) (provider.Result, error) {
	if msg == nil || msg.To == "" || (msg.Body == "" && len(msg.MediaURLs) == 0) {
		return provider.Result{}, &provider.Error{Class: provider.Permanent, Message: "twilio: message needs a recipient and a body or media"}
	}
	if err := ctx.Err(); err != nil {
		return provider.Result{}, &provider.Error{Class: provider.Transient, Message: "twilio: not sent", Err: err}
	}
	form := url.Values{}
	form.Set("To", msg.To)
	if from, service := c.sender(msg.From); service {
		form.Set("MessagingServiceSid", from)
	} else {
		form.Set("From", from)
	}
	if msg.Body != "" {
		form.Set("Body", msg.Body)
	}
	for _, m := range msg.MediaURLs {
		form.Add("MediaUrl", m)
	}
	cb := msg.StatusCallback
	if cb == "" {
		cb = c.cfg.StatusCallback
	}
	if cb != "" {
		form.Set("StatusCallback", cb)
	}

	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(info httptrace.WroteRequestInfo) {
		if info.Err == nil {
			wrote.Store(true)
		}
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, c.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return provider.Result{}, &provider.Error{Class: provider.Permanent, Message: "twilio: build request", Err: err}
	}
	req.SetBasicAuth(c.user, c.pass)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")

	resp, err := c.hc.Do(req)
	if err != nil {
		return provider.Result{}, transportError(err, wrote.Load())
	}
	defer resp.Body.Close()
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK {
		var m messageResource
		if rerr != nil {
			return provider.Result{}, &provider.Error{Class: provider.Ambiguous, Code: strconv.Itoa(resp.StatusCode), Message: "twilio: accepted answer cut short", Err: scrub(rerr)}
		}
		if err := json.Unmarshal(body, &m); err != nil || !strings.HasPrefix(m.SID, "SM") && !strings.HasPrefix(m.SID, "MM") {
			return provider.Result{}, &provider.Error{Class: provider.Ambiguous, Code: strconv.Itoa(resp.StatusCode), Message: "twilio: success answer without a message SID"}
		}
		if m.Status == "failed" || m.Status == "undelivered" {
			code := 0
			if m.ErrorCode != nil {
				code = *m.ErrorCode
			}
			return provider.Result{ProviderMessageID: m.SID}, codeError(code, resp.StatusCode, 0)
		}
		return provider.Result{ProviderMessageID: m.SID, Segments: parseSegments(m.NumSegments)}, nil
	}
	var ae apiError
	_ = json.Unmarshal(body, &ae)
	return provider.Result{}, codeError(ae.Code, resp.StatusCode, parseRetryAfter(resp.Header.Get("Retry-After")))
}

// sender resolves a message's From ("" is the configured default) and
// reports whether it is a Messaging Service SID.
func (c *Client) sender(from string) (string, bool) {
	if from == "" {
		from = c.cfg.From
		if c.cfg.MessagingServiceSID != "" {
			from = c.cfg.MessagingServiceSID
		}
	}
	return from, strings.HasPrefix(from, "MG")
}

// transportError classifies a failed round trip: Ambiguous once the
// request was written (Twilio may have queued the message), Transient
// before.
func transportError(err error, wrote bool) *provider.Error {
	if wrote {
		return &provider.Error{Class: provider.Ambiguous, Message: "twilio: connection failed after the request was sent", Err: scrub(err)}
	}
	return &provider.Error{Class: provider.Transient, Message: "twilio: request not sent", Err: scrub(err)}
}

// scrub drops the URL from *url.Error (it holds the account SID, never
// PHI, but keeps errors short) while keeping the cause for errors.Is.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// codeError builds the classified error for a Twilio error code and HTTP
// status.
func codeError(code, status int, retryAfter time.Duration) *provider.Error {
	e := &provider.Error{RetryAfter: retryAfter}
	switch {
	case code != 0:
		e.Code = strconv.Itoa(code)
		e.Class = ClassifyCode(code)
		e.Message = "twilio: " + codeText(code)
		if code == 20429 || status == http.StatusTooManyRequests {
			e.Class = provider.RateLimited
		}
	case status == http.StatusTooManyRequests:
		e.Code, e.Class, e.Message = "20429", provider.RateLimited, "twilio: too many requests"
	case status == http.StatusGatewayTimeout:
		// A gateway timed out waiting for Twilio, which may have queued
		// the message.
		e.Code, e.Class, e.Message = strconv.Itoa(status), provider.Ambiguous, "twilio: gateway timeout, outcome unknown"
	case status >= 500:
		e.Code, e.Class, e.Message = strconv.Itoa(status), provider.Transient, "twilio: server error"
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Code, e.Class, e.Message = strconv.Itoa(status), provider.Permanent, "twilio: credentials rejected"
	default:
		e.Code, e.Class, e.Message = strconv.Itoa(status), provider.Permanent, "twilio: unexpected answer"
	}
	if e.Class != provider.RateLimited && e.Class != provider.Transient {
		e.RetryAfter = 0
	}
	return e
}

func parseSegments(raw json.RawMessage) int {
	s := strings.Trim(string(raw), `"`)
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// parseRetryAfter reads Retry-After as seconds or an HTTP date.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
