package blast_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/provider/fake"
	"github.com/carecast/carecast/store/memstore"
)

// BenchmarkSendMemstore sends a 100,000-recipient SMS blast through the
// whole engine (audience resolution, ledger write, claims, eligibility
// re-check, rendering, provider call, outcome records) on memstore with a
// zero-latency fake provider and no rate limit, and reports messages per
// second.
func BenchmarkSendMemstore(b *testing.B) {
	const n = 100_000
	ps := cohort.NewMemPatientStore()
	ps.Put(org, population(n, nil)...)
	cs := cohort.NewMemStore()
	c, err := cs.SaveCohort(context.Background(), cohort.Cohort{OrgID: org, Name: "All"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	d := smsDraft("Hi {{first_name}}, {{organization_name}} has new hours from Monday.", carecast.Transactional, c.ID)
	b.ResetTimer()
	var elapsed time.Duration
	for range b.N {
		// Each blast gets a fresh store, provider and engine (outside
		// the timer), so the heap does not grow across iterations.
		b.StopTimer()
		sms := fake.New(&fake.Config{DiscardBodies: true})
		e, err := blast.New(&blast.Config{
			Store: memstore.New(), Patients: ps, Cohorts: cs,
			Organizations: blast.OrgMap{org: {ID: org, Name: "Sunrise Family Clinic", TimeZone: "America/New_York"}},
			SMS:           sms, SMSRate: blast.RateUnlimited,
			Workers: runtime.GOMAXPROCS(0), BatchSize: 1000, LedgerBatch: 5000,
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Start(ctx); err != nil {
			b.Fatal(err)
		}
		bl, err := e.CreateDraft(ctx, org, d)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		b.StartTimer()
		start := time.Now()
		if _, err := e.Send(ctx, org, bl.ID, nil); err != nil {
			b.Fatal(err)
		}
		sum, err := e.Wait(ctx, org, bl.ID)
		if err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		b.StopTimer()
		if sum.Sent != n || sms.Count() != n {
			b.Fatalf("sent %d (provider %d), want %d", sum.Sent, sms.Count(), n)
		}
		if err := e.Stop(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "msgs/s")
}
