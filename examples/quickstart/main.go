// Command quickstart seeds a practice of synthetic patients, saves two
// cohorts and prints the send preview of an SMS and an email blast to them.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/eligibility"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	now := time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)
	org := carecast.Organization{ID: "org-sunrise", Name: "Sunrise Family Clinic", TimeZone: "America/Chicago"}

	patients := cohort.NewMemPatientStore()
	patients.Put(org.ID, seedPatients(500, now)...)

	cohorts := cohort.NewMemStore()
	downtown, err := cohorts.SaveCohort(ctx, cohort.Cohort{
		OrgID:  org.ID,
		Name:   "Downtown patients",
		Filter: cohort.Where(cohort.StringIs(cohort.FieldLocation, "loc-downtown")),
	})
	if err != nil {
		return err
	}
	lapsed, err := cohorts.SaveCohort(ctx, cohort.Cohort{
		OrgID: org.ID,
		Name:  "No visit in 12 months",
		Filter: cohort.Where(cohort.And(
			cohort.BoolIs(cohort.FieldActive, true),
			cohort.Not(cohort.WithinLastDays(cohort.FieldLastVisit, 365)),
		)),
	})
	if err != nil {
		return err
	}
	audience := []cohort.Cohort{downtown, lapsed}

	fmt.Printf("%s: %d patients; cohorts %q and %q\n\n", org.Name, patients.Len(org.ID), downtown.Name, lapsed.Name)
	for _, b := range []struct {
		ch carecast.Channel
		pu carecast.Purpose
	}{{carecast.SMS, carecast.Marketing}, {carecast.Email, carecast.Marketing}, {carecast.SMS, carecast.Transactional}} {
		p, err := eligibility.BuildPreview(ctx, cohort.Resolve(ctx, patients, org.ID, audience, now), b.ch, b.pu, nil)
		if err != nil {
			return err
		}
		fmt.Printf("%s %s blast — send preview (%d patients)\n", b.ch, b.pu, p.Total)
		for _, row := range p.Rows() {
			fmt.Printf("  %-16s %5d\n", row.Label, row.Count)
		}
		fmt.Println()
	}
	return nil
}

// seedPatients returns n synthetic patients with a realistic mix of contact
// details and consent. The data is deterministic, so the output is too.
func seedPatients(n int, now time.Time) []carecast.Patient {
	first := []string{"Ana", "Ben", "Chloé", "Dmitri", "Ema", "Femi", "Grace", "Hiro", "Isla", "Jon"}
	last := []string{"Nguyen", "Okafor", "Smith", "García", "Kowalski", "Chen", "Haddad", "Brown"}
	locations := []string{"loc-downtown", "loc-northside", "loc-lakeside"}
	out := make([]carecast.Patient, 0, n)
	for i := 0; i < n; i++ {
		p := carecast.Patient{
			ID:          fmt.Sprintf("pat-%05d", i),
			FirstName:   first[i%len(first)],
			LastName:    last[(i/3)%len(last)],
			DateOfBirth: carecast.NewDate(1950+i%60, time.Month(1+i%12), 1+i%28),
			Phone:       fmt.Sprintf("+1512555%04d", i),
			Email:       fmt.Sprintf("patient%d@example.com", i),
			LocationID:  locations[i%len(locations)],
			ProviderID:  fmt.Sprintf("dr-%d", i%4),
			TimeZone:    "America/Chicago",
			Active:      i%13 != 0,
			LastVisit:   now.AddDate(0, 0, -(i*7)%900),
			Consent: carecast.Consent{
				SMSMarketingOptIn:   i%3 != 0,
				EmailMarketingOptIn: i%4 != 0,
				SMSOptedOut:         i%29 == 0,
				SMSBlocked:          i%31 == 0,
				EmailUnsubscribed:   i%23 == 0,
				EmailSuppressed:     i%37 == 0,
			},
		}
		switch {
		case i%17 == 0:
			p.Phone = "" // no phone on file
		case i%19 == 0:
			p.PhoneLineType = carecast.LineLandline
		case i%41 == 0:
			p.Phone = "555-0100" // too short: not a valid number
		}
		if i%11 == 0 {
			p.Email = ""
		}
		if i%5 == 0 {
			p.Tags = []string{"vip"}
		}
		out = append(out, p)
	}
	return out
}

func init() { log.SetOutput(os.Stderr); log.SetFlags(0) }
