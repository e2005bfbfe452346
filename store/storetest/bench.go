package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/store"
)

// BenchLedgerCycle measures a store's share of one message: insert its
// ledger row, claim it, record it sent, in batches of 500 as the engine
// does. s must be empty. It reports rows/s and the time of each step per
// row; call it from a Benchmark function:
//
//	func BenchmarkLedgerCycle(b *testing.B) { storetest.BenchLedgerCycle(b, newStore(b)) }
func BenchLedgerCycle(b *testing.B, s store.Store) {
	ctx := context.Background()
	if _, err := s.CreateBlast(ctx, store.Blast{ID: "bench", OrgID: orgA, Channel: carecast.SMS, Status: store.BlastSending}); err != nil {
		b.Fatal(err)
	}
	const batch = 500
	rows := make([]store.NewRow, batch)
	outs := make([]store.Outcome, 0, batch)
	var tIns, tClaim, tRec time.Duration
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i += batch {
		for j := range rows {
			rows[j] = store.NewRow{PatientID: fmt.Sprintf("p%09d", i+j), Status: store.RowQueued, Address: fmt.Sprintf("+1212%07d", i+j)}
		}
		t1 := time.Now()
		if _, err := s.InsertRows(ctx, orgA, "bench", rows, T0); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		got, err := s.ClaimRows(ctx, store.ClaimParams{OrgID: orgA, BlastID: "bench", Owner: "w", Now: T0, LeaseUntil: T0.Add(time.Minute), Limit: batch})
		if err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		outs = outs[:0]
		for _, r := range got {
			outs = append(outs, store.Outcome{RowID: r.ID, Owner: "w", Status: store.RowSent, Attempted: true,
				ProviderMessageID: fmt.Sprintf("SM%d", r.ID), Segments: 1, Cost: 7900, At: T0})
		}
		if n, err := s.RecordOutcomes(ctx, outs); err != nil || n != len(outs) {
			b.Fatalf("recorded %d of %d: %v", n, len(outs), err)
		}
		tIns, tClaim, tRec = tIns+t2.Sub(t1), tClaim+t3.Sub(t2), tRec+time.Since(t3)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
	b.ReportMetric(float64(tIns.Nanoseconds())/float64(b.N), "insert-ns/row")
	b.ReportMetric(float64(tClaim.Nanoseconds())/float64(b.N), "claim-ns/row")
	b.ReportMetric(float64(tRec.Nanoseconds())/float64(b.N), "record-ns/row")
}
