package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carecast/carecast/provider"
)

// sender is the bench's fake SMS provider: it accepts every message after
// an optional latency, counts it, and optionally records the send time
// (rate fidelity) or appends the recipient's index to a log file with one
// write(2) per message (crash rounds: a line survives the SIGKILL of the
// process that wrote it, so the log is what the provider "confirmed").
type sender struct {
	latency time.Duration
	sent    atomic.Int64

	mu       sync.Mutex
	times    []time.Time // when rec
	rec      bool
	log      *os.File
	logTimes bool // log lines carry the send time: "index unixnano"
}

var _ provider.SMSSender = (*sender)(nil)

func (s *sender) SendSMS(ctx context.Context, msg *provider.SMSMessage) (provider.Result, error) {
	if s.rec {
		s.mu.Lock()
		s.times = append(s.times, time.Now())
		s.mu.Unlock()
	}
	if s.latency > 0 {
		t := time.NewTimer(s.latency)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return provider.Result{}, &provider.Error{Class: provider.Transient, Message: "timeout", Err: ctx.Err()}
		}
	}
	n := s.sent.Add(1)
	if s.log != nil {
		line := strconv.Itoa(indexOfPhone(msg.To))
		if s.logTimes {
			line += " " + strconv.FormatInt(time.Now().UnixNano(), 10)
		}
		if _, err := s.log.Write([]byte(line + "\n")); err != nil {
			return provider.Result{}, &provider.Error{Class: provider.Ambiguous, Message: "log write failed", Err: err}
		}
	}
	return provider.Result{ProviderMessageID: fmt.Sprintf("BM%d-%d", os.Getpid(), n), Segments: 1}, nil
}
