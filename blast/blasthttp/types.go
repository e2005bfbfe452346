package blasthttp

import (
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/eligibility"
	"github.com/carecast/carecast/render"
)

// Draft is the JSON body of create (POST /blasts) and update
// (PUT /blasts/{id}): what the user composes. It mirrors blast.Draft; the
// organization and the creating user come from the host, never from here.
type Draft struct {
	Name      string           `json:"name"`
	CohortIDs []string         `json:"cohort_ids"`
	Channel   carecast.Channel `json:"channel"`
	// Purpose is "marketing" or "transactional" ("" means transactional):
	// the guide's Marketing message checkbox.
	Purpose carecast.Purpose     `json:"purpose,omitempty"`
	SMS     *render.SMSContent   `json:"sms,omitempty"`
	Email   *render.EmailContent `json:"email,omitempty"`
	From    string               `json:"from,omitempty"`
	ReplyTo string               `json:"reply_to,omitempty"`
	// PHI marks a PHI-bearing blast; PortalSMS or PortalEmail is then its
	// PHI-free portal notice (blast.Draft.PHI).
	PHI         bool                 `json:"phi,omitempty"`
	PortalSMS   *render.SMSContent   `json:"portal_sms,omitempty"`
	PortalEmail *render.EmailContent `json:"portal_email,omitempty"`
	// PHIApproved approves flagged sensitive content in the requesting
	// user's name (blast.Draft.PHIApprovedBy). It is honoured only when
	// Config.CanApprovePHI allows the user (403 phi_approval_forbidden
	// otherwise), and must be sent again with every update: changed
	// content needs a new approval.
	PHIApproved bool `json:"phi_approved,omitempty"`
	// HealthcareExempt claims the TCPA healthcare-message exemption
	// (blast.Draft.HealthcareExempt).
	HealthcareExempt bool `json:"healthcare_exempt,omitempty"`
	// Urgent lets a transactional text bypass quiet hours
	// (blast.Draft.Urgent; audited).
	Urgent bool `json:"urgent,omitempty"`
	// HIPAABasis and SponsorPaid are the HIPAA marketing classification
	// (blast.Draft.HIPAABasis, SponsorPaid).
	HIPAABasis  blast.HIPAABasis `json:"hipaa_basis,omitempty"`
	SponsorPaid bool             `json:"sponsor_paid,omitempty"`
	// Households is "one" (one message per shared phone or email),
	// "each", or omitted: one for marketing, each for transactional
	// (blast.Draft.Households).
	Households blast.Households `json:"households,omitempty"`
}

func (d *Draft) engine(createdBy, approvedBy string) blast.Draft {
	return blast.Draft{
		Name: d.Name, CohortIDs: d.CohortIDs, Channel: d.Channel, Purpose: d.Purpose,
		SMS: d.SMS, Email: d.Email, From: d.From, ReplyTo: d.ReplyTo, CreatedBy: createdBy,
		PHI: d.PHI, PortalSMS: d.PortalSMS, PortalEmail: d.PortalEmail, PHIApprovedBy: approvedBy,
		HealthcareExempt: d.HealthcareExempt, Urgent: d.Urgent, HIPAABasis: d.HIPAABasis, SponsorPaid: d.SponsorPaid,
		Households: d.Households,
	}
}

// Lifecycle is a blast's state, provenance and lifecycle times (omitted
// until reached), as both Blast and Listing carry them.
type Lifecycle struct {
	Status         blast.Status `json:"status"`
	CreatedBy      string       `json:"created_by,omitempty"`
	DuplicatedFrom string       `json:"duplicated_from,omitempty"`
	CreatedAt      time.Time    `json:"created_at"`
	UpdatedAt      time.Time    `json:"updated_at"`
	ScheduledAt    time.Time    `json:"scheduled_at,omitzero"`
	StartedAt      time.Time    `json:"started_at,omitzero"`
	CompletedAt    time.Time    `json:"completed_at,omitzero"`
	CancelledAt    time.Time    `json:"cancelled_at,omitzero"`
}

// Blast is a blast as the API returns it (GET /blasts/{id}): the draft's
// content and settings plus its identity, approval and lifecycle.
type Blast struct {
	ID string `json:"id"`
	Draft
	Lifecycle
	// PHIApprovedBy and PHIApprovedAt record the approval of flagged
	// content (blast.Blast.PHIApproval), which covers this version of
	// the content and audience only.
	PHIApprovedBy string    `json:"phi_approved_by,omitempty"`
	PHIApprovedAt time.Time `json:"phi_approved_at,omitzero"`
}

func blastJSON(b *blast.Blast) Blast {
	cohorts := b.CohortIDs
	if cohorts == nil {
		cohorts = []string{}
	}
	out := Blast{
		ID: b.ID,
		Draft: Draft{
			Name: b.Name, CohortIDs: cohorts, Channel: b.Channel, Purpose: b.Purpose,
			SMS: b.SMS, Email: b.Email, From: b.From, ReplyTo: b.ReplyTo,
			PHI: b.PHI, PortalSMS: b.PortalSMS, PortalEmail: b.PortalEmail,
			PHIApproved: b.PHIApproval != nil, HealthcareExempt: b.HealthcareExempt, Urgent: b.Urgent,
			HIPAABasis: b.HIPAABasis, SponsorPaid: b.SponsorPaid, Households: b.Households,
		},
		Lifecycle: Lifecycle{Status: b.Status, CreatedBy: b.CreatedBy, DuplicatedFrom: b.DuplicatedFrom,
			CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt, ScheduledAt: b.ScheduledAt,
			StartedAt: b.StartedAt, CompletedAt: b.CompletedAt, CancelledAt: b.CancelledAt},
	}
	if a := b.PHIApproval; a != nil {
		out.PHIApprovedBy, out.PHIApprovedAt = a.By, a.At
	}
	return out
}

// Listing is one blast of GET /blasts: its identity, settings and
// lifecycle, never its content (texts, images, attachments); GET
// /blasts/{id} returns that.
type Listing struct {
	ID        string           `json:"id"`
	Name      string           `json:"name"`
	CohortIDs []string         `json:"cohort_ids"`
	Channel   carecast.Channel `json:"channel"`
	Purpose   carecast.Purpose `json:"purpose"`
	Lifecycle
}

func listingJSON(b *blast.Listing) Listing {
	cohorts := b.CohortIDs
	if cohorts == nil {
		cohorts = []string{}
	}
	return Listing{ID: b.ID, Name: b.Name, CohortIDs: cohorts, Channel: b.Channel, Purpose: b.Purpose,
		Lifecycle: Lifecycle{Status: b.Status, CreatedBy: b.CreatedBy, DuplicatedFrom: b.DuplicatedFrom,
			CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt, ScheduledAt: b.ScheduledAt,
			StartedAt: b.StartedAt, CompletedAt: b.CompletedAt, CancelledAt: b.CancelledAt}}
}

// Money is an amount as the API returns it: integer micro-units (exact)
// and the display string in the major unit ("0.0079").
type Money struct {
	Micros  int64  `json:"micros"`
	Display string `json:"display"`
}

func money(m carecast.Money) Money { return Money{Micros: int64(m), Display: m.String()} }

// Count is the count-as-you-type answer (POST /sms/count).
type Count struct {
	// Typed measures the text exactly as typed (render.CountSMS).
	Typed SMSCount `json:"typed"`
	// Message measures the message a patient receives: merge fields
	// filled with example values, the opt-out line of a marketing text
	// appended. Absent when the text does not compile (see Problems).
	Message *SMSCount `json:"message,omitempty"`
	// MMS is set when images are attached.
	MMS bool `json:"mms"`
	// Recipients echoes the request's audience size; Cost is the quick
	// estimate for it (render.QuickEstimateSMS) and CostPerMessage the
	// cost of one message.
	Recipients     int    `json:"recipients"`
	CostPerMessage *Money `json:"cost_per_message,omitempty"`
	Cost           *Money `json:"cost,omitempty"`
	// UnknownFields lists merge fields typed that do not exist.
	UnknownFields []string `json:"unknown_fields,omitempty"`
	// Problem says why the text does not compile ("" when it does).
	Problem string `json:"problem,omitempty"`
}

// SMSCount is render.SMSCount in JSON.
type SMSCount struct {
	Encoding   string `json:"encoding"`
	Characters int    `json:"characters"`
	Units      int    `json:"units"`
	Segments   int    `json:"segments"`
	Remaining  int    `json:"remaining"`
}

func smsCount(c render.SMSCount) SMSCount {
	return SMSCount{Encoding: c.Encoding.String(), Characters: c.Characters, Units: c.Units, Segments: c.Segments, Remaining: c.Remaining}
}

// Estimate is the cost estimate of a saved blast (GET
// /blasts/{id}/estimate).
type Estimate struct {
	Recipients int   `json:"recipients"`
	Cost       Money `json:"cost"`
	// SMS details an SMS blast's estimate; absent for email.
	SMS *SMSEstimate `json:"sms,omitempty"`
}

// SMSEstimate details render.SMSEstimate; the first few patient IDs of
// the encoding-changed and too-long recipients are included (IDs only).
type SMSEstimate struct {
	Exact              bool            `json:"exact"`
	MMS                bool            `json:"mms"`
	Encoding           string          `json:"encoding"`
	Segments           int64           `json:"segments"`
	Distribution       []SegmentBucket `json:"distribution"`
	EncodingChanged    int             `json:"encoding_changed"`
	EncodingChangedIDs []string        `json:"encoding_changed_ids,omitempty"`
	TooLong            int             `json:"too_long"`
	TooLongIDs         []string        `json:"too_long_ids,omitempty"`
}

// SegmentBucket counts the messages of one segment count.
type SegmentBucket struct {
	Segments int `json:"segments"`
	Messages int `json:"messages"`
}

// Summary is the delivery summary (GET /blasts/{id}/summary): the stat
// cards in the guide's order, the partition counts, progress, spend and
// the low-delivery alert (absent unless under 90%).
type Summary struct {
	BlastID     string           `json:"blast_id"`
	Channel     carecast.Channel `json:"channel"`
	Status      blast.Status     `json:"status"`
	Cards       []Card           `json:"cards"`
	Total       int              `json:"total"`
	Sent        int              `json:"sent"`
	Delivered   int              `json:"delivered"`
	Failed      int              `json:"failed"`
	InDoubt     int              `json:"in_doubt"`
	Skipped     int              `json:"skipped"`
	OptedOut    int              `json:"opted_out"`
	Blocked     int              `json:"blocked"`
	Pending     int              `json:"pending"`
	Cancelled   int              `json:"cancelled"`
	Opened      int              `json:"opened"`
	Clicked     int              `json:"clicked"`
	Replied     int              `json:"replied"`
	SkippedBy   map[string]int   `json:"skipped_by"`
	Segments    int64            `json:"segments"`
	Cost        Money            `json:"cost"`
	Progress    float64          `json:"progress"`
	LowDelivery *LowDelivery     `json:"low_delivery,omitempty"`
	// Pause says why a paused blast was paused (POST
	// /blasts/{id}/resume sends it again).
	Pause *Pause `json:"pause,omitempty"`
}

// Pause is a paused blast's alert (blast.Pause).
type Pause struct {
	Alert    string    `json:"alert"`
	Code     string    `json:"code,omitempty"`
	Refusals int       `json:"refusals"`
	At       time.Time `json:"at"`
}

// Card is one stat card; Card.Card is also the messages endpoint's card
// filter.
type Card struct {
	Card  blast.Card `json:"card"`
	Label string     `json:"label"`
	Count int        `json:"count"`
	Rate  float64    `json:"rate"`
	// Parts are the card's named parts, each also a card filter: the
	// failed card's "in_doubt" ("of which in doubt").
	Parts []Card `json:"parts,omitempty"`
}

// LowDelivery is the low-delivery banner: Rate = Sent / Attempted.
type LowDelivery struct {
	Rate      float64 `json:"rate"`
	Sent      int     `json:"sent"`
	Attempted int     `json:"attempted"`
}

func cardJSON(c *blast.CardStat) Card {
	out := Card{Card: c.Card, Label: c.Label, Count: c.Count, Rate: c.Rate}
	for i := range c.Parts {
		out.Parts = append(out.Parts, cardJSON(&c.Parts[i]))
	}
	return out
}

func summaryJSON(s *blast.Summary) Summary {
	out := Summary{
		BlastID: s.BlastID, Channel: s.Channel, Status: s.Status, Cards: make([]Card, len(s.Cards)),
		Total: s.Total, Sent: s.Sent, Delivered: s.Delivered, Failed: s.Failed, InDoubt: s.InDoubt,
		Skipped: s.Skipped, OptedOut: s.OptedOut, Blocked: s.Blocked, Pending: s.Pending,
		Cancelled: s.Cancelled, Opened: s.Opened, Clicked: s.Clicked, Replied: s.Replied,
		SkippedBy: s.SkippedBy, Segments: s.Segments, Cost: money(s.Cost), Progress: s.Progress,
	}
	if out.SkippedBy == nil {
		out.SkippedBy = map[string]int{}
	}
	for i := range s.Cards {
		out.Cards[i] = cardJSON(&s.Cards[i])
	}
	if s.LowDelivery != nil {
		out.LowDelivery = &LowDelivery{Rate: s.LowDelivery.Rate, Sent: s.LowDelivery.Sent, Attempted: s.LowDelivery.Attempted}
	}
	if s.Pause != nil {
		out.Pause = &Pause{Alert: s.Pause.Alert, Code: s.Pause.Code, Refusals: s.Pause.Refusals, At: s.Pause.At}
	}
	return out
}

// Message is one line of the message list. Recipients are named by
// patient ID; the host's front end shows its own patient name.
type Message struct {
	ID          int64     `json:"id"`
	PatientID   string    `json:"patient_id"`
	Status      string    `json:"status"`
	Reason      string    `json:"reason,omitempty"`
	ErrorCode   string    `json:"error_code,omitempty"`
	Attempts    int       `json:"attempts"`
	At          time.Time `json:"at,omitzero"`
	SentAt      time.Time `json:"sent_at,omitzero"`
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
	Opens       int       `json:"opens"`
	Clicks      int       `json:"clicks"`
	Replies     int       `json:"replies"`
	Cost        Money     `json:"cost"`
}

// Messages is one page of the message list; NextCursor is "" on the last.
type Messages struct {
	Messages   []Message `json:"messages"`
	NextCursor string    `json:"next_cursor"`
}

// Candidate is a patient found for Add Recipients. The response carries
// the patient's name and contact so staff can pick the right one; it is
// never logged.
type Candidate struct {
	ID        string `json:"id"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Phone     string `json:"phone,omitempty"`
	Email     string `json:"email,omitempty"`
	InBlast   bool   `json:"in_blast"`
}

// Cohort is one entry of the cohort picker.
type Cohort struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Summary string `json:"summary"`
	List    bool   `json:"list"`
}

// Field is one merge field of the @ menu.
type Field struct {
	Key         string `json:"key"`
	Token       string `json:"token"`
	Label       string `json:"label"`
	Description string `json:"description"`
	Example     string `json:"example"`
}

// Engagement is the email engagement chart: cumulative opens and clicks at
// Start+(i+1)·Step.
type Engagement struct {
	Start       time.Time `json:"start,omitzero"`
	StepSeconds int64     `json:"step_seconds"`
	Opens       []int     `json:"opens"`
	Clicks      []int     `json:"clicks"`
}

// AnalyticsPoint is one period of the analytics dashboard.
type AnalyticsPoint struct {
	Start          time.Time `json:"start"`
	SMSSent        int       `json:"sms_sent"`
	EmailSent      int       `json:"email_sent"`
	SMSCost        Money     `json:"sms_cost"`
	EmailCost      Money     `json:"email_cost"`
	Spend          Money     `json:"spend"`
	EmailOpened    int       `json:"email_opened"`
	EmailClicked   int       `json:"email_clicked"`
	EmailOpenRate  float64   `json:"email_open_rate"`
	EmailClickRate float64   `json:"email_click_rate"`
	SMSReplied     int       `json:"sms_replied"`
	SMSReplyRate   float64   `json:"sms_reply_rate"`
}

// Analytics is the analytics dashboard: one point per bucket and the total.
type Analytics struct {
	Points []AnalyticsPoint `json:"points"`
	Total  AnalyticsPoint   `json:"total"`
}

func analyticsPoint(p *blast.AnalyticsPoint) AnalyticsPoint {
	return AnalyticsPoint{
		Start: p.Start, SMSSent: p.SMSSent, EmailSent: p.EmailSent,
		SMSCost: money(p.SMSCost), EmailCost: money(p.EmailCost), Spend: money(p.Spend),
		EmailOpened: p.EmailOpened, EmailClicked: p.EmailClicked,
		EmailOpenRate: p.EmailOpenRate, EmailClickRate: p.EmailClickRate,
		SMSReplied: p.SMSReplied, SMSReplyRate: p.SMSReplyRate,
	}
}

// RecipientsCount is the answer of POST /blasts/{id}/recipients/count
// (blast.Engine.NewRecipients): what Add Recipients would do with the
// patients given.
type RecipientsCount struct {
	// Count is how many of them would be sent the message, and Label
	// the button text for it ("Send to 2 patients").
	Count int    `json:"count"`
	Label string `json:"label"`
	// New is how many are patients of the organization not yet in the
	// blast; Skipped how many of those would get no message, and Reasons
	// why (eligibility reason key → count, e.g. "opted_out": 1).
	New     int            `json:"new"`
	Skipped int            `json:"skipped"`
	Reasons map[string]int `json:"reasons"`
}

func recipientsCountOf(pv *eligibility.Preview) RecipientsCount {
	out := RecipientsCount{Count: pv.WillSend, Label: blast.SendLabel(pv.WillSend), New: pv.Total, Skipped: pv.Skipped(),
		Reasons: map[string]int{}}
	for r, n := range pv.ByReason {
		if n > 0 && eligibility.Reason(r) != eligibility.Send {
			out.Reasons[eligibility.Reason(r).String()] = n
		}
	}
	return out
}
