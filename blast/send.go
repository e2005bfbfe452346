package blast

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/eligibility"
	"github.com/carecast/carecast/store"
)

// ScheduleMaxAhead is how far ahead Send may schedule a blast: about five
// years.
const ScheduleMaxAhead = 5 * 366 * 24 * time.Hour

// SendOpts are the optional settings of Send; nil sends at once.
type SendOpts struct {
	// At schedules the blast: a time after now makes it scheduled, and
	// its audience is resolved and its ledger written when the time
	// comes. Zero (or a past time) sends at once. More than
	// ScheduleMaxAhead ahead is a *ValidationError (ProblemSchedule).
	At time.Time
}

// Validate checks a draft as Send would, without sending it: it returns a
// *ValidationError listing every problem (no cohorts, unknown cohorts,
// empty body or subject, unknown merge fields, too many or too large
// images or attachments, email sending domain not verified for the
// purpose), or nil.
func (e *Engine) Validate(ctx context.Context, orgID, blastID string) error {
	sb, err := e.blast(ctx, orgID, blastID)
	if err != nil {
		return err
	}
	_, err = e.compile(ctx, &sb, true)
	return err
}

// Send validates a draft and sends it: the audience (the union of its
// cohorts, each patient once) is resolved, one ledger row per recipient is
// written in batches (queued, or skipped with its eligibility reason), and
// the workers send the queued rows. With opts.At in the future the blast is
// scheduled instead.
//
// Send returns the blast as it stands when the ledger is written (status
// sending), or scheduled. Errors: a *ValidationError (errors.Is
// ErrInvalid) listing every problem; a *ComplaintRateError (errors.Is
// ErrComplaintRateGate) for a marketing email blast whose sending domain
// is paused (see ComplaintGuard); ErrAlreadySent when the blast is not
// a draft (each blast is sent once: Duplicate it to send again);
// ErrNotFound.
func (e *Engine) Send(ctx context.Context, orgID, blastID string, opts *SendOpts) (Blast, error) {
	sb, err := e.blast(ctx, orgID, blastID)
	if err != nil {
		return Blast{}, err
	}
	if sb.Status != store.BlastDraft {
		return Blast{}, statusErr(&sb)
	}
	if opts != nil && opts.At.After(e.now().Add(ScheduleMaxAhead)) {
		// Stores keep times as Unix nanoseconds: a far-off date would
		// not survive the round trip (and could read as due at once).
		return Blast{}, &ValidationError{BlastID: blastID, Problems: []Problem{{Code: ProblemSchedule, Field: "At",
			Message: fmt.Sprintf("a blast is scheduled at most %d days ahead", int(ScheduleMaxAhead/(24*time.Hour)))}}}
	}
	b, err := fromStore(&sb)
	if err != nil {
		return Blast{}, err
	}
	p, err := e.compileDecoded(ctx, &sb, &b, true)
	if err != nil {
		return Blast{}, err
	}
	if err := e.complaintGate(ctx, p); err != nil {
		return Blast{}, err
	}
	// Clicks resolve links from the index, never by compiling the email.
	if err := e.saveLinks(ctx, p); err != nil {
		return Blast{}, err
	}
	now := e.now()
	scheduled := opts != nil && opts.At.After(now)
	validated := sb.Version
	sb, err = e.updateBlast(ctx, orgID, blastID, func(b *store.Blast) error {
		if b.Status != store.BlastDraft {
			return statusErr(b)
		}
		if b.Version != validated {
			// Updated since it was validated: what would be sent (and
			// any approval of it) was not checked.
			return fmt.Errorf("blast %s changed while it was being sent; send it again: %w", blastID, ErrChanged)
		}
		b.UpdatedAt = now
		if scheduled {
			b.Status, b.ScheduledAt = store.BlastScheduled, opts.At
		} else {
			b.Status, b.StartedAt = store.BlastSending, now
		}
		return nil
	})
	if err != nil {
		return Blast{}, err
	}
	e.auditContentApproval(ctx, p)
	if scheduled {
		e.log.Info("blast scheduled", "org", orgID, "blast", blastID, "at", opts.At)
		e.auditBlast(ctx, orgID, blastID, "blast.scheduled", "version=%d at=%s", sb.Version, opts.At.UTC().Format(time.RFC3339))
		e.notify()
		return saved(&sb, b.Draft, b.approval), nil
	}
	e.log.Info("blast sending", "org", orgID, "blast", blastID)
	e.auditBlast(ctx, orgID, blastID, "blast.sent", "version=%d", sb.Version)
	// What was validated is what is sent (the version check above): the
	// workers need not compile it again.
	e.prepared.put(blastID, p, p.bytes, false)
	if err := e.writeLedgerOnce(ctx, sb); err != nil {
		return Blast{}, err
	}
	h, err := e.header(ctx, orgID, blastID)
	if err != nil {
		return Blast{}, err
	}
	return saved(&h, b.Draft, b.approval), nil
}

// startScheduled moves a due scheduled blast to sending and writes its
// ledger.
func (e *Engine) startScheduled(ctx context.Context, sb store.Blast) error {
	now := e.now()
	sb, err := e.updateBlast(ctx, sb.OrgID, sb.ID, func(b *store.Blast) error {
		if b.Status != store.BlastScheduled {
			return statusErr(b)
		}
		b.Status, b.StartedAt, b.UpdatedAt = store.BlastSending, now, now
		return nil
	})
	if err != nil {
		return err
	}
	e.audit(ctx, store.AuditEntry{OrgID: sb.OrgID, Actor: ActorSystem, Action: "blast.started", BlastID: sb.ID, Detail: "scheduled"})
	return e.writeLedgerOnce(ctx, sb)
}

// writeLedgerOnce writes a sending blast's ledger unless another goroutine
// of this engine is doing it.
func (e *Engine) writeLedgerOnce(ctx context.Context, sb store.Blast) error {
	e.writeMu.Lock()
	if e.writing[sb.ID] {
		e.writeMu.Unlock()
		return nil
	}
	e.writing[sb.ID] = true
	e.writeMu.Unlock()
	defer func() {
		e.writeMu.Lock()
		delete(e.writing, sb.ID)
		e.writeMu.Unlock()
	}()
	err := e.writeLedger(ctx, sb)
	e.notify()
	return err
}

// writeLedger resolves the blast's audience and inserts its rows in
// batches, then marks the ledger done. It is idempotent (InsertRows skips
// patients already in the ledger), so an interrupted write is resumed by
// running it again.
func (e *Engine) writeLedger(ctx context.Context, sb store.Blast) error {
	p, err := e.preparedFor(ctx, &sb, false)
	if err != nil {
		return err
	}
	cohorts := make([]cohort.Cohort, 0, len(sb.CohortIDs))
	for _, id := range sb.CohortIDs {
		c, err := e.cs.Cohort(ctx, sb.OrgID, id)
		if err != nil {
			return fmt.Errorf("blast: blast %s: cohort %s: %w", sb.ID, id, err)
		}
		cohorts = append(cohorts, c)
	}
	now := e.now()
	rows := make([]store.NewRow, 0, e.cfg.LedgerBatch)
	total := 0
	heartbeat := now
	// The one classification (see classify), households collapsed in
	// audience order: a resumed write decides every patient again, in
	// the same order, so the patients already written are decided as
	// before (InsertRows skips them).
	r := p.rules()
	err = e.decideAll(ctx, r, r.tally(), cohort.Resolve(ctx, e.ps, sb.OrgID, cohorts, now), func(pat *carecast.Patient, d eligibility.Decision) error {
		rows = append(rows, ledgerRow(pat.ID, d))
		if len(rows) < cap(rows) {
			return nil
		}
		n, err := e.insertRows(ctx, p, rows, now)
		if err != nil {
			return err
		}
		total += n
		rows = rows[:0]
		e.notify()
		// Tell other instances this ledger has a live writer (see
		// resumeLedger).
		if t := e.now(); t.Sub(heartbeat) >= e.cfg.Lease/3 {
			heartbeat = t
			if _, err := e.updateBlast(ctx, sb.OrgID, sb.ID, func(b *store.Blast) error {
				b.UpdatedAt = t
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("blast: writing the ledger of blast %s: %w", sb.ID, err)
	}
	n, err := e.insertRows(ctx, p, rows, now)
	if err != nil {
		return err
	}
	total += n
	done, err := e.updateBlast(ctx, sb.OrgID, sb.ID, func(b *store.Blast) error {
		b.LedgerDone = true
		return nil
	})
	if err != nil {
		return err
	}
	if done.Status == store.BlastCancelled {
		// Cancelled while the ledger was being written: the rows
		// written since are cancelled too.
		if _, err := e.st.CancelQueued(ctx, sb.OrgID, sb.ID, e.now()); err != nil {
			return fmt.Errorf("blast: cancelling rows of blast %s: %w", sb.ID, err)
		}
	}
	e.log.Info("blast ledger written", "org", sb.OrgID, "blast", sb.ID, "rows", total)
	e.audit(ctx, store.AuditEntry{OrgID: sb.OrgID, Actor: ActorSystem, Action: "blast.audience", BlastID: sb.ID,
		Detail: fmt.Sprintf("cohorts=%s rows=%d", strings.Join(sb.CohortIDs, ","), total)})
	return nil
}

// ledgerRow is the new ledger row of a patient decided d (see classify).
func ledgerRow(patientID string, d eligibility.Decision) store.NewRow {
	if d.Reason != eligibility.Send {
		return store.NewRow{PatientID: patientID, Status: store.RowSkipped, Reason: d.Reason.String()}
	}
	return store.NewRow{PatientID: patientID, Status: store.RowQueued, Address: d.Address}
}

// insertRows inserts rows decided by classify.
func (e *Engine) insertRows(ctx context.Context, p *prepared, rows []store.NewRow, now time.Time) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	n, err := e.st.InsertRows(ctx, p.orgID, p.id, rows, now)
	if err != nil {
		return 0, fmt.Errorf("blast: writing ledger of blast %s: %w", p.id, err)
	}
	return n, nil
}

// Suppression reasons recorded in the store.
const (
	supOptedOut     = "opted_out"
	supBounce       = "bounce"
	supComplaint    = "complaint"
	supUnsubscribed = "unsubscribed"
)

// suppressionReason is the skip reason a store suppression (reason)
// stands for on a blast of channel ch and purpose pu, or Send when it
// does not apply; scoped per compliance.md J-02: STOP blocks every SMS, a hard
// or soft bounce every email, an unreachable number every SMS, a
// complaint or unsubscribe only marketing email. classify applies it.
func suppressionReason(reason string, ch carecast.Channel, pu carecast.Purpose) eligibility.Reason {
	switch {
	case ch == carecast.SMS && reason == supOptedOut:
		return eligibility.OptedOut
	case ch == carecast.Email && (reason == supBounce || reason == supSoftBounce):
		return eligibility.Suppressed
	case ch == carecast.SMS && reason == supUnreachable:
		return eligibility.Suppressed
	case ch == carecast.Email && reason == supComplaint && pu == carecast.Marketing:
		return eligibility.Suppressed
	case ch == carecast.Email && reason == supUnsubscribed && pu == carecast.Marketing:
		return eligibility.Unsubscribed
	}
	return eligibility.Send
}

// Cancel cancels a scheduled or sending blast: queued rows become
// cancelled (rows already sent stay sent; a message being sent when Cancel
// is called finishes). Workers of this engine stop at once, also those
// waiting on the rate limiter or a provider's pause, and cancel the rows
// they had claimed; Cancel returns once a provider call they had begun
// has returned and they have settled their rows, so nothing of the blast
// is sent by this engine after it returns. Workers of other engine
// processes sharing the store stop within about a second of sending (they
// read the blast's status at least that often, and never send past their
// lease). It returns the number of the blast's rows cancelled: the queued
// rows and those this engine's workers had claimed and handed back — the
// Summary's Cancelled count as Cancel returns (rows another process had
// claimed are cancelled by it and counted from then on). It returns
// ErrNotCancellable for a draft or a completed blast, ErrCancelled for a
// cancelled one. If ctx ends while Cancel waits for a call in progress,
// it returns the queued rows it cancelled and ctx's error: the blast is
// cancelled, but that one call may still finish.
func (e *Engine) Cancel(ctx context.Context, orgID, blastID string) (int, error) {
	now := e.now()
	_, err := e.updateBlast(ctx, orgID, blastID, func(b *store.Blast) error {
		switch b.Status {
		case store.BlastScheduled, store.BlastSending, store.BlastPaused:
		case store.BlastCancelled:
			return fmt.Errorf("blast %s: %w", blastID, ErrCancelled)
		default:
			return fmt.Errorf("blast %s is %s: %w", blastID, b.Status, ErrNotCancellable)
		}
		b.Status, b.CancelledAt, b.UpdatedAt = store.BlastCancelled, now, now
		return nil
	})
	if err != nil {
		return 0, err
	}
	e.markCancelled(blastID)
	wait := e.batches.fence(blastID, true)
	n, err := e.st.CancelQueued(ctx, orgID, blastID, now)
	if err != nil {
		_ = await(ctx, wait)
		return 0, fmt.Errorf("blast: cancelling rows of blast %s: %w", blastID, err)
	}
	e.notify()
	// This process's workers can start no call for the blast now; wait
	// for those already begun, so nothing goes out after Cancel returns,
	// then for every batch of the blast claimed here to be settled (its
	// handed-back rows cancelled), so the count is the ledger's.
	if werr := await(ctx, append(wait, e.claims.idle(blastID)...)); werr != nil {
		e.auditBlast(ctx, orgID, blastID, "blast.cancelled", "rows=%d", n)
		return n, fmt.Errorf("blast: blast %s is cancelled, but a provider call begun before may still be in progress: %w", blastID, werr)
	}
	st, err := e.st.Stats(ctx, orgID, blastID)
	if err == nil {
		n = st.ByStatus[store.RowCancelled]
	}
	e.log.Info("blast cancelled", "org", orgID, "blast", blastID, "rows", n)
	e.auditBlast(ctx, orgID, blastID, "blast.cancelled", "rows=%d", n)
	if err != nil {
		return n, fmt.Errorf("blast: blast %s is cancelled; counting its cancelled rows: %w", blastID, err)
	}
	return n, nil
}

// RetryOpts are the optional settings of RetryFailed; nil accepts the
// defaults.
type RetryOpts struct {
	// IncludeInDoubt also re-queues in-doubt rows (the provider may have
	// accepted them: a retry may text the patient twice). Defaults to
	// false: only failed rows.
	IncludeInDoubt bool
}

// RetryFailed re-queues the blast's failed rows (never a sent or
// delivered one) with fresh attempts, and returns how many. The blast
// goes back to sending. ErrNotSent for a draft or scheduled blast,
// ErrCancelled for a cancelled one.
func (e *Engine) RetryFailed(ctx context.Context, orgID, blastID string, opts *RetryOpts) (int, error) {
	if _, err := e.reopen(ctx, orgID, blastID); err != nil {
		return 0, err
	}
	n, err := e.st.RequeueFailed(ctx, orgID, blastID, opts != nil && opts.IncludeInDoubt, e.now())
	if err != nil {
		return 0, fmt.Errorf("blast: re-queuing failed rows of blast %s: %w", blastID, err)
	}
	e.log.Info("blast retry failed", "org", orgID, "blast", blastID, "rows", n)
	e.auditBlast(ctx, orgID, blastID, "blast.retry_failed", "rows=%d in_doubt=%t", n, opts != nil && opts.IncludeInDoubt)
	e.notify()
	return n, nil
}

// reopen moves a sending or completed blast (back) to sending.
func (e *Engine) reopen(ctx context.Context, orgID, blastID string) (store.Blast, error) {
	now := e.now()
	return e.updateBlast(ctx, orgID, blastID, func(b *store.Blast) error {
		switch b.Status {
		case store.BlastSending, store.BlastPaused:
			return nil // a paused blast stays paused: Resume sends the rows
		case store.BlastCompleted:
			b.Status, b.UpdatedAt = store.BlastSending, now
			return nil
		case store.BlastCancelled:
			return fmt.Errorf("blast %s: %w", blastID, ErrCancelled)
		}
		return fmt.Errorf("blast %s is %s: %w", blastID, b.Status, ErrNotSent)
	})
}

// Candidate is a patient found for Add Recipients.
type Candidate struct {
	// Patient is the patient found.
	Patient carecast.Patient
	// InBlast is true when the patient already has a row in the blast's
	// ledger (Add Recipients will leave them out).
	InBlast bool
}

// SearchQueryMaxBytes bounds a SearchPatients query.
const SearchQueryMaxBytes = 200

// SearchPatients finds patients for Add Recipients (the patient store's
// search: name, phone or email), at most limit (at most
// AddRecipientsMax), and marks those already in the blast. A query over
// SearchQueryMaxBytes or holding control characters is a
// *ValidationError.
func (e *Engine) SearchPatients(ctx context.Context, orgID, blastID, query string, limit int) ([]Candidate, error) {
	if !validBlastID(blastID) {
		return nil, notFound(blastID)
	}
	var probs problems
	checkText(&probs, "Query", query, SearchQueryMaxBytes, false)
	if len(probs) > 0 {
		return nil, &ValidationError{Op: OpAddRecipients, BlastID: blastID, Problems: probs}
	}
	ps, err := e.ps.Search(ctx, orgID, query, min(limit, AddRecipientsMax))
	if err != nil {
		return nil, fmt.Errorf("blast: searching patients: %w", err)
	}
	ids := make([]string, len(ps))
	for i := range ps {
		ids[i] = ps[i].ID
	}
	in, err := e.st.ExistingPatients(ctx, orgID, blastID, ids)
	if err != nil {
		return nil, fmt.Errorf("blast: %w", err)
	}
	have := make(map[string]bool, len(in))
	for _, id := range in {
		have[id] = true
	}
	out := make([]Candidate, len(ps))
	for i := range ps {
		out[i] = Candidate{Patient: ps[i], InBlast: have[ps[i].ID]}
	}
	return out, nil
}

// NewRecipients previews Add Recipients: of patientIDs, the patients of
// the organization not yet in the blast's ledger (Total), how many of
// them AddRecipients would send the message to (WillSend: the N of the
// guide's "Send to N patient(s)" button, see SendLabel) and how many it
// would skip, by reason (ByReason; Rows labels them). They are decided
// as AddRecipients decides them (see Preview): the patient record, the
// suppression list, and households among the patients added. More than
// AddRecipientsMax IDs, or an ID that cannot name a patient, is a
// *ValidationError; ErrNotFound for an unknown blast.
func (e *Engine) NewRecipients(ctx context.Context, orgID, blastID string, patientIDs []string) (eligibility.Preview, error) {
	if probs := checkRecipients(patientIDs, ""); len(probs) > 0 {
		return eligibility.Preview{}, &ValidationError{Op: OpAddRecipients, BlastID: blastID, Problems: probs}
	}
	cur, err := e.header(ctx, orgID, blastID)
	if err != nil {
		return eligibility.Preview{}, err
	}
	p, err := e.preparedFor(ctx, &cur, false)
	if err != nil {
		return eligibility.Preview{}, err
	}
	ps, err := e.newPatients(ctx, orgID, blastID, patientIDs)
	if err != nil {
		return eligibility.Preview{}, err
	}
	_, pv, err := e.decideAdded(ctx, p, ps)
	return pv, err
}

// decideAdded decides the patients Add Recipients adds to a sent blast,
// as the ledger writer decides an audience (see classify), and returns
// the decisions with their counts. With households collapsed, a patient
// sharing the address of another added before them, or of a patient
// already in the blast who is eligible now (whose row has, or will
// have, the household's message), is shared_address.
func (e *Engine) decideAdded(ctx context.Context, p *prepared, ps []carecast.Patient) ([]eligibility.Decision, eligibility.Preview, error) {
	r := p.rules()
	ptrs := make([]*carecast.Patient, len(ps))
	for i := range ps {
		ptrs[i] = &ps[i]
	}
	decs, err := e.classify(ctx, r, ptrs, nil)
	if err != nil {
		return nil, eligibility.Preview{}, fmt.Errorf("blast: deciding recipients of blast %s: %w", p.id, err)
	}
	if r.collapse {
		taken, err := e.householdsInLedger(ctx, p, decs)
		if err != nil {
			return nil, eligibility.Preview{}, err
		}
		for i := range decs {
			if decs[i].WillSend() && taken[decs[i].Address] {
				decs[i].Reason = eligibility.SharedAddress
			}
		}
	}
	t := r.tally()
	for i := range decs {
		decs[i] = t.AddDecision(decs[i])
	}
	return decs, t.Preview(), nil
}

// householdsInLedger returns the addresses, among those decs would send
// to, that a patient already in the blast's ledger shares and would be
// sent to now.
func (e *Engine) householdsInLedger(ctx context.Context, p *prepared, decs []eligibility.Decision) (map[string]bool, error) {
	var addrs []string
	seen := make(map[string]bool, len(decs))
	for _, d := range decs {
		if d.WillSend() && !seen[d.Address] {
			seen[d.Address] = true
			addrs = append(addrs, d.Address)
		}
	}
	if len(addrs) == 0 {
		return nil, nil
	}
	cl, err := cohort.MatchContacts(ctx, e.ps, p.orgID, addrs, e.now())
	if err != nil {
		return nil, fmt.Errorf("blast: finding households: %w", err)
	}
	if len(cl.PatientIDs) == 0 {
		return nil, nil
	}
	in, err := e.st.ExistingPatients(ctx, p.orgID, p.id, cl.PatientIDs)
	if err != nil {
		return nil, fmt.Errorf("blast: %w", err)
	}
	if len(in) == 0 {
		return nil, nil
	}
	slices.Sort(in)
	pats, err := e.ps.PatientsByID(ctx, p.orgID, in)
	if err != nil {
		return nil, fmt.Errorf("blast: reading patients: %w", err)
	}
	ptrs := make([]*carecast.Patient, len(pats))
	for i := range pats {
		ptrs[i] = &pats[i]
	}
	ledger, err := e.classify(ctx, p.rules(), ptrs, nil)
	if err != nil {
		return nil, fmt.Errorf("blast: deciding households: %w", err)
	}
	taken := make(map[string]bool)
	for _, d := range ledger {
		if d.WillSend() && seen[d.Address] {
			taken[d.Address] = true
		}
	}
	return taken, nil
}

func (e *Engine) newPatients(ctx context.Context, orgID, blastID string, patientIDs []string) ([]carecast.Patient, error) {
	if _, err := e.header(ctx, orgID, blastID); err != nil {
		return nil, err
	}
	in, err := e.st.ExistingPatients(ctx, orgID, blastID, patientIDs)
	if err != nil {
		return nil, fmt.Errorf("blast: %w", err)
	}
	have := make(map[string]bool, len(in))
	for _, id := range in {
		have[id] = true
	}
	var want []string
	for _, id := range patientIDs {
		if !have[id] {
			want = append(want, id)
			have[id] = true
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	ps, err := e.ps.PatientsByID(ctx, orgID, want)
	if err != nil {
		return nil, fmt.Errorf("blast: reading patients: %w", err)
	}
	return ps, nil
}

// SendLabel returns the Add Recipients button text for n patients:
// "Send to 1 patient", "Send to 3 patients".
func SendLabel(n int) string {
	if n == 1 {
		return "Send to 1 patient"
	}
	return fmt.Sprintf("Send to %d patients", n)
}

// AddRecipientsMax is the most patient IDs one AddRecipients or
// NewRecipients call takes.
const AddRecipientsMax = 1000

// AddRecipientsOpts are the optional settings of AddRecipients; nil
// accepts the defaults.
type AddRecipientsOpts struct {
	// PHIApprovedBy is the privileged staff user approving that the
	// blast's flagged content (see Draft.PHIApprovedBy) goes to these
	// patients too. An approval covers the audience it was given for, so
	// adding recipients to such a blast needs one of its own: without
	// it AddRecipients adds no one and returns a *ValidationError (Op
	// OpAddRecipients) with ProblemApprovalScope, matching
	// ErrSensitiveContent. It is audited ("blast.phi_approved"); it is
	// ignored for a blast whose content needs no approval.
	PHIApprovedBy string
}

// checkRecipients checks the patient IDs of Add Recipients (and the
// approver's ID).
func checkRecipients(ids []string, approver string) problems {
	var ps problems
	if len(ids) > AddRecipientsMax {
		ps.add(ProblemTooLarge, "PatientIDs", fmt.Sprintf("at most %d patients at once", AddRecipientsMax))
		return ps
	}
	for i, id := range ids {
		if id == "" || !validID(id) {
			ps.add(ProblemInvalidText, "PatientIDs", fmt.Sprintf("patient %d is not a valid patient ID (1 to %d bytes of printable text)", i, IDMaxBytes))
			break
		}
	}
	if approver != "" && !validID(approver) {
		ps.add(ProblemInvalidText, "PHIApprovedBy", fmt.Sprintf("must be at most %d bytes of printable text", IDMaxBytes))
	}
	return ps
}

// addable returns the error of Add Recipients (and Retry Failed) for a
// blast in status st, or nil.
func addable(id string, st store.BlastStatus) error {
	switch st {
	case store.BlastSending, store.BlastPaused, store.BlastCompleted:
		return nil
	case store.BlastCancelled:
		return fmt.Errorf("blast %s: %w", id, ErrCancelled)
	}
	return fmt.Errorf("blast %s is %s: %w", id, st, ErrNotSent)
}

// AddRecipients adds patients to a sent blast: rows are written only for
// patients of the organization not already in the blast's ledger (queued,
// or skipped with their eligibility reason), and the blast goes back to
// sending. It returns the number of rows written. A blast whose content
// needed an approval needs opts.PHIApprovedBy (see AddRecipientsOpts).
// More than AddRecipientsMax IDs, or an ID that cannot name a patient,
// is a *ValidationError. ErrNotSent for a draft or scheduled blast,
// ErrCancelled for a cancelled one.
func (e *Engine) AddRecipients(ctx context.Context, orgID, blastID string, patientIDs []string, opts *AddRecipientsOpts) (int, error) {
	var approver string
	if opts != nil {
		approver = opts.PHIApprovedBy
	}
	if probs := checkRecipients(patientIDs, approver); len(probs) > 0 {
		return 0, &ValidationError{Op: OpAddRecipients, BlastID: blastID, Problems: probs}
	}
	cur, err := e.header(ctx, orgID, blastID)
	if err != nil {
		return 0, err
	}
	if err := addable(blastID, cur.Status); err != nil {
		return 0, err
	}
	p, err := e.preparedFor(ctx, &cur, false)
	if err != nil {
		return 0, err
	}
	if p.sensitive > 0 && approver == "" {
		return 0, &ValidationError{Op: OpAddRecipients, BlastID: blastID, Problems: []Problem{{Code: ProblemApprovalScope, Field: "PHIApprovedBy",
			Message: "the blast carries sensitive clinical information, approved for the audience it was sent to: a privileged user must approve sending it to these patients too"}}}
	}
	if _, err := e.reopen(ctx, orgID, blastID); err != nil {
		return 0, err
	}
	ps, err := e.newPatients(ctx, orgID, blastID, patientIDs)
	if err != nil {
		return 0, err
	}
	decs, _, err := e.decideAdded(ctx, p, ps)
	if err != nil {
		return 0, err
	}
	rows := make([]store.NewRow, len(ps))
	for i := range ps {
		rows[i] = ledgerRow(ps[i].ID, decs[i])
	}
	n, err := e.insertRows(ctx, p, rows, e.now())
	if err != nil {
		return 0, err
	}
	e.log.Info("blast recipients added", "org", orgID, "blast", blastID, "rows", n)
	if p.sensitive > 0 {
		e.audit(ctx, store.AuditEntry{OrgID: orgID, Actor: approver, Action: "blast.phi_approved", BlastID: blastID,
			Detail: fmt.Sprintf("findings=%d phi=%t exempt=%t recipients_added=%d", p.sensitive, p.phi, p.exempt, n)})
	}
	e.auditBlast(ctx, orgID, blastID, "blast.recipients_added", "rows=%d", n)
	e.notify()
	return n, nil
}
