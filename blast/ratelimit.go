package blast

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/carecast/carecast/store"
)

// limiter throttles one provider. It combines a token bucket
// (golang.org/x/time/rate, which smooths the flow) with a strict ceiling:
// a ring of the last floor(rate)+burst grant times guarantees that no
// half-open one-second window ever holds more grants than that, whatever
// the token bucket does (at high rates with large bursts it can hand out
// more than its limit: golang/go#65508). Retries, test sends and
// confirmation replies all pass through the same limiter, so the ceiling
// holds while retries back off. A provider's 429 pauses it.
//
// When the store implements store.RateBudget (several engine processes
// sharing one database), each send also takes a slot of the shared
// budget, so the limit holds for the provider account across processes;
// slots are reserved a few at a time (about 50 ms of the rate).
type limiter struct {
	mu    sync.Mutex
	tb    *rate.Limiter // nil: unlimited
	rate  float64
	burst int
	ring  []int64 // grant times (Unix ns), oldest at pos once full
	pos   int
	full  bool
	last  int64
	pause atomic.Int64 // Unix ns before which nothing is granted

	budget  store.RateBudget // nil: this process only
	key     string
	slotsMu sync.Mutex
	slots   []time.Time // reserved shared slots not used yet
}

// newLimiter returns a limiter for r messages per second with burst b; a
// negative r means unlimited.
func newLimiter(r float64, b int) *limiter {
	if r < 0 {
		return &limiter{}
	}
	ceiling := int(math.Floor(r)) + b
	if ceiling < 1 {
		ceiling = 1
	}
	return &limiter{tb: rate.NewLimiter(rate.Limit(r), b), rate: r, burst: b, ring: make([]int64, ceiling)}
}

// share makes l also draw from the budget key of a shared store budget.
func (l *limiter) share(b store.RateBudget, key string) {
	if l.tb != nil {
		l.budget, l.key = b, key
	}
}

// sharedSlot returns the time of the next shared-budget slot (≥ now),
// reserving a few more from the store when none is left.
func (l *limiter) sharedSlot(ctx context.Context, now time.Time) (time.Time, error) {
	l.slotsMu.Lock()
	defer l.slotsMu.Unlock()
	for len(l.slots) > 0 {
		t := l.slots[0]
		l.slots = l.slots[1:]
		// A slot long past was reserved for a send that did not happen
		// in time; using it now could bunch sends, so skip it.
		if !t.Before(now.Add(-time.Second / 20)) {
			return t, nil
		}
	}
	n := max(1, min(l.burst, int(l.rate/20)))
	slots, err := l.budget.ReserveSends(ctx, store.RateParams{Key: l.key, Rate: l.rate, Burst: l.burst, N: n, Now: now})
	if err != nil {
		return time.Time{}, err
	}
	if len(slots) == 0 {
		return now, nil
	}
	l.slots = append(l.slots[:0], slots[1:]...)
	return slots[0], nil
}

// reserveToken books one token-bucket slot and returns the time it is
// due (≥ now, and not before a pause ends). The booking cannot be
// cancelled: an unused slot only makes the flow slower, never faster.
func (l *limiter) reserveToken(now time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := now
	if p := l.pausedUntil(); t.Before(p) {
		t = p
	}
	if l.tb == nil {
		return t
	}
	if r := l.tb.ReserveN(t, 1); r.OK() {
		t = t.Add(r.DelayFrom(t))
	}
	return t
}

// admit is the strict ceiling, checked at the moment of dispatch: it
// records the grant and reports true when fewer than len(ring) grants
// happened in (now-1s, now] and no pause is in force, returning the
// recorded time (now, or the previous grant's time if a caller's clock
// reading lagged another's); otherwise it returns the earliest time worth
// trying again.
func (l *limiter) admit(now time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	next, ok := l.checkLocked(now)
	if !ok {
		return next, false
	}
	return l.recordLocked(next, now), true
}

// checkLocked is admit's test: the grant time to record and true, or the
// earliest time worth trying again and false. l.mu is held.
func (l *limiter) checkLocked(now time.Time) (time.Time, bool) {
	if p := l.pausedUntil(); now.Before(p) {
		return p, false
	}
	if l.tb == nil {
		return now, true
	}
	at := now.UnixNano()
	if at < l.last {
		at = l.last // a clock reading that lagged another's: keep the ring ordered
	}
	if l.full {
		if floor := l.ring[l.pos] + int64(time.Second); at < floor {
			return time.Unix(0, floor), false
		}
	}
	return time.Unix(0, at), true
}

// recordLocked records a grant at at (from checkLocked). l.mu is held.
func (l *limiter) recordLocked(at, now time.Time) time.Time {
	if l.tb == nil {
		return now
	}
	n := at.UnixNano()
	l.ring[l.pos] = n
	l.pos++
	if l.pos == len(l.ring) {
		l.pos, l.full = 0, true
	}
	l.last = n
	return at.In(now.Location())
}

// admitAll admits one send through every limiter at once, or none: all
// ceilings are checked and recorded at the same dispatch instant, so each
// holds for the actual send times. Limiters are locked in slice order
// (always channel, then sender), so concurrent callers cannot deadlock.
func admitAll(ls []*limiter, now time.Time) (time.Time, bool) {
	if len(ls) == 1 {
		return ls[0].admit(now)
	}
	for _, l := range ls {
		l.mu.Lock()
	}
	defer func() {
		for _, l := range ls {
			l.mu.Unlock()
		}
	}()
	at, latest, ok := now, time.Time{}, true
	for _, l := range ls {
		next, yes := l.checkLocked(now)
		if !yes {
			ok = false
			if next.After(latest) {
				latest = next
			}
		} else if next.After(at) {
			at = next
		}
	}
	if !ok {
		return latest, false
	}
	for _, l := range ls {
		l.recordLocked(at, now)
	}
	return at.In(now.Location()), true
}

// pauseUntil stops grants before t (a provider's Retry-After).
func (l *limiter) pauseUntil(t time.Time) {
	n := t.UnixNano()
	for {
		old := l.pause.Load()
		if n <= old || l.pause.CompareAndSwap(old, n) {
			return
		}
	}
}

// wait blocks until one send may be dispatched through l, sleeping on
// the engine clock, and returns the dispatch time the ceiling recorded;
// it returns ctx's error if ctx is done first. tracked says whether the
// caller is an engine goroutine counted by Engine.Idle.
func (e *Engine) wait(ctx context.Context, l *limiter, tracked bool) (time.Time, error) {
	return e.waitAll(ctx, []*limiter{l}, tracked)
}

func (l *limiter) pausedUntil() time.Time { return time.Unix(0, l.pause.Load()) }

// waitAll blocks until one send may be dispatched through every limiter
// of ls (a channel's, then a sender's): it books a token-bucket slot in
// each and sleeps until the latest, takes a shared-budget slot from each
// limiter that has one, then admits the send through all the ceilings at
// one instant. It returns the dispatch time, or ctx's error.
func (e *Engine) waitAll(ctx context.Context, ls []*limiter, tracked bool) (time.Time, error) {
	return e.waitUntil(ctx, ls, tracked, time.Time{})
}

// errWaitPastDeadline is waitUntil's answer when the send could not be
// dispatched by its deadline: nothing was waited for, and Until is the
// earliest time worth trying again (a pause's end, a slot's time).
type errWaitPastDeadline struct{ Until time.Time }

func (e *errWaitPastDeadline) Error() string {
	return "blast: rate limiter: the next send slot is after the deadline"
}

// pausedUntilAll returns the latest pause end of ls (the Unix epoch when
// none was ever paused).
func pausedUntilAll(ls []*limiter) time.Time {
	var n int64
	for _, l := range ls {
		n = max(n, l.pause.Load())
	}
	return time.Unix(0, n)
}

// waitUntil is waitAll with a deadline on the engine clock: when the send
// cannot be dispatched by deadline (a provider's pause that lasts longer,
// or a slot booked beyond it), it returns an *errWaitPastDeadline at once
// instead of sleeping past it. A zero deadline waits as long as needed.
// A pause is checked before any token is booked, so giving up on it
// leaves the token bucket untouched.
func (e *Engine) waitUntil(ctx context.Context, ls []*limiter, tracked bool, deadline time.Time) (time.Time, error) {
	now := e.clk.Now()
	limited := false
	for _, l := range ls {
		limited = limited || l.tb != nil || now.Before(l.pausedUntil())
	}
	if !limited {
		return now, nil
	}
	past := func(t time.Time) error {
		if !deadline.IsZero() && t.After(deadline) {
			return &errWaitPastDeadline{Until: t}
		}
		return nil
	}
	if err := past(pausedUntilAll(ls)); err != nil {
		return time.Time{}, err
	}
	due := now
	for _, l := range ls {
		if t := l.reserveToken(now); t.After(due) {
			due = t
		}
	}
	if err := past(due); err != nil {
		return time.Time{}, err
	}
	if err := e.sleep(ctx, due, tracked); err != nil {
		return time.Time{}, err
	}
	for _, l := range ls {
		if l.budget == nil {
			continue
		}
		slot, err := l.sharedSlot(ctx, e.clk.Now())
		if err != nil {
			return time.Time{}, fmt.Errorf("blast: shared rate budget: %w", err)
		}
		if err := past(slot); err != nil {
			return time.Time{}, err
		}
		if err := e.sleep(ctx, slot, tracked); err != nil {
			return time.Time{}, err
		}
	}
	for {
		now = e.clk.Now()
		next, ok := admitAll(ls, now)
		if ok {
			return next, nil
		}
		if err := past(next); err != nil {
			return time.Time{}, err
		}
		if err := e.sleep(ctx, next, tracked); err != nil {
			return time.Time{}, err
		}
	}
}
