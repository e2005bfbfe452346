package tracking

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"time"
)

// Invalid-token throttling counts requests per source in a count-min
// sketch: a fixed table of counters, so its memory never grows with the
// number of sources and a flood of new sources cannot push a heavy hitter
// out (a map that is cleared when full forgets it). A count-min sketch
// never under-counts: a source's estimate is at least its true count, so a
// source over the limit is always throttled. It may over-count when
// sources share counters; the only cost is a 429 instead of the 404 an
// invalid token gets anyway, never a refused valid token.
const (
	// throttleWindow is the sliding window over which requests are
	// counted; the limit per window is 10×InvalidPerIP (the burst of
	// the former token bucket) plus one.
	throttleWindow = 10 * time.Second
	// sketchDepth rows of sketchWidth counters: with 4 rows of 4,096,
	// 10,000 sources a window leave about 2.4 counts in each counter,
	// far under a limit of 51, and a source is over-counted only when
	// all four of its counters are shared with heavy sources.
	sketchDepth = 4
	sketchBits  = 12 // sketchDepth×sketchBits ≤ 64: one hash indexes every row
	sketchWidth = 1 << sketchBits
	// ThrottleMemory is the memory the invalid-token throttle uses,
	// whatever the traffic: two sketches (this window and the last) of
	// sketchDepth×sketchWidth 32-bit counters.
	ThrottleMemory = 2 * sketchDepth * sketchWidth * 4
)

type sketch [sketchDepth][sketchWidth]uint32

// throttle is a sliding-window rate limit per source (an IPv4 address or
// an IPv6 /64) over count-min sketches. Every request counts, throttled or
// not, so a source must slow below the limit to be answered again.
type throttle struct {
	limit uint32
	seed  maphash.Seed

	mu        sync.Mutex
	start     time.Time // start of the current window
	cur, prev *sketch
}

func newThrottle(perSecond float64) *throttle {
	return &throttle{
		limit: uint32(perSecond*throttleWindow.Seconds()) + 1,
		seed:  maphash.MakeSeed(),
		cur:   new(sketch),
		prev:  new(sketch),
	}
}

// sourceKey writes the throttling key of ip into buf: a tag byte, then the
// IPv4 address, or the /64 prefix of an IPv6 address (one subscriber's
// network: a client holding a /64 has 2^64 addresses to rotate through).
func sourceKey(buf *[9]byte, ip netip.Addr) []byte {
	ip = ip.Unmap()
	switch {
	case ip.Is4():
		a := ip.As4()
		buf[0] = 4
		copy(buf[1:], a[:])
		return buf[:5]
	case ip.Is6():
		a := ip.As16()
		buf[0] = 6
		copy(buf[1:], a[:8])
		return buf[:9]
	}
	buf[0] = 0
	return buf[:1]
}

// allow counts one request from ip at now and reports whether the source
// is still within its limit.
func (t *throttle) allow(ip netip.Addr, now time.Time) bool {
	var buf [9]byte
	// One 64-bit hash gives each row its own 12 bits: independent
	// indices, so two sources share all four counters with probability
	// 4096^-4. (Double hashing, h1+i·h2, would make any two sources that
	// meet in two rows meet in all four.)
	h := maphash.Bytes(t.seed, sourceKey(&buf, ip))
	var idx [sketchDepth]uint32
	for i := range idx {
		idx[i] = uint32(h>>(sketchBits*i)) & (sketchWidth - 1)
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	t.rotate(now)
	// The estimate of the sliding window: this window's count plus the
	// part of the last one the window still covers.
	elapsed := now.Sub(t.start)
	weight := float64(throttleWindow-elapsed) / float64(throttleWindow)
	cur, prev := ^uint32(0), ^uint32(0)
	for i, j := range idx {
		cur = min(cur, t.cur[i][j])
		prev = min(prev, t.prev[i][j])
	}
	estimate := float64(cur) + weight*float64(prev)
	// Conservative update: raise only the counters at the minimum, which
	// keeps shared counters from growing faster than the true count.
	if cur < ^uint32(0) {
		for i, j := range idx {
			if t.cur[i][j] == cur {
				t.cur[i][j] = cur + 1
			}
		}
	}
	return estimate < float64(t.limit)
}

// rotate starts a new window when now has left the current one.
func (t *throttle) rotate(now time.Time) {
	switch d := now.Sub(t.start); {
	case d < 0:
		// The clock went back: count in the current window.
	case d >= 2*throttleWindow:
		clear(t.cur[:])
		clear(t.prev[:])
		t.start = now
	case d >= throttleWindow:
		t.prev, t.cur = t.cur, t.prev
		clear(t.cur[:])
		t.start = t.start.Add(throttleWindow)
	}
}
