package pgstore_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/store"
	"github.com/carecast/carecast/store/pgstore"
)

func TestConfigValidation(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		cfg  *pgstore.Config
	}{
		{"nil", nil},
		{"no connection", &pgstore.Config{}},
		{"bad schema", &pgstore.Config{ConnString: "postgres://x@127.0.0.1/db", Schema: "drop table;"}},
		{"negative pool", &pgstore.Config{ConnString: "postgres://x@127.0.0.1/db", MaxConns: -1}},
		{"unparsable", &pgstore.Config{ConnString: "postgres://user:secret@[bad"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pgstore.Open(ctx, tt.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "pgstore: ")
			assert.NotContains(t, err.Error(), "secret", "connection strings never appear in errors")
		})
	}
}

// TestConcurrentMigrate starts several instances at once on an empty
// schema: the advisory lock makes exactly one of them apply the
// migrations.
func TestConcurrentMigrate(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	applied := make([]int, 4)
	errs := make([]error, 4)
	for i := range applied {
		wg.Add(1)
		go func() {
			defer wg.Done()
			applied[i], errs[i] = pgstore.Migrate(ctx, cfg)
		}()
	}
	wg.Wait()
	total := 0
	for i := range applied {
		require.NoError(t, errs[i])
		total += applied[i]
	}
	files, err := filepath.Glob("migrations/*.sql")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	assert.Equal(t, len(files), total, "each migration applied once across all instances")
	n, err := pgstore.Migrate(ctx, cfg)
	require.NoError(t, err)
	assert.Zero(t, n)
}

func TestSkipMigrate(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	skip := *cfg
	skip.SkipMigrate = true
	s := openStore(t, &skip)
	_, err := s.CreateBlast(ctx, store.Blast{ID: "b", OrgID: "o", Channel: carecast.SMS})
	require.Error(t, err, "no tables before Migrate")
	_, err = pgstore.Migrate(ctx, cfg)
	require.NoError(t, err)
	_, err = s.CreateBlast(ctx, store.Blast{ID: "b", OrgID: "o", Channel: carecast.SMS})
	require.NoError(t, err)
}

// TestExternalPool uses a pool the host owns; Close leaves it open.
func TestExternalPool(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	owner := openStore(t, cfg)
	s, err := pgstore.Open(ctx, &pgstore.Config{Pool: owner.Pool(), Schema: cfg.Schema})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, owner.Pool().Ping(ctx), "the host's pool stays open")
}

// compliance.md HI-09, test 2: audit entries cannot be changed or removed,
// not even with SQL.
func TestAuditIsAppendOnly(t *testing.T) {
	ctx := context.Background()
	st, err := pgstore.Open(ctx, testConfig(t))
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.AppendAudit(ctx, []store.AuditEntry{{OrgID: "o", At: time.Unix(1, 0), Actor: "staff-1", Action: "blast.sent", BlastID: "b"}}))
	_, err = st.Pool().Exec(ctx, `UPDATE audit SET actor = 'someone else'`)
	require.ErrorContains(t, err, "append-only")
	_, err = st.Pool().Exec(ctx, `DELETE FROM audit`)
	require.ErrorContains(t, err, "append-only")
	got, err := st.AuditEntries(ctx, store.AuditQuery{OrgID: "o", Limit: 10})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "staff-1", got[0].Actor)
}
