package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/openai"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatRequest struct {
	Model               string        `json:"model"`
	Messages            []chatMessage `json:"messages"`
	MaxCompletionTokens int           `json:"max_completion_tokens"`
}

// chatServer speaks the chat-completions API: it records requests and
// answers with scripted contents in order.
type chatServer struct {
	*httptest.Server
	mu       sync.Mutex
	replies  []string
	requests []chatRequest
	raw      []string
	auth     []string
	headers  []http.Header
	status   int
}

func newChatServer(t *testing.T, replies ...string) *chatServer {
	s := &chatServer{replies: replies}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *chatServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		http.Error(w, `{"error":{"message":"not found"}}`, 404)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, `{"error":{"message":"bad json"}}`, 400)
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.raw = append(s.raw, string(body))
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	s.headers = append(s.headers, r.Header.Clone())
	status := s.status
	reply := "(no scripted reply)"
	if len(s.replies) > 0 {
		reply, s.replies = s.replies[0], s.replies[1:]
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if status != 0 {
		w.WriteHeader(status)
		io.WriteString(w, `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`)
		return
	}
	content, _ := json.Marshal(reply)
	fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":%q,
"choices":[{"index":0,"message":{"role":"assistant","content":%s,"refusal":null},"finish_reason":"stop","logprobs":null}],
"usage":{"prompt_tokens":10,"completion_tokens":10,"total_tokens":20}}`, req.Model, content)
}

func (s *chatServer) Requests() []chatRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]chatRequest(nil), s.requests...)
}

func newClient(t *testing.T, s *chatServer) *openai.Client {
	t.Helper()
	c, err := openai.New(openai.Config{BaseURL: s.URL + "/v1", APIKey: "sk-test", Model: "test-model"})
	require.NoError(t, err)
	return c
}

func smsRequest() provider.GenerateRequest {
	return provider.GenerateRequest{
		Kind: provider.GenerateSMSBody, OrgID: "org_1", Prompt: "Flu shots are available this week, book online.",
		OrgName: "Oak Clinic", Purpose: "marketing", FieldKeys: []string{"first_name", "organization_name"},
		MaxSegments: 1, GSM7Only: true, Suffix: " Reply STOP to opt out",
	}
}

func TestGenerateAndRegenerate(t *testing.T) {
	t.Parallel()
	s := newChatServer(t,
		`"Hi {{first_name}}, flu shots are in at {{organization_name}} this week. Book online!"`,
		"Hi {{first_name}}, flu shots are in this week. Book online.")
	c := newClient(t, s)
	ctx := context.Background()

	gen, err := c.Generate(ctx, smsRequest())
	require.NoError(t, err)
	assert.Equal(t, "Hi {{first_name}}, flu shots are in at {{organization_name}} this week. Book online!", gen.Text, "quotes stripped")
	assert.Equal(t, []string{"first_name", "organization_name"}, gen.Fields)
	assert.Equal(t, 1, gen.Segments)
	assert.Equal(t, "GSM-7", gen.Encoding)
	require.Len(t, gen.History, 1)

	req := smsRequest()
	req.History = gen.History
	req.History[0].Feedback = "drop the clinic name"
	gen2, err := c.Generate(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, "Hi {{first_name}}, flu shots are in this week. Book online.", gen2.Text)
	require.Len(t, gen2.History, 2)
	assert.Equal(t, "drop the clinic name", gen2.History[0].Feedback)

	reqs := s.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "test-model", reqs[0].Model)
	// The conversation is kept: system, prompt, first draft, feedback.
	roles := func(r chatRequest) []string {
		var out []string
		for _, m := range r.Messages {
			out = append(out, m.Role)
		}
		return out
	}
	assert.Equal(t, []string{"system", "user"}, roles(reqs[0]))
	assert.Equal(t, []string{"system", "user", "assistant", "user"}, roles(reqs[1]))
	assert.Equal(t, gen.Text, reqs[1].Messages[2].Content)
	assert.Contains(t, reqs[1].Messages[3].Content, "drop the clinic name")
	sys := reqs[0].Messages[0].Content
	for _, want := range []string{"Oak Clinic", "{{first_name}}", "{{organization_name}}", "1 SMS segment", "Reply STOP to opt out", "no emoji"} {
		assert.Contains(t, sys, want)
	}
	assert.Equal(t, "Bearer sk-test", s.auth[0])
}

// The model is given nothing but the staff prompt, the organisation name and
// field names: the whole request body is checked.
func TestNoPatientDataSent(t *testing.T) {
	t.Parallel()
	s := newChatServer(t, "Your flu shot is ready.")
	c := newClient(t, s)
	_, err := c.Generate(context.Background(), smsRequest())
	require.NoError(t, err)
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(s.raw[0]), &body))
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	assert.ElementsMatch(t, []string{"model", "messages", "max_completion_tokens"}, keys)
	assert.NotContains(t, s.raw[0], "org_1", "the org ID stays local")
	assert.Len(t, s.Requests()[0].Messages, 2)
	assert.Equal(t, smsRequest().Prompt, s.Requests()[0].Messages[1].Content)
}

func TestDraftChecks(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("Flu shots are here. ", 12)
	tests := []struct {
		name    string
		mod     func(*provider.GenerateRequest)
		replies []string
		want    string // final text, or "" when an error is expected
		problem string
		calls   int
	}{
		{"too long then fixed", nil, []string{long, "Flu shots are here."}, "Flu shots are here.", "", 2},
		{"too long twice", nil, []string{long, long}, "", "segments, at most 1 allowed", 2},
		{"emoji refused for GSM-7", nil, []string{"Flu shots are here 💉", "Flu shots are here"}, "Flu shots are here", "", 2},
		{"unknown field", nil, []string{"Hi {{diagnosis}}", "Hi {{diagnosis}}"}, "", "do not exist: {{diagnosis}}", 2},
		{"field not offered", nil, []string{"Hi {{last_name}}", "Hi {{last_name}}"}, "", "{{last_name}}, which is not available", 2},
		{"unclosed field", nil, []string{"Hi {{first_name", "Hi there"}, "Hi there", "", 2},
		{"suffix counts", func(r *provider.GenerateRequest) { r.Suffix = " " + strings.Repeat("x", 100) }, []string{strings.Repeat("a", 70), strings.Repeat("a", 50)}, strings.Repeat("a", 50), "", 2},
		{"two segments allowed", func(r *provider.GenerateRequest) { r.MaxSegments, r.Suffix = 2, "" }, []string{strings.Repeat("a", 300)}, strings.Repeat("a", 300), "", 1},
		{"subject label and quotes", func(r *provider.GenerateRequest) { r.Kind = provider.GenerateEmailSubject }, []string{"Subject: “Your flu shot is ready”"}, "Your flu shot is ready", "", 1},
		{"subject one line", func(r *provider.GenerateRequest) { r.Kind = provider.GenerateEmailSubject }, []string{"Line one\nLine two", "Line two"}, "Line two", "", 2},
		{"subject too long", func(r *provider.GenerateRequest) { r.Kind = provider.GenerateEmailSubject }, []string{strings.Repeat("s", 81), strings.Repeat("s", 81)}, "", "81 characters, at most 80", 2},
		{"preview", func(r *provider.GenerateRequest) { r.Kind = provider.GenerateEmailPreview }, []string{"'Protect yourself this winter'"}, "Protect yourself this winter", "", 1},
		{"body fenced", func(r *provider.GenerateRequest) { r.Kind = provider.GenerateEmailBody }, []string{"```markdown\n# Flu season\n\nHi {{first_name}}!\n```"}, "# Flu season\n\nHi {{first_name}}!", "", 1},
		{"empty", nil, []string{`""`, "  "}, "", "empty", 2},
		{"inner quotes kept", func(r *provider.GenerateRequest) { r.Kind = provider.GenerateEmailBody }, []string{`"Flu" season is "here"`}, `"Flu" season is "here"`, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newChatServer(t, tt.replies...)
			c := newClient(t, s)
			req := smsRequest()
			req.Suffix = ""
			if tt.mod != nil {
				tt.mod(&req)
			}
			gen, err := c.Generate(context.Background(), req)
			assert.Len(t, s.Requests(), tt.calls)
			if tt.want == "" {
				var de *openai.DraftError
				require.True(t, errors.As(err, &de), "%v", err)
				assert.ErrorIs(t, err, openai.ErrInvalidDraft)
				assert.Contains(t, de.Problem, tt.problem)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, gen.Text)
			if tt.calls > 1 {
				// The retry told the model what was wrong.
				last := s.Requests()[tt.calls-1].Messages
				assert.Contains(t, last[len(last)-1].Content, "That draft cannot be used")
			}
		})
	}
}

func TestRequestErrors(t *testing.T) {
	t.Parallel()
	s := newChatServer(t)
	s.status = 429
	c := newClient(t, s)
	_, err := c.Generate(context.Background(), smsRequest())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "HTTP 429")
	assert.NotContains(t, err.Error(), "sk-test")
	assert.Len(t, s.Requests(), 1, "no retries inside the client")

	for _, tt := range []struct {
		mod  func(*provider.GenerateRequest)
		want string
	}{
		{func(r *provider.GenerateRequest) { r.Kind = "tweet" }, "Kind"},
		{func(r *provider.GenerateRequest) { r.Prompt = " " }, "Prompt"},
		{func(r *provider.GenerateRequest) { r.History = []provider.Revision{{Text: "x"}} }, "Feedback"},
		{func(r *provider.GenerateRequest) { r.MaxSegments = -1 }, "MaxSegments"},
	} {
		req := smsRequest()
		tt.mod(&req)
		_, err := c.Generate(context.Background(), req)
		assert.ErrorContains(t, err, tt.want)
	}
	_, err = openai.New(openai.Config{})
	assert.ErrorContains(t, err, "Model")
}

func TestCancelled(t *testing.T) {
	t.Parallel()
	s := newChatServer(t, "x")
	c := newClient(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Generate(ctx, smsRequest())
	assert.ErrorIs(t, err, context.Canceled)
}

// The client never picks up OPENAI_* environment variables.
func TestIgnoresEnvironment(t *testing.T) {
	t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
	t.Setenv("OPENAI_API_KEY", "sk-from-env")
	t.Setenv("OPENAI_ORG_ID", "org-from-env")
	t.Setenv("OPENAI_CUSTOM_HEADERS", "X-Leak: yes")
	s := newChatServer(t, "Hello.")
	c, err := openai.New(openai.Config{BaseURL: s.URL + "/v1", Model: "m"})
	require.NoError(t, err)
	_, err = c.Generate(context.Background(), smsRequest())
	require.NoError(t, err)
	h := s.headers[0]
	assert.Empty(t, h.Get("OpenAI-Organization"))
	assert.Empty(t, h.Get("X-Leak"))
	assert.NotContains(t, h.Get("Authorization"), "sk-from-env")
}
