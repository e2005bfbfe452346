package blast_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasttest"
	"github.com/carecast/carecast/render"
	"github.com/carecast/carecast/store"
	"github.com/carecast/carecast/store/memstore"
)

// sensitive is a draft whose content the sensitive-content check flags.
func sensitive(cohortID string) blast.Draft {
	return smsDraft("Your HIV screening is due", carecast.Transactional, cohortID)
}

// approvedSensitive saves a sensitive draft that dr-lee approves.
func approvedSensitive(t *testing.T, h *blasttest.Harness, cohortID string) blast.Blast {
	t.Helper()
	d := sensitive(cohortID)
	d.PHIApprovedBy = "dr-lee"
	b, err := h.Engine.CreateDraft(ctx, org, d)
	require.NoError(t, err)
	return b
}

// approvals returns the actors of the blast's "blast.phi_approved" audit
// entries.
func approvals(t *testing.T, h *blasttest.Harness, blastID string) []string {
	t.Helper()
	trail, err := h.Engine.AuditTrail(ctx, org, blastID, 0, 100)
	require.NoError(t, err)
	var out []string
	for _, a := range trail {
		if a.Action == "blast.phi_approved" {
			out = append(out, a.Actor)
		}
	}
	return out
}

// issue 12 §5: a user without approval rights duplicates an approved
// sensitive draft and sends the copy: refused, and nobody is credited with
// an approval of the copy.
func TestDuplicateDropsApproval(t *testing.T) {
	h, everyone := setup(t, population(2, nil), nil)
	src := approvedSensitive(t, h, everyone.ID)
	require.NotNil(t, src.PHIApproval)
	assert.Equal(t, "dr-lee", src.PHIApproval.By)

	cp, err := h.Engine.Duplicate(ctx, org, src.ID, &blast.DuplicateOpts{CreatedBy: "front-desk"})
	require.NoError(t, err)
	assert.Nil(t, cp.PHIApproval, "the copy carries no approval")
	_, err = h.Engine.Send(ctx, org, cp.ID, nil)
	require.ErrorIs(t, err, blast.ErrSensitiveContent)
	assert.Zero(t, h.SMS.Calls())
	assert.Empty(t, approvals(t, h, cp.ID), "no approval credited for the copy")

	_, sum := sendAndRunID(t, h, src.ID)
	assert.Equal(t, 2, sum.Sent, "the approved original still sends")
	assert.Equal(t, []string{"dr-lee"}, approvals(t, h, src.ID))
}

// sendAndRunID sends a saved draft and runs it to completion.
func sendAndRunID(t *testing.T, h *blasttest.Harness, id string) (blast.Blast, blast.Summary) {
	t.Helper()
	b, err := h.Engine.Send(ctx, org, id, nil)
	require.NoError(t, err)
	return b, h.Run(t, org, id)
}

// An approval covers one version of the content and one audience: a save
// that changes either drops it, one that changes neither keeps it, and a
// draft read back and saved again never re-approves in anyone's name.
func TestApprovalCoversOneVersion(t *testing.T) {
	h, everyone := setup(t, population(2, nil), nil)
	other := h.Cohort(t, "Others", everyone.Filter)
	d := sensitive(everyone.ID)
	d.PHIApprovedBy = "dr-lee"
	b, err := h.Engine.CreateDraft(ctx, org, d)
	require.NoError(t, err)

	got, err := h.Engine.Get(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Empty(t, got.PHIApprovedBy, "an instruction, never read back")
	require.NotNil(t, got.PHIApproval)

	renamed := got.Draft
	renamed.Name = "Screening reminder"
	b, err = h.Engine.UpdateDraft(ctx, org, b.ID, renamed)
	require.NoError(t, err)
	require.NotNil(t, b.PHIApproval, "a new name changes neither content nor audience")
	assert.Equal(t, "dr-lee", b.PHIApproval.By)

	edited := clone(renamed)
	edited.SMS.Body = "Your HIV screening and chemotherapy plan"
	b, err = h.Engine.UpdateDraft(ctx, org, b.ID, edited)
	require.NoError(t, err)
	assert.Nil(t, b.PHIApproval, "changed content drops the approval")
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.ErrorIs(t, err, blast.ErrSensitiveContent)

	edited.PHIApprovedBy = "dr-lee"
	b, err = h.Engine.UpdateDraft(ctx, org, b.ID, edited)
	require.NoError(t, err)
	require.NotNil(t, b.PHIApproval, "approved again")
	wider := edited
	wider.PHIApprovedBy = ""
	wider.CohortIDs = []string{everyone.ID, other.ID}
	b, err = h.Engine.UpdateDraft(ctx, org, b.ID, wider)
	require.NoError(t, err)
	assert.Nil(t, b.PHIApproval, "a changed audience drops the approval")
	for _, mod := range []func(d *blast.Draft){
		func(d *blast.Draft) { d.Purpose = carecast.Marketing },
		func(d *blast.Draft) { d.PHI = true },
		func(d *blast.Draft) { d.SMS.Images = append(d.SMS.Images, imagePNG()) },
		func(d *blast.Draft) { d.From = "+15125550100" },
		func(d *blast.Draft) { d.Households = blast.HouseholdsEach }, // who of a family gets it
	} {
		base := clone(edited)
		base.PHIApprovedBy = "dr-lee"
		b, err = h.Engine.UpdateDraft(ctx, org, b.ID, base)
		require.NoError(t, err)
		require.NotNil(t, b.PHIApproval)
		changed := clone(base)
		changed.PHIApprovedBy = ""
		mod(&changed)
		b, err = h.Engine.UpdateDraft(ctx, org, b.ID, changed)
		require.NoError(t, err)
		assert.Nil(t, b.PHIApproval, "%+v", changed)
	}
	trail, err := h.Engine.AuditTrail(ctx, org, b.ID, 0, 100)
	require.NoError(t, err)
	var dropped int
	for _, a := range trail {
		if a.Action == "blast.updated" && strings.Contains(a.Detail, "phi_approval=dropped") {
			dropped++
		}
	}
	assert.Equal(t, 7, dropped, "each dropped approval is on the record")
}

// clone copies a draft and its SMS content.
func clone(d blast.Draft) blast.Draft {
	if d.SMS != nil {
		sms := *d.SMS
		sms.Images = append([]render.Image(nil), sms.Images...)
		d.SMS = &sms
	}
	return d
}

func imagePNG() render.Image {
	return render.Image{Filename: "a.png", Data: pngBytes, URL: "https://cdn.clinic.example/a.png"}
}

// issue 12 §5: POST /blasts/{id}/recipients on an approved sensitive blast
// sent the sensitive text to new patients without a privileged user. Add
// Recipients widens the audience, so it needs an approval of its own.
func TestAddRecipientsNeedsApproval(t *testing.T) {
	h, everyone := setup(t, population(2, nil), nil)
	b := approvedSensitive(t, h, everyone.ID)
	_, sum := sendAndRunID(t, h, b.ID)
	require.Equal(t, 2, sum.Sent)
	late := patient(7)
	h.Patients.Put(org, late)

	_, err := h.Engine.AddRecipients(ctx, org, b.ID, []string{late.ID}, nil)
	require.ErrorIs(t, err, blast.ErrSensitiveContent)
	assert.Equal(t, "PHIApprovedBy", problem(t, err, blast.ProblemApprovalScope).Field)
	got, err := h.Engine.Get(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, blast.StatusCompleted, got.Status, "refused before the blast is reopened")
	n, err := h.Engine.NewRecipients(ctx, org, b.ID, []string{late.ID})
	require.NoError(t, err)
	assert.Equal(t, 1, n.WillSend, "nobody was added")

	added, err := h.Engine.AddRecipients(ctx, org, b.ID, []string{late.ID}, &blast.AddRecipientsOpts{PHIApprovedBy: "dr-kim"})
	require.NoError(t, err)
	assert.Equal(t, 1, added)
	sum = h.Run(t, org, b.ID)
	assert.Equal(t, 3, sum.Sent)
	assert.Len(t, h.SMS.SentTo(late.Phone), 1)
	assert.Equal(t, []string{"dr-lee", "dr-kim"}, approvals(t, h, b.ID), "each approval credited to its approver")

	// Content that needs no approval needs none to add recipients.
	plain, _ := sendAndRun(t, h, smsDraft("Clinic closed Monday", carecast.Transactional, everyone.ID))
	h.Patients.Put(org, patient(8))
	added, err = h.Engine.AddRecipients(ctx, org, plain.ID, []string{patient(8).ID}, nil)
	require.NoError(t, err)
	assert.Equal(t, 1, added)
}

// An approval stored before approvals carried a fingerprint does not
// approve a draft (it may have changed since): it must be given again.
func TestLegacyDraftApprovalNotHonoured(t *testing.T) {
	h, everyone := setup(t, population(1, nil), nil)
	content, err := json.Marshal(map[string]any{"sms": map[string]string{"body": "Your HIV screening is due"}, "phi_approved_by": "dr-lee"})
	require.NoError(t, err)
	now := h.Clock.Now()
	sb, err := h.Store.CreateBlast(ctx, store.Blast{ID: "01a235b6-70da-7a75-a5cb-047cab9f3170", OrgID: org, Name: "old",
		Channel: carecast.SMS, Purpose: carecast.Transactional, CohortIDs: []string{everyone.ID}, Status: store.BlastDraft,
		Content: content, CreatedAt: now, UpdatedAt: now})
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, org, sb.ID, nil)
	require.ErrorIs(t, err, blast.ErrSensitiveContent)
	assert.Zero(t, h.SMS.Calls())
}

// racingStore updates a blast behind the engine's back the first time the
// engine updates it after arm.
type racingStore struct {
	*memstore.Store
	mu   sync.Mutex
	race func(context.Context)
}

func (s *racingStore) UpdateBlast(ctx context.Context, b store.Blast) (store.Blast, error) {
	s.mu.Lock()
	race := s.race
	s.race = nil
	s.mu.Unlock()
	if race != nil {
		race(ctx)
	}
	return s.Store.UpdateBlast(ctx, b)
}

// A draft changed while Send validated it is not sent: the change (here
// sensitive text, unapproved) was never checked.
func TestSendRefusesDraftChangedMeanwhile(t *testing.T) {
	rs := &racingStore{}
	h, everyone := setup(t, population(2, nil), &blasttest.Options{Config: func(c *blast.Config) {
		rs.Store = c.Store.(*memstore.Store)
		c.Store = rs
	}})
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Clinic closed Monday", carecast.Transactional, everyone.ID))
	require.NoError(t, err)
	rs.race = func(ctx context.Context) {
		sb, err := rs.Store.Blast(ctx, org, b.ID)
		require.NoError(t, err)
		var c map[string]any
		require.NoError(t, json.Unmarshal(sb.Content, &c))
		c["sms"] = map[string]string{"body": "Your HIV screening is due"}
		sb.Content, err = json.Marshal(c)
		require.NoError(t, err)
		_, err = rs.Store.UpdateBlast(ctx, sb)
		require.NoError(t, err)
	}
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.ErrorIs(t, err, blast.ErrChanged)
	got, err := h.Engine.Get(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, blast.StatusDraft, got.Status)
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.ErrorIs(t, err, blast.ErrSensitiveContent, "sending again validates what changed")
	assert.Zero(t, h.SMS.Calls())
	var ve *blast.ValidationError
	assert.True(t, errors.As(err, &ve))
}
