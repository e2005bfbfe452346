// Command carecast-bench measures the blast engine end to end: throughput
// and memory on each store, rate-limit fidelity, crash safety, and the
// render and preview micro-benchmarks, in one table (or one JSON object per
// line with -json).
//
//	go run ./cmd/carecast-bench                       # every scenario
//	go run ./cmd/carecast-bench -json -only e2e-sqlite -n 1000000
//	go run ./cmd/carecast-bench -only crash-sqlite -n 2000 -rounds 3
//
// Scenarios and their JSON fields (the first fields are pinned):
//
//	e2e-memory, e2e-sqlite, e2e-postgres  scenario n seconds per_second peak_rss_mib
//	rate-fidelity                         scenario limit achieved_ratio max_window_ratio
//	rate-shared-postgres                  scenario limit workers achieved_ratio max_window_ratio duplicates
//	crash-sqlite, crash-postgres          scenario n rounds lost duplicates in_doubt
//	render-*, preview-*                   scenario ns_per_op allocs_per_op
//
// e2e-postgres and crash-postgres run only when CARECAST_TEST_POSTGRES
// holds a connection string; each run uses a schema of its own, dropped at
// the end. Every e2e and crash run happens in child processes (this binary
// re-executed), so peak RSS is that of a process that ran only that
// scenario.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
)

// options are the command-line flags.
type options struct {
	json    bool
	only    string
	n       int
	workers int
	rounds  int
	pg      string
	keep    bool
}

type scenario struct {
	name string
	run  func(ctx context.Context, o *options) ([]*result, error)
}

func scenarios() []scenario {
	return []scenario{
		{"e2e-memory", func(ctx context.Context, o *options) ([]*result, error) { return one(runE2E(ctx, o, "memory")) }},
		{"e2e-sqlite", func(ctx context.Context, o *options) ([]*result, error) { return one(runE2E(ctx, o, "sqlite")) }},
		{"e2e-postgres", func(ctx context.Context, o *options) ([]*result, error) { return one(runE2E(ctx, o, "postgres")) }},
		{"rate-fidelity", runRateFidelity},
		{"rate-shared-postgres", runRateShared},
		{"crash-sqlite", func(ctx context.Context, o *options) ([]*result, error) { return one(runCrash(ctx, o, "sqlite")) }},
		{"crash-postgres", func(ctx context.Context, o *options) ([]*result, error) { return one(runCrash(ctx, o, "postgres")) }},
		{"render", runRender},
		{"preview", runPreview},
	}
}

func one(r *result, err error) ([]*result, error) {
	if r == nil {
		return nil, err
	}
	return []*result{r}, err
}

// errSkipped marks a scenario that cannot run here (no PostgreSQL).
type errSkipped struct{ why string }

func (e errSkipped) Error() string { return e.why }

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-child" {
		os.Exit(childMain(os.Args[2:]))
	}
	var o options
	flag.BoolVar(&o.json, "json", false, "print one JSON object per line instead of a table")
	flag.StringVar(&o.only, "only", "", "run only the named scenario (or a prefix: e2e, crash, render)")
	flag.IntVar(&o.n, "n", 0, "recipients per blast (default 100000 for e2e, 2000 for crash)")
	flag.IntVar(&o.workers, "workers", 4, "engine processes sharing the blast in e2e-postgres")
	flag.IntVar(&o.rounds, "rounds", 20, "kill-and-restart rounds of the crash scenarios")
	flag.BoolVar(&o.keep, "keep", false, "keep temporary files and schemas (for debugging)")
	flag.Parse()
	o.pg = os.Getenv("CARECAST_TEST_POSTGRES")

	ctx := context.Background()
	var all []*result
	ran, failed := 0, false
	for _, sc := range scenarios() {
		if o.only != "" && sc.name != o.only && !strings.HasPrefix(sc.name, o.only+"-") {
			continue
		}
		ran++
		rs, err := sc.run(ctx, &o)
		if se, ok := err.(errSkipped); ok {
			fmt.Fprintf(os.Stderr, "carecast-bench: %s skipped: %s\n", sc.name, se.why)
			continue
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "carecast-bench: %s: %v\n", sc.name, err)
			failed = true
		}
		for _, r := range rs {
			if o.json {
				_ = writeJSON(os.Stdout, r)
			}
			all = append(all, r)
		}
	}
	if ran == 0 {
		fmt.Fprintf(os.Stderr, "carecast-bench: no scenario named %q\n", o.only)
		os.Exit(2)
	}
	if !o.json {
		_ = writeTable(os.Stdout, all)
	}
	if failed {
		os.Exit(1)
	}
}

func (o *options) recipients(def int) int {
	if o.n > 0 {
		return o.n
	}
	return def
}
