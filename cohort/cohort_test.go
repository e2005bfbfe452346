package cohort_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
)

// fakeClock is a manually advanced clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestMemStore(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
	s := cohort.NewMemStoreWith(&cohort.MemStoreConfig{Now: clock.now})

	vip := cohort.Cohort{OrgID: "org", Name: "VIPs", Filter: cohort.Where(cohort.ContainsAny(cohort.FieldTags, "vip"))}
	saved, err := s.SaveCohort(ctx, vip)
	require.NoError(t, err)
	require.NotEmpty(t, saved.ID)
	assert.Equal(t, clock.t, saved.CreatedAt)
	assert.Equal(t, clock.t, saved.UpdatedAt)
	assert.Equal(t, vip.Filter, saved.Filter)

	clock.t = clock.t.Add(time.Hour)
	saved.Name = "Very important"
	updated, err := s.SaveCohort(ctx, saved)
	require.NoError(t, err)
	assert.Equal(t, saved.ID, updated.ID)
	assert.Equal(t, saved.CreatedAt, updated.CreatedAt, "CreatedAt is kept on update")
	assert.Equal(t, clock.t, updated.UpdatedAt)

	list := cohort.Cohort{OrgID: "org", Name: "Imported", Contacts: &cohort.ContactList{
		Contacts: []string{"+12125550101"}, PatientIDs: []string{"a", "b"}, MatchedAt: clock.t,
	}}
	savedList, err := s.SaveCohort(ctx, list)
	require.NoError(t, err)
	assert.Equal(t, list.Contacts, savedList.Contacts)

	// Returned cohorts are copies: changing them changes nothing stored.
	savedList.Contacts.PatientIDs[0] = "zzz"
	again, err := s.Cohort(ctx, "org", savedList.ID)
	require.NoError(t, err)
	assert.Equal(t, "a", again.Contacts.PatientIDs[0])

	all, err := s.Cohorts(ctx, "org")
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, []string{"Imported", "Very important"}, []string{all[0].Name, all[1].Name})

	_, err = s.Cohort(ctx, "other-org", saved.ID)
	assert.True(t, errors.Is(err, cohort.ErrNotFound), "another org's cohort is not found: %v", err)
	assert.True(t, errors.Is(s.DeleteCohort(ctx, "other-org", saved.ID), cohort.ErrNotFound))
	require.NoError(t, s.DeleteCohort(ctx, "org", saved.ID))
	_, err = s.Cohort(ctx, "org", saved.ID)
	assert.True(t, errors.Is(err, cohort.ErrNotFound))
	assert.True(t, errors.Is(s.DeleteCohort(ctx, "org", saved.ID), cohort.ErrNotFound))
}

func TestCohortCheck(t *testing.T) {
	f := cohort.Where(cohort.IsSet(cohort.FieldTags))
	tests := []struct {
		name string
		c    cohort.Cohort
	}{
		{"no org", cohort.Cohort{Name: "x"}},
		{"blank name", cohort.Cohort{OrgID: "o", Name: "  "}},
		{"long name", cohort.Cohort{OrgID: "o", Name: strings.Repeat("é", cohort.MaxNameLength+1)}},
		{"list with filter", cohort.Cohort{OrgID: "o", Name: "x", Filter: f, Contacts: &cohort.ContactList{}}},
		{"unsorted list IDs", cohort.Cohort{OrgID: "o", Name: "x", Contacts: &cohort.ContactList{PatientIDs: []string{"b", "a"}}}},
		{"duplicate list IDs", cohort.Cohort{OrgID: "o", Name: "x", Contacts: &cohort.ContactList{PatientIDs: []string{"a", "a"}}}},
	}
	s := cohort.NewMemStore()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.SaveCohort(context.Background(), tt.c)
			assert.True(t, errors.Is(err, cohort.ErrInvalidCohort), "got %v", err)
		})
	}
}

func TestCohortJSON(t *testing.T) {
	c := cohort.Cohort{
		ID: "c1", OrgID: "org", Name: "Lapsed",
		Filter:    cohort.Where(cohort.Not(cohort.WithinLastDays(cohort.FieldLastVisit, 365))),
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), UpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	b, err := json.Marshal(c)
	require.NoError(t, err)
	assert.JSONEq(t, `{"version":1,"id":"c1","org_id":"org","name":"Lapsed",
		"filter":{"version":1,"where":{"not":{"field":"last_visit","op":"within_last_days","days":365}}},
		"created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05Z"}`, string(b))
	var back cohort.Cohort
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, c, back)

	l := cohort.Cohort{ID: "l", OrgID: "org", Name: "List", Contacts: &cohort.ContactList{Contacts: []string{"a@b.co"}, PatientIDs: []string{"p1"}}}
	b, err = json.Marshal(l)
	require.NoError(t, err)
	assert.NotContains(t, string(b), `"filter"`)
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, l, back)
	assert.Equal(t, "Custom list · 1 contact", back.Summary())

	for _, bad := range []string{
		`{"id":"x","org_id":"o","name":"n"}`,
		`{"version":9,"id":"x","org_id":"o","name":"n"}`,
		`{"version":1,"id":"x","org_id":"o","name":"n","colour":"red"}`,
		`{"version":1,"id":"x","org_id":"o","name":"n","contacts":{"contacts":[],"patient_ids":[],"extra":1}}`,
	} {
		assert.Error(t, json.Unmarshal([]byte(bad), &back), bad)
	}
}

func TestSchema(t *testing.T) {
	s, err := cohort.NewSchema(
		cohort.AttrDef{Key: "total_spent", Label: "Total spent", Category: "Billing", Type: carecast.AttrMoney},
		cohort.AttrDef{Key: "tier", Label: "Membership", Category: "Billing", Type: carecast.AttrEnum, Values: []string{"basic", "gold"}},
	)
	require.NoError(t, err)
	f, ok := s.Field("total_spent")
	require.True(t, ok)
	assert.False(t, f.Core)
	assert.Equal(t, cohort.OpsFor(carecast.AttrMoney), f.Ops)
	age, ok := s.Field(cohort.FieldAge)
	require.True(t, ok)
	assert.True(t, age.Core)

	cats := s.Categories()
	var names []string
	for _, c := range cats {
		names = append(names, c.Name)
	}
	assert.Equal(t, []string{"Demographics", "Care team", "Tags", "Status", "Scheduling", "Communication preferences", "Billing"}, names)
	assert.Len(t, cats[len(cats)-1].Fields, 2)

	b, err := json.Marshal(s)
	require.NoError(t, err)
	assert.Contains(t, string(b), `{"key":"tier","label":"Membership","category":"Billing","type":"enum","ops":["equals","in","is_set","is_not_set"],"values":["basic","gold"],"core":false}`)

	bad := []cohort.AttrDef{
		{Key: "Total", Label: "x", Category: "c", Type: carecast.AttrNumber},
		{Key: "age", Label: "x", Category: "c", Type: carecast.AttrNumber},
		{Key: "x", Label: "", Category: "c", Type: carecast.AttrNumber},
		{Key: "x", Label: "x", Category: "", Type: carecast.AttrNumber},
		{Key: "x", Label: "x", Category: "c", Type: "colour"},
		{Key: "x", Label: "x", Category: "c", Type: carecast.AttrEnum},
		{Key: "x", Label: "x", Category: "c", Type: carecast.AttrEnum, Values: []string{"a", "a"}},
		{Key: "x", Label: "x", Category: "c", Type: carecast.AttrNumber, Values: []string{"a"}},
	}
	for _, a := range bad {
		_, err := cohort.NewSchema(a)
		assert.True(t, errors.Is(err, cohort.ErrInvalidSchema), "%+v: %v", a, err)
	}
	_, err = cohort.NewSchema(cohort.AttrDef{Key: "x", Label: "x", Category: "c", Type: carecast.AttrBool}, cohort.AttrDef{Key: "x", Label: "y", Category: "c", Type: carecast.AttrBool})
	assert.True(t, errors.Is(err, cohort.ErrInvalidSchema))

	// A nil schema is the core-only schema.
	var none *cohort.Schema
	_, ok = none.Field(cohort.FieldTags)
	assert.True(t, ok)
	assert.Error(t, none.Validate(cohort.Where(cohort.IsSet("total_spent"))))
}

func TestSearchAndFindByContact(t *testing.T) {
	ctx := context.Background()
	ps, err := cohort.NewMemPatientStoreWith(&cohort.MemPatientStoreConfig{DefaultRegion: "GB"})
	require.NoError(t, err)
	ps.Put("org",
		carecast.Patient{ID: "1", FirstName: "Zoë", LastName: "Ødegaard", Phone: "07911 123456"},
		carecast.Patient{ID: "2", FirstName: "Al", Phone: "not a number", Email: "AL@X.CO"},
	)
	got, err := ps.Search(ctx, "org", "ZOË ØDE", 5)
	require.NoError(t, err)
	assert.Len(t, got, 1, "Unicode case folding")
	got, err = ps.FindByContact(ctx, "org", "+447911123456")
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "1", got[0].ID)
	got, err = ps.FindByContact(ctx, "org", "07911 123456")
	require.NoError(t, err)
	assert.Len(t, got, 1, "contact in national format is normalised in the store's region")
	got, err = ps.FindByContact(ctx, "org", "al@x.co")
	require.NoError(t, err)
	assert.Len(t, got, 1)
	// The index is rebuilt after Put.
	ps.Put("org", carecast.Patient{ID: "3", Email: "al@x.co"})
	got, err = ps.FindByContact(ctx, "org", "al@x.co")
	require.NoError(t, err)
	assert.Len(t, got, 2)
	ps.Delete("org", "2")
	got, err = ps.FindByContact(ctx, "org", "al@x.co")
	require.NoError(t, err)
	assert.Len(t, got, 1)
	assert.Equal(t, 2, ps.Len("org"))

	_, err = cohort.NewMemPatientStoreWith(&cohort.MemPatientStoreConfig{DefaultRegion: "Narnia"})
	assert.Error(t, err)
}

func TestSchemaChoices(t *testing.T) {
	s, err := cohort.NewSchemaWith(cohort.SchemaConfig{
		Choices: map[string][]string{cohort.FieldTags: {"vip", "newsletter"}, cohort.FieldLocation: {"downtown"}},
		Attributes: []cohort.AttrDef{
			{Key: "packages", Label: "Packages", Category: "Billing", Type: carecast.AttrStringSet, Values: []string{"botox", "peel"}},
		},
	})
	require.NoError(t, err)
	tags, _ := s.Field(cohort.FieldTags)
	assert.Equal(t, []string{"vip", "newsletter"}, tags.Values)
	assert.NoError(t, s.Validate(cohort.Where(cohort.ContainsAny(cohort.FieldTags, "vip"))))
	for _, e := range []cohort.Expr{
		cohort.ContainsAny(cohort.FieldTags, "vip", "vipp"),
		cohort.StringIs(cohort.FieldLocation, "uptown"),
		cohort.ContainsNone("packages", "facial"),
	} {
		var fe *cohort.FilterError
		require.ErrorAs(t, s.Validate(cohort.Where(e)), &fe)
		assert.Equal(t, cohort.CodeBadValue, fe.Code)
	}
	// Fields without choices accept any value.
	assert.NoError(t, s.Validate(cohort.Where(cohort.StringIs(cohort.FieldProvider, "anyone"))))

	for _, cfg := range []cohort.SchemaConfig{
		{Choices: map[string][]string{cohort.FieldAge: {"1"}}},
		{Choices: map[string][]string{cohort.FieldTags: {}}},
		{Choices: map[string][]string{cohort.FieldTags: {"a", "a"}}},
		{Attributes: []cohort.AttrDef{{Key: "n", Label: "N", Category: "c", Type: carecast.AttrMoney, Values: []string{"1"}}}},
	} {
		_, err := cohort.NewSchemaWith(cfg)
		assert.True(t, errors.Is(err, cohort.ErrInvalidSchema), "%+v: %v", cfg, err)
	}
}

func TestMemStoreValidatesFilters(t *testing.T) {
	s := cohort.NewMemStoreWith(&cohort.MemStoreConfig{Schema: mustSchema(t)})
	_, err := s.SaveCohort(context.Background(), cohort.Cohort{OrgID: "o", Name: "x", Filter: cohort.Where(cohort.IsSet("shoe_size"))})
	assert.True(t, errors.Is(err, cohort.ErrInvalidFilter), "got %v", err)
	_, err = s.SaveCohort(context.Background(), cohort.Cohort{OrgID: "o", Name: "x", Filter: cohort.Where(cohort.IsSet("total_spent"))})
	assert.NoError(t, err)
}

func mustSchema(t *testing.T) *cohort.Schema {
	t.Helper()
	s, err := cohort.NewSchema(cohort.AttrDef{Key: "total_spent", Label: "Total spent", Category: "Billing", Type: carecast.AttrMoney})
	require.NoError(t, err)
	return s
}
