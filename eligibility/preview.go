package eligibility

import (
	"context"
	"fmt"
	"hash/maphash"
	"iter"
	"slices"

	"github.com/carecast/carecast"
)

// ctxCheckEvery is how many patients a preview reads between two checks
// of its context.
const ctxCheckEvery = 1024

// PreviewOpts are the optional settings of a preview. A nil *PreviewOpts
// accepts every default.
type PreviewOpts struct {
	// Classifier decides each patient. Defaults to the zero Classifier
	// (phone region "US") when nil.
	Classifier *Classifier
	// CollapseShared sends one message per distinct address: an eligible
	// patient whose normalised phone number (SMS) or email address (email,
	// compared in lower case) was already counted in this preview is
	// counted as SharedAddress instead of Send. Families sharing a phone
	// then get one text. Defaults to false: every eligible patient gets
	// a message.
	CollapseShared bool
}

// Preview holds the counts of the send-preview panel for one channel and
// purpose. Every patient read is counted exactly once: Total equals the
// sum of ByReason, and ByReason[Send] equals WillSend.
type Preview struct {
	// Channel and Purpose are the ones the preview was built for.
	Channel carecast.Channel
	Purpose carecast.Purpose
	// CollapseShared records whether shared addresses were collapsed.
	CollapseShared bool
	// RequireAuthorization records whether the classifier required a
	// HIPAA marketing authorization (a NoAuthorization row is shown).
	RequireAuthorization bool
	// RequirePEWC records whether the classifier required written
	// consent for marketing texts (the NoPEWC row replaces Not opted in).
	RequirePEWC bool
	// Total is the number of patients read.
	Total int
	// WillSend is the number of messages that will be sent: eligible
	// patients, less those collapsed.
	WillSend int
	// Collapsed is the number of eligible patients folded into another
	// patient's message (ByReason[SharedAddress]); 0 unless
	// CollapseShared.
	Collapsed int
	// ByReason counts patients by decision, indexed by Reason. Reasons
	// stay distinct here (OptedOut and Blocked apart); [Preview.Rows]
	// applies the preview grouping.
	ByReason [NumReasons]int
}

// Count returns the number of patients decided r (0 for an undefined r).
func (p Preview) Count(r Reason) int {
	if !r.Valid() {
		return 0
	}
	return p.ByReason[r]
}

// Skipped returns the number of patients who get no message of their own
// (Total less WillSend, collapsed patients included).
func (p Preview) Skipped() int { return p.Total - p.WillSend }

// PreviewRow is one line of the send-preview panel.
type PreviewRow struct {
	// Reason identifies the row: Send for "Will send", the group reason
	// (see [Reason.PreviewGroup]) for a skip row, SharedAddress for the
	// collapsed-recipients row.
	Reason Reason
	// Label is the row's text ("Will send", "Opted out", "No email", …).
	Label string
	// Count is the number of patients on the row.
	Count int
}

// Rows returns the panel's rows in the guide's order for the preview's
// channel and purpose (see [PreviewReasons]), with counts grouped by
// [Reason.PreviewGroup]: the SMS "Opted out" row counts OptedOut and
// Blocked together.
func (p Preview) Rows() []PreviewRow {
	rs := PreviewReasons(p.Channel, p.Purpose, p.CollapseShared)
	if p.RequirePEWC && p.Channel == carecast.SMS && p.Purpose != carecast.Transactional {
		for i := range rs {
			if rs[i] == NotOptedIn {
				rs[i] = NoPEWC
			}
		}
	}
	if p.Channel == carecast.SMS && p.ByReason[Suppressed] > 0 {
		// An SMS number the engine's suppression list holds as
		// unreachable (no record flag, so no row of its own).
		rs = append(rs, Suppressed)
	}
	if p.ByReason[Confidential] > 0 {
		rs = append(rs, Confidential)
	}
	if p.RequireAuthorization {
		rs = append(rs, NoAuthorization)
	}
	rows := make([]PreviewRow, len(rs))
	for i, r := range rs {
		rows[i] = PreviewRow{Reason: r, Label: r.Label(p.Channel)}
	}
	for r, n := range p.ByReason {
		g := Reason(r).PreviewGroup()
		for i := range rows {
			if rows[i].Reason == g {
				rows[i].Count += n
			}
		}
	}
	return rows
}

// PreviewReasons returns the rows the send preview shows for channel ch
// and purpose pu, in the user guide's order, each named by its reason:
//
//	SMS:   Send, OptedOut, NoContact, Landline, NotOptedIn (marketing only)
//	Email: Send, Suppressed, Unsubscribed (marketing only), NoContact,
//	       NotOptedIn (marketing only)
//
// With collapse set, SharedAddress follows Send. An undefined purpose is
// marketing; an undefined channel yields nil.
func PreviewReasons(ch carecast.Channel, pu carecast.Purpose, collapse bool) []Reason {
	mkt := pu != carecast.Transactional
	out := []Reason{Send}
	if collapse {
		out = append(out, SharedAddress)
	}
	switch {
	case ch == carecast.SMS:
		out = append(out, OptedOut, NoContact, Landline)
	case ch == carecast.Email && mkt:
		out = append(out, Suppressed, Unsubscribed, NoContact)
	case ch == carecast.Email:
		out = append(out, Suppressed, NoContact)
	default:
		return nil
	}
	if mkt {
		out = append(out, NotOptedIn)
	}
	return out
}

// Tally classifies patients one at a time and accumulates a [Preview].
// The engine uses it to write one ledger row per patient and the counts
// in a single pass; [BuildPreview] and [Skipped] are built on it. A Tally
// is not safe for concurrent use.
//
// With CollapseShared, a Tally remembers a 64-bit hash (hash/maphash,
// randomly seeded) of each address it has sent to: 8 to 16 bytes per
// recipient, never the address itself. Two distinct addresses collide
// with probability about n²/2⁶⁵ (3·10⁻⁸ for a million recipients).
type Tally struct {
	cls      *Classifier
	collapse bool
	seed     maphash.Seed
	seen     addrSet
	p        Preview

	// countOnly (set by BuildPreview, which needs counts, not
	// per-patient decisions) appends address hashes to hashes and counts
	// duplicates once at the end: sequential writes and a radix sort are
	// several times faster than probing a set too large for the cache.
	countOnly bool
	hashes    []uint64
}

// NewTally returns a Tally for channel ch and purpose pu. opts may be
// nil. It returns an *ArgError for an undefined channel or purpose.
func NewTally(ch carecast.Channel, pu carecast.Purpose, opts *PreviewOpts) (*Tally, error) {
	if !ch.Valid() {
		return nil, &ArgError{Field: "channel", Value: string(ch)}
	}
	if !pu.Valid() {
		return nil, &ArgError{Field: "purpose", Value: string(pu)}
	}
	t := &Tally{p: Preview{Channel: ch, Purpose: pu}}
	if opts != nil {
		t.cls = opts.Classifier
		t.collapse = opts.CollapseShared
		t.p.CollapseShared = opts.CollapseShared
		t.p.RequireAuthorization = t.cls != nil && t.cls.RequireAuthorization
		t.p.RequirePEWC = t.cls != nil && t.cls.RequirePEWC
	}
	if t.collapse {
		t.seed = maphash.MakeSeed()
	}
	return t, nil
}

// Add classifies p, counts the decision and returns it. With
// CollapseShared, an eligible patient whose address was already counted
// is decided SharedAddress (Address still set). p is not retained.
func (t *Tally) Add(p *carecast.Patient) Decision {
	return t.AddDecision(t.cls.Classify(p, t.p.Channel, t.p.Purpose))
}

// AddDecision counts a decision made elsewhere (by a caller that also
// applies facts the patient record does not carry, such as a
// suppression list) and returns it: with CollapseShared, a Send whose
// address was already counted becomes SharedAddress, exactly as in
// [Tally.Add]. An undefined reason is counted as NoContact.
func (t *Tally) AddDecision(d Decision) Decision {
	if !d.Reason.Valid() {
		d = Decision{Reason: NoContact}
	}
	if d.Reason == Send && t.collapse {
		if h := t.hash(d.Address); t.countOnly {
			t.hashes = append(t.hashes, h)
		} else if !t.seen.add(h) {
			d.Reason = SharedAddress
		}
	}
	t.p.Total++
	t.p.ByReason[d.Reason]++
	switch d.Reason {
	case Send:
		t.p.WillSend++
	case SharedAddress:
		t.p.Collapsed++
	}
	return d
}

// Preview returns the counts so far.
func (t *Tally) Preview() Preview {
	p := t.p
	if t.countOnly && len(t.hashes) > 0 {
		n := countDuplicates(t.hashes) // reorders, never changes, the hashes
		p.ByReason[Send] -= n
		p.WillSend -= n
		p.ByReason[SharedAddress] += n
		p.Collapsed += n
	}
	return p
}

// hash returns the collapse key of a normalised address (E.164 number or
// lower-case email address).
func (t *Tally) hash(addr string) uint64 { return maphash.String(t.seed, addr) }

// BuildPreview reads every patient of the stream and returns the preview
// counts for channel ch and purpose pu. The stream is normally the union
// of the blast's cohorts, each patient once (cohort resolution dedupes);
// a patient yielded twice is counted twice. Malformed patient data never
// fails a preview: it is counted under its skip reason. opts may be nil.
//
// BuildPreview returns an *ArgError for an undefined channel or purpose,
// the stream's first error wrapped ("eligibility: reading patients: …"),
// or the context's error wrapped when ctx is done; on error the returned
// Preview is the zero value.
func BuildPreview(ctx context.Context, patients iter.Seq2[carecast.Patient, error], ch carecast.Channel, pu carecast.Purpose, opts *PreviewOpts) (Preview, error) {
	t, err := NewTally(ch, pu, opts)
	if err != nil {
		return Preview{}, err
	}
	t.countOnly = true
	if err := ctx.Err(); err != nil {
		return Preview{}, fmt.Errorf("eligibility: preview: %w", err)
	}
	n := 0
	for p, err := range patients {
		if err != nil {
			return Preview{}, fmt.Errorf("eligibility: reading patients: %w", err)
		}
		if n++; n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return Preview{}, fmt.Errorf("eligibility: preview: %w", err)
			}
		}
		t.Add(&p)
	}
	return t.Preview(), nil
}

// Skip is one skipped patient, for export: the patient's ID and reason
// only, no contact details.
type Skip struct {
	// PatientID is the patient's carecast.Patient.ID.
	PatientID string
	// Reason is why the patient is skipped; never Send.
	Reason Reason
}

// Skipped returns an iterator over the patients of the stream that the
// preview for ch and pu skips, in stream order, with their reasons
// (including SharedAddress when opts collapses shared addresses). It
// reads the stream afresh each time it is ranged over. On an undefined
// channel or purpose, a stream error or a done context it yields one
// final (Skip{}, err), with errors as for [BuildPreview], and stops.
func Skipped(ctx context.Context, patients iter.Seq2[carecast.Patient, error], ch carecast.Channel, pu carecast.Purpose, opts *PreviewOpts) iter.Seq2[Skip, error] {
	return func(yield func(Skip, error) bool) {
		t, err := NewTally(ch, pu, opts)
		if err != nil {
			yield(Skip{}, err)
			return
		}
		if err := ctx.Err(); err != nil {
			yield(Skip{}, fmt.Errorf("eligibility: skipped: %w", err))
			return
		}
		n := 0
		for p, err := range patients {
			if err != nil {
				yield(Skip{}, fmt.Errorf("eligibility: reading patients: %w", err))
				return
			}
			if n++; n%ctxCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					yield(Skip{}, fmt.Errorf("eligibility: skipped: %w", err))
					return
				}
			}
			if d := t.Add(&p); d.Reason != Send {
				if !yield(Skip{PatientID: p.ID, Reason: d.Reason}, nil) {
					return
				}
			}
		}
	}
}

// countDuplicates returns how many entries of hs equal an earlier one,
// reordering hs. It radix-sorts on the top 32 bits (four byte-wide passes)
// and compares full values within the rare runs that share them.
func countDuplicates(hs []uint64) int {
	src, dst := hs, make([]uint64, len(hs))
	for shift := 32; shift < 64; shift += 8 {
		var pos [256]int
		for _, h := range src {
			pos[byte(h>>shift)]++
		}
		sum := 0
		for i, c := range pos {
			pos[i] = sum
			sum += c
		}
		for _, h := range src {
			b := byte(h >> shift)
			dst[pos[b]] = h
			pos[b]++
		}
		src, dst = dst, src
	}
	dups := 0
	for i := 0; i < len(src); {
		j := i + 1
		for j < len(src) && src[j]>>32 == src[i]>>32 {
			j++
		}
		if run := src[i:j]; len(run) > 1 {
			slices.Sort(run)
			for k := 1; k < len(run); k++ {
				if run[k] == run[k-1] {
					dups++
				}
			}
		}
		i = j
	}
	return dups
}

// addrSet is an open-addressing set of 64-bit hashes (0 marks an empty
// slot; a zero hash is stored as 1).
type addrSet struct {
	slots []uint64
	n     int
}

// add inserts h and reports whether it was absent.
func (s *addrSet) add(h uint64) bool {
	if h == 0 {
		h = 1
	}
	if (s.n+1)*4 > len(s.slots)*3 {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case 0:
			s.slots[i] = h
			s.n++
			return true
		case h:
			return false
		}
	}
}

func (s *addrSet) grow() {
	old := s.slots
	size := max(1024, 2*len(old))
	s.slots = make([]uint64, size)
	mask := uint64(size - 1)
	for _, h := range old {
		if h == 0 {
			continue
		}
		i := h & mask
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = h
	}
}
