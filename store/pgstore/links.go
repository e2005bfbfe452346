package pgstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/carecast/carecast/store"
)

var (
	_ store.BlastHeaders = (*Store)(nil)
	_ store.LinkIndex    = (*Store)(nil)
)

// BlastHeader implements store.BlastHeaders.
func (s *Store) BlastHeader(ctx context.Context, orgID, id string) (store.Blast, error) {
	b, err := scanBlast(s.pool.QueryRow(ctx, `SELECT `+headerCols+` FROM blasts WHERE id = $1 AND org_id = $2`, id, orgID))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Blast{}, notFound("blast " + id)
	}
	return b, wrap("blast header", err)
}

// SaveLinks implements store.LinkIndex.
func (s *Store) SaveLinks(ctx context.Context, orgID, blastID string, links []string) error {
	if links == nil {
		links = []string{}
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO blast_links (blast_id, org_id, links)
		SELECT id, org_id, $3 FROM blasts WHERE id = $1 AND org_id = $2
		ON CONFLICT (blast_id) DO UPDATE SET links = excluded.links`, blastID, orgID, links)
	if err != nil {
		return wrap("save links", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("blast " + blastID)
	}
	return nil
}

// Links implements store.LinkIndex.
func (s *Store) Links(ctx context.Context, orgID, blastID string) ([]string, error) {
	var links []string
	err := s.pool.QueryRow(ctx, `SELECT links FROM blast_links WHERE blast_id = $1 AND org_id = $2`, blastID, orgID).Scan(&links)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("links of blast " + blastID)
	}
	if err != nil {
		return nil, wrap("links", err)
	}
	if links == nil {
		links = []string{}
	}
	return links, nil
}
