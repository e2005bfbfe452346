package render

import (
	"context"
	"fmt"
	"iter"

	"github.com/carecast/carecast"
)

// EstimateSampleIDs is how many patient IDs an SMSEstimate lists per
// finding (encoding changed, too long).
const EstimateSampleIDs = 10

// SegmentBucket is one row of the segments-per-message distribution.
type SegmentBucket struct {
	// Segments is the number of segments a message has (1 for an MMS).
	Segments int
	// Messages is how many recipients' messages have that many.
	Messages int
}

// SMSEstimate is the cost estimate of an SMS blast.
type SMSEstimate struct {
	// Exact is true for EstimateSMS (every recipient's message rendered
	// and counted) and false for QuickEstimateSMS (the preview times the
	// number of recipients).
	Exact bool
	// Recipients is the number of messages.
	Recipients int
	// MMS is set when the message carries images (priced per message).
	MMS bool
	// Encoding is the encoding of the template preview.
	Encoding Encoding
	// Segments is the total number of billed segments (for an MMS, the
	// number of messages).
	Segments int64
	// Distribution lists how many messages have each segment count, by
	// ascending segment count.
	Distribution []SegmentBucket
	// EncodingChanged counts recipients whose personalised message has a
	// different encoding from the preview (a name such as "Zoë" turns a
	// GSM-7 text into UCS-2); EncodingChangedIDs lists the first few
	// patient IDs.
	EncodingChanged    int
	EncodingChangedIDs []string
	// TooLong counts recipients whose message exceeds SMSMaxBodyLength (they
	// would fail); TooLongIDs lists the first few patient IDs. Their
	// messages are not counted in Segments or Cost.
	TooLong    int
	TooLongIDs []string
	// Cost is the total price of the counted messages.
	Cost carecast.Money
}

// QuickEstimateSMS estimates a blast from the template alone, for the
// estimate that updates as the user types: the preview's cost times the
// number of recipients.
func QuickEstimateSMS(t *SMSTemplate, recipients int, pricing Pricing) SMSEstimate {
	r := t.finish(t.sampleBody())
	e := SMSEstimate{Recipients: recipients, MMS: r.MMS, Encoding: r.Count.Encoding}
	if recipients <= 0 {
		return e
	}
	e.Segments = int64(r.Count.Segments) * int64(recipients)
	e.Distribution = []SegmentBucket{{Segments: r.Count.Segments, Messages: recipients}}
	e.Cost = pricing.SMSCost(r).Mul(int64(recipients))
	return e
}

// EstimateSMS renders and counts the message for every recipient of the
// stream, as it will be sent, and adds up segments and cost. The stream
// is the blast's recipients (eligibility already applied). It returns the
// stream's first error, wrapped, or ctx's error if ctx ends first.
func EstimateSMS(ctx context.Context, t *SMSTemplate, org carecast.Organization, pricing Pricing, recipients iter.Seq2[carecast.Patient, error]) (SMSEstimate, error) {
	if err := pricing.Validate(); err != nil {
		return SMSEstimate{}, err
	}
	preview := t.Preview()
	e := SMSEstimate{Exact: true, MMS: t.MMS(), Encoding: preview.Encoding}
	var dist []int // dist[s] = messages with s segments
	for p, err := range recipients {
		if err != nil {
			return SMSEstimate{}, fmt.Errorf("render: estimate: recipient stream: %w", err)
		}
		if e.Recipients%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return SMSEstimate{}, err
			}
		}
		e.Recipients++
		r := t.Render(Data{Patient: &p, Org: &org})
		if r.Err() != nil {
			e.TooLong++
			e.TooLongIDs = estimateNoteID(e.TooLongIDs, p.ID)
			continue
		}
		if !e.MMS && r.Count.Encoding != preview.Encoding {
			e.EncodingChanged++
			e.EncodingChangedIDs = estimateNoteID(e.EncodingChangedIDs, p.ID)
		}
		s := r.Count.Segments
		for len(dist) <= s {
			dist = append(dist, 0)
		}
		dist[s]++
		e.Segments += int64(s)
		e.Cost += pricing.SMSCost(r)
	}
	for s, n := range dist {
		if n > 0 {
			e.Distribution = append(e.Distribution, SegmentBucket{Segments: s, Messages: n})
		}
	}
	return e, nil
}

// estimateNoteID appends id to ids while fewer than EstimateSampleIDs.
func estimateNoteID(ids []string, id string) []string {
	if len(ids) < EstimateSampleIDs {
		ids = append(ids, id)
	}
	return ids
}
