package blast

import (
	"context"
	"errors"

	"golang.org/x/sync/errgroup"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/eligibility"
)

// errLookupLate marks a line-type lookup not made: the batch's time for
// lookups was used up.
var errLookupLate = errors.New("blast: no time left for the line-type lookup")

// LookupConcurrency is how many line-type lookups (Config.LineTypes) one
// worker runs at once for a claimed batch.
const LookupConcurrency = 8

// lookupLineTypes looks up, for a claimed SMS batch, the numbers whose
// patient has no line type recorded (compliance.md SF-03): landlines are
// skipped as landline, and every answer is recorded on the patient at
// once (rows handed back unsent are not looked up twice). Lookups run
// LookupConcurrency at a time, each bounded by SendTimeout, and all of
// them within half the time the batch has left before its last send may
// start (w.deadline): a slow lookup service never lets the lease expire
// under rows not yet tried, which would leave them in doubt. A failure,
// or a lookup not made in time, leaves the text to be sent.
func (e *Engine) lookupLineTypes(ctx context.Context, p *prepared, w *worker) {
	var idx []int
	for i := range w.decs {
		if pat := w.rowPats[i]; pat != nil && w.decs[i].WillSend() && pat.PhoneLineType == carecast.LineUnknown {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return
	}
	types := make([]carecast.LineType, len(idx))
	errs := make([]error, len(idx))
	// The phase ends on the engine clock (no lookup starts after it) and
	// in real time (lookups in progress are cancelled).
	start := e.now()
	end := start.Add(w.deadline.Sub(start) / 2)
	pctx, cancel := context.WithTimeout(ctx, end.Sub(start))
	defer cancel()
	var g errgroup.Group
	g.SetLimit(LookupConcurrency)
	for k, i := range idx {
		g.Go(func() error {
			if !e.now().Before(end) {
				errs[k] = errLookupLate
				return nil
			}
			lctx, cancel := context.WithTimeout(pctx, e.cfg.SendTimeout)
			defer cancel()
			types[k], errs[k] = e.cfg.LineTypes.LookupLineType(lctx, w.decs[i].Address)
			return nil
		})
	}
	_ = g.Wait()
	failed := 0
	now := e.now()
	for k, i := range idx {
		if errs[k] != nil {
			failed++
			continue
		}
		var kind cohort.ChangeKind
		switch types[k] {
		case carecast.LineLandline:
			kind = cohort.ChangePhoneLandline
			w.decs[i] = eligibility.Decision{Reason: eligibility.Landline}
		case carecast.LineMobile:
			kind = cohort.ChangePhoneMobile
		case carecast.LineVoIP:
			kind = cohort.ChangePhoneVoIP
		default:
			continue
		}
		c := cohort.ContactChange{PatientID: w.rowPats[i].ID, Kind: kind, At: now, Source: "line type lookup"}
		if err := e.ps.ApplyContactChange(context.WithoutCancel(ctx), p.orgID, c); err != nil {
			e.log.Error("recording a line type", "org", p.orgID, "patient", c.PatientID, "err", err)
			continue
		}
		e.auditConsent(ctx, ActorProvider, p.orgID, c)
	}
	if failed > 0 {
		e.log.Warn("line-type lookups failed; the texts are sent anyway", "org", p.orgID, "blast", p.id, "failed", failed, "looked_up", len(idx))
	}
}
