package tracking_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast/provider/providertest"
	"github.com/carecast/carecast/tracking"
)

// invalidFrom sends one request with an invalid click token from addr and
// returns the status: 404 (answered) or 429 (throttled).
func invalidFrom(h http.Handler, addr netip.Addr) int {
	req := httptest.NewRequest(http.MethodGet, "/c/not-a-token", nil)
	req.RemoteAddr = netip.AddrPortFrom(addr, 40000).String()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code
}

// v4 returns the i-th of a range of distinct IPv4 sources.
func v4(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}

// v6 returns a source in the i-th /64 of 2001:db8::/32 (host bits random-ish).
func v6(i int) netip.Addr {
	var a [16]byte
	a[0], a[1], a[2], a[3] = 0x20, 0x01, 0x0d, 0xb8
	a[4], a[5], a[6], a[7] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
	a[15] = byte(i * 7)
	return netip.AddrFrom16(a)
}

// Issue 12 §4: one client holds a whole IPv6 /64 (2^64 addresses). Its
// 10,001 distinct /128s are one source and are throttled after the
// 10×5+1 allowed in a window; before, each /128 had its own limiter and
// 10,000 of them also wiped every limiter.
func TestThrottleGroupsIPv6By64(t *testing.T) {
	clk := &clock{t0}
	h := newHandler(t, newRecorder(), clk, nil)
	prefix := netip.MustParseAddr("2001:db8:1:2::").As16()
	counts := map[int]int{}
	for i := range 10_001 {
		a := prefix
		a[8], a[9], a[10], a[11], a[15] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i), 1
		counts[invalidFrom(h, netip.AddrFrom16(a))]++
	}
	assert.Equal(t, map[int]int{404: 51, 429: 10_001 - 51}, counts)
	assert.Equal(t, 404, invalidFrom(h, netip.MustParseAddr("2001:db8:1:3::1")), "the next /64 is another source")
	assert.Equal(t, 404, invalidFrom(h, netip.MustParseAddr("192.0.2.1")))

	// IPv4-mapped IPv6 addresses are the IPv4 source.
	for range 51 {
		invalidFrom(h, netip.MustParseAddr("198.51.100.1"))
	}
	assert.Equal(t, 429, invalidFrom(h, netip.MustParseAddr("::ffff:198.51.100.1")))

	// The window slides: 20 s later the /64 is answered again.
	clk.t = clk.t.Add(20 * time.Second)
	assert.Equal(t, 404, invalidFrom(h, netip.MustParseAddr("2001:db8:1:2::99")))
}

// Issue 12 §4: a heavy hitter stays throttled while 100,000 distinct
// other sources (IPv4 and IPv6 networks) pass through, each answered; the
// former map forgot every limiter at 10,000 addresses, heavy hitter
// included.
func TestThrottleKeepsHeavyHitter(t *testing.T) {
	clk := &clock{t0}
	h := newHandler(t, newRecorder(), clk, nil)
	heavy := netip.MustParseAddr("198.51.100.7")
	heavyCodes := map[int]int{}
	for range 51 { // its allowance
		require.Equal(t, 404, invalidFrom(h, heavy))
	}
	othersThrottled := 0
	for i := range 100_000 {
		clk.t = clk.t.Add(time.Millisecond) // 100 s in all: ten windows
		src := v4(i)
		if i%2 == 1 {
			src = v6(i)
		}
		if invalidFrom(h, src) != 404 {
			othersThrottled++
		}
		if i%10 == 0 { // 100 a second, 20 times the limit
			heavyCodes[invalidFrom(h, heavy)]++
		}
	}
	assert.Zero(t, othersThrottled, "sources sending one request each are answered")
	assert.Equal(t, map[int]int{429: 10_000}, heavyCodes, "the heavy hitter is throttled throughout")

	// Slowing down below the limit for a whole window clears it.
	clk.t = clk.t.Add(20 * time.Second)
	assert.Equal(t, 404, invalidFrom(h, heavy))
}

// A source at exactly the limit (5 a second, steadily) is never
// throttled; the window slides rather than resetting.
func TestThrottleAllowsTheLimitRate(t *testing.T) {
	clk := &clock{t0}
	h := newHandler(t, newRecorder(), clk, nil)
	src := netip.MustParseAddr("203.0.113.50")
	codes := map[int]int{}
	for range 5 * 60 {
		codes[invalidFrom(h, src)]++
		clk.t = clk.t.Add(200 * time.Millisecond)
	}
	assert.Equal(t, map[int]int{404: 300}, codes)

	off := newHandler(t, newRecorder(), clk, func(c *tracking.Config) { c.InvalidPerIP = -1 })
	for range 100 {
		require.Equal(t, 404, invalidFrom(off, src), "disabled")
	}
	s, err := tracking.NewSigner(key1)
	require.NoError(t, err)
	_, err = tracking.NewHandler(tracking.Config{Signer: s, Backend: newRecorder(), BaseURL: "https://t.example", InvalidPerIP: -2})
	assert.ErrorContains(t, err, "InvalidPerIP")
}

// Issue 12 §4: the throttle's memory is fixed (tracking.ThrottleMemory,
// 128 KiB, allocated with the Handler): 100,000 distinct sources leave
// the live heap where it was. The former map kept up to 10,000 limiters.
func TestThrottleMemoryBound(t *testing.T) {
	clk := &clock{t0}
	h := newHandler(t, newRecorder(), clk, nil)
	assert.Equal(t, 128<<10, tracking.ThrottleMemory)
	invalidFrom(h, v4(0))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 100_000 {
		if i%2 == 0 {
			invalidFrom(h, v4(i))
		} else {
			invalidFrom(h, v6(i))
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	// Generous: unrelated runtime and test allocations may come and go.
	assert.Less(t, grown, int64(256<<10), "live heap grew by %d bytes", grown)
	runtime.KeepAlive(h)
}

// Issue 12 §4: the one-click unsubscribe POST reads its body with a
// deadline of its own (Config.BodyReadTimeout): a body trickled a byte at
// a time is answered 408 and nobody is unsubscribed.
func TestUnsubscribeSlowBody(t *testing.T) {
	rec := newRecorder()
	h := newHandler(t, rec, &clock{t0}, func(c *tracking.Config) { c.BodyReadTimeout = 200 * time.Millisecond })
	u, err := h.UnsubscribeURL("r1", t0)
	require.NoError(t, err)
	got := providertest.SlowBody(t, h, strings.TrimPrefix(u, "https://t.clinic.example"))
	assert.Equal(t, providertest.SlowBodyResult{Status: 408, ClientStatus: 408, Closed: true}, got)
	assert.Zero(t, rec.calls, "nobody unsubscribed")

	w := do(h, "POST", u, strings.Repeat("a=b&", 20_000), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
	assert.Zero(t, rec.calls)
}
