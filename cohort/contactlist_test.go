package cohort_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
)

func TestParseContacts(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		contacts []string
		stats    cohort.ParseStats
		invalid  []int
		dups     []int
	}{
		{
			name:     "phones one per line, national and international",
			text:     "(212) 555-0101\n212.555.0102\n+1 212 555 0103\n+44 7911 123456\n",
			contacts: []string{"+12125550101", "+12125550102", "+12125550103", "+447911123456"},
			stats:    cohort.ParseStats{Lines: 4, Detected: 4, Phones: 4},
		},
		{
			name:     "emails trimmed and lower-cased, duplicates after normalisation",
			text:     "  Ann@Example.com \nbob@example.com\nANN@example.COM\n\n",
			contacts: []string{"ann@example.com", "bob@example.com"},
			stats:    cohort.ParseStats{Lines: 4, Detected: 2, Emails: 2, Duplicates: 1},
			dups:     []int{3},
		},
		{
			name:     "csv with header, BOM, CRLF and quoted fields",
			text:     "\ufeffName,Mobile,E-mail\r\n\"Lee, Ann\",\"+1 (212) 555-0101\",ann@example.com\r\n\"Bob \"\"B\"\" Diaz\",,bob@example.com\r\n",
			contacts: []string{"+12125550101", "ann@example.com", "bob@example.com"},
			stats:    cohort.ParseStats{Lines: 3, Detected: 3, Phones: 1, Emails: 2, Header: true},
		},
		{
			name:     "header selects contact columns (an ID column that looks like a phone is ignored)",
			text:     "patient_id;phone\n2125550199;2125550101\n",
			contacts: []string{"+12125550101"},
			stats:    cohort.ParseStats{Lines: 2, Detected: 1, Phones: 1, Header: true},
		},
		{
			name:     "no header: every column is read",
			text:     "Ann Lee\t2125550101\tann@example.com\n",
			contacts: []string{"+12125550101", "ann@example.com"},
			stats:    cohort.ParseStats{Lines: 1, Detected: 2, Phones: 1, Emails: 1},
		},
		{
			name:     "invalid lines reported by number",
			text:     "2125550101\nnot a contact\n12345678\nbad@\n\nann@example.com\n",
			contacts: []string{"+12125550101", "ann@example.com"},
			stats:    cohort.ParseStats{Lines: 6, Detected: 2, Phones: 1, Emails: 1, Invalid: 3},
			invalid:  []int{2, 3, 4},
		},
		{
			name:     "a header-looking first line with a contact is data",
			text:     "phone 2125550101\n",
			contacts: nil,
			stats:    cohort.ParseStats{Lines: 1, Invalid: 1},
			invalid:  []int{1},
		},
		{
			name:     "lone CR line breaks and a final line without a break",
			text:     "2125550101\r2125550102\r2125550101",
			contacts: []string{"+12125550101", "+12125550102"},
			stats:    cohort.ParseStats{Lines: 3, Detected: 2, Phones: 2, Duplicates: 1},
			dups:     []int{3},
		},
		{
			name:     "quoted field spanning lines keeps line numbers right",
			text:     "\"ann@example.com\",\"note\nmore\"\nnope\n",
			contacts: []string{"ann@example.com"},
			stats:    cohort.ParseStats{Lines: 2, Detected: 1, Emails: 1, Invalid: 1},
			invalid:  []int{3},
		},
		{
			name:     "extensions are accepted",
			text:     "212-555-0101 x12\n",
			contacts: []string{"+12125550101"},
			stats:    cohort.ParseStats{Lines: 1, Detected: 1, Phones: 1},
		},
		{
			name:  "empty input",
			text:  "",
			stats: cohort.ParseStats{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := cohort.ParseContacts(tt.text, nil)
			require.NoError(t, err)
			assert.Equal(t, tt.contacts, res.Contacts)
			assert.Equal(t, tt.stats, res.ParseStats)
			assert.Equal(t, tt.invalid, res.InvalidLines)
			assert.Equal(t, tt.dups, res.DuplicateLines)
		})
	}
}

// TestParserAsYouType writes a paste one byte at a time, as keystrokes,
// and checks the running counts and the final result.
func TestParserAsYouType(t *testing.T) {
	text := "ann@example.com\n2125550101\nann@example.com\noops\n"
	p, err := cohort.NewParser(nil)
	require.NoError(t, err)
	var detected []int
	for i := range len(text) {
		_, err := p.Write([]byte{text[i]})
		require.NoError(t, err)
		if text[i] == '\n' {
			detected = append(detected, p.Stats().Detected)
		}
	}
	assert.Equal(t, []int{1, 2, 2, 2}, detected)
	res, err := p.Close()
	require.NoError(t, err)
	assert.Equal(t, 1, res.Duplicates)
	assert.Equal(t, 1, res.Invalid)
	whole, err := cohort.ParseContacts(text, nil)
	require.NoError(t, err)
	assert.Equal(t, whole, res)
}

func TestParserRegionAndLimits(t *testing.T) {
	res, err := cohort.ParseContacts("07911 123456\n", &cohort.ParseConfig{DefaultRegion: "GB"})
	require.NoError(t, err)
	assert.Equal(t, []string{"+447911123456"}, res.Contacts)

	_, err = cohort.NewParser(&cohort.ParseConfig{DefaultRegion: "XX"})
	assert.Error(t, err)
	_, err = cohort.NewParser(&cohort.ParseConfig{MaxContacts: -1})
	assert.Error(t, err)

	_, err = cohort.ParseContacts("a@example.com\nb@example.com\nc@example.com\n", &cohort.ParseConfig{MaxContacts: 2})
	assert.True(t, errors.Is(err, cohort.ErrTooManyContacts), "got %v", err)

	long := strings.Repeat("x", 100) + "@example.com\nok@example.com\n"
	res, err = cohort.ParseContacts(long, &cohort.ParseConfig{MaxLineLength: 50})
	require.NoError(t, err)
	assert.Equal(t, []string{"ok@example.com"}, res.Contacts)
	assert.Equal(t, []int{1}, res.InvalidLines)

	// An unclosed quote cannot swallow unbounded input.
	runaway := "\"" + strings.Repeat("a@b.co,", 2000)
	res, err = cohort.ParseContacts(runaway, &cohort.ParseConfig{MaxLineLength: 100})
	require.NoError(t, err)
	assert.Empty(t, res.Contacts)
	assert.NotZero(t, res.Invalid)
}

func TestNormalize(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"+1 (212) 555-0101", "+12125550101", true},
		{"2125550101", "+12125550101", true},
		{"555", "", false},
		{"", "", false},
		{" Ann@Example.COM ", "ann@example.com", true},
		{"ann@example", "", false},
		{"a@b@example.com", "", false},
		{"ann @example.com", "", false},
		{"ann@example..com", "", false},
	} {
		got, ok := cohort.NormalizeContact(tt.in, "US")
		assert.Equal(t, tt.ok, ok, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

// FuzzParseContacts checks the parser's invariants on arbitrary input:
// no panic; counts agree with the lists; contacts are unique and already
// normalised; line numbers ascend; and splitting the input into two writes
// changes nothing.
func FuzzParseContacts(f *testing.F) {
	for _, s := range []string{
		"", "\ufeff", "\ufeffphone\r\n2125550101\r\n", "a@b.co,\"x,\"\"y\"\"\",2125550101\n",
		"\"unterminated\n2125550101", "\r\r\n\n", "name;email\nx;ann@example.com;\t+447911123456",
		"212-555-0101 ext. 7\n", "\xff\xfe\n", "\"a\nb\"\n\"c", "@\n@@\n+\n",
	} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, text string, cut uint8) {
		whole, errWhole := cohort.ParseContacts(text, &cohort.ParseConfig{MaxContacts: 1000})
		p, err := cohort.NewParser(&cohort.ParseConfig{MaxContacts: 1000})
		if err != nil {
			t.Fatal(err)
		}
		k := int(cut) % (len(text) + 1)
		_, _ = p.Write([]byte(text[:k]))
		_, _ = p.Write([]byte(text[k:]))
		split, errSplit := p.Close()
		if (errWhole == nil) != (errSplit == nil) {
			t.Fatalf("errors differ: %v vs %v", errWhole, errSplit)
		}
		if errWhole != nil {
			return
		}
		if !equalResults(whole, split) {
			t.Fatalf("split at %d changed the result:\n%+v\n%+v", k, whole, split)
		}
		r := whole
		if r.Detected != len(r.Contacts) || r.Phones+r.Emails != r.Detected || r.Invalid != len(r.InvalidLines) {
			t.Fatalf("inconsistent counts %+v", r)
		}
		seen := map[string]bool{}
		for _, c := range r.Contacts {
			if seen[c] {
				t.Fatalf("duplicate contact %q", c)
			}
			seen[c] = true
			if n, ok := cohort.NormalizeContact(c, "US"); !ok || n != c {
				t.Fatalf("contact %q is not normalised (%q, %v)", c, n, ok)
			}
		}
		if !slices.IsSorted(r.InvalidLines) || !slices.IsSorted(r.DuplicateLines) {
			t.Fatalf("line numbers out of order: %v %v", r.InvalidLines, r.DuplicateLines)
		}
	})
}

func equalResults(a, b cohort.ParseResult) bool {
	return a.ParseStats == b.ParseStats && slices.Equal(a.Contacts, b.Contacts) &&
		slices.Equal(a.InvalidLines, b.InvalidLines) && slices.Equal(a.DuplicateLines, b.DuplicateLines)
}

// TestListCohortKeepsMatchedPatients pins the documented decision: a list
// cohort sends to the patients matched at import, even after a number
// changes hands; Rematch is the explicit refresh.
func TestListCohortKeepsMatchedPatients(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	ps := cohort.NewMemPatientStore()
	ps.Put("org", carecast.Patient{ID: "ann", Phone: "+12125550101"}, carecast.Patient{ID: "bob", Phone: "+12125550102"})
	res, err := cohort.ParseContacts("+12125550101\n", nil)
	require.NoError(t, err)
	list, err := cohort.MatchContacts(ctx, ps, "org", res.Contacts, now)
	require.NoError(t, err)
	c := cohort.Cohort{ID: "l", OrgID: "org", Name: "List", Contacts: list}

	// Ann changes number; hers is reassigned to Bob.
	ps.Put("org", carecast.Patient{ID: "ann", Phone: "+12125550199"}, carecast.Patient{ID: "bob", Phone: "+12125550101"})
	got := ids(t, cohort.Resolve(ctx, ps, "org", []cohort.Cohort{c}, now))
	assert.Equal(t, []string{"ann"}, got, "the imported patient is still the audience")

	fresh, err := list.Rematch(ctx, ps, "org", now.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, []string{"bob"}, fresh.PatientIDs)
	assert.Equal(t, []string{"ann"}, list.PatientIDs, "Rematch does not modify the receiver")
	assert.Equal(t, now.Add(time.Hour), fresh.MatchedAt)
}
