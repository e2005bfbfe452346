package blasthttp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/carecast/carecast/blast"
)

// Defaults of the live progress stream.
const (
	// LiveIntervalDefault is the least time between two events.
	LiveIntervalDefault = 500 * time.Millisecond
	// LiveMaxDefault is how long one stream lasts before the server ends
	// it; an EventSource reconnects by itself.
	LiveMaxDefault = 5 * time.Minute
)

// live streams the delivery summary as server-sent events while a blast is
// sending: one "summary" event at once, then one after each change of the
// engine (at most one per Config.LiveInterval), until the blast is settled
// (completed, or cancelled with nothing pending), the client goes away or
// Config.LiveMax passes.
func (h *Handler) live(w http.ResponseWriter, r *request) error {
	ctx := r.Context()
	changed := h.cfg.Engine.Changed() // taken before the first read: no change is missed
	s, err := h.cfg.Engine.Summary(ctx, r.org, r.blastID)
	if err != nil {
		return err // not found, before any byte of the stream
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	end := time.NewTimer(h.cfg.LiveMax)
	defer end.Stop()
	for {
		if err := writeEvent(w, rc, "summary", summaryJSON(&s)); err != nil {
			return nil // the client went away
		}
		if settled(&s) {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil
		case <-end.C:
			return nil
		}
		pause := time.NewTimer(h.cfg.LiveInterval)
		select {
		case <-pause.C:
		case <-ctx.Done():
			pause.Stop()
			return nil
		}
		changed = h.cfg.Engine.Changed()
		if s, err = h.cfg.Engine.Summary(ctx, r.org, r.blastID); err != nil {
			if ctx.Err() == nil {
				h.log.ErrorContext(ctx, "blasthttp: live summary failed", "org", r.org, "blast", r.blastID, "err", err)
				_ = writeEvent(w, rc, "error", map[string]string{"code": "internal", "message": "internal error"})
			}
			return nil
		}
	}
}

// settled reports whether a blast's summary will not change any more
// except through engagement events (opens, clicks, replies).
func settled(s *blast.Summary) bool {
	return s.Status == blast.StatusCompleted || s.Status == blast.StatusCancelled && s.Pending == 0
}

func writeEvent(w http.ResponseWriter, rc *http.ResponseController, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b); err != nil {
		return err
	}
	return rc.Flush()
}
