package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/carecast/carecast/store/sqlitestore"
	"github.com/carecast/carecast/store/storetest"
)

// BenchmarkLedgerCycle: insert + claim + record sent, batches of 500.
func BenchmarkLedgerCycle(b *testing.B) {
	s, err := sqlitestore.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchLedgerCycle(b, s)
}
