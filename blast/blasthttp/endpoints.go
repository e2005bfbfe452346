package blasthttp

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/render"
)

// Limits of query parameters.
const (
	// ListLimitMax is the largest page of GET /blasts.
	ListLimitMax = 200
	// SearchLimitDefault and SearchLimitMax bound GET
	// /blasts/{id}/patients.
	SearchLimitDefault = 20
	SearchLimitMax     = 100
	// RecipientsMax is the most patient IDs one Add Recipients call
	// takes.
	RecipientsMax = 1000
	// SearchQueryMax is the longest patient search query, in bytes.
	SearchQueryMax = 200
	// CountRecipientsMax bounds the audience size of POST /sms/count.
	CountRecipientsMax = 100_000_000
	// AnalyticsRangeMax is the longest analytics period, and
	// AnalyticsPointsMax the most buckets in it.
	AnalyticsRangeMax  = 2 * 366 * 24 * time.Hour
	AnalyticsPointsMax = 1000
)

// ---- composing ----

func (h *Handler) mergeFields(w http.ResponseWriter, _ *request) error {
	fs := render.Fields()
	out := make([]Field, len(fs))
	for i, f := range fs {
		out[i] = Field{Key: f.Key, Token: "{{" + f.Key + "}}", Label: f.Label, Description: f.Description, Example: f.Example}
	}
	writeJSON(w, http.StatusOK, map[string][]Field{"fields": out})
	return nil
}

// countRequest is the body of POST /sms/count.
type countRequest struct {
	Text          string           `json:"text"`
	Purpose       carecast.Purpose `json:"purpose"`
	Images        int              `json:"images"`
	Recipients    int              `json:"recipients"`
	OptOutLine    *bool            `json:"opt_out_line"`
	SmartEncoding bool             `json:"smart_encoding"`
}

func (h *Handler) countSMS(w http.ResponseWriter, r *request) error {
	var in countRequest
	if err := decode(r, &in, false); err != nil {
		return err
	}
	switch {
	case in.Purpose != "" && !in.Purpose.Valid():
		return badParam("purpose", "purpose must be \"marketing\" or \"transactional\"")
	case in.Images < 0 || in.Images > render.MMSMaxImages:
		return badParam("images", "images must be between 0 and %d", render.MMSMaxImages)
	case in.Recipients < 0 || in.Recipients > CountRecipientsMax:
		return badParam("recipients", "recipients must be between 0 and %d", CountRecipientsMax)
	}
	if in.Purpose == "" {
		in.Purpose = carecast.Transactional
	}
	out := Count{Typed: smsCount(render.CountSMS(in.Text)), MMS: in.Images > 0, Recipients: in.Recipients}
	content := render.SMSContent{Body: in.Text, OptOutLine: in.OptOutLine, SmartEncoding: in.SmartEncoding}
	if in.Images > 0 && in.Text == "" {
		content.Body = " " // images alone are a valid MMS; their data is not needed to count
	}
	t, err := render.CompileSMS(content, in.Purpose, h.organization(r.Context(), r.org))
	var unknown *render.UnknownFieldsError
	switch {
	case err == nil:
		c := smsCount(t.Preview())
		out.Message = &c
		per := h.pricing.SMSCostOf(c.Segments, out.MMS)
		out.CostPerMessage = &Money{}
		*out.CostPerMessage = money(per)
		total := money(per.Mul(int64(in.Recipients)))
		out.Cost = &total
	case errors.As(err, &unknown):
		for _, f := range unknown.Fields {
			out.UnknownFields = append(out.UnknownFields, clip(f.Key))
		}
		out.Problem = "unknown merge fields"
	case errors.Is(err, render.ErrEmptyBody):
		out.Problem = "the message is empty"
	default:
		var syn *render.TemplateSyntaxError
		var long *render.TooLongError
		switch {
		case errors.As(err, &syn):
			out.Problem = "a merge field is not closed with }}"
		case errors.As(err, &long):
			out.Problem = "the message is longer than " + strconv.Itoa(long.Limit) + " characters"
		default:
			out.Problem = "the message cannot be sent as written"
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) listCohorts(w http.ResponseWriter, r *request) error {
	cs, err := h.cfg.Cohorts.Cohorts(r.Context(), r.org)
	if err != nil {
		return err
	}
	out := make([]Cohort, len(cs))
	for i := range cs {
		out[i] = Cohort{ID: cs[i].ID, Name: cs[i].Name, Summary: cs[i].Summary(), List: cs[i].IsList()}
	}
	writeJSON(w, http.StatusOK, map[string][]Cohort{"cohorts": out})
	return nil
}

// ---- drafts ----

func (h *Handler) listBlasts(w http.ResponseWriter, r *request) error {
	q := r.URL.Query()
	opts := blast.ListOpts{Limit: 50}
	for _, s := range q["status"] {
		st := blast.Status(s)
		switch st {
		case blast.StatusDraft, blast.StatusScheduled, blast.StatusSending, blast.StatusCompleted, blast.StatusCancelled, blast.StatusPaused:
			opts.Statuses = append(opts.Statuses, st)
		default:
			return badParam("status", "unknown status %q", clip(s))
		}
	}
	n, err := intParam(q.Get("limit"), 50, 1, ListLimitMax, "limit")
	if err != nil {
		return err
	}
	opts.Limit = n
	if c := q.Get("cursor"); c != "" {
		after, ok := parseCursor(c)
		if !ok {
			return badParam("cursor", "not a cursor this list returned (next_cursor)")
		}
		opts.After = &after
	}
	bs, err := h.cfg.Engine.List(r.Context(), r.org, &opts)
	if err != nil {
		return err
	}
	out := struct {
		Blasts     []Listing `json:"blasts"`
		NextCursor string    `json:"next_cursor"`
	}{Blasts: make([]Listing, len(bs))}
	for i := range bs {
		out.Blasts[i] = listingJSON(&bs[i])
	}
	if len(bs) == opts.Limit {
		out.NextCursor = cursorOf(&bs[len(bs)-1])
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// cursorOf returns the list cursor after b: its creation time (Unix
// nanoseconds, base 36) and ID, so the next page needs no lookup.
func cursorOf(b *blast.Listing) string {
	return strconv.FormatInt(b.CreatedAt.UnixNano(), 36) + "_" + b.ID
}

// parseCursor reads a cursor of cursorOf; ok is false for anything else.
func parseCursor(c string) (blast.Listing, bool) {
	ts, id, ok := strings.Cut(c, "_")
	if !ok || len(ts) > 14 {
		return blast.Listing{}, false
	}
	ns, err := strconv.ParseInt(ts, 36, 64)
	if err != nil {
		return blast.Listing{}, false
	}
	if u, err := uuid.Parse(id); err != nil || u.String() != id {
		return blast.Listing{}, false
	}
	return blast.Listing{ID: id, CreatedAt: time.Unix(0, ns).UTC()}, true
}

func (h *Handler) createDraft(w http.ResponseWriter, r *request) error {
	var d Draft
	if err := decode(r, &d, false); err != nil {
		return err
	}
	approver, err := h.approver(r, d.PHIApproved)
	if err != nil {
		return err
	}
	b, err := h.cfg.Engine.CreateDraft(r.Context(), r.org, d.engine(h.user(r), approver))
	if err != nil {
		return err
	}
	w.Header().Set("Location", b.ID)
	writeJSON(w, http.StatusCreated, blastJSON(&b))
	return nil
}

func (h *Handler) getBlast(w http.ResponseWriter, r *request) error {
	b, err := h.cfg.Engine.Get(r.Context(), r.org, r.blastID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, blastJSON(&b))
	return nil
}

func (h *Handler) updateDraft(w http.ResponseWriter, r *request) error {
	var d Draft
	if err := decode(r, &d, false); err != nil {
		return err
	}
	approver, err := h.approver(r, d.PHIApproved)
	if err != nil {
		return err
	}
	// A blank creator keeps the draft's.
	b, err := h.cfg.Engine.UpdateDraft(r.Context(), r.org, r.blastID, d.engine("", approver))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, blastJSON(&b))
	return nil
}

func (h *Handler) validate(w http.ResponseWriter, r *request) error {
	if err := h.cfg.Engine.Validate(r.Context(), r.org, r.blastID); err != nil {
		return err
	}
	ws, err := h.cfg.Engine.Warnings(r.Context(), r.org, r.blastID)
	if err != nil {
		return err
	}
	out := map[string][]Problem{"problems": {}, "warnings": make([]Problem, 0, len(ws))}
	for _, p := range ws {
		out["warnings"] = append(out["warnings"], Problem{Code: p.Code, Field: p.Field, Message: p.Message})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) preview(w http.ResponseWriter, r *request) error {
	p, err := h.cfg.Engine.Preview(r.Context(), r.org, r.blastID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p) // eligibility.Preview's own JSON: counts and labelled rows
	return nil
}

func (h *Handler) estimate(w http.ResponseWriter, r *request) error {
	e, err := h.cfg.Engine.Estimate(r.Context(), r.org, r.blastID)
	if err != nil {
		return err
	}
	out := Estimate{Recipients: e.Recipients, Cost: money(e.Cost)}
	if s := e.SMS; s != nil {
		out.SMS = &SMSEstimate{
			Exact: s.Exact, MMS: s.MMS, Encoding: s.Encoding.String(), Segments: s.Segments,
			Distribution:    make([]SegmentBucket, len(s.Distribution)),
			EncodingChanged: s.EncodingChanged, EncodingChangedIDs: s.EncodingChangedIDs,
			TooLong: s.TooLong, TooLongIDs: s.TooLongIDs,
		}
		for i, b := range s.Distribution {
			out.SMS.Distribution[i] = SegmentBucket{Segments: b.Segments, Messages: b.Messages}
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// testRequest is the body of POST /blasts/{id}/test.
type testRequest struct {
	To        string `json:"to"`
	PatientID string `json:"patient_id"`
	// PortalNotice tests a PHI-bearing blast's portal notice.
	PortalNotice bool `json:"portal_notice"`
}

// testResponse answers POST /blasts/{id}/test.
type testResponse struct {
	ProviderMessageID string `json:"provider_message_id"`
	// PatientID is the real patient the test was personalised for, ""
	// for the synthetic sample patient.
	PatientID    string `json:"patient_id"`
	PortalNotice bool   `json:"portal_notice"`
}

func (h *Handler) sendTest(w http.ResponseWriter, r *request) error {
	var in testRequest
	if err := decode(r, &in, false); err != nil {
		return err
	}
	if in.To == "" {
		return badParam("to", "to is required: the staff member's phone number or email address")
	}
	opts := blast.TestOpts{To: in.To, PatientID: in.PatientID, PortalNotice: in.PortalNotice}
	opts.CanViewPatient = in.PatientID != "" && h.cfg.CanViewPatient != nil && h.cfg.CanViewPatient(r.Request, in.PatientID)
	res, err := h.cfg.Engine.SendTest(r.Context(), r.org, r.blastID, opts)
	if err != nil {
		return testError(err)
	}
	writeJSON(w, http.StatusOK, testResponse{ProviderMessageID: res.ProviderMessageID, PatientID: res.PatientID, PortalNotice: res.PortalNotice})
	return nil
}

// testError maps the errors of a test send that only it returns; the
// others go to statusOf. Messages name the JSON field, never its value.
func testError(err error) error {
	var (
		de *blast.TestDestinationError
		re *blast.TestRefusedError
		fe *blast.TestForbiddenError
	)
	switch {
	case errors.As(err, &de):
		return &apiError{status: http.StatusUnprocessableEntity, Code: "invalid_destination", Message: "to: " + de.Problem,
			Problems: []Problem{{Code: "destination", Field: "to", Message: de.Problem}}}
	case errors.As(err, &re):
		msg := "the destination is refused (" + re.Reason.String() + "): no message of this blast may go to it"
		return &apiError{status: http.StatusConflict, Code: "destination_refused", Message: "to: " + msg,
			Problems: []Problem{{Code: blast.ProblemCode(re.Reason.String()), Field: "to", Message: msg}}}
	case errors.As(err, &fe):
		return &apiError{status: http.StatusForbidden, Code: "patient_forbidden",
			Message: "patient_id: this user may not see that patient's record; leave patient_id empty to use the sample patient"}
	}
	if code, ok := providerCode(err); ok {
		return &apiError{Code: "test_failed", Message: "the provider refused the test message (" + code + ")", status: http.StatusBadGateway}
	}
	return err
}

// sendRequest is the optional body of POST /blasts/{id}/send.
type sendRequest struct {
	// At schedules the blast (RFC 3339); absent or past sends now.
	At time.Time `json:"at"`
}

func (h *Handler) send(w http.ResponseWriter, r *request) error {
	var in sendRequest
	if err := decode(r, &in, true); err != nil {
		return err
	}
	b, err := h.cfg.Engine.Send(r.Context(), r.org, r.blastID, &blast.SendOpts{At: in.At})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, blastJSON(&b))
	return nil
}

func (h *Handler) cancel(w http.ResponseWriter, r *request) error {
	n, err := h.cfg.Engine.Cancel(r.Context(), r.org, r.blastID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"cancelled": n})
	return nil
}

func (h *Handler) resume(w http.ResponseWriter, r *request) error {
	b, err := h.cfg.Engine.Resume(r.Context(), r.org, r.blastID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, blastJSON(&b))
	return nil
}

// duplicateRequest is the optional body of POST /blasts/{id}/duplicate.
type duplicateRequest struct {
	Name string `json:"name"`
}

func (h *Handler) duplicate(w http.ResponseWriter, r *request) error {
	var in duplicateRequest
	if err := decode(r, &in, true); err != nil {
		return err
	}
	b, err := h.cfg.Engine.Duplicate(r.Context(), r.org, r.blastID, &blast.DuplicateOpts{Name: in.Name, CreatedBy: h.user(r)})
	if err != nil {
		return err
	}
	w.Header().Set("Location", b.ID)
	writeJSON(w, http.StatusCreated, blastJSON(&b))
	return nil
}

// ---- results ----

func (h *Handler) summary(w http.ResponseWriter, r *request) error {
	s, err := h.cfg.Engine.Summary(r.Context(), r.org, r.blastID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, summaryJSON(&s))
	return nil
}

func (h *Handler) messages(w http.ResponseWriter, r *request) error {
	q := r.URL.Query()
	card := blast.Card(q.Get("card"))
	switch card {
	case "", blast.CardTotal, blast.CardSent, blast.CardSkipped, blast.CardOpened, blast.CardClicked,
		blast.CardOptedOut, blast.CardBlocked, blast.CardReplied, blast.CardFailed, blast.CardInDoubt, blast.CardPending, blast.CardCancelled:
	default:
		return badParam("card", "unknown card %q", clip(string(card)))
	}
	n, err := intParam(q.Get("limit"), 50, 1, 1000, "limit")
	if err != nil {
		return err
	}
	cursor := q.Get("cursor")
	if c, err := strconv.ParseInt(cursor, 36, 64); cursor != "" && (err != nil || c < 0) {
		return badParam("cursor", "not a cursor this list returned (next_cursor)")
	}
	page, err := h.cfg.Engine.Messages(r.Context(), r.org, r.blastID, &blast.MessagesOpts{Card: card, Cursor: cursor, Limit: n})
	if err != nil {
		return err
	}
	out := Messages{Messages: make([]Message, len(page.Messages)), NextCursor: page.NextCursor}
	for i, m := range page.Messages {
		out.Messages[i] = Message{
			ID: m.ID, PatientID: m.PatientID, Status: string(m.Status), Reason: m.Reason, ErrorCode: m.ErrorCode,
			Attempts: m.Attempts, At: m.At, SentAt: m.SentAt, DeliveredAt: m.DeliveredAt,
			Opens: m.Opens, Clicks: m.Clicks, Replies: m.Replies, Cost: money(m.Cost),
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) engagement(w http.ResponseWriter, r *request) error {
	step := time.Hour
	if s := r.URL.Query().Get("step"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < time.Minute {
			return badParam("step", "step must be a duration of at least 1m (\"1h\", \"15m\")")
		}
		step = d
	}
	e, err := h.cfg.Engine.Engagement(r.Context(), r.org, r.blastID, step)
	if err != nil {
		return err
	}
	out := Engagement{Start: e.Start, StepSeconds: int64(e.Step / time.Second), Opens: e.Opens, Clicks: e.Clicks}
	if out.Opens == nil {
		out.Opens, out.Clicks = []int{}, []int{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// retryRequest is the optional body of POST /blasts/{id}/retry.
type retryRequest struct {
	IncludeInDoubt bool `json:"include_in_doubt"`
}

func (h *Handler) retry(w http.ResponseWriter, r *request) error {
	var in retryRequest
	if err := decode(r, &in, true); err != nil {
		return err
	}
	n, err := h.cfg.Engine.RetryFailed(r.Context(), r.org, r.blastID, &blast.RetryOpts{IncludeInDoubt: in.IncludeInDoubt})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"retried": n})
	return nil
}

// Reconciled is the answer of POST /blasts/{id}/reconcile
// (blast.ReconcileResult).
type Reconciled struct {
	Checked     int `json:"checked"`
	Accepted    int `json:"accepted"`
	NotAccepted int `json:"not_accepted"`
	Unknown     int `json:"unknown"`
	Errors      int `json:"errors"`
}

func (h *Handler) reconcile(w http.ResponseWriter, r *request) error {
	if err := decode(r, &struct{}{}, true); err != nil {
		return err
	}
	res, err := h.cfg.Engine.ReconcileInDoubt(r.Context(), r.org, r.blastID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, Reconciled{Checked: res.Checked, Accepted: res.Accepted, NotAccepted: res.NotAccepted,
		Unknown: res.Unknown, Errors: res.Errors})
	return nil
}

func (h *Handler) searchPatients(w http.ResponseWriter, r *request) error {
	q := r.URL.Query()
	n, err := intParam(q.Get("limit"), SearchLimitDefault, 1, SearchLimitMax, "limit")
	if err != nil {
		return err
	}
	if len(q.Get("q")) > SearchQueryMax {
		return badParam("q", "the search is at most %d characters", SearchQueryMax)
	}
	cs, err := h.cfg.Engine.SearchPatients(r.Context(), r.org, r.blastID, q.Get("q"), n)
	if err != nil {
		return err
	}
	out := make([]Candidate, len(cs))
	for i, c := range cs {
		p := &c.Patient
		out[i] = Candidate{ID: p.ID, FirstName: p.FirstName, LastName: p.LastName, Phone: p.Phone, Email: p.Email, InBlast: c.InBlast}
	}
	writeJSON(w, http.StatusOK, map[string][]Candidate{"patients": out})
	return nil
}

// recipientsRequest is the body of the Add Recipients endpoints.
type recipientsRequest struct {
	PatientIDs []string `json:"patient_ids"`
	// PHIApproved approves, in the requesting user's name, sending the
	// blast's flagged content to these patients too (POST
	// /blasts/{id}/recipients; see Draft.PHIApproved).
	PHIApproved bool `json:"phi_approved,omitempty"`
}

func decodeRecipients(r *request) (recipientsRequest, error) {
	var in recipientsRequest
	if err := decode(r, &in, false); err != nil {
		return in, err
	}
	if len(in.PatientIDs) > RecipientsMax {
		return in, badParam("patient_ids", "at most %d patients at once", RecipientsMax)
	}
	return in, nil
}

func (h *Handler) countRecipients(w http.ResponseWriter, r *request) error {
	in, err := decodeRecipients(r)
	if err != nil {
		return err
	}
	pv, err := h.cfg.Engine.NewRecipients(r.Context(), r.org, r.blastID, in.PatientIDs)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, recipientsCountOf(&pv))
	return nil
}

func (h *Handler) addRecipients(w http.ResponseWriter, r *request) error {
	in, err := decodeRecipients(r)
	if err != nil {
		return err
	}
	approver, err := h.approver(r, in.PHIApproved)
	if err != nil {
		return err
	}
	n, err := h.cfg.Engine.AddRecipients(r.Context(), r.org, r.blastID, in.PatientIDs, &blast.AddRecipientsOpts{PHIApprovedBy: approver})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"added": n})
	return nil
}

func (h *Handler) analytics(w http.ResponseWriter, r *request) error {
	q := r.URL.Query()
	from, err1 := time.Parse(time.RFC3339, q.Get("from"))
	to, err2 := time.Parse(time.RFC3339, q.Get("to"))
	if err1 != nil || err2 != nil || !from.Before(to) {
		return badParam("from", "from and to are required RFC 3339 times with from before to")
	}
	if to.Sub(from) > AnalyticsRangeMax {
		return badParam("to", "the period is at most %d days", int(AnalyticsRangeMax/(24*time.Hour)))
	}
	bucket := 24 * time.Hour
	if s := q.Get("bucket"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < time.Hour {
			return badParam("bucket", "bucket must be a duration of at least 1h (\"24h\", \"168h\")")
		}
		bucket = d
	}
	if to.Sub(from)/bucket > AnalyticsPointsMax {
		return badParam("bucket", "at most %d buckets: widen bucket", AnalyticsPointsMax)
	}
	a, err := h.cfg.Engine.Analytics(r.Context(), r.org, blast.AnalyticsOpts{From: from, To: to, Bucket: bucket})
	if err != nil {
		return err
	}
	out := Analytics{Points: make([]AnalyticsPoint, len(a.Points)), Total: analyticsPoint(&a.Total)}
	for i := range a.Points {
		out.Points[i] = analyticsPoint(&a.Points[i])
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// intParam parses an optional integer query parameter within [lo, hi].
func intParam(s string, def, lo, hi int, name string) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, badParam(name, "%s must be an integer from %d to %d", name, lo, hi)
	}
	return n, nil
}
