package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/carecast/carecast/store/pgstore"
)

// testEnv names the environment variable holding the test database.
const testEnv = "CARECAST_TEST_POSTGRES"

// testConfig returns a Config for a fresh schema of its own, dropped when
// the test ends, or skips the test when CARECAST_TEST_POSTGRES is unset.
func testConfig(t testing.TB) *pgstore.Config {
	t.Helper()
	conn := requirePostgres(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "carecast_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, conn)
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	return &pgstore.Config{ConnString: conn, Schema: schema, MaxConns: 8}
}

// requirePostgres returns the test database's connection string, or skips
// the test explaining how to enable it.
func requirePostgres(t testing.TB) string {
	t.Helper()
	conn := os.Getenv(testEnv)
	if conn == "" {
		t.Skip("pgstore: PostgreSQL tests are disabled; set " + testEnv +
			"=postgres://postgres@127.0.0.1:5432/test?sslmode=disable (any database the user may create schemas in) to run them")
	}
	return conn
}
