package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/store"
	"github.com/carecast/carecast/store/internal/sqlrow"
)

// Store is a store.Store in one SQLite database file. It is safe for
// concurrent use by many goroutines; see the package documentation for
// several processes.
type Store struct {
	c   *conns
	cfg Config
	hot hotStmts
}

// hotStmts are the statements of the send path, prepared once on the
// writer connection (parsing a 100-row VALUES list costs more than running
// it).
type hotStmts struct {
	insert, outcome, claim *sql.Stmt
}

const claimSQL = `UPDATE rows SET status = 'sending', lease_owner = ?, lease_until = ?, updated_at = ?
	WHERE id IN (SELECT id FROM rows WHERE blast_seq = ? AND status = 'queued' AND next_attempt_at <= ?
		ORDER BY next_attempt_at, id LIMIT ?)
	RETURNING `

func (h *hotStmts) prepare(ctx context.Context, db *sql.DB) error {
	var err error
	if h.insert, err = db.PrepareContext(ctx, insertSQL(insertChunk)); err != nil {
		return err
	}
	if h.outcome, err = db.PrepareContext(ctx, outcomeSQL(outcomeChunk)); err != nil {
		return err
	}
	h.claim, err = db.PrepareContext(ctx, claimSQL+claimReturning)
	return err
}

func (h *hotStmts) close() {
	for _, st := range []*sql.Stmt{h.insert, h.outcome, h.claim} {
		if st != nil {
			_ = st.Close()
		}
	}
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it if needed) the database at path, applies the
// pending embedded migrations and returns the Store. cfg may be nil to
// accept every default; a non-empty path overrides cfg.Path. Close the
// Store when done.
func Open(ctx context.Context, path string, cfg *Config) (*Store, error) {
	c, err := cfg.withDefaults(path)
	if err != nil {
		return nil, err
	}
	cs, err := openConns(ctx, c)
	if err != nil {
		return nil, err
	}
	if _, err := migrate(ctx, cs.w, migrationFS); err != nil {
		_ = cs.close()
		return nil, err
	}
	st := &Store{c: cs, cfg: c}
	if err := st.hot.prepare(ctx, cs.w); err != nil {
		st.hot.close()
		_ = cs.close()
		return nil, fmt.Errorf("sqlitestore: prepare: %w", err)
	}
	cs.start()
	return st, nil
}

// Close stops the writer (answering the writes already queued) and closes
// the database. The Store must not be used afterwards.
func (s *Store) Close() error {
	err := s.c.stop()
	s.hot.close()
	return errors.Join(err, s.c.closeDBs())
}

// SchemaVersion returns the highest migration version applied to the
// database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.c.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: schema version: %w", err)
	}
	return v, nil
}

func notFound(what string) error { return fmt.Errorf("sqlitestore: %s: %w", what, store.ErrNotFound) }

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("sqlitestore: %s: %w", op, err)
}

const blastCols = `id, org_id, name, channel, purpose, cohort_ids, status, content, duplicated_from,
	created_by, ledger_done, created_at, updated_at, scheduled_at, started_at, completed_at, cancelled_at, version`

// headerCols are blastCols with the content left out (read as NULL):
// lists and status reads never load a blast's attachments.
const headerCols = `id, org_id, name, channel, purpose, cohort_ids, status, NULL, duplicated_from,
	created_by, ledger_done, created_at, updated_at, scheduled_at, started_at, completed_at, cancelled_at, version`

type scanner interface{ Scan(dest ...any) error }

func scanBlast(sc scanner) (store.Blast, error) {
	var (
		b                                  store.Blast
		cohorts                            string
		created, updated, sched, started   int64
		completed, cancelled, ledgerDone64 int64
		channel, purpose, status           string
	)
	err := sc.Scan(&b.ID, &b.OrgID, &b.Name, &channel, &purpose, &cohorts, &status, &b.Content,
		&b.DuplicatedFrom, &b.CreatedBy, &ledgerDone64, &created, &updated, &sched, &started, &completed, &cancelled, &b.Version)
	if err != nil {
		return b, err
	}
	b.Channel, b.Purpose, b.Status = carecast.Channel(channel), carecast.Purpose(purpose), store.BlastStatus(status)
	if err := json.Unmarshal([]byte(cohorts), &b.CohortIDs); err != nil {
		return b, fmt.Errorf("cohort_ids: %w", err)
	}
	b.LedgerDone = ledgerDone64 != 0
	b.CreatedAt, b.UpdatedAt, b.ScheduledAt, b.StartedAt = sqlrow.Time(created), sqlrow.Time(updated), sqlrow.Time(sched), sqlrow.Time(started)
	b.CompletedAt, b.CancelledAt = sqlrow.Time(completed), sqlrow.Time(cancelled)
	return b, nil
}

func cohortJSON(ids []string) string {
	if ids == nil {
		ids = []string{}
	}
	b, _ := json.Marshal(ids) // []string always marshals
	return string(b)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// CreateBlast implements store.BlastStore.
func (s *Store) CreateBlast(ctx context.Context, b store.Blast) (store.Blast, error) {
	if b.ID == "" || b.OrgID == "" {
		return store.Blast{}, errors.New("sqlitestore: CreateBlast: ID and OrgID are required")
	}
	b.Version = 1
	err := s.c.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO blasts (`+blastCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			b.ID, b.OrgID, b.Name, string(b.Channel), string(b.Purpose), cohortJSON(b.CohortIDs), string(b.Status), b.Content,
			b.DuplicatedFrom, b.CreatedBy, boolInt(b.LedgerDone), sqlrow.NS(b.CreatedAt), sqlrow.NS(b.UpdatedAt), sqlrow.NS(b.ScheduledAt),
			sqlrow.NS(b.StartedAt), sqlrow.NS(b.CompletedAt), sqlrow.NS(b.CancelledAt), b.Version)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("sqlitestore: blast %s exists: %w", b.ID, store.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return store.Blast{}, wrap("create blast", err)
	}
	return s.Blast(ctx, b.OrgID, b.ID)
}

// Blast implements store.BlastStore.
func (s *Store) Blast(ctx context.Context, orgID, id string) (store.Blast, error) {
	b, err := scanBlast(s.c.r.QueryRowContext(ctx, `SELECT `+blastCols+` FROM blasts WHERE id = ? AND org_id = ?`, id, orgID))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Blast{}, notFound("blast " + id)
	}
	return b, wrap("blast", err)
}

// UpdateBlast implements store.BlastStore.
func (s *Store) UpdateBlast(ctx context.Context, b store.Blast) (store.Blast, error) {
	err := s.c.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE blasts SET name = ?, channel = ?, purpose = ?, cohort_ids = ?, status = ?,
			content = ?, duplicated_from = ?, created_by = ?, ledger_done = ?, updated_at = ?, scheduled_at = ?,
			started_at = ?, completed_at = ?, cancelled_at = ?, version = version + 1
			WHERE id = ? AND org_id = ? AND version = ?`,
			b.Name, string(b.Channel), string(b.Purpose), cohortJSON(b.CohortIDs), string(b.Status), b.Content,
			b.DuplicatedFrom, b.CreatedBy, boolInt(b.LedgerDone), sqlrow.NS(b.UpdatedAt), sqlrow.NS(b.ScheduledAt), sqlrow.NS(b.StartedAt),
			sqlrow.NS(b.CompletedAt), sqlrow.NS(b.CancelledAt), b.ID, b.OrgID, b.Version)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var v int64
		err = tx.QueryRowContext(ctx, `SELECT version FROM blasts WHERE id = ? AND org_id = ?`, b.ID, b.OrgID).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("blast " + b.ID)
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("sqlitestore: blast %s version %d, stored %d: %w", b.ID, b.Version, v, store.ErrConflict)
	})
	if err != nil {
		return store.Blast{}, wrap("update blast", err)
	}
	return s.Blast(ctx, b.OrgID, b.ID)
}

// ListBlasts implements store.BlastStore.
func (s *Store) ListBlasts(ctx context.Context, p store.ListBlastsParams) ([]store.Blast, error) {
	if p.Limit <= 0 {
		return nil, errors.New("sqlitestore: ListBlasts: Limit must be positive")
	}
	q := strings.Builder{}
	q.WriteString(`SELECT ` + headerCols + ` FROM blasts WHERE org_id = ?`)
	args := []any{p.OrgID}
	if len(p.Statuses) > 0 {
		q.WriteString(` AND status IN (` + placeholders(len(p.Statuses)) + `)`)
		for _, st := range p.Statuses {
			args = append(args, string(st))
		}
	}
	if p.Before.ID != "" {
		c := sqlrow.NS(p.Before.CreatedAt)
		q.WriteString(` AND (created_at < ? OR (created_at = ? AND id < ?))`)
		args = append(args, c, c, p.Before.ID)
	}
	q.WriteString(` ORDER BY created_at DESC, id DESC LIMIT ?`)
	args = append(args, p.Limit)
	return s.queryBlasts(ctx, "list blasts", q.String(), args...)
}

func (s *Store) queryBlasts(ctx context.Context, op, q string, args ...any) ([]store.Blast, error) {
	rows, err := s.c.r.QueryContext(ctx, q, args...)
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
		WHERE status IN ('sending', 'scheduled') AND (status = 'sending' OR scheduled_at <= ?)`, sqlrow.NS(now))
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// blastKey returns the compact key and channel of blast id in orgID.
func blastKey(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, orgID, id string) (int64, carecast.Channel, error) {
	var seq int64
	var ch string
	err := q.QueryRowContext(ctx, `SELECT seq, channel FROM blasts WHERE id = ? AND org_id = ?`, id, orgID).Scan(&seq, &ch)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", notFound("blast " + id)
	}
	return seq, carecast.Channel(ch), err
}

// insertChunk is the number of rows per multi-row INSERT statement.
const insertChunk = 100

// InsertRows implements store.LedgerStore.
func (s *Store) InsertRows(ctx context.Context, orgID, blastID string, rows []store.NewRow, at time.Time) (int, error) {
	for i := range rows {
		if st := rows[i].Status; st != store.RowQueued && st != store.RowSkipped {
			return 0, fmt.Errorf("sqlitestore: InsertRows: row %d has status %q, want queued or skipped", i, st)
		}
	}
	n := 0
	err := s.c.write(ctx, func(tx *sql.Tx) error {
		n = 0
		seq, _, err := blastKey(ctx, tx, orgID, blastID)
		if err != nil {
			return err
		}
		atN := sqlrow.NS(at)
		full := tx.StmtContext(ctx, s.hot.insert)
		args := make([]any, 0, insertChunk*8)
		for start := 0; start < len(rows); start += insertChunk {
			chunk := rows[start:min(start+insertChunk, len(rows))]
			args = args[:0]
			for i := range chunk {
				r := &chunk[i]
				next := sqlrow.NS(r.NextAttemptAt)
				if next == 0 {
					next = atN
				}
				args = append(args, seq, r.PatientID, string(r.Status), r.Reason, r.Address, next, atN, atN)
			}
			var res sql.Result
			if len(chunk) == insertChunk {
				res, err = full.ExecContext(ctx, args...)
			} else {
				res, err = tx.ExecContext(ctx, insertSQL(len(chunk)), args...)
			}
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		return nil
	})
	return n, wrap("insert rows", err)
}

// insertSQL returns a multi-row INSERT of n rows with plain "?"
// placeholders (numbered ones cost a linear name lookup per bind).
func insertSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO rows (blast_seq, patient_id, status, reason, address, next_attempt_at, created_at, updated_at) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`(?,?,?,?,?,?,?,?)`)
	}
	b.WriteString(` ON CONFLICT (blast_seq, patient_id) DO NOTHING`)
	return b.String()
}

// ExistingPatients implements store.LedgerStore.
func (s *Store) ExistingPatients(ctx context.Context, orgID, blastID string, patientIDs []string) ([]string, error) {
	seq, _, err := blastKey(ctx, s.c.r, orgID, blastID)
	if err != nil {
		return nil, wrap("existing patients", err)
	}
	found := make(map[string]bool)
	for start := 0; start < len(patientIDs); start += 500 {
		chunk := patientIDs[start:min(start+500, len(patientIDs))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, seq)
		for _, p := range chunk {
			args = append(args, p)
		}
		rows, err := s.c.r.QueryContext(ctx, `SELECT patient_id FROM rows WHERE blast_seq = ? AND patient_id IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, wrap("existing patients", err)
		}
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				rows.Close()
				return nil, wrap("existing patients", err)
			}
			found[p] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, wrap("existing patients", err)
		}
	}
	var out []string
	for _, p := range patientIDs {
		if found[p] {
			out = append(out, p)
		}
	}
	return out, nil
}

func collectRows(rows *sql.Rows) ([]store.Row, error) {
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

// ClaimRows implements store.LedgerStore.
func (s *Store) ClaimRows(ctx context.Context, p store.ClaimParams) ([]store.Row, error) {
	if p.Limit <= 0 {
		return nil, errors.New("sqlitestore: ClaimRows: Limit must be positive")
	}
	var out []store.Row
	err := s.c.write(ctx, func(tx *sql.Tx) error {
		out = nil
		seq, ch, err := blastKey(ctx, tx, p.OrgID, p.BlastID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		now := sqlrow.NS(p.Now)
		rows, err := tx.StmtContext(ctx, s.hot.claim).QueryContext(ctx, p.Owner, sqlrow.NS(p.LeaseUntil), now, seq, now, p.Limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanClaimed(rows)
			if err != nil {
				return err
			}
			r.OrgID, r.BlastID, r.Channel = p.OrgID, p.BlastID, ch
			r.Status, r.LeaseOwner, r.LeaseUntil, r.UpdatedAt = store.RowSending, p.Owner, p.LeaseUntil, p.Now
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, wrap("claim rows", err)
	}
	if out == nil {
		out = []store.Row{}
	}
	slices.SortFunc(out, func(a, b store.Row) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// claimReturning returns a claimed row's columns. The claim sets status,
// lease and updated_at, and the blast's columns are known, so they are not
// returned; the columns that are zero on a row never attempted (the vast
// majority of claims) travel as one JSON array only when one of them is
// not, which saves most of the cost of moving 27 columns into Go.
const claimReturning = `id, patient_id, address, attempts, next_attempt_at, created_at,
	CASE WHEN reason = '' AND error_code = '' AND provider_message_id IS NULL AND segments = 0 AND cost = 0
		AND sent_at = 0 AND delivered_at = 0 AND failed_at = 0 AND opens = 0 AND clicks = 0 AND replies = 0
		AND first_open_at = 0 AND first_click_at = 0 AND last_reply_at = 0 AND machine_opens = 0 AND machine_clicks = 0 THEN NULL
	ELSE json_array(reason, error_code, COALESCE(provider_message_id, ''), segments, cost, sent_at, delivered_at,
		failed_at, opens, clicks, replies, first_open_at, first_click_at, last_reply_at, machine_opens, machine_clicks) END`

// coldColumns is the JSON array of claimReturning.
type coldColumns struct {
	Reason, ErrorCode, PMID          string
	Segments                         int
	Cost, Sent, Delivered, Failed    int64
	Opens, Clicks, Replies           int
	FirstOpen, FirstClick, LastReply int64
	MachineOpens, MachineClicks      int
}

func (c *coldColumns) UnmarshalJSON(b []byte) error {
	return json.Unmarshal(b, &[]any{&c.Reason, &c.ErrorCode, &c.PMID, &c.Segments, &c.Cost, &c.Sent, &c.Delivered,
		&c.Failed, &c.Opens, &c.Clicks, &c.Replies, &c.FirstOpen, &c.FirstClick, &c.LastReply, &c.MachineOpens, &c.MachineClicks})
}

func scanClaimed(rows *sql.Rows) (store.Row, error) {
	var (
		r             store.Row
		next, created int64
		cold          sql.NullString
	)
	if err := rows.Scan(&r.ID, &r.PatientID, &r.Address, &r.Attempts, &next, &created, &cold); err != nil {
		return r, err
	}
	r.NextAttemptAt, r.CreatedAt = sqlrow.Time(next), sqlrow.Time(created)
	if cold.Valid {
		var c coldColumns
		if err := json.Unmarshal([]byte(cold.String), &c); err != nil {
			return r, fmt.Errorf("claimed row %d: %w", r.ID, err)
		}
		r.Reason, r.ErrorCode, r.ProviderMessageID, r.Segments, r.Cost = c.Reason, c.ErrorCode, c.PMID, c.Segments, carecast.Money(c.Cost)
		r.SentAt, r.DeliveredAt, r.FailedAt = sqlrow.Time(c.Sent), sqlrow.Time(c.Delivered), sqlrow.Time(c.Failed)
		r.Opens, r.Clicks, r.Replies = c.Opens, c.Clicks, c.Replies
		r.FirstOpenAt, r.FirstClickAt, r.LastReplyAt = sqlrow.Time(c.FirstOpen), sqlrow.Time(c.FirstClick), sqlrow.Time(c.LastReply)
		r.MachineOpens, r.MachineClicks = c.MachineOpens, c.MachineClicks
	}
	return r, nil
}

// outcomeChunk is the number of outcomes applied per UPDATE statement.
const outcomeChunk = 100

// outcomeSQL returns an UPDATE … FROM (VALUES …) applying n outcomes
// when the lease rules allow it (see store.LedgerStore.RecordOutcomes).
// One statement per chunk saves SQLite's per-statement setup and
// teardown; plain "?" placeholders avoid modernc's name lookup per bind.
func outcomeSQL(n int) string {
	var b strings.Builder
	b.WriteString(`WITH o (id, owner, status, reason, code, at, addr, attempted, pmid, money, segments, cost, next) AS (VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`(?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	}
	b.WriteString(`)
	UPDATE rows SET
		status = o.status, reason = o.reason, error_code = o.code, updated_at = o.at,
		address = CASE WHEN o.addr <> '' THEN o.addr ELSE rows.address END,
		attempts = rows.attempts + o.attempted,
		provider_message_id = CASE WHEN o.pmid <> '' THEN o.pmid ELSE rows.provider_message_id END,
		segments = CASE WHEN o.money THEN o.segments ELSE rows.segments END,
		cost = CASE WHEN o.money THEN o.cost ELSE rows.cost END,
		sent_at = CASE WHEN o.status = 'sent' THEN o.at ELSE rows.sent_at END,
		failed_at = CASE WHEN o.status = 'failed' THEN o.at ELSE rows.failed_at END,
		next_attempt_at = CASE WHEN o.status = 'queued' THEN o.next ELSE rows.next_attempt_at END,
		lease_owner = '', lease_until = 0
	FROM o
	WHERE rows.id = o.id AND rows.lease_owner = o.owner AND (
		(rows.status = 'sending' AND o.status IN ('queued', 'sent', 'failed', 'in_doubt', 'skipped', 'opted_out'))
		OR (rows.status = 'in_doubt' AND o.status IN ('sent', 'failed', 'skipped', 'opted_out')))`)
	return b.String()
}

func appendOutcome(args []any, o *store.Outcome) []any {
	at := sqlrow.NS(o.At)
	next := sqlrow.NS(o.NextAttemptAt)
	if next == 0 {
		next = at
	}
	return append(args, o.RowID, o.Owner, string(o.Status), o.Reason, o.ErrorCode, at, o.Address,
		boolInt(o.Attempted), o.ProviderMessageID, boolInt(o.Segments != 0 || o.Cost != 0), o.Segments, int64(o.Cost), next)
}

// RecordOutcomes implements store.LedgerStore.
func (s *Store) RecordOutcomes(ctx context.Context, outcomes []store.Outcome) (int, error) {
	// One outcome per row: a repeated row would find its lease already
	// cleared by the first anyway.
	todo := make([]*store.Outcome, 0, len(outcomes))
	seen := make(map[int64]bool, len(outcomes))
	for i := range outcomes {
		o := &outcomes[i]
		if o.Owner == "" || seen[o.RowID] {
			continue // rows never claimed have an empty owner
		}
		seen[o.RowID] = true
		todo = append(todo, o)
	}
	if len(todo) == 0 {
		return 0, nil
	}
	n := 0
	err := s.c.write(ctx, func(tx *sql.Tx) error {
		n = 0
		full := tx.StmtContext(ctx, s.hot.outcome)
		args := make([]any, 0, outcomeChunk*13)
		for start := 0; start < len(todo); start += outcomeChunk {
			chunk := todo[start:min(start+outcomeChunk, len(todo))]
			args = args[:0]
			for _, o := range chunk {
				args = appendOutcome(args, o)
			}
			var (
				res sql.Result
				err error
			)
			if len(chunk) == outcomeChunk {
				res, err = full.ExecContext(ctx, args...)
			} else {
				res, err = tx.ExecContext(ctx, outcomeSQL(len(chunk)), args...)
			}
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		return nil
	})
	return n, wrap("record outcomes", err)
}

// ExpireLeases implements store.LedgerStore.
func (s *Store) ExpireLeases(ctx context.Context, now time.Time) (int, error) {
	return s.execCount(ctx, "expire leases", `UPDATE rows SET status = 'in_doubt', reason = 'lease_expired', updated_at = ?1
		WHERE status = 'sending' AND lease_until < ?1`, sqlrow.NS(now))
}

func (s *Store) execCount(ctx context.Context, op, q string, args ...any) (int, error) {
	n := 0
	err := s.c.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		k, _ := res.RowsAffected()
		n = int(k)
		return nil
	})
	return n, wrap(op, err)
}

// blastExec runs q with the blast's key as its first argument, or
// returns ErrNotFound for a missing blast.
func (s *Store) blastExec(ctx context.Context, op, orgID, blastID, q string, args ...any) (int, error) {
	n := 0
	err := s.c.write(ctx, func(tx *sql.Tx) error {
		seq, _, err := blastKey(ctx, tx, orgID, blastID)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, q, append([]any{seq}, args...)...)
		if err != nil {
			return err
		}
		k, _ := res.RowsAffected()
		n = int(k)
		return nil
	})
	return n, wrap(op, err)
}

// CancelQueued implements store.LedgerStore.
func (s *Store) CancelQueued(ctx context.Context, orgID, blastID string, at time.Time) (int, error) {
	return s.blastExec(ctx, "cancel queued", orgID, blastID,
		`UPDATE rows SET status = 'cancelled', updated_at = ?2 WHERE blast_seq = ?1 AND status = 'queued'`, sqlrow.NS(at))
}

// RequeueFailed implements store.LedgerStore.
func (s *Store) RequeueFailed(ctx context.Context, orgID, blastID string, includeInDoubt bool, at time.Time) (int, error) {
	return s.blastExec(ctx, "requeue failed", orgID, blastID,
		`UPDATE rows SET status = 'queued', reason = '', error_code = '', attempts = 0, lease_owner = '', lease_until = 0,
			next_attempt_at = ?2, updated_at = ?2
		WHERE blast_seq = ?1 AND (status = 'failed' OR (?3 AND status = 'in_doubt'))`, sqlrow.NS(at), boolInt(includeInDoubt))
}

func (s *Store) oneRow(ctx context.Context, op, what, where string, args ...any) (store.Row, error) {
	r, err := sqlrow.ScanRow(s.c.r.QueryRowContext(ctx, `SELECT `+sqlrow.RowColumns+` FROM rows r JOIN blasts b ON b.seq = r.blast_seq WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Row{}, notFound(what)
	}
	return r, wrap(op, err)
}

// Row implements store.LedgerStore.
func (s *Store) Row(ctx context.Context, orgID string, id int64) (store.Row, error) {
	return s.oneRow(ctx, "row", "row", `r.id = ? AND b.org_id = ?`, id, orgID)
}

// RowByProviderMessageID implements store.LedgerStore.
func (s *Store) RowByProviderMessageID(ctx context.Context, id string) (store.Row, error) {
	if id == "" {
		return store.Row{}, notFound("provider message")
	}
	return s.oneRow(ctx, "row by provider message", "provider message", `r.provider_message_id = ? ORDER BY r.id DESC LIMIT 1`, id)
}

// LatestSentTo implements store.LedgerStore.
func (s *Store) LatestSentTo(ctx context.Context, orgID string, ch carecast.Channel, address string, since time.Time) (store.Row, error) {
	return s.oneRow(ctx, "latest sent", "sent message", `r.address = ? AND r.sent_at <> 0 AND r.sent_at >= ?
		AND b.org_id = ? AND b.channel = ? ORDER BY r.sent_at DESC, r.id DESC LIMIT 1`, address, sqlrow.NS(since), orgID, string(ch))
}

// filterSQL returns the WHERE terms for f.
func filterSQL(f *store.RowFilter, args []any) (string, []any) {
	var b strings.Builder
	if len(f.Any) > 0 {
		b.WriteString(` AND (`)
		for i, m := range f.Any {
			if i > 0 {
				b.WriteString(` OR `)
			}
			if m.Reason == "" {
				b.WriteString(`r.status = ?`)
				args = append(args, string(m.Status))
			} else {
				b.WriteString(`(r.status = ? AND r.reason = ?)`)
				args = append(args, string(m.Status), m.Reason)
			}
		}
		b.WriteString(`)`)
	}
	if f.Opened {
		b.WriteString(` AND r.opens > 0`)
	}
	if f.Clicked {
		b.WriteString(` AND r.clicks > 0`)
	}
	if f.Replied {
		b.WriteString(` AND r.replies > 0`)
	}
	return b.String(), args
}

// ListRows implements store.LedgerStore.
func (s *Store) ListRows(ctx context.Context, p store.ListRowsParams) ([]store.Row, error) {
	if p.Limit <= 0 {
		return nil, errors.New("sqlitestore: ListRows: Limit must be positive")
	}
	seq, _, err := blastKey(ctx, s.c.r, p.OrgID, p.BlastID)
	if err != nil {
		return nil, wrap("list rows", err)
	}
	where, args := filterSQL(&p.Filter, []any{seq, p.AfterID})
	rows, err := s.c.r.QueryContext(ctx, `SELECT `+sqlrow.RowColumns+` FROM rows r INDEXED BY rows_blast JOIN blasts b ON b.seq = r.blast_seq
		WHERE r.blast_seq = ? AND r.id > ?`+where+` ORDER BY r.id LIMIT ?`, append(args, p.Limit)...)
	if err != nil {
		return nil, wrap("list rows", err)
	}
	out, err := collectRows(rows)
	return out, wrap("list rows", err)
}

// Stats implements store.LedgerStore in one pass over the blast's rows
// without a sort (SQLite's GROUP BY sorts every row, which on a
// million-row blast costs tens of MB), plus a grouped count of the skipped
// and failed rows' reasons.
func (s *Store) Stats(ctx context.Context, orgID, blastID string) (store.Stats, error) {
	seq, _, err := blastKey(ctx, s.c.r, orgID, blastID)
	if err != nil {
		return store.Stats{}, wrap("stats", err)
	}
	st := sqlrow.NewStats()
	counts := make([]int64, len(store.AllRowStatuses))
	dest := make([]any, 0, len(counts)+7)
	for i := range counts {
		dest = append(dest, &counts[i])
	}
	var opened, clicked, replied, mOpened, mClicked, segments, cost, first, last int64
	dest = append(dest, &opened, &clicked, &replied, &mOpened, &mClicked, &segments, &cost, &first, &last)
	err = s.c.r.QueryRowContext(ctx, statsSQL, seq).Scan(dest...)
	if err != nil {
		return store.Stats{}, wrap("stats", err)
	}
	for i, status := range store.AllRowStatuses {
		if counts[i] > 0 {
			st.ByStatus[status] = int(counts[i])
		}
	}
	st.Opened, st.Clicked, st.Replied = int(opened), int(clicked), int(replied)
	st.MachineOpened, st.MachineClicked = int(mOpened), int(mClicked)
	st.Segments, st.Cost = segments, carecast.Money(cost)
	st.FirstSentAt, st.LastSentAt = sqlrow.Time(first), sqlrow.Time(last)
	if st.ByStatus[store.RowSkipped]+st.ByStatus[store.RowFailed] == 0 {
		return st, nil
	}
	rows, err := s.c.r.QueryContext(ctx, `SELECT status, reason, COUNT(*) FROM rows INDEXED BY rows_blast
		WHERE blast_seq = ? AND status IN ('skipped', 'failed') GROUP BY status, reason`, seq)
	if err != nil {
		return store.Stats{}, wrap("stats", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			status, reason string
			n              int
		)
		if err := rows.Scan(&status, &reason, &n); err != nil {
			return store.Stats{}, wrap("stats", err)
		}
		if store.RowStatus(status) == store.RowSkipped {
			st.SkippedBy[reason] += n
		} else {
			st.FailedBy[reason] += n
		}
	}
	return st, wrap("stats", rows.Err())
}

// statsSQL counts every status and sums the engagement and spend of one
// blast's rows in a single pass.
var statsSQL = func() string {
	var b strings.Builder
	b.WriteString("SELECT ")
	for _, st := range store.AllRowStatuses {
		fmt.Fprintf(&b, "COALESCE(SUM(status = '%s'), 0), ", st)
	}
	b.WriteString(`COALESCE(SUM(opens > 0), 0), COALESCE(SUM(clicks > 0), 0), COALESCE(SUM(replies > 0), 0),
		COALESCE(SUM(machine_opens > 0), 0), COALESCE(SUM(machine_clicks > 0), 0),
		COALESCE(SUM(segments), 0), COALESCE(SUM(cost), 0), COALESCE(MIN(NULLIF(sent_at, 0)), 0), COALESCE(MAX(sent_at), 0)
		FROM rows INDEXED BY rows_blast WHERE blast_seq = ?`)
	return b.String()
}()

// Engagement implements store.LedgerStore.
func (s *Store) Engagement(ctx context.Context, p store.EngagementParams) (store.Engagement, error) {
	if p.Buckets < 0 || p.Step <= 0 {
		return store.Engagement{}, errors.New("sqlitestore: Engagement: Step must be positive and Buckets non-negative")
	}
	seq, _, err := blastKey(ctx, s.c.r, p.OrgID, p.BlastID)
	if err != nil {
		return store.Engagement{}, wrap("engagement", err)
	}
	e := store.Engagement{Opens: make([]int, p.Buckets), Clicks: make([]int, p.Buckets)}
	start, step := sqlrow.NS(p.Start), int64(p.Step)
	for _, h := range []struct {
		col string
		dst []int
	}{{"first_open_at", e.Opens}, {"first_click_at", e.Clicks}} {
		rows, err := s.c.r.QueryContext(ctx, `SELECT CASE WHEN `+h.col+` < ?1 THEN 0 ELSE (`+h.col+` - ?1) / ?2 END AS k, COUNT(*)
			FROM rows INDEXED BY rows_blast WHERE blast_seq = ?3 AND `+h.col+` <> 0 GROUP BY k`, start, step, seq)
		if err != nil {
			return store.Engagement{}, wrap("engagement", err)
		}
		for rows.Next() {
			var k, n int64
			if err := rows.Scan(&k, &n); err != nil {
				rows.Close()
				return store.Engagement{}, wrap("engagement", err)
			}
			if k >= 0 && k < int64(p.Buckets) {
				h.dst[k] += int(n)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return store.Engagement{}, wrap("engagement", err)
		}
	}
	return e, nil
}

// Analytics implements store.LedgerStore.
func (s *Store) Analytics(ctx context.Context, p store.AnalyticsParams) ([]store.AnalyticsBucket, error) {
	if p.Bucket <= 0 {
		return nil, errors.New("sqlitestore: Analytics: Bucket must be positive")
	}
	from := p.From.UnixNano()
	rows, err := s.c.r.QueryContext(ctx, `SELECT (r.sent_at - ?1) / ?2 AS k, b.channel, COUNT(*), SUM(r.status = 'delivered'),
		SUM(r.opens > 0), SUM(r.clicks > 0), SUM(r.replies > 0), SUM(r.cost), COUNT(DISTINCT r.blast_seq)
		FROM blasts b JOIN rows r INDEXED BY rows_blast ON r.blast_seq = b.seq
		WHERE b.org_id = ?3 AND r.sent_at <> 0 AND r.sent_at >= ?1 AND r.sent_at < ?4
		GROUP BY k, b.channel ORDER BY k, b.channel`, from, int64(p.Bucket), p.OrgID, p.To.UnixNano())
	if err != nil {
		return nil, wrap("analytics", err)
	}
	defer rows.Close()
	out := []store.AnalyticsBucket{}
	for rows.Next() {
		var (
			k, cost int64
			ch      string
			a       store.AnalyticsBucket
		)
		if err := rows.Scan(&k, &ch, &a.Sent, &a.Delivered, &a.Opened, &a.Clicked, &a.Replied, &cost, &a.Blasts); err != nil {
			return nil, wrap("analytics", err)
		}
		a.Start = p.From.Add(time.Duration(k) * p.Bucket)
		a.Channel, a.Cost = carecast.Channel(ch), carecast.Money(cost)
		out = append(out, a)
	}
	return out, wrap("analytics", rows.Err())
}

// eventSQL maps an event kind to the update it makes (parameters: ?1 at,
// ?2 reason, ?3 error code, ?4 row ID).
var eventSQL = map[store.EventKind]string{
	store.EventDelivered: `UPDATE rows SET status = 'delivered', reason = '', delivered_at = ?1, updated_at = ?1,
		sent_at = CASE WHEN sent_at = 0 THEN ?1 ELSE sent_at END WHERE id = ?4 AND status IN ('sent', 'in_doubt')`,
	store.EventSent: `UPDATE rows SET status = 'sent', reason = '', sent_at = ?1, updated_at = ?1
		WHERE id = ?4 AND status = 'in_doubt'`,
	store.EventFailed: `UPDATE rows SET status = 'failed', reason = ?2, error_code = ?3, failed_at = ?1, updated_at = ?1
		WHERE id = ?4 AND status IN ('sent', 'delivered', 'in_doubt')`,
	store.EventOpen: `UPDATE rows SET opens = opens + 1, updated_at = ?1,
		first_open_at = CASE WHEN first_open_at = 0 OR ?1 < first_open_at THEN ?1 ELSE first_open_at END WHERE id = ?4`,
	store.EventClick: `UPDATE rows SET clicks = clicks + 1, updated_at = ?1,
		first_click_at = CASE WHEN first_click_at = 0 OR ?1 < first_click_at THEN ?1 ELSE first_click_at END WHERE id = ?4`,
	store.EventReply: `UPDATE rows SET replies = replies + 1, updated_at = ?1,
		last_reply_at = MAX(last_reply_at, ?1) WHERE id = ?4`,
	store.EventMachineOpen:  `UPDATE rows SET machine_opens = machine_opens + 1, updated_at = ?1 WHERE id = ?4`,
	store.EventMachineClick: `UPDATE rows SET machine_clicks = machine_clicks + 1, updated_at = ?1 WHERE id = ?4`,
}

// ApplyEvent implements store.EventStore.
func (s *Store) ApplyEvent(ctx context.Context, p store.EventParams) (bool, error) {
	if p.EventID == "" {
		return false, errors.New("sqlitestore: ApplyEvent: EventID is required")
	}
	applied := false
	err := s.c.write(ctx, func(tx *sql.Tx) error {
		applied = false
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM rows r JOIN blasts b ON b.seq = r.blast_seq WHERE r.id = ? AND b.org_id = ?`,
			p.RowID, p.OrgID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("row")
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO events (id, at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, p.EventID, sqlrow.NS(p.At))
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return nil
		}
		q, ok := eventSQL[p.Kind]
		if !ok {
			return nil
		}
		if p.ProviderMessageID != "" && (p.Kind == store.EventSent || p.Kind == store.EventDelivered || p.Kind == store.EventFailed) {
			// Learned for a row whose send answer was lost: recorded
			// before the status moves (the update needs in_doubt).
			if _, err := tx.ExecContext(ctx, `UPDATE rows SET provider_message_id = ? WHERE id = ? AND status = 'in_doubt' AND provider_message_id IS NULL`,
				p.ProviderMessageID, p.RowID); err != nil {
				return err
			}
		}
		res, err = tx.ExecContext(ctx, q, sqlrow.NS(p.At), p.Reason, p.ErrorCode, p.RowID)
		if err != nil {
			return err
		}
		k, _ := res.RowsAffected()
		applied = k > 0
		return nil
	})
	return applied, wrap("apply event", err)
}

// MarkEvent implements store.EventStore.
func (s *Store) MarkEvent(ctx context.Context, eventID string, at time.Time) (bool, error) {
	if eventID == "" {
		return false, errors.New("sqlitestore: MarkEvent: eventID is required")
	}
	n, err := s.execCount(ctx, "mark event", `INSERT INTO events (id, at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, eventID, sqlrow.NS(at))
	return n > 0, err
}

// Suppress implements store.EventStore.
func (s *Store) Suppress(ctx context.Context, sp store.Suppression) error {
	_, err := s.execCount(ctx, "suppress", `INSERT INTO suppressions (org_id, channel, address, reason, at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (org_id, channel, address) DO UPDATE SET reason = excluded.reason, at = excluded.at`,
		sp.OrgID, string(sp.Channel), sp.Address, sp.Reason, sqlrow.NS(sp.At))
	return err
}

// Unsuppress implements store.EventStore.
func (s *Store) Unsuppress(ctx context.Context, orgID string, ch carecast.Channel, address string, reasons []string) (int, error) {
	if len(reasons) == 0 {
		return 0, nil
	}
	args := []any{orgID, string(ch), address}
	for _, r := range reasons {
		args = append(args, r)
	}
	return s.execCount(ctx, "unsuppress", `DELETE FROM suppressions WHERE org_id = ? AND channel = ? AND address = ?
		AND reason IN (`+placeholders(len(reasons))+`)`, args...)
}

// Suppressed implements store.EventStore.
func (s *Store) Suppressed(ctx context.Context, orgID string, ch carecast.Channel, addresses []string) ([]store.Suppression, error) {
	var out []store.Suppression
	for start := 0; start < len(addresses); start += 500 {
		chunk := addresses[start:min(start+500, len(addresses))]
		args := make([]any, 0, len(chunk)+2)
		args = append(args, orgID, string(ch))
		for _, a := range chunk {
			args = append(args, a)
		}
		rows, err := s.c.r.QueryContext(ctx, `SELECT address, reason, at FROM suppressions
			WHERE org_id = ? AND channel = ? AND address IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, wrap("suppressed", err)
		}
		for rows.Next() {
			sp := store.Suppression{OrgID: orgID, Channel: ch}
			var at int64
			if err := rows.Scan(&sp.Address, &sp.Reason, &at); err != nil {
				rows.Close()
				return nil, wrap("suppressed", err)
			}
			sp.At = sqlrow.Time(at)
			out = append(out, sp)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, wrap("suppressed", err)
		}
	}
	return out, nil
}

var _ store.SentCounter = (*Store)(nil)

// SentCounts implements store.SentCounter with the (address, sent_at)
// index, 500 addresses a query.
func (s *Store) SentCounts(ctx context.Context, orgID string, ch carecast.Channel, pu carecast.Purpose, addresses []string, since time.Time) (map[string]int, error) {
	out := make(map[string]int)
	for start := 0; start < len(addresses); start += 500 {
		chunk := addresses[start:min(start+500, len(addresses))]
		args := []any{sqlrow.NS(since), orgID, string(ch), string(pu)}
		for _, a := range chunk {
			args = append(args, a)
		}
		rows, err := s.c.r.QueryContext(ctx, `SELECT r.address, count(*) FROM rows r JOIN blasts b ON b.seq = r.blast_seq
			WHERE r.sent_at <> 0 AND r.sent_at >= ? AND b.org_id = ? AND b.channel = ? AND b.purpose = ?
			AND r.address IN (`+placeholders(len(chunk))+`) GROUP BY r.address`, args...)
		if err != nil {
			return nil, wrap("sent counts", err)
		}
		err = sqlrow.CollectCounts(rows, out)
		rows.Close()
		if err != nil {
			return nil, wrap("sent counts", err)
		}
	}
	return out, nil
}

var _ store.FailureLog = (*Store)(nil)

// FailureTimes implements store.FailureLog.
func (s *Store) FailureTimes(ctx context.Context, orgID string, ch carecast.Channel, address, reason string, since time.Time) ([]time.Time, error) {
	rows, err := s.c.r.QueryContext(ctx, `SELECT r.failed_at FROM rows r JOIN blasts b ON b.seq = r.blast_seq
		WHERE r.address = ? AND r.status = 'failed' AND r.sent_at <> 0 AND r.reason = ? AND r.failed_at >= ? AND b.org_id = ? AND b.channel = ?
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
	_, err := s.execCount(ctx, "add domain counts", `INSERT INTO domain_days (org_id, domain, day, delivered, complaints) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (org_id, domain, day) DO UPDATE SET delivered = delivered + excluded.delivered, complaints = complaints + excluded.complaints`,
		orgID, domain, store.UnixDay(at), delivered, complaints)
	return err
}

// DomainDays implements store.DomainHealth.
func (s *Store) DomainDays(ctx context.Context, orgID, domain string, from, to time.Time) ([]store.DomainDay, error) {
	rows, err := s.c.r.QueryContext(ctx, `SELECT `+sqlrow.DomainDayColumns+` FROM domain_days
		WHERE org_id = ? AND domain = ? AND day >= ? AND day <= ? ORDER BY day`, orgID, domain, store.UnixDay(from), store.UnixDay(to))
	if err != nil {
		return nil, wrap("domain days", err)
	}
	defer rows.Close()
	out, err := sqlrow.CollectDomainDays(rows)
	return out, wrap("domain days", err)
}

var _ store.AuditLog = (*Store)(nil)

// AppendAudit implements store.AuditLog.
func (s *Store) AppendAudit(ctx context.Context, entries []store.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	err := s.c.write(ctx, func(tx *sql.Tx) error {
		for _, a := range entries {
			if _, err := tx.ExecContext(ctx, `INSERT INTO audit (org_id, at, actor, action, blast_id, patient_id, row_id, detail)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, a.OrgID, sqlrow.NS(a.At), a.Actor, a.Action, a.BlastID, a.PatientID, a.RowID, a.Detail); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("append audit", err)
}

// AuditEntries implements store.AuditLog.
func (s *Store) AuditEntries(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	if q.Limit <= 0 {
		return nil, errors.New("sqlitestore: AuditEntries: Limit must be positive")
	}
	rows, err := s.c.r.QueryContext(ctx, `SELECT `+sqlrow.AuditColumns+` FROM audit
		WHERE org_id = ? AND (? = '' OR blast_id = ?) AND seq > ? ORDER BY seq LIMIT ?`, q.OrgID, q.BlastID, q.BlastID, q.AfterSeq, q.Limit)
	if err != nil {
		return nil, wrap("audit entries", err)
	}
	defer rows.Close()
	out, err := sqlrow.CollectAudit(rows)
	return out, wrap("audit entries", err)
}
