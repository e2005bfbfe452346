package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/store/internal/sqlrow"
)

var _ cohort.Store = (*Store)(nil)

func cohortNotFound(id string) error {
	return fmt.Errorf("sqlitestore: cohort %q: %w", id, cohort.ErrNotFound)
}

// SaveCohort implements cohort.Store: saved cohorts live in the same file
// as the ledger. New cohorts get a time-ordered UUIDv7.
func (s *Store) SaveCohort(ctx context.Context, c cohort.Cohort) (cohort.Cohort, error) {
	if err := sqlrow.PrepareCohort(&c, s.cfg.CohortSchema); err != nil {
		return cohort.Cohort{}, err
	}
	doc, err := sqlrow.CohortDoc(c)
	if err != nil {
		return cohort.Cohort{}, fmt.Errorf("sqlitestore: %w", err)
	}
	now := sqlrow.NS(s.cfg.Now())
	var created int64
	err = s.c.write(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO cohorts (org_id, id, name, doc, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)
			ON CONFLICT (org_id, id) DO UPDATE SET name = excluded.name, doc = excluded.doc, updated_at = excluded.updated_at
			RETURNING created_at`, c.OrgID, c.ID, c.Name, doc, now).Scan(&created)
	})
	if err != nil {
		return cohort.Cohort{}, wrap("save cohort", err)
	}
	out, err := sqlrow.DecodeCohort(doc, created, now)
	return out, wrap("save cohort", err)
}

// Cohort implements cohort.Store.
func (s *Store) Cohort(ctx context.Context, orgID, id string) (cohort.Cohort, error) {
	var (
		doc              []byte
		created, updated int64
	)
	err := s.c.r.QueryRowContext(ctx, `SELECT doc, created_at, updated_at FROM cohorts WHERE org_id = ? AND id = ?`, orgID, id).
		Scan(&doc, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return cohort.Cohort{}, cohortNotFound(id)
	}
	if err != nil {
		return cohort.Cohort{}, wrap("cohort", err)
	}
	c, err := sqlrow.DecodeCohort(doc, created, updated)
	return c, wrap("cohort", err)
}

// Cohorts implements cohort.Store.
func (s *Store) Cohorts(ctx context.Context, orgID string) ([]cohort.Cohort, error) {
	rows, err := s.c.r.QueryContext(ctx, `SELECT doc, created_at, updated_at FROM cohorts WHERE org_id = ? ORDER BY name, id`, orgID)
	if err != nil {
		return nil, wrap("cohorts", err)
	}
	defer rows.Close()
	out := []cohort.Cohort{}
	for rows.Next() {
		var (
			doc              []byte
			created, updated int64
		)
		if err := rows.Scan(&doc, &created, &updated); err != nil {
			return nil, wrap("cohorts", err)
		}
		c, err := sqlrow.DecodeCohort(doc, created, updated)
		if err != nil {
			return nil, wrap("cohorts", err)
		}
		out = append(out, c)
	}
	return out, wrap("cohorts", rows.Err())
}

// DeleteCohort implements cohort.Store.
func (s *Store) DeleteCohort(ctx context.Context, orgID, id string) error {
	n, err := s.execCount(ctx, "delete cohort", `DELETE FROM cohorts WHERE org_id = ? AND id = ?`, orgID, id)
	if err == nil && n == 0 {
		return cohortNotFound(id)
	}
	return err
}
