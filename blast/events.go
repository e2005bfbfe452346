package blast

import (
	"context"
	"errors"
	"fmt"
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

// EventResult says what HandleEvent did with an event.
type EventResult string

// The results of HandleEvent.
const (
	// EventApplied: the event changed the ledger or a patient.
	EventApplied EventResult = "applied"
	// EventDuplicate: the event ID was handled before; nothing changed.
	EventDuplicate EventResult = "duplicate"
	// EventIgnored: the event was valid but changed nothing (a status
	// that would move a row backwards, a message the ledger does not
	// know, an inbound text that is not a reply to any blast).
	EventIgnored EventResult = "ignored"
)

// ErrUnknownEventKind is the class of every *UnknownEventKindError.
var ErrUnknownEventKind = errors.New("blast: unknown event kind")

// eventKindMaxBytes bounds the kind an UnknownEventKindError quotes.
const eventKindMaxBytes = 32

// UnknownEventKindError is HandleEvent's answer to an event whose Kind is
// none of the provider.Event* kinds: an adapter (or a host's own) that
// emits a kind this engine does not know. Nothing was changed or recorded,
// so the event can be handled once the engine knows the kind. It matches
// ErrUnknownEventKind. Redelivery does not help: a webhook sink should
// log it and acknowledge the request rather than answer 500.
type UnknownEventKindError struct {
	// EventID is the event's ID.
	EventID string
	// Kind is the kind received.
	Kind provider.EventKind
}

// Error names the kind, quoted and cut to 32 bytes (a kind is a code,
// never PHI; the cut bounds what a faulty adapter can put in a log).
func (e *UnknownEventKindError) Error() string {
	k := string(e.Kind)
	if len(k) > eventKindMaxBytes {
		k = strings.ToValidUTF8(k[:eventKindMaxBytes], "") + "…"
	}
	return fmt.Sprintf("blast: HandleEvent: event %.64q has unknown kind %q", e.EventID, k)
}

// Is reports whether target is ErrUnknownEventKind.
func (e *UnknownEventKindError) Is(target error) bool { return target == ErrUnknownEventKind }

// HandleEvent applies one verified provider event (a webhook translated by
// an adapter). It is idempotent: an event ID handled before is a no-op
// (EventDuplicate), and statuses only move forward.
//
//   - delivered: sent (or in doubt) → delivered;
//   - undelivered after sent: sent/delivered → failed (the Sent card
//     count moves to Failed); a landline or opted-out class also updates
//     the patient;
//   - bounce: failed; a hard bounce (or class Suppress) also suppresses
//     the address for all email and marks the patient suppressed;
//   - complaint: the patient is unsubscribed from marketing email and the
//     address suppressed for marketing (compliance.md BO-04, J-02);
//   - open, click: counted on the row; one the vendor flags as made by
//     software (Event.Machine) is stored as a machine open or click and
//     never counted (compliance.md TR-04, TR-05);
//   - inbound SMS: STOP-family keywords opt the number out of every SMS
//     of the organization (store suppression and every patient with that
//     number), START-family opt it back in, HELP gets the help reply; a
//     bare YES opts back in a number that is opted out (a store STOP
//     suppression, or a patient with the number marked opted out) and is
//     an ordinary reply from any other number, even when the vendor
//     flagged it as START (compliance.md SM-05); the
//     engine sends one confirmation or help reply unless the provider
//     already did (Event.ProviderHandledOptOut), and never a second STOP
//     confirmation to a number already opted out. Any other text counts
//     as a reply to the most recent blast message sent to that number
//     within Config.ReplyWindow.
//
// Protective effects (opt-outs, suppressions, patient updates from STOP,
// bounces, complaints, carrier verdicts) are applied before the event is
// recorded as handled, so a crash in between makes the redelivered event
// apply them again rather than lose them; START, HELP and replies are
// recorded first, so a redelivered START can never undo a later STOP.
//
// Inbound events need Event.OrgID; status events find the row by
// ProviderMessageID, and the row names the organization. A delivered or
// undelivered event whose ProviderMessageID no row has is matched by
// Event.MessageID (the row ID the signed status-callback URL carries)
// when Event.OrgID is set and that row of the organization is in doubt
// with no vendor ID: its send answer was lost, so the receipt is the
// first the engine hears of the vendor's ID, which is recorded on the
// row. Any other row it names (one sent under another ID, another
// organization's) is left alone, and the event is EventIgnored. When Event.OrgID
// is set (an adapter that knows the organization from signed data or from
// its own configuration), an event naming another organization's message
// is ignored. An event that matched no row (an unknown message ID, or
// another organization's) is EventIgnored and its ID is not recorded, so
// it can never make a later, matching event with the same ID a duplicate.
// Errors are storage failures (the webhook should answer 500 so the vendor
// retries), an event missing its ID, or an *UnknownEventKindError for a
// kind that is none of the above (never silently ignored).
func (e *Engine) HandleEvent(ctx context.Context, ev provider.Event) (EventResult, error) {
	if ev.ID == "" {
		return "", errors.New("blast: HandleEvent: event has no ID")
	}
	if ev.At.IsZero() {
		ev.At = e.now()
	}
	switch ev.Kind {
	case provider.EventInbound:
		return e.handleInbound(ctx, ev)
	case provider.EventDelivered, provider.EventUndelivered, provider.EventBounce, provider.EventComplaint,
		provider.EventOpen, provider.EventClick:
		return e.handleStatus(ctx, ev)
	}
	return "", &UnknownEventKindError{EventID: ev.ID, Kind: ev.Kind}
}

func (e *Engine) handleStatus(ctx context.Context, ev provider.Event) (EventResult, error) {
	if ev.ProviderMessageID == "" {
		return EventIgnored, nil
	}
	r, err := e.st.RowByProviderMessageID(ctx, ev.ProviderMessageID)
	if errors.Is(err, store.ErrNotFound) {
		// The callback may have beaten this process's batched outcome
		// write: recordEarly writes the outcome if it is still held.
		// Read again whatever it answers: a worker writes its outcomes
		// before it forgets them, so one written between the first read
		// and recordEarly is found now.
		e.recordEarly(ctx, ev.ProviderMessageID)
		r, err = e.st.RowByProviderMessageID(ctx, ev.ProviderMessageID)
	}
	learned := false
	if errors.Is(err, store.ErrNotFound) {
		// A receipt for a message whose send answer was lost: the
		// signed message ID names the in-doubt row.
		var ok bool
		if r, ok, err = e.inDoubtRowOf(ctx, ev); ok {
			learned = true
		} else if err == nil {
			err = store.ErrNotFound
		}
	}
	if errors.Is(err, store.ErrNotFound) || (err == nil && ev.OrgID != "" && r.OrgID != ev.OrgID) {
		// A test send, another system's message, or an event for
		// another organization's message: nothing changes, and the ID
		// is NOT recorded as handled. An event that matched no row must
		// never burn its ID, or a replay carrying the wrong
		// organization would make the genuine event a "duplicate".
		return EventIgnored, nil
	}
	if err != nil {
		return "", fmt.Errorf("blast: finding message of event: %w", err)
	}
	p := store.EventParams{EventID: ev.ID, OrgID: r.OrgID, RowID: r.ID, At: ev.At, ErrorCode: ev.Code}
	if learned {
		p.ProviderMessageID = ev.ProviderMessageID
	}
	var change cohort.ChangeKind
	var supReason string
	switch ev.Kind {
	case provider.EventDelivered:
		p.Kind = store.EventDelivered
	case provider.EventUndelivered:
		p.Kind, p.Reason = store.EventFailed, softFailureReason(&ev, "undelivered")
		switch ev.Class {
		case provider.Landline:
			change = cohort.ChangePhoneLandline
		case provider.OptedOut:
			change, supReason = cohort.ChangeSMSOptOut, supOptedOut
		}
	case provider.EventBounce:
		p.Kind, p.Reason = store.EventFailed, softFailureReason(&ev, "bounce")
		if ev.Class != provider.SenderBlocked && (ev.HardBounce || ev.Class == provider.Suppress) {
			change, supReason = cohort.ChangeEmailSuppress, supBounce
		}
	case provider.EventComplaint:
		return e.handleComplaint(ctx, ev, r)
	case provider.EventOpen:
		p.Kind = store.EventOpen
		if ev.Machine {
			p.Kind, p.Reason = store.EventMachineOpen, machineReason(ev.MachineReason, "provider")
		}
	case provider.EventClick:
		p.Kind = store.EventClick
		if ev.Machine {
			p.Kind, p.Reason = store.EventMachineClick, machineReason(ev.MachineReason, "provider")
		}
	}
	// Suppressions and patient updates come first and are applied even
	// for a replayed event: they are idempotent and only ever protect
	// the patient, and a crash between them and the ledger update must
	// not lose them.
	if supReason != "" {
		e.suppress(ctx, r.OrgID, r.Channel, r.Address, supReason, ev.At)
	}
	if change != "" {
		e.contactChange(ctx, r.OrgID, r.PatientID, change, ev.At, "event "+string(ev.Kind)+" "+ev.Code)
	}
	res, err := e.applyRowEvent(ctx, p)
	if err == nil && res == EventApplied && p.Kind == store.EventDelivered {
		e.countDomain(ctx, &r, ev.At, 1, 0)
	}
	if err == nil && res == EventApplied && p.Kind == store.EventFailed && ev.Class == provider.SenderBlocked {
		e.senderBlocked(ctx, r.OrgID, r.BlastID, r.Channel, ev.Code)
	}
	if err == nil && res == EventApplied && (p.Reason == supSoftBounce || p.Reason == supUnreachable) {
		e.softFailure(ctx, &r, p.Reason, ev.At)
	}
	return res, err
}

// inDoubtRowOf returns the row a delivery receipt names by the engine's
// own message ID (Event.MessageID, the decimal ledger row ID), when the
// vendor's message ID is unknown: only a delivered or undelivered event,
// only with Event.OrgID (both come from data the vendor signed, see
// provider.Event), and only a row of that organization that is in doubt
// and has no vendor ID yet. Anything else (a row already sent under
// another ID, another organization's row, a malformed ID) matches
// nothing, so a receipt for an earlier, lost attempt never touches a row
// that Retry Failed has sent again.
func (e *Engine) inDoubtRowOf(ctx context.Context, ev provider.Event) (store.Row, bool, error) {
	if ev.MessageID == "" || ev.OrgID == "" || (ev.Kind != provider.EventDelivered && ev.Kind != provider.EventUndelivered) {
		return store.Row{}, false, nil
	}
	id, err := strconv.ParseInt(ev.MessageID, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != ev.MessageID {
		return store.Row{}, false, nil
	}
	r, err := e.st.Row(ctx, ev.OrgID, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Row{}, false, nil
	}
	if err != nil {
		return store.Row{}, false, err
	}
	if r.OrgID != ev.OrgID || r.Status != store.RowInDoubt || r.ProviderMessageID != "" {
		return store.Row{}, false, nil
	}
	return r, true, nil
}

// applyRowEvent applies p and notifies waiters.
func (e *Engine) applyRowEvent(ctx context.Context, p store.EventParams) (EventResult, error) {
	ok, err := e.st.ApplyEvent(ctx, p)
	if err != nil {
		return "", fmt.Errorf("blast: applying event: %w", err)
	}
	if !ok {
		// Either a replay or a move the state machine refuses; a
		// second call tells them apart cheaply.
		if first, err := e.st.MarkEvent(ctx, p.EventID+"#seen", p.At); err == nil && !first {
			return EventDuplicate, nil
		}
		return EventIgnored, nil
	}
	_, _ = e.st.MarkEvent(ctx, p.EventID+"#seen", p.At)
	e.audit(ctx, store.AuditEntry{OrgID: p.OrgID, At: p.At, Actor: ActorProvider, Action: "event." + string(p.Kind), RowID: p.RowID,
		Detail: strings.TrimSpace(p.Reason + " " + p.ErrorCode)})
	e.notify()
	return EventApplied, nil
}

// handleComplaint suppresses and unsubscribes first, then records the
// event: a crash in between makes the redelivered event apply them again
// (harmless), never lose them.
func (e *Engine) handleComplaint(ctx context.Context, ev provider.Event, r store.Row) (EventResult, error) {
	e.suppress(ctx, r.OrgID, carecast.Email, r.Address, supComplaint, ev.At)
	e.contactChange(ctx, r.OrgID, r.PatientID, cohort.ChangeEmailUnsubscribe, ev.At, "complaint")
	first, err := e.st.MarkEvent(ctx, ev.ID, ev.At)
	if err != nil {
		return "", fmt.Errorf("blast: recording event: %w", err)
	}
	if !first {
		return EventDuplicate, nil
	}
	e.countDomain(ctx, &r, ev.At, 0, 1)
	e.notify()
	return EventApplied, nil
}

func (e *Engine) contactChange(ctx context.Context, orgID, patientID string, k cohort.ChangeKind, at time.Time, source string) {
	c := cohort.ContactChange{PatientID: patientID, Kind: k, At: at, Source: source}
	err := e.ps.ApplyContactChange(ctx, orgID, c)
	if err != nil && !errors.Is(err, cohort.ErrNotFound) {
		e.log.Error("updating patient contact state", "org", orgID, "patient", patientID, "kind", string(k), "err", err)
	}
	if err == nil {
		e.auditConsent(ctx, ActorProvider, orgID, c)
	}
}

func (e *Engine) handleInbound(ctx context.Context, ev provider.Event) (EventResult, error) {
	if ev.OrgID == "" {
		return "", errors.New("blast: HandleEvent: inbound event has no OrgID")
	}
	kw := ev.Keyword
	from := ev.From
	if n, ok := eligibility.NormalizePhone(from, ""); ok {
		from = n
	}
	m := provider.MatchKeyword(ev.Body)
	if kw == provider.KeywordNone || kw == provider.KeywordStart {
		if kw == provider.KeywordNone {
			kw = m.Keyword
		}
		if m.Confirmation {
			// A bare YES (compliance.md SM-05): an opt-in only from a
			// number that is opted out; otherwise an answer ("Reply YES
			// to confirm"), even when the vendor read it as START.
			out, err := e.smsOptedOut(ctx, ev.OrgID, from)
			if err != nil {
				return "", err
			}
			kw = provider.KeywordNone
			if out {
				kw = provider.KeywordStart
			}
		}
	}
	if kw == provider.KeywordStop {
		return e.handleStop(ctx, ev, from, m)
	}
	// Other texts are recorded first: a redelivered START must never
	// undo a STOP that arrived after it.
	first, err := e.st.MarkEvent(ctx, ev.ID, ev.At)
	if err != nil {
		return "", fmt.Errorf("blast: recording event: %w", err)
	}
	if !first {
		return EventDuplicate, nil
	}
	// A text from the number proves its handset reachable: lift an
	// "unreachable" suppression (see SoftFailures).
	if _, err := e.st.Unsuppress(ctx, ev.OrgID, carecast.SMS, from, []string{supUnreachable}); err != nil {
		return "", fmt.Errorf("blast: removing unreachable suppression: %w", err)
	}
	switch kw {
	case provider.KeywordStart:
		if _, err := e.st.Unsuppress(ctx, ev.OrgID, carecast.SMS, from, []string{supOptedOut}); err != nil {
			return "", fmt.Errorf("blast: removing opt-out: %w", err)
		}
		e.patientsByContact(ctx, ev.OrgID, from, cohort.ChangeSMSOptIn, ev.At, "inbound START")
		if !e.providerReplied(ev) {
			e.reply(ctx, ev, from, e.startT)
		}
	case provider.KeywordHelp:
		if !e.providerReplied(ev) {
			e.reply(ctx, ev, from, e.helpT)
		}
	default:
		r, err := e.st.LatestSentTo(ctx, ev.OrgID, carecast.SMS, from, ev.At.Add(-e.cfg.ReplyWindow))
		if errors.Is(err, store.ErrNotFound) {
			return EventIgnored, nil
		}
		if err != nil {
			return "", fmt.Errorf("blast: finding replied message: %w", err)
		}
		if _, err := e.st.ApplyEvent(ctx, store.EventParams{EventID: ev.ID + "#reply", OrgID: ev.OrgID, RowID: r.ID, Kind: store.EventReply, At: ev.At}); err != nil {
			return "", fmt.Errorf("blast: recording reply: %w", err)
		}
	}
	e.notify()
	return EventApplied, nil
}

// smsOptedOut reports whether the number is opted out of the
// organization's texts now: a STOP suppression in the store, or a patient
// with that number whose record says opted out.
func (e *Engine) smsOptedOut(ctx context.Context, orgID, from string) (bool, error) {
	sups, err := e.st.Suppressed(ctx, orgID, carecast.SMS, []string{from})
	if err != nil {
		return false, fmt.Errorf("blast: reading suppressions: %w", err)
	}
	if len(sups) > 0 && sups[0].Reason == supOptedOut {
		return true, nil
	}
	ps, err := e.ps.FindByContact(ctx, orgID, from)
	if err != nil {
		return false, fmt.Errorf("blast: finding patients by number: %w", err)
	}
	for i := range ps {
		if ps[i].Consent.SMSOptedOut {
			return true, nil
		}
	}
	return false, nil
}

// handleStop opts the number out first and records the event after, so a
// crash in between can only make the redelivered STOP apply again
// (harmless), never lose it. The one confirmation goes out only for a
// number not opted out before, and only once.
func (e *Engine) handleStop(ctx context.Context, ev provider.Event, from string, m provider.KeywordMatch) (EventResult, error) {
	sups, err := e.st.Suppressed(ctx, ev.OrgID, carecast.SMS, []string{from})
	if err != nil {
		return "", fmt.Errorf("blast: reading suppressions: %w", err)
	}
	already := len(sups) > 0 && sups[0].Reason == supOptedOut
	if _, err := e.suppressOnce(ctx, ev.OrgID, carecast.SMS, from, supOptedOut, ev.At); err != nil {
		return "", fmt.Errorf("blast: recording opt-out: %w", err)
	}
	e.patientsByContact(ctx, ev.OrgID, from, cohort.ChangeSMSOptOut, ev.At, stopSource(m))
	first, err := e.st.MarkEvent(ctx, ev.ID, ev.At)
	if err != nil {
		return "", fmt.Errorf("blast: recording event: %w", err)
	}
	if !first {
		return EventDuplicate, nil
	}
	if !e.providerReplied(ev) && !already {
		e.reply(ctx, ev, from, e.stopT)
	}
	e.notify()
	return EventApplied, nil
}

// stopSource is the evidence recorded with an opt-out (compliance.md
// SM-03): the canonical keyword or phrase that matched ("inbound STOP
// matched=OPTOUT"), "fuzzy" for a phrase a reasonable person reads as an
// opt-out, or the vendor's keyword verdict. Never the body. m is the
// library's own match of the body.
func stopSource(m provider.KeywordMatch) string {
	switch {
	case m.Keyword != provider.KeywordStop:
		return "inbound STOP matched=provider"
	case m.Fuzzy:
		return "inbound STOP matched=" + m.Matched + " fuzzy"
	}
	return "inbound STOP matched=" + m.Matched
}

// providerReplied reports whether the provider answered an inbound
// keyword itself, so the engine must not reply: the event says so
// (Twilio Advanced Opt-Out) or Config.ProviderKeywordReplies does. Never
// when the SMS provider redacts numbers: its keyword handling does not
// work then (compliance.md SM-08).
func (e *Engine) providerReplied(ev provider.Event) bool {
	if provider.RedactsNumbers(e.cfg.SMS) {
		return false
	}
	return ev.ProviderHandledOptOut || e.cfg.ProviderKeywordReplies
}

func (e *Engine) patientsByContact(ctx context.Context, orgID, contact string, k cohort.ChangeKind, at time.Time, source string) {
	ps, err := e.ps.FindByContact(ctx, orgID, contact)
	if err != nil {
		e.log.Error("finding patients by contact", "org", orgID, "err", err)
		return
	}
	for i := range ps {
		e.contactChange(ctx, orgID, ps[i].ID, k, at, source)
	}
}

// reply sends a compliance reply (STOP/START confirmation, HELP) to an
// inbound text's sender, through the SMS rate limiter. It is never
// counted in any blast.
func (e *Engine) reply(ctx context.Context, ev provider.Event, to string, t *render.Template) {
	if e.cfg.SMS == nil {
		return
	}
	org, err := e.org(ctx, ev.OrgID)
	if err != nil {
		e.log.Error("compliance reply", "org", ev.OrgID, "err", err)
		return
	}
	body := t.Render(render.Data{Org: &org})
	if t == e.helpT && e.cfg.HelpReply == HelpReplyDefault && org.SupportContact != "" {
		body = strings.TrimSpace(org.DisplayName()) + ": for help, " + org.SupportContact + ". Reply STOP to opt out, START to opt back in. Msg&data rates may apply."
	}
	if _, err := e.wait(ctx, e.limSMS, false); err != nil {
		return
	}
	msg := &provider.SMSMessage{ID: "reply-" + ev.ID, OrgID: ev.OrgID, To: to, From: ev.To, Body: body}
	if _, err := e.call(ctx, func(ctx context.Context) (provider.Result, error) { return e.cfg.SMS.SendSMS(ctx, msg) }); err != nil {
		e.log.Error("compliance reply failed", "org", ev.OrgID, "class", provider.Classify(err).String())
	}
}

// RecordOpen records an open of the email sent on ledger row rowID (from
// the tracking pixel). eventID deduplicates (pass a stable ID, or "" to
// count every call).
func (e *Engine) RecordOpen(ctx context.Context, orgID string, rowID int64, eventID string, at time.Time) error {
	return e.engagement(ctx, orgID, rowID, eventID, store.EventOpen, at)
}

// RecordClick records a click on a link of the email sent on row rowID.
func (e *Engine) RecordClick(ctx context.Context, orgID string, rowID int64, eventID string, at time.Time) error {
	return e.engagement(ctx, orgID, rowID, eventID, store.EventClick, at)
}

// RecordMachineOpen records an open made by software, not the patient
// (a mail privacy proxy such as Apple Mail Privacy Protection, or an
// image prefetch; compliance.md TR-04), with its reason ("apple_mpp",
// "prefetch"; letters, digits and underscores, else stored as "other").
// It is kept on the row (Message.MachineOpens, Summary.MachineOpened)
// for audit and never counted as an open: not in Opened, OpenRate,
// Engagement or Analytics. eventID deduplicates as for RecordOpen; when
// it is "" the engine makes a self-describing one,
// "machine_open:REASON:RECIPIENT:UUID" (RecipientID, no PHI), so a store
// that keeps only event IDs still holds the audit trail.
func (e *Engine) RecordMachineOpen(ctx context.Context, orgID string, rowID int64, eventID, reason string, at time.Time) error {
	return e.machineEngagement(ctx, orgID, rowID, eventID, store.EventMachineOpen, reason, at)
}

// RecordMachineClick records a click made by software (a link scanner
// such as Safe Links, or a HEAD request; compliance.md TR-05). It is
// stored like RecordMachineOpen and never counted as a click.
func (e *Engine) RecordMachineClick(ctx context.Context, orgID string, rowID int64, eventID, reason string, at time.Time) error {
	return e.machineEngagement(ctx, orgID, rowID, eventID, store.EventMachineClick, reason, at)
}

func (e *Engine) machineEngagement(ctx context.Context, orgID string, rowID int64, eventID string, k store.EventKind, reason string, at time.Time) error {
	reason = machineReason(reason, "other")
	if eventID == "" {
		eventID = string(k) + ":" + reason + ":" + RecipientID(orgID, rowID) + ":" + newID()
	}
	return e.recordEngagement(ctx, store.EventParams{EventID: eventID, OrgID: orgID, RowID: rowID, Kind: k, Reason: reason, At: at})
}

// machineReason keeps a machine reason to letters, digits and
// underscores (at most 32), so it can never carry PHI; "" or anything
// else becomes def.
func machineReason(r, def string) string {
	if r == "" || len(r) > 32 {
		return def
	}
	for _, c := range r {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return def
		}
	}
	return r
}

func (e *Engine) engagement(ctx context.Context, orgID string, rowID int64, eventID string, k store.EventKind, at time.Time) error {
	if eventID == "" {
		eventID = newID()
	}
	return e.recordEngagement(ctx, store.EventParams{EventID: eventID, OrgID: orgID, RowID: rowID, Kind: k, At: at})
}

func (e *Engine) recordEngagement(ctx context.Context, p store.EventParams) error {
	if p.At.IsZero() {
		p.At = e.now()
	}
	_, err := e.applyRowEvent(ctx, p)
	return err
}

// Unsubscribe unsubscribes the patient of ledger row rowID from marketing
// email (the unsubscribe link): the patient record is updated
// (cohort.ChangeEmailUnsubscribe) and the address is suppressed for
// marketing email of the organization. It is idempotent: a second call
// changes nothing and records no second patient change.
func (e *Engine) Unsubscribe(ctx context.Context, orgID string, rowID int64) error {
	r, err := e.st.Row(ctx, orgID, rowID)
	if err != nil {
		return fmt.Errorf("blast: %w", err)
	}
	at := e.now()
	if r.Address != "" {
		wrote, err := e.suppressOnce(ctx, orgID, carecast.Email, r.Address, supUnsubscribed, at)
		if err != nil {
			return fmt.Errorf("blast: recording unsubscribe: %w", err)
		}
		if !wrote {
			return nil // already unsubscribed (or wider): nothing changes
		}
	}
	c := cohort.ContactChange{PatientID: r.PatientID, Kind: cohort.ChangeEmailUnsubscribe, At: at, Source: "unsubscribe link"}
	err = e.ps.ApplyContactChange(ctx, orgID, c)
	if err != nil && !errors.Is(err, cohort.ErrNotFound) {
		return fmt.Errorf("blast: updating patient: %w", err)
	}
	if err == nil {
		e.auditConsent(ctx, ActorPatient, orgID, c)
	}
	return nil
}

// Resubscribe records that the patient with email address addr
// subscribed again to organization orgID's marketing email (the host's
// preference center; compliance.md J-02): the "unsubscribed" suppression
// the unsubscribe link or List-Unsubscribe wrote is lifted, the patients
// with that address get ChangeEmailResubscribe, and the change is audited
// with source (the actor comes from ctx, see WithActor). A hard bounce or
// a spam complaint stays suppressed. Marketing email resumes once the
// host's record also has the patient's EmailMarketingOptIn. It reports
// whether a suppression was lifted.
func (e *Engine) Resubscribe(ctx context.Context, orgID, addr, source string) (bool, error) {
	n, ok := eligibility.NormalizeEmail(addr)
	if !ok {
		return false, fmt.Errorf("blast: Resubscribe: not an email address: %w", ErrInvalid)
	}
	removed, err := e.st.Unsuppress(ctx, orgID, carecast.Email, n, []string{supUnsubscribed})
	if err != nil {
		return false, fmt.Errorf("blast: lifting the unsubscribe: %w", err)
	}
	ps, err := e.ps.FindByContact(ctx, orgID, n)
	if err != nil {
		return removed > 0, fmt.Errorf("blast: finding patients by email: %w", err)
	}
	now := e.now()
	for _, p := range ps {
		c := cohort.ContactChange{PatientID: p.ID, Kind: cohort.ChangeEmailResubscribe, At: now, Source: source}
		if err := e.ps.ApplyContactChange(ctx, orgID, c); err != nil {
			return removed > 0, fmt.Errorf("blast: recording the resubscribe: %w", err)
		}
		e.auditConsent(ctx, actorOf(ctx), orgID, c)
	}
	e.log.Info("email resubscribed", "org", orgID, "patients", len(ps), "lifted", removed > 0)
	return removed > 0, nil
}
