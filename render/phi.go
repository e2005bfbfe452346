package render

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrPHIField is matched (with errors.Is) by an *UnknownFieldsError when
// one of its unknown fields names clinical information (see
// UnknownFieldsError.PHIFields). Such a field is never offered: messages
// carry only what HIPAA's minimum-necessary guidance allows (compliance
// HI-01).
var ErrPHIField = errors.New("render: merge field would put clinical information (PHI) in the message")

// phiKeyWords are the normalised words that make a merge key clinical: a
// key is clinical when its normalised form equals or contains one of them.
var phiKeyWords = [...]string{
	"diagnosis", "diagnoses", "condition", "procedure",
	"labresult", "testresult", "result",
	"medication", "prescription", "rx", "dosage",
	"treatment", "symptom", "allergy", "allergies",
	"icd", "cpt", "specialty",
}

// PHIFields returns the unknown fields whose key names clinical
// information, in source order; nil when there are none. A key is
// normalised by trimming spaces and leading dots, lower-casing it and
// removing "_", "-" and spaces ("{{.Lab_Result}}" becomes "labresult"). It
// is clinical when the result equals or contains one of: diagnosis,
// diagnoses, condition, procedure, labresult, testresult, result,
// medication, prescription, rx, dosage, treatment, symptom, allergy,
// allergies, icd, cpt, specialty. So {{.Diagnosis}}, {{lab_result}},
// {{Medications}} and {{procedure_date}} are clinical. Insurance and
// billing keys are not on the list: they are not clinical.
func (e *UnknownFieldsError) PHIFields() []FieldRef {
	if e == nil {
		return nil
	}
	var out []FieldRef
	for i, f := range e.Fields {
		if e.fieldPHI(i) {
			out = append(out, f)
		}
	}
	return out
}

// Is makes an UnknownFieldsError match ErrPHIField when at least one of
// its fields names clinical information (see PHIFields). errors.As still
// finds the *UnknownFieldsError itself.
func (e *UnknownFieldsError) Is(target error) bool {
	if target != ErrPHIField || e == nil {
		return false
	}
	if e.anyPHI {
		return true
	}
	for i := range e.Fields {
		if e.fieldPHI(i) {
			return true
		}
	}
	return false
}

// fieldPHI reports whether Fields[i] names clinical information, as
// judged on the whole key when the parser recorded it.
func (e *UnknownFieldsError) fieldPHI(i int) bool {
	if len(e.phi) == len(e.Fields) {
		return e.phi[i]
	}
	return phiKey(e.Fields[i].Key)
}

// phiKey reports whether a merge key names clinical information.
func phiKey(key string) bool {
	key = strings.TrimLeft(strings.TrimSpace(key), ". ")
	var buf [64]byte
	norm := buf[:0]
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '_' || c == '-' || c == ' ':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		norm = append(norm, c)
	}
	for _, w := range phiKeyWords {
		if strings.Contains(string(norm), w) {
			return true
		}
	}
	return false
}

// FindingKind says why ScanSensitive or ScanExemptContent reported a
// piece of template text.
type FindingKind string

// The kinds of finding.
const (
	// FindingICD10 is an ICD-10-CM-like diagnosis code ("E11.9").
	FindingICD10 FindingKind = "icd10_code"
	// FindingSensitiveTerm is a word or phrase that reveals a condition,
	// treatment or result (see SensitiveTerms).
	FindingSensitiveTerm FindingKind = "sensitive_term"
	// FindingBilling is billing or collection language (see
	// ExemptBlockedTerms).
	FindingBilling FindingKind = "billing"
	// FindingAdvertising is advertising or telemarketing language (see
	// ExemptBlockedTerms).
	FindingAdvertising FindingKind = "advertising"
)

// Finding is one piece of template text reported by ScanSensitive or
// ScanExemptContent. Term is the text exactly as written in the template
// (template text, never patient data) and Offset its byte offset, so
// text[Offset:Offset+len(Term)] == Term.
type Finding struct {
	Kind   FindingKind
	Term   string
	Offset int
}

// scanTerm is one entry of a term list. In text, lower-case ASCII letters
// match either case, except when exact is set; a space or hyphen matches a
// run of one or more spaces, tabs, line breaks and hyphens.
type scanTerm struct {
	text  string
	kind  FindingKind
	exact bool
}

// sensitiveTerms is the list behind ScanSensitive and SensitiveTerms.
var sensitiveTerms = append([]scanTerm{{text: "AIDS", kind: FindingSensitiveTerm, exact: true}},
	scanTerms(FindingSensitiveTerm,
		"hiv", "std", "sti", "hpv", "std test", "hiv test", "sexually transmitted",
		"chlamydia", "gonorrhea", "syphilis", "herpes", "hepatitis",
		"chemotherapy", "chemo", "radiation therapy",
		"oncology", "cancer", "tumor", "leukemia", "biopsy",
		"pregnancy test", "pregnancy", "pregnant", "prenatal",
		"abortion", "miscarriage", "fertility", "infertility", "ivf",
		"methadone", "suboxone", "buprenorphine", "opioid",
		"rehab", "substance use", "substance abuse", "addiction", "overdose",
		"psychiatric", "psychiatry", "mental health", "behavioral health", "depression", "schizophrenia", "bipolar",
		"sexual health", "hospice",
		"dialysis", "diabetes", "diagnosis", "diagnosed",
		"test results", "lab results", "tested positive",
	)...)

// exemptBlockedTerms is the list behind ScanExemptContent and
// ExemptBlockedTerms; a discount such as "20% off" is matched by
// matchPercentOff.
var exemptBlockedTerms = append(
	scanTerms(FindingBilling,
		"balance due", "balance", "balances", "payment", "payments", "pay now",
		"past due", "overdue", "invoice", "invoices", "bill", "bills", "billing",
		"statement", "statements", "collections", "amount owed",
		"copay", "copays", "co-pay", "co-pays", "owe", "owed",
	),
	scanTerms(FindingAdvertising,
		"sale", "sales", "discount", "discounts", "discounted", "percent off",
		"promo", "promo code", "promotion", "promotions", "coupon", "coupons",
		"special offer", "special offers", "deal", "deals", "buy",
		"limited time", "free gift",
	)...)

// percentOffTerm is how ExemptBlockedTerms lists a discount such as
// "20% off".
const percentOffTerm = "% off"

// scanTerms builds a list of lower-case terms of one kind.
func scanTerms(kind FindingKind, texts ...string) []scanTerm {
	out := make([]scanTerm, len(texts))
	for i, t := range texts {
		out[i] = scanTerm{text: t, kind: kind}
	}
	return out
}

// SensitiveTerms returns the words and phrases ScanSensitive reports, in
// lower case except "AIDS", which is matched only in capitals so that
// "hearing aids" is not reported. The slice is a fresh copy.
//
// The list: AIDS, hiv, std, sti, hpv, std test, hiv test, sexually
// transmitted, chlamydia, gonorrhea, syphilis, herpes, hepatitis,
// chemotherapy, chemo, radiation therapy, oncology, cancer, tumor,
// leukemia, biopsy, pregnancy test, pregnancy, pregnant, prenatal,
// abortion, miscarriage, fertility, infertility, ivf, methadone, suboxone,
// buprenorphine, opioid, rehab, substance use, substance abuse, addiction,
// overdose, psychiatric, psychiatry, mental health, behavioral health,
// depression, schizophrenia, bipolar, sexual health, hospice, dialysis,
// diabetes, diagnosis, diagnosed, test results, lab results, tested
// positive. Words an ordinary reminder uses — appointment, test, results,
// care, visit, exam, and "positive" alone, as in "a positive visit" — are
// deliberately not on it.
func SensitiveTerms() []string {
	return termTexts(sensitiveTerms)
}

// ExemptBlockedTerms returns the words and phrases ScanExemptContent
// reports, in lower case: first the billing and collection language
// (balance due, balance, balances, payment, payments, pay now, past due,
// overdue, invoice, invoices, bill, bills, billing, statement, statements,
// collections, amount owed, copay, copays, co-pay, co-pays, owe, owed),
// then the advertising language (sale, sales, discount, discounts,
// discounted, percent off, promo, promo code, promotion, promotions,
// coupon, coupons, special offer, special offers, deal, deals, buy,
// limited time, free gift, and "% off" after a number, as in "20% off").
// The slice is a fresh copy.
func ExemptBlockedTerms() []string {
	return append(termTexts(exemptBlockedTerms), percentOffTerm)
}

// termTexts returns the texts of a term list.
func termTexts(terms []scanTerm) []string {
	out := make([]string, len(terms))
	for i, t := range terms {
		out[i] = t.text
	}
	return out
}

// ScanSensitive reports the clinical information written in template text
// (compliance HI-01, test 2): ICD-10-CM-like codes (FindingICD10) and the
// words and phrases of SensitiveTerms (FindingSensitiveTerm). The blast
// refuses such a template unless a privileged user approved it.
//
// A code is a capital letter A–T or V–Z, a digit, a digit or capital
// letter, a dot and one to four digits or capital letters, standing as a
// word of its own: "E11.9", "F32.A", "Z34.00". "A1C", "B12", "3.5" and
// "$12.50" are not codes. Terms match in either case (except "AIDS"), as
// whole words: "HIV" in "HIV-positive" but not "cancer" in "cancerous"; a
// space in a term matches any run of spaces, line breaks and hyphens, so
// "pregnancy  test" and "pregnancy-test" match "pregnancy test".
//
// Merge tokens ({{...}}) are skipped: only the template's own text is
// read, never a field key, a fallback or patient data. Findings are in
// source order and never overlap; where several terms match at one place
// the longest is reported ("pregnancy test", not "pregnancy").
func ScanSensitive(text string) []Finding {
	return scanTemplate(text, sensitiveTerms, true, false)
}

// ScanExemptContent reports the content a message may not carry if it is
// to be sent under the TCPA healthcare-message exemption (compliance
// SM-02): billing and collection language (FindingBilling) and advertising
// or telemarketing language (FindingAdvertising), as listed by
// ExemptBlockedTerms, including a discount such as "20% off" or "15 % off".
// It reads text exactly as ScanSensitive does: whole words in either case,
// merge tokens skipped, findings in source order, longest first, never
// overlapping. A doctor named Bill is reported too; such a template cannot
// be sent as exempt.
func ScanExemptContent(text string) []Finding {
	return scanTemplate(text, exemptBlockedTerms, false, true)
}

// scanTemplate scans the literal text between merge tokens (read with
// mergeScan, as ParseTemplate does; text after an unclosed "{{" is read as
// literal) for terms, ICD-10 codes when codes is set, and "N% off" when
// percent is set.
func scanTemplate(text string, terms []scanTerm, codes, percent bool) []Finding {
	var out []Finding
	lo := 0
	scan := func(hi int) {
		out = scanRange(out, text, lo, hi, terms, codes, percent)
	}
	_ = mergeScan(text, func(string) {}, func(start, end int) {
		scan(start)
		lo = end
	})
	scan(len(text))
	return out
}

// scanRange appends to out the findings in text[lo:hi]. A match starts
// where a word starts and must end where a word ends; the characters
// around text[lo:hi] count for both.
func scanRange(out []Finding, text string, lo, hi int, terms []scanTerm, codes, percent bool) []Finding {
	prevWord := false
	if lo > 0 {
		r, _ := utf8.DecodeLastRuneInString(text[:lo])
		prevWord = scanWordRune(r)
	}
	for i := lo; i < hi; {
		r, size := utf8.DecodeRuneInString(text[i:hi])
		word := scanWordRune(r)
		if !word || prevWord {
			prevWord = word
			i += size
			continue
		}
		s := text[i:hi]
		best, kind := 0, FindingKind("")
		if codes {
			if n := matchICD10(s); n > best && scanWordEnd(text, i+n) {
				best, kind = n, FindingICD10
			}
		}
		if percent {
			if n := matchPercentOff(s); n > best && scanWordEnd(text, i+n) {
				best, kind = n, FindingAdvertising
			}
		}
		for _, t := range terms {
			if n := matchTerm(s, t); n > best && scanWordEnd(text, i+n) {
				best, kind = n, t.kind
			}
		}
		if best == 0 {
			prevWord = true
			i += size
			continue
		}
		out = append(out, Finding{Kind: kind, Term: text[i : i+best], Offset: i})
		r, _ = utf8.DecodeLastRuneInString(text[:i+best])
		prevWord = scanWordRune(r)
		i += best
	}
	return out
}

// scanWordRune reports whether r is part of a word: a letter, a digit, a
// combining mark or an underscore.
func scanWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// scanWordEnd reports whether a word ends at byte i of text.
func scanWordEnd(text string, i int) bool {
	if i >= len(text) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(text[i:])
	return !scanWordRune(r)
}

// scanSeparator reports whether c may stand between the words of a term.
func scanSeparator(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '-'
}

// matchTerm returns the length of the match of t at the start of s, or 0.
func matchTerm(s string, t scanTerm) int {
	k := 0
	for j := 0; j < len(t.text); j++ {
		c := t.text[j]
		if c == ' ' || c == '-' {
			n := k
			for k < len(s) && scanSeparator(s[k]) {
				k++
			}
			if k == n {
				return 0
			}
			continue
		}
		if k >= len(s) {
			return 0
		}
		d := s[k]
		if !t.exact && 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if d != c {
			return 0
		}
		k++
	}
	return k
}

// matchICD10 returns the length of an ICD-10-CM-like code at the start of
// s ("E11.9", "F32.A", "S72.001A"), or 0.
func matchICD10(s string) int {
	if len(s) < 5 {
		return 0
	}
	if c := s[0]; c < 'A' || c > 'Z' || c == 'U' {
		return 0
	}
	if !isDigitByte(s[1]) || !(isDigitByte(s[2]) || isUpperByte(s[2])) || s[3] != '.' {
		return 0
	}
	n := 4
	for n < len(s) && n < 8 && (isDigitByte(s[n]) || isUpperByte(s[n])) {
		n++
	}
	if n == 4 {
		return 0
	}
	return n
}

// matchPercentOff returns the length of a discount such as "20% off",
// "12.5 % off" or "50%off" at the start of s, or 0.
func matchPercentOff(s string) int {
	k := 0
	for k < len(s) && isDigitByte(s[k]) {
		k++
	}
	if k == 0 {
		return 0
	}
	if k+1 < len(s) && s[k] == '.' && isDigitByte(s[k+1]) {
		k++
		for k < len(s) && isDigitByte(s[k]) {
			k++
		}
	}
	for k < len(s) && s[k] == ' ' {
		k++
	}
	if k >= len(s) || s[k] != '%' {
		return 0
	}
	k++
	for k < len(s) && (s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r') {
		k++
	}
	if len(s)-k < 3 || !strings.EqualFold(s[k:k+3], "off") {
		return 0
	}
	return k + 3
}

func isDigitByte(c byte) bool { return '0' <= c && c <= '9' }

func isUpperByte(c byte) bool { return 'A' <= c && c <= 'Z' }
