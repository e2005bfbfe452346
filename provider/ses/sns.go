package ses

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/carecast/carecast/provider"
)

// Defaults for Config fields left zero.
const (
	DefaultMaxBodyBytes = 256 << 10
	DefaultHTTPTimeout  = 10 * time.Second
	// confirmedMemory is how many confirmed subscription MessageIds are
	// remembered to ignore replays.
	confirmedMemory = 1024
)

// CertFetcher returns the X.509 certificate at an SNS SigningCertURL. The
// URL has already passed the host allow-list when it is called.
type CertFetcher interface {
	FetchCertificate(ctx context.Context, certURL string) (*x509.Certificate, error)
}

// Config configures a [Webhook].
type Config struct {
	// AllowedTopics are the SNS topic ARNs whose messages are accepted.
	// Required: messages from any other topic are refused (403) and their
	// subscriptions never confirmed.
	AllowedTopics []string
	// CertFetcher fetches signing certificates. Defaults to an HTTPS
	// fetcher with an in-memory cache, using HTTPClient.
	CertFetcher CertFetcher
	// HTTPClient fetches certificates (default fetcher) and visits
	// SubscribeURL. Defaults to a client with DefaultHTTPTimeout.
	HTTPClient *http.Client
	// MaxAge, when positive, refuses messages whose Timestamp is older
	// (ErrWebhookStale). Zero disables the check: SNS retries a failed
	// delivery for up to an hour by default, and duplicates are harmless.
	MaxAge time.Duration
	// MaxBodyBytes bounds a request body. Defaults to DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// OrgParam is the query parameter of the endpoint URL naming the
	// organisation (Event.OrgID). Defaults to "org".
	OrgParam string
	// Now is the clock for MaxAge. Defaults to time.Now.
	Now func() time.Time
}

// Webhook verifies Amazon SNS messages carrying SES notifications,
// confirms subscriptions, and translates notifications into events. It is
// safe for concurrent use.
type Webhook struct {
	cfg Config

	mu        sync.Mutex
	confirmed []string // MessageIds of confirmed subscriptions, oldest first
}

// NewWebhook validates cfg and returns a Webhook.
func NewWebhook(cfg Config) (*Webhook, error) {
	if len(cfg.AllowedTopics) == 0 {
		return nil, errors.New("ses: Config.AllowedTopics is required")
	}
	for _, t := range cfg.AllowedTopics {
		if !strings.HasPrefix(t, "arn:aws") || strings.Count(t, ":") != 5 {
			return nil, errors.New("ses: Config.AllowedTopics holds a value that is not an SNS topic ARN")
		}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if cfg.CertFetcher == nil {
		cfg.CertFetcher = &HTTPCertFetcher{Client: cfg.HTTPClient}
	}
	if cfg.MaxAge < 0 {
		return nil, errors.New("ses: Config.MaxAge must not be negative")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.OrgParam == "" {
		cfg.OrgParam = "org"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Webhook{cfg: cfg}, nil
}

// snsHostRE is the signing-certificate host pattern of aws-sdk-ruby's
// Aws::SNS::MessageVerifier.
var snsHostRE = regexp.MustCompile(`^sns\.[a-zA-Z0-9-]{3,}\.amazonaws\.com(\.cn)?$`)

// CheckSNSURL reports whether raw is an https URL on an SNS host, without
// user info or an explicit port, and (when pemPath) with a path ending in
// ".pem". Signing certificates and SubscribeURLs are fetched only from
// such URLs.
func CheckSNSURL(raw string, pemPath bool) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("ses: URL does not parse")
	case u.Scheme != "https":
		return errors.New("ses: URL is not https")
	case u.User != nil:
		return errors.New("ses: URL has user info")
	case u.Port() != "":
		return errors.New("ses: URL has an explicit port")
	case !snsHostRE.MatchString(u.Hostname()):
		return errors.New("ses: URL host is not an SNS host")
	case pemPath && !strings.HasSuffix(u.Path, ".pem"):
		return errors.New("ses: certificate URL does not end in .pem")
	}
	return nil
}

// Message is an SNS HTTP(S) message, with SNS's own field names. Unknown
// fields are ignored.
type Message struct {
	// Type is "Notification", "SubscriptionConfirmation" or
	// "UnsubscribeConfirmation".
	Type string
	// MessageId is unique per message and reused on retries.
	MessageId string
	// Token is the subscription confirmation token.
	Token string
	// TopicArn is the topic the message was published to.
	TopicArn string
	// Subject is a notification's optional subject.
	Subject string
	// Message is the payload: for SES, the notification JSON.
	Message string
	// Timestamp is when SNS published the message (RFC 3339).
	Timestamp string
	// SignatureVersion is "1" (SHA1withRSA) or "2" (SHA256withRSA).
	SignatureVersion string
	// Signature is the base64 RSA signature over StringToSign.
	Signature string
	// SigningCertURL is where the signing certificate is published.
	SigningCertURL string
	// SubscribeURL confirms a subscription when visited.
	SubscribeURL string
}

// StringToSign returns the canonical text SNS signs for m: "Key\nValue\n"
// pairs of a fixed field list in a fixed order (Subject only when present).
func (m *Message) StringToSign() (string, error) {
	var keys []string
	switch m.Type {
	case "Notification":
		keys = []string{"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"}
	case "SubscriptionConfirmation", "UnsubscribeConfirmation":
		keys = []string{"Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"}
	default:
		return "", errors.New("ses: unknown SNS message type")
	}
	vals := map[string]string{
		"Message": m.Message, "MessageId": m.MessageId, "Subject": m.Subject, "Timestamp": m.Timestamp,
		"TopicArn": m.TopicArn, "Type": m.Type, "SubscribeURL": m.SubscribeURL, "Token": m.Token,
	}
	var b strings.Builder
	for _, k := range keys {
		if k == "Subject" && m.Subject == "" {
			continue
		}
		b.WriteString(k + "\n" + vals[k] + "\n")
	}
	return b.String(), nil
}

// VerifySignature checks m's signature with the certificate's RSA key:
// SignatureVersion "1" is SHA1withRSA, "2" SHA256withRSA.
func (m *Message) VerifySignature(cert *x509.Certificate) error {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errors.New("ses: signing certificate key is not RSA")
	}
	s, err := m.StringToSign()
	if err != nil {
		return err
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		return errors.New("ses: signature is not base64")
	}
	switch m.SignatureVersion {
	case "1":
		h := sha1.Sum([]byte(s))
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA1, h[:], sig)
	case "2":
		h := sha256.Sum256([]byte(s))
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig)
	default:
		return errors.New("ses: unsupported SignatureVersion")
	}
	if err != nil {
		return errors.New("ses: signature mismatch")
	}
	return nil
}

// Verify reads, authenticates and authorises an SNS request, returning the
// message. Checks, in order: POST and size (400), JSON shape (400),
// signing-certificate URL allow-list, before any fetch (403), topic
// allow-list (403), certificate validity and signature (403), MaxAge
// (401). A certificate that cannot be fetched is a plain error (500), so
// that SNS retries.
func (w *Webhook) Verify(r *http.Request) (*Message, error) {
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("ses: method %s: %w", r.Method, provider.ErrWebhookMalformed)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, w.cfg.MaxBodyBytes+1))
	if err != nil || int64(len(body)) > w.cfg.MaxBodyBytes {
		return nil, fmt.Errorf("ses: body unreadable or larger than %d bytes: %w", w.cfg.MaxBodyBytes, provider.ErrWebhookMalformed)
	}
	var m Message
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("ses: body is not an SNS message: %w", provider.ErrWebhookMalformed)
	}
	if _, err := m.StringToSign(); err != nil || m.MessageId == "" || m.TopicArn == "" || m.Signature == "" {
		return nil, fmt.Errorf("ses: SNS message lacks Type, MessageId, TopicArn or Signature: %w", provider.ErrWebhookMalformed)
	}
	if err := CheckSNSURL(m.SigningCertURL, true); err != nil {
		return nil, fmt.Errorf("%w: %w", err, provider.ErrWebhookSignature)
	}
	if !slices.Contains(w.cfg.AllowedTopics, m.TopicArn) {
		return nil, fmt.Errorf("ses: topic not in Config.AllowedTopics: %w", provider.ErrWebhookForbidden)
	}
	cert, err := w.cfg.CertFetcher.FetchCertificate(r.Context(), m.SigningCertURL)
	if err != nil {
		return nil, fmt.Errorf("ses: fetch signing certificate: %w", err)
	}
	now := w.cfg.Now()
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return nil, fmt.Errorf("ses: signing certificate expired or not yet valid: %w", provider.ErrWebhookSignature)
	}
	if err := m.VerifySignature(cert); err != nil {
		return nil, fmt.Errorf("%w: %w", err, provider.ErrWebhookSignature)
	}
	if w.cfg.MaxAge > 0 {
		ts, err := time.Parse(time.RFC3339, m.Timestamp)
		if err != nil {
			return nil, fmt.Errorf("ses: Timestamp does not parse: %w", provider.ErrWebhookMalformed)
		}
		if now.Sub(ts) > w.cfg.MaxAge {
			return nil, fmt.Errorf("ses: message older than Config.MaxAge: %w", provider.ErrWebhookStale)
		}
	}
	return &m, nil
}

// Parse verifies an SNS request and acts on it: a SubscriptionConfirmation
// for an allowed topic is confirmed by visiting its SubscribeURL (once per
// MessageId; only at an SNS host) and yields no events; an
// UnsubscribeConfirmation is ignored; a Notification is translated with
// [ParseNotification].
func (w *Webhook) Parse(r *http.Request) ([]provider.Event, error) {
	m, err := w.Verify(r)
	if err != nil {
		return nil, err
	}
	switch m.Type {
	case "SubscriptionConfirmation":
		return nil, w.confirm(r.Context(), m)
	case "UnsubscribeConfirmation":
		return nil, nil
	}
	return ParseNotification(r.URL.Query().Get(w.cfg.OrgParam), m)
}

// confirm visits m.SubscribeURL unless this MessageId was confirmed before.
func (w *Webhook) confirm(ctx context.Context, m *Message) error {
	if err := CheckSNSURL(m.SubscribeURL, false); err != nil {
		return fmt.Errorf("%w: %w", err, provider.ErrWebhookForbidden)
	}
	w.mu.Lock()
	done := slices.Contains(w.confirmed, m.MessageId)
	w.mu.Unlock()
	if done {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.SubscribeURL, nil)
	if err != nil {
		return fmt.Errorf("ses: SubscribeURL: %w", provider.ErrWebhookMalformed)
	}
	resp, err := w.cfg.HTTPClient.Do(req)
	if err != nil {
		return errors.New("ses: confirming the subscription failed")
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ses: confirming the subscription: HTTP %d", resp.StatusCode)
	}
	w.mu.Lock()
	if !slices.Contains(w.confirmed, m.MessageId) {
		w.confirmed = append(w.confirmed, m.MessageId)
		if len(w.confirmed) > confirmedMemory {
			w.confirmed = w.confirmed[1:]
		}
	}
	w.mu.Unlock()
	return nil
}

// Handler returns an http.Handler that verifies each SNS request, confirms
// subscriptions, passes notification events to sink, and answers 204; 403
// for a bad signature, certificate URL or topic, 401 for a stale message,
// 400 for a malformed one (sink is not called), and 500 when the
// certificate cannot be fetched or sink fails, so that SNS redelivers.
func (w *Webhook) Handler(sink provider.EventSink) http.Handler {
	return provider.WebhookHandler(w.Parse, sink, nil)
}

// HTTPCertFetcher fetches signing certificates over HTTPS and caches them
// by URL.
type HTTPCertFetcher struct {
	// Client fetches the certificate. Required.
	Client *http.Client

	mu    sync.Mutex
	cache map[string]*x509.Certificate
}

// FetchCertificate implements CertFetcher. It re-checks the URL against
// the SNS host allow-list before fetching.
func (f *HTTPCertFetcher) FetchCertificate(ctx context.Context, certURL string) (*x509.Certificate, error) {
	if err := CheckSNSURL(certURL, true); err != nil {
		return nil, err
	}
	f.mu.Lock()
	c := f.cache[certURL]
	f.mu.Unlock()
	if c != nil {
		return c, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, certURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ses: certificate fetch: HTTP %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("ses: certificate is not PEM")
	}
	c, err = x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	if f.cache == nil {
		f.cache = map[string]*x509.Certificate{}
	}
	f.cache[certURL] = c
	f.mu.Unlock()
	return c, nil
}
