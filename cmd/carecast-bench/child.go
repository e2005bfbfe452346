package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/store"
)

// childArgs are the flags of a child process (this binary run with
// -child as its first argument).
type childArgs struct {
	role    string // "e2e" or "crash"
	spec    storeSpec
	n       int
	send    bool // create the draft and send it (else join a blast another process sent)
	log     string
	rate    float64
	burst   int
	workers int
	batch   int
	lease   time.Duration
	times   bool // log send times
}

func (a *childArgs) argv() []string {
	return []string{"-child", "-role", a.role, "-store", a.spec.kind, "-path", a.spec.path, "-conn", a.spec.conn,
		"-schema", a.spec.schema, "-n", strconv.Itoa(a.n), "-send=" + strconv.FormatBool(a.send), "-log", a.log,
		"-rate", strconv.FormatFloat(a.rate, 'g', -1, 64), "-burst", strconv.Itoa(max(1, a.burst)), "-workers", strconv.Itoa(a.workers),
		"-batch", strconv.Itoa(a.batch), "-lease", a.lease.String(), "-times=" + strconv.FormatBool(a.times)}
}

// childReport is what a child prints on stdout when it finishes.
type childReport struct {
	Start int64   `json:"start"` // Unix ns when it began sending (Send, or joining)
	End   int64   `json:"end"`   // Unix ns when the blast was completed
	RSS   float64 `json:"rss"`   // peak RSS, MiB
	Sent  int64   `json:"sent"`  // messages this process's provider accepted
}

func childMain(argv []string) int {
	var a childArgs
	fs := flag.NewFlagSet("child", flag.ContinueOnError)
	fs.StringVar(&a.role, "role", "e2e", "")
	fs.StringVar(&a.spec.kind, "store", "memory", "")
	fs.StringVar(&a.spec.path, "path", "", "")
	fs.StringVar(&a.spec.conn, "conn", "", "")
	fs.StringVar(&a.spec.schema, "schema", "", "")
	fs.IntVar(&a.n, "n", 1000, "")
	fs.BoolVar(&a.send, "send", true, "")
	fs.StringVar(&a.log, "log", "", "")
	fs.Float64Var(&a.rate, "rate", blast.RateUnlimited, "")
	fs.IntVar(&a.burst, "burst", 1, "")
	fs.IntVar(&a.workers, "workers", 4, "")
	fs.IntVar(&a.batch, "batch", 500, "")
	fs.DurationVar(&a.lease, "lease", 0, "")
	fs.BoolVar(&a.times, "times", false, "")
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	if path := os.Getenv("CARECAST_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(fmt.Sprintf("%s.%d", path, os.Getpid())) // one profile per child
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	rep, err := runChild(context.Background(), &a)
	if err != nil {
		fmt.Fprintf(os.Stderr, "carecast-bench child: %v\n", err)
		return 1
	}
	b, _ := json.Marshal(rep)
	fmt.Println(string(b))
	return 0
}

func runChild(ctx context.Context, a *childArgs) (*childReport, error) {
	st, closeStore, err := openStore(ctx, a.spec)
	if err != nil {
		return nil, err
	}
	defer closeStore()
	snd := &sender{logTimes: a.times}
	if a.log != "" {
		f, err := os.OpenFile(a.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		snd.log = f
	}
	e, err := newEngine(ctx, st, snd, engineOpts{n: a.n, rate: a.rate, burst: a.burst, workers: a.workers, batch: a.batch, lease: a.lease})
	if err != nil {
		return nil, err
	}
	if err := e.Start(ctx); err != nil {
		return nil, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.Stop(sctx)
	}()
	rep := &childReport{}
	var id string
	b, found, err := benchBlast(ctx, st)
	switch {
	case err != nil:
		return nil, err
	case found:
		id = b.ID
		rep.Start = time.Now().UnixNano()
	case a.send:
		rep.Start = time.Now().UnixNano()
		if id, err = createAndSend(ctx, e); err != nil {
			return nil, err
		}
	default:
		// Join: wait for the sending process to create the blast.
		for !found {
			time.Sleep(5 * time.Millisecond)
			if b, found, err = benchBlast(ctx, st); err != nil {
				return nil, err
			}
		}
		id = b.ID
		rep.Start = time.Now().UnixNano()
	}
	if os.Getenv("CARECAST_BENCH_DEBUG") != "" {
		go func() {
			last := int64(0)
			for range time.Tick(time.Second) {
				n := snd.sent.Load()
				fmt.Fprintf(os.Stderr, "%d/s ", n-last)
				last = n
			}
		}()
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	if err := waitSettled(wctx, st, id); err != nil {
		return nil, err
	}
	rep.End = time.Now().UnixNano()
	rep.Sent = snd.sent.Load()
	if os.Getenv("CARECAST_BENCH_DEBUG") != "" {
		sum, err := e.Summary(ctx, benchOrg, id)
		fmt.Fprintf(os.Stderr, "summary: %+v %v\n", sum, err)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(os.Stderr, "go heap: sys %d MiB, inuse %d MiB, stacks %d MiB, total sys %d MiB\n",
			ms.HeapSys>>20, ms.HeapInuse>>20, ms.StackSys>>20, ms.Sys>>20)
	}
	rep.RSS = peakRSSMiB()
	return rep, nil
}

// spawn starts a child process with args; its stdout is captured.
type child struct {
	cmd *exec.Cmd
	out bytes.Buffer
}

func spawn(a *childArgs) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	c := &child{cmd: exec.Command(exe, a.argv()...)}
	c.cmd.Stdout = &c.out
	c.cmd.Stderr = os.Stderr
	return c, c.cmd.Start()
}

// wait waits for the child and parses its report.
func (c *child) wait() (*childReport, error) {
	if err := c.cmd.Wait(); err != nil {
		return nil, fmt.Errorf("child: %w", err)
	}
	var rep childReport
	if err := json.Unmarshal(bytes.TrimSpace(c.out.Bytes()), &rep); err != nil {
		return nil, fmt.Errorf("child report: %w", err)
	}
	return &rep, nil
}

// settledCounts reads the blast's row counts.
func settledCounts(ctx context.Context, st store.Store) (store.Stats, bool, error) {
	b, found, err := benchBlast(ctx, st)
	if err != nil || !found {
		return store.Stats{}, found, err
	}
	s, err := st.Stats(ctx, benchOrg, b.ID)
	return s, true, err
}

var errNoPostgres = errors.New("set CARECAST_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run it")
