package cohort

import (
	"context"
	"time"

	"github.com/carecast/carecast"
)

// DefaultPreviewSamples is how many sample patients Preview returns when
// asked for a negative number.
const DefaultPreviewSamples = 5

// PatientCounter is an optional interface of a PatientStore that can count
// matching patients without streaming them (a SQL COUNT(*)). Preview uses
// it when present. Count must equal the number of patients Patients
// would yield for the same arguments.
type PatientCounter interface {
	Count(ctx context.Context, orgID string, q Query) (int, error)
}

// PreviewResult is the live preview of a filter being edited.
type PreviewResult struct {
	// Count is how many patients match.
	Count int
	// Samples are the first matching patients in ID order, at most the
	// number asked for.
	Samples []carecast.Patient
}

// Preview counts the org's patients matching f at now and returns up to
// samples of them (DefaultPreviewSamples if samples < 0). It uses the
// store's Count when it implements PatientCounter, else streams and counts.
// An invalid filter is returned as a *FilterError.
func Preview(ctx context.Context, ps PatientStore, orgID string, f Filter, now time.Time, samples int) (PreviewResult, error) {
	if samples < 0 {
		samples = DefaultPreviewSamples
	}
	q := Query{Filter: f, Now: now}
	var res PreviewResult
	if pc, ok := ps.(PatientCounter); ok {
		n, err := pc.Count(ctx, orgID, q)
		if err != nil {
			return PreviewResult{}, err
		}
		res.Count = n
		if samples == 0 || n == 0 {
			return res, nil
		}
		for p, err := range ps.Patients(ctx, orgID, q) {
			if err != nil {
				return PreviewResult{}, err
			}
			res.Samples = append(res.Samples, p)
			if len(res.Samples) == samples {
				break
			}
		}
		return res, nil
	}
	for p, err := range ps.Patients(ctx, orgID, q) {
		if err != nil {
			return PreviewResult{}, err
		}
		if res.Count < samples {
			res.Samples = append(res.Samples, p)
		}
		res.Count++
	}
	return res, nil
}

// Count implements PatientCounter: it counts matches under the read lock
// without copying patients.
func (s *MemPatientStore) Count(ctx context.Context, orgID string, q Query) (int, error) {
	m, err := s.schema.Compile(q.Filter, q.Now)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	o := s.orgs[orgID]
	if o == nil {
		return 0, nil
	}
	ps := o.patients
	if q.AfterID != "" {
		i, found := searchID(ps, q.AfterID)
		if found {
			i++
		}
		ps = ps[i:]
	}
	return m.Count(ps), nil
}

var _ PatientCounter = (*MemPatientStore)(nil)
