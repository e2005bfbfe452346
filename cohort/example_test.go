package cohort_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
)

// A filter in JSON: "opted in to SMS marketing AND (no visit in 12 months
// OR total spent > $500) AND NOT tag vip", validated against a schema that
// declares the host's "total_spent" attribute.
func ExampleParseFilter() {
	doc := `{"version":1,"where":{"and":[
	  {"field":"sms_marketing_opt_in","op":"equals","bool":true},
	  {"or":[
	    {"not":{"field":"last_visit","op":"within_last_days","days":365}},
	    {"field":"total_spent","op":"greater","money":[500000000]}]},
	  {"not":{"field":"tags","op":"contains_any","strings":["vip"]}}]}}`

	f, err := cohort.ParseFilter([]byte(doc))
	if err != nil {
		fmt.Println(err)
		return
	}
	schema, err := cohort.NewSchema(cohort.AttrDef{
		Key: "total_spent", Label: "Total spent", Category: "Billing", Type: carecast.AttrMoney,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("valid:", schema.Validate(f) == nil)

	// A typo in an operator is reported with its place and field.
	typo, _ := cohort.ParseFilter([]byte(`{"version":1,"where":{"field":"age","op":"betwen","numbers":[18,65]}}`))
	fmt.Println(schema.Validate(typo))
	bad, _ := cohort.ParseFilter([]byte(`{"version":1,"where":{"and":[{"field":"age","op":"between","numbers":[65,18]}]}}`))
	fmt.Println(schema.Validate(bad))

	out, _ := json.Marshal(cohort.Where(cohort.And(
		cohort.StringIn(cohort.FieldLocation, "downtown", "uptown"),
		cohort.NumberOp(cohort.FieldAge, cohort.OpBetween, 18, 65),
	)))
	fmt.Println(string(out))
	// Output:
	// valid: true
	// cohort: invalid filter at where: field "age": bad_operator: unknown operator
	// cohort: invalid filter at where.and[0]: field "age": contradiction: between: min is greater than max
	// {"version":1,"where":{"and":[{"field":"location","op":"in","strings":["downtown","uptown"]},{"field":"age","op":"between","numbers":[18,65]}]}}
}

// A contact-list import: the user pastes a column of phones and emails,
// the window counts them as they type, and the list is matched to
// patients into a "Custom list" cohort.
func ExampleParseContacts() {
	ctx := context.Background()
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	ps := cohort.NewMemPatientStore()
	ps.Put("clinic",
		carecast.Patient{ID: "p1", FirstName: "Ann", Phone: "+12125550101"},
		carecast.Patient{ID: "p2", FirstName: "Bob", Email: "bob@example.com"},
	)

	pasted := "Phone,Email\r\n(212) 555-0101,\r\n,Bob@Example.com\r\n212-555-0101,\r\n+1 212 555 0177,\r\nn/a,\r\n"
	res, err := cohort.ParseContacts(pasted, &cohort.ParseConfig{DefaultRegion: "US"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("detected %d, duplicates %d, invalid lines %v\n", res.Detected, res.Duplicates, res.InvalidLines)

	list, err := cohort.MatchContacts(ctx, ps, "clinic", res.Contacts, now)
	if err != nil {
		fmt.Println(err)
		return
	}
	c := cohort.Cohort{OrgID: "clinic", Name: "Flu clinic invitees", Contacts: list}
	fmt.Println(c.Summary())
	fmt.Println("matched patients:", list.PatientIDs)
	fmt.Println("unmatched contacts:", len(list.Unmatched))
	// Output:
	// detected 3, duplicates 1, invalid lines [6]
	// Custom list · 3 contacts
	// matched patients: [p1 p2]
	// unmatched contacts: 1
}

// A live preview while a filter is edited: the count and a few samples.
func ExamplePreview() {
	ps := cohort.NewMemPatientStore()
	for i := range 1000 {
		ps.Put("clinic", carecast.Patient{
			ID:         fmt.Sprintf("p%04d", i),
			LocationID: []string{"downtown", "uptown"}[i%2],
			Active:     i%10 != 0,
		})
	}
	f := cohort.Where(cohort.And(
		cohort.StringIs(cohort.FieldLocation, "downtown"),
		cohort.BoolIs(cohort.FieldActive, true),
	))
	pv, err := cohort.Preview(context.Background(), ps, "clinic", f, time.Now(), 3)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("matching patients:", pv.Count)
	for _, p := range pv.Samples {
		fmt.Println(p.ID)
	}
	// Output:
	// matching patients: 400
	// p0002
	// p0004
	// p0006
}

// Resolving the cohorts of a blast: each patient once, in ID order.
func ExampleResolve() {
	ps := cohort.NewMemPatientStore()
	ps.Put("clinic",
		carecast.Patient{ID: "a", Tags: []string{"vip"}},
		carecast.Patient{ID: "b", LocationID: "downtown"},
		carecast.Patient{ID: "c", Tags: []string{"vip"}, LocationID: "downtown"},
		carecast.Patient{ID: "d"},
	)
	cohorts := []cohort.Cohort{
		{ID: "1", OrgID: "clinic", Name: "VIP", Filter: cohort.Where(cohort.ContainsAny(cohort.FieldTags, "vip"))},
		{ID: "2", OrgID: "clinic", Name: "Downtown", Filter: cohort.Where(cohort.StringIs(cohort.FieldLocation, "downtown"))},
	}
	for p, err := range cohort.Resolve(context.Background(), ps, "clinic", cohorts, time.Now()) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(p.ID)
	}
	// Output:
	// a
	// b
	// c
}

// The schema a host UI draws its filter builder from.
func ExampleSchema_Categories() {
	schema, _ := cohort.NewSchema(
		cohort.AttrDef{Key: "total_spent", Label: "Total spent", Category: "Billing", Type: carecast.AttrMoney},
		cohort.AttrDef{Key: "membership", Label: "Membership", Category: "Billing", Type: carecast.AttrEnum, Values: []string{"basic", "gold"}},
	)
	for _, c := range schema.Categories() {
		fmt.Printf("%s:", c.Name)
		for _, f := range c.Fields {
			fmt.Printf(" %s(%s)", f.Label, f.Type)
		}
		fmt.Println()
	}
	f, _ := schema.Field("total_spent")
	fmt.Println(f.Ops)
	// Output:
	// Demographics: Age(number) Gender(string) Location(string)
	// Care team: Provider(string)
	// Tags: Tags(string_set)
	// Status: Active patient(bool)
	// Scheduling: Last visit(date)
	// Communication preferences: Opted out of SMS (STOP)(bool) SMS disabled by clinic(bool) Opted in to SMS marketing(bool) Opted in to email marketing(bool) Unsubscribed from email(bool) Email suppressed (bounce/complaint)(bool) Phone number(string) Email address(string) Phone line type(enum)
	// Billing: Total spent(money) Membership(enum)
	// [equals greater less between is_set is_not_set]
}
