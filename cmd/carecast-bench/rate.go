package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/carecast/carecast/store/memstore"
)

// runRateFidelity runs two rate-limited blasts for about ten seconds each
// (500/s with a 20 ms provider, 5,000/s with a 2 ms provider) and reports
// how closely the engine holds the limit: achieved_ratio is the achieved
// rate (sends after the first ÷ time from the first to the last send)
// over the limit; max_window_ratio is the busiest one-second window's
// sends over limit + burst (burst is 1% of the limit).
func runRateFidelity(ctx context.Context, o *options) ([]*result, error) {
	cases := []struct {
		limit   float64
		latency time.Duration
	}{{500, 20 * time.Millisecond}, {5000, 2 * time.Millisecond}}
	const seconds = 10
	var out []*result
	for _, c := range cases {
		n := int(c.limit) * seconds
		// A burst of 1% of the rate lets the engine make up for a
		// scheduling hiccup of up to 10 ms without ever exceeding
		// limit + burst in a second.
		burst := max(1, int(c.limit/100))
		snd := &sender{latency: c.latency, rec: true, times: make([]time.Time, 0, n)}
		st := memstore.New()
		// Enough workers to keep the limit busy despite the latency, and
		// batches of about 1/100 s of the rate: a worker sends its batch
		// one message after another, so a large last batch would stretch
		// the end of the run (the other workers idle while it finishes).
		workers := int(c.limit*c.latency.Seconds())*2 + 4
		batch := max(10, int(c.limit/100))
		e, err := newEngine(ctx, st, snd, engineOpts{n: n, rate: c.limit, burst: burst, workers: workers, batch: batch})
		if err != nil {
			return out, err
		}
		if err := e.Start(ctx); err != nil {
			return out, err
		}
		id, err := createAndSend(ctx, e)
		if err == nil {
			wctx, cancel := context.WithTimeout(ctx, 5*seconds*time.Second)
			err = waitSettled(wctx, st, id)
			cancel()
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_ = e.Stop(sctx)
		cancel()
		if err != nil {
			return out, err
		}
		snd.mu.Lock()
		ts := snd.times
		snd.mu.Unlock()
		if len(ts) < 2 {
			return out, fmt.Errorf("rate-fidelity: only %d sends", len(ts))
		}
		sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
		if os.Getenv("CARECAST_BENCH_DEBUG") != "" {
			per := map[int]int{}
			for _, t := range ts {
				per[int(t.Sub(ts[0])/(100*time.Millisecond))]++
			}
			fmt.Fprintf(os.Stderr, "rate %v per 100ms: %v\n", c.limit, per)
		}
		span := ts[len(ts)-1].Sub(ts[0]).Seconds()
		achieved := float64(len(ts)-1) / span
		out = append(out, (&result{}).add("scenario", "rate-fidelity").add("limit", c.limit).
			add("achieved_ratio", round3(achieved/c.limit)).
			add("max_window_ratio", round3(float64(busiestWindow(ts, time.Second))/(c.limit+float64(burst)))).
			add("burst", burst).
			add("latency_ms", c.latency.Milliseconds()))
	}
	return out, nil
}

// busiestWindow returns the largest number of sorted times in any
// half-open window [t, t+d).
func busiestWindow(ts []time.Time, d time.Duration) int {
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= d {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}
