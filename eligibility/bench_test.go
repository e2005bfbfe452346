package eligibility

import (
	"context"
	"fmt"
	"iter"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"

	"github.com/carecast/carecast"
)

// Real, assignable NANP area codes and exchanges for synthetic numbers.
var (
	benchNPAs = []string{"212", "213", "312", "415", "512", "617", "702", "713", "305", "206", "303", "404", "503", "602", "615", "919"}
	benchNXXs = []string{"201", "234", "255", "310", "347", "420", "456", "508", "555", "612", "678", "707", "744", "818", "890", "967"}
	benchDoms = []string{"gmail.com", "yahoo.com", "outlook.com", "icloud.com", "example.org", "clinic-mail.net"}
)

// synthPatients returns n realistic synthetic patients sorted by ID, with
// E.164 numbers, email addresses and a mix of consents and data defects
// (3% of numbers in national format, a few missing or malformed numbers
// and addresses, landlines, STOPs,
// clinic blocks, suppressions, unsubscribes; about 30% marketing opt-in;
// about 5% of patients share a family phone and email).
func synthPatients(n int, seed uint64) []carecast.Patient {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ps := make([]carecast.Patient, n)
	for i := range ps {
		p := &ps[i]
		p.ID = fmt.Sprintf("pat_%07d", i)
		p.Active = true
		p.Phone = "+1" + benchNPAs[r.IntN(len(benchNPAs))] + benchNXXs[r.IntN(len(benchNXXs))] + fmt.Sprintf("%04d", r.IntN(10000))
		p.Email = "patient" + strconv.Itoa(i) + "@" + benchDoms[r.IntN(len(benchDoms))]
		switch x := r.IntN(1000); {
		case x < 20:
			p.Phone = ""
		case x < 23:
			p.Phone = "n/a" // garbage (through phonenumbers)
		case x < 26:
			p.Phone = "+1212555012" // too short
		case x < 30:
			p.Phone = "+11115550123" // invalid area code
		case x < 60: // national format, as some hosts store numbers
			p.Phone = "(" + p.Phone[2:5] + ") " + p.Phone[5:8] + "-" + p.Phone[8:]
		}
		switch x := r.IntN(1000); {
		case x < 30:
			p.Email = ""
		case x < 35:
			p.Email = "patient" + strconv.Itoa(i) + "@localhost"
		}
		if r.IntN(100) < 15 {
			p.PhoneLineType = carecast.LineLandline
		} else {
			p.PhoneLineType = carecast.LineMobile
		}
		p.Consent = carecast.Consent{
			SMSOptedOut:         r.IntN(100) < 4,
			SMSBlocked:          r.IntN(100) < 1,
			SMSMarketingOptIn:   r.IntN(100) < 30,
			EmailMarketingOptIn: r.IntN(100) < 35,
			EmailUnsubscribed:   r.IntN(100) < 5,
			EmailSuppressed:     r.IntN(100) < 2,
		}
		if i > 0 && r.IntN(100) < 5 { // family member: same phone and email as the previous patient
			p.Phone, p.Email = ps[i-1].Phone, ps[i-1].Email
		}
	}
	return ps
}

// union yields the patients of two ID-sorted cohorts in ID order, each
// once: a small stand-in for cohort resolution, so that this package's
// benchmark does not depend on package cohort.
func union(a, b []carecast.Patient) iter.Seq2[carecast.Patient, error] {
	return func(yield func(carecast.Patient, error) bool) {
		i, j := 0, 0
		for i < len(a) || j < len(b) {
			var p *carecast.Patient
			switch {
			case j == len(b) || (i < len(a) && a[i].ID < b[j].ID):
				p = &a[i]
				i++
			case i == len(a) || b[j].ID < a[i].ID:
				p = &b[j]
				j++
			default: // in both cohorts
				p = &a[i]
				i++
				j++
			}
			if !yield(*p, nil) {
				return
			}
		}
	}
}

func TestUnion(t *testing.T) {
	ps := synthPatients(10, 1)
	a := []carecast.Patient{ps[0], ps[2], ps[3], ps[5], ps[9]}
	b := []carecast.Patient{ps[1], ps[2], ps[5], ps[6], ps[7], ps[8]}
	var ids []string
	for p := range union(a, b) {
		ids = append(ids, p.ID)
	}
	want := []string{ps[0].ID, ps[1].ID, ps[2].ID, ps[3].ID, ps[5].ID, ps[6].ID, ps[7].ID, ps[8].ID, ps[9].ID}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("union = %v, want %v", ids, want)
	}
}

// The million-patient population is built once per test binary: two
// cohorts of 600,000 patients overlapping on 200,000 (1,000,000 distinct).
var bench1M = sync.OnceValues(func() (a, b []carecast.Patient) {
	all := synthPatients(1_000_000, 42)
	return all[:600_000], all[400_000:]
})

// BenchmarkPreview1M previews 1,000,000 in-memory patients read from two
// overlapping cohorts through an ordered union iterator.
func BenchmarkPreview1M(b *testing.B) {
	ca, cb := bench1M()
	nanpOnce() // build the NANP table outside the timed loop
	ctx := context.Background()
	cases := []struct {
		name string
		ch   carecast.Channel
		pu   carecast.Purpose
		opts *PreviewOpts
	}{
		{"sms-marketing", carecast.SMS, carecast.Marketing, nil},
		{"sms-transactional", carecast.SMS, carecast.Transactional, nil},
		{"email-marketing", carecast.Email, carecast.Marketing, nil},
		{"sms-marketing-collapse", carecast.SMS, carecast.Marketing, &PreviewOpts{CollapseShared: true}},
		{"email-transactional-collapse", carecast.Email, carecast.Transactional, &PreviewOpts{CollapseShared: true}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var pv Preview
			for b.Loop() {
				var err error
				pv, err = BuildPreview(ctx, union(ca, cb), c.ch, c.pu, c.opts)
				if err != nil {
					b.Fatal(err)
				}
			}
			if pv.Total != 1_000_000 {
				b.Fatalf("Total = %d, want 1000000", pv.Total)
			}
			b.ReportMetric(float64(pv.WillSend), "will_send")
		})
	}
}

// BenchmarkClassify classifies realistic patients (E.164 NANP numbers,
// lower-case email addresses) on each channel; it must report 0 allocs/op.
func BenchmarkClassify(b *testing.B) {
	ps := synthPatients(4096, 7)
	c := &Classifier{Region: "US"}
	nanpOnce()
	for _, ch := range []carecast.Channel{carecast.SMS, carecast.Email} {
		b.Run(string(ch), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				p := &ps[i&4095]
				if p.Phone != "" && p.Phone[0] != '+' { // numbers not in E.164 may allocate by design
					p = &ps[0]
				}
				_ = c.Classify(p, ch, carecast.Marketing)
				i++
			}
		})
	}
}

// BenchmarkNormalizePhone measures the three paths: E.164 NANP (table,
// no allocation), US national format (table, one allocation for the
// result) and everything else (phonenumbers).
func BenchmarkNormalizePhone(b *testing.B) {
	nanpOnce()
	for _, c := range []struct{ name, raw string }{
		{"e164-nanp", "+12125550123"},
		{"national-us", "(212) 555-0123"},
		{"phonenumbers-uk", "+447911123456"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := NormalizePhone(c.raw, "US"); !ok {
					b.Fatal("invalid")
				}
			}
		})
	}
}

// BenchmarkNormalizeEmail measures the allocation-free validation.
func BenchmarkNormalizeEmail(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := NormalizeEmail("ann.lee+clinic@mail.example.com"); !ok {
			b.Fatal("invalid")
		}
	}
}
