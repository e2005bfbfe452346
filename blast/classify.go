package blast

import (
	"context"
	"fmt"
	"iter"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/eligibility"
)

// Households says whether patients who share one phone number (SMS) or
// one email address (email) get one message between them or one each.
type Households string

// The Households options.
const (
	// HouseholdsDefault is the zero value: HouseholdsOne for marketing,
	// HouseholdsEach for transactional blasts (an appointment reminder or
	// a result notice is each patient's own).
	HouseholdsDefault Households = ""
	// HouseholdsOne sends one message per distinct address: the first
	// eligible patient of the address (in ascending patient ID order)
	// gets it, the others are skipped as shared_address
	// (eligibility.SharedAddress, the preview's "Shared address" row).
	HouseholdsOne Households = "one"
	// HouseholdsEach sends every eligible patient their own message,
	// however many share the address.
	HouseholdsEach Households = "each"
)

// Valid reports whether h is one of the options (the zero value too).
func (h Households) Valid() bool {
	return h == HouseholdsDefault || h == HouseholdsOne || h == HouseholdsEach
}

// collapse reports whether h, for a blast of purpose pu, sends one
// message per address.
func (h Households) collapse(pu carecast.Purpose) bool {
	switch h {
	case HouseholdsOne:
		return true
	case HouseholdsEach:
		return false
	}
	return pu == carecast.Marketing
}

// rules are what decides a blast's recipients: its organization, channel
// and purpose, the eligibility classifier, and whether households get
// one message.
type rules struct {
	orgID    string
	ch       carecast.Channel
	pu       carecast.Purpose
	cls      *eligibility.Classifier
	collapse bool
}

func (p *prepared) rules() *rules {
	return &rules{orgID: p.orgID, ch: p.ch, pu: p.pu, cls: p.cls, collapse: p.collapse}
}

// tally returns an eligibility tally for r (households collapsed when r
// says so).
func (r *rules) tally() *eligibility.Tally {
	t, err := eligibility.NewTally(r.ch, r.pu, &eligibility.PreviewOpts{Classifier: r.cls, CollapseShared: r.collapse})
	if err != nil {
		// ch and pu were checked when the blast was prepared.
		panic(fmt.Sprintf("blast: tally for a checked blast: %v", err))
	}
	return t
}

// classify decides each patient of one batch (nil: a patient no longer
// in the patient store, NoContact) and appends the decisions to decs.
// It is the one classification of the engine: Preview, Estimate,
// NewRecipients, the ledger writer and the send-time re-check all use
// it, so what the preview counts is what the ledger records. A patient
// is decided on their record together with the organization's
// suppression list (compliance.md J-01, J-02): a suppression of the
// patient's address counts as the record flag it stands for (STOP as
// SMSOptedOut; a hard or soft bounce, and for marketing a spam
// complaint, as EmailSuppressed; for marketing an unsubscribe as
// EmailUnsubscribed), so the reasons' precedence is the same whichever
// of the two holds the fact. An SMS number suppressed as unreachable
// (SoftFailures) is Suppressed when the patient is otherwise eligible.
// Households are not collapsed here (see rules.tally).
func (e *Engine) classify(ctx context.Context, r *rules, pats []*carecast.Patient, decs []eligibility.Decision) ([]eligibility.Decision, error) {
	// addrs[i] is pats[i]'s address ("" when none); lookup the distinct
	// ones the store is asked about.
	addrs := make([]string, len(pats))
	lookup := make([]string, 0, len(pats))
	for i, pat := range pats {
		if a, ok := r.cls.Address(pat, r.ch); ok {
			addrs[i] = a
			lookup = append(lookup, a)
		}
	}
	// Each address is normalised once: decide passes it on
	// (Classifier.ClassifyAt).
	var sup map[string]string
	if len(lookup) > 0 {
		sups, err := e.st.Suppressed(ctx, r.orgID, r.ch, lookup)
		if err != nil {
			return decs, fmt.Errorf("blast: reading suppressions: %w", err)
		}
		if len(sups) > 0 {
			sup = make(map[string]string, len(sups))
			for _, s := range sups {
				sup[s.Address] = s.Reason
			}
		}
	}
	for i, pat := range pats {
		if pat == nil {
			decs = append(decs, eligibility.Decision{Reason: eligibility.NoContact})
			continue
		}
		decs = append(decs, r.decide(pat, addrs[i], sup[addrs[i]]))
	}
	return decs, nil
}

// decide classifies one patient whose normalised address is addr ("" when
// none) and which the suppression list holds for reason ("" when it does
// not).
func (r *rules) decide(pat *carecast.Patient, addr, reason string) eligibility.Decision {
	if reason == "" {
		return r.cls.ClassifyAt(pat, r.ch, r.pu, addr, addr != "")
	}
	cp := *pat // the consent flags are values: the patient is not changed
	unreachable := false
	switch suppressionReason(reason, r.ch, r.pu) {
	case eligibility.OptedOut:
		cp.Consent.SMSOptedOut = true
	case eligibility.Unsubscribed:
		cp.Consent.EmailUnsubscribed = true
	case eligibility.Suppressed:
		if r.ch == carecast.Email {
			cp.Consent.EmailSuppressed = true
		} else {
			unreachable = true
		}
	}
	d := r.cls.ClassifyAt(&cp, r.ch, r.pu, addr, addr != "")
	if unreachable && d.WillSend() {
		d = eligibility.Decision{Reason: eligibility.Suppressed}
	}
	return d
}

// decideAll streams aud and calls f with each patient's final decision,
// in stream order: classify in batches of Config.LedgerBatch, then t
// (households). f's error stops the stream and is returned.
func (e *Engine) decideAll(ctx context.Context, r *rules, t *eligibility.Tally, aud iter.Seq2[carecast.Patient, error], f func(pat *carecast.Patient, d eligibility.Decision) error) error {
	n := max(e.cfg.LedgerBatch, 1)
	batch := make([]carecast.Patient, 0, n)
	ptrs := make([]*carecast.Patient, 0, n)
	var decs []eligibility.Decision
	flush := func() error {
		ptrs = ptrs[:0]
		for i := range batch {
			ptrs = append(ptrs, &batch[i])
		}
		var err error
		if decs, err = e.classify(ctx, r, ptrs, decs[:0]); err != nil {
			return err
		}
		for i := range batch {
			if err := f(&batch[i], t.AddDecision(decs[i])); err != nil {
				return err
			}
		}
		batch = batch[:0]
		return nil
	}
	for pat, err := range aud {
		if err != nil {
			return err
		}
		if batch = append(batch, pat); len(batch) == n {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// suppressionOf returns the skip reason the organization's suppression
// list imposes on address addr (normalised) for a blast decided by r
// (see suppressionReason), or Send when none does.
func (e *Engine) suppressionOf(ctx context.Context, r *rules, addr string) (eligibility.Reason, error) {
	sups, err := e.st.Suppressed(ctx, r.orgID, r.ch, []string{addr})
	if err != nil {
		return 0, fmt.Errorf("blast: reading suppressions: %w", err)
	}
	for _, s := range sups {
		if s.Address != addr {
			continue
		}
		if reason := suppressionReason(s.Reason, r.ch, r.pu); reason != eligibility.Send {
			return reason, nil
		}
	}
	return eligibility.Send, nil
}
