package blast

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/eligibility"
	"github.com/carecast/carecast/store"
)

// Card is one stat card of the delivery summary; each also filters the
// message list.
type Card string

// The stat cards, as the guide lists them. Email blasts show Total, Sent,
// Skipped, Opened, Clicked, Failed; SMS blasts Total, Sent, Skipped,
// OptedOut, Blocked, Replied, Failed.
const (
	// CardTotal: every recipient row of the blast.
	CardTotal Card = "total"
	// CardSent: handed off to the provider (sent or delivered) and not
	// reported failed since.
	CardSent Card = "sent"
	// CardSkipped: not attempted because ineligible. For SMS: no phone,
	// landline, not opted in (marketing), or other skips except opt-outs
	// and clinic blocks, which have their own cards. For email: every
	// skip (no email, suppressed, unsubscribed, not opted in).
	CardSkipped Card = "skipped"
	// CardOpened and CardClicked (email): recipients with at least one
	// open or click.
	CardOpened  Card = "opened"
	CardClicked Card = "clicked"
	// CardOptedOut (SMS): skipped because the patient texted STOP, or
	// refused by the provider as opted out.
	CardOptedOut Card = "opted_out"
	// CardBlocked (SMS): skipped because the clinic disabled SMS.
	CardBlocked Card = "blocked"
	// CardReplied (SMS): recipients who replied.
	CardReplied Card = "replied"
	// CardFailed: failed rows, plus in-doubt rows (the provider may have
	// accepted them; they are never resent automatically). Its CardStat
	// carries the in-doubt part as a sub-card (CardInDoubt).
	CardFailed Card = "failed"
	// CardInDoubt (part of the Failed card, "of which in doubt"): rows
	// the provider may or may not have accepted (an ambiguous answer, or
	// a lease that expired mid-call). Retry Failed resends them only when
	// asked (RetryOpts.IncludeInDoubt).
	CardInDoubt Card = "in_doubt"
	// CardPending (not a guide card): queued or being sent — the
	// progress of a blast still sending, including rows deferred by quiet
	// hours or waiting to retry.
	CardPending Card = "pending"
	// CardCancelled (not a guide card): rows cancelled before sending.
	CardCancelled Card = "cancelled"
)

// CardStat is one stat card's value.
type CardStat struct {
	// Card identifies the card.
	Card Card
	// Label is the card's title as the guide shows it ("Opted Out").
	Label string
	// Count is the number of recipients.
	Count int
	// Rate is Count over Sent for Opened, Clicked and Replied (0..1),
	// and 0 for the other cards.
	Rate float64
	// Parts are the card's named parts, each also a filter: the Failed
	// card has one, CardInDoubt ("of which in doubt"), always present;
	// the other cards have none.
	Parts []CardStat
}

// LowDeliveryThreshold is the delivery rate under which Summary reports a
// LowDelivery alert.
const LowDeliveryThreshold = 0.9

// LowDelivery is the guide's low-delivery alert.
type LowDelivery struct {
	// Rate is Sent / Attempted (0..1).
	Rate float64
	// Sent and Attempted are its terms. Attempted is Sent + Failed (in
	// doubt included): messages the engine handed, or tried to hand, to
	// the provider. Skipped, opted-out, cancelled and pending rows are
	// not attempted and do not count.
	Sent      int
	Attempted int
}

// Summary is a blast's delivery summary: the stat cards, progress, spend
// and the low-delivery alert. It is exact at any moment, during sending as
// after.
type Summary struct {
	BlastID string
	Channel carecast.Channel
	Status  Status
	// Total is every recipient row; the other counts partition it:
	// Total = Sent + Failed + Skipped + OptedOut + Blocked + Pending +
	// Cancelled (Failed includes InDoubt).
	Total     int
	Sent      int
	Delivered int
	Failed    int
	// InDoubt is the part of Failed the provider may have accepted
	// (the Failed card's CardInDoubt part).
	InDoubt   int
	Skipped   int
	OptedOut  int
	Blocked   int
	Pending   int
	Cancelled int
	// Opened, Clicked and Replied count recipients with engagement;
	// OpenRate, ClickRate and ReplyRate divide them by Sent.
	Opened    int
	Clicked   int
	Replied   int
	OpenRate  float64
	ClickRate float64
	ReplyRate float64
	// MachineOpened and MachineClicked count recipients with at least one
	// machine open or click (privacy proxies, link scanners;
	// compliance.md TR-04, TR-05). They are shown for audit only: never
	// in Opened, Clicked, the rates or the cards. Zero from a store that
	// does not keep machine events.
	MachineOpened  int
	MachineClicked int
	// SkippedBy counts skipped rows by eligibility reason name.
	SkippedBy map[string]int
	// Segments and Cost total what was sent.
	Segments int64
	Cost     carecast.Money
	// Progress is the settled share of rows (1 when nothing is pending).
	Progress float64
	// LowDelivery is set when fewer than 90% of attempted messages were
	// sent (see LowDelivery for the denominator); nil otherwise.
	LowDelivery *LowDelivery
	// Pause says why a paused blast (StatusPaused) was paused, from the
	// audit trail; nil otherwise (see SenderBlockGuard).
	Pause *Pause
	// Cards lists the guide's stat cards for the channel, in order.
	Cards []CardStat
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Summary returns the blast's delivery summary.
func (e *Engine) Summary(ctx context.Context, orgID, blastID string) (Summary, error) {
	sb, err := e.header(ctx, orgID, blastID)
	if err != nil {
		return Summary{}, err
	}
	st, err := e.st.Stats(ctx, orgID, blastID)
	if err != nil {
		return Summary{}, fmt.Errorf("blast: stats of blast %s: %w", blastID, err)
	}
	s := summarize(&sb, &st)
	if sb.Status == store.BlastPaused {
		s.Pause = e.pauseOf(ctx, orgID, blastID)
	}
	return s, nil
}

func summarize(sb *store.Blast, st *store.Stats) Summary {
	s := Summary{BlastID: sb.ID, Channel: sb.Channel, Status: sb.Status, SkippedBy: map[string]int{}}
	bs := st.ByStatus
	s.Total = st.Total()
	s.Delivered = bs[store.RowDelivered]
	s.Sent = bs[store.RowSent] + s.Delivered
	s.InDoubt = bs[store.RowInDoubt]
	s.Failed = bs[store.RowFailed] + s.InDoubt
	s.Pending = bs[store.RowQueued] + bs[store.RowSending]
	s.Cancelled = bs[store.RowCancelled]
	for reason, n := range st.SkippedBy {
		s.SkippedBy[reason] = n
		switch {
		case sb.Channel == carecast.SMS && reason == eligibility.OptedOut.String():
			s.OptedOut += n
		case sb.Channel == carecast.SMS && reason == eligibility.Blocked.String():
			s.Blocked += n
		default:
			s.Skipped += n
		}
	}
	s.OptedOut += bs[store.RowOptedOut]
	s.Opened, s.Clicked, s.Replied = st.Opened, st.Clicked, st.Replied
	s.MachineOpened, s.MachineClicked = st.MachineOpened, st.MachineClicked
	s.OpenRate, s.ClickRate, s.ReplyRate = ratio(s.Opened, s.Sent), ratio(s.Clicked, s.Sent), ratio(s.Replied, s.Sent)
	s.Segments, s.Cost = st.Segments, st.Cost
	s.Progress = 1
	if s.Total > 0 {
		s.Progress = 1 - ratio(s.Pending, s.Total)
	}
	if att := s.Sent + s.Failed; att > 0 && ratio(s.Sent, att) < LowDeliveryThreshold {
		s.LowDelivery = &LowDelivery{Rate: ratio(s.Sent, att), Sent: s.Sent, Attempted: att}
	}
	c := func(card Card, label string, n int, rate float64) CardStat {
		return CardStat{Card: card, Label: label, Count: n, Rate: rate}
	}
	failed := c(CardFailed, "Failed", s.Failed, 0)
	failed.Parts = []CardStat{c(CardInDoubt, "In doubt", s.InDoubt, 0)}
	if sb.Channel == carecast.Email {
		s.Cards = []CardStat{c(CardTotal, "Total", s.Total, 0), c(CardSent, "Sent", s.Sent, 0), c(CardSkipped, "Skipped", s.Skipped, 0),
			c(CardOpened, "Opened", s.Opened, s.OpenRate), c(CardClicked, "Clicked", s.Clicked, s.ClickRate), failed}
	} else {
		s.Cards = []CardStat{c(CardTotal, "Total", s.Total, 0), c(CardSent, "Sent", s.Sent, 0), c(CardSkipped, "Skipped", s.Skipped, 0),
			c(CardOptedOut, "Opted Out", s.OptedOut, 0), c(CardBlocked, "Blocked", s.Blocked, 0),
			c(CardReplied, "Replied", s.Replied, s.ReplyRate), failed}
	}
	return s
}

// cardFilter returns the store filter selecting card's rows.
func cardFilter(ch carecast.Channel, card Card) (store.RowFilter, error) {
	m := func(st store.RowStatus, reason string) store.Match { return store.Match{Status: st, Reason: reason} }
	switch card {
	case "", CardTotal:
		return store.RowFilter{}, nil
	case CardSent:
		return store.RowFilter{Any: []store.Match{m(store.RowSent, ""), m(store.RowDelivered, "")}}, nil
	case CardFailed:
		return store.RowFilter{Any: []store.Match{m(store.RowFailed, ""), m(store.RowInDoubt, "")}}, nil
	case CardInDoubt:
		return store.RowFilter{Any: []store.Match{m(store.RowInDoubt, "")}}, nil
	case CardPending:
		return store.RowFilter{Any: []store.Match{m(store.RowQueued, ""), m(store.RowSending, "")}}, nil
	case CardCancelled:
		return store.RowFilter{Any: []store.Match{m(store.RowCancelled, "")}}, nil
	case CardOpened:
		return store.RowFilter{Opened: true}, nil
	case CardClicked:
		return store.RowFilter{Clicked: true}, nil
	case CardReplied:
		return store.RowFilter{Replied: true}, nil
	case CardOptedOut:
		return store.RowFilter{Any: []store.Match{m(store.RowSkipped, eligibility.OptedOut.String()), m(store.RowOptedOut, "")}}, nil
	case CardBlocked:
		return store.RowFilter{Any: []store.Match{m(store.RowSkipped, eligibility.Blocked.String())}}, nil
	case CardSkipped:
		if ch == carecast.Email {
			return store.RowFilter{Any: []store.Match{m(store.RowSkipped, "")}}, nil
		}
		var any []store.Match
		for _, r := range eligibility.Reasons() {
			if r != eligibility.Send && r != eligibility.OptedOut && r != eligibility.Blocked {
				any = append(any, m(store.RowSkipped, r.String()))
			}
		}
		return store.RowFilter{Any: append(any, m(store.RowSkipped, "patient_missing"))}, nil
	}
	return store.RowFilter{}, &ValidationError{Op: OpList, Problems: []Problem{{Code: ProblemListOption, Field: "Card", Message: "unknown card"}}}
}

// Message is one recipient's line of the message list.
type Message struct {
	// ID is the ledger row ID (the provider's idempotency key).
	ID int64
	// PatientID is the recipient.
	PatientID string
	// Status and Reason are the row's state (Reason: the skip reason,
	// or the failure class).
	Status store.RowStatus
	Reason string
	// ErrorCode is the provider's code of the last failure.
	ErrorCode string
	// Attempts counts provider calls.
	Attempts int
	// At is the status timestamp: delivery, send, failure, or last
	// change.
	At time.Time
	// SentAt and DeliveredAt are zero until reached.
	SentAt      time.Time
	DeliveredAt time.Time
	// Opens, Clicks (email) and Replies (SMS) are engagement counts.
	Opens   int
	Clicks  int
	Replies int
	// MachineOpens and MachineClicks count opens and clicks made by
	// software (not in Opens and Clicks).
	MachineOpens  int
	MachineClicks int
	// Cost is what the message cost.
	Cost carecast.Money
}

// MessagesOpts filters and pages Messages; nil lists the first 50 rows.
type MessagesOpts struct {
	// Card filters to a stat card's recipients (CardTotal or "" for
	// all).
	Card Card
	// Cursor is the NextCursor of the previous page ("" for the first).
	Cursor string
	// Limit is the page size; defaults to 50, at most 1000.
	Limit int
}

// MessagePage is one page of the message list.
type MessagePage struct {
	Messages []Message
	// NextCursor continues the list; "" on the last page.
	NextCursor string
}

// Messages returns a page of the blast's message list in ledger order,
// filtered by a card. Pagination is by keyset (the row ID), so pages stay
// consistent while the blast is sending.
func (e *Engine) Messages(ctx context.Context, orgID, blastID string, opts *MessagesOpts) (MessagePage, error) {
	sb, err := e.header(ctx, orgID, blastID)
	if err != nil {
		return MessagePage{}, err
	}
	var o MessagesOpts
	if opts != nil {
		o = *opts
	}
	if o.Limit <= 0 {
		o.Limit = 50
	}
	o.Limit = min(o.Limit, 1000)
	f, err := cardFilter(sb.Channel, o.Card)
	if err != nil {
		return MessagePage{}, err
	}
	var after int64
	if o.Cursor != "" {
		after, err = strconv.ParseInt(o.Cursor, 36, 64)
		if err != nil || after < 0 {
			return MessagePage{}, &ValidationError{Op: OpList, BlastID: blastID, Problems: []Problem{{Code: ProblemListOption, Field: "Cursor",
				Message: "not a cursor this list returned"}}}
		}
	}
	rows, err := e.st.ListRows(ctx, store.ListRowsParams{OrgID: orgID, BlastID: blastID, Filter: f, AfterID: after, Limit: o.Limit + 1})
	if err != nil {
		return MessagePage{}, fmt.Errorf("blast: listing messages: %w", err)
	}
	var page MessagePage
	if len(rows) > o.Limit {
		rows = rows[:o.Limit]
		page.NextCursor = strconv.FormatInt(rows[len(rows)-1].ID, 36)
	}
	page.Messages = make([]Message, len(rows))
	for i := range rows {
		r := &rows[i]
		at := r.UpdatedAt
		switch {
		case !r.DeliveredAt.IsZero() && r.Status == store.RowDelivered:
			at = r.DeliveredAt
		case !r.SentAt.IsZero() && r.Status == store.RowSent:
			at = r.SentAt
		case !r.FailedAt.IsZero() && r.Status == store.RowFailed:
			at = r.FailedAt
		}
		page.Messages[i] = Message{ID: r.ID, PatientID: r.PatientID, Status: r.Status, Reason: r.Reason, ErrorCode: r.ErrorCode,
			Attempts: r.Attempts, At: at, SentAt: r.SentAt, DeliveredAt: r.DeliveredAt,
			Opens: r.Opens, Clicks: r.Clicks, Replies: r.Replies, MachineOpens: r.MachineOpens, MachineClicks: r.MachineClicks,
			Cost: r.Cost}
	}
	return page, nil
}

// TrackingWindow is how long opens and clicks are tracked after a blast
// starts sending (the guide's 72 hours).
const TrackingWindow = 72 * time.Hour

// EngagementSeries is the email engagement chart: cumulative opens and
// clicks (recipients, first event each) per step since the blast started.
type EngagementSeries struct {
	// Start is when the blast started sending; Step the point spacing.
	Start time.Time
	Step  time.Duration
	// Opens[i] and Clicks[i] are the cumulative counts at
	// Start+(i+1)·Step.
	Opens  []int
	Clicks []int
}

// Engagement returns the cumulative open and click series of an email
// blast over the 72-hour tracking window, in steps of step (one hour when
// step ≤ 0). A blast that has not started gives an empty series.
func (e *Engine) Engagement(ctx context.Context, orgID, blastID string, step time.Duration) (EngagementSeries, error) {
	sb, err := e.header(ctx, orgID, blastID)
	if err != nil {
		return EngagementSeries{}, err
	}
	if step <= 0 {
		step = time.Hour
	}
	s := EngagementSeries{Start: sb.StartedAt, Step: step}
	if sb.StartedAt.IsZero() {
		return s, nil
	}
	n := int((TrackingWindow + step - 1) / step)
	h, err := e.st.Engagement(ctx, store.EngagementParams{OrgID: orgID, BlastID: blastID, Start: sb.StartedAt, Step: step, Buckets: n})
	if err != nil {
		return EngagementSeries{}, fmt.Errorf("blast: engagement of blast %s: %w", blastID, err)
	}
	s.Opens, s.Clicks = make([]int, n), make([]int, n)
	for i := range n {
		s.Opens[i], s.Clicks[i] = h.Opens[i], h.Clicks[i]
		if i > 0 {
			s.Opens[i] += s.Opens[i-1]
			s.Clicks[i] += s.Clicks[i-1]
		}
	}
	return s, nil
}

// AnalyticsOpts selects the analytics period; From and To are required.
type AnalyticsOpts struct {
	// From and To bound the send times: From ≤ sent < To.
	From, To time.Time
	// Bucket is the width of each point; defaults to 24 hours.
	Bucket time.Duration
}

// AnalyticsPoint is one period of the analytics dashboard.
type AnalyticsPoint struct {
	// Start is the period's start.
	Start time.Time
	// SMSSent and EmailSent are the blast volume (messages sent).
	SMSSent   int
	EmailSent int
	// SMSCost, EmailCost and Spend (their sum) are the spend.
	SMSCost   carecast.Money
	EmailCost carecast.Money
	Spend     carecast.Money
	// EmailOpened and EmailClicked count engaged email recipients;
	// EmailOpenRate and EmailClickRate divide them by EmailSent.
	EmailOpened    int
	EmailClicked   int
	EmailOpenRate  float64
	EmailClickRate float64
	// SMSReplied counts SMS recipients who replied; SMSReplyRate divides
	// it by SMSSent.
	SMSReplied   int
	SMSReplyRate float64
}

// Analytics is the blast analytics dashboard of an organization.
type Analytics struct {
	// Points has one entry per bucket from From to To (empty buckets
	// included, with zero counts).
	Points []AnalyticsPoint
	// Total sums every point (its Start is From).
	Total AnalyticsPoint
}

// Analytics aggregates an organization's blasts over time: volume (SMS
// versus email), spend, email open and click rates, and SMS reply rates.
func (e *Engine) Analytics(ctx context.Context, orgID string, opts AnalyticsOpts) (Analytics, error) {
	if opts.Bucket <= 0 {
		opts.Bucket = 24 * time.Hour
	}
	if !opts.To.After(opts.From) {
		return Analytics{}, fmt.Errorf("blast: Analytics: To must be after From")
	}
	n := int((opts.To.Sub(opts.From) + opts.Bucket - 1) / opts.Bucket)
	if n > 10000 {
		return Analytics{}, fmt.Errorf("blast: Analytics: more than 10000 buckets")
	}
	bs, err := e.st.Analytics(ctx, store.AnalyticsParams{OrgID: orgID, From: opts.From, To: opts.To, Bucket: opts.Bucket})
	if err != nil {
		return Analytics{}, fmt.Errorf("blast: analytics: %w", err)
	}
	a := Analytics{Points: make([]AnalyticsPoint, n), Total: AnalyticsPoint{Start: opts.From}}
	for i := range a.Points {
		a.Points[i].Start = opts.From.Add(time.Duration(i) * opts.Bucket)
	}
	for _, b := range bs {
		i := int(b.Start.Sub(opts.From) / opts.Bucket)
		if i < 0 || i >= n {
			continue
		}
		addBucket(&a.Points[i], &b)
		addBucket(&a.Total, &b)
	}
	for i := range a.Points {
		a.Points[i].rates()
	}
	a.Total.rates()
	return a, nil
}

func addBucket(p *AnalyticsPoint, b *store.AnalyticsBucket) {
	if b.Channel == carecast.Email {
		p.EmailSent += b.Sent
		p.EmailCost += b.Cost
		p.EmailOpened += b.Opened
		p.EmailClicked += b.Clicked
	} else {
		p.SMSSent += b.Sent
		p.SMSCost += b.Cost
		p.SMSReplied += b.Replied
	}
	p.Spend += b.Cost
}

func (p *AnalyticsPoint) rates() {
	p.EmailOpenRate = ratio(p.EmailOpened, p.EmailSent)
	p.EmailClickRate = ratio(p.EmailClicked, p.EmailSent)
	p.SMSReplyRate = ratio(p.SMSReplied, p.SMSSent)
}
