package blast

import (
	"context"
	"slices"
	"sync"
)

// batchGate is one worker's hold on the batch it is sending: Cancel and a
// sender-block pause reach the worker through it, also while it waits in
// a rate limiter. A worker passes the gate before each provider call
// (begin) and leaves it when the call has returned or the wait was given
// up (end); once the gate is halted no call can begin. Cancel halts the
// gates of the blast and then waits for the calls already begun to end,
// so no message of the blast goes out after Cancel returns.
type batchGate struct {
	mu        sync.Mutex
	blastID   string             // the batch's blast; "" between batches
	halted    bool               // cancelled or paused: no call may begin
	cancelled bool               // halted by Cancel
	busy      bool               // between begin and end
	idle      chan struct{}      // closed at end, for a fence waiting on busy (nil when none)
	stop      context.CancelFunc // ends the batch's limiter waits
}

// begin reports whether a provider call of the batch may start, marking
// the gate busy until end.
func (g *batchGate) begin() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.halted {
		return false
	}
	g.busy = true
	return true
}

// end marks the call (or the wait that preceded it) over.
func (g *batchGate) end() {
	g.mu.Lock()
	g.busy = false
	if g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
	g.mu.Unlock()
}

// state reports whether the gate is halted, and whether by Cancel.
func (g *batchGate) state() (halted, cancelled bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.halted, g.cancelled
}

// halt stops the gate (no call may begin, the batch's waits end) and
// returns a channel closed when a call already begun has ended, or nil
// when none is in progress. g.mu is held.
func (g *batchGate) haltLocked(cancel bool) <-chan struct{} {
	g.halted = true
	g.cancelled = g.cancelled || cancel
	if g.stop != nil {
		g.stop()
	}
	if !g.busy {
		return nil
	}
	if g.idle == nil {
		g.idle = make(chan struct{})
	}
	return g.idle
}

// batchGates is the engine's set of gates of batches being sent, at most
// one per worker.
type batchGates struct {
	mu    sync.Mutex
	gates []*batchGate
}

// open registers g for a batch of blastID whose waits stop ends. The
// caller then reads the blast's status from the store: a Cancel that
// committed before the registration is seen there, one that commits
// after finds the gate (see fence).
func (s *batchGates) open(g *batchGate, blastID string, stop context.CancelFunc) {
	g.mu.Lock()
	g.blastID, g.halted, g.cancelled, g.busy, g.stop = blastID, false, false, false, stop
	g.mu.Unlock()
	s.mu.Lock()
	s.gates = append(s.gates, g)
	s.mu.Unlock()
}

// close unregisters g at the end of its batch.
func (s *batchGates) close(g *batchGate) {
	s.mu.Lock()
	s.gates = slices.DeleteFunc(s.gates, func(x *batchGate) bool { return x == g })
	s.mu.Unlock()
	g.mu.Lock()
	g.blastID, g.stop = "", nil
	g.mu.Unlock()
}

// fence halts every gate of blastID's batches (cancel says whether by
// Cancel) and returns the channels to wait on for the provider calls
// already begun (see await).
func (s *batchGates) fence(blastID string, cancel bool) []<-chan struct{} {
	var wait []<-chan struct{}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.gates {
		g.mu.Lock()
		if g.blastID == blastID {
			if ch := g.haltLocked(cancel); ch != nil {
				wait = append(wait, ch)
			}
		}
		g.mu.Unlock()
	}
	return wait
}

// await waits for the channels fence returned, or until ctx ends.
func await(ctx context.Context, wait []<-chan struct{}) error {
	for _, ch := range wait {
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// claimCounts counts, per blast, the batches this process is claiming or
// holding (from just before ClaimRows until the batch's worker has
// recorded its outcomes and cancelled what it handed back). Cancel waits
// for a blast's count to reach zero, so the rows this process's workers
// had claimed are settled (sent, failed, in doubt or cancelled) when it
// counts what it cancelled.
type claimCounts struct {
	mu sync.Mutex
	m  map[string]*claimCount // bounded by the workers: at most one entry per batch in progress
}

type claimCount struct {
	n    int
	idle chan struct{} // closed when n drops to zero (nil until someone waits)
}

// add counts one batch of blastID.
func (c *claimCounts) add(blastID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*claimCount{}
	}
	cc := c.m[blastID]
	if cc == nil {
		cc = &claimCount{}
		c.m[blastID] = cc
	}
	cc.n++
}

// done uncounts one batch of blastID.
func (c *claimCounts) done(blastID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cc := c.m[blastID]
	if cc == nil {
		return
	}
	if cc.n--; cc.n == 0 {
		if cc.idle != nil {
			close(cc.idle)
		}
		delete(c.m, blastID)
	}
}

// idle returns a channel closed once no batch of blastID is counted, or
// nil when none is now.
func (c *claimCounts) idle(blastID string) []<-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	cc := c.m[blastID]
	if cc == nil {
		return nil
	}
	if cc.idle == nil {
		cc.idle = make(chan struct{})
	}
	return []<-chan struct{}{cc.idle}
}
