package cohort

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"

	"github.com/carecast/carecast"
)

// MemPatientStoreConfig configures NewMemPatientStoreWith.
type MemPatientStoreConfig struct {
	// Schema declares the attributes filters may use. Defaults to the
	// core fields only.
	Schema *Schema
	// DefaultRegion reads stored phone numbers written without a country
	// code (ISO 3166-1, e.g. "GB"). Defaults to DefaultRegion ("US").
	DefaultRegion string
}

// MemPatientStore is an in-memory PatientStore: a real implementation that
// passes cohorttest, for tests, demos and hosts small enough to hold their
// patients in memory. It is safe for concurrent use.
//
// Each organisation's patients are kept in a slice sorted by ID, so
// Patients streams without sorting or allocating per patient: it scans the
// slice in chunks under a read lock and yields copies outside the lock,
// resuming by ID, so the consumer may call the store (ApplyContactChange)
// while iterating.
type MemPatientStore struct {
	schema *Schema
	region string

	mu      sync.RWMutex
	orgs    map[string]*memOrg
	changes map[string][]ContactChange
}

// memOrg is one organisation's patients.
type memOrg struct {
	patients []carecast.Patient // sorted by ID, IDs unique
	// contacts maps normalised phones and emails to patient IDs; nil
	// when it must be rebuilt (after Put or Delete).
	contacts map[string][]string
}

// scanChunk is how many patients Patients examines per read-lock hold, and
// yieldChunk how many matches it buffers.
const (
	scanChunk  = 4096
	yieldChunk = 256
)

// NewMemPatientStore returns an empty store with the core-field schema and
// the US phone region.
func NewMemPatientStore() *MemPatientStore {
	s, _ := NewMemPatientStoreWith(nil) // cannot fail with defaults
	return s
}

// NewMemPatientStoreWith returns an empty store configured by cfg (nil
// accepts the defaults). It returns an error for an unknown phone region.
func NewMemPatientStoreWith(cfg *MemPatientStoreConfig) (*MemPatientStore, error) {
	var c MemPatientStoreConfig
	if cfg != nil {
		c = *cfg
	}
	if c.DefaultRegion == "" {
		c.DefaultRegion = DefaultRegion
	}
	if !validRegion(c.DefaultRegion) {
		return nil, fmt.Errorf("cohort: MemPatientStoreConfig.DefaultRegion %s is not a known phone region", quoteName(c.DefaultRegion))
	}
	return &MemPatientStore{
		schema:  schemaOrCore(c.Schema),
		region:  c.DefaultRegion,
		orgs:    map[string]*memOrg{},
		changes: map[string][]ContactChange{},
	}, nil
}

// validRegion reports whether r is a region phonenumbers knows.
func validRegion(r string) bool {
	return phonenumbers.GetCountryCodeForRegion(r) != 0
}

// Schema returns the store's schema.
func (s *MemPatientStore) Schema() *Schema { return s.schema }

// Put adds or replaces (by ID) patients of orgID. The store takes
// ownership of the patients' Tags and Attributes: the caller must not
// modify them afterwards. Within one call, the last patient with a given ID
// wins. Putting many patients at once is much faster than one at a time.
func (s *MemPatientStore) Put(orgID string, ps ...carecast.Patient) {
	in := slices.Clone(ps)
	slices.SortStableFunc(in, func(a, b carecast.Patient) int { return cmp.Compare(a.ID, b.ID) })
	in = lastByID(in)

	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgs[orgID]
	if o == nil {
		o = &memOrg{}
		s.orgs[orgID] = o
	}
	o.contacts = nil
	cur := o.patients
	switch {
	case len(cur) == 0:
		o.patients = in
	case len(in) > 0 && in[0].ID > cur[len(cur)-1].ID:
		o.patients = append(cur, in...)
	case len(in) <= 32:
		for _, p := range in {
			i, found := searchID(cur, p.ID)
			if found {
				cur[i] = p
			} else {
				cur = slices.Insert(cur, i, p)
			}
		}
		o.patients = cur
	default:
		o.patients = mergeByID(cur, in)
	}
}

// byID compares a patient's ID with id.
func byID(p carecast.Patient, id string) int { return cmp.Compare(p.ID, id) }

// lastByID removes all but the last of each run of equal IDs in a sorted
// slice.
func lastByID(ps []carecast.Patient) []carecast.Patient {
	out := ps[:0]
	for i := range ps {
		if i+1 < len(ps) && ps[i+1].ID == ps[i].ID {
			continue
		}
		out = append(out, ps[i])
	}
	return out
}

// mergeByID merges two sorted, unique slices; b wins on equal IDs.
func mergeByID(a, b []carecast.Patient) []carecast.Patient {
	out := make([]carecast.Patient, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch c := cmp.Compare(a[i].ID, b[j].ID); {
		case c < 0:
			out = append(out, a[i])
			i++
		case c > 0:
			out = append(out, b[j])
			j++
		default:
			out = append(out, b[j])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// Delete removes the patients with those IDs from orgID; unknown IDs are
// ignored.
func (s *MemPatientStore) Delete(orgID string, ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgs[orgID]
	if o == nil {
		return
	}
	for _, id := range ids {
		if i, found := searchID(o.patients, id); found {
			o.patients = slices.Delete(o.patients, i, i+1)
		}
	}
	o.contacts = nil
}

// Len returns the number of patients of orgID.
func (s *MemPatientStore) Len(orgID string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if o := s.orgs[orgID]; o != nil {
		return len(o.patients)
	}
	return 0
}

// ContactChanges returns the changes applied to orgID's patients, oldest
// first (a copy).
func (s *MemPatientStore) ContactChanges(orgID string) []ContactChange {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.changes[orgID])
}

// Patients implements PatientStore. It compiles q.Filter once and streams
// without allocating per patient.
func (s *MemPatientStore) Patients(ctx context.Context, orgID string, q Query) iter.Seq2[carecast.Patient, error] {
	return func(yield func(carecast.Patient, error) bool) {
		m, err := s.schema.Compile(q.Filter, q.Now)
		if err != nil {
			yield(carecast.Patient{}, err)
			return
		}
		buf := make([]carecast.Patient, yieldChunk)
		after, first, hint := q.AfterID, q.AfterID == "", 0
		for {
			if err := ctx.Err(); err != nil {
				yield(carecast.Patient{}, err)
				return
			}
			n, last, next, done := s.scan(orgID, m, after, first, hint, buf)
			for i := range n {
				if !yield(buf[i], nil) {
					return
				}
			}
			if done {
				return
			}
			after, first, hint = last, false, next
		}
	}
}

// scan fills buf with matches among at most scanChunk patients after the ID
// after (from the start if first). hint is where the previous scan stopped:
// if the patient before it still has ID after (no concurrent insert or
// delete moved it), the scan resumes there without a binary search. It
// returns the number of matches, the last ID examined, the index after it
// and whether the end was reached.
func (s *MemPatientStore) scan(orgID string, m *Matcher, after string, first bool, hint int, buf []carecast.Patient) (n int, last string, next int, done bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o := s.orgs[orgID]
	if o == nil {
		return 0, "", 0, true
	}
	ps := o.patients
	i := 0
	switch {
	case first:
	case hint > 0 && hint <= len(ps) && ps[hint-1].ID == after:
		i = hint
	default:
		var found bool
		i, found = searchID(ps, after)
		if found {
			i++
		}
	}
	end := min(len(ps), i+scanChunk)
	if m.match == nil {
		end = min(end, i+len(buf))
		n = copy(buf, ps[i:end])
		i = end
	} else {
		for ; i < end && n < len(buf); i++ {
			if m.match(&ps[i]) {
				buf[n] = ps[i]
				n++
			}
		}
	}
	if i == len(ps) {
		return n, "", i, true
	}
	return n, ps[i-1].ID, i, false
}

// PatientsByID implements PatientStore.
func (s *MemPatientStore) PatientsByID(ctx context.Context, orgID string, ids []string) ([]carecast.Patient, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	want := slices.Clone(ids)
	slices.Sort(want)
	want = slices.Compact(want)
	s.mu.RLock()
	defer s.mu.RUnlock()
	o := s.orgs[orgID]
	if o == nil {
		return nil, nil
	}
	var out []carecast.Patient
	for _, id := range want {
		if i, found := searchID(o.patients, id); found {
			out = append(out, o.patients[i])
		}
	}
	return out, nil
}

// Search implements PatientStore.
func (s *MemPatientStore) Search(ctx context.Context, orgID, query string, limit int) ([]carecast.Patient, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sq := newSearchQuery(query)
	if sq.empty() || limit < 1 {
		return nil, nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	o := s.orgs[orgID]
	if o == nil {
		return nil, nil
	}
	var out []carecast.Patient
	for i := range o.patients {
		if sq.matches(&o.patients[i]) {
			out = append(out, o.patients[i])
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// SearchQuery is a parsed "Add Recipients" search, exported so that host
// stores can reproduce the in-memory store's matching rules exactly.
type SearchQuery struct {
	// Text is the trimmed, lower-cased query, matched as a substring of
	// the lower-cased first, last, preferred and full name and email.
	Text string
	// Digits are the query's digits if it reads as a phone fragment
	// (digits and + . - ( ) spaces only), matched as a substring of the
	// digits of the patient's phone; empty otherwise.
	Digits string
}

// newSearchQuery parses q.
func newSearchQuery(q string) SearchQuery {
	q = strings.TrimSpace(q)
	sq := SearchQuery{Text: strings.ToLower(q)}
	var d strings.Builder
	for _, r := range q {
		switch {
		case r >= '0' && r <= '9':
			d.WriteRune(r)
		case strings.ContainsRune("+ .-()", r):
		default:
			return sq
		}
	}
	sq.Digits = d.String()
	return sq
}

// ParseSearch parses a search query as PatientStore.Search documents it.
func ParseSearch(q string) SearchQuery { return newSearchQuery(q) }

// empty reports whether the query matches nothing.
func (q SearchQuery) empty() bool { return q.Text == "" }

// Empty reports whether the query is blank (it matches no patient).
func (q SearchQuery) Empty() bool { return q.empty() }

// Matches reports whether p matches the query.
func (q SearchQuery) Matches(p *carecast.Patient) bool { return !q.empty() && q.matches(p) }

func (q SearchQuery) matches(p *carecast.Patient) bool {
	if q.Digits != "" && strings.Contains(digitsOf(p.Phone), q.Digits) {
		return true
	}
	return containsFold(p.FirstName, q.Text) || containsFold(p.LastName, q.Text) ||
		containsFold(p.PreferredName, q.Text) || containsFold(p.Email, q.Text) ||
		(p.FirstName != "" && p.LastName != "" && containsFold(p.FirstName+" "+p.LastName, q.Text))
}

// digitsOf returns the ASCII digits of s.
func digitsOf(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// containsFold reports whether lowerSub (already lower-cased) occurs in s,
// ignoring case.
func containsFold(s, lowerSub string) bool {
	return s != "" && strings.Contains(strings.ToLower(s), lowerSub)
}

// FindByContact implements PatientStore.
func (s *MemPatientStore) FindByContact(ctx context.Context, orgID, contact string) ([]carecast.Patient, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key, ok := NormalizeContact(contact, s.region)
	if !ok {
		return nil, nil
	}
	idx := s.contactIndex(orgID)
	s.mu.RLock()
	defer s.mu.RUnlock()
	o := s.orgs[orgID]
	if o == nil {
		return nil, nil
	}
	var out []carecast.Patient
	for _, id := range idx[key] {
		if i, found := searchID(o.patients, id); found {
			out = append(out, o.patients[i])
		}
	}
	return out, nil
}

// MatchContacts implements ContactMatcher: one lookup per contact in the
// organisation's contact index.
func (s *MemPatientStore) MatchContacts(ctx context.Context, orgID string, contacts []string) (map[string][]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	idx := s.contactIndex(orgID)
	out := make(map[string][]string, len(contacts))
	for _, c := range contacts {
		key, ok := NormalizeContact(c, s.region)
		if !ok {
			continue
		}
		if ids := idx[key]; len(ids) > 0 {
			out[c] = slices.Clone(ids)
		}
	}
	return out, nil
}

// contactIndex returns orgID's contact index, building it if needed. The
// returned map is never modified afterwards (Put and Delete replace it),
// so it may be read without the lock.
func (s *MemPatientStore) contactIndex(orgID string) map[string][]string {
	s.mu.RLock()
	o := s.orgs[orgID]
	if o == nil {
		s.mu.RUnlock()
		return nil
	}
	idx := o.contacts
	s.mu.RUnlock()
	if idx != nil {
		return idx
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.contacts == nil {
		o.contacts = s.buildContacts(o.patients)
	}
	return o.contacts
}

var _ ContactMatcher = (*MemPatientStore)(nil)

// buildContacts indexes patients by normalised phone and email. IDs per key
// come out in ascending order because ps is sorted.
func (s *MemPatientStore) buildContacts(ps []carecast.Patient) map[string][]string {
	idx := make(map[string][]string, len(ps))
	for i := range ps {
		p := &ps[i]
		if k := storedPhoneKey(p.Phone, s.region); k != "" {
			idx[k] = append(idx[k], p.ID)
		}
		if k, ok := NormalizeEmail(p.Email); ok {
			idx[k] = append(idx[k], p.ID)
		}
	}
	return idx
}

// ApplyContactChange implements PatientStore and records the change (see
// ContactChanges).
func (s *MemPatientStore) ApplyContactChange(ctx context.Context, orgID string, c ContactChange) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !c.Kind.Valid() {
		return fmt.Errorf("%w: unknown kind %s", ErrInvalidChange, quoteName(string(c.Kind)))
	}
	if c.PatientID == "" {
		return fmt.Errorf("%w: empty patient ID", ErrInvalidChange)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgs[orgID]
	if o == nil {
		return fmt.Errorf("cohort: apply contact change to patient %s: %w", quoteName(c.PatientID), ErrNotFound)
	}
	i, found := searchID(o.patients, c.PatientID)
	if !found {
		return fmt.Errorf("cohort: apply contact change to patient %s: %w", quoteName(c.PatientID), ErrNotFound)
	}
	c.Kind.Apply(&o.patients[i])
	s.changes[orgID] = append(s.changes[orgID], c)
	return nil
}

var _ PatientStore = (*MemPatientStore)(nil)

// searchID finds id in the sorted ps.
func searchID(ps []carecast.Patient, id string) (int, bool) {
	return slices.BinarySearchFunc(ps, id, byID)
}
