package twilio_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/carecast/carecast/provider/providertest"
)

// vendor is an httptest server implementing the documented shape of
// Twilio's Messages API (POST form, basic auth, 201 Message resource,
// error JSON {code,message,more_info,status}).
type vendor struct {
	*httptest.Server
	user, pass string

	mu       sync.Mutex
	script   []providertest.SMSOutcome
	received []providertest.SMSReceived
	forms    []url.Values
	next     int
}

func newVendor(t *testing.T, user, pass string) *vendor {
	v := &vendor{user: user, pass: pass}
	v.Server = httptest.NewServer(http.HandlerFunc(v.serve))
	t.Cleanup(v.Close)
	return v
}

func (v *vendor) Script(o ...providertest.SMSOutcome) {
	v.mu.Lock()
	v.script = append(v.script, o...)
	v.mu.Unlock()
}

func (v *vendor) Received() []providertest.SMSReceived {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]providertest.SMSReceived(nil), v.received...)
}

func (v *vendor) Forms() []url.Values {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]url.Values(nil), v.forms...)
}

func twilioError(w http.ResponseWriter, status, code int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// Twilio's messages name the number; the adapter must not copy them.
	fmt.Fprintf(w, `{"code": %d, "message": "The 'To' number +14155550123 is not valid", "more_info": "https://www.twilio.com/docs/errors/%d", "status": %d}`, code, code, status)
}

func (v *vendor) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/Messages.json") || !strings.HasPrefix(r.URL.Path, "/2010-04-01/Accounts/AC") {
		twilioError(w, 404, 20404)
		return
	}
	if u, p, ok := r.BasicAuth(); !ok || u != v.user || p != v.pass {
		twilioError(w, 401, 20003)
		return
	}
	if err := r.ParseForm(); err != nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		twilioError(w, 400, 20001)
		return
	}
	f := r.PostForm
	from := f.Get("From")
	if from == "" {
		from = f.Get("MessagingServiceSid")
	}
	v.mu.Lock()
	v.forms = append(v.forms, f)
	v.received = append(v.received, providertest.SMSReceived{To: f.Get("To"), From: from, Body: f.Get("Body"), MediaURLs: f["MediaUrl"], StatusCallback: f.Get("StatusCallback")})
	outcome := providertest.SMSAccept
	if len(v.script) > 0 {
		outcome, v.script = v.script[0], v.script[1:]
	}
	v.next++
	n := v.next
	v.mu.Unlock()

	switch outcome {
	case providertest.SMSAccept:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		prefix := "SM"
		if len(f["MediaUrl"]) > 0 {
			prefix = "MM"
		}
		fmt.Fprintf(w, `{"sid": "%s%032d", "status": "queued", "num_segments": "1", "error_code": null, "to": %q}`, prefix, n, f.Get("To"))
	case providertest.SMSInvalidNumber:
		twilioError(w, 400, 21211)
	case providertest.SMSLandline:
		twilioError(w, 400, 21614)
	case providertest.SMSOptedOut:
		twilioError(w, 400, 21610)
	case providertest.SMSRateLimited:
		w.Header().Set("Retry-After", "2")
		twilioError(w, 429, 20429)
	case providertest.SMSUnavailable:
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "<html>Service Unavailable</html>")
	case providertest.SMSCutAfterRequest:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	case providertest.SMSGarbage:
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "<html>maintenance</html>")
	}
}
