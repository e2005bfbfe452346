package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/store/internal/migrations"
)

// Defaults for the Config fields.
const (
	// MaxConnsDefault is the default size of the connection pool.
	MaxConnsDefault = 16
	// SchemaDefault is the schema the tables live in when Config.Schema is
	// empty.
	SchemaDefault = "public"
)

// Config configures a Store. The zero value of every field except
// ConnString selects its default; Open validates the rest.
type Config struct {
	// ConnString is a PostgreSQL connection string
	// ("postgres://user@host:5432/db?sslmode=disable"). Required unless
	// Pool is set.
	ConnString string
	// Pool, when set, is used instead of opening a pool from ConnString;
	// the Store does not close it. Its connections must already use
	// Schema (for example through search_path).
	Pool *pgxpool.Pool
	// Schema is the schema that holds carecast's tables; the migrations
	// create it when missing, and it is every connection's search_path.
	// Defaults to SchemaDefault. Tests use one schema per test so runs
	// do not collide.
	Schema string
	// MaxConns is the pool size. Defaults to MaxConnsDefault.
	MaxConns int32
	// SkipMigrate leaves the schema alone on Open; call Migrate yourself
	// (for example from a deploy step) before opening. Defaults to false:
	// Open migrates.
	SkipMigrate bool
	// CohortSchema, when set, makes SaveCohort validate filters against
	// it (see cohort.Schema); nil checks only cohort.Cohort.Check.
	CohortSchema *cohort.Schema
	// Now returns the current time: the CreatedAt and UpdatedAt of saved
	// cohorts. (Ledger times come from the engine's arguments.) Defaults
	// to time.Now.
	Now func() time.Time
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

func (c *Config) withDefaults() (Config, error) {
	var out Config
	if c != nil {
		out = *c
	}
	if out.ConnString == "" && out.Pool == nil {
		return out, errors.New("pgstore: Config.ConnString or Config.Pool is required")
	}
	if out.Schema == "" {
		out.Schema = SchemaDefault
	}
	if !schemaName.MatchString(out.Schema) {
		return out, fmt.Errorf("pgstore: Config.Schema %q must match %s", out.Schema, schemaName)
	}
	if out.MaxConns == 0 {
		out.MaxConns = MaxConnsDefault
	}
	if out.MaxConns < 0 {
		return out, fmt.Errorf("pgstore: Config.MaxConns must be positive, got %d", out.MaxConns)
	}
	if out.Now == nil {
		out.Now = time.Now
	}
	return out, nil
}

// openPool opens a pool whose connections use cfg.Schema (created by
// the migrations).
func openPool(ctx context.Context, cfg Config) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(cfg.ConnString)
	if err != nil {
		// The parse error may echo the connection string (with a
		// password); keep only the fact.
		return nil, errors.New("pgstore: Config.ConnString is not a valid connection string")
	}
	pc.MaxConns = cfg.MaxConns
	if pc.ConnConfig.RuntimeParams == nil {
		pc.ConnConfig.RuntimeParams = map[string]string{}
	}
	pc.ConnConfig.RuntimeParams["search_path"] = cfg.Schema
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	return pool, nil
}

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLockKey is the pg_advisory_xact_lock key that serialises
// migrations across processes ("carecast" as a number).
const migrationLockKey int64 = 0x63617265636173

// Migrate brings the schema cfg names up to date with the embedded,
// versioned migrations. It is safe to call from several processes at once:
// a transaction-scoped advisory lock serialises them, and each migration is
// applied exactly once, recorded in schema_migrations. Open calls it unless
// Config.SkipMigrate is set. It returns the number of migrations applied.
func Migrate(ctx context.Context, cfg *Config) (int, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return 0, err
	}
	pool := c.Pool
	if pool == nil {
		pool, err = openPool(ctx, c)
		if err != nil {
			return 0, err
		}
		defer pool.Close()
	}
	return migratePool(ctx, pool, c.Schema)
}

func migratePool(ctx context.Context, pool *pgxpool.Pool, schema string) (applied int, err error) {
	ms, err := migrations.Load(migrationFS, "migrations")
	if err != nil {
		return 0, err
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("pgstore: migrate: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey); err != nil {
		return 0, fmt.Errorf("pgstore: migrate: lock: %w", err)
	}
	// Under the lock: concurrent CREATE SCHEMA IF NOT EXISTS can still
	// collide on the catalog's unique index.
	if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return 0, fmt.Errorf("pgstore: migrate: create schema: %w", err)
	}
	if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return 0, fmt.Errorf("pgstore: migrate: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY,
		name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return 0, fmt.Errorf("pgstore: migrate: %w", err)
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return 0, fmt.Errorf("pgstore: migrate: %w", err)
	}
	if latest := migrations.Latest(ms); current > latest {
		return 0, fmt.Errorf("pgstore: database schema version %d is newer than this program's %d", current, latest)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return 0, fmt.Errorf("pgstore: migration %s: %w", m.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations(version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			return 0, fmt.Errorf("pgstore: migration %s: %w", m.Name, err)
		}
		applied++
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("pgstore: migrate: %w", err)
	}
	return applied, nil
}
