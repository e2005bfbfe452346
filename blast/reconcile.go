package blast

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/render"
	"github.com/carecast/carecast/store"
)

// ErrReconcileUnsupported: ReconcileInDoubt was asked about a blast whose
// provider cannot say what it accepted (an email blast, or an SMS sender
// that does not implement provider.AcceptanceChecker). Nothing changed.
var ErrReconcileUnsupported = errors.New("blast: the provider cannot reconcile in-doubt messages")

// ReasonNotAccepted is the Reason of a row ReconcileInDoubt moved from in
// doubt to failed because the provider's records prove it never accepted
// the message: Retry Failed sends it again, with or without
// IncludeInDoubt.
const ReasonNotAccepted = "not_accepted"

// reconcilePage is how many in-doubt rows ReconcileInDoubt reads at once.
const reconcilePage = 200

// ReconcileResult counts what ReconcileInDoubt found.
type ReconcileResult struct {
	// Checked is the number of in-doubt rows asked about.
	Checked int
	// Accepted rows are now sent, with the provider's message ID.
	Accepted int
	// NotAccepted rows are now failed with ReasonNotAccepted.
	NotAccepted int
	// Unknown rows stay in doubt: the provider could not tell, the
	// patient record is gone, or the check failed (Errors counts those).
	Unknown int
	// Errors counts checks that failed (and left their row in doubt).
	Errors int
}

// ReconcileInDoubt asks the SMS provider, for each row of the blast that
// is in doubt (a lost send answer, or a lease that expired while
// sending), whether it accepted the message (provider.AcceptanceChecker;
// Twilio's Messages list), and resolves what it learns:
//
//   - accepted: the row is sent, its provider message ID recorded (later
//     receipts then find it); it is never sent again;
//   - not accepted: the row is failed with ReasonNotAccepted, so Retry
//     Failed sends it (nothing is re-sent automatically: compliance.md
//     SF-02);
//   - unknown: the row stays in doubt; Retry Failed with IncludeInDoubt
//     then re-sends only these.
//
// The question names the row's address, the blast's sender, the text
// rendered for the patient as the runner renders it, and the window from
// the row's creation to its last change. A patient no longer found
// leaves the row unknown. Each resolution is audited with the row and
// the verdict, never the number or the text; the run is audited with its
// counts. A check that fails leaves its row in doubt and is counted in
// Errors; a rate-limited one (provider.RateLimited) stops the run, which
// returns what it did so far with the error: call again later. An email
// blast, or an SMS sender without the interface, is
// ErrReconcileUnsupported. The blast must have been sent
// (ErrNotSent otherwise).
func (e *Engine) ReconcileInDoubt(ctx context.Context, orgID, blastID string) (ReconcileResult, error) {
	var res ReconcileResult
	sb, err := e.blast(ctx, orgID, blastID)
	if err != nil {
		return res, err
	}
	switch sb.Status {
	case store.BlastSending, store.BlastPaused, store.BlastCompleted, store.BlastCancelled:
	default:
		return res, fmt.Errorf("blast %s is %s: %w", blastID, sb.Status, ErrNotSent)
	}
	checker, ok := e.cfg.SMS.(provider.AcceptanceChecker)
	if sb.Channel != carecast.SMS || !ok {
		return res, fmt.Errorf("blast %s: %w", blastID, ErrReconcileUnsupported)
	}
	p, err := e.compile(ctx, &sb, false)
	if err != nil {
		return res, fmt.Errorf("blast: compiling blast %s: %w", blastID, err)
	}
	defer func() {
		e.auditBlast(ctx, orgID, blastID, "blast.reconcile_in_doubt", "checked=%d accepted=%d not_accepted=%d unknown=%d errors=%d",
			res.Checked, res.Accepted, res.NotAccepted, res.Unknown, res.Errors)
		e.log.Info("blast reconcile in doubt", "org", orgID, "blast", blastID, "checked", res.Checked,
			"accepted", res.Accepted, "not_accepted", res.NotAccepted, "unknown", res.Unknown, "errors", res.Errors)
	}()
	var after int64
	for {
		rows, err := e.st.ListRows(ctx, store.ListRowsParams{OrgID: orgID, BlastID: blastID, AfterID: after, Limit: reconcilePage,
			Filter: store.RowFilter{Any: []store.Match{{Status: store.RowInDoubt}}}})
		if err != nil {
			return res, fmt.Errorf("blast: listing in-doubt rows: %w", err)
		}
		if len(rows) == 0 {
			return res, nil
		}
		after = rows[len(rows)-1].ID
		ids := make([]string, len(rows))
		for i := range rows {
			ids[i] = rows[i].PatientID
		}
		pats, err := e.ps.PatientsByID(ctx, orgID, ids)
		if err != nil {
			return res, fmt.Errorf("blast: reading patients: %w", err)
		}
		byID := make(map[string]*carecast.Patient, len(pats))
		for i := range pats {
			byID[pats[i].ID] = &pats[i]
		}
		for i := range rows {
			if err := e.reconcileRow(ctx, p, checker, &rows[i], byID[rows[i].PatientID], &res); err != nil {
				return res, err
			}
		}
	}
}

// reconcileRow asks about one in-doubt row and applies the verdict. Its
// error (a rate limit, a store failure) stops the run.
func (e *Engine) reconcileRow(ctx context.Context, p *prepared, checker provider.AcceptanceChecker, r *store.Row, pat *carecast.Patient, res *ReconcileResult) error {
	res.Checked++
	if pat == nil || r.Address == "" || r.Status != store.RowInDoubt {
		res.Unknown++
		return nil
	}
	if d := p.cls.Classify(pat, p.ch, p.pu); d.Address != "" && d.Address != r.Address {
		// The number changed since the row was written: the attempt
		// may have gone to either, so neither answer could be trusted.
		res.Unknown++
		return nil
	}
	rs, _ := p.renderSMS(pat, p.portalFor(pat))
	before := r.UpdatedAt
	if r.LeaseUntil.After(before) {
		before = r.LeaseUntil
	}
	q := provider.AcceptanceQuery{MessageID: RowMessageID(r.ID), OrgID: r.OrgID, To: r.Address, From: p.from, Body: rs.Body,
		After: r.CreatedAt, Before: before}
	ans, err := checker.CheckAccepted(ctx, &q)
	if err != nil {
		res.Errors++
		res.Unknown++
		if provider.Classify(err) == provider.RateLimited || ctx.Err() != nil {
			return fmt.Errorf("blast: reconciling in-doubt rows: %w", err)
		}
		e.log.Warn("in-doubt check failed", "org", r.OrgID, "blast", r.BlastID, "row", r.ID, "class", provider.Classify(err).String())
		return nil
	}
	now := e.now()
	ev := store.EventParams{EventID: "reconcile:" + RowMessageID(r.ID) + ":" + newID(), OrgID: r.OrgID, RowID: r.ID, At: now}
	switch ans.Status {
	case provider.AcceptanceAccepted:
		if ans.ProviderMessageID == "" {
			res.Unknown++
			return nil
		}
		ev.Kind, ev.ProviderMessageID = store.EventSent, ans.ProviderMessageID
	case provider.AcceptanceNotAccepted:
		ev.Kind, ev.Reason = store.EventFailed, ReasonNotAccepted
	default:
		res.Unknown++
		return nil
	}
	ok, err := e.st.ApplyEvent(ctx, ev)
	if err != nil {
		return fmt.Errorf("blast: recording a reconciled row: %w", err)
	}
	if !ok {
		// Resolved meanwhile (a receipt, Retry Failed): nothing to do.
		res.Unknown++
		return nil
	}
	if ev.Kind == store.EventSent {
		res.Accepted++
	} else {
		res.NotAccepted++
	}
	e.audit(ctx, store.AuditEntry{OrgID: r.OrgID, At: now, Action: "row.reconciled", BlastID: r.BlastID, RowID: r.ID,
		Detail: ans.Status.String()})
	e.notify()
	return nil
}

// RowMessageID is the engine's message ID of ledger row rowID: the
// provider.SMSMessage.ID and provider.EmailMessage.ID of its sends, and
// what a status-callback URL carries for Event.MessageID (the decimal row
// ID).
func RowMessageID(rowID int64) string { return strconv.FormatInt(rowID, 10) }

// renderSMS renders the text the runner sends to pat (the portal notice
// when portal) and its media.
func (p *prepared) renderSMS(pat *carecast.Patient, portal bool) (render.RenderedSMS, []string) {
	t, media := p.smsFor(portal)
	return t.Render(render.Data{Patient: pat, Org: &p.org}), media
}
