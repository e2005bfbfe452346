package blasthttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/provider"
)

// apiError is the body of every error response:
//
//	{"error":{"code":"validation","message":"…","problems":[…]}}
type apiError struct {
	// Code is stable and machine-readable (see the package documentation).
	Code string `json:"code"`
	// Message is a short PHI-free explanation.
	Message string `json:"message"`
	// Field names the query parameter or body field at fault, for a 400
	// about one ("cursor", "limit", "patient_ids").
	Field string `json:"field,omitempty"`
	// Problems lists a validation error's problems (422), or the field
	// and reason of a refused test destination (409).
	Problems []Problem `json:"problems,omitempty"`
	// status is the HTTP status of an error made by this package (0
	// means 400).
	status int
}

func (e *apiError) Error() string { return "blasthttp: " + e.Code + ": " + e.Message }

// Problem is one validation problem of a 422 answer, as blast.Problem.
type Problem struct {
	Code    blast.ProblemCode `json:"code"`
	Field   string            `json:"field"`
	Message string            `json:"message"`
	Fields  []string          `json:"fields,omitempty"`
}

// badRequest returns a 400 error with a PHI-free message.
func badRequest(code, format string, args ...any) error {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// badParam returns a 400 bad_request error naming the query parameter or
// body field at fault.
func badParam(field, format string, args ...any) error {
	return &apiError{Code: "bad_request", Field: field, Message: fmt.Sprintf(format, args...)}
}

// statusOf maps an error to its HTTP status and public body. Engine
// errors are mapped by class; their text is never echoed.
func statusOf(err error) (int, *apiError) {
	var ae *apiError
	var ve *blast.ValidationError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		if ae.status != 0 {
			return ae.status, ae
		}
		return http.StatusBadRequest, ae
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, &apiError{Code: "too_large", Message: fmt.Sprintf("request body over %d bytes", mbe.Limit)}
	case errors.As(err, &ve):
		ps := make([]Problem, len(ve.Problems))
		for i, p := range ve.Problems {
			ps[i] = Problem{Code: p.Code, Field: p.Field, Message: p.Message, Fields: p.Fields}
		}
		msg := "the blast cannot be sent"
		switch ve.Op {
		case blast.OpSave:
			msg = "the draft cannot be saved"
		case blast.OpAddRecipients:
			msg = "the recipients cannot be added"
		case blast.OpList:
			msg = "invalid list options"
		}
		return http.StatusUnprocessableEntity, &apiError{Code: "validation", Message: msg, Problems: ps}
	case errors.Is(err, blast.ErrNotFound):
		return http.StatusNotFound, &apiError{Code: "not_found", Message: "not found"}
	case errors.Is(err, blast.ErrComplaintRateGate):
		return http.StatusConflict, &apiError{Code: "complaint_rate_gate",
			Message: "marketing email from this sending domain is paused: its complaint rate reached the limit (transactional email still goes)"}
	case errors.Is(err, blast.ErrChanged):
		return http.StatusConflict, &apiError{Code: "changed", Message: "the draft changed while it was being sent; nothing was sent: send it again"}
	case errors.Is(err, blast.ErrAlreadySent):
		return http.StatusConflict, &apiError{Code: "already_sent", Message: "the blast was already sent or scheduled; duplicate it to send again"}
	case errors.Is(err, blast.ErrNotSent):
		return http.StatusConflict, &apiError{Code: "not_sent", Message: "the blast has not been sent yet"}
	case errors.Is(err, blast.ErrCancelled):
		return http.StatusConflict, &apiError{Code: "cancelled", Message: "the blast was cancelled; duplicate it to send again"}
	case errors.Is(err, blast.ErrNotPaused):
		return http.StatusConflict, &apiError{Code: "not_paused", Message: "only a paused blast can be resumed"}
	case errors.Is(err, blast.ErrNotCancellable):
		return http.StatusConflict, &apiError{Code: "not_cancellable", Message: "only scheduled and sending blasts can be cancelled"}
	case errors.Is(err, blast.ErrReconcileUnsupported):
		return http.StatusConflict, &apiError{Code: "reconcile_unsupported", Message: "the provider cannot say which in-doubt messages it accepted"}
	case errors.As(err, new(*provider.Error)) && provider.Classify(err) == provider.RateLimited:
		return http.StatusServiceUnavailable, &apiError{Code: "provider_rate_limited", Message: "the provider is rate limiting; try again later"}
	case errors.Is(err, blast.ErrNotRunning):
		return http.StatusServiceUnavailable, &apiError{Code: "unavailable", Message: "the blast engine is not running"}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, &apiError{Code: "unavailable", Message: "the request was cancelled or timed out"}
	}
	return http.StatusInternalServerError, &apiError{Code: "internal", Message: "internal error"}
}

// fail answers err. Only server errors are logged, with IDs and the
// engine's error text (PHI-free by the engine's contract).
func (h *Handler) fail(w http.ResponseWriter, r *request, err error) {
	status, body := statusOf(err)
	if status >= 500 {
		h.log.ErrorContext(r.Context(), "blasthttp: request failed",
			"method", r.Method, "pattern", r.Pattern, "org", r.org, "blast", r.blastID, "status", status, "err", err)
	}
	writeError(w, status, body)
}

func writeError(w http.ResponseWriter, status int, e *apiError) {
	writeJSON(w, status, map[string]*apiError{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		http.Error(w, `{"error":{"code":"internal","message":"internal error"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// decode reads a JSON body into v, rejecting unknown fields and trailing
// data. An empty body is an error unless optional is set (v then keeps its
// zero value). Messages name JSON fields and offsets, never values.
func decode(r *request, v any, optional bool) error {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		var ne net.Error
		switch {
		case errors.As(err, &mbe):
			return err
		case errors.As(err, &ne) && ne.Timeout():
			return &apiError{Code: "body_timeout", Message: "the request body did not arrive in time", status: http.StatusRequestTimeout}
		}
		return badRequest("bad_request", "the request body could not be read")
	}
	if n := jsonValues(raw, MaxJSONValues); n > MaxJSONValues {
		return &apiError{Code: "too_many_values", Message: fmt.Sprintf("request body holds more than %d JSON values", MaxJSONValues),
			status: http.StatusRequestEntityTooLarge}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == io.EOF && optional {
		return nil
	}
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return badRequest("bad_json", "trailing data after the JSON value")
		}
		return nil
	}
	var (
		mbe  *http.MaxBytesError
		syn  *json.SyntaxError
		typ  *json.UnmarshalTypeError
		name string
	)
	switch {
	case errors.As(err, &mbe):
		return err
	case err == io.EOF:
		return badRequest("bad_json", "empty request body")
	case errors.As(err, &syn):
		return badRequest("bad_json", "malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return badRequest("bad_json", "field %q has the wrong type", clip(typ.Field))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name = strings.TrimPrefix(err.Error(), "json: unknown field ")
		return badRequest("unknown_field", "unknown field %s", clip(name))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("bad_json", "truncated JSON")
	}
	return badRequest("bad_json", "invalid JSON value (a field has the wrong format)")
}

// jsonValues counts the values of a JSON text up to limit+1, in one pass
// without decoding: each scalar, array and object is one, and so is each
// object key. Malformed text is counted as far as it goes (the decoder
// then reports it).
func jsonValues(raw []byte, limit int) int {
	n := 0
	inString, escaped, inScalar := false, false, false
	for _, c := range raw {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString, inScalar = true, false
			n++
		case '{', '[':
			inScalar = false
			n++
		case ',', ':', '}', ']', ' ', '\t', '\n', '\r':
			inScalar = false
		default: // a number, true, false or null
			if !inScalar {
				inScalar = true
				n++
			}
		}
		if n > limit {
			return n
		}
	}
	return n
}

// clip bounds a client-supplied name echoed in an error message.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// providerCode reports whether err is a provider's refusal, and its
// vendor code (never the recipient).
func providerCode(err error) (string, bool) {
	var pe *provider.Error
	if !errors.As(err, &pe) {
		return "", false
	}
	if pe.Code != "" {
		return clip(pe.Code), true
	}
	return pe.Class.String(), true
}
