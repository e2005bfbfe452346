package blasttest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/fake"
	"github.com/carecast/carecast/store/memstore"
)

// Org is the ID of the organization NewEngine registers.
const Org = "org-test"

// Epoch is the harness clock's starting time: Tuesday 10 March 2026,
// 16:00 UTC (11:00 in New York, 09:00 in Los Angeles).
var Epoch = time.Date(2026, 3, 10, 16, 0, 0, 0, time.UTC)

// Options adjusts the harness; nil accepts every default.
type Options struct {
	// Config, when not nil, is called with the engine configuration
	// before New, to change any field.
	Config func(*blast.Config)
	// Organization replaces the default organization ("Sunrise Family
	// Clinic" in America/New_York, with a postal address). Its ID is
	// forced to Org.
	Organization *carecast.Organization
	// NoStart leaves the engine stopped (call Engine.Start yourself).
	NoStart bool
	// Start is the clock's starting time; zero means Epoch.
	Start time.Time
	// CoversPHI makes both fake providers report BAA coverage
	// (provider.BAACoverage), so PHI-bearing blasts may be sent.
	CoversPHI bool
	// RedactsNumbers makes the fake SMS provider report phone-number
	// redaction (provider.Redaction).
	RedactsNumbers bool
}

// Harness is an engine with its in-memory dependencies.
type Harness struct {
	// Engine is the harness's engine; Others are more engines sharing
	// the same store and clock (several processes), see Attach.
	Engine   *blast.Engine
	Others   []*blast.Engine
	Store    *memstore.Store
	Patients *cohort.MemPatientStore
	Cohorts  *cohort.MemStore
	SMS      *fake.Provider
	Email    *fake.Provider
	Clock    *Clock
	Orgs     blast.OrgMap
	Domains  *Domains
}

// Domains is a provider.DomainVerifier whose answers tests set: every
// (organization, purpose) is verified unless Unverify is called.
type Domains struct {
	bad map[string]bool
}

// Unverify makes the organization's domain for purpose unverified.
func (d *Domains) Unverify(orgID string, purpose carecast.Purpose) {
	d.bad[orgID+"/"+string(purpose)] = true
}

// VerifyDomain implements provider.DomainVerifier.
func (d *Domains) VerifyDomain(_ context.Context, orgID string, purpose carecast.Purpose) (provider.DomainStatus, error) {
	ok := !d.bad[orgID+"/"+string(purpose)]
	return provider.DomainStatus{Domain: string(purpose) + ".clinic.example", Verified: ok,
		Checks: []provider.DomainCheck{{Name: "dmarc", OK: ok}}}, nil
}

// NewEngine returns a started harness; the engine is stopped (and checked
// to stop cleanly) when tb ends.
func NewEngine(tb testing.TB, opts *Options) *Harness {
	tb.Helper()
	if opts == nil {
		opts = &Options{}
	}
	start := Epoch
	if !opts.Start.IsZero() {
		start = opts.Start
	}
	clk := NewClock(start)
	org := carecast.Organization{Name: "Sunrise Family Clinic", TimeZone: "America/New_York",
		PostalAddress: []string{"1 Main St", "Springfield, IL 62701"}}
	if opts.Organization != nil {
		org = *opts.Organization
	}
	org.ID = Org
	h := &Harness{
		Store:    memstore.New(),
		Patients: cohort.NewMemPatientStore(),
		Cohorts:  cohort.NewMemStoreWith(&cohort.MemStoreConfig{Now: clk.Now}),
		SMS:      fake.New(&fake.Config{Now: clk.Now, IDPrefix: "SM", CoversPHI: opts.CoversPHI, RedactsNumbers: opts.RedactsNumbers}),
		Email:    fake.New(&fake.Config{Now: clk.Now, IDPrefix: "EM", CoversPHI: opts.CoversPHI}),
		Clock:    clk,
		Orgs:     blast.OrgMap{Org: org},
		Domains:  &Domains{bad: map[string]bool{}},
	}
	cfg := blast.Config{
		Store: h.Store, Patients: h.Patients, Cohorts: h.Cohorts, Organizations: h.Orgs,
		SMS: h.SMS, Email: h.Email, DomainVerifier: h.Domains, Clock: clk,
		InstanceID: "test", Workers: 2, PollInterval: time.Minute,
		SMSRate: blast.RateUnlimited, EmailRate: blast.RateUnlimited,
		UnsubscribeURL: func(orgID, blastID string, rowID int64) string {
			return "https://t.clinic.example/u/" + blastID + "/" + itoa(rowID)
		},
	}
	if opts.Config != nil {
		opts.Config(&cfg)
	}
	e, err := blast.New(&cfg)
	if err != nil {
		tb.Fatalf("blasttest: blast.New: %v", err)
	}
	h.Engine = e
	if !opts.NoStart {
		if err := e.Start(context.Background()); err != nil {
			tb.Fatalf("blasttest: Start: %v", err)
		}
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Stop(ctx); err != nil && err != blast.ErrNotRunning {
			tb.Errorf("blasttest: Stop: %v", err)
		}
	})
	return h
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// Attach adds an engine (built by the test on h.Store, h.Clock, …) that
// Run and RunUntil wait for too: the clock only advances when every
// engine is idle.
func (h *Harness) Attach(e *blast.Engine) { h.Others = append(h.Others, e) }

func (h *Harness) idle() bool {
	if !h.Engine.Idle() {
		return false
	}
	for _, e := range h.Others {
		if !e.Idle() {
			return false
		}
	}
	return true
}

// changed returns the cases of a select on every engine's Changed channel
// and on done.
func (h *Harness) changed(done <-chan struct{}) []reflect.SelectCase {
	cases := []reflect.SelectCase{
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(done)},
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(h.Engine.Changed())},
	}
	for _, e := range h.Others {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(e.Changed())})
	}
	return cases
}

// Cohort saves a cohort of Org with the filter and returns it.
func (h *Harness) Cohort(tb testing.TB, name string, f cohort.Filter) cohort.Cohort {
	tb.Helper()
	c, err := h.Cohorts.SaveCohort(context.Background(), cohort.Cohort{OrgID: Org, Name: name, Filter: f})
	if err != nil {
		tb.Fatalf("blasttest: SaveCohort: %v", err)
	}
	return c
}

// MaxSteps bounds Run: the most clock advances it makes before failing.
const MaxSteps = 200000

// Run drives the engine until the blast is completed, or cancelled with no
// row left queued or being sent, and returns its summary: whenever the engine is idle it advances the clock
// to the next timer (a poll, a retry's backoff, a rate-limit wait, the end
// of quiet hours). It fails the test if the blast does not finish within
// MaxSteps advances or 30 seconds of real time.
func (h *Harness) Run(tb testing.TB, orgID, blastID string) blast.Summary {
	tb.Helper()
	return h.RunUntil(tb, func() bool {
		b, err := h.Engine.Get(context.Background(), orgID, blastID)
		if err != nil {
			tb.Fatalf("blasttest: Get: %v", err)
		}
		if b.Status == blast.StatusCancelled {
			s, err := h.Engine.Summary(context.Background(), orgID, blastID)
			return err == nil && s.Pending == 0
		}
		return b.Status == blast.StatusCompleted
	}, func() blast.Summary {
		s, err := h.Engine.Summary(context.Background(), orgID, blastID)
		if err != nil {
			tb.Fatalf("blasttest: Summary: %v", err)
		}
		return s
	})
}

// RunUntil drives the engine, advancing the clock whenever it is idle,
// until done reports true, and returns result().
func (h *Harness) RunUntil(tb testing.TB, done func() bool, result func() blast.Summary) blast.Summary {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range MaxSteps {
		cases := h.changed(ctx.Done())
		// Check idleness before done: an idle engine's state is stable,
		// so a blast not done now will not finish without the clock.
		idle := h.idle()
		if done() {
			return result()
		}
		if idle {
			if !h.Clock.AdvanceToNext() {
				tb.Fatalf("blasttest: engine idle with no timer pending and the blast unfinished")
			}
			continue
		}
		if i, _, _ := reflect.Select(cases); i == 0 {
			tb.Fatalf("blasttest: blast did not finish within 30s of real time (clock at %s)", h.Clock.Now().Format(time.RFC3339))
		}
	}
	tb.Fatalf("blasttest: blast did not finish within %d clock steps", MaxSteps)
	return blast.Summary{}
}

// RequireSent fails the test unless p accepted exactly one message for
// each address in to, and returns those messages in the order of to.
func RequireSent(tb testing.TB, p *fake.Provider, to ...string) []fake.Message {
	tb.Helper()
	out := make([]fake.Message, 0, len(to))
	for _, addr := range to {
		ms := p.SentTo(addr)
		if len(ms) != 1 {
			tb.Fatalf("blasttest: %d messages accepted for recipient #%d, want 1", len(ms), len(out)+1)
		}
		out = append(out, ms[0])
	}
	return out
}

// RequireNotSent fails the test if p accepted any message for an address
// in to.
func RequireNotSent(tb testing.TB, p *fake.Provider, to ...string) {
	tb.Helper()
	for i, addr := range to {
		if n := len(p.SentTo(addr)); n != 0 {
			tb.Fatalf("blasttest: %d messages accepted for recipient #%d, want none", n, i+1)
		}
	}
}

// RequireNoDuplicates fails the test if p accepted any message ID twice.
func RequireNoDuplicates(tb testing.TB, p *fake.Provider) {
	tb.Helper()
	if n := p.Duplicates(); n != 0 {
		tb.Fatalf("blasttest: provider accepted %d duplicate messages", n)
	}
}
