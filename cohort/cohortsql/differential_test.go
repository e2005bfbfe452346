package cohortsql_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/cohort/cohortsql"
	"github.com/carecast/carecast/cohort/cohorttest"
)

// gen produces random patients and random valid filters over the fixture
// schema, drawing values from small pools so that conditions hit.
type gen struct {
	r   *rand.Rand
	now time.Time
}

var (
	strPool  = []string{"downtown", "uptown", "x'); DROP TABLE patients; --", "$1", "?", "%", "é"}
	tagPool  = []string{"vip", "newsletter", "o'brien", "a,b", "[\"x\"]"}
	enumPool = []string{"basic", "gold", "platinum"}
)

func (g *gen) pick(ss []string) string { return ss[g.r.IntN(len(ss))] }

func (g *gen) subset(ss []string, min int) []string {
	n := min + g.r.IntN(len(ss)-min+1)
	out := slices.Clone(ss)
	g.r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out[:n]
}

// instant returns a time within about two years of now, with nanoseconds.
func (g *gen) instant() time.Time {
	return g.now.Add(time.Duration(g.r.Int64N(int64(2*365*24*time.Hour))) - 365*24*time.Hour*3/2).
		Add(time.Duration(g.r.IntN(1e9)))
}

func (g *gen) patient(i int) carecast.Patient {
	p := carecast.Patient{ID: fmt.Sprintf("r%03d", i), Active: g.r.IntN(2) == 0}
	if g.r.IntN(5) > 0 {
		p.LocationID = g.pick(strPool)
	}
	if g.r.IntN(3) > 0 {
		p.Gender = g.pick([]string{"female", "male", "Female"})
	}
	switch g.r.IntN(4) {
	case 0:
	case 1:
		p.Tags = []string{}
	default:
		p.Tags = g.subset(tagPool, 1)
	}
	if g.r.IntN(6) > 0 {
		// Birthdays cluster around now's date, including 29 February.
		y := 1940 + g.r.IntN(80)
		switch g.r.IntN(4) {
		case 0:
			p.DateOfBirth = carecast.NewDate(y-y%4, 2, 29)
		case 1:
			p.DateOfBirth = carecast.NewDate(y, g.now.Month(), g.now.Day()+g.r.IntN(3)-1)
		default:
			p.DateOfBirth = carecast.NewDate(y, time.Month(1+g.r.IntN(12)), 1+g.r.IntN(28))
		}
	}
	if g.r.IntN(4) > 0 {
		p.LastVisit = g.instant()
	}
	if g.r.IntN(3) > 0 {
		p.Phone = "+1212555" + fmt.Sprintf("%04d", g.r.IntN(10000))
	}
	if g.r.IntN(3) > 0 {
		p.PhoneLineType = carecast.LineType(g.pick([]string{"mobile", "landline", "voip"}))
	}
	c := &p.Consent
	c.SMSOptedOut, c.SMSBlocked, c.SMSMarketingOptIn = g.r.IntN(4) == 0, g.r.IntN(6) == 0, g.r.IntN(2) == 0
	c.EmailMarketingOptIn, c.EmailUnsubscribed, c.EmailSuppressed = g.r.IntN(2) == 0, g.r.IntN(5) == 0, g.r.IntN(7) == 0
	a := carecast.Attributes{}
	if g.r.IntN(4) > 0 {
		a[cohorttest.AttrTotalSpent] = carecast.MoneyValue(carecast.Money(g.r.Int64N(5)) * 250 * carecast.Unit)
	} else if g.r.IntN(2) == 0 {
		a[cohorttest.AttrTotalSpent] = carecast.NumberValue(3) // wrong type
	}
	if g.r.IntN(4) > 0 {
		a[cohorttest.AttrMedicationCount] = carecast.NumberValue(float64(g.r.IntN(8)) / 2)
	}
	if g.r.IntN(3) > 0 {
		a[cohorttest.AttrHasActiveChat] = carecast.BoolValue(g.r.IntN(2) == 0)
	}
	if g.r.IntN(3) > 0 {
		a[cohorttest.AttrMembership] = carecast.EnumValue(g.pick(enumPool))
	}
	if g.r.IntN(3) > 0 {
		a[cohorttest.AttrPackages] = carecast.SetValue(g.subset(tagPool, 0)...)
	}
	if g.r.IntN(3) > 0 {
		a[cohorttest.AttrLastAppointment] = carecast.DateValue(g.instant())
	}
	if g.r.IntN(3) > 0 {
		a[cohorttest.AttrReferral] = carecast.AttrValue{Type: cohort.AttrString, String: g.pick(strPool)}
	}
	p.Attributes = a
	return p
}

// cond returns a random valid condition on a random field.
func (g *gen) cond(fields []cohort.FieldDef) cohort.Expr {
	f := fields[g.r.IntN(len(fields))]
	op := f.Ops[g.r.IntN(len(f.Ops))]
	c := cohort.Cond{Field: f.Key, Op: op}
	n := 1
	if op == cohort.OpBetween {
		n = 2
	}
	switch {
	case op == cohort.OpIsSet || op == cohort.OpIsNotSet:
	case op == cohort.OpWithinLastDays:
		c.Days = 1 + g.r.IntN(600)
	case f.Type == carecast.AttrBool:
		b := g.r.IntN(2) == 0
		c.Bool = &b
	case f.Key == cohort.FieldAge:
		for range n {
			c.Numbers = append(c.Numbers, float64(g.r.IntN(90)))
		}
	case f.Type == carecast.AttrNumber:
		for range n {
			c.Numbers = append(c.Numbers, float64(g.r.IntN(8))/2)
		}
	case f.Type == carecast.AttrMoney:
		for range n {
			c.Money = append(c.Money, carecast.Money(g.r.Int64N(5))*250*carecast.Unit)
		}
	case f.Type == carecast.AttrDate:
		for range n {
			c.Times = append(c.Times, g.instant())
		}
	case f.Type == carecast.AttrEnum:
		if op == cohort.OpEquals {
			c.Strings = []string{g.pick(f.Values)}
		} else {
			c.Strings = g.subset(f.Values, 1)
		}
	case f.Type == carecast.AttrStringSet:
		c.Strings = g.subset(tagPool, 1)
	default:
		if op == cohort.OpEquals {
			c.Strings = []string{g.pick(strPool)}
		} else {
			c.Strings = g.subset(strPool, 1)
		}
	}
	if op == cohort.OpBetween {
		switch {
		case len(c.Numbers) == 2 && c.Numbers[0] > c.Numbers[1]:
			c.Numbers[0], c.Numbers[1] = c.Numbers[1], c.Numbers[0]
		case len(c.Money) == 2 && c.Money[0] > c.Money[1]:
			c.Money[0], c.Money[1] = c.Money[1], c.Money[0]
		case len(c.Times) == 2 && c.Times[0].After(c.Times[1]):
			c.Times[0], c.Times[1] = c.Times[1], c.Times[0]
		}
	}
	return cohort.C(c)
}

func (g *gen) expr(fields []cohort.FieldDef, depth int) cohort.Expr {
	if depth == 0 || g.r.IntN(3) == 0 {
		return g.cond(fields)
	}
	switch g.r.IntN(3) {
	case 0:
		return cohort.Not(g.expr(fields, depth-1))
	case 1:
		return cohort.And(g.exprs(fields, depth-1)...)
	}
	return cohort.Or(g.exprs(fields, depth-1)...)
}

func (g *gen) exprs(fields []cohort.FieldDef, depth int) []cohort.Expr {
	out := make([]cohort.Expr, 1+g.r.IntN(3))
	for i := range out {
		out[i] = g.expr(fields, depth)
	}
	return out
}

// TestDifferential checks that the in-memory matcher, SQLite and (when
// configured) PostgreSQL select the same patients for random filters over
// random patients.
func TestDifferential(t *testing.T) {
	ctx := context.Background()
	g := &gen{r: rand.New(rand.NewPCG(8, 2026)), now: cohorttest.Now()}
	patients := make([]carecast.Patient, 150)
	for i := range patients {
		patients[i] = g.patient(i)
	}
	data := map[string][]carecast.Patient{cohorttest.OrgA: patients}
	schema := cohorttest.Schema()
	mem, err := cohort.NewMemPatientStoreWith(&cohort.MemPatientStoreConfig{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	mem.Put(cohorttest.OrgA, patients...)
	stores := map[string]cohort.PatientStore{"sqlite": newRefStore(t, openSQLite(t), cohortsql.SQLite, data)}
	if os.Getenv(pgEnv) != "" {
		stores["postgres"] = newRefStore(t, openPostgres(t), cohortsql.Postgres, data)
	} else {
		t.Logf("PostgreSQL leg skipped: set %s to include it", pgEnv)
	}
	fields := schema.Fields()
	checked, nonTrivial := 0, 0
	for i := 0; checked < 300 && i < 2000; i++ {
		f := cohort.Where(g.expr(fields, 3))
		if schema.Validate(f) != nil {
			continue // a generated contradiction; not what this test is about
		}
		checked++
		want := ids(t, mem.Patients(ctx, cohorttest.OrgA, cohort.Query{Filter: f, Now: g.now}))
		if len(want) > 0 && len(want) < len(patients) {
			nonTrivial++
		}
		for name, s := range stores {
			got := ids(t, s.Patients(ctx, cohorttest.OrgA, cohort.Query{Filter: f, Now: g.now}))
			if !slices.Equal(got, want) {
				t.Fatalf("%s disagrees with the in-memory matcher on filter %s:\nmemory %v\n%s %v", name, mustJSON(t, f), want, name, got)
			}
		}
	}
	if checked < 300 || nonTrivial < 100 {
		t.Fatalf("only %d filters checked, %d non-trivial", checked, nonTrivial)
	}
}
