package tracking

import (
	"net/netip"
	"testing"
	"time"
)

// Counting a source allocates nothing: the throttle's memory is the two
// sketches made with it, whatever the number of sources.
func TestThrottleAllocatesNothingPerSource(t *testing.T) {
	th := newThrottle(5)
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	i := 0
	allocs := testing.AllocsPerRun(10_000, func() {
		i++
		a := [16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 16), byte(i >> 8), byte(i)}
		th.allow(netip.AddrFrom16(a), now.Add(time.Duration(i)*time.Millisecond))
	})
	if allocs != 0 {
		t.Fatalf("allow allocates %.1f times a call", allocs)
	}
	if got := len(th.cur) * len(th.cur[0]) * 4 * 2; got != ThrottleMemory {
		t.Fatalf("sketches hold %d bytes, ThrottleMemory says %d", got, ThrottleMemory)
	}
}
