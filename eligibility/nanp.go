package eligibility

import (
	"errors"
	"regexp/syntax"
	"slices"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// This file builds, from phonenumbers' own metadata, an exact decision
// table for the validity of North American Numbering Plan numbers
// (country code 1, ten-digit national numbers). With it, NormalizePhone
// answers "is +1NPANXXXXXX valid?" without calling phonenumbers.Parse,
// which allocates, and gives exactly the answer phonenumbers.IsValidNumber
// would give (the tests compare the two).
//
// phonenumbers decides NANP validity this way: the regions sharing code 1
// are tried in metadata order (US first); a region with "leading digits"
// claims every number those digits start, and the number is then valid
// only if that region's patterns accept it; a region without leading
// digits claims the number only if its patterns accept it. A region
// accepts a number when its general pattern and one of its type patterns
// (fixed line, mobile, toll free, …) match the whole national number.
//
// The patterns are simple digit regular expressions, so each expands into
// a finite list of sequences of per-position digit sets. The table is a
// trie over the ten national digits whose leaves say valid or invalid as
// soon as every completion of a prefix has the same answer.

const (
	nanpDigits  = 10 // length of a NANP national number
	nanpInvalid = -1 // trie leaf: every completion is invalid
	nanpValid   = -2 // trie leaf: every completion is valid
	fullMask    = 1<<10 - 1
	maxSeqs     = 1 << 16 // refuse pathological expansions
)

// nanpTable is the decision trie; node 0 is the root. Each entry is a
// child node index, or a leaf (nanpInvalid, nanpValid).
type nanpTable struct {
	nodes [][10]int32
}

// valid reports whether the ten ASCII digits in national form a valid
// NANP number. national must be exactly ten bytes '0'..'9'.
func (t *nanpTable) valid(national string) bool { return nanpLookup(t, national) }

// nanpLookup is valid for a string or a byte slice.
func nanpLookup[S string | []byte](t *nanpTable, national S) bool {
	n := int32(0)
	for i := 0; i < nanpDigits; i++ {
		n = t.nodes[n][national[i]-'0']
		if n < 0 {
			return n == nanpValid
		}
	}
	return false // unreachable for a well-formed table: depth 10 is always a leaf
}

// nanpOnce builds the table on first use. A nil table (metadata that
// could not be expanded) disables the fast path: every number then goes
// through phonenumbers, which stays correct, only slower.
var nanpOnce = sync.OnceValue(func() *nanpTable {
	t, err := buildNANP()
	if err != nil {
		return nil
	}
	return t
})

// seq is one expansion of a pattern: a digit set (bit d set = digit d
// allowed) per position.
type seq []uint16

// regionRule is one NANP region's validity rule in expanded form.
type regionRule struct {
	lead    []seq // leading-digit prefixes; nil when the region has none
	hasLead bool
	gen     []seq // general description, 10-digit sequences only
	typ     []seq // union of the type descriptions, 10-digit sequences only
}

// status of a set of sequences at a prefix.
type status uint8

const (
	stNone  status = iota // no completion matches
	stAll                 // every completion matches
	stMixed               // depends on later digits
)

func buildNANP() (*nanpTable, error) {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return nil, err
	}
	byID := map[string]*phonenumbers.PhoneMetadata{}
	for _, md := range coll.GetMetadata() {
		if md.GetCountryCode() == 1 {
			byID[md.GetId()] = md
		}
	}
	var rules []regionRule
	for _, id := range phonenumbers.GetRegionCodesForCountryCode(1) {
		md := byID[id]
		if md == nil {
			return nil, errors.New("eligibility: NANP region metadata missing")
		}
		r, err := ruleFor(md)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	t := &nanpTable{}
	if root := t.build(0, rules); root != 0 {
		return nil, errors.New("eligibility: NANP table root is a leaf")
	}
	return t, nil
}

func ruleFor(md *phonenumbers.PhoneMetadata) (regionRule, error) {
	var r regionRule
	var err error
	if ld := md.GetLeadingDigits(); ld != "" {
		r.hasLead = true
		if r.lead, err = expandPattern(ld, false); err != nil {
			return r, err
		}
	}
	gen := md.GetGeneralDesc()
	if !allowsTen(gen.GetPossibleLength()) {
		return r, nil // never valid
	}
	if r.gen, err = expandPattern(gen.GetNationalNumberPattern(), true); err != nil {
		return r, err
	}
	descs := []*phonenumbers.PhoneNumberDesc{
		md.GetPremiumRate(), md.GetTollFree(), md.GetSharedCost(), md.GetVoip(),
		md.GetPersonalNumber(), md.GetPager(), md.GetUan(), md.GetVoicemail(),
		md.GetFixedLine(),
	}
	if !md.GetSameMobileAndFixedLinePattern() {
		descs = append(descs, md.GetMobile())
	}
	for _, d := range descs {
		if d == nil || !allowsTen(d.GetPossibleLength()) {
			continue
		}
		s, err := expandPattern(d.GetNationalNumberPattern(), true)
		if err != nil {
			return r, err
		}
		r.typ = append(r.typ, s...)
	}
	return r, nil
}

func allowsTen(lengths []int32) bool {
	return len(lengths) == 0 || slices.Contains(lengths, nanpDigits)
}

// expandPattern expands a phonenumbers pattern. With whole set, only
// sequences of exactly ten positions are kept (the pattern must match the
// whole national number); otherwise sequences of up to ten positions are
// kept as prefixes.
func expandPattern(pattern string, whole bool) ([]seq, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, err
	}
	out, err := expand(re.Simplify())
	if err != nil {
		return nil, err
	}
	if whole {
		out = slices.DeleteFunc(out, func(s seq) bool { return len(s) != nanpDigits })
	}
	return out, nil
}

var errTooComplex = errors.New("eligibility: NANP pattern too complex to expand")

// expand returns every sequence (of at most ten positions) re can match.
func expand(re *syntax.Regexp) ([]seq, error) {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginText, syntax.OpEndText, syntax.OpBeginLine, syntax.OpEndLine:
		return []seq{{}}, nil
	case syntax.OpNoMatch:
		return nil, nil
	case syntax.OpLiteral:
		s := make(seq, 0, len(re.Rune))
		for _, r := range re.Rune {
			if r < '0' || r > '9' {
				return nil, nil // a non-digit never matches a national number
			}
			s = append(s, 1<<(r-'0'))
		}
		return []seq{s}, nil
	case syntax.OpCharClass:
		var m uint16
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for d := max(re.Rune[i], '0'); d <= min(re.Rune[i+1], '9'); d++ {
				m |= 1 << (d - '0')
			}
		}
		if m == 0 {
			return nil, nil
		}
		return []seq{{m}}, nil
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return []seq{{fullMask}}, nil
	case syntax.OpCapture:
		return expand(re.Sub[0])
	case syntax.OpConcat:
		acc := []seq{{}}
		for _, sub := range re.Sub {
			x, err := expand(sub)
			if err != nil {
				return nil, err
			}
			if acc, err = product(acc, x); err != nil {
				return nil, err
			}
		}
		return acc, nil
	case syntax.OpAlternate:
		var acc []seq
		for _, sub := range re.Sub {
			x, err := expand(sub)
			if err != nil {
				return nil, err
			}
			acc = append(acc, x...)
			if len(acc) > maxSeqs {
				return nil, errTooComplex
			}
		}
		return acc, nil
	case syntax.OpQuest:
		x, err := expand(re.Sub[0])
		if err != nil {
			return nil, err
		}
		return append([]seq{{}}, x...), nil
	case syntax.OpStar, syntax.OpPlus, syntax.OpRepeat:
		x, err := expand(re.Sub[0])
		if err != nil {
			return nil, err
		}
		x = slices.DeleteFunc(x, func(s seq) bool { return len(s) == 0 })
		lo, hi := 0, -1
		switch re.Op {
		case syntax.OpPlus:
			lo = 1
		case syntax.OpRepeat:
			lo, hi = re.Min, re.Max
		}
		var acc []seq
		cur := []seq{{}}
		for n := 0; (hi < 0 || n <= hi) && len(cur) > 0; n++ {
			if n >= lo {
				acc = append(acc, cur...)
			}
			if cur, err = product(cur, x); err != nil {
				return nil, err
			}
		}
		return acc, nil
	}
	return nil, errTooComplex
}

// product concatenates every a with every b, dropping results longer than
// a national number.
func product(a, b []seq) ([]seq, error) {
	var out []seq
	for _, x := range a {
		for _, y := range b {
			if len(x)+len(y) > nanpDigits {
				continue
			}
			s := make(seq, 0, len(x)+len(y))
			s = append(append(s, x...), y...)
			out = append(out, s)
			if len(out) > maxSeqs {
				return nil, errTooComplex
			}
		}
	}
	return out, nil
}

// build adds the trie node for a prefix of length k whose outcome is
// undetermined, given each region's sequences still compatible with the
// prefix, and returns its index.
func (t *nanpTable) build(k int, rules []regionRule) int32 {
	idx := int32(len(t.nodes))
	t.nodes = append(t.nodes, [10]int32{})
	for d := range 10 {
		child := make([]regionRule, len(rules))
		for i, r := range rules {
			child[i] = regionRule{
				hasLead: r.hasLead,
				lead:    filterPrefix(r.lead, k, d),
				gen:     filter(r.gen, k, d),
				typ:     filter(r.typ, k, d),
			}
		}
		var v int32
		switch decide(k+1, child) {
		case stAll:
			v = nanpValid
		case stNone:
			v = nanpInvalid
		default:
			v = t.build(k+1, child)
		}
		t.nodes[idx][d] = v
	}
	return idx
}

// filter keeps the sequences allowing digit d at position k.
func filter(ss []seq, k, d int) []seq {
	var out []seq
	for _, s := range ss {
		if s[k]&(1<<d) != 0 {
			out = append(out, s)
		}
	}
	return out
}

// filterPrefix is filter for leading-digit prefixes: a prefix shorter than
// k+1 has already matched and is kept.
func filterPrefix(ss []seq, k, d int) []seq {
	var out []seq
	for _, s := range ss {
		if len(s) <= k || s[k]&(1<<d) != 0 {
			out = append(out, s)
		}
	}
	return out
}

// decide returns the validity of every completion of a prefix of length k
// (stAll valid, stNone invalid, stMixed undetermined), following the
// region order of phonenumbers.GetRegionCodeForNumber.
func decide(k int, rules []regionRule) status {
	for _, r := range rules {
		if r.hasLead {
			switch leadStatus(r.lead, k) {
			case stNone:
				continue
			case stMixed:
				return stMixed
			}
			return both(seqStatus(r.gen, k), seqStatus(r.typ, k))
		}
		switch both(seqStatus(r.gen, k), seqStatus(r.typ, k)) {
		case stAll:
			return stAll
		case stMixed:
			return stMixed
		}
	}
	return stNone
}

func both(a, b status) status {
	switch {
	case a == stNone || b == stNone:
		return stNone
	case a == stAll && b == stAll:
		return stAll
	}
	return stMixed
}

// seqStatus: the sequences are compatible with the prefix of length k;
// the set matches every completion if one of them leaves the rest free.
// (A union of several partial sequences can also cover everything; the
// trie then simply goes one level deeper, which stays exact.)
func seqStatus(ss []seq, k int) status {
	if len(ss) == 0 {
		return stNone
	}
	for _, s := range ss {
		free := true
		for _, m := range s[k:] {
			if m != fullMask {
				free = false
				break
			}
		}
		if free {
			return stAll
		}
	}
	return stMixed
}

// leadStatus: stAll when a leading-digit prefix has fully matched.
func leadStatus(ss []seq, k int) status {
	if len(ss) == 0 {
		return stNone
	}
	for _, s := range ss {
		if len(s) <= k {
			return stAll
		}
	}
	return stMixed
}
