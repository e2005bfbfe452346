package pgstore_test

import (
	"testing"

	"github.com/carecast/carecast/store/storetest"
)

// BenchmarkLedgerCycle: COPY + claim + record sent, batches of 500.
func BenchmarkLedgerCycle(b *testing.B) {
	storetest.BenchLedgerCycle(b, openStore(b, testConfig(b)))
}
