package cohort

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/carecast/carecast"
)

// resolveBatch is how many list-cohort patient IDs Resolve fetches with one
// PatientsByID call.
const resolveBatch = 500

// Resolve streams the union of the cohorts' patients, each patient once,
// ascending ID order.
//
// All filter cohorts are combined into one OR filter and streamed with a
// single ps.Patients call (one cohort's filter is passed through as is), so
// a store that pushes filters down to its database (package cohortsql)
// does the union there. List cohorts contribute the patient IDs they
// matched at import, fetched with PatientsByID in batches of 500 and merged
// into the ordered stream; patients deleted since are skipped. Memory is
// O(total list IDs + batch), independent of the number of patients.
//
// now is the instant relative conditions are evaluated at. A cohort of
// another organisation, or one that fails Cohort.Check, is yielded as an
// error (class ErrInvalidCohort) before any patient; so is an invalid
// filter (*FilterError, from the store). After an error the stream ends.
// No cohorts yield no patients.
func Resolve(ctx context.Context, ps PatientStore, orgID string, cohorts []Cohort, now time.Time) iter.Seq2[carecast.Patient, error] {
	return func(yield func(carecast.Patient, error) bool) {
		var (
			filters []Expr
			all     bool
			lists   bool
			ids     []string
		)
		for i := range cohorts {
			c := &cohorts[i]
			if c.OrgID != orgID {
				yield(carecast.Patient{}, fmt.Errorf("%w: cohort %s belongs to another organisation", ErrInvalidCohort, quoteName(c.ID)))
				return
			}
			if err := c.Check(); err != nil {
				yield(carecast.Patient{}, fmt.Errorf("cohort %s: %w", quoteName(c.ID), err))
				return
			}
			switch {
			case c.Contacts != nil:
				lists = true
				ids = append(ids, c.Contacts.PatientIDs...)
			case c.Filter.Where == nil:
				all = true
			default:
				filters = append(filters, *c.Filter.Where)
			}
		}
		q := Query{Now: now}
		switch {
		case all:
			// every patient: the union is everyone
		case len(filters) == 1:
			q.Filter = Where(filters[0])
		case len(filters) > 1:
			q.Filter = Where(Or(filters...))
		}
		hasFilters := all || len(filters) > 0
		if !lists || all {
			if hasFilters {
				for p, err := range ps.Patients(ctx, orgID, q) {
					if !yield(p, err) || err != nil {
						return
					}
				}
			}
			return
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		listed := &listStream{ctx: ctx, ps: ps, orgID: orgID, ids: ids}
		if hasFilters {
			for p, err := range ps.Patients(ctx, orgID, q) {
				if err != nil {
					yield(carecast.Patient{}, err)
					return
				}
				// Emit listed patients ordered before p, skip p's own ID.
				for {
					lp, ok, err := listed.peek()
					if err != nil {
						yield(carecast.Patient{}, err)
						return
					}
					if !ok || lp.ID > p.ID {
						break
					}
					listed.next()
					if lp.ID < p.ID && !yield(*lp, nil) {
						return
					}
				}
				listed.skipTo(p.ID)
				if !yield(p, nil) {
					return
				}
			}
		}
		for {
			lp, ok, err := listed.peek()
			if err != nil {
				yield(carecast.Patient{}, err)
				return
			}
			if !ok {
				return
			}
			listed.next()
			if !yield(*lp, nil) {
				return
			}
		}
	}
}

// listStream walks sorted patient IDs, fetching patients in batches.
type listStream struct {
	ctx   context.Context
	ps    PatientStore
	orgID string
	ids   []string // IDs not yet fetched
	buf   []carecast.Patient
	pos   int
	skip  string // IDs ≤ skip were already yielded from the filter stream
	has   bool   // skip is set
}

// peek returns the next listed patient without consuming it.
func (l *listStream) peek() (*carecast.Patient, bool, error) {
	for {
		for l.pos < len(l.buf) {
			if l.has && l.buf[l.pos].ID <= l.skip {
				l.pos++
				continue
			}
			return &l.buf[l.pos], true, nil
		}
		if len(l.ids) == 0 {
			return nil, false, nil
		}
		n := min(len(l.ids), resolveBatch)
		batch, err := l.ps.PatientsByID(l.ctx, l.orgID, l.ids[:n])
		if err != nil {
			return nil, false, fmt.Errorf("cohort: resolve list cohorts: %w", err)
		}
		l.ids, l.buf, l.pos = l.ids[n:], batch, 0
	}
}

// next consumes the patient peek returned.
func (l *listStream) next() { l.pos++ }

// skipTo records that the patient id was yielded by the filter stream.
func (l *listStream) skipTo(id string) { l.skip, l.has = id, true }
