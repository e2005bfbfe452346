package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/carecast/carecast/store/internal/migrations"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrate applies the pending embedded migrations, all in one immediate
// transaction, so a second process opening the same file waits (busy
// timeout) and then finds nothing left to do.
func migrate(ctx context.Context, db *sql.DB, fsys fs.FS) (applied int, err error) {
	ms, err := migrations.Load(fsys, "migrations")
	if err != nil {
		return 0, err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
	)`); err != nil {
		return 0, fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return 0, fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	if latest := migrations.Latest(ms); current > latest {
		return 0, fmt.Errorf("sqlitestore: database schema version %d is newer than this program's %d", current, latest)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return 0, fmt.Errorf("sqlitestore: migration %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, name) VALUES (?, ?)`, m.Version, m.Name); err != nil {
			return 0, fmt.Errorf("sqlitestore: migration %s: %w", m.Name, err)
		}
		applied++
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	return applied, nil
}
