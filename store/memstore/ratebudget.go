package memstore

import (
	"context"
	"time"

	"github.com/carecast/carecast/store"
)

var _ store.RateBudget = (*Store)(nil)

// ReserveSends implements store.RateBudget for the goroutines of one
// process (the budget lives in the Store).
func (s *Store) ReserveSends(ctx context.Context, p store.RateParams) ([]time.Time, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	s.rateMu.Lock()
	defer s.rateMu.Unlock()
	if s.tats == nil {
		s.tats = make(map[string]time.Time)
	}
	slots, next := p.Slots(s.tats[p.Key])
	s.tats[p.Key] = next
	return slots, nil
}
