package sqlitestore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/store"
	"github.com/carecast/carecast/store/sqlitestore"
)

// Opening the embedded store needs only a file path; the schema is created
// on first use. The engine (package blast) takes the Store as its
// Config.Store; here the ledger is driven by hand.
func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "carecast-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	st, err := sqlitestore.Open(ctx, filepath.Join(dir, "carecast.db"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()

	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	_, _ = st.CreateBlast(ctx, store.Blast{ID: "spring", OrgID: "clinic", Channel: carecast.SMS, Status: store.BlastSending})
	n, _ := st.InsertRows(ctx, "clinic", "spring", []store.NewRow{
		{PatientID: "p1", Status: store.RowQueued, Address: "+12125550100"},
		{PatientID: "p2", Status: store.RowSkipped, Reason: "no_contact_info"},
	}, now)
	rows, _ := st.ClaimRows(ctx, store.ClaimParams{OrgID: "clinic", BlastID: "spring", Owner: "worker-1",
		Now: now, LeaseUntil: now.Add(time.Minute), Limit: 10})
	_, _ = st.RecordOutcomes(ctx, []store.Outcome{{RowID: rows[0].ID, Owner: "worker-1", Status: store.RowSent,
		Attempted: true, ProviderMessageID: "SM1", Segments: 1, Cost: 7900, At: now}})
	stats, _ := st.Stats(ctx, "clinic", "spring")
	v, _ := st.SchemaVersion(ctx)
	fmt.Println("rows:", n, "sent:", stats.ByStatus[store.RowSent], "skipped:", stats.SkippedBy["no_contact_info"], "cost:", stats.Cost)
	fmt.Println("schema version:", v)
	// Output:
	// rows: 2 sent: 1 skipped: 1 cost: 0.0079
	// schema version: 7
}
