package blast

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/render"
	"github.com/carecast/carecast/store"
)

// Engine is the blast engine a host holds: drafts, preview, estimates,
// test sends, sending with a durable per-recipient ledger, scheduling,
// cancel, retry failed, add recipients, duplicate, results, provider
// events and analytics. It is safe for concurrent use. Build one with New;
// Start runs its workers and Stop ends them.
type Engine struct {
	cfg Config
	st  store.Store
	ps  cohort.PatientStore
	cs  cohort.Store
	clk Clock
	log *slog.Logger

	limSMS, limEmail *limiter
	limSender        map[string]*limiter // Config.SenderLimits
	helpT, stopT     *render.Template
	startT           *render.Template

	prepared *byteLRU[*prepared] // compiled blasts being sent (Config.CompiledCacheBytes)
	links    *byteLRU[*linkSet]  // clicked links, for a store without store.LinkIndex

	locs      sync.Map // IANA name → *time.Location, or nil for an unknown name
	locMisses atomic.Int64

	// Quiet hours: the area-code table (index NPA), the federal window
	// and the Strictest profile's window.
	npas               []areaZone
	federal, strictest QuietWindow

	counter  store.SentCounter // the store's, or nil (frequency caps, healthcare-exempt counts)
	failures store.FailureLog  // the store's, or nil (SoftFailures)

	health   store.DomainHealth // ComplaintGuard; nil when the store keeps no counts
	auditLog store.AuditLog     // nil when the store keeps none

	// unrecorded holds, by provider message ID, the outcomes of messages
	// the provider accepted that this process has not written yet
	// (outcomes are written in batches): a status callback that arrives
	// first writes its outcome itself instead of being lost.
	unrecMu    sync.Mutex
	unrecorded map[string]store.Outcome

	blockMu sync.Mutex
	blocked map[string]int // blast ID → sender refusals counted (SenderBlockGuard)
	tally   domainTally    // buffered event counts per sending domain

	rngMu sync.Mutex
	rng   *rand.Rand

	notifyMu sync.Mutex
	changed  chan struct{}

	runMu    sync.Mutex
	running  bool
	stopping atomic.Bool
	stopCh   chan struct{}
	cancel   context.CancelFunc
	stopSoft context.CancelFunc
	slots    chan struct{} // one token per idle worker
	wg       sync.WaitGroup
	kick     chan struct{}

	// parkMu guards the scheduler's parking state: parked (in idleWait,
	// not counted as active), kickPending (a kick arrived while it was
	// busy) and slotWait (waiting for a worker token, not counted).
	parkMu      sync.Mutex
	parked      bool
	kickPending bool
	slotWait    bool
	// active counts engine goroutines doing work (not waiting on the
	// clock or for work): Idle reports it is zero.
	active atomic.Int64

	writeMu sync.Mutex
	writing map[string]bool // blasts whose ledger is being written

	rrMu  sync.Mutex
	rrOrg int
	rrPos map[string]int

	batches batchGates  // batches being sent, for Cancel and pauses (fence.go)
	claims  claimCounts // batches claimed per blast, for Cancel's count (fence.go)
}

// New returns an engine configured by cfg (nil is an error: Store and the
// other required fields have no default). It returns a *ConfigError for
// an invalid field.
func New(cfg *Config) (*Engine, error) {
	if cfg == nil {
		return nil, &ConfigError{Field: "Store", Problem: "required (Config is nil)"}
	}
	c := cfg.withDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	e := &Engine{
		cfg: c, st: c.Store, ps: c.Patients, cs: c.Cohorts, clk: c.Clock, log: c.Logger,
		limSMS:   newLimiter(c.SMSRate, c.SMSBurst),
		limEmail: newLimiter(c.EmailRate, c.EmailBurst),
		prepared: newByteLRU[*prepared](c.CompiledCacheBytes),
		links:    newByteLRU[*linkSet](linkCacheBytes),
		rng:      rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x9e3779b97f4a7c15)),
		changed:  make(chan struct{}),
		kick:     make(chan struct{}, 1),
		writing:  make(map[string]bool),
		rrPos:    make(map[string]int),
		blocked:  make(map[string]int),

		unrecorded: make(map[string]store.Outcome),
	}
	e.initQuiet()
	e.initFrequencyCaps()
	e.initSoftFailures()
	e.initComplaintGuard()
	e.initAudit()
	e.limSender = make(map[string]*limiter, len(c.SenderLimits))
	for from, l := range c.SenderLimits {
		e.limSender[from] = newLimiter(l.Rate, max(1, l.Burst))
	}
	if rb, ok := c.Store.(store.RateBudget); ok && !c.NoSharedRateBudget {
		e.limSMS.share(rb, "carecast:sms")
		e.limEmail.share(rb, "carecast:email")
		for from, l := range e.limSender {
			l.share(rb, "carecast:sender:"+from)
		}
	}
	e.helpT, _ = render.ParseTemplate(c.HelpReply)
	e.stopT, _ = render.ParseTemplate(c.StopReply)
	e.startT, _ = render.ParseTemplate(c.StartReply)
	return e, nil
}

func (e *Engine) now() time.Time { return e.clk.Now() }

func (e *Engine) org(ctx context.Context, orgID string) (carecast.Organization, error) {
	if orgID == "" {
		return carecast.Organization{}, fmt.Errorf("blast: empty organization ID: %w", ErrNotFound)
	}
	o, err := e.cfg.Organizations.Organization(ctx, orgID)
	if err != nil {
		return carecast.Organization{}, fmt.Errorf("blast: organization %s: %w", orgID, err)
	}
	if o.ID == "" {
		o.ID = orgID
	}
	return o, nil
}

// locMissesMax bounds the unknown time-zone names cached: patient data
// could hold any number of distinct ones, the IANA database about 600.
const locMissesMax = 1024

// location returns the time zone named tz, or fallback when tz is empty
// or unknown. Results are cached (at most locMissesMax unknown names).
func (e *Engine) location(tz string, fallback *time.Location) *time.Location {
	if tz == "" {
		return fallback
	}
	if l, ok := e.locs.Load(tz); ok {
		if l == nil {
			return fallback
		}
		return l.(*time.Location)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		if e.locMisses.Add(1) <= locMissesMax {
			e.locs.Store(tz, nil)
		}
		return fallback
	}
	e.locs.Store(tz, loc)
	return loc
}

// notify wakes everyone waiting for a change (Wait, Changed) and the
// scheduler.
func (e *Engine) notify() {
	e.notifyWaiters()
	e.kickScheduler()
}

func (e *Engine) notifyWaiters() {
	e.notifyMu.Lock()
	close(e.changed)
	e.changed = make(chan struct{})
	e.notifyMu.Unlock()
}

// kickScheduler wakes an idle scheduler, counting it as active first (see
// idleWait). A kick to a busy scheduler is harmless: it only makes its
// next idle wait return at once.
func (e *Engine) kickScheduler() {
	e.parkMu.Lock()
	if e.parked {
		e.parked = false
		e.active.Add(1)
	} else {
		e.kickPending = true
	}
	e.parkMu.Unlock()
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Changed returns a channel that is closed at the next change: a ledger
// batch recorded, a blast's status changed, an event applied, or the
// engine gone idle. Hosts use it to push live progress; call it again
// after each wake-up.
func (e *Engine) Changed() <-chan struct{} {
	e.notifyMu.Lock()
	defer e.notifyMu.Unlock()
	return e.changed
}

// Idle reports whether the engine is running and every one of its
// goroutines is waiting, for the clock or for work: nothing more happens
// until the clock reaches a timer or a call (Send, HandleEvent, …) adds
// work. Tests driving a manual clock (blasttest.Harness.Run) advance it
// only when the engine is idle.
func (e *Engine) Idle() bool {
	e.runMu.Lock()
	running := e.running
	e.runMu.Unlock()
	return running && e.active.Load() == 0
}

// sleep blocks until at on the engine clock, or until ctx is done. When
// tracked, the calling goroutine is counted as inactive while it sleeps;
// the clock's callback re-counts it before the wake-up is observed, so
// Idle never reports a goroutine that is about to run.
func (e *Engine) sleep(ctx context.Context, at time.Time, tracked bool) error {
	d := at.Sub(e.clk.Now())
	if d <= 0 {
		return ctx.Err()
	}
	fired := make(chan struct{})
	t := e.clk.AfterFunc(d, func() {
		if tracked {
			e.active.Add(1)
		}
		close(fired)
	})
	if tracked {
		e.deactivate()
	}
	select {
	case <-fired:
		return nil
	case <-ctx.Done():
		if !t.Stop() {
			<-fired
		} else if tracked {
			e.active.Add(1)
		}
		return ctx.Err()
	}
}

// Start runs the engine's scheduler and Config.Workers sending goroutines
// until Stop is called or ctx is cancelled (a hard stop: in-flight
// provider calls are cancelled). It returns at once; ErrRunning if the
// engine is already running. Blasts can be created, sent and inspected
// without Start, but nothing is sent until it is called.
func (e *Engine) Start(ctx context.Context) error {
	e.runMu.Lock()
	defer e.runMu.Unlock()
	if e.running {
		return ErrRunning
	}
	// runCtx ends at a hard stop (in-flight provider calls are
	// cancelled); stopCtx also ends at a graceful stop (waits on the
	// clock and for work end, calls finish).
	runCtx, cancel := context.WithCancel(ctx)
	stopCtx, stopSoft := context.WithCancel(runCtx)
	e.running, e.cancel, e.stopSoft, e.stopCh = true, cancel, stopSoft, make(chan struct{})
	e.stopping.Store(false)
	work := make(chan *batch, e.cfg.Workers)
	e.slots = make(chan struct{}, e.cfg.Workers)
	for range e.cfg.Workers {
		e.slots <- struct{}{}
	}
	e.wg.Add(1 + e.cfg.Workers)
	e.active.Add(1) // the scheduler
	go func() {
		defer e.wg.Done()
		e.scheduler(runCtx, stopCtx, work)
	}()
	for range e.cfg.Workers {
		go func() {
			defer e.wg.Done()
			w := &worker{stopCtx: stopCtx}
			for b := range work {
				e.process(runCtx, b, w)
				e.claims.done(b.p.id)
				e.unpinPrepared(b.p)
				e.releaseSlot()
				e.deactivate() // the batch is done
			}
		}()
	}
	e.log.Info("blast engine started", "instance", e.cfg.InstanceID, "workers", e.cfg.Workers)
	return nil
}

// Stop stops the workers gracefully: no new rows are claimed, each worker
// finishes the provider call it is making, records every outcome, and
// hands the rows it claimed but did not send back to the queue (they stay
// queued, never in doubt). If ctx ends first, in-flight calls are
// cancelled (a hard stop) and Stop returns ctx's error after the
// goroutines have exited. ErrNotRunning if the engine was not started.
func (e *Engine) Stop(ctx context.Context) error {
	e.runMu.Lock()
	defer e.runMu.Unlock()
	if !e.running {
		return ErrNotRunning
	}
	e.stopping.Store(true)
	close(e.stopCh)
	defer e.tally.flush(context.WithoutCancel(ctx), e, time.Time{})
	e.stopSoft()
	done := make(chan struct{})
	go func() {
		e.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		e.cancel()
		<-done
	}
	e.cancel()
	e.running = false
	e.active.Store(0)
	e.parkMu.Lock()
	e.parked, e.kickPending, e.slotWait = false, false, false
	e.parkMu.Unlock()
	select {
	case <-e.kick:
	default:
	}
	e.log.Info("blast engine stopped", "instance", e.cfg.InstanceID)
	return err
}

// deactivate counts one engine goroutine (or batch) as no longer
// active, and tells Changed() waiters when the engine became idle.
func (e *Engine) deactivate() {
	if e.active.Add(-1) == 0 {
		e.notifyWaiters()
	}
}

// acquireSlot waits for an idle worker's token. While parked the
// scheduler does not count as active; the worker that hands a token back
// counts it again first (releaseSlot), under parkMu, so Engine.Idle never
// sees a gap. It returns false when ctx ends first.
func (e *Engine) acquireSlot(ctx context.Context) bool {
	e.parkMu.Lock()
	select {
	case <-e.slots:
		e.parkMu.Unlock()
		return true
	default:
	}
	e.slotWait = true
	e.deactivate()
	e.parkMu.Unlock()
	var ok bool
	select {
	case <-e.slots:
		ok = true
	case <-ctx.Done():
	}
	e.parkMu.Lock()
	if e.slotWait {
		e.slotWait = false
		e.active.Add(1) // no worker counted us (stopping)
	}
	e.parkMu.Unlock()
	return ok
}

// releaseSlot returns a worker's token, first counting a parked
// scheduler as active.
func (e *Engine) releaseSlot() {
	e.parkMu.Lock()
	if e.slotWait {
		e.slotWait = false
		e.active.Add(1)
	}
	e.slots <- struct{}{} // never blocks: one place per token
	e.parkMu.Unlock()
}

// jitter returns a random duration in [0, d).
func (e *Engine) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	e.rngMu.Lock()
	defer e.rngMu.Unlock()
	return time.Duration(e.rng.Int64N(int64(d)))
}

// backoff returns the delay before retry number n (1 for the first
// retry): BackoffBase·2^(n-1) capped at BackoffMax, half fixed and half
// random, and at least retryAfter.
func (e *Engine) backoff(n int, retryAfter time.Duration) time.Duration {
	d := e.cfg.BackoffBase
	for i := 1; i < n && d < e.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, e.cfg.BackoffMax)
	d = d/2 + e.jitter(d/2+1)
	return max(d, retryAfter)
}

// Wait blocks until the blast is completed, or cancelled with no row left
// queued or being sent, and returns its summary, or returns ctx's error. It needs a running engine (or another
// instance sharing the store) to make progress.
func (e *Engine) Wait(ctx context.Context, orgID, blastID string) (Summary, error) {
	for {
		ch := e.Changed()
		sb, err := e.header(ctx, orgID, blastID)
		if err != nil {
			return Summary{}, err
		}
		if sb.Status == store.BlastCompleted {
			return e.Summary(ctx, orgID, blastID)
		}
		if sb.Status == store.BlastCancelled {
			// Done once the rows workers held are settled too.
			sum, err := e.Summary(ctx, orgID, blastID)
			if err != nil || sum.Pending == 0 {
				return sum, err
			}
		}
		if sb.Status == store.BlastDraft {
			return Summary{}, fmt.Errorf("blast %s: %w", blastID, ErrNotSent)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return Summary{}, ctx.Err()
		}
	}
}
