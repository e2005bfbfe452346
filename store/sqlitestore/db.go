package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go driver "sqlite"

	"github.com/carecast/carecast/cohort"
)

// Defaults for the Config fields.
const (
	// ReadConnsDefault is the default size of the read pool.
	ReadConnsDefault = 4
	// BusyTimeoutDefault is how long a connection waits for a lock held by
	// another process before failing with SQLITE_BUSY.
	BusyTimeoutDefault = 5 * time.Second
	// MaxBatchDefault is the default largest number of queued write
	// requests the writer commits in one transaction.
	MaxBatchDefault = 512
	// WriteCacheKiBDefault is the default page cache of the writer
	// connection, in KiB.
	WriteCacheKiBDefault = 8 << 10
	// ReadCacheKiBDefault is the default page cache of each read
	// connection, in KiB.
	ReadCacheKiBDefault = 2 << 10
)

// Config configures a Store. The zero value of every field except Path
// selects its default; Open validates the rest.
type Config struct {
	// Path is the database file. It is created, with its directory's
	// permissions, when it does not exist. Required. ":memory:" is
	// rejected: the writer and the read pool are separate connections and
	// would each see a different, empty database (use a file in
	// t.TempDir() in tests).
	Path string
	// ReadConns is the number of read-only connections queries use.
	// Defaults to ReadConnsDefault.
	ReadConns int
	// BusyTimeout is how long a statement waits for a lock another
	// process holds. Defaults to BusyTimeoutDefault.
	BusyTimeout time.Duration
	// MaxBatch is the largest number of concurrent write requests the
	// writer commits together in one transaction (group commit).
	// Defaults to MaxBatchDefault; 1 disables grouping.
	MaxBatch int
	// WriteCacheKiB and ReadCacheKiB size SQLite's page cache of the
	// writer and of each read connection. The process's memory for the
	// store is bounded by about WriteCacheKiB + ReadConns·ReadCacheKiB
	// whatever the audience size. Default to WriteCacheKiBDefault and
	// ReadCacheKiBDefault.
	WriteCacheKiB int
	ReadCacheKiB  int
	// CohortSchema, when set, makes SaveCohort validate filters against
	// it (see cohort.Schema); nil checks only cohort.Cohort.Check.
	CohortSchema *cohort.Schema
	// Now returns the current time: the CreatedAt and UpdatedAt of saved
	// cohorts. (Ledger times come from the engine's arguments.) Defaults
	// to time.Now.
	Now func() time.Time
}

func (c *Config) withDefaults(path string) (Config, error) {
	var out Config
	if c != nil {
		out = *c
	}
	if path != "" {
		out.Path = path
	}
	if out.Path == "" {
		return out, errors.New("sqlitestore: Config.Path is required")
	}
	if out.Path == ":memory:" {
		return out, errors.New("sqlitestore: Config.Path \":memory:\" is not supported; use a file")
	}
	if out.ReadConns == 0 {
		out.ReadConns = ReadConnsDefault
	}
	if out.ReadConns < 0 {
		return out, fmt.Errorf("sqlitestore: Config.ReadConns must be positive, got %d", out.ReadConns)
	}
	if out.BusyTimeout == 0 {
		out.BusyTimeout = BusyTimeoutDefault
	}
	if out.BusyTimeout < 0 {
		return out, fmt.Errorf("sqlitestore: Config.BusyTimeout must be positive, got %s", out.BusyTimeout)
	}
	if out.MaxBatch == 0 {
		out.MaxBatch = MaxBatchDefault
	}
	if out.MaxBatch < 0 {
		return out, fmt.Errorf("sqlitestore: Config.MaxBatch must be positive, got %d", out.MaxBatch)
	}
	if out.WriteCacheKiB == 0 {
		out.WriteCacheKiB = WriteCacheKiBDefault
	}
	if out.ReadCacheKiB == 0 {
		out.ReadCacheKiB = ReadCacheKiBDefault
	}
	if out.WriteCacheKiB < 0 || out.ReadCacheKiB < 0 {
		return out, fmt.Errorf("sqlitestore: Config.WriteCacheKiB and ReadCacheKiB must be positive")
	}
	if out.Now == nil {
		out.Now = time.Now
	}
	return out, nil
}

// pageSize is the page size of new database files. 8 KiB pages measured
// 7% faster in BenchmarkLedgerCycle but no faster end to end, for 12 MiB
// more peak memory; SQLite's default stays.
const pageSize = 4096

// dsn builds a modernc.org/sqlite data source name for path. WAL mode is
// set by openConns (after the page size, which a database in WAL mode can
// no longer change; modernc would apply a journal_mode _pragma first).
func dsn(path string, busy time.Duration, cacheKiB int, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(busy.Milliseconds(), 10)+")")
	if !readOnly {
		q.Add("_pragma", "wal_autocheckpoint(10000)")
	}
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "cache_size(-"+strconv.Itoa(cacheKiB)+")")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// conns holds the one writer connection and the read pool.
type conns struct {
	w *sql.DB // exactly one connection
	r *sql.DB // read-only pool

	reqs chan *writeReq
	done chan struct{}
	wg   sync.WaitGroup
	max  int

	mu     sync.RWMutex // held (read) while enqueueing, (write) to close
	closed bool
}

func openConns(ctx context.Context, cfg Config) (*conns, error) {
	w, err := sql.Open("sqlite", dsn(cfg.Path, cfg.BusyTimeout, cfg.WriteCacheKiB, false))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitestore: open writer: %w", err)
	}
	// page_size only affects a new file; journal_mode=WAL is then
	// recorded in the file, so the read pool opens in WAL mode too.
	var mode string
	if _, err := w.ExecContext(ctx, "PRAGMA page_size = "+strconv.Itoa(pageSize)); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitestore: page size: %w", err)
	}
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil || mode != "wal" {
		w.Close()
		return nil, fmt.Errorf("sqlitestore: WAL mode not available (journal mode %q): %v", mode, err)
	}
	r, err := sql.Open("sqlite", dsn(cfg.Path, cfg.BusyTimeout, cfg.ReadCacheKiB, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitestore: open readers: %w", err)
	}
	r.SetMaxOpenConns(cfg.ReadConns)
	r.SetMaxIdleConns(cfg.ReadConns)
	r.SetConnMaxIdleTime(0)
	c := &conns{w: w, r: r, reqs: make(chan *writeReq, cfg.MaxBatch), done: make(chan struct{}), max: cfg.MaxBatch}
	return c, nil
}

func (c *conns) start() {
	c.wg.Add(1)
	go c.writeLoop()
}

// close stops the writer and closes both pools (used when Open fails).
func (c *conns) close() error {
	return errors.Join(c.stop(), c.closeDBs())
}

// stop stops the writer goroutine after it has answered every queued
// request. Calling it twice is an error.
func (c *conns) stop() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errClosed
	}
	c.closed = true
	close(c.done)
	c.mu.Unlock()
	c.wg.Wait()
	return nil
}

func (c *conns) closeDBs() error { return errors.Join(c.r.Close(), c.w.Close()) }

// writeReq is one unit of work for the writer: fn runs inside a transaction
// shared with other requests. fn must be safe to run again (it is re-run
// alone in its own transaction when the shared one fails).
type writeReq struct {
	ctx  context.Context
	fn   func(tx *sql.Tx) error
	errc chan error
}

var errClosed = errors.New("sqlitestore: store is closed")

// write runs fn in a write transaction. Concurrent calls are grouped into
// one transaction (group commit), which is what makes per-row updates from
// many engine workers cheap: one commit covers hundreds of them. If the
// group fails, each request is retried alone so one bad request cannot fail
// its neighbours.
func (c *conns) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &writeReq{ctx: ctx, fn: fn, errc: make(chan error, 1)}
	// Enqueue under the read lock: once stop holds the write lock no
	// request can slip in, and every request enqueued before is answered
	// by the writer (it drains the queue before exiting).
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return errClosed
	}
	select {
	case c.reqs <- req:
	case <-ctx.Done():
		c.mu.RUnlock()
		return ctx.Err()
	}
	c.mu.RUnlock()
	select {
	case err := <-req.errc:
		return err
	case <-ctx.Done():
		// The writer still runs (or skips) the request; its answer is
		// dropped into the buffered channel.
		return ctx.Err()
	}
}

func (c *conns) writeLoop() {
	defer c.wg.Done()
	batch := make([]*writeReq, 0, c.max)
	for {
		batch = batch[:0]
		select {
		case req := <-c.reqs:
			batch = append(batch, req)
		case <-c.done:
			c.drain()
			return
		}
	fill:
		for len(batch) < c.max {
			select {
			case req := <-c.reqs:
				batch = append(batch, req)
			default:
				break fill
			}
		}
		c.runBatch(batch)
	}
}

// drain answers requests still queued at close.
func (c *conns) drain() {
	for {
		select {
		case req := <-c.reqs:
			c.runBatch([]*writeReq{req})
		default:
			return
		}
	}
}

func (c *conns) runBatch(batch []*writeReq) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.errc <- err
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	if len(live) == 1 {
		r := live[0]
		r.errc <- c.runTx(r.ctx, r.fn)
		return
	}
	// Several requests share one transaction; each runs under its own
	// savepoint so a failing request is rolled back alone.
	errs := make([]error, len(live))
	err := c.runTx(context.Background(), func(tx *sql.Tx) error {
		for i, r := range live {
			if _, err := tx.Exec("SAVEPOINT req"); err != nil {
				return err
			}
			if err := r.fn(tx); err != nil {
				errs[i] = err
				if _, err := tx.Exec("ROLLBACK TO req"); err != nil {
					return err
				}
			}
			if _, err := tx.Exec("RELEASE req"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// The shared transaction itself failed: retry each alone.
		for _, r := range live {
			r.errc <- c.runTx(r.ctx, r.fn)
		}
		return
	}
	for i, r := range live {
		r.errc <- errs[i]
	}
}

func (c *conns) runTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := c.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
