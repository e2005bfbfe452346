package cohort

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// CohortVersion is the version of the Cohort JSON format.
const CohortVersion = 1

// MaxNameLength is the longest cohort name accepted, in characters.
const MaxNameLength = 200

// Cohort is a saved, named, reusable audience of one organisation: either
// a filter over its patients or a contact list (Contacts != nil, Filter
// zero). Blasts target one or more cohorts; see [Resolve].
//
// Cohorts encode to versioned JSON ({"version":1,…}); decoding rejects
// unknown fields.
type Cohort struct {
	// ID identifies the cohort within its organisation; Store.SaveCohort
	// assigns one when empty.
	ID string
	// OrgID is the owning organisation.
	OrgID string
	// Name is shown in the cohort picker ("Lapsed VIPs").
	Name string
	// Filter selects the patients of a filter cohort. It must be zero
	// for a contact-list cohort.
	Filter Filter
	// Contacts is the contact list of a list cohort, nil for filter
	// cohorts.
	Contacts *ContactList
	// CreatedAt and UpdatedAt are set by the Store.
	CreatedAt, UpdatedAt time.Time
}

// cohortJSON is the wire shape of Cohort.
type cohortJSON struct {
	Version   *int         `json:"version"`
	ID        string       `json:"id"`
	OrgID     string       `json:"org_id"`
	Name      string       `json:"name"`
	Filter    *Filter      `json:"filter,omitempty"`
	Contacts  *ContactList `json:"contacts,omitempty"`
	CreatedAt time.Time    `json:"created_at,omitzero"`
	UpdatedAt time.Time    `json:"updated_at,omitzero"`
}

// MarshalJSON encodes c with the format version. A list cohort has no
// "filter" member.
func (c Cohort) MarshalJSON() ([]byte, error) {
	v := CohortVersion
	w := cohortJSON{Version: &v, ID: c.ID, OrgID: c.OrgID, Name: c.Name, Contacts: c.Contacts, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	if c.Contacts == nil || c.Filter.Where != nil {
		w.Filter = &c.Filter
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes a cohort document, rejecting unknown fields and
// unsupported versions.
func (c *Cohort) UnmarshalJSON(b []byte) error {
	var w cohortJSON
	if err := decodeStrict(b, &w); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidCohort, err)
	}
	if w.Version == nil || *w.Version < 1 || *w.Version > CohortVersion {
		return fmt.Errorf("%w: missing or unsupported version (supported: 1..%d)", ErrInvalidCohort, CohortVersion)
	}
	*c = Cohort{ID: w.ID, OrgID: w.OrgID, Name: w.Name, Contacts: w.Contacts, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
	if w.Filter != nil {
		c.Filter = *w.Filter
	}
	return nil
}

// IsList reports whether c is a contact-list cohort.
func (c *Cohort) IsList() bool { return c.Contacts != nil }

// Summary describes the cohort for a picker: "Custom list · 3 contacts"
// for a list cohort, "Filter" for a filter cohort ("All patients" when the
// filter is empty).
func (c *Cohort) Summary() string {
	switch {
	case c.Contacts != nil:
		n := len(c.Contacts.Contacts)
		unit := "contacts"
		if n == 1 {
			unit = "contact"
		}
		return "Custom list · " + strconv.Itoa(n) + " " + unit
	case c.Filter.Where == nil:
		return "All patients"
	}
	return "Filter"
}

// Check reports structural problems that make c unusable: an empty
// organisation or name, a name longer than MaxNameLength or holding
// control characters, a filter value holding a NUL byte, a list cohort
// that also has a filter, or a contact list whose patient IDs are not
// sorted and unique. It does not validate the filter against a schema (see
// Schema.Validate). Errors have class ErrInvalidCohort.
func (c *Cohort) Check() error {
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrInvalidCohort, what) }
	switch {
	case c.OrgID == "":
		return bad("empty organisation ID")
	case strings.TrimSpace(c.Name) == "":
		return bad("empty name")
	case utf8.RuneCountInString(c.Name) > MaxNameLength:
		return bad(fmt.Sprintf("name longer than %d characters", MaxNameLength))
	case !printable(c.Name):
		return bad("name holds control characters or invalid UTF-8")
	case c.Filter.Where != nil && !printableExpr(c.Filter.Where):
		return bad("a filter value holds a NUL byte or invalid UTF-8")
	case c.Contacts != nil && c.Filter.Where != nil:
		return bad("a contact-list cohort cannot also have a filter")
	}
	if c.Contacts != nil {
		ids := c.Contacts.PatientIDs
		for i := 1; i < len(ids); i++ {
			if ids[i-1] >= ids[i] {
				return bad("contact list patient IDs must be sorted and unique")
			}
		}
	}
	return nil
}

// printable reports whether s is valid UTF-8 without control characters
// (a NUL byte in a name was refused by PostgreSQL, as a server fault).
func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}

// printableExpr reports whether every field and string operand of e is
// valid UTF-8 without a NUL byte, which no store keeps (PostgreSQL's jsonb
// refuses \u0000).
func printableExpr(e *Expr) bool {
	ok := func(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
	if e.Cond != nil {
		if !ok(e.Field) || !ok(string(e.Op)) {
			return false
		}
		for _, s := range e.Strings {
			if !ok(s) {
				return false
			}
		}
	}
	for _, sub := range [][]Expr{e.And, e.Or} {
		for i := range sub {
			if !printableExpr(&sub[i]) {
				return false
			}
		}
	}
	return e.Not == nil || printableExpr(e.Not)
}

// Store saves cohorts. Hosts may implement it over their database;
// MemStore is the in-memory implementation. Implementations must be safe
// for concurrent use and must return cohorts that the caller may modify.
type Store interface {
	// SaveCohort creates or replaces c (by OrgID and ID) and returns it as
	// stored: with an ID assigned if it was empty, CreatedAt kept from
	// the stored version (or set now) and UpdatedAt set now. It returns an
	// error of class ErrInvalidCohort for a cohort that fails Check, and
	// may reject an invalid filter with a *FilterError.
	SaveCohort(ctx context.Context, c Cohort) (Cohort, error) // assigns ID if empty
	// Cohort returns one cohort, or an error wrapping ErrNotFound if it is
	// missing or belongs to another organisation.
	Cohort(ctx context.Context, orgID, id string) (Cohort, error) // ErrNotFound if missing or other org
	// Cohorts returns the organisation's cohorts ordered by name, then ID.
	Cohorts(ctx context.Context, orgID string) ([]Cohort, error)
	// DeleteCohort removes a cohort; an error wrapping ErrNotFound if it
	// is missing or belongs to another organisation.
	DeleteCohort(ctx context.Context, orgID, id string) error
}

// MemStoreConfig configures NewMemStoreWith.
type MemStoreConfig struct {
	// Now returns the current time for CreatedAt and UpdatedAt. Defaults
	// to time.Now.
	Now func() time.Time
	// Schema, if set, makes SaveCohort validate filters against it
	// (rejecting invalid ones with a *FilterError). Defaults to nil: only
	// Cohort.Check runs.
	Schema *Schema
}

// MemStore is an in-memory Store, safe for concurrent use. It keeps each
// cohort as its JSON encoding, so what it returns is always a fresh copy
// and every saved cohort has proven to round-trip.
type MemStore struct {
	now    func() time.Time
	schema *Schema // nil: no filter validation

	mu   sync.RWMutex
	orgs map[string]map[string][]byte
}

// NewMemStore returns an empty MemStore using the wall clock.
func NewMemStore() *MemStore { return NewMemStoreWith(nil) }

// NewMemStoreWith returns an empty MemStore configured by cfg (nil accepts
// the defaults).
func NewMemStoreWith(cfg *MemStoreConfig) *MemStore {
	s := &MemStore{now: time.Now, orgs: map[string]map[string][]byte{}}
	if cfg != nil && cfg.Now != nil {
		s.now = cfg.Now
	}
	if cfg != nil {
		s.schema = cfg.Schema
	}
	return s
}

// SaveCohort implements Store.
func (s *MemStore) SaveCohort(ctx context.Context, c Cohort) (Cohort, error) {
	if err := ctx.Err(); err != nil {
		return Cohort{}, err
	}
	if err := c.Check(); err != nil {
		return Cohort{}, err
	}
	if s.schema != nil {
		if err := s.schema.Validate(c.Filter); err != nil {
			return Cohort{}, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	org := s.orgs[c.OrgID]
	if org == nil {
		org = map[string][]byte{}
		s.orgs[c.OrgID] = org
	}
	now := s.now()
	if c.ID == "" {
		c.ID = newID()
	}
	c.CreatedAt = now
	if old, ok := org[c.ID]; ok {
		var prev Cohort
		if err := json.Unmarshal(old, &prev); err == nil {
			c.CreatedAt = prev.CreatedAt
		}
	}
	c.UpdatedAt = now
	b, err := json.Marshal(c)
	if err != nil {
		return Cohort{}, fmt.Errorf("cohort: encode cohort %s: %w", quoteName(c.ID), err)
	}
	org[c.ID] = b
	var out Cohort
	if err := json.Unmarshal(b, &out); err != nil {
		return Cohort{}, fmt.Errorf("cohort: decode cohort %s: %w", quoteName(c.ID), err)
	}
	return out, nil
}

// newID returns a random 128-bit hex identifier.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}

// Cohort implements Store.
func (s *MemStore) Cohort(ctx context.Context, orgID, id string) (Cohort, error) {
	if err := ctx.Err(); err != nil {
		return Cohort{}, err
	}
	s.mu.RLock()
	b, ok := s.orgs[orgID][id]
	s.mu.RUnlock()
	if !ok {
		return Cohort{}, fmt.Errorf("cohort: cohort %s: %w", quoteName(id), ErrNotFound)
	}
	var c Cohort
	if err := json.Unmarshal(b, &c); err != nil {
		return Cohort{}, fmt.Errorf("cohort: decode cohort %s: %w", quoteName(id), err)
	}
	return c, nil
}

// Cohorts implements Store.
func (s *MemStore) Cohorts(ctx context.Context, orgID string) ([]Cohort, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Cohort, 0, len(s.orgs[orgID]))
	for id, b := range s.orgs[orgID] {
		var c Cohort
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("cohort: decode cohort %s: %w", quoteName(id), err)
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Cohort) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// DeleteCohort implements Store.
func (s *MemStore) DeleteCohort(ctx context.Context, orgID, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.orgs[orgID][id]; !ok {
		return fmt.Errorf("cohort: cohort %s: %w", quoteName(id), ErrNotFound)
	}
	delete(s.orgs[orgID], id)
	return nil
}

var _ Store = (*MemStore)(nil)
