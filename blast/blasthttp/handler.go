package blasthttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/render"
)

// MaxBodyBytesDefault is the default bound on a request body: room for
// three MMS images (1 MB each) encoded in base64, or an email with a few
// small attachments.
const MaxBodyBytesDefault = 8 << 20

// BodyReadTimeoutDefault is how long a request body may take to arrive
// when Config.BodyReadTimeout is zero: 8 MiB in a minute is about
// 1.1 Mbit/s, slower than any clinic's uplink, and a client trickling a
// byte a second holds its connection and goroutine for a minute at most.
const BodyReadTimeoutDefault = time.Minute

// MaxJSONValues bounds the number of JSON values (strings, numbers,
// objects, array elements…) in one request body. A body of "",  repeated
// to the 8 MiB limit is 2.8 million strings, 150 MiB once decoded; no
// request of this API needs more than a few thousand values (Add
// Recipients takes at most RecipientsMax IDs). A body past it is refused
// with 413 too_many_values before it is decoded.
const MaxJSONValues = 20_000

// Errors an Org function returns to refuse a request. Any other error,
// and an empty organization ID, are answered like ErrUnauthenticated.
var (
	// ErrUnauthenticated: no valid session; answered 401.
	ErrUnauthenticated = errors.New("blasthttp: unauthenticated")
	// ErrForbidden: a valid session without access to blasts; answered
	// 403.
	ErrForbidden = errors.New("blasthttp: forbidden")
)

// Config configures a Handler. Engine, Cohorts and Org are required; every
// other field's zero value selects the documented default.
type Config struct {
	// Engine is the blast engine the API drives. Required.
	Engine *blast.Engine
	// Cohorts lists the organization's cohorts for the cohort picker
	// (GET /cohorts). It should be the store the engine was built with.
	// Required.
	Cohorts cohort.Store
	// Org returns the organization the request acts for, from the
	// host's authentication (session cookie, bearer token, …). It is the
	// only source of the tenant: organization IDs in URLs or bodies are
	// never read. Return ErrUnauthenticated (401) or ErrForbidden (403)
	// to refuse; any other error is answered 401. Required.
	Org func(*http.Request) (orgID string, err error)
	// User, when not nil, returns the staff user's opaque ID recorded as
	// a draft's CreatedBy (create and duplicate) and as the actor of
	// every audited action of the request (blast.WithActor). nil records
	// "" (the audit trail then names ActorSystem).
	User func(*http.Request) string
	// CanApprovePHI, when not nil, reports whether the request's user is
	// a privileged role that may approve sensitive clinical content
	// ("phi_approved": true; blast.Draft.PHIApprovedBy, compliance.md
	// HI-01). nil lets nobody approve. Approval also needs User to name
	// the user, since the approver is audited.
	CanApprovePHI func(*http.Request) bool
	// CanViewPatient, when not nil, reports whether the request's user
	// may see the record of the organization's patient patientID (the
	// host's access control: role, location, care team). Send Test to Me
	// personalises a test for a real patient ("patient_id") only when it
	// allows (blast.TestOpts.CanViewPatient); nil lets nobody, so tests
	// use the synthetic blast.SamplePatient (403 patient_forbidden
	// otherwise).
	CanViewPatient func(r *http.Request, patientID string) bool
	// Organizations, when not nil, supplies the organization's name and
	// phone region to the count-as-you-type endpoint (POST /sms/count),
	// so the {{organization_name}} field and the opt-out line are counted
	// as sent. nil counts the field with its example value.
	Organizations blast.Organizations
	// Pricing prices the count-as-you-type estimate. It should be the
	// engine's Config.Pricing. Defaults to render.DefaultPricing().
	Pricing *render.Pricing
	// LiveInterval is the least time between two events of the live
	// progress stream (GET /blasts/{id}/live). Defaults to
	// LiveIntervalDefault.
	LiveInterval time.Duration
	// LiveMax ends a live stream after this long (clients reconnect).
	// Defaults to LiveMaxDefault. A host's http.Server.WriteTimeout, if
	// set, must exceed it.
	LiveMax time.Duration
	// MaxBodyBytes bounds request bodies; larger ones are answered 413.
	// Defaults to MaxBodyBytesDefault.
	MaxBodyBytes int64
	// BodyReadTimeout bounds how long a request body may take to arrive,
	// from when the endpoint starts; a slower one is answered 408. It is
	// set as the connection's read deadline through
	// http.ResponseController, so it replaces the http.Server's
	// ReadTimeout for the body (a server whose middleware hides the
	// connection keeps only its own). Zero selects
	// BodyReadTimeoutDefault; negative sets no deadline of the handler's
	// own.
	BodyReadTimeout time.Duration
	// Logger receives server errors (status 500) with the organization
	// and blast IDs and the engine's PHI-free error text; never request
	// bodies. Defaults to a logger that discards everything.
	Logger *slog.Logger
}

// ConfigError reports an invalid Config field.
type ConfigError struct {
	// Field is the Config field's name.
	Field string
	// Problem says what is wrong with it.
	Problem string
}

// Error implements error.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("blasthttp: Config.%s %s", e.Field, e.Problem)
}

// Handler is the JSON API of an engine: an http.Handler a host mounts
// under a prefix of its own router with http.StripPrefix. It is safe for
// concurrent use.
type Handler struct {
	cfg     Config
	pricing render.Pricing
	log     *slog.Logger
	mux     *http.ServeMux
}

// New returns a Handler configured by cfg, or a *ConfigError naming the
// first missing or invalid field.
func New(cfg *Config) (*Handler, error) {
	if cfg == nil {
		return nil, &ConfigError{Field: "Engine", Problem: "is required (nil Config)"}
	}
	h := &Handler{cfg: *cfg}
	switch {
	case cfg.Engine == nil:
		return nil, &ConfigError{Field: "Engine", Problem: "is required"}
	case cfg.Cohorts == nil:
		return nil, &ConfigError{Field: "Cohorts", Problem: "is required"}
	case cfg.Org == nil:
		return nil, &ConfigError{Field: "Org", Problem: "is required (the host's authentication decides the organization)"}
	case cfg.MaxBodyBytes < 0:
		return nil, &ConfigError{Field: "MaxBodyBytes", Problem: "must not be negative"}
	case cfg.LiveInterval < 0:
		return nil, &ConfigError{Field: "LiveInterval", Problem: "must not be negative"}
	case cfg.BodyReadTimeout < 0 && cfg.BodyReadTimeout != -1:
		return nil, &ConfigError{Field: "BodyReadTimeout", Problem: "must not be negative (-1 for no deadline)"}
	case cfg.LiveMax < 0:
		return nil, &ConfigError{Field: "LiveMax", Problem: "must not be negative"}
	}
	if h.cfg.BodyReadTimeout == 0 {
		h.cfg.BodyReadTimeout = BodyReadTimeoutDefault
	}
	if h.cfg.LiveInterval == 0 {
		h.cfg.LiveInterval = LiveIntervalDefault
	}
	if h.cfg.LiveMax == 0 {
		h.cfg.LiveMax = LiveMaxDefault
	}
	if h.cfg.MaxBodyBytes == 0 {
		h.cfg.MaxBodyBytes = MaxBodyBytesDefault
	}
	h.pricing = render.DefaultPricing()
	if cfg.Pricing != nil {
		if err := cfg.Pricing.Validate(); err != nil {
			return nil, &ConfigError{Field: "Pricing", Problem: err.Error()}
		}
		h.pricing = *cfg.Pricing
	}
	h.log = cfg.Logger
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h.mux = http.NewServeMux()
	h.routes()
	return h, nil
}

// routes registers every endpoint; see the package documentation.
func (h *Handler) routes() {
	h.handle("GET /merge-fields", h.mergeFields)
	h.handle("POST /sms/count", h.countSMS)
	h.handle("GET /cohorts", h.listCohorts)
	h.handle("GET /analytics", h.analytics)

	h.handle("GET /blasts", h.listBlasts)
	h.handle("POST /blasts", h.createDraft)
	h.handle("GET /blasts/{id}", h.getBlast)
	h.handle("PUT /blasts/{id}", h.updateDraft)
	h.handle("POST /blasts/{id}/validate", h.validate)
	h.handle("GET /blasts/{id}/preview", h.preview)
	h.handle("GET /blasts/{id}/estimate", h.estimate)
	h.handle("POST /blasts/{id}/test", h.sendTest)
	h.handle("POST /blasts/{id}/send", h.send)
	h.handle("POST /blasts/{id}/cancel", h.cancel)
	h.handle("POST /blasts/{id}/resume", h.resume)
	h.handle("POST /blasts/{id}/duplicate", h.duplicate)

	h.handle("GET /blasts/{id}/summary", h.summary)
	h.handle("GET /blasts/{id}/live", h.live)
	h.handle("GET /blasts/{id}/messages", h.messages)
	h.handle("GET /blasts/{id}/engagement", h.engagement)
	h.handle("POST /blasts/{id}/retry", h.retry)
	h.handle("POST /blasts/{id}/reconcile", h.reconcile)
	h.handle("GET /blasts/{id}/patients", h.searchPatients)
	h.handle("POST /blasts/{id}/recipients/count", h.countRecipients)
	h.handle("POST /blasts/{id}/recipients", h.addRecipients)
}

// request is what every endpoint receives: the organization decided by
// the host and the blast ID of the path (or "").
type request struct {
	*http.Request
	org     string
	blastID string
}

// handle registers an endpoint behind the tenant check.
func (h *Handler) handle(pattern string, fn func(http.ResponseWriter, *request) error) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		org, err := h.cfg.Org(r)
		if err != nil || org == "" {
			if errors.Is(err, ErrForbidden) {
				writeError(w, http.StatusForbidden, &apiError{Code: "forbidden", Message: "no access to blasts"})
				return
			}
			writeError(w, http.StatusUnauthorized, &apiError{Code: "unauthenticated", Message: "sign in to use blasts"})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes)
		if h.cfg.BodyReadTimeout > 0 && r.Body != nil && r.ContentLength != 0 && r.Method != http.MethodGet {
			// net/http lifts the deadline once the body is read to its
			// end; a body read in part keeps it, so the server does not
			// wait for the rest either.
			err := http.NewResponseController(w).SetReadDeadline(time.Now().Add(h.cfg.BodyReadTimeout))
			if err != nil && !errors.Is(err, http.ErrNotSupported) {
				writeError(w, http.StatusInternalServerError, &apiError{Code: "internal", Message: "internal error"})
				return
			}
		}
		if h.cfg.User != nil {
			// The engine's audit trail names the staff user as the
			// actor of what this request does.
			if u := h.cfg.User(r); u != "" {
				r = r.WithContext(blast.WithActor(r.Context(), u))
			}
		}
		req := &request{Request: r, org: org, blastID: r.PathValue("id")}
		if !pathID(req.blastID) {
			// No blast has such an ID; some stores cannot even look it
			// up (PostgreSQL refuses a NUL byte).
			writeError(w, http.StatusNotFound, &apiError{Code: "not_found", Message: "not found"})
			return
		}
		if err := fn(w, req); err != nil {
			h.fail(w, req, err)
		}
	})
}

// pathID reports whether a path's blast ID ("" when the path has none)
// could name a blast: at most blast.IDMaxBytes of printable UTF-8.
func pathID(id string) bool {
	return len(id) <= blast.IDMaxBytes && utf8.ValidString(id) && strings.IndexFunc(id, unicode.IsControl) < 0
}

// ServeHTTP implements http.Handler. Paths are relative to the mount point
// (use http.StripPrefix).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern == "" {
		// No endpoint: the mux answers 404 or 405 (with Allow); say it in
		// JSON like every other error.
		h.mux.ServeHTTP(&routeError{ResponseWriter: w}, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// routeError turns the mux's plain-text 404 and 405 answers into JSON.
type routeError struct {
	http.ResponseWriter
	done bool
}

func (w *routeError) WriteHeader(status int) {
	w.done = true
	code := "not_found"
	if status == http.StatusMethodNotAllowed {
		code = "method_not_allowed"
	}
	writeError(w.ResponseWriter, status, &apiError{Code: code, Message: http.StatusText(status)})
}

func (w *routeError) Write(p []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusNotFound)
	}
	return len(p), nil
}

// organization returns the organization for counting, or one with only its
// ID when Config.Organizations is nil or does not know it.
func (h *Handler) organization(ctx context.Context, orgID string) carecast.Organization {
	if h.cfg.Organizations != nil {
		if o, err := h.cfg.Organizations.Organization(ctx, orgID); err == nil {
			return o
		}
	}
	return carecast.Organization{ID: orgID}
}

// approver returns the user approving flagged content, or "" when the
// request asks for no approval; a user who may not approve is refused
// with 403.
func (h *Handler) approver(r *request, approve bool) (string, error) {
	if !approve {
		return "", nil
	}
	u := h.user(r)
	if u == "" || h.cfg.CanApprovePHI == nil || !h.cfg.CanApprovePHI(r.Request) {
		return "", &apiError{status: http.StatusForbidden, Code: "phi_approval_forbidden", Message: "this user may not approve sensitive clinical content"}
	}
	return u, nil
}

func (h *Handler) user(r *request) string {
	if h.cfg.User == nil {
		return ""
	}
	return h.cfg.User(r.Request)
}
