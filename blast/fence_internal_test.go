package blast

import (
	"context"
	"testing"
)

// A fence halts only the gates of its blast, ends their waits, and waits
// only for calls already begun; a halted gate lets no call begin.
func TestBatchGatesFence(t *testing.T) {
	var s batchGates
	var a, b, c batchGate
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	s.open(&a, "blast-1", stopA)
	s.open(&b, "blast-2", stopB)
	s.open(&c, "blast-1", func() {})
	if !a.begin() {
		t.Fatal("an open gate refused a call")
	}
	wait := s.fence("blast-1", true)
	if len(wait) != 1 {
		t.Fatalf("waiting for %d calls, want 1 (a's)", len(wait))
	}
	if ctxA.Err() == nil {
		t.Fatal("the fenced batch's waits were not ended")
	}
	if ctxB.Err() != nil {
		t.Fatal("another blast's batch was stopped")
	}
	if halted, cancelled := c.state(); !halted || !cancelled {
		t.Fatalf("idle gate of the blast: halted %v cancelled %v", halted, cancelled)
	}
	if c.begin() {
		t.Fatal("a halted gate let a call begin")
	}
	if !b.begin() {
		t.Fatal("another blast's gate refused a call")
	}
	b.end()
	select {
	case <-wait[0]:
		t.Fatal("the fence returned before the call in progress ended")
	default:
	}
	a.end()
	if err := await(context.Background(), wait); err != nil {
		t.Fatal(err)
	}
	// A pause halts without cancelling, and a closed gate is out of reach.
	s.close(&b)
	if w := s.fence("blast-2", false); len(w) != 0 {
		t.Fatalf("a closed gate was fenced")
	}
	if halted, _ := b.state(); halted {
		t.Fatal("a closed gate was halted")
	}
	s.open(&b, "blast-2", stopB)
	s.fence("blast-2", false)
	if halted, cancelled := b.state(); !halted || cancelled {
		t.Fatalf("paused gate: halted %v cancelled %v", halted, cancelled)
	}
	// await gives up with ctx.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.close(&a)
	s.open(&a, "blast-3", func() {}) // a new batch: the gate is open again
	if !a.begin() {
		t.Fatal("a reopened gate refused a call")
	}
	if err := await(ctx, s.fence("blast-3", true)); err != context.Canceled {
		t.Fatalf("await with a done ctx: %v", err)
	}
}
