package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/store/internal/sqlrow"
)

var _ cohort.Store = (*Store)(nil)

func cohortNotFound(id string) error {
	return fmt.Errorf("pgstore: cohort %q: %w", id, cohort.ErrNotFound)
}

// SaveCohort implements cohort.Store: saved cohorts live in the same
// schema as the ledger (the doc column is jsonb). New cohorts get a
// time-ordered UUIDv7.
func (s *Store) SaveCohort(ctx context.Context, c cohort.Cohort) (cohort.Cohort, error) {
	if err := sqlrow.PrepareCohort(&c, s.cfg.CohortSchema); err != nil {
		return cohort.Cohort{}, err
	}
	doc, err := sqlrow.CohortDoc(c)
	if err != nil {
		return cohort.Cohort{}, fmt.Errorf("pgstore: %w", err)
	}
	now := sqlrow.NS(s.cfg.Now())
	var created int64
	err = s.pool.QueryRow(ctx, `INSERT INTO cohorts (org_id, id, name, doc, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
		ON CONFLICT (org_id, id) DO UPDATE SET name = excluded.name, doc = excluded.doc, updated_at = excluded.updated_at
		RETURNING created_at`, c.OrgID, c.ID, c.Name, string(doc), now).Scan(&created)
	if err != nil {
		return cohort.Cohort{}, wrap("save cohort", err)
	}
	out, err := sqlrow.DecodeCohort(doc, created, now)
	return out, wrap("save cohort", err)
}

func scanCohort(row pgx.Row) (cohort.Cohort, error) {
	var (
		doc              []byte
		created, updated int64
	)
	if err := row.Scan(&doc, &created, &updated); err != nil {
		return cohort.Cohort{}, err
	}
	return sqlrow.DecodeCohort(doc, created, updated)
}

// Cohort implements cohort.Store.
func (s *Store) Cohort(ctx context.Context, orgID, id string) (cohort.Cohort, error) {
	c, err := scanCohort(s.pool.QueryRow(ctx, `SELECT doc::text, created_at, updated_at FROM cohorts WHERE org_id = $1 AND id = $2`, orgID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return cohort.Cohort{}, cohortNotFound(id)
	}
	return c, wrap("cohort", err)
}

// Cohorts implements cohort.Store.
func (s *Store) Cohorts(ctx context.Context, orgID string) ([]cohort.Cohort, error) {
	rows, err := s.pool.Query(ctx, `SELECT doc::text, created_at, updated_at FROM cohorts WHERE org_id = $1 ORDER BY name, id`, orgID)
	if err != nil {
		return nil, wrap("cohorts", err)
	}
	defer rows.Close()
	out := []cohort.Cohort{}
	for rows.Next() {
		c, err := scanCohort(rows)
		if err != nil {
			return nil, wrap("cohorts", err)
		}
		out = append(out, c)
	}
	return out, wrap("cohorts", rows.Err())
}

// DeleteCohort implements cohort.Store.
func (s *Store) DeleteCohort(ctx context.Context, orgID, id string) error {
	n, err := s.execCount(ctx, "delete cohort", `DELETE FROM cohorts WHERE org_id = $1 AND id = $2`, orgID, id)
	if err == nil && n == 0 {
		return cohortNotFound(id)
	}
	return err
}
