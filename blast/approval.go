package blast

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/render"
)

// Approval is a privileged user's approval of content that the
// sensitive-content check flags (compliance.md HI-01). It covers one
// version of the content and one audience: the blast's channel, purpose,
// cohorts, households setting, texts, images, attachments, sender, PHI settings and portal
// notices as they were when it was given. An update that changes any of
// them drops it, Duplicate never copies it, and Add Recipients, which
// widens the audience, needs an approval of its own
// (AddRecipientsOpts.PHIApprovedBy).
type Approval struct {
	// By is the host's ID of the approving user.
	By string
	// At is when the approval was given.
	At time.Time
}

// approvalJSON is an Approval as stored in the blast's content, with the
// fingerprint of what it covers.
type approvalJSON struct {
	By          string    `json:"by"`
	At          time.Time `json:"at"`
	Fingerprint string    `json:"fingerprint"`
}

// fingerprint returns a digest of everything an approval covers (see
// Approval): a change to any of it changes the digest. Image and
// attachment data are hashed in place rather than encoded.
func fingerprint(d *Draft) string {
	data := func(b []byte) string {
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:])
	}
	sms := func(c *render.SMSContent) *render.SMSContent {
		if c == nil {
			return nil
		}
		cc := *c
		cc.Images = make([]render.Image, len(c.Images))
		for i, im := range c.Images {
			cc.Images[i] = render.Image{Filename: im.Filename, URL: im.URL, Data: []byte(data(im.Data))}
		}
		return &cc
	}
	email := func(c *render.EmailContent) *render.EmailContent {
		if c == nil {
			return nil
		}
		cc := *c
		cc.Attachments = make([]render.Attachment, len(c.Attachments))
		for i, a := range c.Attachments {
			cc.Attachments[i] = render.Attachment{Filename: a.Filename, ContentType: a.ContentType, Data: []byte(data(a.Data))}
		}
		return &cc
	}
	cohorts := d.CohortIDs
	if len(cohorts) == 0 {
		cohorts = nil
	}
	v := struct {
		Channel   carecast.Channel
		Purpose   carecast.Purpose
		CohortIDs []string
		// Households decides who of a shared phone or address gets the
		// message: part of the audience. Omitted when empty (the
		// purpose's default), so approvals given before the option
		// existed keep their fingerprint.
		Households Households `json:",omitempty"`
		Content    contentJSON
	}{Channel: d.Channel, Purpose: d.Purpose, CohortIDs: cohorts, Households: d.Households, Content: contentJSON{
		SMS: sms(d.SMS), Email: email(d.Email), From: d.From, ReplyTo: d.ReplyTo, Urgent: d.Urgent,
		HIPAABasis: d.HIPAABasis, SponsorPaid: d.SponsorPaid, PHI: d.PHI, PortalSMS: sms(d.PortalSMS),
		PortalEmail: email(d.PortalEmail), HealthcareExempt: d.HealthcareExempt,
	}}
	// Encoding a struct of strings, numbers, bools and slices cannot
	// fail.
	b, _ := json.Marshal(v)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// approvalFor returns the approval to store with d: a new one when
// d.PHIApprovedBy names an approver, the current one when it still
// covers d (same fingerprint), else none.
func approvalFor(d *Draft, fp string, cur *approvalJSON, now time.Time) *approvalJSON {
	switch {
	case d.PHIApprovedBy != "":
		return &approvalJSON{By: d.PHIApprovedBy, At: now, Fingerprint: fp}
	case cur != nil && cur.Fingerprint != "" && cur.Fingerprint == fp:
		return cur
	}
	return nil
}

// approvalCovers reports whether a stored approval covers the blast as
// it is: its fingerprint matches, or it predates fingerprints (an
// approval stored before they existed) and the blast was already sent or
// scheduled under it, its content frozen since.
func approvalCovers(a *approvalJSON, b *Blast) bool {
	switch {
	case a == nil || a.By == "":
		return false
	case a.Fingerprint == "":
		return b.Status != StatusDraft
	}
	return a.Fingerprint == fingerprint(&b.Draft)
}
