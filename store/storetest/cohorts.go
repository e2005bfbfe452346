package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast/cohort"
)

// RunCohorts runs the conformance suite of cohort.Store (saved cohorts)
// against the stores newStore returns, each new and empty. The SQL stores
// of this module implement cohort.Store next to store.Store, so a host can
// keep cohorts in the same database as the ledger.
func RunCohorts(t *testing.T, newStore func(t *testing.T) cohort.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s cohort.Store)
	}{
		{"SaveAssignsIDAndTimes", testCohortSave},
		{"ReplaceKeepsCreatedAt", testCohortReplace},
		{"ListOrderedByNameThenID", testCohortList},
		{"DeleteAndNotFound", testCohortDelete},
		{"RejectsInvalidCohorts", testCohortInvalid},
		{"ContactListRoundTrip", testCohortContacts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

func sampleFilter(t *testing.T) cohort.Filter {
	t.Helper()
	f, err := cohort.ParseFilter([]byte(`{"version":1,"where":{"not":{"field":"last_visit","op":"within_last_days","days":365}}}`))
	require.NoError(t, err)
	return f
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func testCohortSave(t *testing.T, s cohort.Store) {
	ctx := context.Background()
	before := time.Now().Add(-time.Minute)
	c, err := s.SaveCohort(ctx, cohort.Cohort{OrgID: orgA, Name: "Lapsed patients", Filter: sampleFilter(t)})
	require.NoError(t, err)
	assert.NotEmpty(t, c.ID, "an ID is assigned")
	assert.False(t, c.CreatedAt.Before(before), "CreatedAt set")
	assert.True(t, c.UpdatedAt.Equal(c.CreatedAt), "UpdatedAt equals CreatedAt on creation")
	got, err := s.Cohort(ctx, orgA, c.ID)
	require.NoError(t, err)
	assert.Equal(t, "Lapsed patients", got.Name)
	assert.Equal(t, orgA, got.OrgID)
	assert.Equal(t, jsonOf(t, c.Filter), jsonOf(t, got.Filter), "the filter round-trips")
	sameTime(t, c.CreatedAt, got.CreatedAt, "CreatedAt")

	// The returned cohort is the caller's: changing it changes nothing stored.
	got.Name = "changed"
	again, err := s.Cohort(ctx, orgA, c.ID)
	require.NoError(t, err)
	assert.Equal(t, "Lapsed patients", again.Name)

	other, err := s.SaveCohort(ctx, cohort.Cohort{OrgID: orgA, Name: "Second"})
	require.NoError(t, err)
	assert.NotEqual(t, c.ID, other.ID, "IDs are unique")
}

func testCohortReplace(t *testing.T, s cohort.Store) {
	ctx := context.Background()
	c, err := s.SaveCohort(ctx, cohort.Cohort{ID: "fixed", OrgID: orgA, Name: "First"})
	require.NoError(t, err)
	assert.Equal(t, "fixed", c.ID, "a given ID is kept")
	c.Name = "Renamed"
	c.Filter = sampleFilter(t)
	up, err := s.SaveCohort(ctx, c)
	require.NoError(t, err)
	sameTime(t, c.CreatedAt, up.CreatedAt, "CreatedAt kept on replace")
	assert.False(t, up.UpdatedAt.Before(c.UpdatedAt), "UpdatedAt moves forward")
	got, err := s.Cohort(ctx, orgA, "fixed")
	require.NoError(t, err)
	assert.Equal(t, "Renamed", got.Name)
	assert.Equal(t, jsonOf(t, c.Filter), jsonOf(t, got.Filter))
	list, err := s.Cohorts(ctx, orgA)
	require.NoError(t, err)
	assert.Len(t, list, 1, "replaced, not duplicated")

	// The same ID in another organization is another cohort.
	_, err = s.SaveCohort(ctx, cohort.Cohort{ID: "fixed", OrgID: orgB, Name: "Theirs"})
	require.NoError(t, err)
	got, err = s.Cohort(ctx, orgA, "fixed")
	require.NoError(t, err)
	assert.Equal(t, "Renamed", got.Name)
}

func testCohortList(t *testing.T, s cohort.Store) {
	ctx := context.Background()
	for _, c := range []cohort.Cohort{
		{ID: "c3", OrgID: orgA, Name: "beta"}, {ID: "c1", OrgID: orgA, Name: "Alpha"},
		{ID: "c2", OrgID: orgA, Name: "beta"}, {ID: "x", OrgID: orgB, Name: "Other org"},
	} {
		_, err := s.SaveCohort(ctx, c)
		require.NoError(t, err)
	}
	list, err := s.Cohorts(ctx, orgA)
	require.NoError(t, err)
	var ids []string
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	assert.Equal(t, []string{"c1", "c2", "c3"}, ids, "by name (byte order), then ID; other organizations excluded")
	none, err := s.Cohorts(ctx, "org-empty")
	require.NoError(t, err)
	assert.Empty(t, none)
}

func testCohortDelete(t *testing.T, s cohort.Store) {
	ctx := context.Background()
	c, err := s.SaveCohort(ctx, cohort.Cohort{OrgID: orgA, Name: "Doomed"})
	require.NoError(t, err)
	assert.ErrorIs(t, s.DeleteCohort(ctx, orgB, c.ID), cohort.ErrNotFound, "another organization cannot delete it")
	require.NoError(t, s.DeleteCohort(ctx, orgA, c.ID))
	_, err = s.Cohort(ctx, orgA, c.ID)
	assert.ErrorIs(t, err, cohort.ErrNotFound)
	assert.ErrorIs(t, s.DeleteCohort(ctx, orgA, c.ID), cohort.ErrNotFound, "deleting twice")
	_, err = s.Cohort(ctx, orgB, "missing")
	assert.ErrorIs(t, err, cohort.ErrNotFound)
}

func testCohortInvalid(t *testing.T, s cohort.Store) {
	ctx := context.Background()
	for name, c := range map[string]cohort.Cohort{
		"no organization": {Name: "x"},
		"blank name":      {OrgID: orgA, Name: "  "},
		"filter and list": {OrgID: orgA, Name: "x", Filter: sampleFilter(t), Contacts: &cohort.ContactList{}},
	} {
		_, err := s.SaveCohort(ctx, c)
		assert.ErrorIsf(t, err, cohort.ErrInvalidCohort, "%s", name)
	}
	list, err := s.Cohorts(ctx, orgA)
	require.NoError(t, err)
	assert.Empty(t, list, "nothing invalid was stored")
}

func testCohortContacts(t *testing.T, s cohort.Store) {
	ctx := context.Background()
	cl := &cohort.ContactList{Contacts: []string{"+12125550100", "ann@example.com"}, PatientIDs: []string{"p1", "p2"},
		Unmatched: []string{"bob@example.com"}, MatchedAt: T0}
	c, err := s.SaveCohort(ctx, cohort.Cohort{OrgID: orgA, Name: "Imported list", Contacts: cl})
	require.NoError(t, err)
	got, err := s.Cohort(ctx, orgA, c.ID)
	require.NoError(t, err)
	require.NotNil(t, got.Contacts)
	assert.Equal(t, cl.Contacts, got.Contacts.Contacts)
	assert.Equal(t, cl.PatientIDs, got.Contacts.PatientIDs)
	assert.Equal(t, cl.Unmatched, got.Contacts.Unmatched)
	sameTime(t, T0, got.Contacts.MatchedAt, "MatchedAt")
}
