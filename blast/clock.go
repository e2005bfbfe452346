package blast

import "time"

// Clock is the engine's source of time. Every time the engine reads (send
// times, backoff, quiet hours, leases, rate limits, send timeouts) comes
// from it, so tests can run the engine at explicit instants; the engine
// never calls time.Sleep or time.Now directly. Implementations must be
// safe for concurrent use. blasttest.Clock is a manual implementation for
// tests; SystemClock is the real one.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a timer that sends the time on its channel once,
	// after d (at once when d ≤ 0).
	NewTimer(d time.Duration) Timer
	// AfterFunc calls f in its own goroutine after d, unless the
	// returned timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a one-shot timer made by a Clock.
type Timer interface {
	// C returns the channel the time is sent on (nil for AfterFunc
	// timers).
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it did.
	Stop() bool
}

// SystemClock is the Clock of the real world, backed by package time.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer.
func (SystemClock) NewTimer(d time.Duration) Timer { return sysTimer{time.NewTimer(d)} }

// AfterFunc returns time.AfterFunc(d, f).
func (SystemClock) AfterFunc(d time.Duration, f func()) Timer {
	return sysTimer{time.AfterFunc(d, f)}
}

type sysTimer struct{ t *time.Timer }

func (s sysTimer) C() <-chan time.Time { return s.t.C }
func (s sysTimer) Stop() bool          { return s.t.Stop() }
