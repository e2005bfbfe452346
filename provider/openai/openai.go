package openai

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/render"
	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// Defaults for Config fields left zero.
const (
	DefaultBaseURL         = "https://api.openai.com/v1"
	DefaultTimeout         = 60 * time.Second
	DefaultMaxTokens       = 1024
	DefaultMaxAttempts     = 2
	DefaultMaxSubjectChars = 80
	DefaultMaxPreviewChars = 140
	DefaultMaxBodyChars    = 8000
)

// Config configures a [Client].
type Config struct {
	// BaseURL is the root of an OpenAI-compatible API, up to and
	// including the version ("https://api.openai.com/v1",
	// "http://localhost:11434/v1" for Ollama, a vLLM server, or an Azure
	// OpenAI deployment's /openai/v1 root). Defaults to DefaultBaseURL.
	BaseURL string
	// APIKey is sent as a bearer token. It may be empty for local servers.
	// Environment variables are never read.
	APIKey string
	// Model is the model or deployment name. Required.
	Model string
	// HTTPClient sends the requests. Defaults to a client with Timeout.
	HTTPClient *http.Client
	// Timeout bounds one model request when HTTPClient is nil. Defaults
	// to DefaultTimeout.
	Timeout time.Duration
	// MaxTokens bounds each completion. Defaults to DefaultMaxTokens.
	MaxTokens int
	// MaxAttempts is how many drafts one Generate call may request when
	// a draft fails the checks (the model is told what was wrong).
	// Defaults to DefaultMaxAttempts.
	MaxAttempts int
	// MaxSubjectChars, MaxPreviewChars and MaxBodyChars bound email
	// subjects, preview texts and bodies in characters, with merge fields
	// replaced by example values. Default to DefaultMaxSubjectChars (80),
	// DefaultMaxPreviewChars (140) and DefaultMaxBodyChars (8000).
	MaxSubjectChars int
	MaxPreviewChars int
	MaxBodyChars    int
}

// Client is the AI writing assistant backed by any OpenAI-compatible chat
// completions endpoint. It implements provider.TextGenerator and is safe
// for concurrent use.
type Client struct {
	cfg  Config
	chat oai.ChatCompletionService
}

var _ provider.TextGenerator = (*Client)(nil)

// ErrInvalidDraft is wrapped by the *DraftError returned when every
// attempt produced a draft that failed the checks.
var ErrInvalidDraft = errors.New("openai: the model's draft failed the checks")

// DraftError says why the last draft was refused.
type DraftError struct {
	// Kind is what was requested.
	Kind provider.GenerateKind
	// Problem is the failed check ("3 segments, at most 1 allowed",
	// "uses unknown merge field {{diagnosis}}").
	Problem string
}

// Error implements error.
func (e *DraftError) Error() string {
	return "openai: " + string(e.Kind) + " draft refused: " + e.Problem
}

// Unwrap returns ErrInvalidDraft.
func (e *DraftError) Unwrap() error { return ErrInvalidDraft }

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.Model == "" {
		return nil, errors.New("openai: Config.Model is required")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if !strings.HasPrefix(cfg.BaseURL, "https://") && !strings.HasPrefix(cfg.BaseURL, "http://") {
		return nil, errors.New("openai: Config.BaseURL must be an http(s) URL")
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&cfg.MaxTokens, DefaultMaxTokens)
	def(&cfg.MaxAttempts, DefaultMaxAttempts)
	def(&cfg.MaxSubjectChars, DefaultMaxSubjectChars)
	def(&cfg.MaxPreviewChars, DefaultMaxPreviewChars)
	def(&cfg.MaxBodyChars, DefaultMaxBodyChars)
	if cfg.MaxTokens < 0 || cfg.MaxAttempts < 0 || cfg.MaxSubjectChars < 0 || cfg.MaxPreviewChars < 0 || cfg.MaxBodyChars < 0 {
		return nil, errors.New("openai: Config limits must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: cfg.Timeout}
	}
	// The service is built directly rather than through oai.NewClient,
	// which would read OPENAI_* environment variables (organisation,
	// project, custom headers) behind the host's back.
	chat := oai.NewChatCompletionService(
		option.WithBaseURL(strings.TrimRight(cfg.BaseURL, "/")+"/"),
		option.WithAPIKey(cfg.APIKey),
		option.WithHTTPClient(hc),
		option.WithMaxRetries(0),
	)
	return &Client{cfg: cfg, chat: chat}, nil
}

// Generate drafts the requested text. With req.History it continues the
// conversation: the earlier drafts and the staff member's feedback are
// replayed so the model revises rather than starts over. Each draft is
// checked (see the package documentation); a draft that fails is sent
// back to the model with the reason, up to Config.MaxAttempts drafts.
func (c *Client) Generate(ctx context.Context, req provider.GenerateRequest) (provider.Generation, error) {
	if err := validateRequest(&req); err != nil {
		return provider.Generation{}, err
	}
	msgs := c.conversation(&req)
	var problem string
	for range c.cfg.MaxAttempts {
		text, err := c.complete(ctx, msgs)
		if err != nil {
			return provider.Generation{}, err
		}
		gen, p := c.check(&req, text)
		if p == "" {
			gen.History = append(slices.Clone(req.History), provider.Revision{Text: gen.Text})
			return gen, nil
		}
		problem = p
		msgs = append(msgs, oai.AssistantMessage(text),
			oai.UserMessage("That draft cannot be used: "+p+". Write a corrected version. Reply with the text only."))
	}
	return provider.Generation{}, &DraftError{Kind: req.Kind, Problem: problem}
}

func validateRequest(req *provider.GenerateRequest) error {
	if !req.Kind.Valid() {
		return fmt.Errorf("openai: GenerateRequest.Kind %q is not a known kind", req.Kind)
	}
	if strings.TrimSpace(req.Prompt) == "" {
		return errors.New("openai: GenerateRequest.Prompt is required")
	}
	if req.MaxSegments < 0 {
		return errors.New("openai: GenerateRequest.MaxSegments must not be negative")
	}
	if req.MaxSegments == 0 {
		req.MaxSegments = 1
	}
	for i, r := range req.History {
		if strings.TrimSpace(r.Feedback) == "" {
			return fmt.Errorf("openai: GenerateRequest.History[%d].Feedback is empty (say what to change)", i)
		}
	}
	return nil
}

// complete sends one chat completion request and returns the first
// choice's text.
func (c *Client) complete(ctx context.Context, msgs []oai.ChatCompletionMessageParamUnion) (string, error) {
	resp, err := c.chat.New(ctx, oai.ChatCompletionNewParams{
		Model:               c.cfg.Model,
		Messages:            msgs,
		MaxCompletionTokens: oai.Int(int64(c.cfg.MaxTokens)),
	})
	if err != nil {
		var ae *oai.Error
		if errors.As(err, &ae) {
			return "", fmt.Errorf("openai: model request failed with HTTP %d", ae.StatusCode)
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("openai: model request: %w", ctx.Err())
		}
		return "", fmt.Errorf("openai: model request failed: %w", err)
	}
	if len(resp.Choices) == 0 {
		return "", errors.New("openai: the model returned no choices")
	}
	ch := resp.Choices[0]
	if ch.Message.Refusal != "" {
		return "", errors.New("openai: the model refused the request")
	}
	return ch.Message.Content, nil
}

var kindText = map[provider.GenerateKind]string{
	provider.GenerateSMSBody:      "the text of an SMS message",
	provider.GenerateEmailSubject: "an email subject line",
	provider.GenerateEmailPreview: "the preview text (preheader) shown after an email's subject in the inbox",
	provider.GenerateEmailBody:    "the body of an email, in Markdown",
}

// conversation builds the messages: only the staff prompt, the
// organisation's name, the merge-field names and the constraints, never
// patient data.
func (c *Client) conversation(req *provider.GenerateRequest) []oai.ChatCompletionMessageParamUnion {
	var b strings.Builder
	org := req.OrgName
	if org == "" {
		org = "a healthcare practice"
	}
	fmt.Fprintf(&b, "You write %s that %s sends to its patients.\n", kindText[req.Kind], org)
	if req.Purpose == string(carecast.Marketing) {
		b.WriteString("It is a marketing message: friendly, honest, no pressure.\n")
	} else {
		b.WriteString("It is an informational message: clear and brief.\n")
	}
	b.WriteString("Rules:\n- Reply with the text only: no quotes, no labels, no explanations.\n")
	b.WriteString("- Never invent medical details, diagnoses, prices or dates the instruction does not give.\n")
	if len(req.FieldKeys) > 0 {
		b.WriteString("- To personalise, you may use only these merge fields, written exactly as shown:")
		for _, k := range req.FieldKeys {
			b.WriteString(" {{" + k + "}}")
		}
		b.WriteString(".\n")
	} else {
		b.WriteString("- Do not use merge fields or {{placeholders}}.\n")
	}
	switch req.Kind {
	case provider.GenerateSMSBody:
		fmt.Fprintf(&b, "- It must fit in %d SMS segment(s): at most %d characters", req.MaxSegments, smsBudget(req.MaxSegments, true))
		if req.Suffix != "" {
			fmt.Fprintf(&b, " including the line %q, which is appended automatically (do not write it)", req.Suffix)
		}
		b.WriteString(".\n")
		if req.GSM7Only {
			b.WriteString("- Use only plain characters: no emoji, no curly quotes, no special symbols.\n")
		}
	case provider.GenerateEmailSubject:
		fmt.Fprintf(&b, "- One line, at most %d characters.\n", c.cfg.MaxSubjectChars)
	case provider.GenerateEmailPreview:
		fmt.Fprintf(&b, "- One line, at most %d characters, complementing the subject.\n", c.cfg.MaxPreviewChars)
	case provider.GenerateEmailBody:
		fmt.Fprintf(&b, "- At most %d characters. No HTML.\n", c.cfg.MaxBodyChars)
	}
	msgs := []oai.ChatCompletionMessageParamUnion{oai.SystemMessage(b.String()), oai.UserMessage(req.Prompt)}
	for _, r := range req.History {
		msgs = append(msgs, oai.AssistantMessage(r.Text), oai.UserMessage("Revise it: "+r.Feedback))
	}
	return msgs
}

// smsBudget returns the GSM-7 character capacity of n segments.
func smsBudget(n int, gsm bool) int {
	single, concat := render.SMSSingleGSM7, render.SMSConcatGSM7
	if !gsm {
		single, concat = render.SMSSingleUCS2, render.SMSConcatUCS2
	}
	if n <= 1 {
		return single
	}
	return n * concat
}

// quotePairs are the wrappers models put around answers.
var quotePairs = [][2]string{{`"`, `"`}, {"'", "'"}, {"“", "”"}, {"‘", "’"}, {"«", "»"}, {"„", "“"}, {"```", "```"}, {"`", "`"}}

// clean trims white space, surrounding quotes or code fences, and a
// leading label ("Subject:") from a draft.
func clean(kind provider.GenerateKind, s string) string {
	s = strings.TrimSpace(s)
	for changed := true; changed; {
		changed = false
		for _, q := range quotePairs {
			if len(s) >= len(q[0])+len(q[1]) && strings.HasPrefix(s, q[0]) && strings.HasSuffix(s, q[1]) {
				inner := s[len(q[0]) : len(s)-len(q[1])]
				if q[0] == "```" {
					// Drop a language tag on the opening fence.
					if i := strings.IndexByte(inner, '\n'); i >= 0 && !strings.ContainsAny(inner[:i], " \t") {
						inner = inner[i+1:]
					}
				} else if strings.Contains(inner, q[0]) || strings.Contains(inner, q[1]) {
					continue // quotes inside: not a wrapper
				}
				s, changed = strings.TrimSpace(inner), true
			}
		}
	}
	labels := map[provider.GenerateKind][]string{
		provider.GenerateEmailSubject: {"subject:", "subject line:"},
		provider.GenerateEmailPreview: {"preview:", "preview text:", "preheader:"},
		provider.GenerateSMSBody:      {"sms:", "message:"},
	}
	for _, l := range labels[kind] {
		if len(s) > len(l) && strings.EqualFold(s[:len(l)], l) {
			return clean(kind, s[len(l):])
		}
	}
	return s
}

// check cleans and validates a draft; problem is empty when it passes.
func (c *Client) check(req *provider.GenerateRequest, raw string) (gen provider.Generation, problem string) {
	text := clean(req.Kind, raw)
	if text == "" {
		return gen, "the draft is empty"
	}
	if !utf8.ValidString(text) {
		return gen, "the draft is not valid text"
	}
	tpl, err := render.ParseTemplate(text)
	if err != nil {
		var uf *render.UnknownFieldsError
		if errors.As(err, &uf) {
			var names []string
			for _, f := range uf.Fields {
				names = append(names, "{{"+f.Key+"}}")
			}
			return gen, "it uses merge fields that do not exist: " + strings.Join(names, ", ")
		}
		return gen, "a merge field is not closed with }}"
	}
	for _, k := range tpl.FieldKeys() {
		if !slices.Contains(req.FieldKeys, k) {
			return gen, "it uses the merge field {{" + k + "}}, which is not available here"
		}
	}
	gen.Text, gen.Fields = text, tpl.FieldKeys()
	sample := tpl.RenderSample(render.Data{Org: &carecast.Organization{Name: req.OrgName}})
	chars := utf8.RuneCountInString(sample)
	switch req.Kind {
	case provider.GenerateSMSBody:
		cnt := render.CountSMS(sample + req.Suffix)
		gen.Segments, gen.Encoding = cnt.Segments, cnt.Encoding.String()
		if req.GSM7Only && cnt.Encoding != render.GSM7 {
			return gen, "it contains characters outside the GSM-7 alphabet (emoji or special symbols)"
		}
		if cnt.Segments > req.MaxSegments {
			return gen, fmt.Sprintf("it takes %d SMS segments, at most %d allowed: shorten it to about %d characters", cnt.Segments, req.MaxSegments, smsBudget(req.MaxSegments, cnt.Encoding == render.GSM7)-utf8.RuneCountInString(req.Suffix))
		}
	case provider.GenerateEmailSubject, provider.GenerateEmailPreview:
		limit := c.cfg.MaxSubjectChars
		if req.Kind == provider.GenerateEmailPreview {
			limit = c.cfg.MaxPreviewChars
		}
		if strings.ContainsAny(text, "\r\n") {
			return gen, "it must be a single line"
		}
		if chars > limit {
			return gen, fmt.Sprintf("it has %d characters, at most %d allowed", chars, limit)
		}
	case provider.GenerateEmailBody:
		if chars > c.cfg.MaxBodyChars {
			return gen, fmt.Sprintf("it has %d characters, at most %d allowed", chars, c.cfg.MaxBodyChars)
		}
	}
	return gen, ""
}
