package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/carecast/carecast/blast"
)

// runE2E sends an SMS blast to n recipients through the whole engine on
// the given store, with a zero-latency fake provider and no rate limit,
// in child processes, and reports throughput and the peak RSS of the
// busiest process.
func runE2E(ctx context.Context, o *options, kind string) (*result, error) {
	n := o.recipients(100_000)
	dir, err := os.MkdirTemp("", "carecast-bench-")
	if err != nil {
		return nil, err
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	}
	spec := storeSpec{kind: kind, path: filepath.Join(dir, "bench.db")}
	procs := 1
	if kind == "postgres" {
		if o.pg == "" {
			return nil, errSkipped{errNoPostgres.Error()}
		}
		procs = max(1, o.workers)
		spec.conn, spec.schema = o.pg, fmt.Sprintf("carecast_bench_%d", os.Getpid())
		if !o.keep {
			defer dropSchema(o.pg, spec.schema)
		}
		// Migrate once before the workers start.
		st, closeStore, err := openStore(ctx, spec)
		if err != nil {
			return nil, err
		}
		closeStore()
		_ = st
	}
	logPath := ""
	if procs > 1 {
		logPath = filepath.Join(dir, "sent.log")
	}
	children := make([]*child, procs)
	for i := range children {
		// One process: 8 workers keep SQLite's single writer busy while
		// others render, send and wait for commits. Several processes
		// share the database: 4 workers each.
		workers := 8
		if procs > 1 {
			workers = 4
		}
		a := &childArgs{role: "e2e", spec: spec, n: n, send: i == 0, log: logPath, rate: blast.RateUnlimited,
			workers: workers, batch: 500}
		if children[i], err = spawn(a); err != nil {
			return nil, err
		}
	}
	var (
		start, end int64
		rss        float64
		sent       int64
	)
	for i, c := range children {
		rep, err := c.wait()
		if err != nil {
			return nil, fmt.Errorf("process %d: %w", i, err)
		}
		if i == 0 {
			start = rep.Start
		}
		end = max(end, rep.End)
		rss = max(rss, rep.RSS)
		sent += rep.Sent
	}
	secs := float64(end-start) / 1e9
	r := (&result{}).add("scenario", "e2e-"+kind).add("n", n).add("seconds", round3(secs)).
		add("per_second", round1(float64(n)/secs)).add("peak_rss_mib", round1(rss))
	if procs > 1 {
		dups, err := countDuplicates(logPath)
		if err != nil {
			return r, err
		}
		r.add("workers", procs).add("duplicates", dups)
	}
	if sent != int64(n) {
		return r.add("sent", sent), fmt.Errorf("the provider accepted %d messages for %d recipients", sent, n)
	}
	return r, nil
}

// countDuplicates reads a sender log (one recipient index per line) and
// returns how many recipients appear more than once.
func countDuplicates(path string) (int, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	seen := map[int]uint8{}
	dups := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		field, _, _ := strings.Cut(sc.Text(), " ")
		i, err := strconv.Atoi(field)
		if err != nil {
			continue // a line torn by SIGKILL cannot be a confirmation
		}
		if seen[i] == 1 {
			dups++
		}
		if seen[i] < 2 {
			seen[i]++
		}
	}
	return dups, sc.Err()
}

func dropSchema(conn, schema string) {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, conn)
	if err != nil {
		return
	}
	defer c.Close(ctx)
	_, _ = c.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }
func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }
