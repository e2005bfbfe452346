package cohort_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
)

// benchPatients returns n synthetic patients with a spread of core fields
// and attributes.
func benchPatients(n int) []carecast.Patient {
	locs := []string{"downtown", "uptown", "eastside", "westside"}
	tags := [][]string{nil, {"vip"}, {"diabetes-program"}, {"vip", "newsletter"}, {"newsletter"}}
	ps := make([]carecast.Patient, n)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range ps {
		p := &ps[i]
		p.ID = fmt.Sprintf("p%07d", i)
		p.FirstName = "Pat"
		p.Phone = fmt.Sprintf("+1212555%04d", i%10000)
		p.LocationID = locs[i%len(locs)]
		p.Tags = tags[i%len(tags)]
		p.Active = i%10 != 0
		p.DateOfBirth = carecast.NewDate(1940+i%70, time.Month(1+i%12), 1+i%28)
		if i%7 != 0 {
			p.LastVisit = base.Add(-time.Duration(i%900) * 24 * time.Hour)
		}
		p.Consent.SMSMarketingOptIn = i%3 != 0
		p.Attributes = carecast.Attributes{"total_spent": carecast.MoneyValue(carecast.Money(i%2000) * carecast.Unit)}
	}
	return ps
}

func benchSchema(b *testing.B) *cohort.Schema {
	s, err := cohort.NewSchema(cohort.AttrDef{Key: "total_spent", Label: "Total spent", Category: "Billing", Type: carecast.AttrMoney})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// benchFilter is the example: opted in to SMS marketing AND (no
// visit in 12 months OR total spent > $500) AND NOT tag vip, plus an age
// range and a location list.
func benchFilter() cohort.Filter {
	return cohort.Where(cohort.And(
		cohort.BoolIs(cohort.FieldSMSMarketingOptIn, true),
		cohort.Or(
			cohort.Not(cohort.WithinLastDays(cohort.FieldLastVisit, 365)),
			cohort.MoneyOp("total_spent", cohort.OpGreater, 500*carecast.Unit),
		),
		cohort.Not(cohort.ContainsAny(cohort.FieldTags, "vip")),
		cohort.NumberOp(cohort.FieldAge, cohort.OpBetween, 18, 80),
		cohort.StringIn(cohort.FieldLocation, "downtown", "eastside", "westside"),
	))
}

func BenchmarkCount100k(b *testing.B) {
	ctx := context.Background()
	ps, err := cohort.NewMemPatientStoreWith(&cohort.MemPatientStoreConfig{Schema: benchSchema(b)})
	if err != nil {
		b.Fatal(err)
	}
	ps.Put("org", benchPatients(100_000)...)
	f := benchFilter()
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		pv, err := cohort.Preview(ctx, ps, "org", f, now, 5)
		if err != nil || pv.Count == 0 {
			b.Fatal(err, pv.Count)
		}
	}
}

func BenchmarkResolve1M(b *testing.B) {
	ctx := context.Background()
	ps, err := cohort.NewMemPatientStoreWith(&cohort.MemPatientStoreConfig{Schema: benchSchema(b)})
	if err != nil {
		b.Fatal(err)
	}
	ps.Put("org", benchPatients(1_000_000)...)
	cs := []cohort.Cohort{
		{ID: "a", OrgID: "org", Name: "Active downtown", Filter: cohort.Where(cohort.And(cohort.BoolIs(cohort.FieldActive, true), cohort.StringIs(cohort.FieldLocation, "downtown")))},
		{ID: "b", OrgID: "org", Name: "Marketing", Filter: cohort.Where(cohort.BoolIs(cohort.FieldSMSMarketingOptIn, true))},
	}
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for _, err := range cohort.Resolve(ctx, ps, "org", cs, now) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n == 0 {
			b.Fatal("empty")
		}
	}
}

// BenchmarkParseContacts10k parses a 10,000-line paste of phones and
// emails, as the import window does on every keystroke.
func BenchmarkParseContacts10k(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("Name,Phone,Email\r\n")
	for i := range 10_000 {
		fmt.Fprintf(&sb, "\"Patient %d\",(212) 555-%04d,patient%d@example.com\r\n", i, i%10000, i)
	}
	text := sb.String()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := cohort.ParseContacts(text, nil)
		if err != nil || res.Detected != 20_000 {
			b.Fatal(err, res.Detected)
		}
	}
}

// BenchmarkParseContacts1M parses a million contacts (500,000 phone and
// email rows) in one write ("whole") and one byte per write ("bytewise",
// an upload arriving in the smallest pieces): the cost per byte is the
// same order either way.
func BenchmarkParseContacts1M(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("Name,Phone,Email\r\n")
	for i := range 500_000 {
		fmt.Fprintf(&sb, "\"Patient %d\",(212) %03d-%04d,patient%d@example.com\r\n", i, 200+i/10000, i%10000, i)
	}
	text := sb.String()
	cfg := &cohort.ParseConfig{MaxContacts: 1_000_000}
	check := func(b *testing.B, res cohort.ParseResult, err error) {
		if err != nil || res.Detected != 1_000_000 || res.Invalid != 0 {
			b.Fatal(err, res.ParseStats)
		}
	}
	b.Run("whole", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		for b.Loop() {
			res, err := cohort.ParseContacts(text, cfg)
			check(b, res, err)
		}
	})
	b.Run("bytewise", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		for b.Loop() {
			p, err := cohort.NewParser(cfg)
			if err != nil {
				b.Fatal(err)
			}
			for i := range len(text) {
				if _, err := p.Write([]byte{text[i]}); err != nil {
					b.Fatal(err)
				}
			}
			res, err := p.Close()
			check(b, res, err)
		}
	})
}

// BenchmarkParseOpenQuoteBytewise types 200 kB one byte at a time after a
// double quote that never closes (under a MaxLineLength that lets it
// through): each write costs the same however long the unfinished record
// already is.
func BenchmarkParseOpenQuoteBytewise(b *testing.B) {
	text := "\"" + strings.Repeat("a@b.co,", 200_000/7)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := cohort.NewParser(&cohort.ParseConfig{MaxLineLength: 1 << 20})
		if err != nil {
			b.Fatal(err)
		}
		for i := range len(text) {
			if _, err := p.Write([]byte{text[i]}); err != nil {
				b.Fatal(err)
			}
		}
		if res, err := p.Close(); err != nil || res.Lines != 1 {
			b.Fatal(err, res.ParseStats)
		}
	}
}

// BenchmarkValidateManyOperands validates a filter of 140,000 operands
// (1.5 MB as JSON): an OR of 140
// conditions, each listing MaxOperands distinct tags out of 2,000 declared
// choices. Deduplicating and checking the operands is linear in their
// number.
func BenchmarkValidateManyOperands(b *testing.B) {
	choices := make([]string, 2000)
	for i := range choices {
		choices[i] = fmt.Sprintf("tag-%04d", i)
	}
	s, err := cohort.NewSchemaWith(cohort.SchemaConfig{Choices: map[string][]string{cohort.FieldTags: choices}})
	if err != nil {
		b.Fatal(err)
	}
	conds := make([]cohort.Expr, 140)
	for i := range conds {
		conds[i] = cohort.ContainsAny(cohort.FieldTags, choices[i%2:][:cohort.MaxOperands]...)
	}
	f := cohort.Where(cohort.Or(conds...))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Validate(f); err != nil {
			b.Fatal(err)
		}
	}
}
