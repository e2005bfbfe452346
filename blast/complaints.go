package blast

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/store"
)

// ComplaintGuard is the complaint-rate guardrail of marketing email
// (compliance.md EM-08, after Gmail's bulk-sender rules): the engine
// counts, per organization, sending domain (the From address's) and UTC
// day, the emails reported delivered and the complaints (spam reports)
// from provider events. A day at or above WarnRate is logged as a
// warning; while any of the last RecoveryDays+1 days (today included) is
// at or above BlockRate, Send refuses new marketing email blasts from the
// domain with an error matching ErrComplaintRateGate, so sending resumes
// once RecoveryDays consecutive days have stayed below it. Transactional
// email is never refused. A day without deliveries has no rate.
//
// The counts need a store that implements store.DomainHealth (every store
// of this module does); with another store the guardrail is off and New
// logs so. An event is counted once, after it is recorded. Counts are
// buffered in the process for up to a second (flushed by the next event,
// the scheduler, ComplaintHealth and Stop), so a crash loses at most the
// last second's (the rate is a health signal, not a ledger).
type ComplaintGuard struct {
	// Disabled turns the guardrail off (the counts are still kept).
	Disabled bool
	// WarnRate is the daily complaint rate (complaints ÷ delivered)
	// that is logged as a warning. Defaults to 0.001 (0.1%).
	WarnRate float64
	// BlockRate is the daily rate that blocks new marketing email
	// blasts. Defaults to 0.003 (0.3%).
	BlockRate float64
	// RecoveryDays is how many consecutive days below BlockRate lift
	// the block. Defaults to 7.
	RecoveryDays int
}

// ErrComplaintRateGate is the class of every *ComplaintRateError.
var ErrComplaintRateGate = errors.New("blast: complaint-rate gate")

// ComplaintRateError says that a marketing email blast was refused
// because its sending domain's complaint rate reached the block level.
type ComplaintRateError struct {
	// Domain is the sending domain and Day the UTC day whose rate
	// (Complaints ÷ Delivered) reached Limit.
	Domain                string
	Day                   time.Time
	Delivered, Complaints int
	Limit                 float64
}

// Error implements error.
func (e *ComplaintRateError) Error() string {
	return fmt.Sprintf("blast: complaint-rate gate: %s had %d complaints for %d delivered emails on %s (%.2f%%, limit %.2f%%); marketing email from it is paused until the rate has stayed below the limit long enough",
		e.Domain, e.Complaints, e.Delivered, e.Day.Format(time.DateOnly), 100*float64(e.Complaints)/float64(e.Delivered), 100*e.Limit)
}

// Unwrap returns ErrComplaintRateGate.
func (e *ComplaintRateError) Unwrap() error { return ErrComplaintRateGate }

// ComplaintHealth is a sending domain's recent complaint record.
type ComplaintHealth struct {
	// Domain is the sending domain.
	Domain string
	// Days are the days of the window (the last RecoveryDays+1 UTC
	// days, today included) that have counts, oldest first.
	Days []store.DomainDay
	// Worst is the day of the window with the highest rate (zero when
	// no day has deliveries) and WorstRate its rate.
	Worst     store.DomainDay
	WorstRate float64
	// Warning is set when some day of the window is at or above
	// WarnRate, Blocked when some day is at or above BlockRate: Send
	// then refuses marketing email blasts from the domain.
	Warning, Blocked bool
}

// ComplaintHealth returns the complaint record of organization orgID's
// sending domain (for example "mail.clinic.example") over the guard's
// window. It fails when the store keeps no domain counts.
func (e *Engine) ComplaintHealth(ctx context.Context, orgID, domain string) (ComplaintHealth, error) {
	if e.health == nil {
		return ComplaintHealth{}, errors.New("blast: ComplaintHealth: the store does not implement store.DomainHealth")
	}
	e.tally.flush(ctx, e, time.Time{})
	g := &e.cfg.ComplaintGuard
	now := e.now()
	days, err := e.health.DomainDays(ctx, orgID, domain, now.AddDate(0, 0, -g.RecoveryDays), now)
	if err != nil {
		return ComplaintHealth{}, fmt.Errorf("blast: reading complaint counts: %w", err)
	}
	h := ComplaintHealth{Domain: domain, Days: days}
	for _, d := range days {
		if d.Delivered == 0 {
			continue
		}
		r := float64(d.Complaints) / float64(d.Delivered)
		if r > h.WorstRate || h.Worst.Delivered == 0 {
			h.Worst, h.WorstRate = d, r
		}
	}
	h.Warning = h.Worst.Delivered > 0 && h.WorstRate >= g.WarnRate
	h.Blocked = h.Worst.Delivered > 0 && h.WorstRate >= g.BlockRate
	return h, nil
}

// complaintGate refuses a marketing email blast whose domain is blocked,
// and logs a warning when it is at the warning level.
func (e *Engine) complaintGate(ctx context.Context, p *prepared) error {
	if e.cfg.ComplaintGuard.Disabled || p.ch != carecast.Email || p.pu != carecast.Marketing || e.health == nil {
		return nil
	}
	domain := emailDomain(p.from)
	if domain == "" {
		return nil
	}
	h, err := e.ComplaintHealth(ctx, p.orgID, domain)
	if err != nil {
		return err
	}
	switch {
	case h.Blocked:
		e.log.Warn("marketing email refused: complaint rate at the block level", "org", p.orgID, "blast", p.id, "domain", domain,
			"day", h.Worst.Day.Format(time.DateOnly), "rate", h.WorstRate)
		return &ComplaintRateError{Domain: domain, Day: h.Worst.Day, Delivered: h.Worst.Delivered, Complaints: h.Worst.Complaints,
			Limit: e.cfg.ComplaintGuard.BlockRate}
	case h.Warning:
		e.log.Warn("complaint rate at the warning level", "org", p.orgID, "blast", p.id, "domain", domain,
			"day", h.Worst.Day.Format(time.DateOnly), "rate", h.WorstRate)
	}
	return nil
}

// domainTally buffers the delivered and complaint counts of email events
// between flushes: every event of a domain and day adds to the same store
// row, so one write per row a second replaces one per event (which would
// make concurrent webhooks queue on that row's lock).
type domainTally struct {
	mu      sync.Mutex
	domains map[string]string // blast ID → sending domain
	pending map[tallyKey][2]int
	flushed time.Time
}

type tallyKey struct {
	org, domain string
	day         int64
}

// flushEvery is how long counts wait in a domainTally at most while
// events or the scheduler come by.
const flushEvery = time.Second

// countDomain adds an email event of row r to its sending domain's day.
func (e *Engine) countDomain(ctx context.Context, r *store.Row, at time.Time, delivered, complaints int) {
	if r.Channel != carecast.Email || e.health == nil {
		return
	}
	t := &e.tally
	t.mu.Lock()
	domain, ok := t.domains[r.BlastID]
	t.mu.Unlock()
	if !ok {
		sb, err := e.st.Blast(ctx, r.OrgID, r.BlastID)
		if err != nil {
			e.log.Error("counting a delivery or complaint", "org", r.OrgID, "blast", r.BlastID, "err", err)
			return
		}
		b, err := fromStore(&sb)
		if err != nil {
			e.log.Error("counting a delivery or complaint", "org", r.OrgID, "blast", r.BlastID, "err", err)
			return
		}
		domain = emailDomain(b.From)
		t.mu.Lock()
		if t.domains == nil || len(t.domains) > 4096 {
			t.domains = make(map[string]string) // old blasts' entries; a miss costs one read
		}
		t.domains[r.BlastID] = domain
		t.mu.Unlock()
	}
	if domain == "" {
		return
	}
	k := tallyKey{org: r.OrgID, domain: domain, day: store.UnixDay(at)}
	t.mu.Lock()
	if t.pending == nil {
		t.pending = make(map[tallyKey][2]int)
	}
	c := t.pending[k]
	t.pending[k] = [2]int{c[0] + delivered, c[1] + complaints}
	t.mu.Unlock()
	t.flush(ctx, e, e.now())
}

// flush writes the pending counts when the last flush is flushEvery old
// (always when now is zero). A count the store refuses is kept for the
// next flush.
func (t *domainTally) flush(ctx context.Context, e *Engine, now time.Time) {
	t.mu.Lock()
	if len(t.pending) == 0 || !now.IsZero() && now.Sub(t.flushed) < flushEvery && !now.Before(t.flushed) {
		t.mu.Unlock()
		return
	}
	pending := t.pending
	t.pending, t.flushed = nil, now
	t.mu.Unlock()
	for k, c := range pending {
		err := e.health.AddDomainCounts(context.WithoutCancel(ctx), k.org, k.domain, store.DayStart(k.day), c[0], c[1])
		if err == nil {
			continue
		}
		e.log.Error("counting deliveries and complaints", "org", k.org, "domain", k.domain, "err", err)
		t.mu.Lock()
		if t.pending == nil {
			t.pending = make(map[tallyKey][2]int)
		}
		p := t.pending[k]
		t.pending[k] = [2]int{p[0] + c[0], p[1] + c[1]}
		t.mu.Unlock()
	}
}

// emailDomain is the lower-cased domain of an email address ("Clinic
// <news@Mail.Clinic.example>" → "mail.clinic.example"), or "".
func emailDomain(from string) string {
	a, err := mail.ParseAddress(from)
	if err != nil {
		return ""
	}
	i := strings.LastIndexByte(a.Address, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(a.Address[i+1:])
}

// initComplaintGuard finds the store's domain counts.
func (e *Engine) initComplaintGuard() {
	if dh, ok := e.st.(store.DomainHealth); ok {
		e.health = dh
		return
	}
	if !e.cfg.ComplaintGuard.Disabled {
		e.log.Warn("the store does not implement store.DomainHealth: the complaint-rate guardrail (compliance.md EM-08) is off")
	}
}
