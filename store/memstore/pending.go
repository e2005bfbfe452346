package memstore

import (
	"context"

	"github.com/carecast/carecast/store"
)

var _ store.PendingCounter = (*Store)(nil)

// PendingRows implements store.PendingCounter from the per-blast counters.
func (s *Store) PendingRows(ctx context.Context, orgID, blastID string) (queued, sending int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.blast(orgID, blastID); err != nil {
		return 0, 0, err
	}
	c := s.ledgers[blastID].c.byStatus
	return c[store.RowQueued], c[store.RowSending], nil
}
