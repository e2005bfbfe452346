package blast_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasttest"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/render"
)

var ctx = context.Background()

const org = blasttest.Org

// phone returns the i-th test phone number (valid NANP, E.164).
func phone(i int) string { return fmt.Sprintf("+12125%06d", i) }

// email returns the i-th test email address.
func email(i int) string { return fmt.Sprintf("patient%d@example.com", i) }

// patient returns the i-th test patient: textable, emailable, opted in to
// marketing on both channels, in New York.
func patient(i int) carecast.Patient {
	return carecast.Patient{
		ID: fmt.Sprintf("p%05d", i), FirstName: fmt.Sprintf("Pat%d", i), LastName: "Doe",
		Phone: phone(i), Email: email(i), Active: true, TimeZone: "America/New_York",
		Consent: carecast.Consent{SMSMarketingOptIn: true, EmailMarketingOptIn: true},
	}
}

// population returns n patients, each passed through mod (may be nil).
func population(n int, mod func(i int, p *carecast.Patient)) []carecast.Patient {
	ps := make([]carecast.Patient, n)
	for i := range ps {
		ps[i] = patient(i)
		if mod != nil {
			mod(i, &ps[i])
		}
	}
	return ps
}

// setup returns a harness with the patients in one "Everyone" cohort.
func setup(t testing.TB, ps []carecast.Patient, opts *blasttest.Options) (*blasttest.Harness, cohort.Cohort) {
	t.Helper()
	h := blasttest.NewEngine(t, opts)
	h.Patients.Put(org, ps...)
	return h, h.Cohort(t, "Everyone", cohort.Filter{})
}

func smsDraft(body string, pu carecast.Purpose, cohorts ...string) blast.Draft {
	return blast.Draft{Channel: carecast.SMS, Purpose: pu, CohortIDs: cohorts, SMS: &render.SMSContent{Body: body}}
}

func emailDraft(pu carecast.Purpose, cohorts ...string) blast.Draft {
	return blast.Draft{Channel: carecast.Email, Purpose: pu, CohortIDs: cohorts, From: "news@mail.clinic.example",
		Email: &render.EmailContent{Subject: "News for {{first_name}}", Format: render.FormatMarkdown,
			Body: "Hello {{first_name}},\n\nOur [new hours](https://clinic.example/hours) start Monday."}}
}

// sendAndRun creates, sends and runs a blast to completion.
func sendAndRun(t testing.TB, h *blasttest.Harness, d blast.Draft) (blast.Blast, blast.Summary) {
	t.Helper()
	b, err := h.Engine.CreateDraft(ctx, org, d)
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.NoError(t, err)
	return b, h.Run(t, org, b.ID)
}

// cardCount returns the count of a card in s.
func cardCount(s blast.Summary, c blast.Card) int {
	for _, cs := range s.Cards {
		if cs.Card == c {
			return cs.Count
		}
	}
	return -1
}

// allMessages lists every message of a blast with a card filter, paging.
func allMessages(t testing.TB, h *blasttest.Harness, blastID string, card blast.Card, page int) []blast.Message {
	t.Helper()
	var out []blast.Message
	cursor := ""
	for {
		p, err := h.Engine.Messages(ctx, org, blastID, &blast.MessagesOpts{Card: card, Cursor: cursor, Limit: page})
		require.NoError(t, err)
		out = append(out, p.Messages...)
		if p.NextCursor == "" {
			return out
		}
		cursor = p.NextCursor
	}
}
