package blast

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/render"
	"github.com/carecast/carecast/store"
)

// Defaults of the Config fields.
const (
	// WorkersDefault is the default number of sending goroutines.
	WorkersDefault = 8
	// BatchSizeDefault is the default number of rows claimed at once.
	BatchSizeDefault = 200
	// LedgerBatchDefault is the default number of rows written per
	// InsertRows call when a ledger is written.
	LedgerBatchDefault = 1000
	// LeaseDefault is the default lease on claimed rows.
	LeaseDefault = 2 * time.Minute
	// MaxAttemptsDefault is the default number of provider calls made
	// for one row before a retryable failure becomes final.
	MaxAttemptsDefault = 5
	// BackoffBaseDefault and BackoffMaxDefault bound the retry delay.
	BackoffBaseDefault = 30 * time.Second
	BackoffMaxDefault  = 30 * time.Minute
	// SendTimeoutDefault bounds one provider call.
	SendTimeoutDefault = 30 * time.Second
	// SMSRateDefault and EmailRateDefault are messages per second.
	SMSRateDefault   = 50
	EmailRateDefault = 100
	// PollIntervalDefault is how often idle workers look for due rows
	// (deferred retries, scheduled blasts, expired leases).
	PollIntervalDefault = time.Second
	// ReplyWindowDefault is how long after a send an inbound text counts
	// as a reply to it.
	ReplyWindowDefault = 7 * 24 * time.Hour
	// HelpReplyDefault is the answer to HELP; {{organization_name}} is
	// the organization's name.
	HelpReplyDefault = "{{organization_name}}: for help, contact your clinic. Reply STOP to opt out, START to opt back in. Msg&data rates may apply."
	// StopReplyDefault is the one confirmation sent after STOP. It is
	// also the clarification compliance.md SM-04 asks for: a STOP holds
	// every text of the organization, appointment reminders included,
	// until the patient texts START, and the confirmation says so.
	StopReplyDefault = "{{organization_name}}: you are unsubscribed and will receive no more texts, appointment reminders included, until you reply START."
	// CompiledCacheBytesDefault is the default bound of the compiled-blast
	// cache (Config.CompiledCacheBytes): a few of the largest emails
	// (EmailMaxMessageBytes), or thousands of texts.
	CompiledCacheBytesDefault = 128 << 20
	// StartReplyDefault is the confirmation sent after START.
	StartReplyDefault = "{{organization_name}}: you are resubscribed to messages. Reply STOP to opt out."
)

// RateUnlimited, as a Config rate, disables rate limiting of a provider.
const RateUnlimited = -1

// Limit is a rate limit: Rate messages a second with bursts of Burst.
// Over any one-second window at most floor(Rate)+Burst messages go out.
type Limit struct {
	Rate  float64
	Burst int
}

// QuietHours is when texts may be sent (compliance.md TM-01). A text —
// marketing or transactional, unless the blast is marked urgent
// (Draft.Urgent) — goes out only when both of these windows allow it:
//
//   - the patient's window: Start–End in Patient.TimeZone;
//   - the number's window: Start–End, or its state's stricter window
//     (States), in the time zone of the number's area code (see
//     LookupAreaCode). Florida and Oklahoma presume an in-state area code
//     belongs to a resident.
//
// A Patient.TimeZone that is empty or not a known IANA zone counts as
// unknown. When only one of the two zones is known, only that window
// applies (the organization's zone is not used in place of the
// patient's when the area code is known: the number is better evidence);
// when neither is (no patient zone, a non-NANP or unknown area code),
// Start–End in DefaultZone applies. Rows due outside the windows are
// deferred to the earliest instant all of them are open, never dropped;
// urgent texts and email are not held.
type QuietHours struct {
	// Disabled turns quiet hours off.
	Disabled bool
	// Start is when sending may begin (default 8h: 08:00). Start and End
	// are offsets from local midnight; together they are the federal
	// window (47 CFR 64.1200(c)(1)) applied in every zone.
	Start time.Duration
	// End is when sending must stop (default 21h: 21:00). End must be
	// after Start. Start and End default together: both zero means
	// 08:00–21:00.
	End time.Duration
	// States maps a region code of the area-code table ("FL", "OK",
	// "MD", …) to its own window, applied in the number's zone instead of
	// Start–End. nil means StateQuietHours() (FL, OK and MD:
	// 08:00–20:00); an empty non-nil map means none.
	States map[string]QuietWindow
	// NoStateRules, when true, ignores States: every number gets
	// Start–End in its area code's zone. State rules are on by default.
	NoStateRules bool
	// NoAreaCode, when true, ignores the number's area code: only the
	// patient's zone (or DefaultZone) is checked.
	NoAreaCode bool
	// Strictest, when true, applies the narrowest of Start–End and every
	// States window to every number (the "strictest default" profile:
	// 08:00–20:00 everywhere with the built-in table).
	Strictest bool
	// DefaultZone is the IANA zone used when neither the patient's zone
	// nor the number's area code is known. "" means the organization's
	// time zone, else UTC. An alternative some hosts choose is the
	// intersection of every US zone (about 14:00–20:00 Eastern when
	// Hawaii is included); set Start, End and DefaultZone to express it.
	DefaultZone string
}

// QuietWindow is a daily sending window: Start and End are offsets from
// local midnight, Start < End ≤ 24h, End exclusive.
type QuietWindow struct {
	Start time.Duration
	End   time.Duration
}

// Organizations looks up an organization (name, time zone, phone region)
// by ID. Hosts implement it over their own tenant table.
type Organizations interface {
	// Organization returns the organization with the ID, or an error
	// wrapping store.ErrNotFound.
	Organization(ctx context.Context, orgID string) (carecast.Organization, error)
}

// OrgMap is an Organizations backed by a map, for tests and small hosts.
type OrgMap map[string]carecast.Organization

// Organization implements Organizations.
func (m OrgMap) Organization(_ context.Context, orgID string) (carecast.Organization, error) {
	o, ok := m[orgID]
	if !ok {
		return carecast.Organization{}, fmt.Errorf("blast: organization %q: %w", orgID, store.ErrNotFound)
	}
	return o, nil
}

// Config configures an Engine. Fields marked required must be set; every
// other field's zero value selects the documented default. New validates
// it and returns a *ConfigError naming the first bad field.
type Config struct {
	// Store persists blasts and the ledger. Required.
	Store store.Store
	// Patients is the host's patient store. Required.
	Patients cohort.PatientStore
	// Cohorts stores the saved cohorts blasts target. Required.
	Cohorts cohort.Store
	// Organizations resolves organization IDs. Required.
	Organizations Organizations

	// SMS sends texts; nil disables SMS blasts (Send fails with a
	// *ValidationError).
	SMS provider.SMSSender
	// Email sends email; nil disables email blasts.
	Email provider.EmailSender
	// LineTypes, when not nil, looks up the line type of a number whose
	// patient has none recorded (PhoneLineType unknown) before its first
	// text: landlines are skipped with the landline reason instead of
	// failing, and every answer is recorded on the patient through
	// Patients.ApplyContactChange, so each number is looked up once
	// (compliance.md SF-03; twilio.Client implements it with Lookup v2,
	// which Twilio bills per request). A failed lookup never holds the
	// text: it is sent, and a landline answer from the carrier still
	// marks the number. nil skips lookups.
	LineTypes provider.LineTypeLookup
	// DomainVerifier checks that an organization's sending domain is
	// verified for a purpose before an email blast is sent. nil skips
	// the check (document that choice in your host).
	DomainVerifier provider.DomainVerifier

	// Pricing prices messages for estimates and recorded costs.
	// Defaults to render.DefaultPricing().
	Pricing *render.Pricing
	// Clock is the source of time. Defaults to SystemClock{}.
	Clock Clock
	// Logger receives operational logs (IDs and counts only, never
	// PHI). Defaults to a logger that discards everything.
	Logger *slog.Logger
	// DebugLogBodies, for a support investigation, also logs every
	// rendered message body at debug level — PHI in the logs, so it is
	// off by default, must expire (DebugLogBodiesUntil, at most
	// DebugLogBodiesMax after New; New refuses it otherwise) and is
	// announced at warning level and written to the audit trail under
	// organization "*" when the engine is built (compliance.md HI-04).
	DebugLogBodies      bool
	DebugLogBodiesUntil time.Time
	// InstanceID names this engine instance in row leases. Defaults to
	// a random ID. Instances sharing a store must use distinct IDs.
	InstanceID string

	// Workers is the number of sending goroutines Start runs. Defaults to
	// WorkersDefault.
	Workers int
	// BatchSize is the most rows a worker claims at once. Defaults to
	// BatchSizeDefault. With a rate limit a batch is at most
	// Rate/Workers rows, so all workers together hold about one second of
	// the provider's rate and one organization's large blast cannot hold
	// rows it is not ready to send while another waits.
	BatchSize int
	// LedgerBatch is the number of rows per ledger insert. Defaults to
	// LedgerBatchDefault.
	LedgerBatch int
	// Lease is how long claimed rows stay leased. A worker stops sending
	// from a batch when less than SendTimeout of its lease is left and
	// hands the rest back. Must be at least 2×SendTimeout. Defaults to
	// LeaseDefault.
	Lease time.Duration
	// MaxAttempts is the most provider calls for one row before a
	// transient or rate-limited failure becomes final (failed). Defaults
	// to MaxAttemptsDefault; 1 disables automatic retries.
	MaxAttempts int
	// BackoffBase and BackoffMax shape the retry delay: attempt n (1 for
	// the first retry) waits BackoffBase·2^(n-1), capped at BackoffMax,
	// with "equal jitter" (half fixed, half random), and never less than
	// the provider's Retry-After. Default to BackoffBaseDefault and
	// BackoffMaxDefault.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// SendTimeout bounds each provider call, in real time (it bounds
	// network I/O, so it does not follow Clock): a call is cancelled at
	// most SendTimeout after it starts, and at least 3/4 of it (a
	// worker's consecutive fast calls share one deadline). Defaults to
	// SendTimeoutDefault.
	SendTimeout time.Duration
	// SMSRate and EmailRate are the most messages per second sent through
	// each provider; SMSBurst and EmailBurst the extra messages allowed
	// at once. Over any one-second window the engine never sends more
	// than floor(Rate)+Burst messages, retries included. Rates default to
	// SMSRateDefault and EmailRateDefault; RateUnlimited disables the
	// limit. Bursts default to 1.
	SMSRate    float64
	SMSBurst   int
	EmailRate  float64
	EmailBurst int
	// SenderLimits adds a rate limit per sender (the draft's From: a
	// phone number, short code, messaging-service ID or email address),
	// on top of the channel's limit; for example a US long code at 1
	// text a second inside a messaging service allowed 50. A zero Burst
	// means 1. Senders not listed share only the channel's limit.
	SenderLimits map[string]Limit
	// NoSharedRateBudget, when true, keeps rate limits per process even
	// if Store implements store.RateBudget. By default a store that
	// implements it (sqlitestore, pgstore, memstore) makes the limits
	// hold across every engine process sharing it ("carecast:sms" and
	// "carecast:email" budgets), at the cost of one store call per about
	// 50 ms of the rate.
	NoSharedRateBudget bool
	// QuietHours holds texts (all but urgent ones) outside the patient's and the
	// number's windows. Defaults to 08:00–21:00 in the patient's zone and
	// in the number's area-code zone, with the state windows of
	// StateQuietHours.
	QuietHours QuietHours
	// FrequencyCaps holds marketing texts to a number that already got
	// its state's most in the rolling window. Defaults to
	// StateFrequencyCaps over 24 hours.
	FrequencyCaps FrequencyCaps
	// ComplaintGuard pauses marketing email from a sending domain whose
	// complaint rate reached Gmail's limit. Defaults to a 0.1% warning,
	// a 0.3% block and 7 days to recover.
	ComplaintGuard ComplaintGuard
	// RequirePEWC sends marketing texts only to patients with complete
	// prior express written consent for their current number
	// (carecast.Consent.SMSMarketingConsent; compliance.md SM-01); the
	// others are skipped as no_pewc, which replaces "not opted in" for
	// marketing texts. Off by default, for hosts that keep only the
	// opt-in flag; a host that records the evidence should turn it on.
	RequirePEWC bool
	// SoftFailures suppresses an address whose messages keep failing
	// softly (a full mailbox, an unreachable handset). Defaults to 3
	// failures at least 72 hours apart within 7 days.
	SoftFailures SoftFailures
	// SenderBlockGuard pauses a blast the provider keeps refusing for the
	// sender's sake (reputation block, carrier filtering). Defaults to
	// a pause after SenderBlockThresholdDefault refusals.
	SenderBlockGuard SenderBlockGuard
	// CompiledCacheBytes bounds the memory of the compiled-blast cache:
	// the templates, images and attachments of blasts being sent, kept
	// so that each is compiled once rather than once per batch. The
	// least recently used blast is dropped when the total would exceed
	// it, except while a worker is sending a batch of it (the total may
	// then exceed the bound by at most Workers blasts until the batches
	// end). A completed or cancelled blast is dropped at once. Tracked
	// clicks never fill it: they read the store's link index
	// (store.LinkIndex), or keep only the links. Defaults to
	// CompiledCacheBytesDefault.
	CompiledCacheBytes int64
	// PollInterval is how often idle workers look for due rows. Defaults
	// to PollIntervalDefault.
	PollInterval time.Duration
	// ReplyWindow is how long after a send an inbound text counts as a
	// reply. Defaults to ReplyWindowDefault.
	ReplyWindow time.Duration
	// ProviderKeywordReplies, when true, leaves the replies to STOP,
	// START and HELP to the SMS provider (Twilio's default opt-out
	// handling, or a messaging service that answers keywords): the engine
	// still records opt-outs and opt-ins but sends no confirmation. By
	// default the engine replies unless the event says the provider did
	// (provider.Event.ProviderHandledOptOut). New refuses true with an
	// SMS provider that redacts numbers (provider.Redaction), whose
	// keyword handling does not work: ErrKeywordHandlingRequired
	// (compliance.md SM-08).
	ProviderKeywordReplies bool
	// HelpReply, StopReply and StartReply are the texts answering HELP,
	// STOP and START (merge fields allowed). Default to HelpReplyDefault,
	// StopReplyDefault and StartReplyDefault; the default HELP reply
	// gives the organization's SupportContact instead of "contact your
	// clinic" when it has one (compliance.md SM-06: the practice name, a
	// phone number or URL, and how to opt out). A STOP holds every text,
	// reminders included, until START (compliance.md SM-04): a custom
	// StopReply must say so, as the default does, since it is the only
	// message the patient gets after the opt-out.
	HelpReply  string
	StopReply  string
	StartReply string
	// UnsubscribeURL returns the one-click unsubscribe URL for a
	// marketing email's ledger row (package tracking builds signed ones).
	// nil sends marketing email without a List-Unsubscribe URL only when
	// the email template carries its own link; Send rejects marketing
	// email otherwise.
	UnsubscribeURL func(orgID, blastID string, rowID int64) string
	// UnsubscribeMailto, when not nil, returns a mailto: URI listed after
	// UnsubscribeURL in a marketing email's List-Unsubscribe header
	// ("mailto:unsub+TOKEN@clinic.example"; compliance.md EM-01), for mail
	// clients that do not do one-click. It must carry an opaque token, never
	// PHI, and never stands in for UnsubscribeURL.
	UnsubscribeMailto func(orgID, blastID string, rowID int64) string
	// StatusCallbackURL, when not nil, returns the delivery-status
	// webhook URL put on each text (provider.SMSMessage.StatusCallback):
	// the host's endpoint that verifies the vendor's callbacks and passes
	// them to HandleEvent. It must not contain PHI. nil leaves the
	// adapter's configured default. Put the organisation and the decimal
	// row ID in it (provider/twilio reads "org" and "msg" from the signed
	// URL), so a receipt for a text whose send answer was lost resolves
	// its in-doubt row (see HandleEvent).
	StatusCallbackURL func(orgID, blastID string, rowID int64) string
	// OpenPixelURL, when not nil, returns the open-tracking pixel URL of
	// an email's ledger row (package tracking); the engine inserts the
	// 1×1 image before </body>. nil sends no pixel (opens then come only
	// from provider events).
	OpenPixelURL func(orgID, blastID string, rowID int64) string
	// RewriteLink, when not nil, rewrites every link of an email for
	// click tracking (package tracking). index counts links from 0.
	RewriteLink func(orgID, blastID string, rowID int64, index int, url string) string
}

// DebugLogBodiesMax is the longest a DebugLogBodies window may last.
const DebugLogBodiesMax = 24 * time.Hour

// ConfigError reports an invalid Config field.
type ConfigError struct {
	// Field is the Config field's name.
	Field string
	// Problem says what is wrong with it.
	Problem string
	// Err is the sentinel the problem matches, if any
	// (ErrKeywordHandlingRequired).
	Err error
}

// Error implements error.
func (e *ConfigError) Error() string { return "blast: Config." + e.Field + ": " + e.Problem }

// Unwrap returns Err.
func (e *ConfigError) Unwrap() error { return e.Err }
