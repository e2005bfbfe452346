package provider

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// KeywordMatch is the detailed reading of an inbound text by
// [MatchKeyword].
type KeywordMatch struct {
	// Keyword is the compliance family (KeywordNone for an ordinary reply).
	Keyword Keyword
	// Matched is the canonical keyword or phrase that matched, in upper
	// case ("STOP", "OPTOUT", "STOPALL", "NO MORE", "YES"); empty when
	// nothing matched. Record it with the opt-out as evidence.
	Matched string
	// Fuzzy is true when the text is not a bare keyword but a phrase a
	// reasonable person would read as an opt-out ("please stop texting
	// me", "STOP PLEASE"). The engine honours it at once and may also
	// queue it for human review; a vendor's own keyword filter (Twilio)
	// will not have matched it.
	Fuzzy bool
	// Confirmation is true for a bare "YES". Its Keyword is KeywordNone:
	// from a subscribed patient it is an answer ("Reply YES to confirm
	// your appointment"), not a keyword (compliance.md SM-05 test 1). Only
	// a patient who had opted out means it as an opt-in (Twilio and the
	// carriers re-subscribe on YES); an engine that knows the sender is
	// opted out may treat a Confirmation as KeywordStart.
	Confirmation bool
}

// ParseKeyword returns the compliance meaning of an inbound text body:
// KeywordStop, KeywordStart, KeywordHelp or KeywordNone. It is
// MatchKeyword(body).Keyword; see [MatchKeyword] for the rules.
func ParseKeyword(body string) Keyword { return MatchKeyword(body).Keyword }

// Keyword sets (compliance.md SM-03, SM-05, SM-06). Keys are compacted:
// upper case with spaces, hyphens and underscores removed, so "opt out",
// "OPT-OUT" and "OptOut" all read as OPTOUT.
var exactKeywords = map[string]Keyword{
	"STOP": KeywordStop, "STOPALL": KeywordStop, "UNSUBSCRIBE": KeywordStop,
	"CANCEL": KeywordStop, "END": KeywordStop, "QUIT": KeywordStop,
	"REVOKE": KeywordStop, "OPTOUT": KeywordStop,
	"START": KeywordStart, "UNSTOP": KeywordStart,
	"HELP": KeywordHelp, "INFO": KeywordHelp,
}

// stopPhrases start a natural-language opt-out; everything after them must
// be a stopFiller word. CANCEL, END and QUIT are deliberately absent:
// "cancel my appointment" and "I'll end up late" are not opt-outs.
var stopPhrases = [][]string{
	{"STOP"}, {"STOPALL"}, {"UNSUBSCRIBE"}, {"UNSUB"}, {"OPTOUT"}, {"OPT", "OUT"},
	{"REVOKE"}, {"OPT", "ME", "OUT"}, {"REMOVE", "ME"}, {"TAKE", "ME", "OFF"},
	{"DO", "NOT", "TEXT"}, {"DONT", "TEXT"}, {"NO", "MORE", "TEXTS"},
	{"NO", "MORE", "TEXT"}, {"NO", "MORE", "MESSAGES"}, {"NO", "MORE", "SMS"},
	{"NO", "MORE", "TEXTING"},
}

// stopLeaders may precede a stop phrase ("please stop", "ok stop").
var stopLeaders = setOf("PLEASE", "PLS", "PLZ", "KINDLY", "JUST", "OK", "OKAY", "HI", "HELLO", "I", "WANT", "TO", "WOULD", "LIKE", "NEED")

// stopFillers may follow a stop phrase without changing its meaning. Any
// other word ("stop TAKING my meds") makes the text an ordinary reply.
var stopFillers = setOf("PLEASE", "PLS", "PLZ", "NOW", "THANKS", "THANK", "YOU", "THX",
	"ME", "MY", "NUMBER", "PHONE", "TEXTING", "TEXTS", "TEXT", "TXT", "TXTS",
	"MESSAGING", "MESSAGES", "MESSAGE", "MSGS", "SMS", "SENDING", "CONTACTING",
	"IT", "ALL", "THIS", "THAT", "THESE", "ALREADY", "ASAP", "FROM", "LIST",
	"THE", "TO", "US", "YOUR", "ANY", "MORE", "ANYMORE", "AGAIN", "OFF", "OUT",
	"IMMEDIATELY", "STOP", "SUBSCRIPTION", "ME", "OF", "TEXTS", "MARKETING")

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// MatchKeyword reads an inbound text the way compliance.md SM-03 to SM-06
// require, as a superset of the carriers' and Twilio's keyword lists:
//
//  1. Normalise: Unicode NFKC (full-width ＳＴＯＰ becomes STOP), trim
//     white space, drop a leading or trailing run of punctuation
//     (.!?,;:) and emoji, and fold case.
//  2. Exact keywords: the whole body, with spaces, hyphens and
//     underscores removed, against STOP, STOPALL, UNSUBSCRIBE, CANCEL,
//     END, QUIT, REVOKE, OPTOUT (stop); START, UNSTOP (start); HELP, INFO
//     (help). So "opt out", "OPT-OUT" and "stop all" match. A bare YES is
//     not a keyword but is flagged as a Confirmation (see KeywordMatch).
//  3. Natural-language opt-outs (Fuzzy): an optional polite lead ("please",
//     "I want to"), then a stop phrase (STOP, UNSUBSCRIBE, OPT OUT, REMOVE
//     ME, NO MORE TEXTS, DO NOT TEXT, …), then only filler words ("me",
//     "texting", "please", "now"). "Can I stop my meds?" and "I'll end
//     up late" are not opt-outs; neither is a question.
//
// START and HELP are matched only as bare keywords: "Help me reschedule"
// is an ordinary reply.
func MatchKeyword(body string) KeywordMatch {
	s := strings.ToUpper(trimKeywordNoise(norm.NFKC.String(body)))
	if s == "" {
		return KeywordMatch{}
	}
	compact := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '-' || r == '_' {
			return -1
		}
		return r
	}, s)
	if k, ok := exactKeywords[compact]; ok {
		return KeywordMatch{Keyword: k, Matched: compact}
	}
	if compact == "YES" {
		return KeywordMatch{Matched: compact, Confirmation: true}
	}
	if strings.HasSuffix(strings.TrimSpace(norm.NFKC.String(body)), "?") {
		return KeywordMatch{}
	}
	words := keywordWords(s)
	for len(words) > 0 && stopLeaders[words[0]] {
		words = words[1:]
	}
	for _, p := range stopPhrases {
		if len(words) < len(p) || !equalWords(words[:len(p)], p) {
			continue
		}
		rest := words[len(p):]
		allFiller := true
		for _, w := range rest {
			if !stopFillers[w] {
				allFiller = false
				break
			}
		}
		if allFiller {
			return KeywordMatch{Keyword: KeywordStop, Matched: strings.Join(p, " "), Fuzzy: true}
		}
	}
	return KeywordMatch{}
}

// trimKeywordNoise trims white space, punctuation and emoji from both ends.
func trimKeywordNoise(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		switch {
		case unicode.IsSpace(r), strings.ContainsRune(".!?,;:'\"", r):
			return true
		case unicode.Is(unicode.So, r), unicode.Is(unicode.Sk, r), unicode.Is(unicode.Cf, r),
			unicode.Is(unicode.Mn, r), r >= 0xFE00 && r <= 0xFE0F:
			return true // emoji, skin-tone modifiers, ZWJ, variation selectors
		}
		return false
	})
}

// keywordWords splits an upper-cased body into words of letters and digits,
// dropping apostrophes ("DON'T" becomes "DONT").
func keywordWords(s string) []string {
	s = strings.NewReplacer("'", "", "\u2019", "").Replace(s)
	return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

func equalWords(a, b []string) bool {
	for i := range b {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
