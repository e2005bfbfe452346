package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/render"
	"github.com/carecast/carecast/store"
	"github.com/carecast/carecast/store/memstore"
	"github.com/carecast/carecast/store/pgstore"
	"github.com/carecast/carecast/store/sqlitestore"
)

const (
	benchOrg    = "org-bench"
	benchCohort = "everyone"
)

// storeSpec says which store a process opens.
type storeSpec struct {
	kind   string // "memory", "sqlite", "postgres"
	path   string // sqlite file
	conn   string // postgres connection string
	schema string // postgres schema
}

func openStore(ctx context.Context, sp storeSpec) (store.Store, func(), error) {
	switch sp.kind {
	case "memory":
		return memstore.New(), func() {}, nil
	case "sqlite":
		s, err := sqlitestore.Open(ctx, sp.path, nil)
		if err != nil {
			return nil, nil, err
		}
		return s, func() { _ = s.Close() }, nil
	case "postgres":
		s, err := pgstore.Open(ctx, &pgstore.Config{ConnString: sp.conn, Schema: sp.schema, MaxConns: 8})
		if err != nil {
			return nil, nil, err
		}
		return s, func() { _ = s.Close() }, nil
	}
	return nil, nil, fmt.Errorf("unknown store %q", sp.kind)
}

// engineOpts tunes the engine of one bench process.
type engineOpts struct {
	n        int
	rate     float64 // messages/s; blast.RateUnlimited for none
	burst    int
	workers  int
	batch    int
	lease    time.Duration
	instance string
}

// newEngine wires an engine to st, the synthetic audience and snd.
func newEngine(ctx context.Context, st store.Store, snd *sender, o engineOpts) (*blast.Engine, error) {
	cohorts := cohort.NewMemStore()
	if _, err := cohorts.SaveCohort(ctx, cohort.Cohort{ID: benchCohort, OrgID: benchOrg, Name: "Everyone"}); err != nil {
		return nil, err
	}
	if o.instance == "" {
		o.instance = fmt.Sprintf("bench-%d", os.Getpid())
	}
	cfg := &blast.Config{
		Store: st, Patients: &synthPatients{org: benchOrg, n: o.n}, Cohorts: cohorts,
		Organizations: blast.OrgMap{benchOrg: {ID: benchOrg, Name: "Bench Clinic", TimeZone: "America/New_York"}},
		SMS:           snd, InstanceID: o.instance,
		Workers: o.workers, BatchSize: o.batch, LedgerBatch: 1000,
		SMSRate: o.rate, SMSBurst: o.burst,
		QuietHours:   blast.QuietHours{Disabled: true},
		PollInterval: 50 * time.Millisecond,
	}
	if o.lease > 0 {
		cfg.Lease, cfg.SendTimeout = o.lease, o.lease/2
	}
	return blast.New(cfg)
}

// createAndSend makes the bench's SMS draft and sends it (writing the
// ledger), returning the blast ID.
func createAndSend(ctx context.Context, e *blast.Engine) (string, error) {
	b, err := e.CreateDraft(ctx, benchOrg, blast.Draft{
		Name: "bench", CohortIDs: []string{benchCohort}, Channel: carecast.SMS, Purpose: carecast.Transactional,
		SMS: &render.SMSContent{Body: "Hi {{first_name}}, this is a reminder from your clinic."},
	})
	if err != nil {
		return "", err
	}
	if _, err := e.Send(ctx, benchOrg, b.ID, nil); err != nil {
		return b.ID, err
	}
	return b.ID, nil
}

// benchBlast returns the ID of the bench organization's blast, or "".
func benchBlast(ctx context.Context, st store.Store) (store.Blast, bool, error) {
	bs, err := st.ListBlasts(ctx, store.ListBlastsParams{OrgID: benchOrg, Limit: 1})
	if err != nil || len(bs) == 0 {
		return store.Blast{}, false, err
	}
	return bs[0], true, nil
}

// waitSettled polls the store until the blast is completed (or ctx ends).
func waitSettled(ctx context.Context, st store.Store, blastID string) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		b, err := st.Blast(ctx, benchOrg, blastID)
		if err != nil {
			return err
		}
		if b.Status == store.BlastCompleted || b.Status == store.BlastCancelled {
			return nil
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
