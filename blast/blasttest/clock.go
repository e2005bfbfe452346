package blasttest

import (
	"slices"
	"sync"
	"time"

	"github.com/carecast/carecast/blast"
)

// Clock is a manual blast.Clock: time stands still until Advance, Set or
// AdvanceToNext moves it, and timers fire then, in deadline order. Timer
// channels are buffered; AfterFunc callbacks run synchronously inside the
// call that moves the clock, before it returns. It is safe for concurrent
// use.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	seq    int
	timers []*timer
}

var _ blast.Clock = (*Clock)(nil)

// NewClock returns a Clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

type timer struct {
	c    *Clock
	at   time.Time
	seq  int
	ch   chan time.Time
	f    func()
	done bool
}

func (t *timer) C() <-chan time.Time { return t.ch }

func (t *timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.done {
		return false
	}
	t.done = true
	t.c.timers = slices.DeleteFunc(t.c.timers, func(x *timer) bool { return x == t })
	return true
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer implements blast.Clock.
func (c *Clock) NewTimer(d time.Duration) blast.Timer {
	t := &timer{c: c, ch: make(chan time.Time, 1)}
	c.add(t, d)
	return t
}

// AfterFunc implements blast.Clock. f runs synchronously in the goroutine
// that moves the clock past the deadline (or at once, in its own
// goroutine, when d ≤ 0).
func (c *Clock) AfterFunc(d time.Duration, f func()) blast.Timer {
	t := &timer{c: c, f: f}
	c.add(t, d)
	return t
}

func (c *Clock) add(t *timer, d time.Duration) {
	c.mu.Lock()
	t.at = c.now.Add(d)
	c.seq++
	t.seq = c.seq
	if d <= 0 {
		t.done = true
		now := c.now
		c.mu.Unlock()
		if t.f != nil {
			go t.f()
		} else {
			t.ch <- now
		}
		return
	}
	c.timers = append(c.timers, t)
	c.mu.Unlock()
}

// Pending returns the number of timers waiting to fire.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Next returns the earliest pending deadline, and false when no timer is
// pending.
func (c *Clock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	at := c.timers[0].at
	for _, t := range c.timers[1:] {
		if t.at.Before(at) {
			at = t.at
		}
	}
	return at, true
}

// Advance moves the clock forward by d, firing every timer due by then.
func (c *Clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// AdvanceToNext moves the clock to the earliest pending deadline and fires
// the timers due then. It reports false, and does nothing, when no timer
// is pending.
func (c *Clock) AdvanceToNext() bool {
	at, ok := c.Next()
	if ok {
		c.Set(at)
	}
	return ok
}

// Set moves the clock to t (never backwards: an earlier t only fires
// nothing), firing due timers in deadline order, each at its own deadline.
func (c *Clock) Set(t time.Time) {
	for {
		c.mu.Lock()
		var next *timer
		for _, x := range c.timers {
			if !x.at.After(t) && (next == nil || x.at.Before(next.at) || x.at.Equal(next.at) && x.seq < next.seq) {
				next = x
			}
		}
		if next == nil {
			if t.After(c.now) {
				c.now = t
			}
			c.mu.Unlock()
			return
		}
		if next.at.After(c.now) {
			c.now = next.at
		}
		next.done = true
		c.timers = slices.DeleteFunc(c.timers, func(x *timer) bool { return x == next })
		now := c.now
		c.mu.Unlock()
		if next.f != nil {
			next.f()
		} else {
			next.ch <- now
		}
	}
}
