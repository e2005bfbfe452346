package cohort

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ContactList is the contact list of a list cohort ("Custom list · N
// contacts"): the normalised contacts the user pasted or uploaded and the
// patients they matched when the cohort was saved. See the package
// documentation ("Contact-list cohorts") for why the matched patient IDs,
// not the contacts, decide who a blast reaches.
type ContactList struct {
	// Contacts are the normalised contacts (E.164 phones, lower-case
	// emails), unique, in input order.
	Contacts []string `json:"contacts"`
	// PatientIDs are the IDs of the patients the contacts matched,
	// ascending and unique. Resolve sends to these patients.
	PatientIDs []string `json:"patient_ids"`
	// Unmatched are the contacts that matched no patient, in input order.
	Unmatched []string `json:"unmatched,omitempty"`
	// MatchedAt is when the contacts were matched to patients.
	MatchedAt time.Time `json:"matched_at,omitzero"`
}

// Defaults of ParseConfig.
const (
	DefaultMaxContacts   = 50_000
	DefaultMaxLineLength = 4096
)

// ErrTooManyContacts is returned by the contact parser when the input holds
// more unique contacts than ParseConfig.MaxContacts.
var ErrTooManyContacts = errors.New("cohort: too many contacts")

// ParseConfig configures the contact-list parser.
type ParseConfig struct {
	// DefaultRegion reads phone numbers without a country code (ISO
	// 3166-1, the practice's region). Defaults to DefaultRegion ("US").
	DefaultRegion string
	// MaxContacts caps the number of unique contacts. Defaults to
	// DefaultMaxContacts.
	MaxContacts int
	// MaxLineLength caps one record's length in bytes; longer records
	// are reported invalid. Defaults to DefaultMaxLineLength.
	MaxLineLength int
}

// ParseStats are the running counts a contact-import window shows.
type ParseStats struct {
	// Lines is the number of records read (blank ones included).
	Lines int `json:"lines"`
	// Detected is the number of unique valid contacts.
	Detected int `json:"detected"`
	// Phones and Emails split Detected by kind.
	Phones int `json:"phones"`
	Emails int `json:"emails"`
	// Duplicates counts contacts seen before (after normalisation).
	Duplicates int `json:"duplicates"`
	// Invalid counts records with a field that looks like a contact but
	// is not valid, or with no contact at all (blank records and the
	// header are not counted).
	Invalid int `json:"invalid"`
	// Header reports whether the first record was read as a header.
	Header bool `json:"header"`
}

// ParseResult is the outcome of parsing a contact list.
type ParseResult struct {
	ParseStats
	// Contacts are the unique normalised contacts in input order.
	Contacts []string
	// InvalidLines are the 1-based line numbers where invalid records
	// start (no content is kept, so the report holds no PHI).
	InvalidLines []int
	// DuplicateLines are the 1-based line numbers of records holding a
	// duplicate contact.
	DuplicateLines []int
}

// Parser reads a contact list incrementally: pasted text or an uploaded
// CSV/TXT file, written in pieces of any size (as the user types or as
// the upload arrives). Stats reports the counts so far.
//
// Input: one record per line (LF, CRLF or CR), fields separated by
// commas, semicolons or tabs, fields optionally double-quoted ("" escapes
// a quote; quoted fields may span lines). A UTF-8 byte order mark is
// skipped. Each field that reads as an email (contains "@") or a phone
// number is a contact, so a column of phones, of emails, or both works,
// as does a full export with name columns. If the first record has no
// contact and its fields are short words, it is a header; when header
// names mention phone, mobile, cell, tel, sms, mail or contact, only those
// columns are read.
//
// A Parser is not safe for concurrent use.
type Parser struct {
	cfg ParseConfig

	res     ParseResult
	seen    map[string]bool
	pending []byte // bytes of the unfinished record
	started bool   // the first byte (and a possible BOM) was handled
	skipLF  bool   // the last write ended with a CR that ended a record
	line    int    // physical line number of the next record's start (1-based)
	records int    // non-blank records read
	columns []bool // header-selected contact columns, nil for all
	err     error
}

// NewParser returns a parser configured by cfg (nil accepts the
// defaults). It returns an error for an unknown region or negative limits.
func NewParser(cfg *ParseConfig) (*Parser, error) {
	var c ParseConfig
	if cfg != nil {
		c = *cfg
	}
	if c.DefaultRegion == "" {
		c.DefaultRegion = DefaultRegion
	}
	if !validRegion(c.DefaultRegion) {
		return nil, fmt.Errorf("cohort: ParseConfig.DefaultRegion %s is not a known phone region", quoteName(c.DefaultRegion))
	}
	if c.MaxContacts < 0 || c.MaxLineLength < 0 {
		return nil, errors.New("cohort: ParseConfig limits must not be negative")
	}
	if c.MaxContacts == 0 {
		c.MaxContacts = DefaultMaxContacts
	}
	if c.MaxLineLength == 0 {
		c.MaxLineLength = DefaultMaxLineLength
	}
	return &Parser{cfg: c, seen: map[string]bool{}, line: 1}, nil
}

// ParseContacts parses a whole contact list (see Parser).
func ParseContacts(text string, cfg *ParseConfig) (ParseResult, error) {
	p, err := NewParser(cfg)
	if err != nil {
		return ParseResult{}, err
	}
	if _, err := p.Write([]byte(text)); err != nil {
		return p.Result(), err
	}
	return p.Close()
}

// Write parses b, completing records as their line ends arrive. It never
// returns a short count; the error is ErrTooManyContacts once the limit
// is passed (later writes return it again).
func (p *Parser) Write(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n := len(b)
	if !p.started {
		p.pending = append(p.pending, b...)
		if len(p.pending) < 3 && (len(p.pending) == 0 || strings.HasPrefix("\xef\xbb\xbf", string(p.pending))) {
			return n, nil // maybe a BOM still arriving
		}
		p.started = true
		b = []byte(strings.TrimPrefix(string(p.pending), "\ufeff"))
		p.pending = p.pending[:0]
	}
	if p.skipLF && len(b) > 0 {
		// The previous write ended with a CR: a leading LF completes a CRLF.
		p.skipLF = false
		if b[0] == '\n' {
			b = b[1:]
		}
	}
	for len(b) > 0 {
		end, next := recordEnd(p.pending, b)
		if end < 0 {
			p.pending = append(p.pending, b...)
			if len(p.pending) > 4*p.cfg.MaxLineLength+4 {
				// A runaway record (an unclosed quote): cut it off.
				p.record(p.pending, true)
				p.pending = p.pending[:0]
			}
			break
		}
		p.pending = append(p.pending, b[:end]...)
		p.record(p.pending, false)
		p.pending = p.pending[:0]
		p.skipLF = b[end] == '\r' && next == end+1 && next == len(b)
		b = b[next:]
		if p.err != nil {
			return n, p.err
		}
	}
	return n, p.err
}

// WriteString is Write for a string.
func (p *Parser) WriteString(s string) (int, error) { return p.Write([]byte(s)) }

// Stats returns the counts over the complete records read so far.
func (p *Parser) Stats() ParseStats { return p.res.ParseStats }

// Close parses the final record (text after the last line break) and
// returns the result.
func (p *Parser) Close() (ParseResult, error) {
	if p.err == nil {
		if !p.started {
			p.started = true
			p.pending = []byte(strings.TrimPrefix(string(p.pending), "\ufeff"))
		}
		if len(p.pending) > 0 {
			p.record(p.pending, false)
			p.pending = p.pending[:0]
		}
	}
	return p.Result(), p.err
}

// Result returns a copy of the result so far.
func (p *Parser) Result() ParseResult {
	r := p.res
	r.Contacts = slices.Clone(r.Contacts)
	r.InvalidLines = slices.Clone(r.InvalidLines)
	r.DuplicateLines = slices.Clone(r.DuplicateLines)
	return r
}

// recordEnd finds the end of the record continuing pending in b: the index
// of the line break that ends it outside quotes and the index after the
// break (CRLF is one break). It returns -1 if b does not finish the record.
func recordEnd(pending, b []byte) (end, next int) {
	inQuote := false
	for _, c := range pending {
		if c == '"' {
			inQuote = !inQuote
		}
	}
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			inQuote = !inQuote
		case (c == '\n' || c == '\r') && !inQuote:
			if c == '\r' && i+1 < len(b) && b[i+1] == '\n' {
				return i, i + 2
			}
			return i, i + 1
		}
	}
	return -1, 0
}

// record handles one complete record.
func (p *Parser) record(rec []byte, runaway bool) {
	startLine := p.line
	p.line += 1 + countBreaks(rec)
	p.res.Lines++
	if strings.TrimSpace(string(rec)) == "" && !runaway {
		return
	}
	if runaway || len(rec) > p.cfg.MaxLineLength || !utf8.Valid(rec) {
		p.invalid(startLine)
		p.records++
		return
	}
	fields := splitFields(string(rec))
	first := p.records == 0
	p.records++
	type found struct {
		contact string
		phone   bool
	}
	var got []found
	bad := false
	for i, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" || (p.columns != nil && (i >= len(p.columns) || !p.columns[i])) {
			continue
		}
		if strings.Contains(f, "@") {
			if e, ok := NormalizeEmail(f); ok {
				got = append(got, found{e, false})
			} else {
				bad = true
			}
			continue
		}
		if !looksLikePhone(f) {
			continue
		}
		if ph, ok := NormalizePhone(f, p.cfg.DefaultRegion); ok {
			got = append(got, found{ph, true})
		} else {
			bad = true
		}
	}
	if first && len(got) == 0 && !bad && isHeader(fields) {
		p.res.Header = true
		p.columns = headerColumns(fields)
		return
	}
	if bad || len(got) == 0 {
		p.invalid(startLine)
	}
	dup := false
	for _, g := range got {
		if p.seen[g.contact] {
			p.res.Duplicates++
			dup = true
			continue
		}
		if len(p.seen) >= p.cfg.MaxContacts {
			p.err = fmt.Errorf("%w: more than %d (line %d)", ErrTooManyContacts, p.cfg.MaxContacts, startLine)
			return
		}
		p.seen[g.contact] = true
		p.res.Contacts = append(p.res.Contacts, g.contact)
		p.res.Detected++
		if g.phone {
			p.res.Phones++
		} else {
			p.res.Emails++
		}
	}
	if dup {
		p.res.DuplicateLines = append(p.res.DuplicateLines, startLine)
	}
}

// invalid records an invalid record starting at line.
func (p *Parser) invalid(line int) {
	p.res.Invalid++
	p.res.InvalidLines = append(p.res.InvalidLines, line)
}

// countBreaks counts the line breaks inside a record (in quoted fields).
func countBreaks(rec []byte) int {
	n := 0
	for i := 0; i < len(rec); i++ {
		if rec[i] == '\n' || rec[i] == '\r' && (i+1 == len(rec) || rec[i+1] != '\n') {
			n++
		}
	}
	return n
}

// splitFields splits a record at commas, semicolons and tabs outside
// double quotes and unquotes quoted fields ("" is a literal quote).
func splitFields(rec string) []string {
	var fields []string
	var b strings.Builder
	inQuote := false
	for i := 0; i < len(rec); i++ {
		c := rec[i]
		switch {
		case c == '"' && inQuote && i+1 < len(rec) && rec[i+1] == '"':
			b.WriteByte('"')
			i++
		case c == '"':
			inQuote = !inQuote
		case (c == ',' || c == ';' || c == '\t') && !inQuote:
			fields = append(fields, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(fields, b.String())
}

// looksLikePhone reports whether f is an attempt at a phone number: at
// least 7 digits and otherwise only spaces and + ( ) - . / characters,
// optionally followed by an extension ("x12", "ext. 12", "#12").
func looksLikePhone(f string) bool {
	lf := strings.ToLower(f)
	for _, sep := range []string{"ext", "x", "#"} {
		if i := strings.Index(lf, sep); i > 0 {
			lf = lf[:i]
			break
		}
	}
	digits := 0
	for _, r := range lf {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("+()-./ ", r):
		default:
			return false
		}
	}
	return digits >= 7
}

// isHeader reports whether fields look like column names: each non-empty
// field is at most 40 characters of letters, spaces, _-./#() and at most
// three digits ("Phone 2"), with at least one letter.
func isHeader(fields []string) bool {
	any := false
	for _, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if len(f) > 40 {
			return false
		}
		letters, digits := 0, 0
		for _, r := range f {
			switch {
			case unicode.IsLetter(r):
				letters++
			case unicode.IsDigit(r):
				digits++
			case strings.ContainsRune(" _-./#()", r):
			default:
				return false
			}
		}
		if letters == 0 || digits > 3 {
			return false
		}
		any = true
	}
	return any
}

// headerColumns returns which columns hold contacts according to the
// header, or nil (all columns) when no header name mentions a contact.
func headerColumns(fields []string) []bool {
	words := []string{"phone", "mobile", "cell", "tel", "sms", "mail", "contact"}
	cols := make([]bool, len(fields))
	anyCol := false
	for i, f := range fields {
		f = strings.ToLower(f)
		for _, w := range words {
			if strings.Contains(f, w) {
				cols[i], anyCol = true, true
			}
		}
	}
	if !anyCol {
		return nil
	}
	return cols
}

// ContactMatcher is an optional interface of a PatientStore that matches
// many contacts in one call (one SQL query instead of one per contact).
// MatchContacts uses it when present. For each normalised contact it
// returns the IDs of the org's patients FindByContact would return; a
// contact without matches may be absent from the map.
type ContactMatcher interface {
	MatchContacts(ctx context.Context, orgID string, contacts []string) (map[string][]string, error)
}

// MatchContacts matches normalised contacts (as ParseResult.Contacts) to
// the org's patients, with the store's ContactMatcher if it has one and
// PatientStore.FindByContact otherwise, and returns the contact list of a
// list cohort: the contacts, the IDs of every patient matched (a shared
// family phone matches each family member), the contacts that matched no
// one, and MatchedAt = now.
func MatchContacts(ctx context.Context, ps PatientStore, orgID string, contacts []string, now time.Time) (*ContactList, error) {
	cl := &ContactList{Contacts: slices.Clone(contacts), PatientIDs: []string{}, MatchedAt: now}
	var found map[string][]string
	if cm, ok := ps.(ContactMatcher); ok {
		var err error
		if found, err = cm.MatchContacts(ctx, orgID, contacts); err != nil {
			return nil, fmt.Errorf("cohort: match contacts: %w", err)
		}
	}
	for _, c := range contacts {
		var matched []string
		if found != nil {
			matched = found[c]
		} else {
			ps, err := ps.FindByContact(ctx, orgID, c)
			if err != nil {
				return nil, fmt.Errorf("cohort: match contacts: %w", err)
			}
			for _, p := range ps {
				matched = append(matched, p.ID)
			}
		}
		if len(matched) == 0 {
			cl.Unmatched = append(cl.Unmatched, c)
		}
		cl.PatientIDs = append(cl.PatientIDs, matched...)
	}
	slices.Sort(cl.PatientIDs)
	cl.PatientIDs = slices.Compact(cl.PatientIDs)
	return cl, nil
}

// Rematch matches the list's contacts again (MatchContacts) and returns
// the refreshed list; the receiver is not modified. Use it when a user
// asks to refresh a saved list cohort.
func (cl *ContactList) Rematch(ctx context.Context, ps PatientStore, orgID string, now time.Time) (*ContactList, error) {
	return MatchContacts(ctx, ps, orgID, cl.Contacts, now)
}
