package cohort_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
)

var testNow = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

func ids(t *testing.T, seq func(func(carecast.Patient, error) bool)) []string {
	t.Helper()
	var out []string
	for p, err := range seq {
		require.NoError(t, err)
		out = append(out, p.ID)
	}
	return out
}

func TestResolveUnionOfFiltersAndLists(t *testing.T) {
	ctx := context.Background()
	ps := cohort.NewMemPatientStore()
	var all []carecast.Patient
	for i := range 20 {
		p := carecast.Patient{ID: fmt.Sprintf("p%02d", i), Active: i%2 == 0}
		if i%3 == 0 {
			p.Tags = []string{"vip"}
		}
		all = append(all, p)
	}
	ps.Put("org", all...)
	ps.Put("other", carecast.Patient{ID: "p01", Active: true})

	active := cohort.Cohort{ID: "a", OrgID: "org", Name: "Active", Filter: cohort.Where(cohort.BoolIs(cohort.FieldActive, true))}
	vip := cohort.Cohort{ID: "v", OrgID: "org", Name: "VIP", Filter: cohort.Where(cohort.ContainsAny(cohort.FieldTags, "vip"))}
	list := cohort.Cohort{ID: "l", OrgID: "org", Name: "List", Contacts: &cohort.ContactList{PatientIDs: []string{"p00", "p01", "p07", "p19", "zz-deleted"}}}

	tests := []struct {
		name    string
		cohorts []cohort.Cohort
		want    []string
	}{
		{"none", nil, nil},
		{"one filter", []cohort.Cohort{vip}, []string{"p00", "p03", "p06", "p09", "p12", "p15", "p18"}},
		{"two overlapping filters", []cohort.Cohort{active, vip}, []string{"p00", "p02", "p03", "p04", "p06", "p08", "p09", "p10", "p12", "p14", "p15", "p16", "p18"}},
		{"list only", []cohort.Cohort{list}, []string{"p00", "p01", "p07", "p19"}},
		{"filter and list", []cohort.Cohort{vip, list}, []string{"p00", "p01", "p03", "p06", "p07", "p09", "p12", "p15", "p18", "p19"}},
		{"same cohort twice", []cohort.Cohort{vip, vip, list, list}, []string{"p00", "p01", "p03", "p06", "p07", "p09", "p12", "p15", "p18", "p19"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ids(t, cohort.Resolve(ctx, ps, "org", tt.cohorts, testNow))
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestResolveRejectsForeignCohort(t *testing.T) {
	ps := cohort.NewMemPatientStore()
	ps.Put("org", carecast.Patient{ID: "a"})
	c := cohort.Cohort{ID: "x", OrgID: "other", Name: "X"}
	for _, err := range cohort.Resolve(context.Background(), ps, "org", []cohort.Cohort{c}, testNow) {
		require.ErrorIs(t, err, cohort.ErrInvalidCohort)
		return
	}
	t.Fatal("no error yielded")
}

func TestMemPatientStorePutOrdersAndReplaces(t *testing.T) {
	ps := cohort.NewMemPatientStore()
	ps.Put("org", carecast.Patient{ID: "m"}, carecast.Patient{ID: "b"}, carecast.Patient{ID: "b", FirstName: "second"})
	ps.Put("org", carecast.Patient{ID: "z"})
	ps.Put("org", carecast.Patient{ID: "a"}, carecast.Patient{ID: "m", FirstName: "new"})
	var big []carecast.Patient
	for i := range 100 {
		big = append(big, carecast.Patient{ID: fmt.Sprintf("c%03d", i)})
	}
	ps.Put("org", big...)
	got := ids(t, ps.Patients(context.Background(), "org", cohort.Query{}))
	require.Len(t, got, 104)
	assert.Equal(t, []string{"a", "b", "c000"}, got[:3])
	assert.Equal(t, []string{"c099", "m", "z"}, got[101:])
	byID, err := ps.PatientsByID(context.Background(), "org", []string{"m", "b", "nope", "b"})
	require.NoError(t, err)
	require.Len(t, byID, 2)
	assert.Equal(t, "second", byID[0].FirstName)
	assert.Equal(t, "new", byID[1].FirstName)
}

func TestMemPatientStoreChangeWhileStreaming(t *testing.T) {
	ctx := context.Background()
	ps := cohort.NewMemPatientStore()
	var all []carecast.Patient
	for i := range 1000 {
		all = append(all, carecast.Patient{ID: fmt.Sprintf("p%04d", i)})
	}
	ps.Put("org", all...)
	n := 0
	for p, err := range ps.Patients(ctx, "org", cohort.Query{}) {
		require.NoError(t, err)
		// The consumer writes to the store mid-stream: must not deadlock.
		require.NoError(t, ps.ApplyContactChange(ctx, "org", cohort.ContactChange{PatientID: p.ID, Kind: cohort.ChangeSMSOptOut, At: testNow, Source: "test"}))
		n++
	}
	assert.Equal(t, 1000, n)
	out := ids(t, ps.Patients(ctx, "org", cohort.Query{Filter: cohort.Where(cohort.BoolIs(cohort.FieldSMSOptedOut, true))}))
	assert.Len(t, out, 1000)
	assert.Len(t, ps.ContactChanges("org"), 1000)
	err := ps.ApplyContactChange(ctx, "org", cohort.ContactChange{PatientID: "missing", Kind: cohort.ChangeSMSOptOut})
	assert.True(t, errors.Is(err, cohort.ErrNotFound))
}

// TestMemPatientStoreConcurrent runs writers and readers together; run
// with -race. Every stream must stay in strictly ascending ID order and
// see each patient at most once, whatever the writers do.
func TestMemPatientStoreConcurrent(t *testing.T) {
	ctx := context.Background()
	ps := cohort.NewMemPatientStore()
	var seed []carecast.Patient
	for i := range 2000 {
		seed = append(seed, carecast.Patient{ID: fmt.Sprintf("p%05d", i*2), Active: true})
	}
	ps.Put("org", seed...)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				ps.Put("org", carecast.Patient{ID: fmt.Sprintf("p%05d", (i*7+w)*2+1)})
				_ = ps.ApplyContactChange(ctx, "org", cohort.ContactChange{PatientID: fmt.Sprintf("p%05d", i*2), Kind: cohort.ChangeSMSOptOut})
				if i%50 == 0 {
					ps.Delete("org", fmt.Sprintf("p%05d", i*2+2))
				}
				_, _ = ps.FindByContact(ctx, "org", "+12125550101")
			}
		}()
	}
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				last := ""
				for p, err := range ps.Patients(ctx, "org", cohort.Query{}) {
					if err != nil {
						t.Error(err)
						return
					}
					if p.ID <= last {
						t.Errorf("order broken: %s after %s", p.ID, last)
						return
					}
					last = p.ID
				}
			}
		}()
	}
	wg.Wait()
}
