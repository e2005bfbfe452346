package fake

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/provider"
)

// Config configures a Provider. The zero value is valid.
type Config struct {
	// Now is the provider's clock, used for Message.At and outage
	// windows. Defaults to time.Now.
	Now func() time.Time
	// Latency delays every call (a real timer, cancelled with ctx).
	// Defaults to 0 (answer at once).
	Latency time.Duration
	// IDPrefix prefixes the generated provider message IDs. Defaults to
	// "FK".
	IDPrefix string
	// DiscardBodies, when true, keeps only metadata in the log (no Body,
	// HTML, Text or attachments), for benchmarks with many messages.
	DiscardBodies bool
	// CoversPHI is what the provider reports through
	// provider.BAACoverage: whether PHI-bearing blasts may be sent
	// through it. Defaults to false, like the real adapters.
	CoversPHI bool
	// RedactsNumbers is what the provider reports through
	// provider.Redaction (an account with phone-number redaction on).
	RedactsNumbers bool
}

// Message is one message the fake accepted (or attempted, see Attempts).
type Message struct {
	// ID is the engine's message (ledger row) ID.
	ID string
	// OrgID is the sending organization.
	OrgID string
	// Channel is SMS or Email.
	Channel carecast.Channel
	// To and From are the addresses.
	To, From string
	// Body and MediaURLs are an SMS's content; StatusCallback its
	// delivery-status URL.
	Body           string
	MediaURLs      []string
	StatusCallback string
	// Subject, HTML and Text are an email's content; Marketing and
	// ListUnsubscribeURL its unsubscribe settings; Attachments its files.
	Subject               string
	HTML                  string
	Text                  string
	Marketing             bool
	ListUnsubscribeURL    string
	ListUnsubscribeMailto string
	Attachments           []provider.Attachment
	// ProviderMessageID is the ID the fake assigned.
	ProviderMessageID string
	// At is the provider-clock time of the call.
	At time.Time
	// Accepted is false for a call the fake refused (it is then only in
	// Received, not in Sent).
	Accepted bool
	// Err is the refused call's error ("" when accepted, or the
	// ambiguous error of an accepted one).
	Err string
}

// ScriptFunc decides the fate of one call: nil accepts the message, an
// error fails it (Ambiguous errors still accept it). attempt counts calls
// for the same message ID, starting at 1.
type ScriptFunc func(m *Message, attempt int) error

// Provider is a fake provider.SMSSender and provider.EmailSender. It is
// safe for concurrent use.
type Provider struct {
	cfg Config

	mu         sync.Mutex
	sent       [][]Message // chunks of sentChunk, never moved
	nsent      int
	ids        map[string]*idStat // message ID → counters
	calls      int
	duplicates int
	seq        int64
	failNext   []error
	failTo     map[string][]error
	outages    [][2]time.Time
	script     ScriptFunc
	lineTypes  map[string]lineAnswer // LookupLineType answers by number
	lookups    int
	unsure     map[string]bool // CheckAccepted answers unknown for these addresses
	checks     int
	checkErrs  []error
}

// lineAnswer is a scripted LookupLineType answer.
type lineAnswer struct {
	lt  carecast.LineType
	err error
}

type idStat struct{ calls, accepted int }

const sentChunk = 4096

var (
	_ provider.SMSSender      = (*Provider)(nil)
	_ provider.EmailSender    = (*Provider)(nil)
	_ provider.BAACoverage    = (*Provider)(nil)
	_ provider.Redaction      = (*Provider)(nil)
	_ provider.LineTypeLookup = (*Provider)(nil)

	_ provider.AcceptanceChecker = (*Provider)(nil)
)

// SetLineType makes LookupLineType answer lt for phone, or fail with err
// when err is not nil.
func (p *Provider) SetLineType(phone string, lt carecast.LineType, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lineTypes == nil {
		p.lineTypes = make(map[string]lineAnswer)
	}
	p.lineTypes[phone] = lineAnswer{lt, err}
}

// LookupLineType implements provider.LineTypeLookup with the answers of
// SetLineType (carecast.LineUnknown for other numbers).
func (p *Provider) LookupLineType(ctx context.Context, phone string) (carecast.LineType, error) {
	if err := ctx.Err(); err != nil {
		return carecast.LineUnknown, &provider.Error{Class: provider.Transient, Message: "fake lookup cancelled", Err: err}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lookups++
	a := p.lineTypes[phone]
	return a.lt, a.err
}

// Lookups returns how many LookupLineType calls were made.
func (p *Provider) Lookups() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lookups
}

// RedactsNumbers implements provider.Redaction: it reports
// Config.RedactsNumbers.
func (p *Provider) RedactsNumbers() bool { return p.cfg.RedactsNumbers }

// CoversPHI implements provider.BAACoverage: it reports Config.CoversPHI.
func (p *Provider) CoversPHI() bool { return p.cfg.CoversPHI }

// New returns a fake provider. cfg may be nil to accept the defaults.
func New(cfg *Config) *Provider {
	p := &Provider{ids: make(map[string]*idStat), failTo: make(map[string][]error)}
	if cfg != nil {
		p.cfg = *cfg
	}
	if p.cfg.Now == nil {
		p.cfg.Now = time.Now
	}
	if p.cfg.IDPrefix == "" {
		p.cfg.IDPrefix = "FK"
	}
	return p
}

// SendSMS implements provider.SMSSender.
func (p *Provider) SendSMS(ctx context.Context, msg *provider.SMSMessage) (provider.Result, error) {
	m := Message{ID: msg.ID, OrgID: msg.OrgID, Channel: carecast.SMS, To: msg.To, From: msg.From, StatusCallback: msg.StatusCallback}
	if !p.cfg.DiscardBodies {
		m.Body = msg.Body
		if len(msg.MediaURLs) > 0 {
			m.MediaURLs = append([]string(nil), msg.MediaURLs...)
		}
	}
	return p.send(ctx, &m)
}

// SendEmail implements provider.EmailSender.
func (p *Provider) SendEmail(ctx context.Context, msg *provider.EmailMessage) (provider.Result, error) {
	m := Message{ID: msg.ID, OrgID: msg.OrgID, Channel: carecast.Email, To: msg.To, From: msg.From,
		Subject: msg.Subject, Marketing: msg.Marketing, ListUnsubscribeURL: msg.ListUnsubscribeURL,
		ListUnsubscribeMailto: msg.ListUnsubscribeMailto}
	if !p.cfg.DiscardBodies {
		m.HTML, m.Text = msg.HTML, msg.Text
		m.Attachments = append([]provider.Attachment(nil), msg.Attachments...)
	}
	return p.send(ctx, &m)
}

func (p *Provider) send(ctx context.Context, m *Message) (provider.Result, error) {
	if err := ctx.Err(); err != nil {
		return provider.Result{}, err
	}
	if p.cfg.Latency > 0 {
		t := time.NewTimer(p.cfg.Latency)
		select {
		case <-ctx.Done():
			t.Stop()
			return provider.Result{}, ctx.Err()
		case <-t.C:
		}
	}
	now := p.cfg.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	st := p.ids[m.ID]
	if st == nil {
		st = &idStat{}
		p.ids[m.ID] = st
	}
	st.calls++
	err := p.fateLocked(m, now, st.calls)
	m.At = now
	if err != nil {
		m.Err = err.Error()
	}
	if err != nil && (provider.Classify(err) != provider.Ambiguous || isLost(err)) {
		p.logLocked(m)
		return provider.Result{}, err
	}
	p.seq++
	m.ProviderMessageID = p.cfg.IDPrefix + strconv.FormatInt(p.seq, 10)
	m.Accepted = true
	if st.accepted > 0 {
		p.duplicates++
	}
	st.accepted++
	p.nsent++
	p.logLocked(m)
	if err != nil {
		return provider.Result{}, err
	}
	return provider.Result{ProviderMessageID: m.ProviderMessageID}, nil
}

func (p *Provider) logLocked(m *Message) {
	if len(p.sent) == 0 || len(p.sent[len(p.sent)-1]) == sentChunk {
		p.sent = append(p.sent, make([]Message, 0, sentChunk))
	}
	last := len(p.sent) - 1
	p.sent[last] = append(p.sent[last], *m)
}

func (p *Provider) fateLocked(m *Message, now time.Time, attempt int) error {
	if len(p.failNext) > 0 {
		err := p.failNext[0]
		p.failNext = p.failNext[1:]
		return err
	}
	for _, o := range p.outages {
		if !now.Before(o[0]) && now.Before(o[1]) {
			return &provider.Error{Class: provider.Transient, Code: "503", Message: "fake outage"}
		}
	}
	if errs := p.failTo[m.To]; len(errs) > 0 {
		p.failTo[m.To] = errs[1:]
		return errs[0]
	}
	if p.script != nil {
		return p.script(m, attempt)
	}
	return nil
}

// FailNext makes the next calls fail with errs, one error per call, in
// order, before any other rule applies. A nil error accepts its call.
func (p *Provider) FailNext(errs ...error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failNext = append(p.failNext, errs...)
}

// FailTo makes the next calls to address to fail with errs, one per call,
// in order (calls refused by FailNext or an outage do not count); later
// calls succeed.
func (p *Provider) FailTo(to string, errs ...error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failTo[to] = append(p.failTo[to], errs...)
}

// Outage makes every call whose provider-clock time t satisfies
// from ≤ t < to fail with a transient 503 error.
func (p *Provider) Outage(from, to time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.outages = append(p.outages, [2]time.Time{from, to})
}

// Script installs f to decide calls that no FailNext, Outage or FailTo
// rule decided. nil removes it.
func (p *Provider) Script(f ScriptFunc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.script = f
}

// Sent returns a copy of the log of accepted messages, in order.
func (p *Provider) Sent() []Message {
	return p.log(true)
}

// Received returns every call, accepted or refused, in order.
func (p *Provider) Received() []Message {
	return p.log(false)
}

func (p *Provider) log(acceptedOnly bool) []Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Message, 0, p.nsent)
	for _, c := range p.sent {
		for i := range c {
			if c[i].Accepted || !acceptedOnly {
				out = append(out, c[i])
			}
		}
	}
	return out
}

// SentTo returns the accepted messages addressed to to, in order.
func (p *Provider) SentTo(to string) []Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Message
	for _, c := range p.sent {
		for _, m := range c {
			if m.To == to && m.Accepted {
				out = append(out, m)
			}
		}
	}
	return out
}

// Count returns the number of accepted messages.
func (p *Provider) Count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.nsent
}

// Calls returns the number of send calls made, accepted or not.
func (p *Provider) Calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// Attempts returns the number of calls made for message ID id.
func (p *Provider) Attempts(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st := p.ids[id]; st != nil {
		return st.calls
	}
	return 0
}

// Duplicates returns how many times a message ID was accepted after it had
// already been accepted once. The engine must keep this at zero.
func (p *Provider) Duplicates() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.duplicates
}

// Reset forgets every message, counter and rule.
func (p *Provider) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent, p.nsent, p.calls, p.duplicates, p.seq = nil, 0, 0, 0, 0
	p.ids, p.failTo = make(map[string]*idStat), make(map[string][]error)
	p.failNext, p.outages, p.script = nil, nil, nil
	p.unsure, p.checks, p.checkErrs = nil, 0, nil
}

// Transient returns a transient (retryable) error, like an HTTP 503.
func Transient() error {
	return &provider.Error{Class: provider.Transient, Code: "503", Message: "fake service unavailable"}
}

// RateLimited returns a rate-limit error (HTTP 429, Twilio 20429) carrying
// retryAfter (0 means unspecified).
func RateLimited(retryAfter time.Duration) error {
	return &provider.Error{Class: provider.RateLimited, Code: "20429", Message: "fake too many requests", RetryAfter: retryAfter}
}

// Permanent returns a permanent error with the vendor code.
func Permanent(code string) error {
	return &provider.Error{Class: provider.Permanent, Code: code, Message: "fake permanent failure"}
}

// Landline returns the error of a number that cannot receive texts
// (Twilio 21614).
func Landline() error {
	return &provider.Error{Class: provider.Landline, Code: "21614", Message: "fake not a mobile number"}
}

// OptedOut returns the error of a recipient who opted out at the vendor
// (Twilio 21610).
func OptedOut() error {
	return &provider.Error{Class: provider.OptedOut, Code: "21610", Message: "fake unsubscribed recipient"}
}

// SenderBlocked returns a refusal for the sender's sake (code "550 5.7.1"
// or "30007"): a reputation block or carrier filtering.
func SenderBlocked(code string) error {
	return &provider.Error{Class: provider.SenderBlocked, Code: code, Message: "fake sender block"}
}

// Bounce returns the error of a dead mailbox (SMTP 550 5.1.1).
func Bounce() error {
	return &provider.Error{Class: provider.Suppress, Code: "550 5.1.1", Message: "fake mailbox unavailable"}
}

// Ambiguous returns an ambiguous error: the fake accepts the message, then
// reports this error, as when a connection breaks after the request.
func Ambiguous() error {
	return &provider.Error{Class: provider.Ambiguous, Code: "timeout", Message: "fake answer lost"}
}

// lostCode marks AmbiguousLost's errors.
const lostCode = "timeout-lost"

// AmbiguousLost returns an ambiguous error for a request the vendor never
// got: the engine cannot tell it from [Ambiguous], but the fake does not
// accept the message (CheckAccepted then says so).
func AmbiguousLost() error {
	return &provider.Error{Class: provider.Ambiguous, Code: lostCode, Message: "fake request lost"}
}

func isLost(err error) bool {
	var pe *provider.Error
	return errors.As(err, &pe) && pe.Code == lostCode
}

// CheckAccepted implements provider.AcceptanceChecker from what the fake
// knows: an accepted text to q.To from q.From with q.Body whose call time
// is within [q.After, q.Before] is accepted (its ProviderMessageID);
// otherwise not accepted. It answers unknown for an address named by
// AcceptanceUnknownFor, and when Config.DiscardBodies leaves nothing to
// compare. Errors queued by FailCheckNext come first.
func (p *Provider) CheckAccepted(ctx context.Context, q *provider.AcceptanceQuery) (provider.Acceptance, error) {
	if err := ctx.Err(); err != nil {
		return provider.Acceptance{}, &provider.Error{Class: provider.Transient, Message: "fake check cancelled", Err: err}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.checks++
	if len(p.checkErrs) > 0 {
		err := p.checkErrs[0]
		p.checkErrs = p.checkErrs[1:]
		return provider.Acceptance{}, err
	}
	if p.unsure[q.To] || p.cfg.DiscardBodies {
		return provider.Acceptance{}, nil
	}
	for _, c := range p.sent {
		for i := range c {
			m := &c[i]
			if m.Accepted && m.Channel == carecast.SMS && m.To == q.To && m.From == q.From && m.Body == q.Body &&
				!m.At.Before(q.After) && !m.At.After(q.Before) {
				return provider.Acceptance{Status: provider.AcceptanceAccepted, ProviderMessageID: m.ProviderMessageID}, nil
			}
		}
	}
	return provider.Acceptance{Status: provider.AcceptanceNotAccepted}, nil
}

// AcceptanceUnknownFor makes CheckAccepted answer unknown for texts to
// these addresses (a vendor whose records cannot tell).
func (p *Provider) AcceptanceUnknownFor(addrs ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.unsure == nil {
		p.unsure = make(map[string]bool)
	}
	for _, a := range addrs {
		p.unsure[a] = true
	}
}

// FailCheckNext makes the next CheckAccepted calls fail with errs, one
// per call, in order.
func (p *Provider) FailCheckNext(errs ...error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.checkErrs = append(p.checkErrs, errs...)
}

// Checks returns how many CheckAccepted calls were made.
func (p *Provider) Checks() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.checks
}
