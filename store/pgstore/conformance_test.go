package pgstore_test

import (
	"context"
	"testing"

	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/store"
	"github.com/carecast/carecast/store/pgstore"
	"github.com/carecast/carecast/store/storetest"
)

func openStore(t testing.TB, cfg *pgstore.Config) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	requirePostgres(t)
	cfgs := map[store.Store]*pgstore.Config{}
	storetest.Run(t, storetest.Harness{
		NewStore: func(t *testing.T) store.Store {
			cfg := testConfig(t)
			s := openStore(t, cfg)
			cfgs[s] = cfg
			return s
		},
		// A second pool on the same schema behaves like a second process.
		OpenPeer: func(t *testing.T, s store.Store) store.Store { return openStore(t, cfgs[s]) },
	})
}

func TestCohortStore(t *testing.T) {
	requirePostgres(t)
	storetest.RunCohorts(t, func(t *testing.T) cohort.Store { return openStore(t, testConfig(t)) })
}
