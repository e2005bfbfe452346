package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasthttp"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/provider/fake"
	"github.com/carecast/carecast/store/sqlitestore"
	"github.com/carecast/carecast/tracking"
)

// appConfig configures the app.
type appConfig struct {
	// DBPath is the SQLite file of the ledger. Required.
	DBPath string
	// BaseURL is the app's absolute URL ("http://127.0.0.1:8080"), for
	// tracking links. Required.
	BaseURL string
	// QuietHours keeps the engine's quiet hours for texts;
	// false disables them (see the package documentation).
	QuietHours bool
	// Logger receives the engine's and the API's logs (IDs and counts
	// only). Defaults to slog.Default().
	Logger *slog.Logger
}

// app is the clinic web app: the engine and its stores, the fake
// providers and the pages.
type app struct {
	org      carecast.Organization
	engine   *blast.Engine
	store    *sqlitestore.Store
	patients *cohort.MemPatientStore
	cohorts  *cohort.MemStore
	sms      *fake.Provider
	email    *fake.Provider
	tmpl     *template.Template
	handler  http.Handler
}

// newApp opens the store, seeds the practice, starts the engine and
// builds the routes. Close releases them.
func newApp(ctx context.Context, cfg *appConfig) (*app, error) {
	if cfg.DBPath == "" || cfg.BaseURL == "" {
		return nil, fmt.Errorf("clinic: appConfig.DBPath and BaseURL are required")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	a := &app{
		org: carecast.Organization{ID: "org-sunrise", Name: "Sunrise Family Clinic", TimeZone: "America/Chicago",
			PostalAddress: []string{"100 Congress Ave", "Austin, TX 78701"}},
		patients: cohort.NewMemPatientStore(),
		cohorts:  cohort.NewMemStore(),
		sms:      fake.New(&fake.Config{IDPrefix: "SM"}),
		email:    fake.New(&fake.Config{IDPrefix: "EM"}),
	}
	a.patients.Put(a.org.ID, seedPatients(240, time.Now())...)
	if err := seedCohorts(ctx, a.cohorts, a.org.ID); err != nil {
		return nil, err
	}
	tmpl, err := parseTemplates(a.org)
	if err != nil {
		return nil, err
	}
	a.tmpl = tmpl

	secret := make([]byte, tracking.MinKeyBytes)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails
	signer, err := tracking.NewSigner(tracking.Key{ID: 1, Secret: secret})
	if err != nil {
		return nil, err
	}
	var th *tracking.Handler // set below; the engine only calls it once started
	st, err := sqlitestore.Open(ctx, cfg.DBPath, nil)
	if err != nil {
		return nil, err
	}
	a.store = st
	orgs := blast.OrgMap{a.org.ID: a.org}
	a.engine, err = blast.New(&blast.Config{
		Store: st, Patients: a.patients, Cohorts: a.cohorts, Organizations: orgs,
		SMS: a.sms, Email: a.email, Logger: logger,
		QuietHours:   blast.QuietHours{Disabled: !cfg.QuietHours},
		PollInterval: 250 * time.Millisecond,
		UnsubscribeURL: func(org, _ string, row int64) string {
			u, _ := th.UnsubscribeURL(blast.RecipientID(org, row), time.Now())
			return u
		},
		OpenPixelURL: func(org, _ string, row int64) string {
			u, _ := th.OpenURL(blast.RecipientID(org, row), time.Now())
			return u
		},
		RewriteLink: func(org, _ string, row int64, i int, _ string) string {
			u, _ := th.ClickURL(blast.RecipientID(org, row), i, time.Now())
			return u
		},
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	th, err = tracking.NewHandler(tracking.Config{
		Signer: signer, Backend: a.engine.TrackingBackend(), BaseURL: cfg.BaseURL + "/t",
		AllowHTTP: true, OrgName: a.org.Name, Logger: logger,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	api, err := blasthttp.New(&blasthttp.Config{
		Engine: a.engine, Cohorts: a.cohorts, Organizations: orgs, Logger: logger,
		// The demo has one organization and no login; a host returns the
		// organization of the signed-in user's session here.
		Org:  func(*http.Request) (string, error) { return a.org.ID, nil },
		User: func(*http.Request) string { return "front-desk" },
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	if err := a.engine.Start(context.WithoutCancel(ctx)); err != nil {
		st.Close()
		return nil, err
	}

	pages := a.routes()
	pages.Handle("/api/", http.StripPrefix("/api", api))
	csrf := http.NewCrossOriginProtection()
	root := http.NewServeMux()
	// Tracking links are opened from mail clients: no same-origin check
	// (the signed token is the authorization; RFC 8058 one-click POSTs
	// come from mail providers).
	root.Handle("/t/", http.StripPrefix("/t", th))
	root.Handle("/", csrf.Handler(pages))
	a.handler = root
	return a, nil
}

// ServeHTTP implements http.Handler.
func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// Close stops the engine (letting in-flight sends finish) and closes the
// store.
func (a *app) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := a.engine.Stop(ctx)
	if cerr := a.store.Close(); err == nil {
		err = cerr
	}
	return err
}

// seedCohorts saves the practice's cohorts with fixed IDs, so blasts kept
// in a -db file still find them after a restart.
func seedCohorts(ctx context.Context, cs cohort.Store, orgID string) error {
	for _, c := range []cohort.Cohort{
		{ID: "everyone", Name: "All active patients", Filter: cohort.Where(cohort.BoolIs(cohort.FieldActive, true))},
		{ID: "downtown", Name: "Downtown patients", Filter: cohort.Where(cohort.StringIs(cohort.FieldLocation, "loc-downtown"))},
		{ID: "lapsed", Name: "No visit in 12 months", Filter: cohort.Where(cohort.And(
			cohort.BoolIs(cohort.FieldActive, true), cohort.Not(cohort.WithinLastDays(cohort.FieldLastVisit, 365))))},
		{ID: "vip", Name: "VIP patients", Filter: cohort.Where(cohort.ContainsAny(cohort.FieldTags, "vip"))},
	} {
		c.OrgID = orgID
		if _, err := cs.SaveCohort(ctx, c); err != nil {
			return fmt.Errorf("clinic: seeding cohort %s: %w", c.ID, err)
		}
	}
	return nil
}

// seedPatients returns n synthetic patients with a mix of contact details
// and consent (opted out, blocked, landline, no phone, no email,
// unsubscribed, suppressed), the same on every run.
func seedPatients(n int, now time.Time) []carecast.Patient {
	first := []string{"Amara", "Boris", "Camila", "Dev", "Elena", "Farid", "Gwen", "Hugo", "Imani", "Jonas", "Keiko", "Luis"}
	last := []string{"Adeyemi", "Brooks", "Castillo", "Dubois", "Eriksen", "Fischer", "Gupta", "Horvat"}
	locations := []string{"loc-downtown", "loc-eastside", "loc-riverside"}
	out := make([]carecast.Patient, n)
	for i := range out {
		p := carecast.Patient{
			ID:          fmt.Sprintf("pt-%04d", i+1),
			FirstName:   first[i%len(first)],
			LastName:    last[(i/len(first))%len(last)],
			DateOfBirth: carecast.NewDate(1945+i%65, time.Month(1+i%12), 1+i%28),
			Phone:       fmt.Sprintf("+1737555%04d", i+1),
			Email:       fmt.Sprintf("patient%04d@example.com", i+1),
			LocationID:  locations[i%len(locations)],
			Active:      i%17 != 5,
			LastVisit:   now.AddDate(0, 0, -(i*11)%800),
			Consent: carecast.Consent{
				SMSMarketingOptIn:   i%4 != 1,
				EmailMarketingOptIn: i%5 != 2,
				SMSOptedOut:         i%23 == 3,
				SMSBlocked:          i%37 == 4,
				EmailUnsubscribed:   i%29 == 6,
				EmailSuppressed:     i%41 == 7,
			},
		}
		if i%19 == 8 {
			p.Phone = ""
		} else if i%21 == 9 {
			p.PhoneLineType = carecast.LineLandline
		}
		if i%13 == 10 {
			p.Email = ""
		}
		if i%6 == 0 {
			p.Tags = []string{"vip"}
		}
		out[i] = p
	}
	return out
}
