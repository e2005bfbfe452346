package provider_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode/utf8"

	"github.com/carecast/carecast/provider"
	"github.com/stretchr/testify/assert"
)

func TestMatchKeyword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body    string
		want    provider.Keyword
		matched string
		fuzzy   bool
	}{
		// SM-03 test 1: exact opt-outs.
		{"STOP", provider.KeywordStop, "STOP", false},
		{"stop", provider.KeywordStop, "STOP", false},
		{"  Stop  ", provider.KeywordStop, "STOP", false},
		{"STOP.", provider.KeywordStop, "STOP", false},
		{"Stop!", provider.KeywordStop, "STOP", false},
		{"ＳＴＯＰ", provider.KeywordStop, "STOP", false},
		{"OPTOUT", provider.KeywordStop, "OPTOUT", false},
		{"Revoke", provider.KeywordStop, "REVOKE", false},
		{"STOPALL", provider.KeywordStop, "STOPALL", false},
		{"opt out", provider.KeywordStop, "OPTOUT", false},
		{"OPT-OUT", provider.KeywordStop, "OPTOUT", false},
		{"stop all", provider.KeywordStop, "STOPALL", false},
		{"Unsubscribe", provider.KeywordStop, "UNSUBSCRIBE", false},
		{"cancel", provider.KeywordStop, "CANCEL", false},
		{"End", provider.KeywordStop, "END", false},
		{"quit", provider.KeywordStop, "QUIT", false},
		{"stop 🛑", provider.KeywordStop, "STOP", false},
		{"STOP👍🏽", provider.KeywordStop, "STOP", false},
		// SM-03 test 2: reasonable-person opt-outs.
		{"please stop texting me", provider.KeywordStop, "STOP", true},
		{"unsubscribe me", provider.KeywordStop, "UNSUBSCRIBE", true},
		{"no more texts", provider.KeywordStop, "NO MORE TEXTS", true},
		{"STOP PLEASE", provider.KeywordStop, "STOP", true},
		{"Please opt me out", provider.KeywordStop, "OPT ME OUT", true},
		{"Don’t text me again", provider.KeywordStop, "DONT TEXT", true},
		{"I want to unsubscribe", provider.KeywordStop, "UNSUBSCRIBE", true},
		// SM-03 test 3: not opt-outs.
		{"Can I stop taking my meds before surgery?", provider.KeywordNone, "", false},
		{"can I stop my meds?", provider.KeywordNone, "", false},
		{"I'll end up late", provider.KeywordNone, "", false},
		{"Cancel my appointment tomorrow", provider.KeywordNone, "", false},
		{"stop texting me?", provider.KeywordNone, "", false},
		{"Stop by the front desk later", provider.KeywordNone, "", false},
		// SM-05 opt-in.
		{"START", provider.KeywordStart, "START", false},
		{"unstop", provider.KeywordStart, "UNSTOP", false},
		{"Yes", provider.KeywordNone, "YES", false},
		{"YES!", provider.KeywordNone, "YES", false},
		{"Yes please move it", provider.KeywordNone, "", false},
		// SM-06 help.
		{"help", provider.KeywordHelp, "HELP", false},
		{"INFO?", provider.KeywordHelp, "INFO", false},
		{"Help me reschedule", provider.KeywordNone, "", false},
		// Ordinary replies and noise.
		{"", provider.KeywordNone, "", false},
		{"   ", provider.KeywordNone, "", false},
		{"!!!", provider.KeywordNone, "", false},
		{"Thanks, see you Tuesday", provider.KeywordNone, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			got := provider.MatchKeyword(tt.body)
			assert.Equal(t, tt.want, got.Keyword)
			assert.Equal(t, tt.matched, got.Matched)
			assert.Equal(t, tt.fuzzy, got.Fuzzy)
			assert.Equal(t, tt.matched == "YES", got.Confirmation)
			assert.Equal(t, tt.want, provider.ParseKeyword(tt.body))
		})
	}
}

func FuzzMatchKeyword(f *testing.F) {
	for _, s := range []string{"STOP", "stop all", "please stop texting me", "can I stop my meds?", "ＳＴＯＰ", "\xff", "YES", "help me"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		m := provider.MatchKeyword(body)
		if (m.Keyword == provider.KeywordNone) != (m.Matched == "" || m.Confirmation) {
			t.Fatalf("MatchKeyword(%q) = %+v: Keyword and Matched disagree", body, m)
		}
		if m.Fuzzy && m.Keyword != provider.KeywordStop {
			t.Fatalf("MatchKeyword(%q) = %+v: only stop is fuzzy", body, m)
		}
		if !utf8.ValidString(m.Matched) {
			t.Fatalf("invalid UTF-8 in Matched")
		}
	})
}

func ExampleMatchKeyword() {
	for _, body := range []string{"Stop!", "opt out", "please stop texting me", "can I stop my meds?", "HELP", "Help me reschedule"} {
		m := provider.MatchKeyword(body)
		fmt.Printf("%-24q keyword=%q matched=%q fuzzy=%v\n", body, m.Keyword, m.Matched, m.Fuzzy)
	}
	// Output:
	// "Stop!"                  keyword="stop" matched="STOP" fuzzy=false
	// "opt out"                keyword="stop" matched="OPTOUT" fuzzy=false
	// "please stop texting me" keyword="stop" matched="STOP" fuzzy=true
	// "can I stop my meds?"    keyword="" matched="" fuzzy=false
	// "HELP"                   keyword="help" matched="HELP" fuzzy=false
	// "Help me reschedule"     keyword="" matched="" fuzzy=false
}

func ExampleParseKeyword() {
	fmt.Println(provider.ParseKeyword("ＳＴＯＰ"), provider.ParseKeyword("unstop"), provider.ParseKeyword("I'll end up late") == provider.KeywordNone)
	// Output: stop start true
}

func TestWebhookStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want int
	}{
		{nil, 200},
		{fmt.Errorf("twilio: missing header: %w", provider.ErrWebhookSignature), 403},
		{fmt.Errorf("ses: topic: %w", provider.ErrWebhookForbidden), 403},
		{fmt.Errorf("sendgrid: old: %w", provider.ErrWebhookStale), 401},
		{fmt.Errorf("twilio: form: %w", provider.ErrWebhookMalformed), 400},
		{fmt.Errorf("ses: body: %w", provider.ErrWebhookTooLarge), 413},
		{fmt.Errorf("ses: body: %w", provider.ErrWebhookTimeout), 408},
		{fmt.Errorf("store down"), 500},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, provider.WebhookStatus(tt.err), "%v", tt.err)
	}
}

func TestWebhookHandler(t *testing.T) {
	t.Parallel()
	limits := provider.BodyLimits{MaxBytes: 1 << 10}
	var got []provider.Event
	sink := func(_ context.Context, evs []provider.Event) error { got = append(got, evs...); return nil }
	tests := []struct {
		name   string
		evs    []provider.Event
		err    error
		sink   provider.EventSink
		status int
		calls  int
	}{
		{"ok", []provider.Event{{ID: "a"}}, nil, sink, 204, 1},
		{"nothing to record", nil, nil, sink, 204, 0},
		{"bad signature", []provider.Event{{ID: "a"}}, provider.ErrWebhookSignature, sink, 403, 0},
		{"sink fails", []provider.Event{{ID: "a"}}, nil, func(context.Context, []provider.Event) error { return errors.New("x") }, 500, 0},
	}
	for _, tt := range tests {
		got = nil
		h := provider.WebhookHandler(limits, func(*http.Request, []byte) ([]provider.Event, error) { return tt.evs, tt.err }, tt.sink, nil)
		rw := httptest.NewRecorder()
		h.ServeHTTP(rw, httptest.NewRequest("POST", "/", nil))
		assert.Equal(t, tt.status, rw.Code, tt.name)
		assert.Len(t, got, tt.calls, tt.name)
	}
	h := provider.WebhookHandler(limits, func(*http.Request, []byte) ([]provider.Event, error) { return nil, nil }, sink,
		func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("<Response/>")) })
	rw := httptest.NewRecorder()
	h.ServeHTTP(rw, httptest.NewRequest("POST", "/", nil))
	assert.Equal(t, "<Response/>", rw.Body.String())
}

func BenchmarkMatchKeyword(b *testing.B) {
	bodies := []string{"STOP", "please stop texting me", "Can I stop taking my meds before surgery?", "Thanks, see you Tuesday at 3pm!"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		provider.MatchKeyword(bodies[i%len(bodies)])
	}
}
