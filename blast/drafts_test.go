package blast_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasttest"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/render"
	"github.com/carecast/carecast/store"
)

// saveErr returns the *ValidationError of saving d (created, and as an
// update of a valid draft), requiring both to refuse it alike.
func saveErr(t *testing.T, h *blasttest.Harness, valid, d blast.Draft) *blast.ValidationError {
	t.Helper()
	_, err := h.Engine.CreateDraft(ctx, org, d)
	var ve *blast.ValidationError
	require.True(t, errors.As(err, &ve), "CreateDraft refuses it: %v", err)
	assert.Equal(t, blast.OpSave, ve.Op)
	assert.ErrorIs(t, err, blast.ErrInvalid)
	b, err := h.Engine.CreateDraft(ctx, org, valid)
	require.NoError(t, err)
	_, uerr := h.Engine.UpdateDraft(ctx, org, b.ID, d)
	var ue *blast.ValidationError
	require.True(t, errors.As(uerr, &ue), "UpdateDraft refuses it: %v", uerr)
	assert.Equal(t, ve.Problems, ue.Problems, "the same problems at create and update")
	got, err := h.Engine.Get(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, valid.SMS, got.SMS, "a refused update changes nothing")
	return ve
}

// issue 12 §3 and §5: what Send refuses, and what no store or provider
// accepts, is refused when a draft is saved, with a typed error naming the
// field; nothing is echoed back.
func TestDraftSaveLimits(t *testing.T) {
	h, everyone := setup(t, population(1, nil), nil)
	valid := smsDraft("Hi", "", everyone.ID)
	big := func(n int) string { return strings.Repeat("a", n) }
	email := func(mod func(c *render.EmailContent)) blast.Draft {
		d := emailDraft(carecast.Transactional, everyone.ID)
		mod(d.Email)
		return d
	}
	tests := []struct {
		name  string
		draft blast.Draft
		code  blast.ProblemCode
		field string
	}{
		{"channel bogus", blast.Draft{Channel: "bogus"}, blast.ProblemChannel, "Channel"},
		{"channel upper case", blast.Draft{Channel: "SMS"}, blast.ProblemChannel, "Channel"},
		{"channel empty", blast.Draft{Name: "x"}, blast.ProblemChannel, "Channel"},
		{"purpose spam", blast.Draft{Channel: carecast.SMS, Purpose: "spam"}, blast.ProblemPurpose, "Purpose"},
		{"HIPAA basis unknown", blast.Draft{Channel: carecast.SMS, HIPAABasis: "because"}, blast.ProblemHIPAABasis, "HIPAABasis"},
		{"name 3,000,000 characters", blast.Draft{Channel: carecast.SMS, Name: big(3_000_000)}, blast.ProblemName, "Name"},
		{"name 201 characters", blast.Draft{Channel: carecast.SMS, Name: strings.Repeat("é", blast.NameMaxChars+1)}, blast.ProblemName, "Name"},
		{"name with NUL", blast.Draft{Channel: carecast.SMS, Name: "Flu\x00shots"}, blast.ProblemName, "Name"},
		{"name with escape", blast.Draft{Channel: carecast.SMS, Name: "Flu\x1b[2Jshots"}, blast.ProblemName, "Name"},
		{"name not UTF-8", blast.Draft{Channel: carecast.SMS, Name: "Flu \xff"}, blast.ProblemName, "Name"},
		{"cohort ID with NUL", smsDraft("Hi", "", "c\x00"), blast.ProblemUnknownCohort, "CohortIDs"},
		{"cohort ID empty", smsDraft("Hi", "", ""), blast.ProblemUnknownCohort, "CohortIDs"},
		{"too many cohorts", smsDraft("Hi", "", make([]string, blast.CohortsMax+1)...), blast.ProblemTooLarge, "CohortIDs"},
		{"SMS body over the source limit", smsDraft(big(blast.SMSMaxSourceBytes+1), ""), blast.ProblemTooLarge, "SMS.Body"},
		{"SMS body with NUL", smsDraft("Hi\x00", ""), blast.ProblemInvalidText, "SMS.Body"},
		{"SMS image not an image", blast.Draft{Channel: carecast.SMS, SMS: &render.SMSContent{Body: "x", Images: []render.Image{{Data: []byte("x")}}}}, blast.ProblemAttachments, "SMS.Images"},
		{"SMS image too large", blast.Draft{Channel: carecast.SMS, SMS: &render.SMSContent{Body: "x", Images: []render.Image{{Data: append(append([]byte{}, pngBytes...), make([]byte, render.MMSMaxImageBytes)...)}}}}, blast.ProblemAttachments, "SMS.Images"},
		{"portal SMS over the limit", blast.Draft{Channel: carecast.SMS, PHI: true, PortalSMS: &render.SMSContent{Body: big(blast.SMSMaxSourceBytes + 1)}}, blast.ProblemTooLarge, "PortalSMS.Body"},
		{"subject over 998 bytes", email(func(c *render.EmailContent) { c.Subject = big(blast.EmailMaxSubjectBytes + 1) }), blast.ProblemTooLarge, "Email.Subject"},
		{"subject with NUL", email(func(c *render.EmailContent) { c.Subject = "Hi\x00" }), blast.ProblemInvalidText, "Email.Subject"},
		{"preview text over the limit", email(func(c *render.EmailContent) { c.PreviewText = big(blast.EmailMaxPreviewBytes + 1) }), blast.ProblemTooLarge, "Email.PreviewText"},
		{"email body over 1 MiB", email(func(c *render.EmailContent) { c.Body = big(render.EmailMaxBodyBytes + 1) }), blast.ProblemTooLarge, "Email.Body"},
		{"email format unknown", email(func(c *render.EmailContent) { c.Format = "word" }), blast.ProblemContent, "Email.Format"},
		{"email style invalid", email(func(c *render.EmailContent) { c.Style.TextColor = "red;}body{x" }), blast.ProblemContent, "Email.Style"},
		{"attachment blocked", email(func(c *render.EmailContent) {
			c.Attachments = []render.Attachment{{Filename: "setup.exe", Data: []byte("MZ")}}
		}), blast.ProblemAttachments, "Email.Attachments"},
		{"too many attachments", email(func(c *render.EmailContent) {
			for range render.AttachmentMaxCount + 1 {
				c.Attachments = append(c.Attachments, render.Attachment{Filename: "a.pdf", Data: []byte("%PDF")})
			}
		}), blast.ProblemAttachments, "Email.Attachments"},
		{"email over the compiled cap", email(func(c *render.EmailContent) {
			// Two files under render.AttachmentMaxBytes each, over
			// EmailMaxMessageBytes once encoded.
			data := make([]byte, 16<<20)
			c.Attachments = []render.Attachment{{Filename: "a.pdf", Data: data}, {Filename: "b.pdf", Data: data}}
		}), blast.ProblemTooLarge, "Email"},
		{"From with a line break", func() blast.Draft {
			d := emailDraft(carecast.Transactional, everyone.ID)
			d.From = "a@b.example\r\nBcc: x@y.example"
			return d
		}(), blast.ProblemInvalidText, "From"},
		{"approver with NUL", func() blast.Draft { d := smsDraft("Hi", "", everyone.ID); d.PHIApprovedBy = "dr\x00"; return d }(), blast.ProblemInvalidText, "PHIApprovedBy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ve := saveErr(t, h, valid, tt.draft)
			var found bool
			for _, p := range ve.Problems {
				if p.Code == tt.code && p.Field == tt.field {
					found = true
				}
				assert.Less(t, len(p.Message), 300, "a short message: nothing is echoed")
				assert.NotContains(t, p.Message, "aaaa")
			}
			assert.True(t, found, "want %s on %s, got %+v", tt.code, tt.field, ve.Problems)
			assert.Less(t, len(ve.Error()), 1000)
		})
	}

	// At the limits, and incomplete: saved.
	for _, d := range []blast.Draft{
		{Channel: carecast.SMS, Name: strings.Repeat("é", blast.NameMaxChars)},
		{Channel: carecast.Email},
		smsDraft(strings.Repeat("x", blast.SMSMaxSourceBytes), "", everyone.ID),
		smsDraft("{{frist_name", ""),
	} {
		_, err := h.Engine.CreateDraft(ctx, org, d)
		assert.NoError(t, err, "a draft may be incomplete")
	}
}

// The limits a draft is saved under are Send's: a draft stored before
// they applied (written straight to the store) is refused by Send with the
// same problem, before anything is compiled.
func TestSendChecksSaveLimits(t *testing.T) {
	h, everyone := setup(t, population(1, nil), nil)
	content, err := json.Marshal(map[string]any{"sms": render.SMSContent{Body: strings.Repeat("a", blast.SMSMaxSourceBytes+1)}})
	require.NoError(t, err)
	now := h.Clock.Now()
	sb, err := h.Store.CreateBlast(ctx, store.Blast{ID: "01a235b6-70da-7a75-a5cb-047cab9f317d", OrgID: org, Name: strings.Repeat("n", 500),
		Channel: carecast.SMS, Purpose: carecast.Transactional, CohortIDs: []string{everyone.ID}, Status: store.BlastDraft,
		Content: content, CreatedAt: now, UpdatedAt: now})
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, org, sb.ID, nil)
	var ve *blast.ValidationError
	require.True(t, errors.As(err, &ve), "%v", err)
	assert.True(t, ve.Has(blast.ProblemName))
	assert.True(t, ve.Has(blast.ProblemTooLarge))
	_, err = h.Engine.Preview(ctx, org, sb.ID)
	assert.ErrorIs(t, err, blast.ErrInvalid, "preview refuses it as Send does")
	assert.Zero(t, h.SMS.Calls())
}

// EmailMaxMessageBytes caps the compiled email at Send: sources and
// encoded attachments just under the cap pass the save-time bound, the
// laid-out email does not.
func TestCompiledEmailCap(t *testing.T) {
	h, everyone := setup(t, population(1, nil), nil)
	d := emailDraft(carecast.Transactional, everyone.ID)
	src := len(d.Email.Subject) + len(d.Email.PreviewText) + len(d.Email.Body)
	data := make([]byte, 20<<20)
	enc := func(n int) int64 {
		return render.AttachmentsEncodedSize([]render.Attachment{{Data: data[:n]}})
	}
	first := 20 << 20
	// The largest second file that fits, by bisection.
	lo, hi := 0, first
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if int64(src)+enc(first)+enc(mid) <= blast.EmailMaxMessageBytes {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	n := lo
	require.Greater(t, int64(src)+enc(first)+enc(n), int64(blast.EmailMaxMessageBytes-200), "just under the cap")
	d.Email.Attachments = []render.Attachment{{Filename: "a.pdf", Data: data}, {Filename: "b.pdf", Data: data[:n]}}
	b, err := h.Engine.CreateDraft(ctx, org, d)
	require.NoError(t, err, "sources and attachments fit")
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	var ve *blast.ValidationError
	require.True(t, errors.As(err, &ve), "%v", err)
	require.Len(t, ve.Problems, 1)
	assert.Equal(t, blast.ProblemTooLarge, ve.Problems[0].Code)
	assert.Equal(t, "Email", ve.Problems[0].Field)
	assert.Zero(t, h.Email.Calls())
}

// issue 12 §5: preview and estimate of a draft whose cohort is unknown,
// or another organization's, report the problem Send reports (422), not a
// server fault.
func TestPreviewUnknownCohort(t *testing.T) {
	h, everyone := setup(t, population(2, nil), &blasttest.Options{Config: func(c *blast.Config) {
		c.Organizations.(blast.OrgMap)["org-b"] = carecast.Organization{ID: "org-b", Name: "Other Clinic"}
	}})
	theirs, err := h.Cohorts.SaveCohort(ctx, cohort.Cohort{OrgID: "org-b", Name: "Theirs"})
	require.NoError(t, err)
	for _, id := range []string{"nope", theirs.ID} {
		b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Hi", "", everyone.ID, id))
		require.NoError(t, err)
		_, err = h.Engine.Preview(ctx, org, b.ID)
		assert.Equal(t, "CohortIDs", problem(t, err, blast.ProblemUnknownCohort).Field)
		_, err = h.Engine.Estimate(ctx, org, b.ID)
		assert.Equal(t, "CohortIDs", problem(t, err, blast.ProblemUnknownCohort).Field)
		_, err = h.Engine.Send(ctx, org, b.ID, nil)
		problem(t, err, blast.ProblemUnknownCohort)
	}
}

// A blast ID no blast can have is ErrNotFound, without asking the store
// (PostgreSQL refuses a NUL byte: that was a server fault).
func TestHostileBlastIDs(t *testing.T) {
	h, _ := setup(t, population(1, nil), nil)
	for _, id := range []string{"", "x\x00", "\xff\xfe", strings.Repeat("a", 300)} {
		_, err := h.Engine.Get(ctx, org, id)
		assert.ErrorIs(t, err, blast.ErrNotFound)
		_, err = h.Engine.Summary(ctx, org, id)
		assert.ErrorIs(t, err, blast.ErrNotFound)
		_, err = h.Engine.UpdateDraft(ctx, org, id, smsDraft("Hi", ""))
		assert.ErrorIs(t, err, blast.ErrNotFound)
		_, err = h.Engine.SearchPatients(ctx, org, id, "Pat", 10)
		assert.ErrorIs(t, err, blast.ErrNotFound)
	}
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Hi", ""))
	require.NoError(t, err)
	_, err = h.Engine.Messages(ctx, org, b.ID, &blast.MessagesOpts{Cursor: "!!"})
	problem(t, err, blast.ProblemListOption)
	_, err = h.Engine.Messages(ctx, org, b.ID, &blast.MessagesOpts{Card: "bogus"})
	problem(t, err, blast.ProblemListOption)
	_, err = h.Engine.SearchPatients(ctx, org, b.ID, "Pat\x00", 10)
	problem(t, err, blast.ProblemInvalidText)
	_, err = h.Engine.NewRecipients(ctx, org, b.ID, []string{"p\x00"})
	problem(t, err, blast.ProblemInvalidText)
	_, err = h.Engine.NewRecipients(ctx, org, b.ID, make([]string, blast.AddRecipientsMax+1))
	problem(t, err, blast.ProblemTooLarge)
}

// A schedule beyond what a store's Unix-nanosecond times hold would have
// read back as due at once.
func TestScheduleTooFar(t *testing.T) {
	h, everyone := setup(t, population(1, nil), nil)
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Hi", "", everyone.ID))
	require.NoError(t, err)
	_, err = h.Engine.Send(ctx, org, b.ID, &blast.SendOpts{At: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)})
	assert.Equal(t, "At", problem(t, err, blast.ProblemSchedule).Field)
	got, err := h.Engine.Get(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, blast.StatusDraft, got.Status)
}

// List returns summaries: the store is never asked for content, and a
// Listing has none to carry.
func TestListWithoutContent(t *testing.T) {
	h, everyone := setup(t, population(1, nil), nil)
	d := emailDraft(carecast.Transactional, everyone.ID)
	d.Email.Attachments = []render.Attachment{{Filename: "a.pdf", Data: bytes.Repeat([]byte("x"), 1<<20)}}
	for range 3 {
		_, err := h.Engine.CreateDraft(ctx, org, d)
		require.NoError(t, err)
	}
	page, err := h.Engine.List(ctx, org, &blast.ListOpts{Limit: 10})
	require.NoError(t, err)
	require.Len(t, page, 3)
	for _, l := range page {
		assert.Equal(t, carecast.Email, l.Channel)
		assert.Equal(t, []string{everyone.ID}, l.CohortIDs)
	}
	sbs, err := h.Store.ListBlasts(ctx, store.ListBlastsParams{OrgID: org, Limit: 10})
	require.NoError(t, err)
	for _, sb := range sbs {
		assert.Nil(t, sb.Content, "the store lists no content")
	}
	full, err := h.Engine.Get(ctx, org, page[0].ID)
	require.NoError(t, err)
	require.Len(t, full.Email.Attachments, 1, "Get returns the content")
	// The attachment is stored once, not once in the email content and
	// again beside it.
	sb, err := h.Store.Blast(ctx, org, page[0].ID)
	require.NoError(t, err)
	assert.Less(t, len(sb.Content), 3*(1<<20)/2, "one base64 copy of the 1 MiB file")
}

// Duplicate names the copy within NameMaxChars; UpdateDraft keeps the
// creator when none is given.
func TestDuplicateNameAndCreator(t *testing.T) {
	h, everyone := setup(t, population(1, nil), nil)
	d := smsDraft("Hi", "", everyone.ID)
	d.Name, d.CreatedBy = strings.Repeat("n", blast.NameMaxChars), "staff-1"
	b, err := h.Engine.CreateDraft(ctx, org, d)
	require.NoError(t, err)
	cp, err := h.Engine.Duplicate(ctx, org, b.ID, nil)
	require.NoError(t, err)
	assert.Len(t, []rune(cp.Name), blast.NameMaxChars)
	assert.True(t, strings.HasSuffix(cp.Name, " (copy)"))
	_, err = h.Engine.Duplicate(ctx, org, b.ID, &blast.DuplicateOpts{Name: strings.Repeat("n", blast.NameMaxChars+1)})
	problem(t, err, blast.ProblemName)

	u, err := h.Engine.UpdateDraft(ctx, org, b.ID, smsDraft("Hello", "", everyone.ID))
	require.NoError(t, err)
	assert.Equal(t, "staff-1", u.CreatedBy)
}
