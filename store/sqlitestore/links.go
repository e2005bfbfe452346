package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/carecast/carecast/store"
)

var (
	_ store.BlastHeaders = (*Store)(nil)
	_ store.LinkIndex    = (*Store)(nil)
)

// BlastHeader implements store.BlastHeaders.
func (s *Store) BlastHeader(ctx context.Context, orgID, id string) (store.Blast, error) {
	b, err := scanBlast(s.c.r.QueryRowContext(ctx, `SELECT `+headerCols+` FROM blasts WHERE id = ? AND org_id = ?`, id, orgID))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Blast{}, notFound("blast " + id)
	}
	return b, wrap("blast header", err)
}

// SaveLinks implements store.LinkIndex.
func (s *Store) SaveLinks(ctx context.Context, orgID, blastID string, links []string) error {
	if links == nil {
		links = []string{}
	}
	enc, err := json.Marshal(links)
	if err != nil {
		return fmt.Errorf("sqlitestore: save links: %w", err)
	}
	err = s.c.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM blasts WHERE id = ? AND org_id = ?`, blastID, orgID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return notFound("blast " + blastID)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO blast_links (blast_id, org_id, links) VALUES (?, ?, ?)
			ON CONFLICT (blast_id) DO UPDATE SET links = excluded.links`, blastID, orgID, string(enc))
		return err
	})
	return wrap("save links", err)
}

// Links implements store.LinkIndex.
func (s *Store) Links(ctx context.Context, orgID, blastID string) ([]string, error) {
	var enc string
	err := s.c.r.QueryRowContext(ctx, `SELECT links FROM blast_links WHERE blast_id = ? AND org_id = ?`, blastID, orgID).Scan(&enc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("links of blast " + blastID)
	}
	if err != nil {
		return nil, wrap("links", err)
	}
	var links []string
	if err := json.Unmarshal([]byte(enc), &links); err != nil {
		return nil, fmt.Errorf("sqlitestore: links of blast %s: %w", blastID, err)
	}
	return links, nil
}
