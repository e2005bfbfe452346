package blast

import (
	"context"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/store"
)

// SoftFailures suppresses an address that keeps failing softly
// (compliance.md BO-02, SF-01): an email address whose messages bounce
// softly (a full or temporarily unavailable mailbox: provider events of
// class Transient) or a phone number whose texts are reported
// unreachable (Twilio 30003). Each such delivery event fails its message
// with the reason "soft_bounce" or "unreachable"; when the address has
// Count of them within Window, the first and the last at least Span
// apart, it is suppressed — every email ("soft_bounce"; the patient's
// EmailSuppressed is set, as for a hard bounce) or every text
// ("unreachable"). Failures close together (two bounces in an hour) are
// one outage, not a dead address. It needs a store that implements
// store.FailureLog (every store of this module does).
type SoftFailures struct {
	// Disabled turns the suppression off (the failures are still
	// recorded with their reasons).
	Disabled bool
	// Count is how many soft failures suppress. Defaults to 3.
	Count int
	// Span is the least time between the first and the last of them.
	// Defaults to 72 hours.
	Span time.Duration
	// Window is how far back failures count. Defaults to 7 days.
	Window time.Duration
}

// Suppression reasons of repeated soft failures.
const (
	supSoftBounce  = "soft_bounce"
	supUnreachable = "unreachable"
)

// softFailureReason returns the ledger reason a failed-delivery event
// records: "soft_bounce" for a soft email bounce, "unreachable" for an
// unreachable handset (Twilio 30003), or fallback.
func softFailureReason(ev *provider.Event, fallback string) string {
	switch {
	case ev.Kind == provider.EventBounce && !ev.HardBounce && ev.Class == provider.Transient:
		return supSoftBounce
	case ev.Kind == provider.EventUndelivered && ev.Code == "30003":
		return supUnreachable
	}
	return fallback
}

// initSoftFailures finds the store's FailureLog.
func (e *Engine) initSoftFailures() {
	e.failures, _ = e.st.(store.FailureLog)
	if e.failures == nil && !e.cfg.SoftFailures.Disabled {
		e.log.Warn("the store does not implement store.FailureLog: repeated soft failures (compliance.md BO-02, SF-01) suppress nothing")
	}
}

// softFailure counts a soft failure of row r's address and suppresses the
// address at the threshold.
func (e *Engine) softFailure(ctx context.Context, r *store.Row, reason string, at time.Time) {
	if e.failures == nil || e.cfg.SoftFailures.Disabled || r.Address == "" {
		return
	}
	sf := &e.cfg.SoftFailures
	times, err := e.failures.FailureTimes(context.WithoutCancel(ctx), r.OrgID, r.Channel, r.Address, reason, at.Add(-sf.Window))
	if err != nil {
		e.log.Error("reading soft failures", "org", r.OrgID, "err", err)
		return
	}
	if len(times) < sf.Count || times[len(times)-1].Sub(times[0]) < sf.Span {
		return
	}
	e.suppress(ctx, r.OrgID, r.Channel, r.Address, reason, at)
	if r.Channel == carecast.Email {
		e.contactChange(ctx, r.OrgID, r.PatientID, cohort.ChangeEmailSuppress, at, "repeated soft bounces")
	}
	e.log.Info("address suppressed after repeated soft failures", "org", r.OrgID, "reason", reason, "failures", len(times))
}
