package blast

import (
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/google/uuid"

	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/render"
)

// withDefaults returns a copy of c with every zero field defaulted.
func (c Config) withDefaults() Config {
	if c.Pricing == nil {
		p := render.DefaultPricing()
		c.Pricing = &p
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.InstanceID == "" {
		c.InstanceID = uuid.NewString() // random: distinct per process
	}
	setDefault(&c.Workers, WorkersDefault)
	setDefault(&c.BatchSize, BatchSizeDefault)
	setDefault(&c.LedgerBatch, LedgerBatchDefault)
	setDefault(&c.Lease, LeaseDefault)
	setDefault(&c.MaxAttempts, MaxAttemptsDefault)
	setDefault(&c.BackoffBase, BackoffBaseDefault)
	setDefault(&c.BackoffMax, BackoffMaxDefault)
	setDefault(&c.SendTimeout, SendTimeoutDefault)
	setDefault(&c.SMSRate, SMSRateDefault)
	setDefault(&c.EmailRate, EmailRateDefault)
	setDefault(&c.SMSBurst, 1)
	setDefault(&c.EmailBurst, 1)
	setDefault(&c.PollInterval, PollIntervalDefault)
	setDefault(&c.CompiledCacheBytes, CompiledCacheBytesDefault)
	setDefault(&c.ReplyWindow, ReplyWindowDefault)
	setDefault(&c.HelpReply, HelpReplyDefault)
	setDefault(&c.StopReply, StopReplyDefault)
	setDefault(&c.StartReply, StartReplyDefault)
	if c.QuietHours.Start == 0 && c.QuietHours.End == 0 {
		c.QuietHours.Start, c.QuietHours.End = 8*time.Hour, 21*time.Hour
	}
	setDefault(&c.FrequencyCaps.Window, 24*time.Hour)
	setDefault(&c.ComplaintGuard.WarnRate, 0.001)
	setDefault(&c.ComplaintGuard.BlockRate, 0.003)
	setDefault(&c.ComplaintGuard.RecoveryDays, 7)
	setDefault(&c.SenderBlockGuard.Threshold, SenderBlockThresholdDefault)
	setDefault(&c.SoftFailures.Count, 3)
	setDefault(&c.SoftFailures.Span, 72*time.Hour)
	setDefault(&c.SoftFailures.Window, 7*24*time.Hour)
	if c.FrequencyCaps.States == nil {
		c.FrequencyCaps.States = StateFrequencyCaps()
	} else {
		c.FrequencyCaps.States = maps.Clone(c.FrequencyCaps.States)
	}
	if c.QuietHours.States == nil {
		c.QuietHours.States = StateQuietHours()
	} else {
		c.QuietHours.States = maps.Clone(c.QuietHours.States) // the caller may change theirs
	}
	return c
}

func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}

// validate reports the first invalid field of a defaulted Config.
func (c *Config) validate() error {
	bad := func(field, problem string) error { return &ConfigError{Field: field, Problem: problem} }
	switch {
	case c.Store == nil:
		return bad("Store", "required")
	case c.Patients == nil:
		return bad("Patients", "required")
	case c.Cohorts == nil:
		return bad("Cohorts", "required")
	case c.Organizations == nil:
		return bad("Organizations", "required")
	case c.ProviderKeywordReplies && c.SMS != nil && provider.RedactsNumbers(c.SMS):
		return &ConfigError{Field: "ProviderKeywordReplies", Err: ErrKeywordHandlingRequired,
			Problem: "the SMS provider redacts numbers, so its STOP, START and HELP handling does not work: the engine must answer them (compliance.md SM-08)"}
	case c.Workers < 1:
		return bad("Workers", "must be at least 1")
	case c.BatchSize < 1:
		return bad("BatchSize", "must be at least 1")
	case c.LedgerBatch < 1:
		return bad("LedgerBatch", "must be at least 1")
	case c.CompiledCacheBytes < 0:
		return bad("CompiledCacheBytes", "must not be negative")
	case c.MaxAttempts < 1:
		return bad("MaxAttempts", "must be at least 1")
	case c.SendTimeout <= 0:
		return bad("SendTimeout", "must be positive")
	case c.Lease < 2*c.SendTimeout:
		return bad("Lease", fmt.Sprintf("must be at least 2×SendTimeout (%s)", 2*c.SendTimeout))
	case c.BackoffBase <= 0:
		return bad("BackoffBase", "must be positive")
	case c.BackoffMax < c.BackoffBase:
		return bad("BackoffMax", "must not be shorter than BackoffBase")
	case c.SMSRate < 0 && c.SMSRate != RateUnlimited:
		return bad("SMSRate", "must be positive or RateUnlimited")
	case c.EmailRate < 0 && c.EmailRate != RateUnlimited:
		return bad("EmailRate", "must be positive or RateUnlimited")
	case c.SMSBurst < 1:
		return bad("SMSBurst", "must be at least 1")
	case c.EmailBurst < 1:
		return bad("EmailBurst", "must be at least 1")
	case c.SMSRate > 1e6 || c.EmailRate > 1e6:
		return bad("SMSRate", "must not exceed 1,000,000 per second (use RateUnlimited)")
	case c.PollInterval <= 0:
		return bad("PollInterval", "must be positive")
	case c.ReplyWindow <= 0:
		return bad("ReplyWindow", "must be positive")
	case !c.QuietHours.Disabled && !(QuietWindow{Start: c.QuietHours.Start, End: c.QuietHours.End}).valid():
		return bad("QuietHours", "need 0 ≤ Start < End ≤ 24h")
	case c.FrequencyCaps.Window < 0:
		return bad("FrequencyCaps.Window", "must be positive")
	case !(c.ComplaintGuard.WarnRate > 0 && c.ComplaintGuard.WarnRate <= c.ComplaintGuard.BlockRate && c.ComplaintGuard.BlockRate < 1):
		return bad("ComplaintGuard", "need 0 < WarnRate ≤ BlockRate < 1")
	case c.DebugLogBodies && c.DebugLogBodiesUntil.IsZero():
		return bad("DebugLogBodiesUntil", "debug body logging needs an expiry")
	case c.DebugLogBodies && c.DebugLogBodiesUntil.Sub(c.Clock.Now()) > DebugLogBodiesMax:
		return bad("DebugLogBodiesUntil", fmt.Sprintf("debug body logging may last at most %s", DebugLogBodiesMax))
	case c.SoftFailures.Count < 1 || c.SoftFailures.Span < 0 || c.SoftFailures.Window <= c.SoftFailures.Span:
		return bad("SoftFailures", "need Count ≥ 1 and 0 ≤ Span < Window")
	case c.SenderBlockGuard.Threshold < 1:
		return bad("SenderBlockGuard.Threshold", "must be at least 1")
	case c.ComplaintGuard.RecoveryDays < 1:
		return bad("ComplaintGuard.RecoveryDays", "must be at least 1")
	}
	for state, n := range c.FrequencyCaps.States {
		if n < 1 {
			return bad("FrequencyCaps.States", fmt.Sprintf("the cap of %q must be at least 1, got %d", state, n))
		}
	}
	if c.QuietHours.DefaultZone != "" {
		if _, err := time.LoadLocation(c.QuietHours.DefaultZone); err != nil {
			return bad("QuietHours.DefaultZone", "unknown IANA time zone")
		}
	}
	for region, w := range c.QuietHours.States {
		if !w.valid() {
			return bad("QuietHours.States", "window of "+region+" needs 0 ≤ Start < End ≤ 24h")
		}
	}
	for _, l := range c.SenderLimits {
		if !(l.Rate > 0) || l.Rate > 1e6 || l.Burst < 0 {
			return bad("SenderLimits", "every Rate must be in (0, 1e6] and every Burst ≥ 0")
		}
	}
	for _, t := range []struct{ field, text string }{{"HelpReply", c.HelpReply}, {"StopReply", c.StopReply}, {"StartReply", c.StartReply}} {
		if _, err := render.ParseTemplate(t.text); err != nil {
			return bad(t.field, "invalid template: "+err.Error())
		}
	}
	return nil
}
