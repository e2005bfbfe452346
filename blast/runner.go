package blast

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/eligibility"
	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/render"
	"github.com/carecast/carecast/store"
)

// batch is a set of rows of one blast claimed under one lease.
type batch struct {
	p          *prepared
	rows       []store.Row
	leaseUntil time.Time
}

// worker holds one sending goroutine's reusable buffers.
type worker struct {
	ids     []string
	pats    []carecast.Patient  // of the current batch, ascending ID
	rowPats []*carecast.Patient // rowPats[i] is the patient of row i, or nil
	decs    []eligibility.Decision
	outs    []store.Outcome
	changes []cohort.ContactChange
	idBuf   []byte
	stopCtx context.Context // ends at a graceful stop
	// capSent counts, per capped number of the batch, the marketing
	// texts sent in the frequency window: those the store had recorded
	// when the batch began, plus those this batch sent since (nil unless
	// the blast is capped). capErr holds the batch's rows to capped
	// numbers when the count could not be read.
	capSent map[string]int
	capErr  error
	// exDay and exWeek count, per number of a healthcare-exempt batch,
	// the transactional texts of the last day and week (SM-02), with
	// exErr like capErr.
	exDay, exWeek map[string]int
	exErr         error

	// callCtx bounds provider calls; consecutive fast calls share it
	// while at least 3/4 of SendTimeout is left (see Worker.callContext).
	callCtx      context.Context
	callCancel   context.CancelFunc
	callDeadline time.Time
	sms          provider.SMSMessage
	email        provider.EmailMessage

	// gate is the batch's hold that Cancel and a pause halt (see
	// batchGate); waitCtx ends the batch's limiter waits (at a graceful
	// stop, a Cancel or a pause).
	gate    batchGate
	waitCtx context.Context
	// deadline is the latest engine-clock time a provider call of the
	// batch may start: its lease's end less SendTimeout. No limiter wait
	// runs past it.
	deadline time.Time
	// handBack is set by sendOne when the limiter cannot grant a send by
	// deadline: the batch's remaining rows are handed back due then.
	handBack time.Time
	// requeued is set once an outcome of the batch queued its row again.
	requeued bool
}

// patient returns the batch's patient with the ID, or nil.
func (w *worker) patient(id string) *carecast.Patient {
	i, ok := slices.BinarySearchFunc(w.pats, id, func(p carecast.Patient, id string) int { return strings.Compare(p.ID, id) })
	if !ok {
		return nil
	}
	return &w.pats[i]
}

// scheduler claims batches fairly across organizations and blasts and
// hands them to the workers, starts due scheduled blasts, resumes
// interrupted ledger writes, completes finished blasts and expires stale
// leases. It closes work when it returns.
func (e *Engine) scheduler(ctx, stopCtx context.Context, work chan<- *batch) {
	defer close(work)
	var lastExpire time.Time
	for !e.stopping.Load() && ctx.Err() == nil {
		now := e.now()
		if now.Sub(lastExpire) >= e.cfg.Lease/4 || now.Before(lastExpire) {
			if n, err := e.st.ExpireLeases(ctx, now); err != nil {
				e.log.Error("expiring leases", "err", err)
			} else if n > 0 {
				e.log.Warn("rows moved to in doubt after lease expiry", "rows", n)
				e.notify()
			}
			lastExpire = now
		}
		e.tally.flush(ctx, e, now)
		dispatched := e.dispatchRound(ctx, stopCtx, work, now)
		if dispatched > 0 {
			continue
		}
		e.idleWait(stopCtx)
	}
}

// idleWait parks the scheduler until it is kicked, PollInterval passes on
// the clock, or the engine stops. While parked it does not count as
// active; whoever wakes it (a kick, the timer) counts it again first, and
// a kick that arrived while it was busy makes it return at once, so
// Engine.Idle never sees a gap.
func (e *Engine) idleWait(ctx context.Context) {
	e.parkMu.Lock()
	if e.kickPending {
		e.kickPending = false
		e.parkMu.Unlock()
		return
	}
	t := e.clk.AfterFunc(e.cfg.PollInterval, e.kickScheduler)
	e.parked = true
	e.deactivate() // tells Changed() waiters when the engine is idle
	e.parkMu.Unlock()
	for {
		select {
		case <-e.kick:
		case <-ctx.Done():
		}
		e.parkMu.Lock()
		if ctx.Err() != nil && e.parked {
			e.parked = false
			e.active.Add(1)
		}
		woken := !e.parked
		e.kickPending = false
		e.parkMu.Unlock()
		if woken {
			break
		}
		// A stale kick from before parking: keep waiting.
	}
	t.Stop()
}

// dispatchRound makes one fair pass: each organization with sending
// blasts gets one batch (from its blasts in turn), organizations in a
// rotating order. It returns the number of rows handed out.
func (e *Engine) dispatchRound(ctx, stopCtx context.Context, work chan<- *batch, now time.Time) int {
	active, err := e.st.ActiveBlasts(ctx, now)
	if err != nil {
		e.log.Error("listing active blasts", "err", err)
		return 0
	}
	byOrg := make(map[string][]store.Blast)
	var orgs []string
	for _, sb := range active {
		switch {
		case sb.Status == store.BlastScheduled:
			e.background(func() {
				if err := e.startScheduled(ctx, sb); err != nil && !errors.Is(err, ErrCancelled) && !errors.Is(err, ErrAlreadySent) {
					e.log.Error("starting scheduled blast", "org", sb.OrgID, "blast", sb.ID, "err", err)
				}
			})
			continue
		case !sb.LedgerDone:
			e.resumeLedger(ctx, sb)
		}
		if byOrg[sb.OrgID] == nil {
			orgs = append(orgs, sb.OrgID)
		}
		byOrg[sb.OrgID] = append(byOrg[sb.OrgID], sb)
	}
	if len(orgs) == 0 {
		return 0
	}
	slices.Sort(orgs)
	e.rrMu.Lock()
	e.rrOrg++
	start := e.rrOrg
	e.rrMu.Unlock()
	total := 0
	for i := range orgs {
		org := orgs[(start+i)%len(orgs)]
		blasts := byOrg[org]
		slices.SortFunc(blasts, func(a, b store.Blast) int { return strings.Compare(a.ID, b.ID) })
		e.rrMu.Lock()
		pos := e.rrPos[org]
		e.rrPos[org]++
		e.rrMu.Unlock()
		// Offer the organization's blasts in turn until one has rows.
		for j := range blasts {
			sb := blasts[(pos+j)%len(blasts)]
			n, sent := e.claimAndDispatch(ctx, stopCtx, work, sb)
			if !sent {
				return total
			}
			if n > 0 {
				total += n
				break
			}
		}
	}
	return total
}

// resumeLedger restarts an interrupted ledger write in the background.
//
// A ledger being written by a live writer (this instance or another one
// sharing the store) is left alone: the writer refreshes the blast's
// UpdatedAt at least every Lease/3 (see writeLedger), so a blast updated
// within the last Lease has a writer. When the writer has died, the first
// instance to claim the stale blast (an optimistic update of UpdatedAt,
// which only one instance wins) resumes it.
func (e *Engine) resumeLedger(ctx context.Context, sb store.Blast) {
	e.writeMu.Lock()
	busy := e.writing[sb.ID]
	e.writeMu.Unlock()
	if busy || e.now().Sub(sb.UpdatedAt) < e.cfg.Lease {
		return
	}
	e.background(func() {
		now := e.now()
		fresh, err := e.updateBlast(ctx, sb.OrgID, sb.ID, func(b *store.Blast) error {
			if b.Status != store.BlastSending || b.LedgerDone || now.Sub(b.UpdatedAt) < e.cfg.Lease {
				return errNoChange
			}
			b.UpdatedAt = now
			return nil
		})
		if errors.Is(err, errNoChange) {
			return
		}
		if err == nil {
			err = e.writeLedgerOnce(ctx, fresh)
		}
		if err != nil {
			e.log.Error("resuming ledger write", "org", sb.OrgID, "blast", sb.ID, "err", err)
		}
	})
}

// background runs f in a goroutine that Stop waits for and Idle counts.
func (e *Engine) background(f func()) {
	e.wg.Add(1)
	e.active.Add(1)
	go func() {
		defer e.wg.Done()
		defer e.deactivate()
		f()
	}()
}

// claimAndDispatch waits for an idle worker, claims one batch of sb and
// hands it over. It returns the rows handed out, and false when the
// engine is stopping.
func (e *Engine) claimAndDispatch(ctx, stopCtx context.Context, work chan<- *batch, sb store.Blast) (int, bool) {
	// Pinned until the batch's worker is done (or no batch goes out):
	// the compiled-blast cache never drops a blast a worker is sending.
	p, err := e.preparedFor(ctx, &sb, true)
	if err != nil {
		e.log.Error("preparing blast", "org", sb.OrgID, "blast", sb.ID, "err", err)
		return 0, true
	}
	if e.now().Before(pausedUntilAll(p.lims)) {
		// The provider asked for a pause (a 429's Retry-After): nothing
		// is claimed for it before the pause ends, so no lease is spent
		// waiting and no row waits where a Cancel must reach it.
		return 0, true
	}
	if !e.acquireSlot(stopCtx) {
		e.unpinPrepared(p)
		return 0, false
	}
	limit := e.cfg.BatchSize
	if r := e.rateFor(p.ch); r > 0 {
		// All workers together hold at most about one second of the
		// provider's rate, so a newly started blast waits at most that
		// long for its first batch.
		limit = max(1, min(limit, int(r)/e.cfg.Workers))
	}
	now := e.now()
	lease := now.Add(e.cfg.Lease)
	e.claims.add(sb.ID) // before the claim: a Cancel then waits for its rows
	rows, err := e.st.ClaimRows(ctx, store.ClaimParams{OrgID: sb.OrgID, BlastID: sb.ID, Owner: e.cfg.InstanceID, Now: now, LeaseUntil: lease, Limit: limit})
	if err != nil || len(rows) == 0 {
		e.claims.done(sb.ID)
		e.unpinPrepared(p)
		e.slots <- struct{}{} // never blocks: we hold the token
		if err != nil {
			e.log.Error("claiming rows", "org", sb.OrgID, "blast", sb.ID, "err", err)
		} else if sb.LedgerDone {
			e.maybeComplete(ctx, sb)
		}
		return 0, true
	}
	// The batch counts as activity from now until its worker is done;
	// the buffered channel has room for every token, so this never
	// blocks.
	e.active.Add(1)
	work <- &batch{p: p, rows: rows, leaseUntil: lease}
	return len(rows), true
}

func (e *Engine) rateFor(ch carecast.Channel) float64 {
	if ch == carecast.SMS {
		return e.cfg.SMSRate
	}
	return e.cfg.EmailRate
}

// maybeComplete marks a sending blast completed when no row is queued or
// sending.
func (e *Engine) maybeComplete(ctx context.Context, sb store.Blast) {
	// A store that counts unfinished rows from its indexes answers the
	// common "not yet" without aggregating the whole ledger.
	if pc, ok := e.st.(store.PendingCounter); ok {
		queued, sending, err := pc.PendingRows(ctx, sb.OrgID, sb.ID)
		if err != nil {
			e.log.Error("counting pending rows", "org", sb.OrgID, "blast", sb.ID, "err", err)
			return
		}
		if queued > 0 || sending > 0 {
			return
		}
	}
	st, err := e.st.Stats(ctx, sb.OrgID, sb.ID)
	if err != nil {
		e.log.Error("reading blast stats", "org", sb.OrgID, "blast", sb.ID, "err", err)
		return
	}
	if st.ByStatus[store.RowQueued] > 0 || st.ByStatus[store.RowSending] > 0 {
		return
	}
	now := e.now()
	_, err = e.updateBlast(ctx, sb.OrgID, sb.ID, func(b *store.Blast) error {
		if b.Status != store.BlastSending || !b.LedgerDone {
			return errNoChange
		}
		b.Status, b.CompletedAt, b.UpdatedAt = store.BlastCompleted, now, now
		return nil
	})
	if err != nil {
		if !errors.Is(err, errNoChange) {
			e.log.Error("completing blast", "org", sb.OrgID, "blast", sb.ID, "err", err)
		}
		return
	}
	e.forget(sb.ID)
	e.log.Info("blast completed", "org", sb.OrgID, "blast", sb.ID, "sent", st.ByStatus[store.RowSent], "failed", st.ByStatus[store.RowFailed])
	e.notify()
}

var errNoChange = errors.New("blast: no change")

// release hands rows back to the queue without counting an attempt, due
// after delay (a failing dependency is not hammered), appending their
// outcomes to outs.
func (e *Engine) release(rows []store.Row, outs []store.Outcome, delay time.Duration) []store.Outcome {
	now := e.now()
	for i := range rows {
		outs = append(outs, store.Outcome{RowID: rows[i].ID, Owner: e.cfg.InstanceID, Status: store.RowQueued, NextAttemptAt: now.Add(delay), At: now})
	}
	return outs
}

// record writes outcomes, on a context that survives a hard stop so the
// ledger stays truthful.
func (e *Engine) record(outs []store.Outcome, p *prepared) {
	if len(outs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.SendTimeout)
	defer cancel()
	if _, err := e.st.RecordOutcomes(ctx, outs); err != nil {
		// The rows stay leased; when the lease expires they become in
		// doubt, which is safe.
		e.log.Error("recording outcomes", "org", p.orgID, "blast", p.id, "rows", len(outs), "err", err)
	}
	e.unrecMu.Lock()
	for i := range outs {
		if outs[i].ProviderMessageID != "" {
			delete(e.unrecorded, outs[i].ProviderMessageID)
		}
	}
	e.unrecMu.Unlock()
}

// noteUnrecorded remembers the outcome of an accepted message until
// record writes it.
func (e *Engine) noteUnrecorded(o store.Outcome) {
	e.unrecMu.Lock()
	e.unrecorded[o.ProviderMessageID] = o
	e.unrecMu.Unlock()
}

// recordEarly writes the outcome of the message with provider ID pid if
// this process holds it unwritten: a status callback arrived before the
// batch of outcomes was written. The worker's later write of the same
// outcome is skipped by the store (the row is no longer sending).
func (e *Engine) recordEarly(ctx context.Context, pid string) {
	e.unrecMu.Lock()
	o, ok := e.unrecorded[pid]
	delete(e.unrecorded, pid)
	e.unrecMu.Unlock()
	if ok {
		if _, err := e.st.RecordOutcomes(ctx, []store.Outcome{o}); err != nil {
			e.log.Error("recording an outcome early", "row", o.RowID, "err", err)
		}
	}
}

// process sends one claimed batch.
func (e *Engine) process(ctx context.Context, b *batch, w *worker) {
	p := b.p
	// Register the batch's gate, then read the blast's status: a Cancel
	// (or pause) committed before the registration is seen in the store,
	// one committed after halts the gate (batchGates.open).
	waitCtx, stop := context.WithCancel(w.stopCtx)
	defer stop()
	e.batches.open(&w.gate, p.id, stop)
	defer e.batches.close(&w.gate)
	w.waitCtx, w.deadline, w.handBack, w.requeued = waitCtx, b.leaseUntil.Add(-e.cfg.SendTimeout), time.Time{}, false
	w.outs, w.changes = w.outs[:0], w.changes[:0]
	if err := e.checkHalted(ctx, p, w); err != nil {
		e.log.Error("reading the blast", "org", p.orgID, "blast", p.id, "err", err)
		w.outs = e.release(b.rows, w.outs, e.cfg.BackoffBase)
		e.finishBatch(ctx, p, w, true, false)
		return
	}
	if halted, cancelled := w.gate.state(); halted {
		w.outs = e.release(b.rows, w.outs, 0)
		e.finishBatch(ctx, p, w, true, cancelled)
		return
	}
	w.ids = w.ids[:0]
	for i := range b.rows {
		w.ids = append(w.ids, b.rows[i].PatientID)
	}
	pats, err := e.ps.PatientsByID(ctx, p.orgID, w.ids)
	if err != nil {
		e.log.Error("reading patients", "org", p.orgID, "blast", p.id, "err", err)
		w.outs = e.release(b.rows, w.outs, e.cfg.BackoffBase)
		e.finishBatch(ctx, p, w, true, false)
		return
	}
	w.pats = pats // ascending ID order (PatientStore contract)
	// Match rows to patients: both are usually in ascending patient ID
	// order (the ledger is written in that order), so a merge finds
	// nearly all; the rest are found by binary search.
	w.rowPats = w.rowPats[:0]
	j := 0
	for i := range b.rows {
		id := b.rows[i].PatientID
		if j < len(pats) && pats[j].ID == id {
			w.rowPats = append(w.rowPats, &pats[j])
			j++
			continue
		}
		w.rowPats = append(w.rowPats, w.patient(id))
	}
	// Re-check eligibility now: an opt-out that arrived after the ledger
	// was written must win (compliance.md J-01).
	// The same classification as the ledger writer's (record and
	// suppression list; households were collapsed when it was written).
	w.decs, err = e.classify(ctx, p.rules(), w.rowPats, w.decs[:0])
	if err != nil {
		e.log.Error("reading suppressions", "org", p.orgID, "blast", p.id, "err", err)
		w.outs = e.release(b.rows, w.outs, e.cfg.BackoffBase)
		e.finishBatch(ctx, p, w, true, false)
		return
	}
	if p.ch == carecast.SMS && e.cfg.LineTypes != nil {
		e.lookupLineTypes(ctx, p, w)
	}
	w.capSent, w.capErr = nil, nil
	if p.capped {
		if w.capSent, w.capErr = e.capCounts(ctx, p, w.decs); w.capErr != nil {
			e.log.Error("checking the frequency cap", "org", p.orgID, "blast", p.id, "err", w.capErr)
		}
	}
	w.exDay, w.exWeek, w.exErr = nil, nil, nil
	if p.exempt {
		if w.exDay, w.exWeek, w.exErr = e.batchExemptCounts(ctx, p, w.decs); w.exErr != nil {
			e.log.Error("checking the healthcare-exemption frequency", "org", p.orgID, "blast", p.id, "err", w.exErr)
		}
	}
	cancelled, released := false, false
	lastFlush := e.now()
	lastCheck := lastFlush
	for i := range b.rows {
		r := &b.rows[i]
		now := e.now()
		if now.Sub(lastCheck) >= time.Second {
			// A Cancel or pause made through another engine process
			// reaches this batch within about a second.
			if err := e.checkHalted(ctx, p, w); err != nil {
				e.log.Error("reading the blast", "org", p.orgID, "blast", p.id, "err", err)
			}
			lastCheck = now
		}
		// Record outcomes at least every second (and every 512 rows):
		// progress stays live with a slow provider, and a crash leaves
		// few sent-but-unrecorded rows to become in doubt.
		// Before waiting out a provider's pause, too: the refused row
		// is then queued in the store, never left to become in doubt.
		pause := pausedUntilAll(p.lims)
		if len(w.outs) >= 512 || len(w.outs) > 0 && (now.Sub(lastFlush) >= time.Second || now.Before(pause)) {
			e.recordOuts(p, w)
			lastFlush = now
			e.notifyWaiters()
		}
		halted, byCancel := w.gate.state()
		if cancelled = byCancel || p.cancelled.Load(); halted || cancelled || p.paused.Load() || e.stopping.Load() || ctx.Err() != nil || now.After(w.deadline) {
			w.outs = e.release(b.rows[i:], w.outs, 0)
			released = true
			break
		}
		if pause.After(w.deadline) {
			// The pause outlasts the lease: hand the rest back, due
			// when it ends, rather than hold rows nobody can send.
			w.outs = e.release(b.rows[i:], w.outs, pause.Sub(now))
			released = true
			break
		}
		w.outs = append(w.outs, e.sendOne(ctx, p, r, w.rowPats[i], w.decs[i], w))
		if !w.handBack.IsZero() {
			// The limiter cannot grant a send within the lease.
			w.outs = e.release(b.rows[i+1:], w.outs, w.handBack.Sub(e.now()))
			released = true
			break
		}
	}
	w.done()
	e.finishBatch(ctx, p, w, released, cancelled)
}

// recordOuts records the worker's outcomes, noting whether one queued a
// row again (see finishBatch).
func (e *Engine) recordOuts(p *prepared, w *worker) {
	for i := range w.outs {
		if w.outs[i].Status == store.RowQueued {
			w.requeued = true
			break
		}
	}
	e.record(w.outs, p)
	w.outs = w.outs[:0]
}

// checkHalted reads the blast's status from the store and halts the
// batch's gate when it was cancelled or paused (possibly through another
// engine process).
func (e *Engine) checkHalted(ctx context.Context, p *prepared, w *worker) error {
	sb, err := e.header(ctx, p.orgID, p.id) // the status only: never the content
	if err != nil {
		return err
	}
	if sb.Status == store.BlastCancelled || sb.Status == store.BlastPaused {
		w.gate.mu.Lock()
		w.gate.haltLocked(sb.Status == store.BlastCancelled)
		w.gate.mu.Unlock()
	}
	return nil
}

// finishBatch records the batch's outcomes, cancels the rows handed back
// when the blast was cancelled, and applies the contact changes the
// provider reported.
func (e *Engine) finishBatch(ctx context.Context, p *prepared, w *worker, released, cancelled bool) {
	e.recordOuts(p, w)
	if _, byCancel := w.gate.state(); byCancel {
		cancelled = true
	}
	if (released || w.requeued) && !cancelled {
		// Rows queued again (handed back, or a retry) after a Cancel
		// cancelled the queued rows must not stay queued in a cancelled
		// blast: read the status after recording them. A Cancel committed
		// later cancels them itself.
		if sb, err := e.header(context.WithoutCancel(ctx), p.orgID, p.id); err == nil && sb.Status == store.BlastCancelled {
			cancelled = true
		}
	}
	if cancelled {
		// The blast was cancelled mid-batch: the rows handed back are
		// cancelled like every other queued row.
		if _, err := e.st.CancelQueued(context.WithoutCancel(ctx), p.orgID, p.id, e.now()); err != nil {
			e.log.Error("cancelling rows", "org", p.orgID, "blast", p.id, "err", err)
		}
	}
	for _, c := range w.changes {
		if err := e.ps.ApplyContactChange(context.WithoutCancel(ctx), p.orgID, c); err != nil {
			e.log.Error("updating patient contact state", "org", p.orgID, "patient", c.PatientID, "kind", string(c.Kind), "err", err)
			continue
		}
		e.auditConsent(ctx, ActorProvider, p.orgID, c)
	}
	e.notify()
}

// sendOne sends one row and returns its outcome.
func (e *Engine) sendOne(ctx context.Context, p *prepared, r *store.Row, pat *carecast.Patient, d eligibility.Decision, w *worker) store.Outcome {
	o := store.Outcome{RowID: r.ID, Owner: e.cfg.InstanceID}
	if !d.WillSend() {
		o.Status, o.Reason, o.At = store.RowSkipped, d.Reason.String(), e.now()
		return o
	}
	o.Address = d.Address
	if p.quiet {
		if open, ok := e.quietUntil(p, pat, d.Address, e.now()); !ok {
			o.Status, o.NextAttemptAt, o.At = store.RowQueued, open, e.now()
			return o
		}
	}
	if p.capped {
		// Held, not dropped: checked again later. A count that could
		// not be read holds the text too (never send what may exceed
		// the cap).
		if _, limit := e.frequencyCap(d.Address); limit > 0 && (w.capErr != nil || w.capSent[d.Address] >= limit) {
			o.Status, o.NextAttemptAt, o.At = store.RowQueued, e.now().Add(FrequencyRecheck), e.now()
			return o
		}
	}
	if p.exempt && (w.exErr != nil || w.exDay[d.Address] >= ExemptPerDay || w.exWeek[d.Address] >= ExemptPerWeek) {
		// The exemption allows one text a day and three a week: held
		// and checked again, like a frequency cap.
		o.Status, o.NextAttemptAt, o.At = store.RowQueued, e.now().Add(FrequencyRecheck), e.now()
		return o
	}
	// A PHI-bearing blast sends its content only over a channel the
	// patient accepted unencrypted; the others get the portal notice
	// (compliance.md HI-08).
	portal := p.portalFor(pat)
	w.idBuf = strconv.AppendInt(w.idBuf[:0], r.ID, 10)
	msgID := string(w.idBuf)
	data := render.Data{Patient: pat, Org: &p.org}

	var send func(context.Context) (provider.Result, error)
	segments, cost := 0, carecast.Money(0)
	switch p.ch {
	case carecast.SMS:
		rs, media := p.renderSMS(pat, portal)
		if rs.Err() != nil {
			// Long merge values made this recipient's text exceed the
			// provider limit: fail it with a stated reason, never
			// truncate.
			o.Status, o.Reason, o.At = store.RowFailed, "too_long", e.now()
			return o
		}
		if p.exempt && rs.Count.Characters > ExemptMaxChars {
			// The exemption covers texts of 160 characters or fewer.
			o.Status, o.Reason, o.At = store.RowFailed, "exempt_too_long", e.now()
			return o
		}
		segments = rs.Count.Segments
		cost = e.cfg.Pricing.SMSCostOf(segments, rs.MMS)
		e.debugBody(p, r.ID, rs.Body)
		w.sms = provider.SMSMessage{ID: msgID, OrgID: p.orgID, To: d.Address, From: p.from, Body: rs.Body, MediaURLs: media}
		if e.cfg.StatusCallbackURL != nil {
			w.sms.StatusCallback = e.cfg.StatusCallbackURL(p.orgID, p.id, r.ID)
		}
		send = func(ctx context.Context) (provider.Result, error) { return e.cfg.SMS.SendSMS(ctx, &w.sms) }
	default:
		opts := &render.EmailRenderOpts{}
		mailto := ""
		if p.pu == carecast.Marketing && e.cfg.UnsubscribeURL != nil {
			opts.UnsubscribeURL = e.cfg.UnsubscribeURL(p.orgID, p.id, r.ID)
			if e.cfg.UnsubscribeMailto != nil {
				mailto = e.cfg.UnsubscribeMailto(p.orgID, p.id, r.ID)
			}
		}
		t, atts := p.emailFor(portal)
		first := 0
		if portal {
			// The notice's links are indexed after the email's, so a
			// click resolves to the link the patient got (linkURL).
			first = p.portalLinks
		}
		if e.cfg.RewriteLink != nil {
			opts.RewriteLink = func(i int, u string) string { return e.cfg.RewriteLink(p.orgID, p.id, r.ID, first+i, u) }
		}
		re := t.Render(data, opts)
		if e.cfg.OpenPixelURL != nil {
			re.HTML = withPixel(re.HTML, e.cfg.OpenPixelURL(p.orgID, p.id, r.ID))
		}
		cost = e.cfg.Pricing.EmailRecipient
		e.debugBody(p, r.ID, re.Text)
		w.email = provider.EmailMessage{ID: msgID, OrgID: p.orgID, From: p.from, ReplyTo: p.replyTo, To: d.Address,
			Subject: re.Subject, HTML: re.HTML, Text: re.Text, Marketing: p.pu == carecast.Marketing,
			ListUnsubscribeURL: opts.UnsubscribeURL, ListUnsubscribeMailto: mailto, Attachments: atts,
			Headers: map[string]string{"X-Carecast-Blast": p.id}}
		send = func(ctx context.Context) (provider.Result, error) { return e.cfg.Email.SendEmail(ctx, &w.email) }
	}
	// Pass the batch's gate: a Cancel or pause that halted it stops the
	// row here, and one arriving now interrupts the limiter wait, or
	// waits for the call to return (see batchGate).
	if !w.gate.begin() {
		o.Status, o.NextAttemptAt, o.At = store.RowQueued, e.now(), e.now()
		return o
	}
	if _, err := e.waitUntil(w.waitCtx, p.lims, true, w.deadline); err != nil || w.waitCtx.Err() != nil {
		// Stopping, cancelled or paused while throttled, or the
		// limiter cannot grant a send within the lease: nothing was
		// sent.
		w.gate.end()
		o.Status, o.NextAttemptAt, o.At = store.RowQueued, e.now(), e.now()
		var late *errWaitPastDeadline
		if errors.As(err, &late) {
			o.NextAttemptAt, w.handBack = late.Until, late.Until
		}
		return o
	}
	res, err := send(w.callContext(ctx, e.cfg.SendTimeout))
	w.gate.end()
	now := e.now()
	o.At = now
	if err == nil {
		o.Status, o.Attempted, o.ProviderMessageID, o.Cost = store.RowSent, true, res.ProviderMessageID, cost
		o.Segments = segments
		if w.capSent != nil {
			w.capSent[d.Address]++
		}
		if w.exDay != nil {
			w.exDay[d.Address]++
			w.exWeek[d.Address]++
		}
		if res.Segments > 0 && p.ch == carecast.SMS && len(w.sms.MediaURLs) == 0 {
			o.Segments, o.Cost = res.Segments, e.cfg.Pricing.SMSCostOf(res.Segments, false)
		}
		if o.ProviderMessageID != "" {
			e.noteUnrecorded(o)
		}
		return o
	}
	o.Attempted = true
	var pe *provider.Error
	if errors.As(err, &pe) {
		o.ErrorCode = pe.Code
	}
	class := provider.Classify(err)
	attempt := r.Attempts + 1
	switch class {
	case provider.Transient, provider.RateLimited:
		ra := provider.RetryAfter(err)
		if class == provider.RateLimited {
			pause := ra
			if pause <= 0 {
				pause = e.cfg.BackoffBase
			}
			for _, l := range p.lims {
				l.pauseUntil(now.Add(pause))
			}
		}
		if attempt < e.cfg.MaxAttempts {
			o.Status, o.Reason, o.NextAttemptAt = store.RowQueued, class.String(), now.Add(e.backoff(attempt, ra))
			return o
		}
		o.Status, o.Reason = store.RowFailed, class.String()
	case provider.Landline:
		o.Status, o.Reason = store.RowSkipped, eligibility.Landline.String()
		w.changes = append(w.changes, cohort.ContactChange{PatientID: r.PatientID, Kind: cohort.ChangePhoneLandline, At: now, Source: "provider " + o.ErrorCode})
	case provider.OptedOut:
		o.Status, o.Reason = store.RowOptedOut, class.String()
		w.changes = append(w.changes, cohort.ContactChange{PatientID: r.PatientID, Kind: cohort.ChangeSMSOptOut, At: now, Source: "provider " + o.ErrorCode})
		e.suppress(ctx, p.orgID, carecast.SMS, d.Address, supOptedOut, now)
	case provider.Ambiguous:
		o.Status, o.Reason = store.RowInDoubt, class.String()
	case provider.SenderBlocked:
		// The sender's problem, not the patient's: never suppressed;
		// retried with backoff, and the blast is paused once refusals
		// pile up (SenderBlockGuard).
		o.Status, o.Reason = store.RowFailed, class.String()
		if attempt < e.cfg.MaxAttempts {
			o.Status, o.NextAttemptAt = store.RowQueued, now.Add(e.backoff(attempt, 0))
		}
		e.senderBlocked(ctx, p.orgID, p.id, p.ch, o.ErrorCode)
	case provider.Suppress:
		o.Status, o.Reason = store.RowFailed, "bounce"
		if p.ch == carecast.Email {
			w.changes = append(w.changes, cohort.ContactChange{PatientID: r.PatientID, Kind: cohort.ChangeEmailSuppress, At: now, Source: "provider " + o.ErrorCode})
			e.suppress(ctx, p.orgID, carecast.Email, d.Address, supBounce, now)
		}
	default:
		o.Status, o.Reason = store.RowFailed, class.String()
	}
	e.log.Warn("send failed", "org", p.orgID, "blast", p.id, "row", r.ID, "class", class.String(), "code", o.ErrorCode, "attempt", attempt)
	return o
}

// portalFor reports whether pat gets a PHI-bearing blast's PHI-free
// portal notice instead of its content: the patient did not acknowledge
// that the channel is not encrypted (compliance.md HI-08). Always false
// for other blasts.
func (p *prepared) portalFor(pat *carecast.Patient) bool {
	return p.phi && !pat.Consent.InsecureChannelAck(p.ch)
}

// smsFor returns the text template and media of the message (portal
// false) or of the portal notice, which is text only.
func (p *prepared) smsFor(portal bool) (*render.SMSTemplate, []string) {
	if portal {
		return p.portalSMS, nil
	}
	return p.sms, p.media
}

// emailFor returns the email template and attachments of the message
// (portal false) or of the portal notice, which has none.
func (p *prepared) emailFor(portal bool) (*render.EmailTemplate, []provider.Attachment) {
	if portal {
		return p.portalEmail, nil
	}
	return p.email, p.atts
}

// callContext returns a context that ends at most timeout from now
// (real time): a provider call made with it is bounded by timeout. It is
// shared by consecutive calls while at least 3/4 of timeout is left, so a
// fast provider does not pay for a timer per message.
func (w *worker) callContext(parent context.Context, timeout time.Duration) context.Context {
	now := time.Now()
	if w.callCtx != nil && w.callCtx.Err() == nil && w.callDeadline.Sub(now) >= timeout*3/4 {
		return w.callCtx
	}
	w.done()
	w.callDeadline = now.Add(timeout)
	w.callCtx, w.callCancel = context.WithDeadline(parent, w.callDeadline)
	return w.callCtx
}

// done releases the shared call context.
func (w *worker) done() {
	if w.callCancel != nil {
		w.callCancel()
		w.callCtx, w.callCancel = nil, nil
	}
}

// call makes one provider call bounded by SendTimeout. The timeout is
// real time (it bounds network I/O), not engine-clock time.
func (e *Engine) call(ctx context.Context, send func(context.Context) (provider.Result, error)) (provider.Result, error) {
	cctx, cancel := context.WithTimeout(ctx, e.cfg.SendTimeout)
	defer cancel()
	return send(cctx)
}

// suppress records a store suppression, logging failures.
func (e *Engine) suppress(ctx context.Context, orgID string, ch carecast.Channel, addr, reason string, at time.Time) {
	if _, err := e.suppressOnce(context.WithoutCancel(ctx), orgID, ch, addr, reason, at); err != nil {
		e.log.Error("recording suppression", "org", orgID, "reason", reason, "err", err)
	}
}

// suppressionRank orders suppression reasons by scope, so a narrower one
// never replaces a wider one (compliance.md J-02): a hard bounce blocks
// every email, a complaint all marketing, an unsubscribe marketing.
var suppressionRank = map[string]int{supUnsubscribed: 1, supComplaint: 2, supBounce: 3, supSoftBounce: 3, supOptedOut: 3, supUnreachable: 2}

// suppressOnce records a suppression unless one at least as wide exists;
// it reports whether it wrote one.
func (e *Engine) suppressOnce(ctx context.Context, orgID string, ch carecast.Channel, addr, reason string, at time.Time) (bool, error) {
	if addr == "" {
		return false, nil
	}
	have, err := e.st.Suppressed(ctx, orgID, ch, []string{addr})
	if err != nil {
		return false, err
	}
	if len(have) > 0 && suppressionRank[have[0].Reason] >= suppressionRank[reason] {
		return false, nil
	}
	return true, e.st.Suppress(ctx, store.Suppression{OrgID: orgID, Channel: ch, Address: addr, Reason: reason, At: at})
}

// withPixel inserts a 1×1 open-tracking image before </body>.
func withPixel(html, url string) string {
	if url == "" {
		return html
	}
	img := `<img src="` + htmlAttr(url) + `" width="1" height="1" alt="" style="display:block;border:0;width:1px;height:1px">`
	if i := strings.LastIndex(html, "</body>"); i >= 0 {
		return html[:i] + img + html[i:]
	}
	return html + img
}

func htmlAttr(s string) string {
	return strings.NewReplacer("&", "&amp;", `"`, "&quot;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// initQuiet loads the area-code table and the windows of
// Config.QuietHours (defaulted).
func (e *Engine) initQuiet() {
	e.npas = areaCodeTable(func(tz string) *time.Location { return e.location(tz, nil) })
	e.federal = QuietWindow{Start: e.cfg.QuietHours.Start, End: e.cfg.QuietHours.End}
	e.strictest = strictestWindow(&e.cfg.QuietHours)
}

// quietUntil reports whether a text may go to pat's number addr
// at now, and if not, the earliest instant every window that applies is
// open (compliance.md TM-01; see QuietHours).
func (e *Engine) quietUntil(p *prepared, pat *carecast.Patient, addr string, now time.Time) (time.Time, bool) {
	var checks [2]quietZone
	n := 0
	if pat != nil && pat.TimeZone != "" {
		if loc := e.location(pat.TimeZone, nil); loc != nil {
			checks[n] = quietZone{w: e.federal, loc: loc}
			n++
		}
	}
	if !e.cfg.QuietHours.NoAreaCode {
		if npa, ok := nanpAreaCode(addr); ok && e.npas[npa].loc != nil {
			checks[n] = quietZone{w: e.numberWindow(e.npas[npa].region), loc: e.npas[npa].loc}
			n++
		}
	}
	if n == 0 {
		loc := e.location(e.cfg.QuietHours.DefaultZone, nil)
		if loc == nil {
			loc = e.location(p.org.TimeZone, time.UTC)
		}
		checks[0] = quietZone{w: e.federal, loc: loc}
		n = 1
	}
	return quietAll(checks[:n], now)
}

// numberWindow is the window of a number whose area code is in region.
func (e *Engine) numberWindow(region string) QuietWindow {
	q := &e.cfg.QuietHours
	switch {
	case q.Strictest:
		return e.strictest
	case q.NoStateRules:
		return e.federal
	}
	if w, ok := q.States[region]; ok {
		return w
	}
	return e.federal
}

// strictestWindow is the intersection of the federal window and every
// state window (used by QuietHours.Strictest). An empty intersection
// (disjoint custom windows) leaves the federal window.
func strictestWindow(q *QuietHours) QuietWindow {
	w := QuietWindow{Start: q.Start, End: q.End}
	for _, s := range q.States {
		n := QuietWindow{Start: max(w.Start, s.Start), End: min(w.End, s.End)}
		if n.valid() {
			w = n
		}
	}
	return w
}

// valid reports whether 0 ≤ Start < End ≤ 24h.
func (w QuietWindow) valid() bool {
	return w.Start >= 0 && w.End <= 24*time.Hour && w.Start < w.End
}

// quietZone is one window in one zone.
type quietZone struct {
	w   QuietWindow
	loc *time.Location
}

// quietAll reports whether now is inside every window, and if not, the
// earliest later instant that is: it moves to the next opening of each
// closed window in turn until all are open. Two daily windows of a
// validated configuration always overlap unless they are disjoint custom
// windows; then, after a bounded number of moves, it returns the latest
// candidate (the row is deferred again there and never sent outside a
// window, nor dropped).
func quietAll(zs []quietZone, now time.Time) (time.Time, bool) {
	t := now
	for range 8 {
		moved := false
		for _, z := range zs {
			if open, ok := quietCheck(z.w, t, z.loc); !ok {
				t, moved = open, true
			}
		}
		if !moved {
			return t, t.Equal(now)
		}
	}
	return t, false
}

// quietCheck reports whether now is inside the window in loc, and if not,
// when the window next opens (in absolute time). Wall-clock times come
// from time.Date, so days shortened or lengthened by a DST change and
// ambiguous or missing local times resolve without error (an ambiguous
// time is compared as the absolute instant it is).
func quietCheck(w QuietWindow, now time.Time, loc *time.Location) (time.Time, bool) {
	lt := now.In(loc)
	y, m, d := lt.Date()
	at := func(day int, off time.Duration) time.Time {
		h, rest := int(off/time.Hour), off%time.Hour
		return time.Date(y, m, day, h, int(rest/time.Minute), int(rest%time.Minute/time.Second), 0, loc)
	}
	open, closeAt := at(d, w.Start), at(d, w.End)
	switch {
	case lt.Before(open):
		return open, false
	case lt.Before(closeAt):
		return now, true
	}
	return at(d+1, w.Start), false
}
