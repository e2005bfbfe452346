package blast

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/store"
)

// SenderBlockGuard pauses a blast whose messages are refused for the
// sender's sake (provider.SenderBlocked: an SMTP 5.7.x reputation or
// policy block, Twilio 30007 carrier filtering, an unregistered 10DLC
// number or a suspended account; compliance.md BO-02, SF-01). Such
// refusals say nothing about the patients, who are never suppressed for
// them; sending on would only deepen the block. Once Threshold refusals
// of one blast were counted (at send time or from delivery events), the
// blast becomes StatusPaused with an alert — "domain_reputation_block"
// for email, "carrier_filtering" for Twilio 30007,
// "sender_configuration" for the others — logged, written to the audit
// trail and reported by Summary.Pause. Its queued rows wait, and rows
// refused at send time are queued again (with backoff, up to MaxAttempts),
// until Resume, after the sender was fixed, or Cancel.
type SenderBlockGuard struct {
	// Disabled turns the guard off: refused rows are retried and then
	// failed, and the blast is never paused.
	Disabled bool
	// Threshold is how many refusals pause a blast, counted per engine
	// process since the blast was sent or last resumed. Defaults to
	// SenderBlockThresholdDefault.
	Threshold int
}

// SenderBlockThresholdDefault is the default SenderBlockGuard.Threshold:
// enough to tell a block from one recipient's unusual server policy, few
// enough that a blocked campaign stops within a batch.
const SenderBlockThresholdDefault = 10

// The alerts a paused blast reports (Pause.Alert).
const (
	AlertDomainReputationBlock = "domain_reputation_block"
	AlertCarrierFiltering      = "carrier_filtering"
	AlertSenderConfiguration   = "sender_configuration"
)

// ErrNotPaused is returned by Resume for a blast that is not paused.
var ErrNotPaused = errors.New("blast: not paused")

// Pause describes why a blast was paused.
type Pause struct {
	// Alert is AlertDomainReputationBlock, AlertCarrierFiltering or
	// AlertSenderConfiguration.
	Alert string
	// Code is the vendor's code of the refusal that paused it ("550
	// 5.7.1", "30007").
	Code string
	// Refusals is how many refusals were counted.
	Refusals int
	// At is when the blast was paused.
	At time.Time
}

// alertFor names the alert of a sender refusal on channel ch with the
// vendor code.
func alertFor(ch carecast.Channel, code string) string {
	switch {
	case ch == carecast.Email:
		return AlertDomainReputationBlock
	case code == "30007":
		return AlertCarrierFiltering
	}
	return AlertSenderConfiguration
}

// senderBlocked counts one refusal of a blast's message for the sender's
// sake and pauses the blast at the threshold.
func (e *Engine) senderBlocked(ctx context.Context, orgID, blastID string, ch carecast.Channel, code string) {
	if e.cfg.SenderBlockGuard.Disabled {
		return
	}
	e.blockMu.Lock()
	e.blocked[blastID]++
	n := e.blocked[blastID]
	if n >= e.cfg.SenderBlockGuard.Threshold {
		delete(e.blocked, blastID)
	}
	e.blockMu.Unlock()
	if n < e.cfg.SenderBlockGuard.Threshold {
		return
	}
	now := e.now()
	paused := false
	_, err := e.updateBlast(context.WithoutCancel(ctx), orgID, blastID, func(b *store.Blast) error {
		paused = b.Status == store.BlastSending
		if paused {
			b.Status, b.UpdatedAt = store.BlastPaused, now
		}
		return nil
	})
	if err != nil {
		e.log.Error("pausing a blast", "org", orgID, "blast", blastID, "err", err)
		return
	}
	if !paused {
		return // already paused, completed or cancelled
	}
	e.markPaused(blastID)
	alert := alertFor(ch, code)
	e.log.Warn("blast paused: the provider refuses the sender", "org", orgID, "blast", blastID, "alert", alert, "code", code, "refusals", n)
	e.audit(ctx, store.AuditEntry{OrgID: orgID, At: now, Actor: ActorSystem, Action: "blast.paused", BlastID: blastID,
		Detail: fmt.Sprintf("alert=%s code=%s refusals=%d", alert, strings.ReplaceAll(code, " ", "_"), n)})
	e.notify()
}

// Resume sends a paused blast again, after the sender's problem was
// fixed (see SenderBlockGuard): its queued rows, and those refused while
// it was being paused, are sent. It returns ErrNotPaused for a blast
// that is not paused.
func (e *Engine) Resume(ctx context.Context, orgID, blastID string) (Blast, error) {
	now := e.now()
	sb, err := e.updateBlast(ctx, orgID, blastID, func(b *store.Blast) error {
		if b.Status != store.BlastPaused {
			return fmt.Errorf("blast %s is %s: %w", blastID, b.Status, ErrNotPaused)
		}
		b.Status, b.UpdatedAt = store.BlastSending, now
		return nil
	})
	if err != nil {
		return Blast{}, err
	}
	e.forget(blastID) // and its refusal count
	e.log.Info("blast resumed", "org", orgID, "blast", blastID)
	e.auditBlast(ctx, orgID, blastID, "blast.resumed", "version=%d", sb.Version)
	e.notify()
	return fromStore(&sb)
}

// pauseOf reads why a paused blast was paused from the audit trail (nil
// without one).
func (e *Engine) pauseOf(ctx context.Context, orgID, blastID string) *Pause {
	if e.auditLog == nil {
		return nil
	}
	var last *store.AuditEntry
	for after := int64(0); ; {
		page, err := e.auditLog.AuditEntries(ctx, store.AuditQuery{OrgID: orgID, BlastID: blastID, AfterSeq: after, Limit: 500})
		if err != nil || len(page) == 0 {
			break
		}
		for i := range page {
			if page[i].Action == "blast.paused" {
				last = &page[i]
			}
		}
		after = page[len(page)-1].Seq
	}
	if last == nil {
		return nil
	}
	p := &Pause{At: last.At}
	for _, f := range strings.Fields(last.Detail) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "alert":
			p.Alert = v
		case "code":
			p.Code = strings.ReplaceAll(v, "_", " ")
		case "refusals":
			fmt.Sscan(v, &p.Refusals)
		}
	}
	return p
}
