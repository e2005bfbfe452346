package blast

import (
	"context"
	"fmt"
	"time"

	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/store"
)

// Actors of audit entries that no staff user caused.
const (
	// ActorSystem: the engine itself (a ledger written, a scheduled
	// blast started, a consent change found while sending).
	ActorSystem = "system"
	// ActorProvider: a provider webhook (a delivery, a bounce, a STOP).
	ActorProvider = "provider"
	// ActorPatient: the patient (the unsubscribe link).
	ActorPatient = "patient"
)

type actorKey struct{}

// WithActor returns a context that names the staff user (an opaque ID,
// never a name) on whose behalf the engine acts: the audit trail records
// them as the actor of the blasts they create, update, send, schedule,
// cancel, retry, extend or duplicate with that context. blasthttp sets it
// from its Config.User. Without it the actor is ActorSystem.
func WithActor(ctx context.Context, userID string) context.Context {
	return context.WithValue(ctx, actorKey{}, userID)
}

// actorOf returns the context's actor, or ActorSystem.
func actorOf(ctx context.Context) string {
	if a := staffOf(ctx); a != "" {
		return a
	}
	return ActorSystem
}

// staffOf returns the staff user WithActor named, or "" when none did.
func staffOf(ctx context.Context) string {
	a, _ := ctx.Value(actorKey{}).(string)
	return a
}

// audit appends entries to the store's audit trail (compliance.md HI-09)
// when it keeps one: a missing actor is the context's, a missing time now.
// A failure is logged, never returned: the action already happened.
func (e *Engine) audit(ctx context.Context, entries ...store.AuditEntry) {
	if e.auditLog == nil {
		return
	}
	now := e.now()
	for i := range entries {
		if entries[i].Actor == "" {
			entries[i].Actor = actorOf(ctx)
		}
		if entries[i].At.IsZero() {
			entries[i].At = now
		}
	}
	if err := e.auditLog.AppendAudit(context.WithoutCancel(ctx), entries); err != nil {
		e.log.Error("writing the audit trail", "org", entries[0].OrgID, "action", entries[0].Action, "err", err)
	}
}

// auditBlast records a blast action with a detail.
func (e *Engine) auditBlast(ctx context.Context, orgID, blastID, action, format string, args ...any) {
	e.audit(ctx, store.AuditEntry{OrgID: orgID, Action: action, BlastID: blastID, Detail: fmt.Sprintf(format, args...)})
}

// auditConsent records a patient's consent or contact change.
func (e *Engine) auditConsent(ctx context.Context, actor, orgID string, c cohort.ContactChange) {
	e.audit(ctx, store.AuditEntry{OrgID: orgID, At: c.At, Actor: actor, Action: "consent." + string(c.Kind), PatientID: c.PatientID, Detail: c.Source})
}

// AuditTrail returns organization orgID's audit entries (of blast blastID
// when not empty) after afterSeq, oldest first, at most limit. It fails
// when the store keeps no audit trail (store.AuditLog).
func (e *Engine) AuditTrail(ctx context.Context, orgID, blastID string, afterSeq int64, limit int) ([]store.AuditEntry, error) {
	if e.auditLog == nil {
		return nil, fmt.Errorf("blast: AuditTrail: the store does not implement store.AuditLog")
	}
	out, err := e.auditLog.AuditEntries(ctx, store.AuditQuery{OrgID: orgID, BlastID: blastID, AfterSeq: afterSeq, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("blast: reading the audit trail: %w", err)
	}
	return out, nil
}

// initAudit finds the store's audit log.
func (e *Engine) initAudit() {
	if al, ok := e.st.(store.AuditLog); ok {
		e.auditLog = al
	} else {
		e.log.Warn("the store does not implement store.AuditLog: no audit trail (compliance.md HI-09) is kept")
	}
	if e.cfg.DebugLogBodies && e.now().Before(e.cfg.DebugLogBodiesUntil) {
		e.log.Warn("DEBUG: message bodies are logged at debug level (they contain PHI)", "until", e.cfg.DebugLogBodiesUntil, "instance", e.cfg.InstanceID)
		e.audit(context.Background(), store.AuditEntry{OrgID: "*", Actor: ActorSystem, Action: "debug.log_bodies",
			Detail: "until=" + e.cfg.DebugLogBodiesUntil.UTC().Format(time.RFC3339) + " instance=" + e.cfg.InstanceID})
	}
}

// debugBody logs a rendered body while Config.DebugLogBodies is on and
// not expired.
func (e *Engine) debugBody(p *prepared, rowID int64, body string) {
	if e.cfg.DebugLogBodies && e.now().Before(e.cfg.DebugLogBodiesUntil) {
		e.log.Debug("DEBUG message body", "org", p.orgID, "blast", p.id, "row", rowID, "body", body)
	}
}
