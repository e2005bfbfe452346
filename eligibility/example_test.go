package eligibility_test

import (
	"context"
	"fmt"
	"iter"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/eligibility"
)

func ExampleClassify() {
	p := carecast.Patient{
		ID:    "pat_1",
		Phone: "(212) 555-0123", // national format, read as a US number
		Consent: carecast.Consent{
			SMSMarketingOptIn: false,
		},
	}
	for _, pu := range []carecast.Purpose{carecast.Transactional, carecast.Marketing} {
		d := eligibility.Classify(&p, carecast.SMS, pu)
		fmt.Printf("%s: %s %q (%s)\n", pu, d.Reason, d.Address, d.Reason.Label(carecast.SMS))
	}

	p.Consent.SMSOptedOut = true // the patient texted STOP
	p.Consent.SMSBlocked = true  // and the clinic disabled SMS too
	d := eligibility.Classify(&p, carecast.SMS, carecast.Transactional)
	fmt.Println("after STOP:", d.Reason, "| preview row:", d.Reason.PreviewGroup().Label(carecast.SMS), "| results card:", d.Reason.ResultCard())
	// Output:
	// transactional: send "+12125550123" (Will send)
	// marketing: not_opted_in "" (Not opted in)
	// after STOP: opted_out | preview row: Opted out | results card: Opted Out
}

// patients turns a slice into the stream a cohort resolution yields.
func patients(ps []carecast.Patient) iter.Seq2[carecast.Patient, error] {
	return func(yield func(carecast.Patient, error) bool) {
		for _, p := range ps {
			if !yield(p, nil) {
				return
			}
		}
	}
}

func ExampleBuildPreview() {
	ps := []carecast.Patient{
		{ID: "a", Phone: "+12125550101", Consent: carecast.Consent{SMSMarketingOptIn: true}},
		{ID: "b", Phone: "+12125550101", Consent: carecast.Consent{SMSMarketingOptIn: true}}, // same family phone
		{ID: "c", Phone: "+12125550102"},                                               // not opted in
		{ID: "d", Phone: "+12125550103", Consent: carecast.Consent{SMSOptedOut: true}}, // STOP
		{ID: "e", Phone: "+12125550104", Consent: carecast.Consent{SMSBlocked: true}},  // clinic block
		{ID: "f", Phone: "not a number"},
		{ID: "g", Phone: "+12125550105", PhoneLineType: carecast.LineLandline},
	}
	ctx := context.Background()
	opts := &eligibility.PreviewOpts{CollapseShared: true}
	pv, err := eligibility.BuildPreview(ctx, patients(ps), carecast.SMS, carecast.Marketing, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, row := range pv.Rows() {
		fmt.Printf("%-16s %d\n", row.Label, row.Count)
	}
	fmt.Println("total", pv.Total, "| blocked (results card)", pv.Count(eligibility.Blocked))

	for s, err := range eligibility.Skipped(ctx, patients(ps), carecast.SMS, carecast.Marketing, opts) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("skip", s.PatientID, s.Reason)
	}
	// Output:
	// Will send        1
	// Shared address   1
	// Opted out        2
	// No contact info  1
	// Landline         1
	// Not opted in     1
	// total 7 | blocked (results card) 1
	// skip b shared_address
	// skip c not_opted_in
	// skip d opted_out
	// skip e blocked
	// skip f no_contact_info
	// skip g landline
}
