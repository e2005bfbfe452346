package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/carecast/carecast/store"
)

var _ store.RateBudget = (*Store)(nil)

// ReserveSends implements store.RateBudget: one upsert advances the key's
// theoretical arrival time atomically (the row lock serialises concurrent
// reservations from every process) and returns the previous one.
func (s *Store) ReserveSends(ctx context.Context, p store.RateParams) ([]time.Time, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	now, span := p.Now.UnixNano(), int64(p.N)*int64(p.Interval())
	var prev int64
	// Every send of every instance passes through this one row, so its
	// lock must be held for as short as possible: the commit does not
	// wait for the WAL flush (a reservation lost in a database crash only
	// lets the next ones start from an earlier time).
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := asyncCommit(ctx, tx); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO rate_budgets AS rb (key, tat) VALUES ($1, $2::bigint + $3::bigint)
			ON CONFLICT (key) DO UPDATE SET tat = GREATEST(rb.tat, $2::bigint) + $3::bigint
			RETURNING tat - $3::bigint`, p.Key, now, span).Scan(&prev)
	})
	if err != nil {
		return nil, wrap("reserve sends", err)
	}
	// prev is max(stored tat, now): Slots computes the same base from it.
	slots, _ := p.Slots(time.Unix(0, prev))
	return slots, nil
}
