package pgstore

import (
	"context"

	"github.com/carecast/carecast/store"
)

var _ store.PendingCounter = (*Store)(nil)

// PendingRows implements store.PendingCounter with two counts the partial
// claim and lease indexes answer.
func (s *Store) PendingRows(ctx context.Context, orgID, blastID string) (queued, sending int, err error) {
	seq, err := blastKey(ctx, s.pool, orgID, blastID)
	if err != nil {
		return 0, 0, wrap("pending rows", err)
	}
	err = s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM rows WHERE blast_seq = $1 AND status = 'queued'),
		(SELECT count(*) FROM rows WHERE blast_seq = $1 AND status = 'sending')`, seq).Scan(&queued, &sending)
	return queued, sending, wrap("pending rows", err)
}
