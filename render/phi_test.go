package render

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
)

func TestPHIKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{".Diagnosis", true},
		{"diagnosis", true},
		{" . diagnoses ", true},
		{"lab_result", true},
		{"LabResult", true},
		{".LabResult", true},
		{"test-results", true},
		{"Medication", true},
		{"medications", true},
		{"procedure", true},
		{".Procedure", true},
		{"procedure_date", true},
		{"patient.condition", true},
		{"Rx", true},
		{"ICD10", true},
		{"cpt_code", true},
		{"provider_specialty", true},
		{"Allergies", true},
		{"treatment plan", true},
		{"nickname", false},
		{"frist_name", false},
		{"first_name", false},
		{"insurance", false},
		{".InsuranceCarrier", false},
		{"appointment_time", false},
		{"", false},
		{"...", false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, phiKey(tc.key), "%q", tc.key)
	}
}

func TestUnknownFieldsErrorPHI(t *testing.T) {
	e := &UnknownFieldsError{Fields: []FieldRef{{"nickname", 0}, {".Diagnosis", 12}, {"lab_result", 30}}}
	assert.Equal(t, []FieldRef{{".Diagnosis", 12}, {"lab_result", 30}}, e.PHIFields())
	assert.ErrorIs(t, e, ErrPHIField)
	assert.False(t, errors.Is(e, ErrTooLong))

	plain := &UnknownFieldsError{Fields: []FieldRef{{"nickname", 0}}}
	assert.Nil(t, plain.PHIFields())
	assert.NotErrorIs(t, plain, ErrPHIField)

	var nilErr *UnknownFieldsError
	assert.Nil(t, nilErr.PHIFields())
	assert.False(t, nilErr.Is(ErrPHIField))
}

func TestParseTemplatePHIField(t *testing.T) {
	tests := []struct {
		text    string
		wantPHI []FieldRef
	}{
		{"Your result: {{.Diagnosis}}", []FieldRef{{".Diagnosis", 13}}},
		{"{{diagnosis}}", []FieldRef{{"diagnosis", 0}}},
		{"{{ .Procedure }} on {{first_name}}", []FieldRef{{".Procedure", 0}}},
		{"{{.LabResult|pending}}", []FieldRef{{".LabResult", 0}}},
		{"{{lab_result}} {{LabResult}}", []FieldRef{{"lab_result", 0}, {"LabResult", 15}}},
		{"Take {{.Medication}} and {{nickname}}", []FieldRef{{".Medication", 5}}},
		{"Hi {{nickname}}", nil},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			_, err := ParseTemplate(tc.text)
			var ue *UnknownFieldsError
			require.ErrorAs(t, err, &ue)
			assert.Equal(t, tc.wantPHI, ue.PHIFields())
			assert.Equal(t, tc.wantPHI != nil, errors.Is(err, ErrPHIField))
		})
	}
	_, err := ParseTemplate("Hi {{first_name}}, see you at {{organization_name}}")
	assert.NoError(t, err)
}

func TestCompileSMSPHIField(t *testing.T) {
	for _, body := range []string{
		"Hi {{first_name}}, your {{.Diagnosis}} follow-up is tomorrow",
		"{{.Procedure}} tomorrow",
		"Results: {{.LabResult}}",
		"Refill {{.Medication}}",
	} {
		for _, purpose := range []carecast.Purpose{carecast.Transactional, carecast.Marketing} {
			_, err := CompileSMS(SMSContent{Body: body}, purpose, smsOrg())
			require.ErrorIs(t, err, ErrPHIField, body)
			var ue *UnknownFieldsError
			require.ErrorAs(t, err, &ue, body)
			assert.Len(t, ue.PHIFields(), 1, body)
		}
	}
	_, err := CompileSMS(SMSContent{Body: "Hi {{nickname}}"}, carecast.Transactional, smsOrg())
	assert.NotErrorIs(t, err, ErrPHIField)
}

func TestCompileEmailPHIField(t *testing.T) {
	tests := []struct {
		name string
		c    EmailContent
	}{
		{"subject", EmailContent{Subject: "About your {{.Diagnosis}}", Format: FormatMarkdown, Body: "ok"}},
		{"preview", EmailContent{Subject: "S", PreviewText: "{{.LabResult}} inside", Format: FormatMarkdown, Body: "ok"}},
		{"markdown body", EmailContent{Subject: "S", Format: FormatMarkdown, Body: "Hi {{first_name}}, your {{.Diagnosis}}"}},
		{"html body", EmailContent{Subject: "S", Format: FormatHTML, Body: "<p>{{ .Medication }}</p>"}},
		{"html attribute", EmailContent{Subject: "S", Format: FormatHTML, Body: `<img alt="{{procedure}}" src="https://a.example/i.png">`}},
		{"blocks body", EmailContent{Subject: "S", Format: FormatBlocks, Body: `{"blocks":[{"type":"paragraph","content":[{"text":"{{.Procedure}}"}]}]}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, purpose := range []carecast.Purpose{carecast.Transactional, carecast.Marketing} {
				_, err := CompileEmail(tc.c, purpose, emailTestOrg())
				require.ErrorIs(t, err, ErrPHIField)
				var ue *UnknownFieldsError
				require.ErrorAs(t, err, &ue)
				assert.Len(t, ue.PHIFields(), 1)
			}
		})
	}
	_, err := CompileEmail(EmailContent{Subject: "S", Format: FormatMarkdown, Body: "{{nope}}"}, carecast.Transactional, emailTestOrg())
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrPHIField)
}

// fnd is shorthand for a Finding in table tests.
func fnd(kind FindingKind, term string, offset int) Finding {
	return Finding{Kind: kind, Term: term, Offset: offset}
}

func TestScanSensitive(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []Finding
	}{
		{"ICD-10 code", "Follow-up for E11.9 tomorrow", []Finding{fnd(FindingICD10, "E11.9", 14)}},
		{"code with letter after the dot", "Dx F32.A", []Finding{fnd(FindingICD10, "F32.A", 3)}},
		{"code with two digits after the dot", "Z34.00", []Finding{fnd(FindingICD10, "Z34.00", 0)}},
		{"code with letter third", "(C4A.0).", []Finding{fnd(FindingICD10, "C4A.0", 1)}},
		{"seven-character code", "S72.001A", []Finding{fnd(FindingICD10, "S72.001A", 0)}},
		{"code at end of sentence", "Code: E11.9.", []Finding{fnd(FindingICD10, "E11.9", 6)}},
		{"HIV", "Your HIV clinic visit", []Finding{fnd(FindingSensitiveTerm, "HIV", 5)}},
		{"chemotherapy", "Chemotherapy session at 9am", []Finding{fnd(FindingSensitiveTerm, "Chemotherapy", 0)}},
		{"longest match", "Your pregnancy test is ready", []Finding{fnd(FindingSensitiveTerm, "pregnancy test", 5)}},
		{"pregnancy alone", "pregnancy care", []Finding{fnd(FindingSensitiveTerm, "pregnancy", 0)}},
		{"phrase across spaces", "pregnancy  test", []Finding{fnd(FindingSensitiveTerm, "pregnancy  test", 0)}},
		{"phrase across a line break", "lab\nresults", []Finding{fnd(FindingSensitiveTerm, "lab\nresults", 0)}},
		{"phrase with hyphen", "STD-test", []Finding{fnd(FindingSensitiveTerm, "STD-test", 0)}},
		{"hyphenated words", "HIV-positive", []Finding{fnd(FindingSensitiveTerm, "HIV", 0)}},
		{"positive alone is ordinary", "Thanks for a positive visit!", nil},
		{"tested positive", "You tested positive for strep.", []Finding{fnd(FindingSensitiveTerm, "tested positive", 4)}},
		{"case-insensitive", "hiv Hiv", []Finding{fnd(FindingSensitiveTerm, "hiv", 0), fnd(FindingSensitiveTerm, "Hiv", 4)}},
		{"AIDS in capitals", "AIDS clinic", []Finding{fnd(FindingSensitiveTerm, "AIDS", 0)}},
		{"several kinds in order", "E11.9 and diabetes; test results are in",
			[]Finding{fnd(FindingICD10, "E11.9", 0), fnd(FindingSensitiveTerm, "diabetes", 10), fnd(FindingSensitiveTerm, "test results", 20)}},
		{"after non-ASCII punctuation", "“Oncology” — biopsy…",
			[]Finding{fnd(FindingSensitiveTerm, "Oncology", 3), fnd(FindingSensitiveTerm, "biopsy", 19)}},
		{"after an escaped brace", "{{{{HIV}}", []Finding{fnd(FindingSensitiveTerm, "HIV", 4)}},
		{"around merge tokens", "{{first_name}} HIV {{diagnosis}}", []Finding{fnd(FindingSensitiveTerm, "HIV", 15)}},
		{"after an unclosed token", "{{first_name}} {{rehab", []Finding{fnd(FindingSensitiveTerm, "rehab", 17)}},
		{"many terms", "methadone suboxone buprenorphine IVF HPV STI dialysis",
			[]Finding{
				fnd(FindingSensitiveTerm, "methadone", 0), fnd(FindingSensitiveTerm, "suboxone", 10),
				fnd(FindingSensitiveTerm, "buprenorphine", 19), fnd(FindingSensitiveTerm, "IVF", 33),
				fnd(FindingSensitiveTerm, "HPV", 37), fnd(FindingSensitiveTerm, "STI", 41),
				fnd(FindingSensitiveTerm, "dialysis", 45),
			}},

		{"A1C is not a code", "Time for your A1C check", nil},
		{"B12 is not a code", "vitamin B12 shot", nil},
		{"decimal number", "Take 3.5 steps", nil},
		{"price", "Only $12.50 today", nil},
		{"U codes are not used", "U07.1", nil},
		{"lower-case code", "e11.9", nil},
		{"code inside a word", "XE11.9 E11.9x 2E11.9", nil},
		{"too long after the dot", "E11.12345", nil},
		{"no digit after the dot", "E11. ok", nil},
		{"ordinary reminder", "Your appointment is tomorrow. Bring your test kit and results form; we care.", nil},
		{"hearing aids", "Bring your hearing aids", nil},
		{"term inside a word", "cancerous hivemind cancellation", nil},
		{"merge tokens are skipped", "Hi {{diagnosis}} {{first_name|HIV}} {{ .Procedure }}", nil},
		{"phrase across a token", "pregnancy{{first_name}}test", []Finding{fnd(FindingSensitiveTerm, "pregnancy", 0)}},
		{"empty", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ScanSensitive(tc.text)
			assert.Equal(t, tc.want, got)
			checkFindings(t, tc.text, got)
		})
	}
}

func TestScanExemptContent(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []Finding
	}{
		{"balance due", "Sunrise Clinic: balance due $40", []Finding{fnd(FindingBilling, "balance due", 16)}},
		{"balance", "Your Balance is $40", []Finding{fnd(FindingBilling, "Balance", 5)}},
		{"billing words", "Pay now: past due invoice, copay and co-pay owed",
			[]Finding{
				fnd(FindingBilling, "Pay now", 0), fnd(FindingBilling, "past due", 9), fnd(FindingBilling, "invoice", 18),
				fnd(FindingBilling, "copay", 27), fnd(FindingBilling, "co-pay", 37), fnd(FindingBilling, "owed", 44),
			}},
		{"more billing", "bill billing statement collections overdue payment amount owed owe",
			[]Finding{
				fnd(FindingBilling, "bill", 0), fnd(FindingBilling, "billing", 5), fnd(FindingBilling, "statement", 13),
				fnd(FindingBilling, "collections", 23), fnd(FindingBilling, "overdue", 35), fnd(FindingBilling, "payment", 43),
				fnd(FindingBilling, "amount owed", 51), fnd(FindingBilling, "owe", 63),
			}},
		{"percent off", "Get 20% off whitening", []Finding{fnd(FindingAdvertising, "20% off", 4)}},
		{"percent off variants", "12.5 % off, 50%OFF", []Finding{fnd(FindingAdvertising, "12.5 % off", 0), fnd(FindingAdvertising, "50%OFF", 12)}},
		{"advertising words", "SALE! Discount promo coupon deal: buy a special offer, limited time free gift",
			[]Finding{
				fnd(FindingAdvertising, "SALE", 0), fnd(FindingAdvertising, "Discount", 6), fnd(FindingAdvertising, "promo", 15),
				fnd(FindingAdvertising, "coupon", 21), fnd(FindingAdvertising, "deal", 28), fnd(FindingAdvertising, "buy", 34),
				fnd(FindingAdvertising, "special offer", 40), fnd(FindingAdvertising, "limited time", 55), fnd(FindingAdvertising, "free gift", 68),
			}},
		{"promotion and percent off words", "Promotion: 30 percent off", []Finding{fnd(FindingAdvertising, "Promotion", 0), fnd(FindingAdvertising, "percent off", 14)}},
		{"tokens skipped", "{{first_name|balance due}} hi {{ sale }}", nil},
		{"reminder", "Sunrise Clinic: appt Tue 3/10 2:30pm. Reply C to confirm, R to reschedule. STOP to opt out", nil},
		{"inside words", "billboard paymentless salesforce dealt buyer owes rebalance", nil},
		{"percent without off", "20% of patients", nil},
		{"percent off inside a word", "20% offer", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ScanExemptContent(tc.text)
			assert.Equal(t, tc.want, got)
			checkFindings(t, tc.text, got)
		})
	}
	assert.Nil(t, ScanSensitive("balance due, 20% off"), "the scanners use their own lists")
	assert.Nil(t, ScanExemptContent("HIV E11.9"), "the scanners use their own lists")
}

func TestTermLists(t *testing.T) {
	s := SensitiveTerms()
	for _, want := range []string{"hiv", "AIDS", "chemotherapy", "pregnancy test", "pregnancy", "std test", "tested positive", "lab results"} {
		assert.Contains(t, s, want)
	}
	for _, not := range []string{"appointment", "test", "results", "care", "aids"} {
		assert.NotContains(t, s, not)
	}
	e := ExemptBlockedTerms()
	for _, want := range []string{"balance due", "copay", "co-pay", "owe", "sale", "% off", "free gift"} {
		assert.Contains(t, e, want)
	}
	assert.NotContains(t, e, "collection", "specimen collection is not billing")

	// Every listed term is found by its own scanner, and only as itself.
	for _, term := range s {
		assert.Equal(t, []Finding{fnd(FindingSensitiveTerm, term, 1)}, ScanSensitive(" "+term+"."), term)
	}
	for _, term := range e {
		text := term
		if term == percentOffTerm {
			text = "5" + term
		}
		got := ScanExemptContent(" " + text + ".")
		require.Len(t, got, 1, term)
		assert.Equal(t, text, got[0].Term)
	}

	// The slices are copies.
	s[0], e[0] = "x", "x"
	assert.NotEqual(t, "x", SensitiveTerms()[0])
	assert.NotEqual(t, "x", ExemptBlockedTerms()[0])
}

// checkFindings asserts what holds for every scan result: terms are the
// source text at their offsets, outside merge tokens, sorted and not
// overlapping, of a known kind.
func checkFindings(t *testing.T, text string, got []Finding) {
	t.Helper()
	var tokens [][2]int
	_ = mergeScan(text, func(string) {}, func(start, end int) { tokens = append(tokens, [2]int{start, end}) })
	end := 0
	for i, fd := range got {
		if fd.Offset < end || fd.Term == "" || fd.Offset+len(fd.Term) > len(text) {
			t.Fatalf("finding %d %+v: out of range or overlapping (previous end %d) in %q", i, fd, end, text)
		}
		if text[fd.Offset:fd.Offset+len(fd.Term)] != fd.Term {
			t.Fatalf("finding %d %+v: term is not the text at its offset in %q", i, fd, text)
		}
		if !slices.Contains([]FindingKind{FindingICD10, FindingSensitiveTerm, FindingBilling, FindingAdvertising}, fd.Kind) {
			t.Fatalf("finding %d: unknown kind %q", i, fd.Kind)
		}
		for _, tok := range tokens {
			if fd.Offset < tok[1] && tok[0] < fd.Offset+len(fd.Term) {
				t.Fatalf("finding %d %+v overlaps merge token %v in %q", i, fd, tok, text)
			}
		}
		end = fd.Offset + len(fd.Term)
	}
}

var scanFuzzSeeds = []string{
	"E11.9", "F32.A Z34.00 A1C B12 3.5", "HIV-positive pregnancy  test", "{{diagnosis}} HIV {{first_name|HIV}}",
	"{{{{HIV}}", "{{first_name}} {{rehab", "balance due 20% off 12.5 %OFF", "“Oncology” — biopsy…",
	"co - pay\nlab\r\nresults", "S72.001A.", "\xff\xfeHIV\xc3", "E11.9\u0301",
}

func FuzzScanSensitive(f *testing.F) {
	for _, s := range scanFuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got := ScanSensitive(text)
		checkFindings(t, text, got)
		for _, fd := range got {
			if fd.Kind != FindingICD10 && fd.Kind != FindingSensitiveTerm {
				t.Fatalf("unexpected kind %q", fd.Kind)
			}
		}
		// Text added after a merge token never changes what came before.
		if !strings.Contains(text, "{{") {
			more := ScanSensitive(text + "{{first_name}} HIV")
			if len(more) != len(got)+1 || !slices.Equal(more[:len(got)], got) {
				t.Fatalf("appending a token and a term changed the findings: %v then %v", got, more)
			}
		}
	})
}

func FuzzScanExemptContent(f *testing.F) {
	for _, s := range scanFuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got := ScanExemptContent(text)
		checkFindings(t, text, got)
		for _, fd := range got {
			if fd.Kind != FindingBilling && fd.Kind != FindingAdvertising {
				t.Fatalf("unexpected kind %q", fd.Kind)
			}
		}
	})
}
