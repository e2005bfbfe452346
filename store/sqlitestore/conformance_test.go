package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/store"
	"github.com/carecast/carecast/store/sqlitestore"
	"github.com/carecast/carecast/store/storetest"
)

func openTemp(t *testing.T, path string) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	paths := map[store.Store]string{}
	storetest.Run(t, storetest.Harness{
		NewStore: func(t *testing.T) store.Store {
			p := filepath.Join(t.TempDir(), "carecast.db")
			s := openTemp(t, p)
			paths[s] = p
			return s
		},
		// A second Store on the same file behaves like a second process.
		OpenPeer: func(t *testing.T, s store.Store) store.Store { return openTemp(t, paths[s]) },
	})
}

func TestCohortStore(t *testing.T) {
	storetest.RunCohorts(t, func(t *testing.T) cohort.Store {
		return openTemp(t, filepath.Join(t.TempDir(), "cohorts.db"))
	})
}
