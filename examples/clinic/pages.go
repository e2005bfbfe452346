package main

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/eligibility"
	"github.com/carecast/carecast/provider/fake"
	"github.com/carecast/carecast/render"
	"github.com/carecast/carecast/store"
)

//go:embed templates.html
var templateFS embed.FS

// defaultFrom is the demo's email sender (the fake provider accepts any).
const defaultFrom = "hello@sunrise-clinic.example"

// pageHead is what the layout's top needs.
type pageHead struct {
	Title string
	Org   carecast.Organization
	Live  bool // refresh every 2 s while a blast is sending
}

func parseTemplates(org carecast.Organization) (*template.Template, error) {
	return template.New("").Funcs(template.FuncMap{
		"page": func(data any, title string) pageHead {
			d, ok := data.(detailData)
			return pageHead{Title: title, Org: org, Live: ok && d.Live}
		},
		"money": staffMoney,
		// code is a channel's form value ("sms"); printing a Channel gives its display name.
		"code": func(c carecast.Channel) string { return string(c) },
		// reason is a skip reason in the send preview's words ("No contact info").
		"reason": func(s string, ch carecast.Channel) string {
			if r, err := eligibility.ParseReason(s); err == nil {
				return r.Label(ch)
			}
			return s
		},
		"words": func(s store.RowStatus) string { return strings.ReplaceAll(string(s), "_", " ") },
		"pct":   func(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" },
		"when": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			// In the practice's time zone, as staff read a clock.
			return t.In(org.Location()).Format("Jan 2, 2006 3:04 PM MST")
		},
	}).ParseFS(templateFS, "templates.html")
}

// staffMoney formats an amount as an office manager reads it: dollars
// and cents ("$0.49"), or, for less than a cent (one text's price),
// cents with their fraction ("0.79¢"); carecast.Money keeps the exact
// figure.
func staffMoney(m carecast.Money) string {
	const cent = carecast.Unit / 100
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	if m != 0 && m < cent {
		return sign + strconv.FormatFloat(float64(m)/float64(cent), 'f', 2, 64) + "¢"
	}
	c := (int64(m) + int64(cent)/2) / int64(cent) // rounded to the cent
	return fmt.Sprintf("%s$%d.%02d", sign, c/100, c%100)
}

func (a *app) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.listPage)
	mux.HandleFunc("GET /blasts/new", a.newPage)
	mux.HandleFunc("POST /blasts", a.createBlast)
	mux.HandleFunc("GET /blasts/{id}/edit", a.editPage)
	mux.HandleFunc("POST /blasts/{id}/edit", a.saveBlast)
	mux.HandleFunc("GET /blasts/{id}", a.detailPage)
	mux.HandleFunc("POST /blasts/{id}/duplicate", a.duplicateBlast)
	mux.HandleFunc("POST /blasts/{id}/retry", a.retryBlast)
	mux.HandleFunc("POST /blasts/{id}/cancel", a.cancelBlast)
	mux.HandleFunc("POST /blasts/{id}/resume", a.resumeBlast)
	mux.HandleFunc("POST /blasts/{id}/recipients", a.addRecipients)
	mux.HandleFunc("GET /outbox", a.outboxPage)
	return mux
}

// render executes a page template; errors are logged without data.
func (a *app) render(w http.ResponseWriter, name string, data any) {
	var buf bytes.Buffer
	if err := a.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		log.Printf("clinic: template %s: %v", name, err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w)
}

// fail answers an engine error on a page: 404 for a missing blast, 409
// for one in the wrong state, 500 otherwise (logged, IDs only).
func (a *app) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, blast.ErrNotFound):
		http.Error(w, "blast not found", http.StatusNotFound)
	case errors.As(err, new(*blast.ValidationError)):
		// A draft over a limit (a 201-character name, …): the problems
		// name fields and limits, never content.
		var ve *blast.ValidationError
		errors.As(err, &ve)
		msgs := make([]string, len(ve.Problems))
		for i, p := range ve.Problems {
			msgs[i] = p.Field + ": " + p.Message
		}
		http.Error(w, "This cannot be saved: "+strings.Join(msgs, "; "), http.StatusUnprocessableEntity)
	case errors.Is(err, blast.ErrAlreadySent), errors.Is(err, blast.ErrNotSent),
		errors.Is(err, blast.ErrCancelled), errors.Is(err, blast.ErrNotCancellable), errors.Is(err, blast.ErrNotPaused):
		http.Error(w, "the blast is not in a state that allows this", http.StatusConflict)
	default:
		log.Printf("clinic: %s %s: %v", r.Method, r.Pattern, err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

// ---- blasts list ----

func (a *app) listPage(w http.ResponseWriter, r *http.Request) {
	bs, err := a.engine.List(r.Context(), a.org.ID, &blast.ListOpts{Limit: 100})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, "list", map[string]any{"Org": a.org, "Blasts": bs})
}

func (a *app) duplicateBlast(w http.ResponseWriter, r *http.Request) {
	b, err := a.engine.Duplicate(r.Context(), a.org.ID, r.PathValue("id"), &blast.DuplicateOpts{CreatedBy: "front-desk"})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/blasts/"+b.ID+"/edit", http.StatusSeeOther)
}

// ---- new blast and compose ----

// cohortChoice is one cohort checkbox.
type cohortChoice struct {
	cohort.Cohort
	Checked bool
}

func (a *app) cohortChoices(r *http.Request, chosen []string) ([]cohortChoice, error) {
	cs, err := a.cohorts.Cohorts(r.Context(), a.org.ID)
	if err != nil {
		return nil, err
	}
	out := make([]cohortChoice, len(cs))
	for i, c := range cs {
		out[i] = cohortChoice{Cohort: c, Checked: slices.Contains(chosen, c.ID)}
	}
	return out, nil
}

func (a *app) newPage(w http.ResponseWriter, r *http.Request) {
	cs, err := a.cohortChoices(r, nil)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, "new", map[string]any{"Org": a.org, "Cohorts": cs})
}

// draftFromForm reads the New Blast and compose forms. Content fields not
// on the form keep the values of prev.
func draftFromForm(r *http.Request, prev *blast.Draft) blast.Draft {
	d := blast.Draft{
		Name:      r.FormValue("name"),
		CohortIDs: r.Form["cohort"],
		Channel:   carecast.Channel(r.FormValue("channel")),
		Purpose:   carecast.Transactional,
		From:      r.FormValue("from"),
		CreatedBy: "front-desk",
	}
	if prev != nil {
		d.SMS, d.Email, d.CreatedBy = prev.SMS, prev.Email, prev.CreatedBy
		if d.Channel == "" {
			d.Channel = prev.Channel
		}
	}
	if r.FormValue("marketing") != "" {
		d.Purpose = carecast.Marketing
	}
	switch d.Channel {
	case carecast.SMS:
		if r.Form.Has("body") {
			d.SMS = &render.SMSContent{Body: r.FormValue("body")}
		}
	case carecast.Email:
		if r.Form.Has("subject") {
			d.Email = &render.EmailContent{Subject: r.FormValue("subject"), PreviewText: r.FormValue("preview_text"),
				Format: render.FormatMarkdown, Body: r.FormValue("body")}
		}
		if d.From == "" {
			d.From = defaultFrom
		}
	}
	return d
}

func (a *app) createBlast(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	d := draftFromForm(r, nil)
	if !d.Channel.Valid() {
		http.Error(w, "choose SMS or Email", http.StatusBadRequest)
		return
	}
	b, err := a.engine.CreateDraft(r.Context(), a.org.ID, d)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/blasts/"+b.ID+"/edit", http.StatusSeeOther)
}

// editData is the compose page.
type editData struct {
	Org      carecast.Organization
	Blast    blast.Blast
	Body     string
	Cohorts  []cohortChoice
	Fields   []render.Field
	Preview  []eligibility.PreviewRow
	WillSend int
	Estimate *blast.Estimate
	Problems []blast.Problem
	Notice   string
	TestTo   string
	TestErr  string // why the Send Test address was refused, shown by the field
}

func (a *app) editPage(w http.ResponseWriter, r *http.Request) {
	b, err := a.engine.Get(r.Context(), a.org.ID, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if b.Status != blast.StatusDraft {
		http.Redirect(w, r, "/blasts/"+b.ID, http.StatusSeeOther)
		return
	}
	a.renderEdit(w, r, b, nil, notice(r.URL.Query()))
}

func (a *app) renderEdit(w http.ResponseWriter, r *http.Request, b blast.Blast, problems []blast.Problem, note string, testErr ...string) {
	ctx := r.Context()
	cs, err := a.cohortChoices(r, b.CohortIDs)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := editData{Org: a.org, Blast: b, Cohorts: cs, Fields: render.Fields(), Problems: problems, Notice: note,
		TestTo: "+17375550000"}
	if b.Channel == carecast.Email {
		d.TestTo = "me@sunrise-clinic.example"
	}
	if len(testErr) > 0 {
		d.TestTo, d.TestErr = r.FormValue("test_to"), testErr[0]
	}
	switch {
	case b.SMS != nil:
		d.Body = b.SMS.Body
	case b.Email != nil:
		d.Body = b.Email.Body
	}
	if len(b.CohortIDs) > 0 {
		if p, err := a.engine.Preview(ctx, a.org.ID, b.ID); err == nil {
			d.Preview, d.WillSend = p.Rows(), p.WillSend
		}
		if e, err := a.engine.Estimate(ctx, a.org.ID, b.ID); err == nil {
			d.Estimate = &e
		}
	}
	a.render(w, "edit", d)
}

// saveBlast saves the compose form, then does what the pressed button
// asks: save, send a test, or send.
func (a *app) saveBlast(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	cur, err := a.engine.Get(ctx, a.org.ID, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	b, err := a.engine.UpdateDraft(ctx, a.org.ID, cur.ID, draftFromForm(r, &cur.Draft))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var ve *blast.ValidationError
	switch r.FormValue("action") {
	case "test":
		_, err := a.engine.SendTest(ctx, a.org.ID, b.ID, blast.TestOpts{To: r.FormValue("test_to")})
		var de *blast.TestDestinationError
		switch {
		case errors.As(err, &ve):
			a.renderEdit(w, r, b, ve.Problems, "")
		case errors.As(err, &de):
			a.renderEdit(w, r, b, nil, "", "The test address is "+de.Problem+".")
		case err != nil:
			a.renderEdit(w, r, b, nil, "The test message could not be sent.")
		default:
			http.Redirect(w, r, "/blasts/"+b.ID+"/edit?done=test", http.StatusSeeOther)
		}
	case "send":
		_, err := a.engine.Send(ctx, a.org.ID, b.ID, nil)
		switch {
		case errors.As(err, &ve):
			a.renderEdit(w, r, b, ve.Problems, "")
		case err != nil:
			a.fail(w, r, err)
		default:
			http.Redirect(w, r, "/blasts/"+b.ID, http.StatusSeeOther)
		}
	default:
		http.Redirect(w, r, "/blasts/"+b.ID+"/edit", http.StatusSeeOther)
	}
}

// ---- blast detail ----

// messageLine is one row of the message list, with the patient's name.
type messageLine struct {
	blast.Message
	Name string
}

// detailData is the results page.
type detailData struct {
	Org        carecast.Organization
	Blast      blast.Blast
	Summary    blast.Summary
	Card       blast.Card
	Messages   []messageLine
	NextCursor string
	Query      string
	Candidates []blast.Candidate
	Notice     string
	Live       bool
	Chart      *chart
}

// chart is the email engagement chart: cumulative opens and clicks per
// hour of the 72-hour tracking window, as SVG polyline points.
type chart struct {
	Opens, Clicks string
	Width, Height int
	Top           int // the value at the top of the chart
}

// Chart dimensions, in SVG user units.
const (
	chartStep   = 10
	chartHeight = 120
)

func newChart(e blast.EngagementSeries, sent int) *chart {
	if len(e.Opens) == 0 {
		return nil
	}
	top := max(sent, 1)
	line := func(vs []int) string {
		var b strings.Builder
		b.WriteString("0," + strconv.Itoa(chartHeight))
		for i, v := range vs {
			fmt.Fprintf(&b, " %d,%d", (i+1)*chartStep, chartHeight-v*chartHeight/top)
		}
		return b.String()
	}
	return &chart{Opens: line(e.Opens), Clicks: line(e.Clicks), Width: len(e.Opens) * chartStep, Height: chartHeight, Top: top}
}

func (a *app) detailPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	b, err := a.engine.Get(ctx, a.org.ID, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if b.Status == blast.StatusDraft {
		http.Redirect(w, r, "/blasts/"+b.ID+"/edit", http.StatusSeeOther)
		return
	}
	sum, err := a.engine.Summary(ctx, a.org.ID, b.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := detailData{Org: a.org, Blast: b, Summary: sum, Card: blast.Card(q.Get("card")), Query: q.Get("q"),
		Notice: notice(q), Live: b.Status == blast.StatusSending || b.Status == blast.StatusScheduled}
	page, err := a.engine.Messages(ctx, a.org.ID, b.ID, &blast.MessagesOpts{Card: d.Card, Cursor: q.Get("cursor"), Limit: 50})
	if err != nil {
		http.Error(w, "unknown card or cursor", http.StatusBadRequest)
		return
	}
	d.NextCursor = page.NextCursor
	ids := make([]string, len(page.Messages))
	for i, m := range page.Messages {
		ids[i] = m.PatientID
	}
	pts, err := a.patients.PatientsByID(ctx, a.org.ID, ids)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	names := make(map[string]string, len(pts))
	for _, p := range pts {
		names[p.ID] = p.FirstName + " " + p.LastName
	}
	for _, m := range page.Messages {
		d.Messages = append(d.Messages, messageLine{Message: m, Name: names[m.PatientID]})
	}
	if b.Channel == carecast.Email {
		e, err := a.engine.Engagement(ctx, a.org.ID, b.ID, time.Hour)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		d.Chart = newChart(e, sum.Sent)
	}
	if d.Query != "" && b.Status != blast.StatusScheduled && b.Status != blast.StatusCancelled {
		if d.Candidates, err = a.engine.SearchPatients(ctx, a.org.ID, b.ID, d.Query, 20); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	a.render(w, "detail", d)
}

func (a *app) retryBlast(w http.ResponseWriter, r *http.Request) {
	n, err := a.engine.RetryFailed(r.Context(), a.org.ID, r.PathValue("id"), nil)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	redirectDone(w, r, "retried", n)
}

func (a *app) cancelBlast(w http.ResponseWriter, r *http.Request) {
	n, err := a.engine.Cancel(r.Context(), a.org.ID, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	redirectDone(w, r, "cancelled", n)
}

func (a *app) resumeBlast(w http.ResponseWriter, r *http.Request) {
	if _, err := a.engine.Resume(r.Context(), a.org.ID, r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	redirectDone(w, r, "resumed", 0)
}

func (a *app) addRecipients(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	n, err := a.engine.AddRecipients(r.Context(), a.org.ID, r.PathValue("id"), r.Form["patient"], nil)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	redirectDone(w, r, "added", n)
}

func redirectDone(w http.ResponseWriter, r *http.Request, what string, n int) {
	http.Redirect(w, r, "/blasts/"+r.PathValue("id")+"?done="+what+"&n="+strconv.Itoa(n), http.StatusSeeOther)
}

// notice is the confirmation line for ?done=…; only fixed texts are shown.
func notice(q url.Values) string {
	n, _ := strconv.Atoi(q.Get("n"))
	switch q.Get("done") {
	case "test":
		return "Test message sent: see the Outbox."
	case "retried":
		return fmt.Sprintf("%d failed message(s) queued again.", n)
	case "cancelled":
		return fmt.Sprintf("Blast cancelled; %d queued message(s) will not be sent.", n)
	case "added":
		return fmt.Sprintf("%d recipient(s) added.", n)
	case "resumed":
		return "Sending resumed."
	}
	return ""
}

// ---- outbox ----

func (a *app) outboxPage(w http.ResponseWriter, r *http.Request) {
	msgs := append(a.sms.Sent(), a.email.Sent()...)
	slices.SortStableFunc(msgs, func(x, y fake.Message) int { return y.At.Compare(x.At) })
	total := len(msgs)
	msgs = msgs[:min(len(msgs), 200)]
	a.render(w, "outbox", map[string]any{"Org": a.org, "Messages": msgs, "Total": total,
		"SMS": a.sms.Count(), "Email": a.email.Count()})
}
