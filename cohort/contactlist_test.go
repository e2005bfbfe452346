package cohort_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
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
			stats:    cohort.ParseStats{Lines: 4, Detected: 2, Emails: 2, Duplicates: 1, DuplicateRecords: 1},
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
			stats:    cohort.ParseStats{Lines: 3, Detected: 2, Phones: 2, Duplicates: 1, DuplicateRecords: 1},
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

	_, err = cohort.NewParser(&cohort.ParseConfig{MaxInputBytes: -1})
	assert.ErrorContains(t, err, "MaxInputBytes")
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

// TestParseReportsFirstLinesAndCounts: every problem is counted, but
// only the first MaxReportedLines line numbers of each kind are kept.
func TestParseReportsFirstLinesAndCounts(t *testing.T) {
	const n = 3*cohort.MaxReportedLines + 7
	var sb strings.Builder
	var wantInvalid, wantDup []int
	line := 0
	for i := range n {
		// A valid contact, an invalid line, and a line with two
		// duplicates of earlier contacts.
		fmt.Fprintf(&sb, "p%d@example.com\nnot a contact %d\np%d@example.com,P%d@Example.com\n", i, i, i, i)
		line += 3
		wantInvalid = append(wantInvalid, line-1)
		wantDup = append(wantDup, line)
	}
	res, err := cohort.ParseContacts(sb.String(), nil)
	require.NoError(t, err)
	assert.Equal(t, cohort.ParseStats{Lines: 3 * n, Detected: n, Emails: n, Invalid: n, Duplicates: 2 * n, DuplicateRecords: n}, res.ParseStats)
	assert.Equal(t, wantInvalid[:cohort.MaxReportedLines], res.InvalidLines)
	assert.Equal(t, wantDup[:cohort.MaxReportedLines], res.DuplicateLines)
	assert.Len(t, res.Contacts, n)

	// Fewer problems than the bound: all of them are listed.
	res, err = cohort.ParseContacts("??\na@example.com\n!!\na@example.com\n", nil)
	require.NoError(t, err)
	assert.Equal(t, []int{1, 3}, res.InvalidLines)
	assert.Equal(t, []int{4}, res.DuplicateLines)
}

// TestParseLimits: each limit stops the parse with a *ParseLimitError that
// names the limit and the line where the offending record starts, and
// keeps what was read before.
func TestParseLimits(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n-len("@example.com")) + "@example.com" }
	tests := []struct {
		name     string
		text     string
		cfg      cohort.ParseConfig
		want     *cohort.ParseLimitError // nil: no error
		contacts []string
	}{
		{
			name:     "a record of exactly MaxLineLength bytes is read",
			text:     "a@example.com\n" + long(64) + "\r\n",
			cfg:      cohort.ParseConfig{MaxLineLength: 64},
			contacts: []string{"a@example.com", long(64)},
		},
		{
			name:     "one byte more is too long",
			text:     "a@example.com\n\n" + long(65) + "\nb@example.com\n",
			cfg:      cohort.ParseConfig{MaxLineLength: 64},
			want:     &cohort.ParseLimitError{Err: cohort.ErrLineTooLong, Limit: "MaxLineLength", Max: 64, Line: 3},
			contacts: []string{"a@example.com"},
		},
		{
			name:     "a final record without a line break is measured too",
			text:     "a@example.com\n" + long(65),
			cfg:      cohort.ParseConfig{MaxLineLength: 64},
			want:     &cohort.ParseLimitError{Err: cohort.ErrLineTooLong, Limit: "MaxLineLength", Max: 64, Line: 2},
			contacts: []string{"a@example.com"},
		},
		{
			name: "an unclosed quote is reported at the line it opens",
			text: "a@example.com\n\"Lee, Ann\",b@example.com\n\"Diaz, Bob,c@example.com\n" +
				strings.Repeat("d@example.com\n", 10),
			cfg:      cohort.ParseConfig{MaxLineLength: 64},
			want:     &cohort.ParseLimitError{Err: cohort.ErrLineTooLong, Limit: "MaxLineLength", Max: 64, Line: 3, InQuote: true},
			contacts: []string{"a@example.com", "b@example.com"},
		},
		{
			name:     "a quoted field spanning lines counts whole",
			text:     "\"note\n" + strings.Repeat("line\n", 20) + "\",a@example.com\n",
			cfg:      cohort.ParseConfig{MaxLineLength: 64},
			want:     &cohort.ParseLimitError{Err: cohort.ErrLineTooLong, Limit: "MaxLineLength", Max: 64, Line: 1, InQuote: true},
			contacts: nil,
		},
		{
			name:     "input of exactly MaxInputBytes is read",
			text:     "\ufeffa@example.com\nb@example.com",
			cfg:      cohort.ParseConfig{MaxInputBytes: 30},
			contacts: []string{"a@example.com", "b@example.com"},
		},
		{
			name:     "one byte more is too large",
			text:     "\ufeffa@example.com\nb@example.com\n",
			cfg:      cohort.ParseConfig{MaxInputBytes: 30},
			want:     &cohort.ParseLimitError{Err: cohort.ErrListTooLarge, Limit: "MaxInputBytes", Max: 30, Line: 2},
			contacts: []string{"a@example.com"},
		},
		{
			name:     "too many contacts",
			text:     "a@example.com\n\nb@example.com,a@example.com\nc@example.com;d@example.com\n",
			cfg:      cohort.ParseConfig{MaxContacts: 2},
			want:     &cohort.ParseLimitError{Err: cohort.ErrTooManyContacts, Limit: "MaxContacts", Max: 2, Line: 4},
			contacts: []string{"a@example.com", "b@example.com"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range []int{0, 1, 5} { // 0: one write
				res, err := parseChunked(t, tt.text, chunk, &tt.cfg)
				assert.Equal(t, tt.contacts, res.Contacts, "chunk %d", chunk)
				if tt.want == nil {
					require.NoError(t, err, "chunk %d", chunk)
					continue
				}
				var le *cohort.ParseLimitError
				require.ErrorAs(t, err, &le, "chunk %d", chunk)
				assert.Equal(t, tt.want, le, "chunk %d", chunk)
				assert.ErrorIs(t, err, tt.want.Err)
				assert.Contains(t, err.Error(), fmt.Sprintf("line %d", tt.want.Line))
				assert.Contains(t, err.Error(), tt.want.Limit)
				assert.NotContains(t, err.Error(), "example.com", "no content in the error")
			}
		})
	}
}

// TestParseDefaultInputCap: without a config, DefaultMaxInputBytes
// applies, counted across writes.
func TestParseDefaultInputCap(t *testing.T) {
	p, err := cohort.NewParser(nil)
	require.NoError(t, err)
	line := []byte(strings.Repeat(" ", 1023) + "\n") // blank records
	for range cohort.DefaultMaxInputBytes / len(line) {
		_, err := p.Write(line)
		require.NoError(t, err)
	}
	n, err := p.Write([]byte("a@example.com\n"))
	assert.Zero(t, n)
	var le *cohort.ParseLimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, cohort.ParseLimitError{Err: cohort.ErrListTooLarge, Limit: "MaxInputBytes", Max: cohort.DefaultMaxInputBytes, Line: cohort.DefaultMaxInputBytes/len(line) + 1}, *le)
}

// TestParseLimitErrorIsSticky: after a limit, Write and Close return the
// same error and the result stops changing.
func TestParseLimitErrorIsSticky(t *testing.T) {
	p, err := cohort.NewParser(&cohort.ParseConfig{MaxLineLength: 16})
	require.NoError(t, err)
	_, err = p.WriteString("a@example.com\n\"open quote and more\n")
	require.ErrorIs(t, err, cohort.ErrLineTooLong)
	n, err2 := p.WriteString("b@example.com\n")
	assert.Zero(t, n)
	assert.Same(t, err, err2)
	res, err3 := p.Close()
	assert.Same(t, err, err3)
	assert.Equal(t, []string{"a@example.com"}, res.Contacts)
	assert.Equal(t, 1, res.Lines)
}

// parseChunked parses text in writes of chunk bytes (0: one write).
func parseChunked(t testing.TB, text string, chunk int, cfg *cohort.ParseConfig) (cohort.ParseResult, error) {
	t.Helper()
	p, err := cohort.NewParser(cfg)
	require.NoError(t, err)
	for len(text) > 0 && chunk > 0 {
		k := min(chunk, len(text))
		if _, err := p.Write([]byte(text[:k])); err != nil {
			return p.Close()
		}
		text = text[k:]
	}
	if _, err := p.WriteString(text); err != nil {
		return p.Close()
	}
	return p.Close()
}

// TestParserMemoryIndependentOfInputSize is the regression test for a
// parser that kept the number of every invalid line: 40 MiB of "@\n"
// (20,971,520 invalid lines) held 538 MiB. Now the heap a parse holds is
// bounded by the ParseConfig limits: the documented bound is 4 MiB live
// after a collection and 16 MiB in use at any sample, whatever the input
// size (MaxInputBytes is raised to let all 40 MiB through; under the race
// detector the input is 4 MiB, still enough to pass the bound if line
// numbers were kept).
func TestParserMemoryIndependentOfInputSize(t *testing.T) {
	const (
		chunkLines = 512 << 10 // 1 MiB of "@\n"
		maxLive    = 4 << 20
		maxInUse   = 16 << 20
	)
	chunks := 40
	if raceEnabled {
		chunks = 4
	}
	chunk := []byte(strings.Repeat("@\n", chunkLines))
	p, err := cohort.NewParser(&cohort.ParseConfig{MaxInputBytes: chunks << 20})
	require.NoError(t, err)
	var base, m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&base)
	var peakLive, peakInUse int64
	for range chunks {
		_, err := p.Write(chunk)
		require.NoError(t, err)
		runtime.ReadMemStats(&m)
		peakInUse = max(peakInUse, int64(m.HeapInuse)-int64(base.HeapInuse))
		runtime.GC()
		runtime.ReadMemStats(&m)
		peakLive = max(peakLive, int64(m.HeapAlloc)-int64(base.HeapAlloc))
		if peakLive > maxLive {
			break // the assertions below report it
		}
	}
	res, err := p.Close()
	require.NoError(t, err)
	t.Logf("peak live %d KiB, peak in use %d KiB", peakLive>>10, peakInUse>>10)
	assert.Less(t, peakLive, int64(maxLive), "live heap")
	assert.Less(t, peakInUse, int64(maxInUse), "heap in use")
	if peakLive <= maxLive {
		assert.Equal(t, chunks*chunkLines, res.Invalid)
		assert.Equal(t, chunks*chunkLines, res.Lines)
	}
	require.Equal(t, cohort.MaxReportedLines, len(res.InvalidLines), "line numbers kept")
	assert.Equal(t, 1, res.InvalidLines[0])
	assert.Equal(t, cohort.MaxReportedLines, res.InvalidLines[cohort.MaxReportedLines-1])
}

// FuzzParseContacts checks the parser's invariants on arbitrary input:
// no panic; counts agree with the lists; contacts are unique and already
// normalised; line numbers ascend; and cutting the input into writes at
// boundaries taken from the fuzz input (including empty writes and one
// byte at a time) gives exactly the result and error of one write. Small
// limits make the limit paths reachable.
func FuzzParseContacts(f *testing.F) {
	for _, s := range []string{
		"", "\ufeff", "\ufeffphone\r\n2125550101\r\n", "a@b.co,\"x,\"\"y\"\"\",2125550101\n",
		"\"unterminated\n2125550101", "\r\r\n\n", "name;email\nx;ann@example.com;\t+447911123456",
		"212-555-0101 ext. 7\n", "\xff\xfe\n", "\"a\nb\"\n\"c", "@\n@@\n+\n", "\xef\xbb", "\xef\xbbx\n",
		"a@b.co\r", "\"" + strings.Repeat("a@b.co,", 40), strings.Repeat("x\n", 150),
		strings.Repeat("a@b.co\n", 150), "\"q\r\n\"\r\na@b.co",
	} {
		f.Add(s, []byte{3})
		f.Add(s, []byte{0, 1, 2, 31})
	}
	cfg := &cohort.ParseConfig{MaxContacts: 40, MaxLineLength: 128, MaxInputBytes: 4096}
	f.Fuzz(func(t *testing.T, text string, cuts []byte) {
		whole, errWhole := cohort.ParseContacts(text, cfg)
		split, errSplit := parseCuts(t, text, cuts, cfg)
		sameOutcome(t, "cut", whole, errWhole, split, errSplit)
		if len(text) <= 1024 {
			bytewise, errBytewise := parseChunked(t, text, 1, cfg)
			sameOutcome(t, "byte-at-a-time", whole, errWhole, bytewise, errBytewise)
		}
		if errWhole != nil {
			var le *cohort.ParseLimitError
			if !errors.As(errWhole, &le) || le.Line < 1 {
				t.Fatalf("error %v is not a *ParseLimitError with a line", errWhole)
			}
		}
		r := whole
		if r.Detected != len(r.Contacts) || r.Phones+r.Emails != r.Detected ||
			len(r.InvalidLines) != min(r.Invalid, cohort.MaxReportedLines) ||
			len(r.DuplicateLines) != min(r.DuplicateRecords, cohort.MaxReportedLines) ||
			r.DuplicateRecords > r.Duplicates || r.Invalid > r.Lines || r.DuplicateRecords > r.Lines {
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
		lastLine := 1 + strings.Count(strings.ReplaceAll(text, "\r\n", "\n"), "\n") + strings.Count(strings.ReplaceAll(text, "\r\n", ""), "\r")
		for _, lines := range [][]int{r.InvalidLines, r.DuplicateLines} {
			for i, l := range lines {
				if l < 1 || l > lastLine || i > 0 && l <= lines[i-1] {
					t.Fatalf("line numbers out of order or range (last line %d): %v", lastLine, lines)
				}
			}
		}
	})
}

// parseCuts parses text in writes whose sizes come from cuts (cycled): a
// zero adds an empty write; no cuts means one write.
func parseCuts(t *testing.T, text string, cuts []byte, cfg *cohort.ParseConfig) (cohort.ParseResult, error) {
	p, err := cohort.NewParser(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lines := p.Stats().Lines
	for i := 0; len(text) > 0 && len(cuts) > 0; i++ {
		c := cuts[i%len(cuts)]
		if c == 0 {
			_, _ = p.Write(nil)
		}
		k := min(1+int(c)%64, len(text))
		_, err := p.Write([]byte(text[:k]))
		if s := p.Stats(); s.Lines < lines {
			t.Fatalf("running line count went back from %d to %d", lines, s.Lines)
		} else {
			lines = s.Lines
		}
		if err != nil {
			return p.Close()
		}
		text = text[k:]
	}
	if _, err := p.Write([]byte(text)); err != nil {
		return p.Close()
	}
	return p.Close()
}

// sameOutcome fails unless two parses gave the same result and error.
func sameOutcome(t *testing.T, how string, a cohort.ParseResult, errA error, b cohort.ParseResult, errB error) {
	t.Helper()
	var la, lb *cohort.ParseLimitError
	if (errA == nil) != (errB == nil) || errA != nil && (!errors.As(errA, &la) || !errors.As(errB, &lb) || *la != *lb) {
		t.Fatalf("%s: errors differ: %v vs %v", how, errA, errB)
	}
	if !equalResults(a, b) {
		t.Fatalf("%s: writes changed the result:\n%+v\n%+v", how, a, b)
	}
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
