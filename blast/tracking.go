package blast

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/carecast/carecast/store"
	"github.com/carecast/carecast/tracking"
)

// RecipientID returns the opaque recipient ID that tracking tokens carry
// for ledger row rowID of organization orgID: the organization ID and the
// row ID, no PHI. Hosts use it when wiring Config.UnsubscribeURL,
// Config.RewriteLink and Config.OpenPixelURL to a tracking.Handler:
//
//	UnsubscribeURL: func(org, _ string, row int64) string {
//		u, _ := th.UnsubscribeURL(blast.RecipientID(org, row), time.Now())
//		return u
//	},
//
// For TestRow (a test send) it returns tracking.TestRecipientID, so the
// links of a test message wired this way show a "this was a test" page
// and change nothing.
func RecipientID(orgID string, rowID int64) string {
	if rowID == TestRow {
		return tracking.TestRecipientID
	}
	return orgID + "~" + strconv.FormatInt(rowID, 36)
}

// ParseRecipientID splits a RecipientID. ok is false for anything else.
func ParseRecipientID(id string) (orgID string, rowID int64, ok bool) {
	i := strings.LastIndexByte(id, '~')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.ParseInt(id[i+1:], 36, 64)
	if err != nil || n <= 0 {
		return "", 0, false
	}
	return id[:i], n, true
}

// TrackingBackend adapts an Engine to tracking.Backend, so a
// tracking.Handler records opens, clicks and unsubscribes in the ledger.
// Machine events (mail privacy proxies, link scanners) are stored flagged,
// with their reason, through RecordMachineOpen and RecordMachineClick, and
// never counted as opens or clicks: they would inflate open and click
// rates (compliance.md TR-04, TR-05).
type TrackingBackend struct {
	e *Engine
}

var _ tracking.Backend = (*TrackingBackend)(nil)

// TrackingBackend returns the engine's tracking.Backend.
func (e *Engine) TrackingBackend() *TrackingBackend { return &TrackingBackend{e: e} }

func (t *TrackingBackend) row(ctx context.Context, recipientID string) (string, store.Row, error) {
	orgID, rowID, ok := ParseRecipientID(recipientID)
	if !ok {
		return "", store.Row{}, tracking.ErrUnknownRecipient
	}
	r, err := t.e.st.Row(ctx, orgID, rowID)
	if errors.Is(err, store.ErrNotFound) {
		return "", store.Row{}, fmt.Errorf("blast: %w", tracking.ErrUnknownRecipient)
	}
	if err != nil {
		return "", store.Row{}, fmt.Errorf("blast: %w", err)
	}
	return orgID, r, nil
}

// LinkURL implements tracking.Backend: link index of the blast's email
// (its links, then its portal notice's), read from the store's link
// index; the email is not compiled (see Config.CompiledCacheBytes).
func (t *TrackingBackend) LinkURL(ctx context.Context, recipientID string, index int) (string, error) {
	_, r, err := t.row(ctx, recipientID)
	if err != nil {
		return "", err
	}
	return t.e.linkURL(ctx, r.OrgID, r.BlastID, index)
}

// RecordOpen implements tracking.Backend.
func (t *TrackingBackend) RecordOpen(ctx context.Context, recipientID string, en tracking.Engagement) error {
	orgID, r, err := t.row(ctx, recipientID)
	if err != nil {
		return err
	}
	if en.Machine {
		return t.e.RecordMachineOpen(ctx, orgID, r.ID, "", en.Reason, en.At)
	}
	return t.e.RecordOpen(ctx, orgID, r.ID, "", en.At)
}

// RecordClick implements tracking.Backend.
func (t *TrackingBackend) RecordClick(ctx context.Context, recipientID string, _ int, en tracking.Engagement) error {
	orgID, r, err := t.row(ctx, recipientID)
	if err != nil {
		return err
	}
	if en.Machine {
		return t.e.RecordMachineClick(ctx, orgID, r.ID, "", en.Reason, en.At)
	}
	return t.e.RecordClick(ctx, orgID, r.ID, "", en.At)
}

// Unsubscribe implements tracking.Backend.
func (t *TrackingBackend) Unsubscribe(ctx context.Context, recipientID string, _ tracking.Unsubscription) error {
	orgID, r, err := t.row(ctx, recipientID)
	if err != nil {
		return err
	}
	return t.e.Unsubscribe(ctx, orgID, r.ID)
}
