package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// runRateShared runs -workers engine processes on one PostgreSQL database,
// each configured with the account's limit of 500 messages/s, sending one
// blast of 5,000 recipients. The store's shared send budget
// (store.RateBudget) must keep the account at 500/s in total, not 500/s
// per process: achieved_ratio and max_window_ratio are computed over the
// sends of every process (from the provider's durable log), as in
// rate-fidelity.
func runRateShared(ctx context.Context, o *options) ([]*result, error) {
	if o.pg == "" {
		return nil, errSkipped{errNoPostgres.Error()}
	}
	const (
		limit = 500.0
		burst = 5 // 1% of the limit, as in rate-fidelity
		n     = 5000
	)
	procs := max(2, o.workers)
	dir, err := os.MkdirTemp("", "carecast-shared-")
	if err != nil {
		return nil, err
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	}
	spec := storeSpec{kind: "postgres", conn: o.pg, schema: fmt.Sprintf("carecast_shared_%d", os.Getpid())}
	if !o.keep {
		defer dropSchema(o.pg, spec.schema)
	}
	if _, closeStore, err := openStore(ctx, spec); err != nil {
		return nil, err
	} else {
		closeStore()
	}
	logPath := filepath.Join(dir, "sent.log")
	children := make([]*child, procs)
	for i := range children {
		a := &childArgs{role: "e2e", spec: spec, n: n, send: i == 0, log: logPath, rate: limit, burst: burst, workers: 4, batch: 50, times: true}
		if children[i], err = spawn(a); err != nil {
			return nil, err
		}
	}
	for i, c := range children {
		if _, err := c.wait(); err != nil {
			return nil, fmt.Errorf("process %d: %w", i, err)
		}
	}
	ts, err := sendTimes(logPath)
	if err != nil {
		return nil, err
	}
	if len(ts) < 2 {
		return nil, fmt.Errorf("rate-shared: only %d sends", len(ts))
	}
	span := ts[len(ts)-1].Sub(ts[0]).Seconds()
	dups, err := countDuplicates(logPath)
	if err != nil {
		return nil, err
	}
	return []*result{(&result{}).add("scenario", "rate-shared-postgres").add("limit", limit).add("workers", procs).
		add("achieved_ratio", round3(float64(len(ts)-1)/span/limit)).
		add("max_window_ratio", round3(float64(busiestWindow(ts, time.Second))/(limit+burst))).
		add("duplicates", dups).add("burst", burst)}, nil
}

// sendTimes reads the send times of a log written with times, sorted.
func sendTimes(path string) ([]time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ts []time.Time
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		_, t, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			continue
		}
		ts = append(ts, time.Unix(0, v))
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	return ts, sc.Err()
}
