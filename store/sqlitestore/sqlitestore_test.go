package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	_ "modernc.org/sqlite"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/store"
	"github.com/carecast/carecast/store/sqlitestore"
)

func TestOpenValidatesConfig(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		cfg  *sqlitestore.Config
	}{
		{"no path", "", nil},
		{"memory", ":memory:", nil},
		{"negative readers", filepath.Join(dir, "a.db"), &sqlitestore.Config{ReadConns: -1}},
		{"negative busy timeout", filepath.Join(dir, "b.db"), &sqlitestore.Config{BusyTimeout: -time.Second}},
		{"negative batch", filepath.Join(dir, "c.db"), &sqlitestore.Config{MaxBatch: -1}},
		{"negative cache", filepath.Join(dir, "d.db"), &sqlitestore.Config{ReadCacheKiB: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sqlitestore.Open(ctx, tt.path, tt.cfg)
			if err == nil {
				s.Close()
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "sqlitestore: Config.")
		})
	}
	s, err := sqlitestore.Open(ctx, "", &sqlitestore.Config{Path: filepath.Join(dir, "cfg.db")})
	require.NoError(t, err, "Config.Path is used when path is empty")
	require.NoError(t, s.Close())
}

func TestMigrationsAreVersionedAndIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	s := openTemp(t, path)
	v, err := s.SchemaVersion(ctx)
	require.NoError(t, err)
	files, err := filepath.Glob("migrations/*.sql")
	require.NoError(t, err)
	assert.Equal(t, len(files), v, "one version per embedded migration")
	// A second Store on the same file applies nothing and sees the data.
	_, err = s.CreateBlast(ctx, store.Blast{ID: "b", OrgID: "o", Channel: carecast.SMS, Status: store.BlastDraft})
	require.NoError(t, err)
	s2 := openTemp(t, path)
	v2, err := s2.SchemaVersion(ctx)
	require.NoError(t, err)
	assert.Equal(t, v, v2)
	_, err = s2.Blast(ctx, "o", "b")
	require.NoError(t, err)

	// A database from a newer program is refused.
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO schema_migrations (version, name) VALUES (999, '0999_future.sql')`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	_, err = sqlitestore.Open(ctx, path, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "newer")
}

// TestGroupCommitIsolatesFailures runs many concurrent writes, some of
// which fail, through the single writer: every good write lands and every
// bad one reports its own error.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, filepath.Join(t.TempDir(), "g.db"))
	_, err := s.CreateBlast(ctx, store.Blast{ID: "b", OrgID: "o", Channel: carecast.SMS, Status: store.BlastSending})
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make([]error, 200)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			blast := "b"
			if i%3 == 0 {
				blast = "missing" // fails with ErrNotFound inside the shared transaction
			}
			_, errs[i] = s.InsertRows(ctx, "o", blast, []store.NewRow{{PatientID: string(rune('A'+i%26)) + time.Duration(i).String(), Status: store.RowQueued}}, time.Unix(1, 0))
		}()
	}
	wg.Wait()
	good := 0
	for i, err := range errs {
		if i%3 == 0 {
			assert.ErrorIs(t, err, store.ErrNotFound, "write %d", i)
		} else if assert.NoError(t, err, "write %d", i) {
			good++
		}
	}
	st, err := s.Stats(ctx, "o", "b")
	require.NoError(t, err)
	assert.Equal(t, good, st.ByStatus[store.RowQueued], "every good write committed")
}

func TestClosedStore(t *testing.T) {
	ctx := context.Background()
	s, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "c.db"), nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = s.CreateBlast(ctx, store.Blast{ID: "b", OrgID: "o"})
	assert.Error(t, err)
	assert.Error(t, s.Close(), "closing twice reports it")
}

func TestCancelledContext(t *testing.T) {
	s := openTemp(t, filepath.Join(t.TempDir(), "x.db"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.CreateBlast(ctx, store.Blast{ID: "b", OrgID: "o"})
	assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
}

func TestFileSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	openTemp(t, path)
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	var mode string
	var page int
	require.NoError(t, db.QueryRow("PRAGMA journal_mode").Scan(&mode))
	require.NoError(t, db.QueryRow("PRAGMA page_size").Scan(&page))
	assert.Equal(t, "wal", mode, "WAL mode is recorded in the file")
	assert.Equal(t, 4096, page, "new files use 4 KiB pages")
}

// The SQL stores keep machine counters (store.EventMachineOpen/Click).
func TestMachineCountersKept(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, filepath.Join(t.TempDir(), "m.db"))
	_, err := s.CreateBlast(ctx, store.Blast{ID: "b", OrgID: "o", Channel: carecast.Email, Status: store.BlastSending})
	require.NoError(t, err)
	_, err = s.InsertRows(ctx, "o", "b", []store.NewRow{{PatientID: "p", Status: store.RowQueued}}, time.Unix(1, 0))
	require.NoError(t, err)
	rows, err := s.ListRows(ctx, store.ListRowsParams{OrgID: "o", BlastID: "b", Limit: 1})
	require.NoError(t, err)
	ok, err := s.ApplyEvent(ctx, store.EventParams{EventID: "m", OrgID: "o", RowID: rows[0].ID, Kind: store.EventMachineClick, At: time.Unix(2, 0)})
	require.NoError(t, err)
	assert.True(t, ok)
	r, err := s.Row(ctx, "o", rows[0].ID)
	require.NoError(t, err)
	assert.Equal(t, 1, r.MachineClicks)
}

// compliance.md HI-09, test 2: audit entries cannot be changed or removed,
// not even with SQL on the file.
func TestAuditIsAppendOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.db")
	s := openTemp(t, path)
	require.NoError(t, s.AppendAudit(ctx, []store.AuditEntry{{OrgID: "o", At: time.Unix(1, 0), Actor: "staff-1", Action: "blast.sent", BlastID: "b"}}))
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.ExecContext(ctx, `UPDATE audit SET actor = 'someone else'`)
	require.ErrorContains(t, err, "append-only")
	_, err = db.ExecContext(ctx, `DELETE FROM audit`)
	require.ErrorContains(t, err, "append-only")
	got, err := s.AuditEntries(ctx, store.AuditQuery{OrgID: "o", Limit: 10})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "staff-1", got[0].Actor)
}
