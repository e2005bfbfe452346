package sqlrow

import (
	"time"

	"github.com/carecast/carecast/store"
)

// Rows is satisfied by *sql.Rows and pgx.Rows (the callers close them).
type Rows interface {
	Scanner
	Next() bool
	Err() error
}

// CollectCounts adds the (key, count) rows to out: the GROUP BY answers
// of store.SentCounter.
func CollectCounts(rows Rows, out map[string]int) error {
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return err
		}
		out[k] += int(n)
	}
	return rows.Err()
}

// CollectTimes reads rows of one nanosecond timestamp column.
func CollectTimes(rows Rows) ([]time.Time, error) {
	var out []time.Time
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, Time(n))
	}
	return out, rows.Err()
}

// DomainDayColumns selects a domain_days row in the order
// CollectDomainDays reads it.
const DomainDayColumns = `day, delivered, complaints`

// CollectDomainDays reads rows selected with DomainDayColumns.
func CollectDomainDays(rows Rows) ([]store.DomainDay, error) {
	out := []store.DomainDay{}
	for rows.Next() {
		var day, delivered, complaints int64
		if err := rows.Scan(&day, &delivered, &complaints); err != nil {
			return nil, err
		}
		out = append(out, store.DomainDay{Day: store.DayStart(day), Delivered: int(delivered), Complaints: int(complaints)})
	}
	return out, rows.Err()
}

// AuditColumns selects an audit row in the order CollectAudit reads it.
const AuditColumns = `seq, org_id, at, actor, action, blast_id, patient_id, row_id, detail`

// CollectAudit reads rows selected with AuditColumns.
func CollectAudit(rows Rows) ([]store.AuditEntry, error) {
	out := []store.AuditEntry{}
	for rows.Next() {
		var a store.AuditEntry
		var at int64
		if err := rows.Scan(&a.Seq, &a.OrgID, &at, &a.Actor, &a.Action, &a.BlastID, &a.PatientID, &a.RowID, &a.Detail); err != nil {
			return nil, err
		}
		a.At = Time(at)
		out = append(out, a)
	}
	return out, rows.Err()
}
