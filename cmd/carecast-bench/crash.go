package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/carecast/carecast/store"
)

// crashLease is the lease of the crash children: short, so that the rows
// a killed child held expire (and become in doubt) within the next round.
const crashLease = time.Second

// runCrash sends an n-recipient blast from a child process that is killed
// with SIGKILL at a random moment, restarted, rounds times, and finally
// allowed to finish. It then checks the ledger and the provider's durable
// log: lost counts recipients not in exactly one settled row, duplicates
// recipients the provider confirmed more than once, in_doubt the rows
// left in doubt; in_flight_at_kills is the number of rows leased
// (sending) right after each kill, summed — the bound for in_doubt.
func runCrash(ctx context.Context, o *options, kind string) (*result, error) {
	n := o.recipients(2000)
	rounds := max(0, o.rounds)
	dir, err := os.MkdirTemp("", "carecast-crash-")
	if err != nil {
		return nil, err
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	}
	spec := storeSpec{kind: kind, path: filepath.Join(dir, "crash.db")}
	if kind == "postgres" {
		if o.pg == "" {
			return nil, errSkipped{errNoPostgres.Error()}
		}
		spec.conn, spec.schema = o.pg, fmt.Sprintf("carecast_crash_%d", os.Getpid())
		if !o.keep {
			defer dropSchema(o.pg, spec.schema)
		}
	}
	logPath := filepath.Join(dir, "confirmed.log")
	// Pace the sends so that the blast spans the rounds: about 0.25 s of
	// sending per round, never slower than 200/s.
	rate := max(200, float64(n)/(0.25*float64(max(rounds, 1))))
	args := &childArgs{role: "crash", spec: spec, n: n, send: true, log: logPath, rate: rate, workers: 4, batch: 8, lease: crashLease}
	killed := map[string]bool{} // lease owners of the killed processes
	for range rounds {
		c, err := spawn(args)
		if err != nil {
			return nil, err
		}
		done := make(chan error, 1)
		go func() { done <- c.cmd.Wait() }()
		delay := time.Duration(50+rand.IntN(450)) * time.Millisecond
		select {
		case <-done: // finished before the kill
		case <-time.After(delay):
			_ = c.cmd.Process.Signal(syscall.SIGKILL)
			<-done
			killed[fmt.Sprintf("bench-%d", c.cmd.Process.Pid)] = true
		}
	}
	// The last run finishes the blast: expired leases become in doubt and
	// the rows nobody claimed are sent.
	c, err := spawn(args)
	if err != nil {
		return nil, err
	}
	if _, err := c.wait(); err != nil {
		return nil, fmt.Errorf("final run: %w", err)
	}
	st, closeStore, err := openStore(ctx, spec)
	if err != nil {
		return nil, err
	}
	defer closeStore()
	stats, found, err := settledCounts(ctx, st)
	if err != nil {
		return nil, err
	}
	settled := 0
	if found {
		for s, k := range stats.ByStatus {
			if s.Settled() {
				settled += k
			}
		}
	}
	dups, err := countDuplicates(logPath)
	if err != nil {
		return nil, err
	}
	inFlight, strays, err := heldByKilled(ctx, st, killed)
	if err != nil {
		return nil, err
	}
	r := (&result{}).add("scenario", "crash-"+kind).add("n", n).add("rounds", rounds).
		add("lost", n-settled).add("duplicates", dups).add("in_doubt", stats.ByStatus[store.RowInDoubt]).
		add("in_flight_at_kills", inFlight)
	if n-settled != 0 || dups != 0 || stats.ByStatus[store.RowInDoubt] > inFlight || strays > 0 {
		return r, fmt.Errorf("crash safety violated: lost %d, duplicates %d, in_doubt %d (in flight %d), in doubt without a kill %d",
			n-settled, dups, stats.ByStatus[store.RowInDoubt], inFlight, strays)
	}
	return r, nil
}

// heldByKilled counts the rows that killed processes held leased when they
// died: the rows still carrying a killed process's lease (in doubt, or
// sending) at the end, since nobody else can settle them. That includes a
// claim the database committed after its client died (PostgreSQL finishes
// a statement whose client is gone), which a count taken right after the
// kill would miss. strays counts in-doubt rows held by no killed process.
func heldByKilled(ctx context.Context, st store.Store, killed map[string]bool) (held, strays int, err error) {
	b, found, err := benchBlast(ctx, st)
	if err != nil || !found {
		return 0, 0, err
	}
	p := store.ListRowsParams{OrgID: benchOrg, BlastID: b.ID, Limit: 1000,
		Filter: store.RowFilter{Any: []store.Match{{Status: store.RowInDoubt}, {Status: store.RowSending}}}}
	for {
		rows, err := st.ListRows(ctx, p)
		if err != nil || len(rows) == 0 {
			return held, strays, err
		}
		for _, r := range rows {
			switch {
			case killed[r.LeaseOwner]:
				held++
			case r.Status == store.RowInDoubt:
				strays++
			}
		}
		p.AfterID = rows[len(rows)-1].ID
	}
}
