package blast

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/eligibility"
	"github.com/carecast/carecast/store"
)

// FrequencyCaps limits how many marketing texts one number gets in a
// rolling window (compliance.md TM-02). Florida (FTSA), Oklahoma (OTSA)
// and Maryland (Stop the Spam Calls Act) allow at most three solicitations
// "on the same subject" to a number in 24 hours, and Florida and Oklahoma
// presume that a number with an in-state area code is a resident's. The
// engine cannot tell one subject from another, so every marketing text
// the organization sent to the number counts: stricter than the statutes,
// never looser. Each claimed batch reads the counts of its capped
// numbers once (one store query), then adds the texts it sends itself;
// batches in flight on other workers at the same moment are not seen (a
// race that needs one number in two batches at once).
//
// A marketing text that would exceed its number's cap is not sent: its
// row is deferred and checked again every FrequencyRecheck until the
// window has room (like quiet hours, it is never dropped; Cancel ends the
// wait). Transactional texts (appointment reminders) are not
// solicitations and are never held. The caps need a store that
// implements store.SentCounter (every store of this module does); with
// another store they are not applied and New logs so.
type FrequencyCaps struct {
	// Disabled turns the caps off.
	Disabled bool
	// States maps a region code of the area-code table ("FL", …) to the
	// most marketing texts a number of that region may get in Window.
	// nil means StateFrequencyCaps() (FL, OK and MD: 3); an empty
	// non-nil map means none.
	States map[string]int
	// Window is the rolling window. Defaults to 24 hours.
	Window time.Duration
}

// FrequencyRecheck is how long a row held by a frequency cap waits before
// the engine checks its number again.
const FrequencyRecheck = time.Hour

// StateFrequencyCaps returns the built-in caps: three marketing texts per
// number in 24 hours for Florida, Oklahoma and Maryland area codes.
func StateFrequencyCaps() map[string]int {
	return map[string]int{"FL": 3, "MD": 3, "OK": 3}
}

// ErrStateFrequencyCap is the class of every *FrequencyCapError.
var ErrStateFrequencyCap = errors.New("blast: state frequency cap")

// FrequencyCapError says that one more marketing text to a number would
// exceed its state's cap. It names the state and the counts, never the
// number.
type FrequencyCapError struct {
	// State is the region code of the number's area code ("FL").
	State string
	// Cap is the state's limit and Sent the marketing texts the number
	// got in the last Window.
	Cap, Sent int
	Window    time.Duration
}

// Error implements error.
func (e *FrequencyCapError) Error() string {
	return fmt.Sprintf("blast: state frequency cap: %s allows %d marketing texts per number in %s; %d sent", e.State, e.Cap, e.Window, e.Sent)
}

// Unwrap returns ErrStateFrequencyCap.
func (e *FrequencyCapError) Unwrap() error { return ErrStateFrequencyCap }

// CheckFrequencyCap reports whether one more text of purpose pu from
// organization orgID may go to the number addr (E.164) now, under
// Config.FrequencyCaps. It returns nil when it may, a *FrequencyCapError
// (matching ErrStateFrequencyCap) when it may not, or the store's error.
// A transactional text is always allowed; when the cap would have held a
// marketing text, that is logged (organization and state, not the
// number). The engine applies the same check before each marketing text;
// hosts that send texts of their own can call it first.
func (e *Engine) CheckFrequencyCap(ctx context.Context, orgID string, pu carecast.Purpose, addr string) error {
	state, limit := e.frequencyCap(addr)
	if limit == 0 {
		return nil
	}
	counts, err := e.sentCounts(ctx, orgID, []string{addr})
	if err != nil {
		return err
	}
	n := counts[addr]
	if n < limit {
		return nil
	}
	if pu != carecast.Marketing {
		e.log.Info("frequency cap not applied to a transactional text", "org", orgID, "state", state, "sent", n, "cap", limit)
		return nil
	}
	return &FrequencyCapError{State: state, Cap: limit, Sent: n, Window: e.cfg.FrequencyCaps.Window}
}

// capCounts reads, once per claimed batch, the marketing texts sent in
// the window to the batch's numbers that have a cap.
func (e *Engine) capCounts(ctx context.Context, p *prepared, decs []eligibility.Decision) (map[string]int, error) {
	var addrs []string
	for _, d := range decs {
		if _, limit := e.frequencyCap(d.Address); limit > 0 && d.WillSend() {
			addrs = append(addrs, d.Address)
		}
	}
	if len(addrs) == 0 {
		return map[string]int{}, nil
	}
	return e.sentCounts(ctx, p.orgID, addrs)
}

// sentCounts returns the organization's marketing texts sent to each of
// addrs in the frequency window.
func (e *Engine) sentCounts(ctx context.Context, orgID string, addrs []string) (map[string]int, error) {
	counts, err := e.counter.SentCounts(ctx, orgID, carecast.SMS, carecast.Marketing, addrs, e.now().Add(-e.cfg.FrequencyCaps.Window))
	if err != nil {
		return nil, fmt.Errorf("blast: checking the frequency cap: %w", err)
	}
	return counts, nil
}

// capsOn reports whether the frequency caps apply: configured, and the
// store can count sends.
func (e *Engine) capsOn() bool {
	return e.counter != nil && !e.cfg.FrequencyCaps.Disabled && len(e.cfg.FrequencyCaps.States) > 0
}

// frequencyCap returns the region of addr's area code and its cap (0: no
// cap applies, or the caps are off).
func (e *Engine) frequencyCap(addr string) (string, int) {
	if !e.capsOn() {
		return "", 0
	}
	npa, ok := nanpAreaCode(addr)
	if !ok {
		return "", 0
	}
	region := e.npas[npa].region
	return region, e.cfg.FrequencyCaps.States[region]
}

// initFrequencyCaps finds the store's SentCounter.
func (e *Engine) initFrequencyCaps() {
	e.counter, _ = e.st.(store.SentCounter)
	if e.counter == nil && !e.cfg.FrequencyCaps.Disabled && len(e.cfg.FrequencyCaps.States) > 0 {
		e.log.Warn("the store does not implement store.SentCounter: state frequency caps (compliance.md TM-02) are not applied")
	}
}
