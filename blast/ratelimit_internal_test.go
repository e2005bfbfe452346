package blast

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// simulate dispatches n sends through l as fast as it allows, starting at
// t0, with the grants of several concurrent callers interleaved, and
// returns the dispatch times.
func simulate(l *limiter, t0 time.Time, n int, pauseAt int, pause time.Duration) []time.Time {
	out := make([]time.Time, 0, n)
	now := t0
	for i := range n {
		if i == pauseAt {
			l.pauseUntil(now.Add(pause))
		}
		at := l.reserveToken(now)
		if at.After(now) {
			now = at
		}
		for {
			next, ok := l.admit(now)
			now = next
			if ok {
				break
			}
		}
		out = append(out, now)
	}
	return out
}

// maxInWindow returns the largest number of times in any half-open
// one-second window.
func maxInWindow(ts []time.Time) int {
	sorted := append([]time.Time(nil), ts...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Before(sorted[j]) })
	best, j := 0, 0
	for i := range sorted {
		for sorted[i].Sub(sorted[j]) >= time.Second {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

func TestLimiterCeiling(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		rate  float64
		burst int
		n     int
	}{
		{"slow", 1, 1, 20},
		{"twilio long code", 10, 1, 200},
		{"fractional", 2.5, 3, 100},
		{"high rate large burst (golang/go#65508)", 5000, 2500, 40000},
		{"very high", 100000, 1000, 300000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLimiter(tt.rate, tt.burst)
			ts := simulate(l, t0, tt.n, tt.n/2, 3*time.Second)
			ceiling := int(math.Floor(tt.rate)) + tt.burst
			if got := maxInWindow(ts); got > ceiling {
				t.Fatalf("%d sends in one second, ceiling %d", got, ceiling)
			}
			// The limiter must not be needlessly slow either: the whole
			// run takes about n/rate seconds plus the pause.
			span := ts[len(ts)-1].Sub(ts[0]).Seconds()
			want := float64(tt.n-tt.burst)/tt.rate + 3
			if span > want*1.05+1 {
				t.Fatalf("took %.2fs, expected about %.2fs", span, want)
			}
			// Nothing was granted during the pause.
			pauseStart := ts[tt.n/2-1]
			for _, x := range ts[tt.n/2:] {
				if x.Before(pauseStart) {
					t.Fatalf("grant before the previous one")
				}
			}
			if ts[tt.n/2].Sub(pauseStart) < 3*time.Second-time.Second/time.Duration(max(1, int(tt.rate))) {
				t.Fatalf("grant %s after a 3s pause began", ts[tt.n/2].Sub(pauseStart))
			}
		})
	}
}

func TestLimiterUnlimited(t *testing.T) {
	l := newLimiter(RateUnlimited, 1)
	t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	ts := simulate(l, t0, 1000, -1, 0)
	if !ts[999].Equal(t0) {
		t.Fatalf("unlimited limiter delayed sends to %s", ts[999])
	}
}

func TestQuietCheck(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	phx, _ := time.LoadLocation("America/Phoenix")
	q := QuietWindow{Start: 8 * time.Hour, End: 21 * time.Hour}
	tests := []struct {
		name     string
		now      time.Time
		loc      *time.Location
		ok       bool
		openedAt time.Time
	}{
		{"evening deferred to next morning", time.Date(2026, 3, 10, 21, 15, 0, 0, ny), ny, false, time.Date(2026, 3, 11, 8, 0, 0, 0, ny)},
		{"early morning deferred to 8", time.Date(2026, 3, 10, 7, 59, 0, 0, ny), ny, false, time.Date(2026, 3, 10, 8, 0, 0, 0, ny)},
		{"inside", time.Date(2026, 3, 10, 20, 15, 0, 0, ny), ny, true, time.Time{}},
		{"phoenix has no DST", time.Date(2026, 7, 1, 20, 30, 0, 0, ny), phx, true, time.Time{}},
		{"DST fall-back night", time.Date(2026, 11, 1, 1, 30, 0, 0, ny), ny, false, time.Date(2026, 11, 1, 8, 0, 0, 0, ny)},
		{"DST spring-forward night", time.Date(2026, 3, 8, 1, 30, 0, 0, ny), ny, false, time.Date(2026, 3, 8, 8, 0, 0, 0, ny)},
		{"end is exclusive", time.Date(2026, 3, 10, 21, 0, 0, 0, ny), ny, false, time.Date(2026, 3, 11, 8, 0, 0, 0, ny)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, ok := quietCheck(q, tt.now, tt.loc)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok && !at.Equal(tt.openedAt) {
				t.Fatalf("opens at %s, want %s", at, tt.openedAt)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	e := &Engine{cfg: Config{BackoffBase: 10 * time.Second, BackoffMax: time.Minute}}
	e.rng = newTestRand()
	for n, want := range map[int][2]time.Duration{
		1: {5 * time.Second, 10 * time.Second},
		2: {10 * time.Second, 20 * time.Second},
		3: {20 * time.Second, 40 * time.Second},
		9: {30 * time.Second, time.Minute},
	} {
		for range 50 {
			d := e.backoff(n, 0)
			if d < want[0] || d > want[1] {
				t.Fatalf("backoff(%d) = %s, want in [%s, %s]", n, d, want[0], want[1])
			}
		}
	}
	if d := e.backoff(1, 90*time.Second); d != 90*time.Second {
		t.Fatalf("Retry-After not honoured: %s", d)
	}
}

func newTestRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

// FuzzLimiterCeiling checks the ceiling for arbitrary rates, bursts and
// arrival patterns (callers arriving at any time, pauses from 429s).
func FuzzLimiterCeiling(f *testing.F) {
	f.Add(uint32(10), uint16(1), []byte{0, 0, 0, 5, 200, 0, 3})
	f.Add(uint32(5000), uint16(2500), []byte{1, 1, 1, 1, 255, 255})
	f.Add(uint32(1), uint16(7), []byte{9, 0, 0, 0})
	f.Add(uint32(250000), uint16(100), []byte{0})
	f.Fuzz(func(t *testing.T, r uint32, b uint16, gaps []byte) {
		rate := float64(r%300000)/10 + 0.1
		burst := int(b%5000) + 1
		l := newLimiter(rate, burst)
		now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
		var ts []time.Time
		n := min(3000, int(rate)*3+burst+len(gaps))
		for i := range n {
			if len(gaps) > 0 {
				g := gaps[i%len(gaps)]
				if g == 255 {
					l.pauseUntil(now.Add(time.Second))
				} else {
					now = now.Add(time.Duration(g) * time.Millisecond)
				}
			}
			at := l.reserveToken(now)
			for {
				next, ok := l.admit(at)
				at = next
				if ok {
					break
				}
			}
			ts = append(ts, at)
			// Callers do not all wait for each other: the next one
			// may arrive before this grant.
		}
		ceiling := int(math.Floor(rate)) + burst
		if got := maxInWindow(ts); got > ceiling {
			t.Fatalf("rate %.1f burst %d: %d grants in one second, ceiling %d", rate, burst, got, ceiling)
		}
	})
}

// stillClock reads a fixed time; it fails the test if anything waits on
// it.
type stillClock struct {
	t   *testing.T
	now time.Time
}

func (c stillClock) Now() time.Time { return c.now }
func (c stillClock) NewTimer(time.Duration) Timer {
	c.t.Fatal("waited on the clock")
	return nil
}
func (c stillClock) AfterFunc(time.Duration, func()) Timer {
	c.t.Fatal("waited on the clock")
	return nil
}

// waitUntil never sleeps past its deadline: a pause or a ceiling slot
// later than it is answered at once with the time worth trying again,
// and giving up on a pause books no token (the bucket is intact when the
// pause ends).
func TestWaitUntilDeadline(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	e := &Engine{clk: stillClock{t, t0}}
	deadline := t0.Add(90 * time.Second)

	l := newLimiter(10, 1)
	l.pauseUntil(t0.Add(time.Hour))
	_, err := e.waitUntil(context.Background(), []*limiter{l}, false, deadline)
	var late *errWaitPastDeadline
	if !errors.As(err, &late) || !late.Until.Equal(t0.Add(time.Hour)) {
		t.Fatalf("paused past the deadline: err %v, want the pause's end", err)
	}
	if at := l.reserveToken(t0.Add(time.Hour)); !at.Equal(t0.Add(time.Hour)) {
		t.Fatalf("first token after the pause at +%s: the refused wait booked one", at.Sub(t0.Add(time.Hour)))
	}

	// The strict ceiling: two grants fill a one-per-second ring of two;
	// the next slot is a second away, past a half-second deadline.
	l = newLimiter(1, 1)
	for range 2 {
		if _, ok := l.admit(t0); !ok {
			t.Fatal("grant refused")
		}
	}
	_, err = e.waitUntil(context.Background(), []*limiter{l}, false, t0.Add(time.Second/2))
	if !errors.As(err, &late) || !late.Until.Equal(t0.Add(time.Second)) {
		t.Fatalf("ceiling slot past the deadline: err %v, want +1s", err)
	}

	// Nothing to wait for: granted at once, deadline or not.
	if at, err := e.waitUntil(context.Background(), []*limiter{newLimiter(RateUnlimited, 1)}, false, deadline); err != nil || !at.Equal(t0) {
		t.Fatalf("unlimited: %s, %v", at, err)
	}
}
