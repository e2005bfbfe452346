package render_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/render"
)

func ExampleCountSMS() {
	for _, text := range []string{
		"Your appointment is tomorrow at 10am.",
		"Café prices: {coffee} €2",
		"Hi Zoë, see you soon 😀",
	} {
		c := render.CountSMS(text)
		fmt.Printf("%s: %d units, %d characters, %d segment(s)\n", c.Encoding, c.Units, c.Characters, c.Segments)
	}
	// Output:
	// GSM-7: 37 units, 37 characters, 1 segment(s)
	// GSM-7: 27 units, 24 characters, 1 segment(s)
	// UCS-2: 23 units, 22 characters, 1 segment(s)
}

func ExampleSplitSMS() {
	long := ""
	for range 20 {
		long += "Reminder. "
	}
	for i, s := range render.SplitSMS(long) {
		fmt.Println(i+1, len(s))
	}
	// Output:
	// 1 153
	// 2 47
}

func ExampleParseTemplate() {
	t, err := render.ParseTemplate("Hi {{first_name|there}}, {{organization_name}} here. Email help@clinic.com")
	if err != nil {
		panic(err)
	}
	org := &carecast.Organization{Name: "Sunrise Clinic"}
	fmt.Println(t.Render(render.Data{Patient: &carecast.Patient{FirstName: "Ann"}, Org: org}))
	fmt.Println(t.Render(render.Data{Patient: &carecast.Patient{}, Org: org}))
	fmt.Println(t.FieldKeys())

	_, err = render.ParseTemplate("Hi {{frist_name}}")
	var ue *render.UnknownFieldsError
	if errors.As(err, &ue) {
		fmt.Println(ue.Fields[0].Key, "at byte", ue.Fields[0].Offset)
	}
	// Output:
	// Hi Ann, Sunrise Clinic here. Email help@clinic.com
	// Hi there, Sunrise Clinic here. Email help@clinic.com
	// [first_name organization_name]
	// frist_name at byte 3
}

func ExampleSmartEncodeReport() {
	out, rep := render.SmartEncodeReport("We’re open “late” tonight — come by…")
	fmt.Println(out)
	fmt.Println(rep.Before.Encoding, "->", rep.After.Encoding, "replaced", rep.Replaced)
	// Output:
	// We're open "late" tonight - come by...
	// UCS-2 -> GSM-7 replaced 5
}

func ExampleEstimateSMS() {
	org := carecast.Organization{ID: "org1", Name: "Sunrise Clinic"}
	t, err := render.CompileSMS(render.SMSContent{
		Body: "Hi {{first_name|there}}! Spring whitening special at {{organization_name}}: 20% off all April. Book at sunrise.example/book or call us today.",
	}, carecast.Marketing, org)
	if err != nil {
		panic(err)
	}
	fmt.Println("preview:", t.Preview().Segments, "segment(s)")

	recipients := func(yield func(carecast.Patient, error) bool) {
		for _, p := range []carecast.Patient{
			{ID: "p1", FirstName: "Ann"},
			{ID: "p2", FirstName: "Zoë"},
			{ID: "p3", FirstName: "Maximiliana-Josephine-Alexandra"},
		} {
			if !yield(p, nil) {
				return
			}
		}
	}
	e, err := render.EstimateSMS(context.Background(), t, org, render.DefaultPricing(), recipients)
	if err != nil {
		panic(err)
	}
	fmt.Println("segments:", e.Segments, "cost:", e.Cost)
	for _, b := range e.Distribution {
		fmt.Printf("%d message(s) of %d segment(s)\n", b.Messages, b.Segments)
	}
	fmt.Println("encoding changed for:", e.EncodingChangedIDs)
	// Output:
	// preview: 1 segment(s)
	// segments: 6 cost: 0.0474
	// 1 message(s) of 1 segment(s)
	// 1 message(s) of 2 segment(s)
	// 1 message(s) of 3 segment(s)
	// encoding changed for: [p2]
}

func ExampleSMSTemplate_Render() {
	org := carecast.Organization{ID: "org1", Name: "Sunrise Clinic"}
	t, err := render.CompileSMS(render.SMSContent{Body: "Hi {{first_name|there}}, flu shots are in at {{organization_name}}!"}, carecast.Marketing, org)
	if err != nil {
		panic(err)
	}
	r := t.Render(render.Data{Patient: &carecast.Patient{ID: "p1", FirstName: "Ann"}})
	fmt.Println(r.Body)
	fmt.Println(r.Count.Encoding, r.Count.Segments, "segment(s), cost", render.DefaultPricing().SMSCost(r))
	// Output:
	// Hi Ann, flu shots are in at Sunrise Clinic!
	// Reply STOP to opt out
	// GSM-7 1 segment(s), cost 0.0079
}
