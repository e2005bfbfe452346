package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/carecast/carecast/blast/blasthttp"
)

// Issue 12 §4: the demo server sets every timeout (it set only
// ReadHeaderTimeout), and its write timeout outlasts a live progress
// stream, which blasthttp ends after LiveMaxDefault.
func TestServerTimeouts(t *testing.T) {
	s := newServer(http.NotFoundHandler())
	for name, d := range map[string]time.Duration{"ReadHeaderTimeout": s.ReadHeaderTimeout, "ReadTimeout": s.ReadTimeout,
		"WriteTimeout": s.WriteTimeout, "IdleTimeout": s.IdleTimeout} {
		if d <= 0 {
			t.Errorf("%s is not set", name)
		}
	}
	if s.WriteTimeout <= blasthttp.LiveMaxDefault {
		t.Errorf("WriteTimeout %s would cut the live stream (LiveMax %s)", s.WriteTimeout, blasthttp.LiveMaxDefault)
	}
}
