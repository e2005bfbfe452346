package pgstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/store"
	"github.com/carecast/carecast/store/internal/sqlrow"
)

// Store is a store.Store in a PostgreSQL database, safe for concurrent use
// by many goroutines and by several processes sharing the database.
type Store struct {
	pool    *pgxpool.Pool
	ownPool bool
	cfg     Config

	curMu   sync.Mutex
	cursors map[string]claimCursor // blast ID → end of this Store's last claim
}

var _ store.Store = (*Store)(nil)

// Open connects to the database cfg names, migrates the schema (unless
// Config.SkipMigrate) and returns the Store. Close it when done.
func Open(ctx context.Context, cfg *Config) (*Store, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	pool, own := c.Pool, false
	if pool == nil {
		if pool, err = openPool(ctx, c); err != nil {
			return nil, err
		}
		own = true
	}
	if !c.SkipMigrate {
		if _, err := migratePool(ctx, pool, c.Schema); err != nil {
			if own {
				pool.Close()
			}
			return nil, err
		}
	}
	return &Store{pool: pool, ownPool: own, cfg: c, cursors: make(map[string]claimCursor)}, nil
}

// Close closes the connection pool if Open created it.
func (s *Store) Close() error {
	if s.ownPool {
		s.pool.Close()
	}
	return nil
}

// Pool returns the store's connection pool (for the host's own queries
// and for tests). Its connections use the store's schema.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

func notFound(what string) error { return fmt.Errorf("pgstore: %s: %w", what, store.ErrNotFound) }

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

// asyncCommit lets the transaction commit without waiting for its WAL
// flush. Only transactions whose loss in a database-server crash is safe
// use it: a lost outcome leaves its row sending, so the row becomes in
// doubt when the lease expires (never re-sent); lost ledger rows are
// rewritten by the engine's resumed ledger write. Claims always commit
// synchronously: a lost claim could let a sent row be claimed again.
func asyncCommit(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off")
	return err
}

// inTx runs fn in a transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	return tx.Commit(ctx)
}

const blastCols = `id, org_id, name, channel, purpose, cohort_ids, status, content, duplicated_from,
	created_by, ledger_done, created_at, updated_at, scheduled_at, started_at, completed_at, cancelled_at, version`

// headerCols are blastCols with the content left out (read as NULL):
// lists and status reads never load a blast's attachments.
const headerCols = `id, org_id, name, channel, purpose, cohort_ids, status, NULL::bytea, duplicated_from,
	created_by, ledger_done, created_at, updated_at, scheduled_at, started_at, completed_at, cancelled_at, version`

func scanBlast(row pgx.Row) (store.Blast, error) {
	var (
		b                                           store.Blast
		channel, purpose, status                    string
		created, updated, sched, started, done, cnc int64
	)
	err := row.Scan(&b.ID, &b.OrgID, &b.Name, &channel, &purpose, &b.CohortIDs, &status, &b.Content,
		&b.DuplicatedFrom, &b.CreatedBy, &b.LedgerDone, &created, &updated, &sched, &started, &done, &cnc, &b.Version)
	if err != nil {
		return b, err
	}
	b.Channel, b.Purpose, b.Status = carecast.Channel(channel), carecast.Purpose(purpose), store.BlastStatus(status)
	b.CreatedAt, b.UpdatedAt, b.ScheduledAt, b.StartedAt = sqlrow.Time(created), sqlrow.Time(updated), sqlrow.Time(sched), sqlrow.Time(started)
	b.CompletedAt, b.CancelledAt = sqlrow.Time(done), sqlrow.Time(cnc)
	return b, nil
}

func cohorts(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}

// CreateBlast implements store.BlastStore.
func (s *Store) CreateBlast(ctx context.Context, b store.Blast) (store.Blast, error) {
	if b.ID == "" || b.OrgID == "" {
		return store.Blast{}, errors.New("pgstore: CreateBlast: ID and OrgID are required")
	}
	b.Version = 1
	tag, err := s.pool.Exec(ctx, `INSERT INTO blasts (`+blastCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) ON CONFLICT (id) DO NOTHING`,
		b.ID, b.OrgID, b.Name, string(b.Channel), string(b.Purpose), cohorts(b.CohortIDs), string(b.Status), b.Content,
		b.DuplicatedFrom, b.CreatedBy, b.LedgerDone, sqlrow.NS(b.CreatedAt), sqlrow.NS(b.UpdatedAt), sqlrow.NS(b.ScheduledAt),
		sqlrow.NS(b.StartedAt), sqlrow.NS(b.CompletedAt), sqlrow.NS(b.CancelledAt), b.Version)
	if err != nil {
		return store.Blast{}, wrap("create blast", err)
	}
	if tag.RowsAffected() == 0 {
		return store.Blast{}, fmt.Errorf("pgstore: blast %s exists: %w", b.ID, store.ErrConflict)
	}
	return s.Blast(ctx, b.OrgID, b.ID)
}

// Blast implements store.BlastStore.
func (s *Store) Blast(ctx context.Context, orgID, id string) (store.Blast, error) {
	b, err := scanBlast(s.pool.QueryRow(ctx, `SELECT `+blastCols+` FROM blasts WHERE id = $1 AND org_id = $2`, id, orgID))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Blast{}, notFound("blast " + id)
	}
	return b, wrap("blast", err)
}

// UpdateBlast implements store.BlastStore.
func (s *Store) UpdateBlast(ctx context.Context, b store.Blast) (store.Blast, error) {
	out, err := scanBlast(s.pool.QueryRow(ctx, `UPDATE blasts SET name = $1, channel = $2, purpose = $3, cohort_ids = $4,
		status = $5, content = $6, duplicated_from = $7, created_by = $8, ledger_done = $9, updated_at = $10,
		scheduled_at = $11, started_at = $12, completed_at = $13, cancelled_at = $14, version = version + 1
		WHERE id = $15 AND org_id = $16 AND version = $17 RETURNING `+blastCols,
		b.Name, string(b.Channel), string(b.Purpose), cohorts(b.CohortIDs), string(b.Status), b.Content,
		b.DuplicatedFrom, b.CreatedBy, b.LedgerDone, sqlrow.NS(b.UpdatedAt), sqlrow.NS(b.ScheduledAt), sqlrow.NS(b.StartedAt),
		sqlrow.NS(b.CompletedAt), sqlrow.NS(b.CancelledAt), b.ID, b.OrgID, b.Version))
	if err == nil {
		return out, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return store.Blast{}, wrap("update blast", err)
	}
	var v int64
	err = s.pool.QueryRow(ctx, `SELECT version FROM blasts WHERE id = $1 AND org_id = $2`, b.ID, b.OrgID).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Blast{}, notFound("blast " + b.ID)
	}
	if err != nil {
		return store.Blast{}, wrap("update blast", err)
	}
	return store.Blast{}, fmt.Errorf("pgstore: blast %s version %d, stored %d: %w", b.ID, b.Version, v, store.ErrConflict)
}

// ListBlasts implements store.BlastStore.
func (s *Store) ListBlasts(ctx context.Context, p store.ListBlastsParams) ([]store.Blast, error) {
	if p.Limit <= 0 {
		return nil, errors.New("pgstore: ListBlasts: Limit must be positive")
	}
	statuses := make([]string, len(p.Statuses))
	for i, st := range p.Statuses {
		statuses[i] = string(st)
	}
	return s.queryBlasts(ctx, "list blasts", `SELECT `+headerCols+` FROM blasts
		WHERE org_id = $1 AND (cardinality($2::text[]) = 0 OR status = ANY($2))
		AND ($3 = '' OR (created_at, id) < ($4, $3))
		ORDER BY created_at DESC, id DESC LIMIT $5`, p.OrgID, statuses, p.Before.ID, sqlrow.NS(p.Before.CreatedAt), p.Limit)
}

func (s *Store) queryBlasts(ctx context.Context, op, q string, args ...any) ([]store.Blast, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	out := []store.Blast{}
	for rows.Next() {
		b, err := scanBlast(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, b)
	}
	return out, wrap(op, rows.Err())
}

// ActiveBlasts implements store.BlastStore.
func (s *Store) ActiveBlasts(ctx context.Context, now time.Time) ([]store.Blast, error) {
	return s.queryBlasts(ctx, "active blasts", `SELECT `+headerCols+` FROM blasts
		WHERE status IN ('sending', 'scheduled') AND (status = 'sending' OR scheduled_at <= $1)`, sqlrow.NS(now))
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func blastKey(ctx context.Context, q querier, orgID, id string) (int64, error) {
	var seq int64
	err := q.QueryRow(ctx, `SELECT seq FROM blasts WHERE id = $1 AND org_id = $2`, id, orgID).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, notFound("blast " + id)
	}
	return seq, err
}

// ledgerLockClass is the first key of the transaction-scoped advisory
// lock that serialises ledger inserts of one blast ("led").
const ledgerLockClass int32 = 0x6c6564

var rowColumns = []string{"blast_seq", "patient_id", "status", "reason", "address", "next_attempt_at", "created_at", "updated_at"}

// InsertRows implements store.LedgerStore. The rows are written with COPY;
// when some patients already have rows (a resumed ledger write, Add
// Recipients), the batch falls back to INSERT … ON CONFLICT DO NOTHING.
func (s *Store) InsertRows(ctx context.Context, orgID, blastID string, rows []store.NewRow, at time.Time) (int, error) {
	for i := range rows {
		if st := rows[i].Status; st != store.RowQueued && st != store.RowSkipped {
			return 0, fmt.Errorf("pgstore: InsertRows: row %d has status %q, want queued or skipped", i, st)
		}
	}
	// Keep the first row of each patient.
	seen := make(map[string]struct{}, len(rows))
	uniq := make([]*store.NewRow, 0, len(rows))
	for i := range rows {
		if _, dup := seen[rows[i].PatientID]; dup {
			continue
		}
		seen[rows[i].PatientID] = struct{}{}
		uniq = append(uniq, &rows[i])
	}
	atN := sqlrow.NS(at)
	n := 0
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		seq, err := blastKey(ctx, tx, orgID, blastID)
		if err != nil || len(uniq) == 0 {
			return err
		}
		if err := asyncCommit(ctx, tx); err != nil {
			return err
		}
		values := func(i int) []any {
			r := uniq[i]
			next := sqlrow.NS(r.NextAttemptAt)
			if next == 0 {
				next = atN
			}
			return []any{seq, r.PatientID, string(r.Status), r.Reason, r.Address, next, atN, atN}
		}
		// One ledger writer per blast at a time: several engine instances
		// may resume the same ledger; taking turns, the later one finds
		// the rows the earlier one committed and skips them, instead of a
		// COPY that fails on them (leaving dead tuples) and a retry.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, ledgerLockClass, int32(seq)); err != nil {
			return err
		}
		// COPY cannot skip existing patients: leave out the batch's
		// patients that already have rows (a resumed ledger write, Add
		// Recipients, or another instance writing the same ledger), then
		// COPY the rest, falling back to INSERT … ON CONFLICT if a
		// concurrent writer adds one in between.
		have, err := existingIn(ctx, tx, seq, uniq)
		if err != nil {
			return err
		}
		if len(have) > 0 {
			kept := uniq[:0:0]
			for _, r := range uniq {
				if !have[r.PatientID] {
					kept = append(kept, r)
				}
			}
			uniq = kept
		}
		if len(uniq) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, "SAVEPOINT copy_rows"); err != nil {
			return err
		}
		k, err := tx.CopyFrom(ctx, pgx.Identifier{"rows"}, rowColumns, pgx.CopyFromSlice(len(uniq), func(i int) ([]any, error) {
			return values(i), nil
		}))
		if err == nil {
			n = int(k)
			return nil
		}
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "23505" { // unique_violation
			return err
		}
		if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT copy_rows"); err != nil {
			return err
		}
		cols := make([][]any, 5)
		for i := range uniq {
			v := values(i)
			for c := range cols {
				cols[c] = append(cols[c], v[c+1])
			}
		}
		tag, err := tx.Exec(ctx, `INSERT INTO rows (blast_seq, patient_id, status, reason, address, next_attempt_at, created_at, updated_at)
			SELECT $1, p, st, re, ad, na, $2, $2
			FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[]) WITH ORDINALITY AS t(p, st, re, ad, na, ord)
			ORDER BY ord
			ON CONFLICT (blast_seq, patient_id) DO NOTHING`,
			seq, atN, cols[0], cols[1], cols[2], cols[3], cols[4])
		if err != nil {
			return err
		}
		n = int(tag.RowsAffected())
		return nil
	})
	if err != nil {
		return 0, wrap("insert rows", err)
	}
	return n, nil
}

// existingIn returns which of the batch's patients already have rows in
// the blast. The engine writes audiences in ascending patient ID order, so
// a sorted batch is one range scan of the (blast_seq, patient_id) index
// (reading 1,000 neighbouring entries costs a fraction of 1,000 probes);
// any other batch, or a range holding many other patients, is probed by
// ID.
func existingIn(ctx context.Context, tx pgx.Tx, seq int64, batch []*store.NewRow) (map[string]bool, error) {
	sorted := true
	ids := make([]string, len(batch))
	for i, r := range batch {
		ids[i] = r.PatientID
		if i > 0 && ids[i] <= ids[i-1] {
			sorted = false
		}
	}
	collect := func(q string, args ...any) (map[string]bool, int, error) {
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return nil, 0, err
		}
		found, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, 0, err
		}
		have := make(map[string]bool, len(found))
		for _, p := range found {
			have[p] = true
		}
		return have, len(found), nil
	}
	if sorted {
		limit := 4*len(ids) + 1
		have, n, err := collect(`SELECT patient_id FROM rows WHERE blast_seq = $1 AND patient_id >= $2 AND patient_id <= $3
			ORDER BY patient_id LIMIT $4`, seq, ids[0], ids[len(ids)-1], limit)
		if err != nil || n < limit {
			return have, err
		}
	}
	have, _, err := collect(`SELECT patient_id FROM rows WHERE blast_seq = $1 AND patient_id = ANY($2)`, seq, ids)
	return have, err
}

// ExistingPatients implements store.LedgerStore.
func (s *Store) ExistingPatients(ctx context.Context, orgID, blastID string, patientIDs []string) ([]string, error) {
	seq, err := blastKey(ctx, s.pool, orgID, blastID)
	if err != nil {
		return nil, wrap("existing patients", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT patient_id FROM rows WHERE blast_seq = $1 AND patient_id = ANY($2)`, seq, patientIDs)
	if err != nil {
		return nil, wrap("existing patients", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrap("existing patients", err)
	}
	set := make(map[string]bool, len(found))
	for _, p := range found {
		set[p] = true
	}
	var out []string
	for _, p := range patientIDs {
		if set[p] {
			out = append(out, p)
		}
	}
	return out, nil
}

func collectRows(rows pgx.Rows) ([]store.Row, error) {
	defer rows.Close()
	out := []store.Row{}
	for rows.Next() {
		r, err := sqlrow.ScanRow(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// claimSQL claims due rows after the cursor ($7, $8) in the claim
// index's order.
//
// The blast's key is a scalar subquery, a constant to the planner: with a
// join instead, a table without fresh statistics (autovacuum off, or a
// blast written faster than autoanalyze runs) got a plan that sorted every
// due row instead of reading the first few from the index.
const claimSQL = `WITH c AS (SELECT r.id FROM rows r
		WHERE r.blast_seq = (SELECT seq FROM blasts WHERE id = $1 AND org_id = $2)
		AND r.status = 'queued' AND r.next_attempt_at <= $3
		AND (r.next_attempt_at, r.id) > ($7::bigint, $8::bigint)
		ORDER BY r.next_attempt_at, r.id LIMIT $4 FOR UPDATE OF r SKIP LOCKED)
	UPDATE rows r SET status = 'sending', lease_owner = $5, lease_until = $6, updated_at = $3
	FROM c, blasts b WHERE r.id = c.id AND b.seq = r.blast_seq
	RETURNING `

// claimCursor is where the last claim of a blast ended, in the claim
// index's (next_attempt_at, id) order; n counts the claims that used it.
type claimCursor struct{ at, id, n int64 }

// fullScanEvery makes every so many claims of a blast scan from the start
// of the claim index, so rows released behind the cursor by another
// instance wait a few batches at most.
const fullScanEvery = 16

// ClaimRows implements store.LedgerStore with SELECT … FOR UPDATE SKIP
// LOCKED: concurrent claimers, in this process or others, each get rows
// nobody else holds, without waiting for each other.
//
// Each claim first resumes after the position where this Store's last
// claim of the blast ended, and only when that finds fewer rows than asked
// scans from the start. The claim index keeps an entry for every row
// version a claim or outcome replaced until VACUUM removes it (and cannot
// drop it while any older snapshot, such as a concurrent Stats, is open),
// so a claim that always started at the beginning would step over every
// row already sent: quadratic in the blast's size. Rows before the cursor
// (released or re-queued by another instance) are still found by the
// fallback scan.
func (s *Store) ClaimRows(ctx context.Context, p store.ClaimParams) ([]store.Row, error) {
	if p.Limit <= 0 {
		return nil, errors.New("pgstore: ClaimRows: Limit must be positive")
	}
	s.curMu.Lock()
	cur, ok := s.cursors[p.BlastID]
	s.curMu.Unlock()
	var out []store.Row
	if ok && cur.n%fullScanEvery != fullScanEvery-1 {
		got, err := s.claim(ctx, p, p.Limit, cur)
		if err != nil {
			return nil, err
		}
		out = got
	}
	if len(out) < p.Limit {
		got, err := s.claim(ctx, p, p.Limit-len(out), claimCursor{at: math.MinInt64, id: math.MinInt64})
		if err != nil {
			return out, err
		}
		out = append(out, got...)
	}
	if len(out) > 0 {
		last := claimCursor{at: math.MinInt64, id: math.MinInt64}
		for _, r := range out {
			if c := (claimCursor{at: sqlrow.NS(r.NextAttemptAt), id: r.ID}); c.at > last.at || (c.at == last.at && c.id > last.id) {
				last = c
			}
		}
		s.curMu.Lock()
		if len(s.cursors) > 1024 {
			clear(s.cursors) // finished blasts' cursors; a miss only costs a full scan
		}
		last.n = cur.n + 1
		s.cursors[p.BlastID] = last
		s.curMu.Unlock()
	}
	slices.SortFunc(out, func(a, b store.Row) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

func (s *Store) claim(ctx context.Context, p store.ClaimParams, limit int, after claimCursor) ([]store.Row, error) {
	rows, err := s.pool.Query(ctx, claimSQL+sqlrow.RowColumns, p.BlastID, p.OrgID, sqlrow.NS(p.Now), limit, p.Owner,
		sqlrow.NS(p.LeaseUntil), after.at, after.id)
	if err != nil {
		return nil, wrap("claim rows", err)
	}
	out, err := collectRows(rows)
	return out, wrap("claim rows", err)
}

// RecordOutcomes implements store.LedgerStore: one UPDATE … FROM unnest()
// statement applies the whole batch.
func (s *Store) RecordOutcomes(ctx context.Context, outcomes []store.Outcome) (int, error) {
	if len(outcomes) == 0 {
		return 0, nil
	}
	m := len(outcomes)
	var (
		idv      = make([]int64, 0, m)
		owner    = make([]string, 0, m)
		status   = make([]string, 0, m)
		reason   = make([]string, 0, m)
		code     = make([]string, 0, m)
		addr     = make([]string, 0, m)
		attempt  = make([]int32, 0, m)
		pmid     = make([]string, 0, m)
		segments = make([]int32, 0, m)
		cost     = make([]int64, 0, m)
		next     = make([]int64, 0, m)
		atv      = make([]int64, 0, m)
	)
	seen := make(map[int64]bool, m)
	for i := range outcomes {
		o := &outcomes[i]
		if o.Owner == "" || seen[o.RowID] {
			// A row appears once per statement; a repeated outcome for
			// the same row would find the lease already cleared anyway.
			continue
		}
		seen[o.RowID] = true
		idv = append(idv, o.RowID)
		owner = append(owner, o.Owner)
		status = append(status, string(o.Status))
		reason = append(reason, o.Reason)
		code = append(code, o.ErrorCode)
		addr = append(addr, o.Address)
		if o.Attempted {
			attempt = append(attempt, 1)
		} else {
			attempt = append(attempt, 0)
		}
		pmid = append(pmid, o.ProviderMessageID)
		segments = append(segments, int32(o.Segments))
		cost = append(cost, int64(o.Cost))
		next = append(next, sqlrow.NS(o.NextAttemptAt))
		atv = append(atv, sqlrow.NS(o.At))
	}
	if len(idv) == 0 {
		return 0, nil
	}
	var tag pgconn.CommandTag
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := asyncCommit(ctx, tx); err != nil {
			return err
		}
		var err error
		tag, err = tx.Exec(ctx, `UPDATE rows r SET
		status = o.status, reason = o.reason, error_code = o.code, updated_at = o.at,
		address = CASE WHEN o.addr <> '' THEN o.addr ELSE r.address END,
		attempts = r.attempts + o.attempted,
		provider_message_id = CASE WHEN o.pmid <> '' THEN o.pmid ELSE r.provider_message_id END,
		segments = CASE WHEN o.segments <> 0 OR o.cost <> 0 THEN o.segments ELSE r.segments END,
		cost = CASE WHEN o.segments <> 0 OR o.cost <> 0 THEN o.cost ELSE r.cost END,
		sent_at = CASE WHEN o.status = 'sent' THEN o.at ELSE r.sent_at END,
		failed_at = CASE WHEN o.status = 'failed' THEN o.at ELSE r.failed_at END,
		next_attempt_at = CASE WHEN o.status = 'queued' THEN (CASE WHEN o.next <> 0 THEN o.next ELSE o.at END) ELSE r.next_attempt_at END,
		lease_owner = '', lease_until = 0
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[],
			$9::int[], $10::bigint[], $11::bigint[], $12::bigint[])
			AS o(id, owner, status, reason, code, addr, attempted, pmid, segments, cost, next, at)
		WHERE r.id = o.id AND r.lease_owner = o.owner AND (
			(r.status = 'sending' AND o.status IN ('queued', 'sent', 'failed', 'in_doubt', 'skipped', 'opted_out'))
			OR (r.status = 'in_doubt' AND o.status IN ('sent', 'failed', 'skipped', 'opted_out')))`,
			idv, owner, status, reason, code, addr, attempt, pmid, segments, cost, next, atv)
		return err
	})
	if err != nil {
		return 0, wrap("record outcomes", err)
	}
	return int(tag.RowsAffected()), nil
}

func (s *Store) execCount(ctx context.Context, op, q string, args ...any) (int, error) {
	tag, err := s.pool.Exec(ctx, q, args...)
	if err != nil {
		return 0, wrap(op, err)
	}
	return int(tag.RowsAffected()), nil
}

// ExpireLeases implements store.LedgerStore.
func (s *Store) ExpireLeases(ctx context.Context, now time.Time) (int, error) {
	return s.execCount(ctx, "expire leases", `UPDATE rows SET status = 'in_doubt', reason = 'lease_expired', updated_at = $1
		WHERE status = 'sending' AND lease_until < $1`, sqlrow.NS(now))
}

// blastExec runs q with the blast's key as $1, or returns ErrNotFound.
func (s *Store) blastExec(ctx context.Context, op, orgID, blastID, q string, args ...any) (int, error) {
	seq, err := blastKey(ctx, s.pool, orgID, blastID)
	if err != nil {
		return 0, wrap(op, err)
	}
	return s.execCount(ctx, op, q, append([]any{seq}, args...)...)
}

// CancelQueued implements store.LedgerStore.
func (s *Store) CancelQueued(ctx context.Context, orgID, blastID string, at time.Time) (int, error) {
	return s.blastExec(ctx, "cancel queued", orgID, blastID,
		`UPDATE rows SET status = 'cancelled', updated_at = $2 WHERE blast_seq = $1 AND status = 'queued'`, sqlrow.NS(at))
}

// RequeueFailed implements store.LedgerStore.
func (s *Store) RequeueFailed(ctx context.Context, orgID, blastID string, includeInDoubt bool, at time.Time) (int, error) {
	return s.blastExec(ctx, "requeue failed", orgID, blastID,
		`UPDATE rows SET status = 'queued', reason = '', error_code = '', attempts = 0, lease_owner = '', lease_until = 0,
			next_attempt_at = $2, updated_at = $2
		WHERE blast_seq = $1 AND (status = 'failed' OR ($3 AND status = 'in_doubt'))`, sqlrow.NS(at), includeInDoubt)
}

func (s *Store) oneRow(ctx context.Context, op, what, where string, args ...any) (store.Row, error) {
	r, err := sqlrow.ScanRow(s.pool.QueryRow(ctx, `SELECT `+sqlrow.RowColumns+` FROM rows r JOIN blasts b ON b.seq = r.blast_seq WHERE `+where, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Row{}, notFound(what)
	}
	return r, wrap(op, err)
}

// Row implements store.LedgerStore.
func (s *Store) Row(ctx context.Context, orgID string, id int64) (store.Row, error) {
	return s.oneRow(ctx, "row", "row", `r.id = $1 AND b.org_id = $2`, id, orgID)
}

// RowByProviderMessageID implements store.LedgerStore.
func (s *Store) RowByProviderMessageID(ctx context.Context, id string) (store.Row, error) {
	if id == "" {
		return store.Row{}, notFound("provider message")
	}
	return s.oneRow(ctx, "row by provider message", "provider message", `r.provider_message_id = $1 ORDER BY r.id DESC LIMIT 1`, id)
}

// LatestSentTo implements store.LedgerStore.
func (s *Store) LatestSentTo(ctx context.Context, orgID string, ch carecast.Channel, address string, since time.Time) (store.Row, error) {
	return s.oneRow(ctx, "latest sent", "sent message", `r.address = $1 AND r.sent_at <> 0 AND r.sent_at >= $2
		AND b.org_id = $3 AND b.channel = $4 ORDER BY r.sent_at DESC, r.id DESC LIMIT 1`, address, sqlrow.NS(since), orgID, string(ch))
}

// ListRows implements store.LedgerStore.
func (s *Store) ListRows(ctx context.Context, p store.ListRowsParams) ([]store.Row, error) {
	if p.Limit <= 0 {
		return nil, errors.New("pgstore: ListRows: Limit must be positive")
	}
	seq, err := blastKey(ctx, s.pool, p.OrgID, p.BlastID)
	if err != nil {
		return nil, wrap("list rows", err)
	}
	var q strings.Builder
	args := []any{seq, p.AfterID, p.Limit}
	q.WriteString(`SELECT ` + sqlrow.RowColumns + ` FROM rows r JOIN blasts b ON b.seq = r.blast_seq WHERE r.blast_seq = $1 AND r.id > $2`)
	if len(p.Filter.Any) > 0 {
		q.WriteString(` AND (`)
		for i, m := range p.Filter.Any {
			if i > 0 {
				q.WriteString(` OR `)
			}
			args = append(args, string(m.Status), m.Reason)
			fmt.Fprintf(&q, `(r.status = $%d AND ($%d = '' OR r.reason = $%d))`, len(args)-1, len(args), len(args))
		}
		q.WriteString(`)`)
	}
	if p.Filter.Opened {
		q.WriteString(` AND r.opens > 0`)
	}
	if p.Filter.Clicked {
		q.WriteString(` AND r.clicks > 0`)
	}
	if p.Filter.Replied {
		q.WriteString(` AND r.replies > 0`)
	}
	q.WriteString(` ORDER BY r.id LIMIT $3`)
	rows, err := s.pool.Query(ctx, q.String(), args...)
	if err != nil {
		return nil, wrap("list rows", err)
	}
	out, err := collectRows(rows)
	return out, wrap("list rows", err)
}

// Stats implements store.LedgerStore with one GROUP BY query.
func (s *Store) Stats(ctx context.Context, orgID, blastID string) (store.Stats, error) {
	seq, err := blastKey(ctx, s.pool, orgID, blastID)
	if err != nil {
		return store.Stats{}, wrap("stats", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT status, reason, count(*), count(*) FILTER (WHERE opens > 0),
		count(*) FILTER (WHERE clicks > 0), count(*) FILTER (WHERE replies > 0),
		count(*) FILTER (WHERE machine_opens > 0), count(*) FILTER (WHERE machine_clicks > 0),
		COALESCE(sum(segments), 0)::bigint, COALESCE(sum(cost), 0)::bigint,
		COALESCE(min(sent_at) FILTER (WHERE sent_at <> 0), 0), COALESCE(max(sent_at), 0)
		FROM rows WHERE blast_seq = $1 GROUP BY status, reason`, seq)
	if err != nil {
		return store.Stats{}, wrap("stats", err)
	}
	defer rows.Close()
	st := sqlrow.NewStats()
	for rows.Next() {
		var g sqlrow.Group
		if err := rows.Scan(g.Dest()...); err != nil {
			return store.Stats{}, wrap("stats", err)
		}
		sqlrow.Add(&st, &g)
	}
	if err := rows.Err(); err != nil {
		return store.Stats{}, wrap("stats", err)
	}
	return st, nil
}

// Engagement implements store.LedgerStore.
func (s *Store) Engagement(ctx context.Context, p store.EngagementParams) (store.Engagement, error) {
	if p.Buckets < 0 || p.Step <= 0 {
		return store.Engagement{}, errors.New("pgstore: Engagement: Step must be positive and Buckets non-negative")
	}
	seq, err := blastKey(ctx, s.pool, p.OrgID, p.BlastID)
	if err != nil {
		return store.Engagement{}, wrap("engagement", err)
	}
	e := store.Engagement{Opens: make([]int, p.Buckets), Clicks: make([]int, p.Buckets)}
	rows, err := s.pool.Query(ctx, `SELECT 'o', CASE WHEN first_open_at < $2 THEN 0 ELSE (first_open_at - $2) / $3 END AS k, count(*)
			FROM rows WHERE blast_seq = $1 AND first_open_at <> 0 GROUP BY k
		UNION ALL
		SELECT 'c', CASE WHEN first_click_at < $2 THEN 0 ELSE (first_click_at - $2) / $3 END AS k, count(*)
			FROM rows WHERE blast_seq = $1 AND first_click_at <> 0 GROUP BY k`, seq, sqlrow.NS(p.Start), int64(p.Step))
	if err != nil {
		return store.Engagement{}, wrap("engagement", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			kind string
			k, n int64
		)
		if err := rows.Scan(&kind, &k, &n); err != nil {
			return store.Engagement{}, wrap("engagement", err)
		}
		if k < 0 || k >= int64(p.Buckets) {
			continue
		}
		if kind == "o" {
			e.Opens[k] += int(n)
		} else {
			e.Clicks[k] += int(n)
		}
	}
	return e, wrap("engagement", rows.Err())
}

// Analytics implements store.LedgerStore with one aggregate query.
func (s *Store) Analytics(ctx context.Context, p store.AnalyticsParams) ([]store.AnalyticsBucket, error) {
	if p.Bucket <= 0 {
		return nil, errors.New("pgstore: Analytics: Bucket must be positive")
	}
	rows, err := s.pool.Query(ctx, `SELECT (r.sent_at - $1) / $2 AS k, b.channel, count(*),
		count(*) FILTER (WHERE r.status = 'delivered'), count(*) FILTER (WHERE r.opens > 0),
		count(*) FILTER (WHERE r.clicks > 0), count(*) FILTER (WHERE r.replies > 0),
		COALESCE(sum(r.cost), 0)::bigint, count(DISTINCT r.blast_seq)
		FROM blasts b JOIN rows r ON r.blast_seq = b.seq
		WHERE b.org_id = $3 AND r.sent_at <> 0 AND r.sent_at >= $1 AND r.sent_at < $4
		GROUP BY k, b.channel ORDER BY k, b.channel`, p.From.UnixNano(), int64(p.Bucket), p.OrgID, p.To.UnixNano())
	if err != nil {
		return nil, wrap("analytics", err)
	}
	defer rows.Close()
	out := []store.AnalyticsBucket{}
	for rows.Next() {
		var (
			k, cost                          int64
			sent, del, opened, clicked, repl int64
			blasts                           int64
			ch                               string
		)
		if err := rows.Scan(&k, &ch, &sent, &del, &opened, &clicked, &repl, &cost, &blasts); err != nil {
			return nil, wrap("analytics", err)
		}
		out = append(out, store.AnalyticsBucket{
			Start: p.From.Add(time.Duration(k) * p.Bucket), Channel: carecast.Channel(ch),
			Sent: int(sent), Delivered: int(del), Opened: int(opened), Clicked: int(clicked), Replied: int(repl),
			Cost: carecast.Money(cost), Blasts: int(blasts),
		})
	}
	return out, wrap("analytics", rows.Err())
}

// eventSQL maps an event kind to its update ($1 at, $2 row ID; an
// EventFailed also takes $3 reason and $4 error code).
var eventSQL = map[store.EventKind]string{
	store.EventDelivered: `UPDATE rows SET status = 'delivered', reason = '', delivered_at = $1, updated_at = $1,
		sent_at = CASE WHEN sent_at = 0 THEN $1 ELSE sent_at END WHERE id = $2 AND status IN ('sent', 'in_doubt')`,
	store.EventSent: `UPDATE rows SET status = 'sent', reason = '', sent_at = $1, updated_at = $1
		WHERE id = $2 AND status = 'in_doubt'`,
	store.EventFailed: `UPDATE rows SET status = 'failed', reason = $3, error_code = $4, failed_at = $1, updated_at = $1
		WHERE id = $2 AND status IN ('sent', 'delivered', 'in_doubt')`,
	store.EventOpen: `UPDATE rows SET opens = opens + 1, updated_at = $1,
		first_open_at = CASE WHEN first_open_at = 0 OR $1 < first_open_at THEN $1 ELSE first_open_at END WHERE id = $2`,
	store.EventClick: `UPDATE rows SET clicks = clicks + 1, updated_at = $1,
		first_click_at = CASE WHEN first_click_at = 0 OR $1 < first_click_at THEN $1 ELSE first_click_at END WHERE id = $2`,
	store.EventReply: `UPDATE rows SET replies = replies + 1, updated_at = $1, last_reply_at = GREATEST(last_reply_at, $1)
		WHERE id = $2`,
	store.EventMachineOpen:  `UPDATE rows SET machine_opens = machine_opens + 1, updated_at = $1 WHERE id = $2`,
	store.EventMachineClick: `UPDATE rows SET machine_clicks = machine_clicks + 1, updated_at = $1 WHERE id = $2`,
}

// ApplyEvent implements store.EventStore.
func (s *Store) ApplyEvent(ctx context.Context, p store.EventParams) (bool, error) {
	if p.EventID == "" {
		return false, errors.New("pgstore: ApplyEvent: EventID is required")
	}
	applied := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var one int
		// Lock the row so concurrent events on it apply one after another.
		err := tx.QueryRow(ctx, `SELECT 1 FROM rows r JOIN blasts b ON b.seq = r.blast_seq
			WHERE r.id = $1 AND b.org_id = $2 FOR UPDATE OF r`, p.RowID, p.OrgID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("row")
		}
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO events (id, at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, p.EventID, sqlrow.NS(p.At))
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		q, ok := eventSQL[p.Kind]
		if !ok {
			return nil
		}
		if p.ProviderMessageID != "" && (p.Kind == store.EventSent || p.Kind == store.EventDelivered || p.Kind == store.EventFailed) {
			// Learned for a row whose send answer was lost: recorded
			// before the status moves (the update needs in_doubt).
			if _, err := tx.Exec(ctx, `UPDATE rows SET provider_message_id = $1 WHERE id = $2 AND status = 'in_doubt' AND provider_message_id IS NULL`,
				p.ProviderMessageID, p.RowID); err != nil {
				return err
			}
		}
		args := []any{sqlrow.NS(p.At), p.RowID}
		if p.Kind == store.EventFailed {
			args = append(args, p.Reason, p.ErrorCode)
		}
		tag, err = tx.Exec(ctx, q, args...)
		applied = err == nil && tag.RowsAffected() > 0
		return err
	})
	if err != nil {
		return false, wrap("apply event", err)
	}
	return applied, nil
}

// MarkEvent implements store.EventStore.
func (s *Store) MarkEvent(ctx context.Context, eventID string, at time.Time) (bool, error) {
	if eventID == "" {
		return false, errors.New("pgstore: MarkEvent: eventID is required")
	}
	n, err := s.execCount(ctx, "mark event", `INSERT INTO events (id, at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, eventID, sqlrow.NS(at))
	return n > 0, err
}

// Suppress implements store.EventStore.
func (s *Store) Suppress(ctx context.Context, sp store.Suppression) error {
	_, err := s.execCount(ctx, "suppress", `INSERT INTO suppressions (org_id, channel, address, reason, at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (org_id, channel, address) DO UPDATE SET reason = excluded.reason, at = excluded.at`,
		sp.OrgID, string(sp.Channel), sp.Address, sp.Reason, sqlrow.NS(sp.At))
	return err
}

// Unsuppress implements store.EventStore.
func (s *Store) Unsuppress(ctx context.Context, orgID string, ch carecast.Channel, address string, reasons []string) (int, error) {
	return s.execCount(ctx, "unsuppress", `DELETE FROM suppressions WHERE org_id = $1 AND channel = $2 AND address = $3
		AND reason = ANY($4)`, orgID, string(ch), address, reasons)
}

// Suppressed implements store.EventStore.
func (s *Store) Suppressed(ctx context.Context, orgID string, ch carecast.Channel, addresses []string) ([]store.Suppression, error) {
	if len(addresses) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT address, reason, at FROM suppressions
		WHERE org_id = $1 AND channel = $2 AND address = ANY($3)`, orgID, string(ch), addresses)
	if err != nil {
		return nil, wrap("suppressed", err)
	}
	defer rows.Close()
	var out []store.Suppression
	for rows.Next() {
		sp := store.Suppression{OrgID: orgID, Channel: ch}
		var at int64
		if err := rows.Scan(&sp.Address, &sp.Reason, &at); err != nil {
			return nil, wrap("suppressed", err)
		}
		sp.At = sqlrow.Time(at)
		out = append(out, sp)
	}
	return out, wrap("suppressed", rows.Err())
}

var _ store.SentCounter = (*Store)(nil)

// SentCounts implements store.SentCounter with the (address, sent_at)
// index.
func (s *Store) SentCounts(ctx context.Context, orgID string, ch carecast.Channel, pu carecast.Purpose, addresses []string, since time.Time) (map[string]int, error) {
	out := make(map[string]int)
	if len(addresses) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT r.address, count(*) FROM rows r JOIN blasts b ON b.seq = r.blast_seq
		WHERE r.address = ANY($1) AND r.sent_at <> 0 AND r.sent_at >= $2 AND b.org_id = $3 AND b.channel = $4 AND b.purpose = $5
		GROUP BY r.address`, addresses, sqlrow.NS(since), orgID, string(ch), string(pu))
	if err != nil {
		return nil, wrap("sent counts", err)
	}
	defer rows.Close()
	return out, wrap("sent counts", sqlrow.CollectCounts(rows, out))
}

var _ store.FailureLog = (*Store)(nil)

// FailureTimes implements store.FailureLog.
func (s *Store) FailureTimes(ctx context.Context, orgID string, ch carecast.Channel, address, reason string, since time.Time) ([]time.Time, error) {
	rows, err := s.pool.Query(ctx, `SELECT r.failed_at FROM rows r JOIN blasts b ON b.seq = r.blast_seq
		WHERE r.address = $1 AND r.status = 'failed' AND r.sent_at <> 0 AND r.reason = $2 AND r.failed_at >= $3 AND b.org_id = $4 AND b.channel = $5
		ORDER BY r.failed_at`, address, reason, sqlrow.NS(since), orgID, string(ch))
	if err != nil {
		return nil, wrap("failure times", err)
	}
	defer rows.Close()
	out, err := sqlrow.CollectTimes(rows)
	return out, wrap("failure times", err)
}

var _ store.DomainHealth = (*Store)(nil)

// AddDomainCounts implements store.DomainHealth.
func (s *Store) AddDomainCounts(ctx context.Context, orgID, domain string, at time.Time, delivered, complaints int) error {
	_, err := s.execCount(ctx, "add domain counts", `INSERT INTO domain_days (org_id, domain, day, delivered, complaints) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (org_id, domain, day) DO UPDATE SET delivered = domain_days.delivered + excluded.delivered,
			complaints = domain_days.complaints + excluded.complaints`,
		orgID, domain, store.UnixDay(at), delivered, complaints)
	return err
}

// DomainDays implements store.DomainHealth.
func (s *Store) DomainDays(ctx context.Context, orgID, domain string, from, to time.Time) ([]store.DomainDay, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sqlrow.DomainDayColumns+` FROM domain_days
		WHERE org_id = $1 AND domain = $2 AND day >= $3 AND day <= $4 ORDER BY day`, orgID, domain, store.UnixDay(from), store.UnixDay(to))
	if err != nil {
		return nil, wrap("domain days", err)
	}
	defer rows.Close()
	out, err := sqlrow.CollectDomainDays(rows)
	return out, wrap("domain days", err)
}

var _ store.AuditLog = (*Store)(nil)

// AppendAudit implements store.AuditLog with one INSERT … SELECT FROM
// unnest() statement.
func (s *Store) AppendAudit(ctx context.Context, entries []store.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	m := len(entries)
	org, actor, action, blastID, patient, detail := make([]string, m), make([]string, m), make([]string, m), make([]string, m), make([]string, m), make([]string, m)
	at, row := make([]int64, m), make([]int64, m)
	for i, a := range entries {
		org[i], actor[i], action[i], blastID[i], patient[i], detail[i] = a.OrgID, a.Actor, a.Action, a.BlastID, a.PatientID, a.Detail
		at[i], row[i] = sqlrow.NS(a.At), a.RowID
	}
	_, err := s.execCount(ctx, "append audit", `INSERT INTO audit (org_id, at, actor, action, blast_id, patient_id, row_id, detail)
		SELECT o, t, ac, an, b, p, r, d FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[])
			WITH ORDINALITY AS x(o, t, ac, an, b, p, r, d, ord) ORDER BY ord`, org, at, actor, action, blastID, patient, row, detail)
	return err
}

// AuditEntries implements store.AuditLog.
func (s *Store) AuditEntries(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	if q.Limit <= 0 {
		return nil, errors.New("pgstore: AuditEntries: Limit must be positive")
	}
	rows, err := s.pool.Query(ctx, `SELECT `+sqlrow.AuditColumns+` FROM audit
		WHERE org_id = $1 AND ($2 = '' OR blast_id = $2) AND seq > $3 ORDER BY seq LIMIT $4`, q.OrgID, q.BlastID, q.AfterSeq, q.Limit)
	if err != nil {
		return nil, wrap("audit entries", err)
	}
	defer rows.Close()
	out, err := sqlrow.CollectAudit(rows)
	return out, wrap("audit entries", err)
}
