package cohorttest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
)

// Harness describes the PatientStore under test.
type Harness struct {
	// NewStore returns a store holding exactly the given patients per
	// organisation, built with Schema() as its attribute schema and "US"
	// as its phone region. It is called once per subtest, so tests that
	// change patients do not affect each other; use t.Cleanup to release
	// resources.
	NewStore func(t *testing.T, patients map[string][]carecast.Patient) cohort.PatientStore

	// ReadOnly skips the ApplyContactChange tests, for a store whose
	// host records contact changes elsewhere.
	ReadOnly bool

	// GlobalIDs says patient IDs are unique across organisations in the
	// host's database. By default OrgB has a patient with the same ID as
	// one of OrgA's ("a01"), to catch stores that look patients up by ID
	// alone; with GlobalIDs that patient is named "b01" instead.
	GlobalIDs bool
}

// otherA01 returns the ID of OrgB's patient who mirrors OrgA's a01.
func (h Harness) otherA01() string {
	if h.GlobalIDs {
		return "b01"
	}
	return "a01"
}

// fixtures returns the fixture patients adjusted for the harness.
func (h Harness) fixtures() map[string][]carecast.Patient {
	ps := Patients()
	ps[OrgB][0].ID = h.otherA01()
	return ps
}

// Run runs the conformance suite against the store h builds. Each check is
// a subtest named after the behaviour it verifies.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.NewStore == nil {
		t.Fatal("cohorttest: Harness.NewStore is nil")
	}
	newStore := func(t *testing.T) cohort.PatientStore {
		t.Helper()
		return h.NewStore(t, h.fixtures())
	}
	t.Run("FilterSemantics", func(t *testing.T) {
		ps := newStore(t)
		for _, c := range Cases() {
			t.Run(c.Name, func(t *testing.T) {
				f, err := c.Filter()
				if err != nil {
					t.Fatalf("decode filter: %v", err)
				}
				got := collect(t, ps.Patients(context.Background(), OrgA, cohort.Query{Filter: f, Now: c.When()}))
				equalIDs(t, got, c.Want)
				if pc, ok := ps.(cohort.PatientCounter); ok {
					n, err := pc.Count(context.Background(), OrgA, cohort.Query{Filter: f, Now: c.When()})
					if err != nil {
						t.Fatalf("Count: %v", err)
					}
					if n != len(c.Want) {
						t.Errorf("Count = %d, want %d", n, len(c.Want))
					}
				}
			})
		}
	})
	t.Run("InvalidFilters", func(t *testing.T) { testInvalid(t, newStore(t)) })
	t.Run("Ordering", func(t *testing.T) { testOrdering(t, h) })
	t.Run("AfterID", func(t *testing.T) { testAfterID(t, newStore(t)) })
	t.Run("EarlyBreakAndCancel", func(t *testing.T) { testBreak(t, newStore(t)) })
	t.Run("TenantIsolation", func(t *testing.T) { testIsolation(t, newStore(t), h) })
	t.Run("PatientsByID", func(t *testing.T) { testByID(t, newStore(t)) })
	t.Run("Search", func(t *testing.T) { testSearch(t, newStore(t)) })
	t.Run("FindByContact", func(t *testing.T) { testFindByContact(t, newStore(t)) })
	if !h.ReadOnly {
		t.Run("ApplyContactChange", func(t *testing.T) { testChanges(t, newStore(t)) })
	}
	t.Run("Resolve", func(t *testing.T) { testResolve(t, newStore(t)) })
	t.Run("ContactList", func(t *testing.T) { testContactList(t, newStore(t), h.otherA01()) })
	t.Run("Preview", func(t *testing.T) { testPreview(t, newStore(t)) })
}

// collect drains a patient stream, failing on error.
func collect(t *testing.T, seq func(func(carecast.Patient, error) bool)) []string {
	t.Helper()
	out := []string{}
	for p, err := range seq {
		if err != nil {
			t.Fatalf("stream error: %v", err)
		}
		out = append(out, p.ID)
	}
	return out
}

// equalIDs fails unless got equals want (nil and empty are equal).
func equalIDs(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Errorf("got patients %v, want %v", got, want)
	}
}

func patientIDs(ps []carecast.Patient) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func testInvalid(t *testing.T, ps cohort.PatientStore) {
	for _, c := range InvalidCases() {
		t.Run(c.Name, func(t *testing.T) {
			var f cohort.Filter
			err := f.UnmarshalJSON([]byte(c.JSON))
			if err == nil {
				// A well-formed document the store must reject.
				for _, e := range ps.Patients(context.Background(), OrgA, cohort.Query{Filter: f, Now: Now()}) {
					if e == nil {
						t.Fatal("store yielded a patient for an invalid filter")
					}
					err = e
					break
				}
			}
			var fe *cohort.FilterError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *cohort.FilterError", err)
			}
			if fe.Code != c.Code {
				t.Errorf("code = %s, want %s (%v)", fe.Code, c.Code, err)
			}
			if !errors.Is(err, cohort.ErrInvalidFilter) {
				t.Errorf("error %v is not ErrInvalidFilter", err)
			}
		})
	}
}

func testOrdering(t *testing.T, h Harness) {
	// Byte-wise order: upper case before lower case, digits before
	// letters, multi-byte UTF-8 last; no locale collation.
	ids := []string{"b", "B", "a", "_x", "a-1", "a1", "a10", "a2", "é", "Z", "0"}
	var ps []carecast.Patient
	for _, id := range ids {
		ps = append(ps, carecast.Patient{ID: id, Active: true})
	}
	store := h.NewStore(t, map[string][]carecast.Patient{OrgA: ps})
	want := slices.Clone(ids)
	slices.Sort(want)
	got := collect(t, store.Patients(context.Background(), OrgA, cohort.Query{Now: Now()}))
	equalIDs(t, got, want)
	byID, err := store.PatientsByID(context.Background(), OrgA, ids)
	if err != nil {
		t.Fatal(err)
	}
	equalIDs(t, patientIDs(byID), want)
}

func testAfterID(t *testing.T, ps cohort.PatientStore) {
	got := collect(t, ps.Patients(context.Background(), OrgA, cohort.Query{Now: Now(), AfterID: "a05"}))
	equalIDs(t, got, []string{"a06", "a07", "a08", "a09", "a10"})
	vip := cohort.Where(cohort.ContainsAny(cohort.FieldTags, "vip"))
	got = collect(t, ps.Patients(context.Background(), OrgA, cohort.Query{Filter: vip, Now: Now(), AfterID: "a05"}))
	equalIDs(t, got, []string{"a07", "a09"})
	got = collect(t, ps.Patients(context.Background(), OrgA, cohort.Query{Now: Now(), AfterID: "a045"}))
	equalIDs(t, got, []string{"a05", "a06", "a07", "a08", "a09", "a10"})
}

func testBreak(t *testing.T, ps cohort.PatientStore) {
	ctx := context.Background()
	n := 0
	for _, err := range ps.Patients(ctx, OrgA, cohort.Query{Now: Now()}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n == 2 {
			break
		}
	}
	// The store must still work after an abandoned stream.
	got := collect(t, ps.Patients(ctx, OrgA, cohort.Query{Now: Now()}))
	equalIDs(t, got, allA())

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	var sawErr error
	for _, err := range ps.Patients(cctx, OrgA, cohort.Query{Now: Now()}) {
		if err != nil {
			sawErr = err
			break
		}
	}
	if !errors.Is(sawErr, context.Canceled) {
		t.Errorf("cancelled stream ended with %v, want context.Canceled", sawErr)
	}
}

func testIsolation(t *testing.T, ps cohort.PatientStore, h Harness) {
	ctx := context.Background()
	other := h.otherA01()
	got := collect(t, ps.Patients(ctx, OrgB, cohort.Query{Now: Now()}))
	equalIDs(t, got, []string{other, "b02"})
	got = collect(t, ps.Patients(ctx, "org-none", cohort.Query{Now: Now()}))
	equalIDs(t, got, nil)

	byID, err := ps.PatientsByID(ctx, OrgA, []string{"a01", "b02"})
	if err != nil {
		t.Fatal(err)
	}
	if len(byID) != 1 || byID[0].LastName != "Lee" {
		t.Errorf("PatientsByID(OrgA, a01, b02) = %v, want only OrgA's a01 (Lee)", patientIDs(byID))
	}
	found, err := ps.FindByContact(ctx, OrgB, "+12125550101")
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].LastName != "Other" {
		t.Errorf("FindByContact(OrgB) = %v, want OrgB's a01 only", patientIDs(found))
	}
	res, err := ps.Search(ctx, OrgB, "ann", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].LastName != "Other" {
		t.Errorf("Search(OrgB, ann) = %v, want OrgB's a01 only", patientIDs(res))
	}
	if h.ReadOnly {
		return
	}
	err = ps.ApplyContactChange(ctx, OrgA, cohort.ContactChange{PatientID: "b02", Kind: cohort.ChangeSMSOptOut, At: Now(), Source: "test"})
	if !errors.Is(err, cohort.ErrNotFound) {
		t.Errorf("ApplyContactChange to another org's patient: %v, want ErrNotFound", err)
	}
	if err := ps.ApplyContactChange(ctx, OrgA, cohort.ContactChange{PatientID: "a01", Kind: cohort.ChangeSMSOptOut, At: Now(), Source: "test"}); err != nil {
		t.Fatal(err)
	}
	bs, err := ps.PatientsByID(ctx, OrgB, []string{other})
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 1 || bs[0].Consent.SMSOptedOut {
		t.Error("a change to OrgA's a01 leaked into OrgB's a01")
	}
}

func testByID(t *testing.T, ps cohort.PatientStore) {
	ctx := context.Background()
	got, err := ps.PatientsByID(ctx, OrgA, []string{"a09", "a01", "missing", "a01", "a05"})
	if err != nil {
		t.Fatal(err)
	}
	equalIDs(t, patientIDs(got), []string{"a01", "a05", "a09"})
	if len(got) == 3 {
		p := got[0]
		if p.FirstName != "Ann" || p.Email != "ann@example.com" || !p.HasTag("vip") || p.Attributes[AttrTotalSpent].Money != 1200*carecast.Unit {
			t.Errorf("PatientsByID lost fields of a01: %+v", p)
		}
		if !got[1].DateOfBirth.Valid() || got[1].DateOfBirth != carecast.NewDate(1956, 2, 29) {
			t.Errorf("date of birth of a05 = %v", got[1].DateOfBirth)
		}
	}
	none, err := ps.PatientsByID(ctx, OrgA, nil)
	if err != nil || len(none) != 0 {
		t.Errorf("PatientsByID(nil) = %v, %v; want none", patientIDs(none), err)
	}
}

func testSearch(t *testing.T, ps cohort.PatientStore) {
	tests := []struct {
		query string
		limit int
		want  []string
	}{
		{"ann", 10, []string{"a01", "a10"}}, // a10 shares the family email
		{"LEE", 10, []string{"a01"}},
		{"ann lee", 10, []string{"a01"}},
		{"ivy@", 10, []string{"a09"}},
		{"555-0108", 10, []string{"a08"}},
		{"2125550102", 10, []string{"a02"}}, // stored in national format
		{"example.com", 3, []string{"a01", "a02", "a04"}},
		{"zzz", 10, nil},
		{"", 10, nil},
		{"   ", 10, nil},
		{"ann", 0, nil},
		{"%", 10, nil},
		{"_", 10, nil},
	}
	for _, tt := range tests {
		got, err := ps.Search(context.Background(), OrgA, tt.query, tt.limit)
		if err != nil {
			t.Fatalf("Search(%q): %v", tt.query, err)
		}
		if ids := patientIDs(got); !(len(ids) == 0 && len(tt.want) == 0) && !slices.Equal(ids, tt.want) {
			t.Errorf("Search(%q, %d) = %v, want %v", tt.query, tt.limit, ids, tt.want)
		}
	}
}

func testFindByContact(t *testing.T, ps cohort.PatientStore) {
	tests := []struct {
		contact string
		want    []string
	}{
		{"+12125550101", []string{"a01"}},
		{"+12125550102", []string{"a02"}}, // stored as "(212) 555-0102"
		{"bob@example.com", []string{"a02"}},
		{"ivy@example.com", []string{"a09"}},
		{"ann@example.com", []string{"a01", "a10"}},
		{"+447911123456", []string{"a06"}},
		{"+19999999999", nil},
		{"nobody@example.com", nil},
	}
	for _, tt := range tests {
		got, err := ps.FindByContact(context.Background(), OrgA, tt.contact)
		if err != nil {
			t.Fatalf("FindByContact: %v", err)
		}
		if ids := patientIDs(got); !(len(ids) == 0 && len(tt.want) == 0) && !slices.Equal(ids, tt.want) {
			t.Errorf("FindByContact(%q) = %v, want %v", tt.contact, ids, tt.want)
		}
	}
	cm, ok := ps.(cohort.ContactMatcher)
	if !ok {
		return
	}
	contacts := make([]string, len(tests))
	for i, tt := range tests {
		contacts[i] = tt.contact
	}
	got, err := cm.MatchContacts(context.Background(), OrgA, contacts)
	if err != nil {
		t.Fatalf("MatchContacts: %v", err)
	}
	for _, tt := range tests {
		if ids := got[tt.contact]; !(len(ids) == 0 && len(tt.want) == 0) && !slices.Equal(ids, tt.want) {
			t.Errorf("MatchContacts[%q] = %v, want %v", tt.contact, ids, tt.want)
		}
	}
}

func testChanges(t *testing.T, ps cohort.PatientStore) {
	ctx := context.Background()
	get := func(id string) carecast.Patient {
		t.Helper()
		got, err := ps.PatientsByID(ctx, OrgA, []string{id})
		if err != nil || len(got) != 1 {
			t.Fatalf("PatientsByID(%s) = %d patients, %v", id, len(got), err)
		}
		return got[0]
	}
	apply := func(id string, k cohort.ChangeKind) {
		t.Helper()
		for range 2 { // applying twice is harmless
			if err := ps.ApplyContactChange(ctx, OrgA, cohort.ContactChange{PatientID: id, Kind: k, At: Now(), Source: "cohorttest"}); err != nil {
				t.Fatalf("ApplyContactChange(%s, %s): %v", id, k, err)
			}
		}
	}
	apply("a01", cohort.ChangeSMSOptOut)
	if !get("a01").Consent.SMSOptedOut {
		t.Error("STOP did not set SMSOptedOut")
	}
	got := collect(t, ps.Patients(ctx, OrgA, cohort.Query{Filter: cohort.Where(cohort.BoolIs(cohort.FieldSMSOptedOut, true)), Now: Now()}))
	equalIDs(t, got, []string{"a01", "a02", "a07"})

	apply("a02", cohort.ChangeSMSOptIn)
	if get("a02").Consent.SMSOptedOut {
		t.Error("START did not clear SMSOptedOut")
	}
	apply("a01", cohort.ChangeEmailUnsubscribe)
	if c := get("a01").Consent; !c.EmailUnsubscribed || c.EmailMarketingOptIn {
		t.Errorf("unsubscribe: consent %+v, want unsubscribed and no marketing opt-in", c)
	}
	apply("a01", cohort.ChangeEmailResubscribe)
	if get("a01").Consent.EmailUnsubscribed {
		t.Error("resubscribe did not clear EmailUnsubscribed")
	}
	apply("a08", cohort.ChangeEmailSuppress)
	if !get("a08").Consent.EmailSuppressed {
		t.Error("suppression not recorded")
	}
	apply("a10", cohort.ChangePhoneLandline)
	if get("a10").PhoneLineType != carecast.LineLandline {
		t.Error("landline not recorded")
	}
	if p := get("a10"); p.FirstName != "Jon" || p.Attributes[AttrMembership].String != "platinum" {
		t.Errorf("a contact change damaged other fields: %+v", p)
	}
	apply("a09", cohort.ChangePhoneMobile)
	if get("a09").PhoneLineType != carecast.LineMobile {
		t.Error("mobile line type not recorded")
	}
	apply("a09", cohort.ChangePhoneVoIP)
	if get("a09").PhoneLineType != carecast.LineVoIP {
		t.Error("VoIP line type not recorded")
	}
	err := ps.ApplyContactChange(ctx, OrgA, cohort.ContactChange{PatientID: "nobody", Kind: cohort.ChangeSMSOptOut, At: Now()})
	if !errors.Is(err, cohort.ErrNotFound) {
		t.Errorf("unknown patient: %v, want ErrNotFound", err)
	}
	err = ps.ApplyContactChange(ctx, OrgA, cohort.ContactChange{PatientID: "a01", Kind: "teleport", At: Now()})
	if !errors.Is(err, cohort.ErrInvalidChange) {
		t.Errorf("unknown kind: %v, want ErrInvalidChange", err)
	}
}

func testResolve(t *testing.T, ps cohort.PatientStore) {
	ctx := context.Background()
	f := func(id string, e cohort.Expr) cohort.Cohort {
		return cohort.Cohort{ID: id, OrgID: OrgA, Name: id, Filter: cohort.Where(e)}
	}
	vip := f("vip", cohort.ContainsAny(cohort.FieldTags, "vip"))
	downtown := f("downtown", cohort.StringIs(cohort.FieldLocation, "downtown"))
	lapsed := f("lapsed", cohort.Not(cohort.WithinLastDays(cohort.FieldLastVisit, 365)))
	list := cohort.Cohort{ID: "list", OrgID: OrgA, Name: "list", Contacts: &cohort.ContactList{
		Contacts: []string{"x"}, PatientIDs: []string{"a02", "a05", "a10", "deleted"},
	}}
	tests := []struct {
		name    string
		cohorts []cohort.Cohort
		want    []string
	}{
		{"single", []cohort.Cohort{vip}, []string{"a01", "a05", "a07", "a09"}},
		{"overlapping", []cohort.Cohort{vip, downtown, lapsed}, []string{"a01", "a03", "a04", "a05", "a07", "a08", "a09"}},
		{"repeated", []cohort.Cohort{vip, vip}, []string{"a01", "a05", "a07", "a09"}},
		{"filter and list", []cohort.Cohort{downtown, list}, []string{"a01", "a02", "a03", "a05", "a08", "a10"}},
		{"list only", []cohort.Cohort{list}, []string{"a02", "a05", "a10"}},
		{"everyone", []cohort.Cohort{{ID: "all", OrgID: OrgA, Name: "All"}, list}, allA()},
		{"none", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := collect(t, cohort.Resolve(ctx, ps, OrgA, tt.cohorts, Now()))
			equalIDs(t, got, tt.want)
		})
	}
}

func testContactList(t *testing.T, ps cohort.PatientStore, otherA01 string) {
	ctx := context.Background()
	text := "\ufeffName,Phone,Email\r\n" +
		"Ann,+1 212 555 0101,ANN@example.com\r\n" + // a01 by phone; a01 and a10 by family email
		"\"Diaz, Bob\",(212) 555-0102,\r\n" + // a02, stored in national format
		"Ivy,,ivy@example.com\r\n" + // a09 (stored upper case)
		"Nobody,+1 212 555 0177,\r\n" + // valid, unmatched
		"Bad,12,not-an-email\r\n" + // invalid
		"Dup,+12125550101,\r\n" // duplicate
	res, err := cohort.ParseContacts(text, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Detected != 5 || res.Duplicates != 1 || res.Invalid != 1 || !res.Header {
		t.Fatalf("parse stats %+v, want 5 detected, 1 duplicate, 1 invalid, header", res.ParseStats)
	}
	cl, err := cohort.MatchContacts(ctx, ps, OrgA, res.Contacts, Now())
	if err != nil {
		t.Fatal(err)
	}
	equalIDs(t, cl.PatientIDs, []string{"a01", "a02", "a09", "a10"})
	equalIDs(t, cl.Unmatched, []string{"+12125550177"})
	c := cohort.Cohort{ID: "l", OrgID: OrgA, Name: "Imported", Contacts: cl}
	if c.Summary() != "Custom list · 5 contacts" {
		t.Errorf("summary %q", c.Summary())
	}
	got := collect(t, cohort.Resolve(ctx, ps, OrgA, []cohort.Cohort{c}, Now()))
	equalIDs(t, got, []string{"a01", "a02", "a09", "a10"})
	// The same contacts matched in another organisation find its patients only.
	clB, err := cohort.MatchContacts(ctx, ps, OrgB, res.Contacts, Now())
	if err != nil {
		t.Fatal(err)
	}
	equalIDs(t, clB.PatientIDs, []string{otherA01})
}

func testPreview(t *testing.T, ps cohort.PatientStore) {
	f := cohort.Where(cohort.ContainsAny(cohort.FieldTags, "vip"))
	pv, err := cohort.Preview(context.Background(), ps, OrgA, f, Now(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if pv.Count != 4 {
		t.Errorf("preview count %d, want 4", pv.Count)
	}
	equalIDs(t, patientIDs(pv.Samples), []string{"a01", "a05"})
	_, err = cohort.Preview(context.Background(), ps, OrgA, cohort.Where(cohort.IsSet("shoe_size")), Now(), 2)
	if !errors.Is(err, cohort.ErrInvalidFilter) {
		t.Errorf("preview of an invalid filter: %v, want ErrInvalidFilter", err)
	}
}
