// Command quickstart runs the main job of carecast end to end on the embedded
// default store: it seeds a practice of synthetic patients, saves two cohorts,
// prints the send preview of SMS and email blasts to them, then composes,
// estimates and sends a marketing SMS blast through the engine on SQLite (a
// fake SMS provider stands in for Twilio, so nothing leaves the machine) and
// prints the delivery summary.
//
//	go run ./examples/quickstart              # database in a temporary directory
//	go run ./examples/quickstart -db blasts.db # keep the database
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/eligibility"
	"github.com/carecast/carecast/provider/fake"
	"github.com/carecast/carecast/render"
	"github.com/carecast/carecast/store/sqlitestore"
)

func main() {
	dbPath := flag.String("db", "", "SQLite database file (default: a temporary directory)")
	flag.Parse()
	if *dbPath == "" {
		dir, err := os.MkdirTemp("", "carecast-quickstart-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
		*dbPath = filepath.Join(dir, "carecast.db")
	}
	if err := run(context.Background(), *dbPath); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dbPath string) error {
	// A fixed afternoon in Chicago, inside quiet hours' 08:00–21:00 window,
	// so the output is the same on every run.
	now := time.Date(2026, 11, 27, 21, 0, 0, 0, time.UTC)
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
	return sendSMSBlast(ctx, dbPath, org, patients, cohorts, audience, now)
}

// sendSMSBlast composes, estimates and sends a marketing SMS blast through
// the engine on the embedded SQLite store.
func sendSMSBlast(ctx context.Context, dbPath string, org carecast.Organization, patients *cohort.MemPatientStore, cohorts *cohort.MemStore, audience []cohort.Cohort, now time.Time) error {
	st, err := sqlitestore.Open(ctx, dbPath, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	sms := fake.New(&fake.Config{Now: func() time.Time { return now }})
	eng, err := blast.New(&blast.Config{
		Store:         st,
		Patients:      patients,
		Cohorts:       cohorts,
		Organizations: blast.OrgMap{org.ID: org},
		SMS:           sms,
		Clock:         startAt(now),
		SMSRate:       blast.RateUnlimited,
	})
	if err != nil {
		return err
	}
	if err := eng.Start(ctx); err != nil {
		return err
	}
	defer eng.Stop(ctx)

	b, err := eng.CreateDraft(ctx, org.ID, blast.Draft{
		CohortIDs: []string{audience[0].ID, audience[1].ID},
		Channel:   carecast.SMS,
		Purpose:   carecast.Marketing,
		SMS: &render.SMSContent{
			Body: "Hi {{preferred_name|there}}, {{organization_name}} has walk-in flu shots this week, 8am-6pm. Book: clinic.example/flu",
		},
	})
	if err != nil {
		return err
	}
	est, err := eng.Estimate(ctx, org.ID, b.ID)
	if err != nil {
		return err
	}
	fmt.Printf("Blast %q: %d recipients, %d segments, estimated cost $%s\n", b.Name, est.Recipients, est.SMS.Segments, est.Cost)
	if _, err := eng.Send(ctx, org.ID, b.ID, nil); err != nil {
		return err
	}
	sum, err := eng.Wait(ctx, org.ID, b.ID)
	if err != nil {
		return err
	}
	fmt.Printf("Delivery summary (%s):\n", sum.Status)
	for _, c := range sum.Cards {
		fmt.Printf("  %-10s %5d\n", c.Label, c.Count)
	}
	fmt.Printf("Spent $%s; the fake provider accepted %d texts.\n", sum.Cost, sms.Count())
	return nil
}

// shiftedClock is the real clock moved to a fixed starting instant, so that
// quiet hours (08:00–21:00 in the patient's zone) never hold the example's
// marketing texts, whenever it runs. Timers run in real time.
type shiftedClock struct {
	blast.SystemClock
	offset time.Duration
}

func startAt(t time.Time) shiftedClock { return shiftedClock{offset: time.Until(t)} }

func (c shiftedClock) Now() time.Time { return time.Now().Add(c.offset) }

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

func init() { log.SetFlags(0) }
