package sqlitestore

import (
	"context"
	"database/sql"
	"time"

	"github.com/carecast/carecast/store"
)

var _ store.RateBudget = (*Store)(nil)

// ReserveSends implements store.RateBudget. The budget lives in the
// database file, so every process using the file shares it.
func (s *Store) ReserveSends(ctx context.Context, p store.RateParams) ([]time.Time, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	now, span := p.Now.UnixNano(), int64(p.N)*int64(p.Interval())
	var prev int64
	err := s.c.write(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO rate_budgets (key, tat) VALUES (?1, ?2 + ?3)
			ON CONFLICT (key) DO UPDATE SET tat = MAX(tat, ?2) + ?3
			RETURNING tat - ?3`, p.Key, now, span).Scan(&prev)
	})
	if err != nil {
		return nil, wrap("reserve sends", err)
	}
	slots, _ := p.Slots(time.Unix(0, prev))
	return slots, nil
}
