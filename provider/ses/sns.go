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
	"golang.org/x/sync/singleflight"
)

// Defaults for Config fields left zero.
const (
	DefaultMaxBodyBytes = 256 << 10
	DefaultHTTPTimeout  = 10 * time.Second
	// DefaultMaxAge is how old (by its signed Timestamp) a message may
	// be: SNS gives up on an HTTP/S delivery after at most 3,600 s (a
	// hard limit of its delivery policies), plus 5 minutes for clock
	// skew and delivery time. An older message can only be a replay.
	DefaultMaxAge = time.Hour + 5*time.Minute
	// NoMaxAge in Config.MaxAge disables the freshness check.
	NoMaxAge time.Duration = -1
	// MaxClockSkew is how far in the future a message's Timestamp may
	// be while the freshness check is on.
	MaxClockSkew = 5 * time.Minute
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
	// MaxAge refuses messages whose signed Timestamp is older, or more
	// than MaxClockSkew in the future (ErrWebhookStale, 401), so that a
	// captured message cannot be replayed later. Zero selects
	// DefaultMaxAge (65 minutes: SNS never retries an HTTP/S delivery
	// for longer than an hour); NoMaxAge disables the check.
	MaxAge time.Duration
	// MaxBodyBytes bounds a request body; a larger one is refused (413)
	// without reading the rest. Defaults to DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// ReadTimeout bounds how long [Webhook.Handler] waits for a request
	// body (408 past it). Zero selects provider.DefaultWebhookReadTimeout
	// (10 s); negative leaves only the http.Server's ReadTimeout.
	ReadTimeout time.Duration
	// OrgID, when set, is the one organisation this webhook serves
	// (Event.OrgID): a host that gives each organisation its own AWS
	// account or topic configures one Webhook per organisation, with
	// that organisation's AllowedTopics, and the engine then ignores
	// events naming another organisation's message. Empty: the engine
	// takes the organisation from the ledger row the event's message ID
	// names. The organisation is never read from the request: SNS does
	// not sign the endpoint URL.
	OrgID string
	// Now is the clock for MaxAge and certificate validity. Defaults to
	// time.Now.
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
	switch {
	case cfg.MaxAge == 0:
		cfg.MaxAge = DefaultMaxAge
	case cfg.MaxAge < 0 && cfg.MaxAge != NoMaxAge:
		return nil, errors.New("ses: Config.MaxAge must be positive, zero (the default) or NoMaxAge")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Webhook{cfg: cfg}, nil
}

// snsHostRE is the signing-certificate host pattern of aws-sdk-ruby's
// Aws::SNS::MessageVerifier.
var snsHostRE = regexp.MustCompile(`^sns\.[a-zA-Z0-9-]{3,}\.amazonaws\.com(\.cn)?$`)

// certPathRE is the path of a signing certificate URL: segments of
// letters, digits, '.', '_' and '-' that do not start with a dot (so no
// "." or ".." segment, no empty segment, no percent-encoding), ending in
// ".pem". SNS's own are "/SimpleNotificationService-<hex>.pem".
var certPathRE = regexp.MustCompile(`^(/[A-Za-z0-9_-][A-Za-z0-9._-]*)+\.pem$`)

// CheckSNSURL reports whether raw is an https URL on an SNS host, without
// user info, an explicit port or a fragment. When pemPath (a
// SigningCertURL), it must also have no query and a plain path ending in
// ".pem" (see [CertURLKey]). Signing certificates and SubscribeURLs are
// fetched only from such URLs.
func CheckSNSURL(raw string, pemPath bool) error {
	_, err := checkSNSURL(raw, pemPath)
	return err
}

// CertURLKey checks a SigningCertURL like [CheckSNSURL] and returns its
// normalised form, "https://" + host + path: the one key under which a
// certificate is cached. Because a query, a fragment, user info, a port,
// percent-encoding and dot segments are all refused, two URLs that name
// the same certificate have the same key, and an attacker cannot make
// the cache (or the fetcher) treat one certificate as many.
func CertURLKey(raw string) (string, error) {
	u, err := checkSNSURL(raw, true)
	if err != nil {
		return "", err
	}
	return "https://" + u.Host + u.Path, nil
}

func checkSNSURL(raw string, pemPath bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, errors.New("ses: URL does not parse")
	case u.Scheme != "https" || u.Opaque != "":
		return nil, errors.New("ses: URL is not https")
	case u.User != nil:
		return nil, errors.New("ses: URL has user info")
	case strings.Contains(u.Host, ":"):
		return nil, errors.New("ses: URL has an explicit port")
	case !snsHostRE.MatchString(u.Host):
		return nil, errors.New("ses: URL host is not an SNS host")
	case strings.Contains(raw, "#"):
		return nil, errors.New("ses: URL has a fragment")
	case !pemPath:
		return u, nil
	case strings.Contains(raw, "?"):
		return nil, errors.New("ses: certificate URL has a query")
	case u.RawPath != "" || !certPathRE.MatchString(u.Path):
		return nil, errors.New("ses: certificate URL path is not a plain path ending in .pem")
	}
	return u, nil
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
// message. Checks, in order: POST and size (400, 413), JSON shape (400),
// signing-certificate URL allow-list, before any fetch (403), topic
// allow-list (403), freshness of the Timestamp (401, before any fetch;
// Config.MaxAge), certificate validity and signature (403). A certificate
// that cannot be fetched is a plain error (500), so that SNS retries.
// Verify reads at most Config.MaxBodyBytes but sets no read deadline:
// [Webhook.Handler] does.
func (w *Webhook) Verify(r *http.Request) (*Message, error) {
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("ses: method %s: %w", r.Method, provider.ErrWebhookMalformed)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, w.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("ses: body unreadable: %w", provider.ErrWebhookMalformed)
	}
	if int64(len(body)) > w.cfg.MaxBodyBytes {
		return nil, fmt.Errorf("ses: body larger than %d bytes: %w", w.cfg.MaxBodyBytes, provider.ErrWebhookTooLarge)
	}
	return w.verifyBody(r, body)
}

func (w *Webhook) verifyBody(r *http.Request, body []byte) (*Message, error) {
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("ses: method %s: %w", r.Method, provider.ErrWebhookMalformed)
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
	now := w.cfg.Now()
	if w.cfg.MaxAge > 0 {
		// Checked before the certificate is fetched: an old message is
		// refused without network traffic. The Timestamp is signed, so
		// a forged fresh one fails the signature check below.
		ts, err := time.Parse(time.RFC3339, m.Timestamp)
		if err != nil {
			return nil, fmt.Errorf("ses: Timestamp does not parse: %w", provider.ErrWebhookMalformed)
		}
		if age := now.Sub(ts); age > w.cfg.MaxAge || age < -MaxClockSkew {
			return nil, fmt.Errorf("ses: Timestamp outside Config.MaxAge: %w", provider.ErrWebhookStale)
		}
	}
	cert, err := w.cfg.CertFetcher.FetchCertificate(r.Context(), m.SigningCertURL)
	if err != nil {
		return nil, fmt.Errorf("ses: fetch signing certificate: %w", err)
	}
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return nil, fmt.Errorf("ses: signing certificate expired or not yet valid: %w", provider.ErrWebhookSignature)
	}
	if err := m.VerifySignature(cert); err != nil {
		return nil, fmt.Errorf("%w: %w", err, provider.ErrWebhookSignature)
	}
	return &m, nil
}

// Parse verifies an SNS request and acts on it: a SubscriptionConfirmation
// for an allowed topic is confirmed by visiting its SubscribeURL (once per
// MessageId; only at an SNS host) and yields no events; an
// UnsubscribeConfirmation is ignored; a Notification is translated with
// [ParseNotification].
//
// Event.OrgID is Config.OrgID. Parse reads at most Config.MaxBodyBytes
// but sets no read deadline: [Webhook.Handler] does.
func (w *Webhook) Parse(r *http.Request) ([]provider.Event, error) {
	m, err := w.Verify(r)
	if err != nil {
		return nil, err
	}
	return w.act(r.Context(), m)
}

func (w *Webhook) parse(r *http.Request, body []byte) ([]provider.Event, error) {
	m, err := w.verifyBody(r, body)
	if err != nil {
		return nil, err
	}
	return w.act(r.Context(), m)
}

func (w *Webhook) act(ctx context.Context, m *Message) ([]provider.Event, error) {
	switch m.Type {
	case "SubscriptionConfirmation":
		return nil, w.confirm(ctx, m)
	case "UnsubscribeConfirmation":
		return nil, nil
	}
	return ParseNotification(w.cfg.OrgID, m)
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
	resp, err := noRedirects(w.cfg.HTTPClient).Do(req)
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

// Handler returns an http.Handler that reads each request's body within
// Config.MaxBodyBytes and Config.ReadTimeout, verifies it, confirms
// subscriptions, passes notification events to sink, and answers 204;
// 403 for a bad signature, certificate URL or topic, 401 for a stale
// message, 400 for a malformed one, 413 for one too large, 408 for one
// too slow (sink is not called), and 500 when the certificate cannot be
// fetched or sink fails, so that SNS redelivers.
func (w *Webhook) Handler(sink provider.EventSink) http.Handler {
	limits := provider.BodyLimits{MaxBytes: w.cfg.MaxBodyBytes, ReadTimeout: w.cfg.ReadTimeout}
	return provider.WebhookHandler(limits, w.parse, sink, nil)
}

// DefaultCertCacheSize is how many signing certificates an
// [HTTPCertFetcher] keeps when its CacheSize is zero. SNS signs with one
// certificate per region at a time and rotates it rarely, so a few
// entries cover every genuine URL; only certificates that were fetched
// and parsed are cached, so forged URLs (which fail to fetch or parse)
// never take a place.
const DefaultCertCacheSize = 32

// maxCertBytes bounds a fetched certificate.
const maxCertBytes = 64 << 10

// HTTPCertFetcher fetches signing certificates over HTTPS and caches them
// in a small least-recently-used cache keyed by the normalised URL
// ([CertURLKey]). Concurrent requests for the same URL share one fetch,
// and redirects are never followed. It is safe for concurrent use.
type HTTPCertFetcher struct {
	// Client fetches the certificate. Required.
	Client *http.Client
	// CacheSize bounds the cache (least recently used out first).
	// Defaults to DefaultCertCacheSize.
	CacheSize int

	mu      sync.Mutex
	entries []certEntry // most recently used first; at most CacheSize
	group   singleflight.Group
}

type certEntry struct {
	key  string
	cert *x509.Certificate
}

// FetchCertificate implements CertFetcher. It checks the URL again
// ([CertURLKey]: SNS host, https, no query, fragment, user info or port,
// a plain .pem path) before any fetch.
func (f *HTTPCertFetcher) FetchCertificate(ctx context.Context, certURL string) (*x509.Certificate, error) {
	key, err := CertURLKey(certURL)
	if err != nil {
		return nil, err
	}
	if c := f.lookup(key); c != nil {
		return c, nil
	}
	v, err, _ := f.group.Do(key, func() (any, error) {
		if c := f.lookup(key); c != nil {
			return c, nil
		}
		c, err := f.fetch(ctx, key)
		if err != nil {
			return nil, err
		}
		f.add(key, c)
		return c, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*x509.Certificate), nil
}

func (f *HTTPCertFetcher) lookup(key string) *x509.Certificate {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, e := range f.entries {
		if e.key == key {
			copy(f.entries[1:i+1], f.entries[:i])
			f.entries[0] = e
			return e.cert
		}
	}
	return nil
}

func (f *HTTPCertFetcher) add(key string, c *x509.Certificate) {
	size := f.CacheSize
	if size <= 0 {
		size = DefaultCertCacheSize
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.entries) < size {
		f.entries = append(f.entries, certEntry{})
	}
	copy(f.entries[1:], f.entries)
	f.entries[0] = certEntry{key: key, cert: c}
}

// noRedirects returns a copy of c that never follows a redirect: the URL
// was checked against the SNS host allow-list, its redirect target was
// not. A redirect is then answered as its own 3xx status.
func noRedirects(c *http.Client) *http.Client {
	cp := *c
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

func (f *HTTPCertFetcher) fetch(ctx context.Context, certURL string) (*x509.Certificate, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, certURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := noRedirects(f.Client).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ses: certificate fetch: HTTP %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxCertBytes))
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("ses: certificate is not PEM")
	}
	return x509.ParseCertificate(block.Bytes)
}
