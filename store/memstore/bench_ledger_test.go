package memstore_test

import (
	"testing"

	"github.com/carecast/carecast/store/memstore"
	"github.com/carecast/carecast/store/storetest"
)

// BenchmarkLedgerCycle: insert + claim + record sent, batches of 500.
func BenchmarkLedgerCycle(b *testing.B) { storetest.BenchLedgerCycle(b, memstore.New()) }
