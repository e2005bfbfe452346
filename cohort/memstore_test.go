package cohort_test

import (
	"testing"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/cohort/cohorttest"
)

func TestMemPatientStoreConformance(t *testing.T) {
	cohorttest.Run(t, cohorttest.Harness{
		NewStore: func(t *testing.T, patients map[string][]carecast.Patient) cohort.PatientStore {
			ps, err := cohort.NewMemPatientStoreWith(&cohort.MemPatientStoreConfig{Schema: cohorttest.Schema()})
			if err != nil {
				t.Fatal(err)
			}
			for org, list := range patients {
				ps.Put(org, list...)
			}
			return ps
		},
	})
}

func TestMemPatientStoreConformanceGlobalIDs(t *testing.T) {
	cohorttest.Run(t, cohorttest.Harness{
		GlobalIDs: true,
		NewStore: func(t *testing.T, patients map[string][]carecast.Patient) cohort.PatientStore {
			ps, err := cohort.NewMemPatientStoreWith(&cohort.MemPatientStoreConfig{Schema: cohorttest.Schema()})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for org, list := range patients {
				for _, p := range list {
					if seen[p.ID] {
						t.Fatalf("GlobalIDs fixtures reuse ID %s", p.ID)
					}
					seen[p.ID] = true
				}
				ps.Put(org, list...)
			}
			return ps
		},
	})
}
