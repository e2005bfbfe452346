package sqlitestore

import (
	"context"

	"github.com/carecast/carecast/store"
)

var _ store.PendingCounter = (*Store)(nil)

// PendingRows implements store.PendingCounter by counting the entries of
// the partial claim index (queued rows) and lease index (sending rows).
func (s *Store) PendingRows(ctx context.Context, orgID, blastID string) (queued, sending int, err error) {
	seq, _, err := blastKey(ctx, s.c.r, orgID, blastID)
	if err != nil {
		return 0, 0, wrap("pending rows", err)
	}
	err = s.c.r.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM rows INDEXED BY rows_due WHERE blast_seq = ?1 AND status = 'queued'),
		(SELECT COUNT(*) FROM rows INDEXED BY rows_lease WHERE status = 'sending' AND blast_seq = ?1)`, seq).Scan(&queued, &sending)
	return queued, sending, wrap("pending rows", err)
}
