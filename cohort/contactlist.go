package cohort

import (
	"bytes"
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

// Defaults and fixed bounds of the contact-list parser. Whatever the size
// of the input, a [Parser] holds at most MaxLineLength bytes of the
// record being read, the contacts found (at most MaxContacts, with their
// index) and MaxReportedLines line numbers per kind of problem.
const (
	// DefaultMaxContacts is the default ParseConfig.MaxContacts.
	DefaultMaxContacts = 50_000
	// DefaultMaxLineLength is the default ParseConfig.MaxLineLength,
	// 64 KiB: room for any row of a spreadsheet export, notes columns
	// included.
	DefaultMaxLineLength = 64 << 10
	// DefaultMaxInputBytes is the default ParseConfig.MaxInputBytes,
	// 16 MiB: 50,000 rows of over 300 bytes, a full patient export. It
	// also bounds the CPU an upload costs (see the package
	// documentation, "Contact-list cohorts").
	DefaultMaxInputBytes = 16 << 20
	// MaxReportedLines is how many line numbers a ParseResult keeps for
	// each kind of problem (InvalidLines, DuplicateLines): the first ones
	// in input order. The counts (Invalid, DuplicateRecords) cover every
	// line, so a list with a million bad lines costs no more memory than
	// one with a hundred, and a window can say "and N more".
	MaxReportedLines = 100
)

// The limits a contact list can pass; each is the class (errors.Is) of a
// *ParseLimitError.
var (
	// ErrTooManyContacts: more unique contacts than
	// ParseConfig.MaxContacts.
	ErrTooManyContacts = errors.New("cohort: too many contacts")
	// ErrLineTooLong: a record (a line, or several when a quoted field
	// spans lines) longer than ParseConfig.MaxLineLength. The usual cause
	// is a double quote that is never closed.
	ErrLineTooLong = errors.New("cohort: contact list line too long")
	// ErrListTooLarge: more input than ParseConfig.MaxInputBytes.
	ErrListTooLarge = errors.New("cohort: contact list too large")
)

// ParseLimitError reports that the contact-list parser stopped because
// the input passed one of the ParseConfig limits. It names the limit and
// the line, never the list's content. Its class (errors.Is) is Err:
// ErrTooManyContacts, ErrLineTooLong or ErrListTooLarge. The parser's
// result keeps the records completed before the limit was passed.
type ParseLimitError struct {
	// Err is the class of the limit passed.
	Err error
	// Limit is the ParseConfig field of the limit: "MaxContacts",
	// "MaxLineLength" or "MaxInputBytes".
	Limit string
	// Max is the limit's value.
	Max int
	// Line is the 1-based line where the record being read when the limit
	// was passed starts.
	Line int
	// InQuote reports, for ErrLineTooLong, that the record was inside a
	// quoted field when it passed the limit: most often a stray " that is
	// never closed and swallows the lines after it.
	InQuote bool
}

// Error formats the error as "cohort: contact list line too long: line 7
// is longer than 65536 bytes (MaxLineLength)", with a hint about an
// unclosed quote when InQuote is set.
func (e *ParseLimitError) Error() string {
	var s string
	switch e.Limit {
	case "MaxContacts":
		s = fmt.Sprintf("%v: more than %d unique contacts (MaxContacts) at line %d", e.Err, e.Max, e.Line)
	case "MaxLineLength":
		s = fmt.Sprintf("%v: line %d is longer than %d bytes (MaxLineLength)", e.Err, e.Line, e.Max)
		if e.InQuote {
			s += `; a quoted field opened there is not closed, check for an unmatched "`
		}
	default:
		s = fmt.Sprintf("%v: more than %d bytes (%s), stopped in line %d", e.Err, e.Max, e.Limit, e.Line)
	}
	return s
}

// Unwrap returns the limit's class.
func (e *ParseLimitError) Unwrap() error { return e.Err }

// ParseConfig configures the contact-list parser. Zero values take the
// defaults.
type ParseConfig struct {
	// DefaultRegion reads phone numbers without a country code (ISO
	// 3166-1, the practice's region). Defaults to DefaultRegion ("US").
	DefaultRegion string
	// MaxContacts caps the number of unique contacts; one more stops the
	// parse with ErrTooManyContacts. Defaults to DefaultMaxContacts.
	MaxContacts int
	// MaxLineLength caps one record's length in bytes (a record whose
	// quoted field spans lines counts whole, line breaks included); a
	// longer record stops the parse with ErrLineTooLong naming its first
	// line. It bounds the bytes the parser buffers. Defaults to
	// DefaultMaxLineLength.
	MaxLineLength int
	// MaxInputBytes caps the input's size (byte order mark included);
	// more stops the parse with ErrListTooLarge. It bounds the time an
	// upload can take. Defaults to DefaultMaxInputBytes.
	MaxInputBytes int
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
	// DuplicateRecords counts the records holding at least one duplicate
	// contact (ParseResult.DuplicateLines lists the first ones).
	DuplicateRecords int `json:"duplicate_records"`
	// Invalid counts records with a field that looks like a contact but
	// is not valid, or with no contact at all (blank records and the
	// header are not counted). ParseResult.InvalidLines lists the first
	// ones.
	Invalid int `json:"invalid"`
	// Header reports whether the first record was read as a header.
	Header bool `json:"header"`
}

// ParseResult is the outcome of parsing a contact list. Line numbers are
// 1-based and count physical lines (a quoted field spanning lines moves
// the next record's number on); no content of a bad line is kept, so the
// report holds no PHI.
type ParseResult struct {
	ParseStats
	// Contacts are the unique normalised contacts in input order.
	Contacts []string `json:"contacts"`
	// InvalidLines are the lines where the first MaxReportedLines invalid
	// records start, ascending; Invalid counts them all.
	InvalidLines []int `json:"invalid_lines"`
	// DuplicateLines are the lines where the first MaxReportedLines
	// records holding a duplicate contact start, ascending;
	// DuplicateRecords counts them all.
	DuplicateLines []int `json:"duplicate_lines"`
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
// Cost: the parser looks at each input byte a constant number of times,
// however the input is cut into writes (it carries the quote state of the
// unfinished record from one write to the next instead of rescanning it),
// and its memory is bounded by the ParseConfig limits, not by the input's
// size (see MaxReportedLines). A limit passed stops the parse with a
// *ParseLimitError; Write and Close then return it again.
//
// A Parser is not safe for concurrent use.
type Parser struct {
	cfg ParseConfig

	res     ParseResult
	seen    map[string]bool
	pending []byte   // bytes of the unfinished record, at most MaxLineLength
	inQuote bool     // pending ends inside a quoted field
	bomLen  int      // leading bytes that matched a byte order mark so far
	started bool     // the first byte (and a possible BOM) was handled
	skipLF  bool     // the last write ended with a CR that ended a record
	read    int      // input bytes accepted, at most MaxInputBytes
	line    int      // physical line number of the next record's start (1-based)
	records int      // non-blank records read
	columns []bool   // header-selected contact columns, nil for all
	fields  []string // the current record's fields (reused)
	got     []found  // the current record's contacts (reused)
	err     error

	// scanned counts the bytes the parser examined (the record-end scan
	// plus one pass per completed record); tests check it stays linear.
	scanned int
}

// found is a contact read from a field.
type found struct {
	contact string
	phone   bool
}

// bom is the UTF-8 byte order mark.
const bom = "\xef\xbb\xbf"

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
	for _, l := range []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxContacts", &c.MaxContacts, DefaultMaxContacts},
		{"MaxLineLength", &c.MaxLineLength, DefaultMaxLineLength},
		{"MaxInputBytes", &c.MaxInputBytes, DefaultMaxInputBytes},
	} {
		if *l.v < 0 {
			return nil, fmt.Errorf("cohort: ParseConfig.%s must not be negative", l.name)
		}
		if *l.v == 0 {
			*l.v = l.def
		}
	}
	return &Parser{cfg: c, seen: map[string]bool{}, line: 1}, nil
}

// ParseContacts parses a whole contact list (see Parser).
func ParseContacts(text string, cfg *ParseConfig) (ParseResult, error) {
	p, err := NewParser(cfg)
	if err != nil {
		return ParseResult{}, err
	}
	if _, err := p.WriteString(text); err != nil {
		return p.Result(), err
	}
	return p.Close()
}

// Write parses b, completing records as their line ends arrive. The
// error is a *ParseLimitError once a limit is passed (later writes return
// it again); the count is then the bytes taken up to MaxInputBytes.
func (p *Parser) Write(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n := len(b)
	over := false
	if room := p.cfg.MaxInputBytes - p.read; n > room {
		b, n, over = b[:room], room, true
	}
	p.read += n
	p.feed(p.skipBOM(b))
	if over && p.err == nil {
		p.err = &ParseLimitError{Err: ErrListTooLarge, Limit: "MaxInputBytes", Max: p.cfg.MaxInputBytes, Line: p.line}
	}
	return n, p.err
}

// WriteString is Write for a string. It copies s through a small buffer,
// never whole.
func (p *Parser) WriteString(s string) (int, error) {
	if len(s) == 0 {
		return p.Write(nil)
	}
	var buf [16 << 10]byte
	n := 0
	for len(s) > 0 {
		k := copy(buf[:], s)
		m, err := p.Write(buf[:k])
		n += m
		if err != nil {
			return n, err
		}
		s = s[k:]
	}
	return n, nil
}

// Stats returns the counts over the complete records read so far.
func (p *Parser) Stats() ParseStats { return p.res.ParseStats }

// Close parses the final record (text after the last line break) and
// returns the result.
func (p *Parser) Close() (ParseResult, error) {
	if p.err == nil {
		if !p.started {
			// A partial byte order mark at the very end is data.
			p.started = true
			p.feed([]byte(bom[:p.bomLen]))
		}
		if p.err == nil && len(p.pending) > 0 {
			p.record(p.pending)
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

// skipBOM consumes a leading byte order mark, which may arrive split
// across writes, and returns the rest of b. Leading bytes that began like
// a mark but turn out not to be one are parsed as data.
func (p *Parser) skipBOM(b []byte) []byte {
	for !p.started && len(b) > 0 {
		if b[0] == bom[p.bomLen] {
			p.bomLen++
			b = b[1:]
			p.started = p.bomLen == len(bom)
			continue
		}
		p.started = true
		p.feed([]byte(bom[:p.bomLen]))
	}
	return b
}

// feed parses input bytes: each record is handled once its line break
// arrives; the unfinished one waits in p.pending.
func (p *Parser) feed(b []byte) {
	for len(b) > 0 && p.err == nil {
		if p.skipLF {
			// The previous write ended with a CR that ended a record: a
			// leading LF completes a CRLF.
			p.skipLF = false
			if b[0] == '\n' {
				b = b[1:]
				continue
			}
		}
		end, done := p.scan(b)
		p.pending = append(p.pending, b[:end]...)
		if !done {
			return
		}
		p.record(p.pending)
		p.pending = p.pending[:0]
		next := end + 1
		if b[end] == '\r' {
			switch {
			case next == len(b):
				p.skipLF = true
			case b[next] == '\n':
				next++
			}
		}
		b = b[next:]
	}
}

// scan looks in b for the line break that ends the unfinished record,
// starting from the quote state the earlier bytes of the record left
// (p.inQuote), so no byte is examined twice. It returns the break's index
// and true, or the number of b's bytes that belong to the record and
// false: all of them, or, if the record grows longer than MaxLineLength,
// those within the limit (p.err is then set).
func (p *Parser) scan(b []byte) (int, bool) {
	room := p.cfg.MaxLineLength - len(p.pending)
	inQuote := p.inQuote
	for i, c := range b {
		switch {
		case c == '"':
			inQuote = !inQuote
		case (c == '\n' || c == '\r') && !inQuote:
			p.scanned += i + 1
			p.inQuote = false
			return i, true
		}
		if i >= room {
			p.scanned += i + 1
			p.err = &ParseLimitError{Err: ErrLineTooLong, Limit: "MaxLineLength", Max: p.cfg.MaxLineLength, Line: p.line, InQuote: inQuote}
			return i, false
		}
	}
	p.scanned += len(b)
	p.inQuote = inQuote
	return len(b), false
}

// record handles one complete record.
func (p *Parser) record(rec []byte) {
	startLine := p.line
	p.line += 1 + countBreaks(rec)
	p.res.Lines++
	p.scanned += len(rec)
	if len(bytes.TrimSpace(rec)) == 0 {
		return
	}
	first := p.records == 0
	p.records++
	if !utf8.Valid(rec) {
		p.invalid(startLine)
		return
	}
	p.fields = splitFields(p.fields[:0], string(rec))
	fields := p.fields
	got := p.got[:0]
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
	p.got = got
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
			p.err = &ParseLimitError{Err: ErrTooManyContacts, Limit: "MaxContacts", Max: p.cfg.MaxContacts, Line: startLine}
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
		p.res.DuplicateRecords++
		if len(p.res.DuplicateLines) < MaxReportedLines {
			p.res.DuplicateLines = append(p.res.DuplicateLines, startLine)
		}
	}
}

// invalid records an invalid record starting at line.
func (p *Parser) invalid(line int) {
	p.res.Invalid++
	if len(p.res.InvalidLines) < MaxReportedLines {
		p.res.InvalidLines = append(p.res.InvalidLines, line)
	}
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

// splitFields appends to dst the fields of rec, split at commas,
// semicolons and tabs outside double quotes. Fields without a quote are
// substrings of rec; quoted ones are unquoted ("" is a literal quote).
func splitFields(dst []string, rec string) []string {
	start, inQuote, quoted := 0, false, false
	for i := 0; i < len(rec); i++ {
		switch c := rec[i]; {
		case c == '"':
			inQuote, quoted = !inQuote, true
		case (c == ',' || c == ';' || c == '\t') && !inQuote:
			dst = append(dst, field(rec[start:i], quoted))
			start, quoted = i+1, false
		}
	}
	return append(dst, field(rec[start:], quoted))
}

// field returns f unquoted if it holds a double quote: quotes open and
// close quoted text, and "" inside quoted text is a literal quote.
func field(f string, quoted bool) string {
	if !quoted {
		return f
	}
	var b strings.Builder
	b.Grow(len(f))
	inQuote := false
	for i := 0; i < len(f); i++ {
		switch c := f[i]; {
		case c == '"' && inQuote && i+1 < len(f) && f[i+1] == '"':
			b.WriteByte('"')
			i++
		case c == '"':
			inQuote = !inQuote
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
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
