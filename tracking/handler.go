package tracking

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Backend is what the Handler records into; package blast's Engine
// implements it. Methods may be called concurrently.
type Backend interface {
	// LinkURL returns the destination of link index in the message sent
	// to recipientID: the server-side mapping fixed when the blast was
	// compiled, never a request parameter. It returns ErrUnknownRecipient
	// (or an error wrapping it) when there is no such recipient or link.
	LinkURL(ctx context.Context, recipientID string, index int) (string, error)
	// RecordOpen records an open. Duplicate opens are expected (every
	// image load); the backend decides how to count them.
	RecordOpen(ctx context.Context, recipientID string, e Engagement) error
	// RecordClick records a click on link index.
	RecordClick(ctx context.Context, recipientID string, index int, e Engagement) error
	// Unsubscribe unsubscribes the recipient's patient from marketing
	// email. It must be idempotent: a second call changes nothing and
	// writes no second audit event. ErrUnknownRecipient when unknown.
	Unsubscribe(ctx context.Context, recipientID string, u Unsubscription) error
}

// ErrUnknownRecipient is returned by a Backend for a recipient or link it
// does not know. The Handler answers it with the same 404 as a bad token.
var ErrUnknownRecipient = errors.New("tracking: unknown recipient")

// Engagement describes one open or click.
type Engagement struct {
	// At is when it happened (the Handler's clock).
	At time.Time
	// Machine is true when the event was most likely made by software
	// (mail privacy proxies, prefetchers, link scanners) rather than the
	// patient. Machine events are stored but excluded from rates.
	Machine bool
	// Reason says why Machine is set: "apple_mpp", "prefetch",
	// "head_request", "fast_click", "click_burst", "scanner".
	Reason string
}

// Unsubscription describes one unsubscribe request.
type Unsubscription struct {
	At time.Time
	// OneClick is true for an RFC 8058 List-Unsubscribe-Post request,
	// false for the confirmation form of the body link.
	OneClick bool
}

// Config configures a Handler. The zero value of each optional field
// selects the documented default.
type Config struct {
	// Signer mints and verifies tokens. Required.
	Signer *Signer
	// Backend records events. Required.
	Backend Backend
	// BaseURL is the absolute URL the host mounts the Handler at, for
	// example "https://t.clinic.example/t" (no trailing slash). Required;
	// must be https unless AllowHTTP is set (RFC 8058 needs HTTPS).
	BaseURL string
	// AllowHTTP permits an http BaseURL (local development only).
	AllowHTTP bool
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// TrackingWindow is how long after sending opens and clicks are
	// recorded; later ones are still served (pixel, redirect) but not
	// recorded. Defaults to DefaultTrackingWindow (72 h).
	TrackingWindow time.Duration
	// ClickMaxAge is how long click links keep redirecting. Defaults to
	// DefaultClickMaxAge (400 days).
	ClickMaxAge time.Duration
	// UnsubscribeMaxAge is how long unsubscribe links keep working
	// (CAN-SPAM requires at least 30 days). Defaults to
	// DefaultUnsubscribeMaxAge (400 days); values under 30 days are
	// rejected.
	UnsubscribeMaxAge time.Duration
	// PrefetchWindow: opens this soon after sending are flagged as machine
	// opens ("prefetch"). Defaults to 3 s.
	PrefetchWindow time.Duration
	// ScannerWindow: clicks this soon after sending are flagged as scanner
	// clicks ("fast_click"). Defaults to 10 s.
	ScannerWindow time.Duration
	// BurstWindow: a click on a different link of the same message within
	// this time of the previous one is flagged ("click_burst"). Defaults
	// to 2 s.
	BurstWindow time.Duration
	// AppleProxyPrefixes are Apple Mail Privacy Protection egress ranges;
	// an open from them with the user agent exactly "Mozilla/5.0" is a
	// machine open ("apple_mpp"). Apple publishes the list; none by default.
	AppleProxyPrefixes []netip.Prefix
	// ScannerUserAgents are substrings of link-scanner user agents; a
	// matching click is flagged ("scanner"). Defaults to
	// DefaultScannerUserAgents.
	ScannerUserAgents []string
	// InvalidPerIP limits requests with invalid tokens per source (an
	// IPv4 address, or an IPv6 /64 network): per second, averaged over a
	// sliding 10-second window, so a burst of 10× passes. Over it the
	// answer is 429, and every invalid request counts, answered or not.
	// Valid tokens are never throttled. The counts live in a fixed-size
	// count-min sketch (ThrottleMemory bytes, whatever the number of
	// sources), which never forgets a heavy source. Defaults to 5; -1
	// disables.
	InvalidPerIP float64
	// BodyReadTimeout bounds how long an unsubscribe POST's body may
	// take to arrive (a read deadline of the handler's own, set through
	// http.ResponseController; 408 past it). The body is at most 64 KiB.
	// Defaults to DefaultBodyReadTimeout; negative leaves only the
	// http.Server's ReadTimeout.
	BodyReadTimeout time.Duration
	// OrgName is shown on the unsubscribe pages. Optional.
	OrgName string
	// Logger receives errors from the Backend (recipient IDs only, never
	// tokens). Defaults to slog.Default().
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultTrackingWindow    = 72 * time.Hour
	DefaultClickMaxAge       = 400 * 24 * time.Hour
	DefaultUnsubscribeMaxAge = 400 * 24 * time.Hour
	DefaultBodyReadTimeout   = 10 * time.Second
	minUnsubscribeMaxAge     = 30 * 24 * time.Hour
	// maxFormBytes bounds an unsubscribe POST body.
	maxFormBytes = 64 << 10
	// maxClickMarks bounds the memory of recent human clicks kept to
	// flag click bursts (about 100 bytes each).
	maxClickMarks = 100_000
)

// DefaultScannerUserAgents are user-agent fragments of common link scanners.
var DefaultScannerUserAgents = []string{"BingPreview", "Proofpoint", "Mimecast", "Barracuda", "urlscan", "SafeLinks", "python-requests", "Go-http-client", "curl/"}

// Handler serves the open pixel (GET /o/{token}), click redirects
// (GET|HEAD /c/{token}) and unsubscribes (GET|POST /u/{token}). Mount it
// under BaseURL's path with http.StripPrefix. It never listens itself.
type Handler struct {
	cfg     Config
	base    *url.URL
	mu      sync.Mutex
	lastHit map[string]clickMark // recipient → last click, for bursts; at most maxClickMarks
	invalid *throttle            // nil when InvalidPerIP is -1
}

type clickMark struct {
	at    time.Time
	index int
}

// NewHandler validates cfg and returns a Handler.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Signer == nil {
		return nil, errors.New("tracking: Config.Signer is required")
	}
	if cfg.Backend == nil {
		return nil, errors.New("tracking: Config.Backend is required")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(cfg.AllowHTTP && u.Scheme == "http")) {
		return nil, errors.New("tracking: Config.BaseURL must be an absolute https URL")
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.TrackingWindow, DefaultTrackingWindow)
	def(&cfg.ClickMaxAge, DefaultClickMaxAge)
	def(&cfg.UnsubscribeMaxAge, DefaultUnsubscribeMaxAge)
	def(&cfg.PrefetchWindow, 3*time.Second)
	def(&cfg.ScannerWindow, 10*time.Second)
	def(&cfg.BurstWindow, 2*time.Second)
	if cfg.UnsubscribeMaxAge < minUnsubscribeMaxAge {
		return nil, fmt.Errorf("tracking: Config.UnsubscribeMaxAge %s is under the 30 days CAN-SPAM requires", cfg.UnsubscribeMaxAge)
	}
	if cfg.ClickMaxAge < cfg.TrackingWindow {
		return nil, errors.New("tracking: Config.ClickMaxAge must be at least TrackingWindow")
	}
	if cfg.ScannerUserAgents == nil {
		cfg.ScannerUserAgents = DefaultScannerUserAgents
	}
	if cfg.InvalidPerIP == 0 {
		cfg.InvalidPerIP = 5
	}
	if cfg.InvalidPerIP < 0 && cfg.InvalidPerIP != -1 {
		return nil, errors.New("tracking: Config.InvalidPerIP must be positive, zero (the default) or -1 (off)")
	}
	def(&cfg.BodyReadTimeout, DefaultBodyReadTimeout)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &Handler{cfg: cfg, base: u, lastHit: map[string]clickMark{}}
	if cfg.InvalidPerIP > 0 {
		h.invalid = newThrottle(cfg.InvalidPerIP)
	}
	return h, nil
}

// OpenURL returns the open-pixel URL for a recipient.
func (h *Handler) OpenURL(recipientID string, issued time.Time) (string, error) {
	return h.url("o", Claims{Purpose: PurposeOpen, RecipientID: recipientID, IssuedAt: issued})
}

// ClickURL returns the tracked URL for link index of a recipient's message.
func (h *Handler) ClickURL(recipientID string, index int, issued time.Time) (string, error) {
	return h.url("c", Claims{Purpose: PurposeClick, RecipientID: recipientID, LinkIndex: index, IssuedAt: issued})
}

// UnsubscribeURL returns the unsubscribe URL for a recipient: the body link
// and the List-Unsubscribe header both use it. It is never wrapped in the
// click tracker.
func (h *Handler) UnsubscribeURL(recipientID string, issued time.Time) (string, error) {
	return h.url("u", Claims{Purpose: PurposeUnsubscribe, RecipientID: recipientID, IssuedAt: issued})
}

func (h *Handler) url(prefix string, c Claims) (string, error) {
	tok, err := h.cfg.Signer.Sign(c)
	if err != nil {
		return "", err
	}
	return h.cfg.BaseURL + "/" + prefix + "/" + tok, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The Handler works mounted with http.StripPrefix (path "/u/{token}")
	// or without it (path BaseURL.Path + "/u/{token}").
	kind, tok, ok := splitRoute(r.URL.Path)
	if !ok && h.base.Path != "" && strings.HasPrefix(r.URL.Path, h.base.Path+"/") {
		kind, tok, ok = splitRoute(r.URL.Path[len(h.base.Path):])
	}
	if !ok {
		h.notFound(w, r)
		return
	}
	switch kind {
	case "o":
		h.serveOpen(w, r, strings.TrimSuffix(tok, ".gif"))
	case "c":
		h.serveClick(w, r, tok)
	case "u":
		h.serveUnsubscribe(w, r, tok)
	default:
		h.notFound(w, r)
	}
}

func splitRoute(p string) (kind, tok string, ok bool) {
	kind, tok, ok = strings.Cut(strings.TrimPrefix(p, "/"), "/")
	ok = ok && tok != "" && !strings.Contains(tok, "/") && (kind == "o" || kind == "c" || kind == "u")
	return kind, tok, ok
}

// verify checks a token's MAC, purpose and age. On failure it writes the
// neutral 404 (or 429 when the client IP sends too many bad tokens) and
// returns false.
func (h *Handler) verify(w http.ResponseWriter, r *http.Request, tok string, p Purpose, maxAge time.Duration) (Claims, bool) {
	c, err := h.cfg.Signer.Verify(tok, p)
	if err == nil && h.cfg.Now().Sub(c.IssuedAt) > maxAge {
		err = ErrExpiredToken
	}
	if err != nil {
		if h.throttled(r) {
			http.Error(w, "Too many requests", http.StatusTooManyRequests)
			return Claims{}, false
		}
		h.notFound(w, r)
		return Claims{}, false
	}
	return c, true
}

func (h *Handler) throttled(r *http.Request) bool {
	return h.invalid != nil && !h.invalid.allow(clientIP(r), h.cfg.Now())
}

func clientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// pixel is a transparent 1×1 GIF.
var pixel = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

func (h *Handler) serveOpen(w http.ResponseWriter, r *http.Request, tok string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// The pixel is always served, so that images never break; only a
	// valid token inside the tracking window is recorded.
	if c, err := h.cfg.Signer.Verify(tok, PurposeOpen); err == nil && !c.Test() {
		now := h.cfg.Now()
		if now.Sub(c.IssuedAt) <= h.cfg.TrackingWindow {
			e := Engagement{At: now}
			switch {
			case r.Header.Get("User-Agent") == "Mozilla/5.0" && h.fromApple(r):
				e.Machine, e.Reason = true, "apple_mpp"
			case now.Sub(c.IssuedAt) < h.cfg.PrefetchWindow:
				e.Machine, e.Reason = true, "prefetch"
			}
			if err := h.cfg.Backend.RecordOpen(r.Context(), c.RecipientID, e); err != nil {
				h.logErr("record open", c.RecipientID, err)
			}
		}
	}
	w.Header().Set("Content-Type", "image/gif")
	w.Header().Set("Cache-Control", "no-store, max-age=0")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(pixel)
	}
}

func (h *Handler) fromApple(r *http.Request) bool {
	ip := clientIP(r)
	for _, p := range h.cfg.AppleProxyPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (h *Handler) serveClick(w http.ResponseWriter, r *http.Request, tok string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Method not allowed", http.StatusMethodNotAllowed)
		return
	}
	c, ok := h.verify(w, r, tok, PurposeClick, h.cfg.ClickMaxAge)
	if !ok {
		return
	}
	if c.Test() {
		// A test message has no ledger row to find the link by: say so
		// instead of failing.
		w.Header().Set("Cache-Control", "no-store")
		h.page(w, r, http.StatusOK, testClickPage, "")
		return
	}
	dest, err := h.cfg.Backend.LinkURL(r.Context(), c.RecipientID, c.LinkIndex)
	if err != nil {
		if !errors.Is(err, ErrUnknownRecipient) {
			h.logErr("link lookup", c.RecipientID, err)
		}
		h.notFound(w, r)
		return
	}
	if u, perr := url.Parse(dest); perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		h.logErr("link lookup", c.RecipientID, errors.New("stored destination is not an http(s) URL"))
		h.notFound(w, r)
		return
	}
	now := h.cfg.Now()
	if now.Sub(c.IssuedAt) <= h.cfg.TrackingWindow {
		e := h.classifyClick(r, c, now)
		if err := h.cfg.Backend.RecordClick(r.Context(), c.RecipientID, c.LinkIndex, e); err != nil {
			h.logErr("record click", c.RecipientID, err)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, dest, http.StatusFound)
}

func (h *Handler) classifyClick(r *http.Request, c Claims, now time.Time) Engagement {
	e := Engagement{At: now}
	ua := r.Header.Get("User-Agent")
	h.mu.Lock()
	last, seen := h.lastHit[c.RecipientID]
	h.lastHit[c.RecipientID] = clickMark{at: now, index: c.LinkIndex}
	if len(h.lastHit) > maxClickMarks {
		// Marks older than BurstWindow flag nothing: drop them. If that
		// is not enough (over maxClickMarks recipients clicked within
		// BurstWindow), drop arbitrary ones down to three quarters, so
		// the sweep runs once per maxClickMarks/4 clicks at most.
		for k, v := range h.lastHit {
			if now.Sub(v.at) > h.cfg.BurstWindow {
				delete(h.lastHit, k)
			}
		}
		for k := range h.lastHit {
			if len(h.lastHit) <= maxClickMarks*3/4 {
				break
			}
			delete(h.lastHit, k)
		}
	}
	h.mu.Unlock()
	switch {
	case r.Method == http.MethodHead:
		e.Reason = "head_request"
	case now.Sub(c.IssuedAt) < h.cfg.ScannerWindow:
		e.Reason = "fast_click"
	case h.scannerUA(ua):
		e.Reason = "scanner"
	case seen && last.index != c.LinkIndex && now.Sub(last.at) <= h.cfg.BurstWindow:
		e.Reason = "click_burst"
	}
	e.Machine = e.Reason != ""
	return e
}

func (h *Handler) scannerUA(ua string) bool {
	if ua == "" {
		return true
	}
	for _, s := range h.cfg.ScannerUserAgents {
		if strings.Contains(ua, s) {
			return true
		}
	}
	return false
}

func (h *Handler) serveUnsubscribe(w http.ResponseWriter, r *http.Request, tok string) {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "Method not allowed", http.StatusMethodNotAllowed)
		return
	}
	c, ok := h.verify(w, r, tok, PurposeUnsubscribe, h.cfg.UnsubscribeMaxAge)
	if !ok {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		// GET and HEAD never change state: scanners fetch every URL.
		if c.Test() {
			h.page(w, r, http.StatusOK, testUnsubscribePage, "")
			return
		}
		h.page(w, r, http.StatusOK, confirmPage, h.cfg.BaseURL+"/u/"+tok)
		return
	}
	oneClick, confirmed, err := h.unsubscribeIntent(w, r)
	if err != nil {
		status := http.StatusBadRequest
		var mbe *http.MaxBytesError
		var ne net.Error
		switch {
		case errors.As(err, &mbe):
			status = http.StatusRequestEntityTooLarge
		case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
			status = http.StatusRequestTimeout
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	if !oneClick && !confirmed {
		http.Error(w, "Bad request", http.StatusBadRequest)
		return
	}
	if c.Test() {
		// RFC 8058 one-click or the form: 200, and nothing changes.
		h.page(w, r, http.StatusOK, testUnsubscribePage, "")
		return
	}
	err = h.cfg.Backend.Unsubscribe(r.Context(), c.RecipientID, Unsubscription{At: h.cfg.Now(), OneClick: oneClick})
	if errors.Is(err, ErrUnknownRecipient) {
		h.notFound(w, r)
		return
	}
	if err != nil {
		h.logErr("unsubscribe", c.RecipientID, err)
		http.Error(w, "Please try again later", http.StatusServiceUnavailable)
		return
	}
	// RFC 8058: no redirect. Both paths answer 200 with a short page.
	h.page(w, r, http.StatusOK, donePage, "")
}

// unsubscribeIntent reads an RFC 8058 one-click body
// (List-Unsubscribe=One-Click, urlencoded or multipart) or the
// confirmation form's confirm=1: at most maxFormBytes, within
// Config.BodyReadTimeout (a read deadline on the connection; when the
// ResponseWriter cannot set one, only the server's ReadTimeout applies).
// The error is the read's or the parser's.
func (h *Handler) unsubscribeIntent(w http.ResponseWriter, r *http.Request) (oneClick, confirmed bool, err error) {
	if d := h.cfg.BodyReadTimeout; d > 0 {
		err := http.NewResponseController(w).SetReadDeadline(time.Now().Add(d)) // the connection's clock, not Config.Now
		if err != nil && !errors.Is(err, http.ErrNotSupported) {
			return false, false, err
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		err = r.ParseMultipartForm(maxFormBytes)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		return false, false, err
	}
	return r.PostForm.Get("List-Unsubscribe") == "One-Click", r.PostForm.Get("confirm") == "1", nil
}

var pages = template.Must(template.New("confirm").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Unsubscribe</title></head><body style="font-family:sans-serif;max-width:480px;margin:48px auto">
<h1>Unsubscribe</h1>
<p>Stop receiving marketing emails{{if .Org}} from {{.Org}}{{end}}? Appointment reminders and other messages about your care are not affected.</p>
<form method="post" action="{{.Action}}"><input type="hidden" name="confirm" value="1">
<button type="submit">Unsubscribe</button></form>
</body></html>`))

func init() {
	template.Must(pages.New("done").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Unsubscribed</title></head>
<body style="font-family:sans-serif;max-width:480px;margin:48px auto">
<h1>You are unsubscribed</h1><p>You will no longer receive marketing emails{{if .Org}} from {{.Org}}{{end}}.</p>
</body></html>`))
	template.Must(pages.New(testUnsubscribePage).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test message</title></head>
<body style="font-family:sans-serif;max-width:480px;margin:48px auto">
<h1>This was a test message</h1><p>This unsubscribe link is in a test message{{if .Org}} from {{.Org}}{{end}}. No one was unsubscribed.</p>
<p>In the messages sent to patients, this link unsubscribes the patient from marketing emails.</p>
</body></html>`))
	template.Must(pages.New(testClickPage).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test message</title></head>
<body style="font-family:sans-serif;max-width:480px;margin:48px auto">
<h1>This was a test message</h1><p>This link is in a test message{{if .Org}} from {{.Org}}{{end}}. Nothing was recorded.</p>
<p>In the messages sent to patients, this link leads to the page the message links to.</p>
</body></html>`))
	template.Must(pages.New("notfound").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Not found</title></head>
<body style="font-family:sans-serif;max-width:480px;margin:48px auto"><h1>Link not found</h1>
<p>This link is not valid.</p></body></html>`))
}

const (
	confirmPage         = "confirm"
	donePage            = "done"
	testUnsubscribePage = "test_unsubscribe"
	testClickPage       = "test_click"
)

func (h *Handler) page(w http.ResponseWriter, r *http.Request, status int, name, action string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	_ = pages.ExecuteTemplate(w, name, struct{ Org, Action string }{h.cfg.OrgName, action})
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.page(w, r, http.StatusNotFound, "notfound", "")
}

func (h *Handler) logErr(op, recipientID string, err error) {
	h.cfg.Logger.Error("tracking: backend error", "op", op, "recipient_id", recipientID, "err", err)
}
