package store_test

import (
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/carecast/carecast/store"
)

// maxInWindow returns the largest number of times in any half-open
// window [t, t+d).
func maxInWindow(ts []time.Time, d time.Duration) int {
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= d {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

func TestRateSlotsCeiling(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		rate   float64
		burst  int
		chunk  int
		stride time.Duration // how far Now advances between reservations
	}{
		{"100/s burst 1, one at a time", 100, 1, 1, 0},
		{"100/s burst 10, chunks of 7", 100, 10, 7, 3 * time.Millisecond},
		{"5000/s burst 50, chunks of 100", 5000, 50, 100, 5 * time.Millisecond},
		{"3.5/s burst 2, idle gaps", 3.5, 2, 1, 400 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tat time.Time
			var all []time.Time
			now := t0
			for len(all) < int(tt.rate*5)+tt.burst {
				p := store.RateParams{Key: "k", Rate: tt.rate, Burst: tt.burst, N: tt.chunk, Now: now}
				if err := p.Validate(); err != nil {
					t.Fatal(err)
				}
				slots, next := p.Slots(tat)
				if !next.After(tat) {
					t.Fatalf("tat did not advance: %v → %v", tat, next)
				}
				for i, s := range slots {
					if s.Before(now) {
						t.Fatalf("slot %v before now %v", s, now)
					}
					if i > 0 && s.Before(slots[i-1]) {
						t.Fatalf("slots not ascending")
					}
				}
				tat = next
				all = append(all, slots...)
				now = now.Add(tt.stride)
			}
			limit := int(tt.rate) + tt.burst
			if got := maxInWindow(all, time.Second); got > limit {
				t.Errorf("busiest one-second window holds %d slots, ceiling %d", got, limit)
			}
			// Not needlessly slow: the last slot is within one interval of
			// the ideal schedule.
			span := all[len(all)-1].Sub(all[0])
			ideal := time.Duration(float64(len(all)-tt.burst) / tt.rate * float64(time.Second))
			ideal = max(ideal, now.Sub(t0)-tt.stride) // demand-limited
			if span > ideal+time.Duration(float64(time.Second)/tt.rate)+tt.stride*2 {
				t.Errorf("span %v, ideal %v", span, ideal)
			}
		})
	}
}

func TestRateParamsValidate(t *testing.T) {
	ok := store.RateParams{Key: "k", Rate: 1, Burst: 1, N: 1}
	bad := []store.RateParams{
		{Rate: 1, Burst: 1, N: 1},
		{Key: "k", Rate: 0, Burst: 1, N: 1},
		{Key: "k", Rate: -5, Burst: 1, N: 1},
		{Key: "k", Rate: 1, Burst: 0, N: 1},
		{Key: "k", Rate: 1, Burst: 1, N: 0},
	}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid params: %v", err)
	}
	for i, p := range bad {
		if p.Validate() == nil {
			t.Errorf("case %d: invalid params accepted", i)
		}
	}
}

// FuzzRateSlots checks the GCRA arithmetic for any rate, burst, chunk
// sizes and arrival pattern: slots never precede now, ascend, and never
// exceed floor(Rate)+Burst in any one-second window.
func FuzzRateSlots(f *testing.F) {
	f.Add(100.0, 1, uint8(1), uint16(3))
	f.Add(5000.0, 50, uint8(100), uint16(5))
	f.Add(3.5, 2, uint8(1), uint16(400))
	f.Add(0.5, 3, uint8(7), uint16(0))
	f.Fuzz(func(t *testing.T, rate float64, burst int, chunk uint8, strideMs uint16) {
		if !(rate >= 0.1 && rate <= 20000) || burst < 1 || burst > 1000 || chunk == 0 {
			t.Skip()
		}
		t0 := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
		now, tat := t0, time.Time{}
		var all []time.Time
		for range 200 {
			p := store.RateParams{Key: "k", Rate: rate, Burst: burst, N: int(chunk), Now: now}
			slots, next := p.Slots(tat)
			for i, s := range slots {
				if s.Before(now) || (i > 0 && s.Before(slots[i-1])) {
					t.Fatalf("slot %v (now %v) out of order", s, now)
				}
			}
			tat = next
			all = append(all, slots...)
			now = now.Add(time.Duration(strideMs) * time.Millisecond)
		}
		if got, limit := maxInWindow(all, time.Second), int(rate)+burst; got > limit {
			t.Fatalf("busiest one-second window holds %d slots, ceiling %d (rate %v burst %d)", got, limit, rate, burst)
		}
	})
}

func TestUnixDay(t *testing.T) {
	tests := []struct {
		t    time.Time
		want int64
	}{
		{time.Unix(0, 0), 0},
		{time.Unix(86399, 0), 0},
		{time.Unix(86400, 0), 1},
		{time.Unix(-1, 0), -1},
		{time.Unix(-86400, 0), -1},
		{time.Unix(-86401, 0), -2},
		{time.Date(2026, 3, 10, 23, 59, 59, 0, time.UTC), 20522},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, store.UnixDay(tt.t), "%s", tt.t)
		assert.True(t, store.DayStart(tt.want).Equal(time.Unix(tt.want*86400, 0)))
	}
}
