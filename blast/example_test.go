package blast_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasttest"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/fake"
	"github.com/carecast/carecast/render"
	"github.com/carecast/carecast/store/memstore"
)

// clinic is the wiring every example shares: an engine on memstore with a
// fake SMS and email provider and three patients in one cohort.
type clinic struct {
	e        *blast.Engine
	sms      *fake.Provider
	email    *fake.Provider
	patients *cohort.MemPatientStore
	cohortID string
}

func newClinic(tune func(*blast.Config)) *clinic {
	ctx := context.Background()
	ps := cohort.NewMemPatientStore()
	ps.Put("org1",
		carecast.Patient{ID: "p1", FirstName: "Ana", Phone: "+12125550101", Email: "ana@example.com", Active: true},
		carecast.Patient{ID: "p2", FirstName: "Ben", Phone: "+12125550102", Email: "ben@example.com", Active: true},
		carecast.Patient{ID: "p3", FirstName: "Cy", Phone: "+12125550103", Active: true,
			Consent: carecast.Consent{SMSOptedOut: true}},
	)
	cs := cohort.NewMemStore()
	c, _ := cs.SaveCohort(ctx, cohort.Cohort{OrgID: "org1", Name: "Everyone"})
	k := &clinic{sms: fake.New(nil), email: fake.New(nil), patients: ps, cohortID: c.ID}
	cfg := &blast.Config{
		Store: memstore.New(), Patients: ps, Cohorts: cs,
		Organizations: blast.OrgMap{"org1": {ID: "org1", Name: "Sunrise Clinic", TimeZone: "America/New_York",
			PostalAddress: []string{"1 Main St, Springfield"}}},
		SMS: k.sms, Email: k.email,
		SMSRate: blast.RateUnlimited, EmailRate: blast.RateUnlimited,
		PollInterval: 10 * time.Millisecond,
		// Texts wait for quiet hours to end; the examples run on a clock
		// that starts at noon in New York so they never wait a night.
		Clock: noonClock(),
	}
	if tune != nil {
		tune(cfg)
	}
	e, err := blast.New(cfg)
	if err != nil {
		panic(err)
	}
	k.e = e
	if err := e.Start(ctx); err != nil {
		panic(err)
	}
	return k
}

// shiftedClock is the system clock moved by a fixed offset.
type shiftedClock struct {
	blast.SystemClock
	offset time.Duration
}

func (c shiftedClock) Now() time.Time { return time.Now().Add(c.offset) }

// noonClock returns a clock that reads 12:00 on 10 March 2026 in New
// York now and runs at real speed.
func noonClock() blast.Clock {
	ny, _ := time.LoadLocation("America/New_York")
	return shiftedClock{offset: time.Until(time.Date(2026, 3, 10, 12, 0, 0, 0, ny))}
}

func (k *clinic) stop() { _ = k.e.Stop(context.Background()) }

func (k *clinic) draft(body string) blast.Blast {
	b, err := k.e.CreateDraft(context.Background(), "org1", blast.Draft{
		Name: "Holiday hours", Channel: carecast.SMS, Purpose: carecast.Transactional,
		CohortIDs: []string{k.cohortID}, SMS: &render.SMSContent{Body: body},
	})
	if err != nil {
		panic(err)
	}
	return b
}

func printCards(s blast.Summary) {
	cards := make([]string, len(s.Cards))
	for i, c := range s.Cards {
		cards[i] = fmt.Sprintf("%s=%d", c.Label, c.Count)
	}
	fmt.Println(strings.Join(cards, " "))
}

func ExampleEngine_Send() {
	k := newClinic(nil)
	defer k.stop()
	ctx := context.Background()
	b := k.draft("Hi {{first_name}}, {{organization_name}} is closed Monday.")
	if _, err := k.e.Send(ctx, "org1", b.ID, nil); err != nil {
		fmt.Println(err)
		return
	}
	sum, err := k.e.Wait(ctx, "org1", b.ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sum.Status)
	printCards(sum)
	for _, m := range k.sms.Sent() {
		fmt.Println(m.Body)
	}
	fmt.Println("cost:", sum.Cost)
	// Output:
	// completed
	// Total=3 Sent=2 Skipped=0 Opted Out=1 Blocked=0 Replied=0 Failed=0
	// Hi Ana, Sunrise Clinic is closed Monday.
	// Hi Ben, Sunrise Clinic is closed Monday.
	// cost: 0.0158
}

// Transient failures are retried with backoff; the patient is texted once.
func Example_retry() {
	k := newClinic(func(c *blast.Config) {
		c.BackoffBase, c.BackoffMax, c.MaxAttempts = time.Millisecond, 5*time.Millisecond, 4
	})
	defer k.stop()
	ctx := context.Background()
	k.sms.FailTo("+12125550101", fake.Transient(), fake.RateLimited(0))
	b := k.draft("Reminder: your appointment is tomorrow.")
	_, _ = k.e.Send(ctx, "org1", b.ID, nil)
	sum, _ := k.e.Wait(ctx, "org1", b.ID)
	fmt.Println("sent:", sum.Sent, "failed:", sum.Failed)
	fmt.Println("texts to Ana:", len(k.sms.SentTo("+12125550101")), "duplicates:", k.sms.Duplicates())
	page, _ := k.e.Messages(ctx, "org1", b.ID, &blast.MessagesOpts{Card: blast.CardSent})
	fmt.Println("attempts for Ana:", page.Messages[0].Attempts)
	// Output:
	// sent: 2 failed: 0
	// texts to Ana: 1 duplicates: 0
	// attempts for Ana: 3
}

// An ambiguous answer is never resent: the row is "in doubt", counted with
// the failed ones, and Retry Failed leaves it alone unless asked.
func Example_inDoubt() {
	k := newClinic(nil)
	defer k.stop()
	ctx := context.Background()
	k.sms.FailTo("+12125550102", fake.Ambiguous())
	b := k.draft("Hi")
	_, _ = k.e.Send(ctx, "org1", b.ID, nil)
	sum, _ := k.e.Wait(ctx, "org1", b.ID)
	fmt.Println("sent:", sum.Sent, "failed:", sum.Failed, "in doubt:", sum.InDoubt)
	n, _ := k.e.RetryFailed(ctx, "org1", b.ID, nil)
	fmt.Println("re-queued:", n, "texts to Ben:", len(k.sms.SentTo("+12125550102")))
	// Output:
	// sent: 1 failed: 1 in doubt: 1
	// re-queued: 0 texts to Ben: 1
}

func ExampleEngine_RetryFailed() {
	k := newClinic(func(c *blast.Config) { c.MaxAttempts = 1 })
	defer k.stop()
	ctx := context.Background()
	k.sms.FailTo("+12125550101", fake.Permanent("30008"))
	b := k.draft("Hi")
	_, _ = k.e.Send(ctx, "org1", b.ID, nil)
	sum, _ := k.e.Wait(ctx, "org1", b.ID)
	fmt.Println("before: sent", sum.Sent, "failed", sum.Failed, "alert", sum.LowDelivery != nil)
	n, _ := k.e.RetryFailed(ctx, "org1", b.ID, nil)
	sum, _ = k.e.Wait(ctx, "org1", b.ID)
	fmt.Println("retried", n, "→ sent", sum.Sent, "failed", sum.Failed, "texts", k.sms.Count())
	// Output:
	// before: sent 1 failed 1 alert true
	// retried 1 → sent 2 failed 0 texts 2
}

func ExampleEngine_AddRecipients() {
	k := newClinic(nil)
	defer k.stop()
	ctx := context.Background()
	b := k.draft("Hi {{first_name}}")
	_, _ = k.e.Send(ctx, "org1", b.ID, nil)
	_, _ = k.e.Wait(ctx, "org1", b.ID)
	k.patients.Put("org1", carecast.Patient{ID: "p4", FirstName: "Dee", Phone: "+12125550104", Active: true})
	ids := []string{"p1", "p4"} // p1 already received it
	pv, _ := k.e.NewRecipients(ctx, "org1", b.ID, ids)
	fmt.Println(blast.SendLabel(pv.WillSend))
	added, _ := k.e.AddRecipients(ctx, "org1", b.ID, ids, nil)
	sum, _ := k.e.Wait(ctx, "org1", b.ID)
	fmt.Println("added:", added, "total:", sum.Total, "sent:", sum.Sent, "texts to Ana:", len(k.sms.SentTo("+12125550101")))
	// Output:
	// Send to 1 patient
	// added: 1 total: 4 sent: 3 texts to Ana: 1
}

func ExampleEngine_Duplicate() {
	k := newClinic(nil)
	defer k.stop()
	ctx := context.Background()
	b := k.draft("Hi {{first_name}}")
	_, _ = k.e.Send(ctx, "org1", b.ID, nil)
	_, _ = k.e.Wait(ctx, "org1", b.ID)
	d, _ := k.e.Duplicate(ctx, "org1", b.ID, nil)
	sum, _ := k.e.Summary(ctx, "org1", d.ID)
	fmt.Println(d.Name, d.Status, d.SMS.Body, sum.Total)
	// Output: Holiday hours (copy) draft Hi {{first_name}} 0
}

// Send with a time in the future schedules the blast; Cancel stops it.
func ExampleEngine_Cancel() {
	k := newClinic(nil)
	defer k.stop()
	ctx := context.Background()
	b := k.draft("Tomorrow's news")
	s, _ := k.e.Send(ctx, "org1", b.ID, &blast.SendOpts{At: time.Now().Add(24 * time.Hour)})
	fmt.Println(s.Status)
	_, _ = k.e.Cancel(ctx, "org1", b.ID)
	got, _ := k.e.Get(ctx, "org1", b.ID)
	fmt.Println(got.Status, "texts:", k.sms.Count())
	// Output:
	// scheduled
	// cancelled texts: 0
}

// Validation at send lists every problem with a typed code.
func ExampleValidationError() {
	k := newClinic(nil)
	defer k.stop()
	ctx := context.Background()
	b, _ := k.e.CreateDraft(ctx, "org1", blast.Draft{Channel: carecast.SMS, SMS: &render.SMSContent{Body: "Hi {{frist_name}}"}})
	_, err := k.e.Send(ctx, "org1", b.ID, nil)
	if ve, ok := err.(*blast.ValidationError); ok {
		for _, p := range ve.Problems {
			fmt.Println(p.Code, p.Fields)
		}
	}
	// Output:
	// no_cohorts []
	// unknown_fields [frist_name]
}

// Inbound STOP opts the number out and sends one confirmation; other texts
// count as replies.
func ExampleEngine_HandleEvent() {
	k := newClinic(nil)
	defer k.stop()
	ctx := context.Background()
	b := k.draft("Hi")
	_, _ = k.e.Send(ctx, "org1", b.ID, nil)
	_, _ = k.e.Wait(ctx, "org1", b.ID)
	k.sms.Reset()
	res, _ := k.e.HandleEvent(ctx, provider.Event{ID: "in-1", OrgID: "org1", Kind: provider.EventInbound,
		From: "+12125550101", To: "+12125550000", Body: "stop"})
	fmt.Println(res, k.sms.Sent()[0].Body)
	res, _ = k.e.HandleEvent(ctx, provider.Event{ID: "in-1", OrgID: "org1", Kind: provider.EventInbound,
		From: "+12125550101", To: "+12125550000", Body: "stop"})
	fmt.Println(res)
	res, _ = k.e.HandleEvent(ctx, provider.Event{ID: "in-2", OrgID: "org1", Kind: provider.EventInbound,
		From: "+12125550102", Body: "Thanks, see you then"})
	sum, _ := k.e.Summary(ctx, "org1", b.ID)
	fmt.Println(res, "replied:", sum.Replied)
	// Output:
	// applied Sunrise Clinic: you are unsubscribed and will receive no more texts, appointment reminders included, until you reply START.
	// duplicate
	// applied replied: 1
}

// The send preview and the cost estimate of a draft.
func ExampleEngine_Preview() {
	k := newClinic(nil)
	defer k.stop()
	ctx := context.Background()
	b := k.draft("Hi {{first_name}}, flu shots are in at {{organization_name}}.")
	pv, _ := k.e.Preview(ctx, "org1", b.ID)
	for _, row := range pv.Rows() {
		fmt.Printf("%s: %d\n", row.Label, row.Count)
	}
	est, _ := k.e.Estimate(ctx, "org1", b.ID)
	fmt.Println("recipients:", est.Recipients, "segments:", est.SMS.Segments, "cost:", est.Cost)
	// Output:
	// Will send: 2
	// Opted out: 1
	// No contact info: 0
	// Landline: 0
	// recipients: 2 segments: 2 cost: 0.0158
}

// "Send Test to Me": personalised for the synthetic sample patient, or
// for a real one the caller may see; never counted.
func ExampleEngine_SendTest() {
	k := newClinic(nil)
	defer k.stop()
	ctx := context.Background()
	b := k.draft("Hi {{first_name}}!")
	_, _ = k.e.SendTest(ctx, "org1", b.ID, blast.TestOpts{To: "(212) 555-0199"})
	fmt.Println(k.sms.SentTo("+12125550199")[0].Body)
	// The host checked that this staff user may see patient p2's record.
	res, _ := k.e.SendTest(ctx, "org1", b.ID, blast.TestOpts{To: "(212) 555-0199", PatientID: "p2", CanViewPatient: true})
	fmt.Println(k.sms.SentTo("+12125550199")[1].Body, res.PatientID)
	_, err := k.e.SendTest(ctx, "org1", b.ID, blast.TestOpts{To: "555-0100"})
	fmt.Println(err)
	sum, _ := k.e.Summary(ctx, "org1", b.ID)
	fmt.Println("ledger rows:", sum.Total)
	// Output:
	// Hi Sample!
	// Hi Ben! p2
	// blast: test To: not a valid phone number (write it with its country code, +1…, or in the practice's national format)
	// ledger rows: 0
}

// The message list, filtered by a stat card and paged by keyset.
func ExampleEngine_Messages() {
	k := newClinic(nil)
	defer k.stop()
	ctx := context.Background()
	b := k.draft("Hi")
	_, _ = k.e.Send(ctx, "org1", b.ID, nil)
	_, _ = k.e.Wait(ctx, "org1", b.ID)
	page, _ := k.e.Messages(ctx, "org1", b.ID, &blast.MessagesOpts{Card: blast.CardSent, Limit: 1})
	for page.Messages != nil {
		m := page.Messages[0]
		fmt.Println(m.PatientID, m.Status, m.Attempts, m.Cost)
		if page.NextCursor == "" {
			break
		}
		page, _ = k.e.Messages(ctx, "org1", b.ID, &blast.MessagesOpts{Card: blast.CardSent, Limit: 1, Cursor: page.NextCursor})
	}
	page, _ = k.e.Messages(ctx, "org1", b.ID, &blast.MessagesOpts{Card: blast.CardOptedOut})
	fmt.Println(page.Messages[0].PatientID, page.Messages[0].Status, page.Messages[0].Reason)
	// Output:
	// p1 sent 1 0.0079
	// p2 sent 1 0.0079
	// p3 skipped opted_out
}

// Marketing texts wait for the patient's quiet hours to end; a manual
// clock (package blasttest) shows it without waiting a night.
func Example_quietHours() {
	ny, _ := time.LoadLocation("America/New_York")
	clk := blasttest.NewClock(time.Date(2026, 3, 10, 22, 30, 0, 0, ny)) // 22:30 in New York
	k := newClinic(func(c *blast.Config) { c.Clock = clk; c.PollInterval = time.Minute })
	defer k.stop()
	ctx := context.Background()
	k.patients.Put("org1", carecast.Patient{ID: "p1", FirstName: "Ana", Phone: "+12125550101", Active: true,
		TimeZone: "America/New_York", Consent: carecast.Consent{SMSMarketingOptIn: true}})
	b, _ := k.e.CreateDraft(ctx, "org1", blast.Draft{Channel: carecast.SMS, Purpose: carecast.Marketing,
		CohortIDs: []string{k.cohortID}, SMS: &render.SMSContent{Body: "Spring sale!"}})
	_, _ = k.e.Send(ctx, "org1", b.ID, nil)
	for {
		ch := k.e.Changed()
		idle := k.e.Idle()
		if got, _ := k.e.Get(ctx, "org1", b.ID); got.Status == blast.StatusCompleted {
			break
		}
		if idle {
			clk.AdvanceToNext()
			continue
		}
		<-ch
	}
	page, _ := k.e.Messages(ctx, "org1", b.ID, &blast.MessagesOpts{Card: blast.CardSent})
	fmt.Println("sent at", page.Messages[0].SentAt.In(ny).Format("Jan 2 15:04"))
	fmt.Printf("%q\n", k.sms.SentTo("+12125550101")[0].Body)
	// Output:
	// sent at Mar 11 08:00
	// "Spring sale!\nReply STOP to opt out"
}

// Analytics across blasts: volume, spend and reply rates per day.
func ExampleEngine_Analytics() {
	k := newClinic(nil)
	defer k.stop()
	ctx := context.Background()
	b := k.draft("Hi")
	_, _ = k.e.Send(ctx, "org1", b.ID, nil)
	_, _ = k.e.Wait(ctx, "org1", b.ID)
	_, _ = k.e.HandleEvent(ctx, provider.Event{ID: "r1", OrgID: "org1", Kind: provider.EventInbound, From: "+12125550101", Body: "Thanks!"})
	now := noonClock().Now()
	a, _ := k.e.Analytics(ctx, "org1", blast.AnalyticsOpts{From: now.Add(-time.Hour), To: now.Add(time.Hour), Bucket: 2 * time.Hour})
	p := a.Points[0]
	fmt.Println("sms:", p.SMSSent, "email:", p.EmailSent, "spend:", p.Spend, "reply rate:", p.SMSReplyRate)
	// Output: sms: 2 email: 0 spend: 0.0158 reply rate: 0.5
}

// LookupAreaCode tells quiet hours where a number's area code is.
func ExampleLookupAreaCode() {
	for _, phone := range []string{"+13055550100", "+14055550100", "+447700900123"} {
		a, ok := blast.LookupAreaCode(phone)
		if !ok {
			fmt.Println("unknown: the patient's zone or QuietHours.DefaultZone applies")
			continue
		}
		fmt.Println(a.Region, a.Zone, "state window ends", blast.StateQuietHours()[a.Region].End)
	}
	// Output:
	// FL America/New_York state window ends 20h0m0s
	// OK America/Chicago state window ends 20h0m0s
	// unknown: the patient's zone or QuietHours.DefaultZone applies
}
