// Package blast is the engine hosts hold to send bulk patient messages
// ("blasts") by SMS and email: drafts, preview, cost estimates, test sends,
// a durable per-recipient send ledger with rate-limited fan-out and
// retries, scheduling, cancel, Retry Failed, Add Recipients, Duplicate,
// results, provider events and analytics. Every section of the product
// guide from "Start a New Blast" to "After Sending" is one method of
// [Engine].
//
// # Building an engine
//
// [New] takes a [Config]: the store (store/memstore, store/sqlitestore or
// store/pgstore), the host's patient and cohort stores, an
// [Organizations] lookup, the SMS and email providers, and optional
// limits. Every field documents its default; New validates the result and
// returns a *[ConfigError] naming the first bad field.
//
//	e, err := blast.New(&blast.Config{
//		Store: st, Patients: patients, Cohorts: cohorts, Organizations: orgs,
//		SMS: twilioClient, Email: smtpClient, DomainVerifier: domains,
//	})
//	e.Start(ctx)
//	defer e.Stop(ctx)
//
// [Engine.Start] runs a scheduler and Config.Workers sending goroutines;
// [Engine.Stop] stops them gracefully (see "Stopping"). Everything else
// works without Start, but nothing is sent until it is called.
//
// # Multi-tenancy
//
// Every blast belongs to one organization and every method takes the
// organization ID: a blast, row or message of organization A asked for
// with organization B's ID is [ErrNotFound], and inbound texts, STOPs and
// suppressions are scoped to the organization. The scheduler serves
// organizations round-robin: each pass hands one batch to each
// organization with work (its blasts in turn), so one organization's
// 100,000-recipient blast cannot starve another's 50-recipient one. With a
// rate limit a batch is at most one second of the provider's rate.
//
// # Drafts
//
// [Engine.CreateDraft] saves a [Draft]: name (blank generates "SMS blast –
// Mar 10, 2026 3:04 PM" in the organization's time zone), one or more
// cohorts, channel, purpose (marketing or transactional; zero means
// transactional), SMS content (text and images) or email content
// (subject, preview text, body, style, attachments), and the sender.
// [Engine.UpdateDraft] replaces it while it is a draft; [Engine.Get]
// reads one back with its content, and [Engine.List] pages through the
// organization's blasts as [Listing] summaries: name, channel, purpose,
// cohorts, status and times, never content, so a page of 200 blasts
// reads no attachment.
//
// A draft may be incomplete, but CreateDraft and UpdateDraft refuse what
// no blast may hold, with a *[ValidationError] whose Op is [OpSave]
// naming each field: an unknown channel (only "sms" and "email"),
// purpose, HIPAA basis or email format, and anything over the limits
// below. Send checks the same limits with the same code before it
// compiles anything.
//
// Drafts are validated when sent ([Engine.Send], or [Engine.Validate]
// without sending). A *[ValidationError] lists every [Problem]: no cohorts,
// a deleted cohort, an empty body or subject, unknown merge fields (with
// their names), too many or too large images or attachments, a marketing
// email without an unsubscribe URL, and for email a sending domain not
// verified for the blast's purpose (the guide's "domain error": marketing
// needs a marketing domain, transactional a transactional domain; checked
// through Config.DomainVerifier).
//
// # Limits
//
// Checked when a draft is saved and again when it is sent:
//
//	name                     NameMaxChars (200) characters, no control characters
//	cohorts                  CohortsMax (50); IDs up to IDMaxBytes (255), printable
//	From, ReplyTo            SenderMaxBytes (320), one line
//	CreatedBy, PHIApprovedBy IDMaxBytes, printable
//	SMS body + opt-out text  SMSMaxSourceBytes (16 KiB) as written; the text sent
//	                         is at most render.SMSMaxBodyLength (1,600) characters
//	MMS images               render.MMSMaxImages (3), each under render.MMSMaxImageBytes
//	                         (1 MiB), JPEG, PNG or GIF; URLs ImageURLMaxBytes (2 KiB)
//	email subject            EmailMaxSubjectBytes (998), one line
//	email preview text       EmailMaxPreviewBytes (998)
//	email body               render.EmailMaxBodyBytes (1 MiB)
//	email attachments        render.AttachmentMaxCount (10), each under
//	                         render.AttachmentMaxBytes (25 MiB), allowed types, and
//	                         the provider's message limit (provider.Limits)
//	compiled email           EmailMaxMessageBytes (40 MiB): parts plus base64
//	                         attachments; a lower bound when saved, exact when sent
//	schedule                 at most ScheduleMaxAhead (about five years) ahead
//
// Texts hold no control characters other than tab and line breaks
// (PostgreSQL refuses a NUL byte) and must be valid UTF-8. Portal notices
// have the limits of the content. Add Recipients takes at most
// AddRecipientsMax (1,000) patient IDs a call; SearchPatients queries are
// at most SearchQueryMaxBytes (200). An ID no blast can have is
// [ErrNotFound] without a store lookup. Problems name fields and limits,
// never the content.
//
// Compiled blasts are cached for the workers, bounded by
// Config.CompiledCacheBytes (see there); tracked clicks never compile an
// email: Send records its link targets in the store's link index
// (store.LinkIndex).
//
// # Preview, estimate and test
//
// A cohort deleted since it was chosen, or another organization's, is a
// *ValidationError ([ProblemUnknownCohort]) for Preview and Estimate, as
// for Send. [Engine.Preview] counts the audience by eligibility decision (Will send,
// Opted out, No contact info, Landline, Not opted in; for email
// Suppressed, Unsubscribed, No email; Shared address when households get
// one message). [Engine.Estimate] prices it: SMS by
// each recipient's rendered segments (MMS when images are attached),
// email per recipient.
//
// Preview equals send: Preview, Estimate, [Engine.NewRecipients], the
// ledger writer and the send-time re-check decide each patient with one
// classification: the patient record together with the organization's
// suppression list, a suppression counting as the record flag it stands
// for (a STOP as opted out; a hard or soft bounce, and for marketing a
// spam complaint, as suppressed; for marketing an unsubscribe as
// unsubscribed; an unreachable number as suppressed), so one precedence
// decides whichever of the two holds the fact. A STOP the host's record
// lost is "Opted out" in the preview as in the ledger; a spam complaint
// is "Suppressed" (the guide's "bounced or been marked as spam") whether
// or not the host kept the unsubscribe the engine recorded with it.
// Sending the blast unchanged records the preview's counts, reason by
// reason. What only sending can learn stays out of the preview: a line
// type looked up before the first text (Config.LineTypes), a provider
// refusing a number, and changes to records or suppressions made in
// between (the send-time re-check applies them).
//
// Households ([Draft].Households): patients sharing one phone number
// (SMS) or email address (email) get one message between them with
// [HouseholdsOne] (the default for marketing): the first eligible
// patient of the address in ascending patient ID order, the others
// skipped as shared_address. [HouseholdsEach] (the default for
// transactional blasts, where each patient's message is their own) sends
// each their own. The preview ("Shared address" row), the estimate and
// the ledger apply it alike. Add Recipients (and NewRecipients) skip an
// added patient who shares the address of another added with them, or
// of a patient already in the blast who is eligible now (found through
// the patient store's contact lookup, cohort.MatchContacts). [Engine.SendTest] ("Send Test to Me") sends the
// message to a staff phone or email; it is never written to the ledger
// nor counted in any stat. A test holds to the rules of a real send:
//
//   - It is personalised for [SamplePatient], a synthetic patient whose
//     every merge field is an obvious sample value, never an audience
//     patient's. [TestOpts].PatientID picks a real patient only with
//     TestOpts.CanViewPatient, the host's statement that the caller may
//     see that record ([*TestForbiddenError] otherwise; blasthttp asks
//     its Config.CanViewPatient); a PHI-bearing blast then gives that
//     patient's test the portal notice unless the patient acknowledged
//     the channel, as the real send would (compliance.md HI-08).
//   - The content must compile as for Send: sensitive content only once
//     approved (Draft.PHIApprovedBy), whoever asks for the test; PHI only
//     through a provider with a BAA (HI-01, HI-05).
//   - The destination is normalised like a contact (E.164 in the
//     organization's region, a lower-case email address), else a
//     [*TestDestinationError] naming the field; an address a real send
//     would skip is refused with a [*TestRefusedError] carrying the
//     eligibility reason: a STOP from the number (every text, marketing
//     or transactional), a hard bounce or complaint, an unsubscribe
//     (marketing email), or a patient record with that contact that is
//     opted out, blocked, suppressed, unsubscribed, a landline or under a
//     confidential-communication request (SM-03, J-02, HI-07).
//   - Every test sent, failed or refused is audited as "blast.test" with
//     the actor, the blast, the real patient's ID if any, the channel,
//     the masked destination ("+1512•••7777"), the sample and the
//     outcome; never the body (HI-09).
//   - Its unsubscribe link names [TestRow]: [RecipientID] makes it
//     tracking.TestRecipientID, whose signed tokens a tracking.Handler
//     answers with a "this was a test message; no one was unsubscribed"
//     page (GET, the form and the RFC 8058 one-click POST, all 200).
//
// # Sending and the ledger
//
// [Engine.Send] resolves the audience (the union of the cohorts, each
// patient once) and writes the ledger in batches: one row per recipient,
// queued, or skipped with its eligibility reason (decided as the preview
// decides it, see "Preview, estimate and test": the record, the store's
// suppressions and households), stored as the reason's key
// (eligibility.KeyNoContact = "no_contact_info", …; Summary.SkippedBy is
// keyed by them). Workers then claim queued rows with a lease and, for
// each row:
//
//  1. re-check eligibility against the patient as it is now and the
//     suppression list (a STOP or unsubscribe that arrived after the blast
//     started wins; compliance.md J-01) and, with Config.LineTypes, look
//     up numbers whose line type is unknown, skipping landlines before
//     their first text (compliance.md SF-03; answers are recorded on the
//     patient; failed lookups, and those a batch had no time left for
//     within half of what its lease allows, never hold a text);
//  2. hold texts outside quiet hours (unless urgent), marketing texts
//     beyond their state's frequency cap, and healthcare-exempt texts
//     beyond the exemption's (see "Quiet hours", "Frequency caps" and
//     "Health information");
//  3. render the message for the patient;
//  4. wait on the provider's rate limiter;
//  5. call the provider with Config.SendTimeout;
//  6. record the outcome, with the message's segments and cost.
//
// A text whose personalised body exceeds the provider's length limit
// (long merge values) fails with reason "too_long"; it is never
// truncated. Outcomes follow the provider's error class: accepted → sent;
// Transient and RateLimited → queued again after exponential backoff with
// jitter (BackoffBase·2^(n-1), capped at BackoffMax, never sooner than
// Retry-After; a 429 also pauses the provider's limiter), until
// MaxAttempts calls have been made, then failed; Permanent → failed;
// Landline → skipped as landline and the patient marked landline;
// OptedOut → opted out, the patient opted out and the number suppressed;
// Suppress (hard bounce) → failed and the address suppressed; Ambiguous →
// in doubt.
//
// # No loss, no doubles
//
// A row is only ever sent by the worker holding its lease. A worker stops
// taking rows from a batch when less than SendTimeout of its lease is
// left, and hands the rest back; no wait of a worker (for the rate
// limiter, a provider's pause) runs past that point either (see "Rate
// limits"), so a live worker records or hands back its rows before the
// lease ends: lease expiry puts in doubt only rows of a process that died
// or hung. If a process dies mid-batch, its leased
// rows' leases expire and they become in doubt: the provider may have
// accepted them, so they are never resent automatically (compliance.md
// SF-02); a later answer from the same worker, or a delivery receipt,
// resolves them. A receipt for an in-doubt row carries a vendor message ID
// the engine never learned, so it is matched by the row's own message ID
// (provider.Event.MessageID), which the per-row status-callback URL
// carries (Config.StatusCallbackURL, signed by Twilio with the
// organisation): delivered → delivered and undelivered → failed, the
// vendor ID recorded on the row.
//
// [Engine.ReconcileInDoubt] asks the SMS provider, when it implements
// provider.AcceptanceChecker (Twilio's Messages list, the fake), about each
// in-doubt row of a blast: the row's address, the blast's sender, the text
// re-rendered for the patient exactly as the runner renders it, and the
// window from the row's creation to its last change. Accepted → sent, the
// vendor ID recorded, never sent again; not accepted → failed with
// [ReasonNotAccepted], so Retry Failed (the user's decision, never
// automatic) sends it; unknown → still in doubt, so Retry Failed with
// IncludeInDoubt re-sends only what nobody could tell. Each resolution is
// audited ("row.reconciled", the verdict; no PHI), and the run with its
// counts. A rate limit stops the run with the error; call it again later. In-doubt rows are counted with the failed ones; Retry
// Failed can include them on request ([RetryOpts].IncludeInDoubt). A crash
// therefore never loses a row (it is queued, sent, failed or in doubt) and
// never doubles a confirmed send.
//
// A ledger write interrupted by a crash is resumed by any instance sharing
// the store (inserting rows is idempotent). While a writer is alive it
// refreshes the blast's UpdatedAt at least every Lease/3, and other
// instances leave its ledger alone; once the heartbeat is older than Lease,
// the first instance to claim the blast (an optimistic update) resumes it.
//
// # Rate limits
//
// Each provider (SMS, email) has a limiter, and Config.SenderLimits adds
// one per sender (a long code inside a messaging service): a
// golang.org/x/time/rate token
// bucket for smoothing, guarded by a strict sliding window that admits at
// most floor(Rate)+Burst sends in any one-second window, whatever the
// token bucket does (golang/go#65508). A send passes the channel's and its
// sender's ceilings at one instant, so both hold for actual send times.
// Retries, test sends and compliance
// replies pass the same limiter, so the ceiling holds during backoff, and
// a 429 pauses it for the provider's Retry-After.
//
// A pause never outlives a lease or a Cancel. The refused row is queued
// again at once (recorded before any wait, never in doubt), due at the
// pause's end, its call counted. While the pause lasts no rows are
// claimed for the provider. A worker whose batch can still be sent within
// its lease waits for the pause there; when the pause (or any limiter
// slot) falls later than its lease allows, it hands the rest of the batch
// back, queued and due at the pause's end with no attempt counted, so the
// pause survives a restart in the ledger. A test send made while a pause
// has longer than SendTimeout to run fails at once with the time left (a
// *provider.Error of class RateLimited). A pause is this process's: an
// engine process sharing the store learns of it only from its own 429.
// When the store
// implements store.RateBudget (sqlitestore, pgstore, memstore), every send
// also takes a slot of a budget shared by all engine processes on that
// store, so the limit is the provider account's, not each process's
// (Config.NoSharedRateBudget turns this off).
//
// # Scheduling and cancel
//
// Send with [SendOpts].At in the future schedules the blast; its audience
// is resolved and its ledger written when the time comes (on Config.Clock).
// [Engine.Cancel] cancels a scheduled, sending or paused blast: queued
// rows become cancelled, sent rows stay sent, and a message being sent
// finishes. Nothing of the blast is sent by this engine after Cancel
// returns: it halts this engine's workers holding the blast's rows, also
// while they wait on the rate limiter, and waits for a provider call they
// had begun to return. A worker sends nothing from a batch before it has
// registered with Cancel and then read the blast's status, so a batch
// claimed in the instant of the Cancel is halted too. Workers of other engine
// processes sharing the store read the status when they start a batch
// and at least every second of sending, so they stop within about a
// second (never later than their lease), and send no row claimed after
// that. Cancel also waits for this engine's batches of the blast to be
// settled (their unsent rows handed back and cancelled), so the number it
// returns is every row it cancelled — the Summary's Cancelled as it
// returns, not only the rows that were queued at that instant.
//
// # Soft failures
//
// A soft email bounce (a full mailbox: a delivery event of class
// Transient) fails its message as "soft_bounce", a handset reported
// unreachable (Twilio 30003) as "unreachable". When an address has
// SoftFailures.Count of them (3) within Window (7 days), the first and
// last at least Span (72 hours) apart, it is suppressed: every email, or
// every text (compliance.md BO-02, SF-01). Failures bunched together (two
// bounces in an hour) are an outage and suppress nothing; a text from the
// number lifts an "unreachable" suppression.
//
// # Sender blocks
//
// Some refusals are about the sender, not the patient
// (provider.SenderBlocked): an SMTP 5.7.x reputation or policy block,
// Twilio 30007 carrier filtering, an unregistered 10DLC number, a
// suspended account (compliance.md BO-02, SF-01). They never suppress
// the patient. A refused row is queued again with backoff (failed after
// MaxAttempts), and when a blast's refusals reach
// SenderBlockGuard.Threshold — counted at send time and from delivery
// events — the blast becomes [StatusPaused] with one alert
// ([AlertDomainReputationBlock], [AlertCarrierFiltering] or
// [AlertSenderConfiguration]) in the log and the audit trail;
// [Summary].Pause reports it. Its rows wait until [Engine.Resume], once the
// domain or number is fixed, or Cancel. RetryFailed and Add Recipients
// leave a paused blast paused.
//
// # Quiet hours
//
// Texts are sent only when two windows allow them (compliance.md TM-01,
// [QuietHours]). The rule covers transactional texts too: the statutes
// name solicitations, but a reminder at 23:00 is no better received, so
// the design rule of compliance.md applies quiet hours to every text and
// lets only an explicit Draft.Urgent transactional blast (a same-day
// closure, a safety notice) bypass them; the bypass is written to the
// audit trail ("blast.urgent_bypass") when the blast is sent:
//
//   - the patient's: Config.QuietHours Start–End (default 08:00–21:00,
//     the federal rule) in Patient.TimeZone;
//   - the number's: in the time zone of the number's area code, the
//     window of its state when the state has a stricter one (Florida,
//     Oklahoma and Maryland: 08:00–20:00, [StateQuietHours]; FL and OK
//     presume an in-state area code belongs to a resident), else
//     Start–End.
//
// [LookupAreaCode] reads the built-in table of US, territory and Canadian
// area codes (NANPA data with its sources and review date in
// areacodes.go; an area code spanning zones maps to its majority zone).
// When only one of the two zones is known, its window alone applies. When
// neither is (no patient zone, and a non-NANP or unknown area code),
// Start–End applies in QuietHours.DefaultZone, by default the
// organization's zone (else UTC). The stricter alternative, the
// intersection of every US zone (about 14:00–20:00 Eastern with Hawaii),
// can be set with Start, End and DefaultZone. QuietHours.NoStateRules
// turns the state windows off, NoAreaCode the number's check, and
// Strictest applies the narrowest window (08:00–20:00) to every number.
//
// A row reached outside the windows is deferred to the earliest instant
// all of them are open, never dropped and without counting an attempt.
// Local times come from the tz database through time.LoadLocation, so
// DST changes and ambiguous fall-back times (01:30 on 1 November 2026 in
// New York happens twice; both wait for 08:00) need no special case.
// Urgent blasts and email are not held.
//
// # Frequency caps
//
// Florida, Oklahoma and Maryland allow at most three marketing texts on
// the same subject to a number in 24 hours (compliance.md TM-02,
// [FrequencyCaps], [StateFrequencyCaps]). For each claimed batch of a
// marketing text, the engine reads in one query how many of the
// organization's marketing texts each of the batch's numbers in a capped
// state got in the rolling window (store.SentCounter; every text counts,
// since the engine cannot tell subjects apart), then adds the texts the
// batch sends; at the cap the row is held and checked again every [FrequencyRecheck]
// until the window has room. Transactional texts are not solicitations and
// are never held. [Engine.CheckFrequencyCap] answers the same question
// for a host's own texts, with an error matching [ErrStateFrequencyCap]
// that names the state and the counts, never the number.
//
// # Audit trail
//
// With a store that implements store.AuditLog (every store of this module
// does), the engine appends to an append-only audit trail (compliance.md
// HI-09): blasts created, updated, sent, scheduled, started, cancelled,
// retried, extended and duplicated, by whom ([WithActor]; blasthttp sets
// it from its Config.User), with the content version; the audience written
// (cohorts and row count); every consent or contact change with its source
// (a STOP, a complaint, the unsubscribe link, a carrier verdict); and
// every provider event that changed a ledger row; and every test send
// ("blast.test", with the destination masked). Entries hold IDs, codes
// and counts, never bodies, names, full numbers or emails. Per-recipient
// inclusion and exclusion with the reason is the ledger itself.
// [Engine.AuditTrail] pages through it.
//
// # Complaint-rate guardrail
//
// Provider events feed daily counts of delivered emails and complaints per
// sending domain (store.DomainHealth). A day at 0.1% complaints is logged
// as a warning; while any of the last 8 days (today included) reached
// 0.3%, Send refuses marketing email blasts from that domain with an error
// matching [ErrComplaintRateGate], so sending resumes after 7 consecutive
// days below the limit (compliance.md EM-08, Gmail's rule;
// [ComplaintGuard]). Transactional email is never refused.
// [Engine.ComplaintHealth] reports a domain's record.
//
// # Health information
//
// Texts and email are not encrypted end to end and pass through the
// provider, so the engine keeps clinical information out of messages
// unless the practice has decided otherwise, on the record:
//
//   - Minimum necessary (compliance.md HI-01). Merge fields that would
//     name clinical data ({{diagnosis}}, {{lab_result}}, …) fail with
//     [ProblemPHIField], matching [ErrPHIField]. Content carrying an
//     ICD-10 code or a sensitive term ("HIV", "chemotherapy", "pregnancy
//     test"; render.ScanSensitive) fails with [ProblemSensitiveContent]
//     ([ErrSensitiveContent]) unless a privileged user approved it
//     (Draft.PHIApprovedBy given to CreateDraft or UpdateDraft); the
//     approval is audited ("blast.phi_approved", with the approver as
//     actor) when the blast is sent. An [Approval] covers one version of
//     the content and one audience (channel, purpose, cohorts, texts,
//     images, attachments, sender, PHI settings, portal notices): a save
//     that changes any of them drops it, Duplicate never copies it, Send
//     honours it only while a fingerprint of all of them matches, and
//     refuses a draft updated while it was being validated
//     ([ErrChanged]). Add Recipients widens the audience, so it needs an
//     approval of its own ([AddRecipientsOpts]; [ProblemApprovalScope]
//     without one).
//   - PHI-bearing blasts (Draft.PHI; HI-05, HI-08). They go only through
//     a provider that reports BAA coverage (provider.BAACoverage; Send
//     fails with [ProblemNoBAA], matching [ErrNoBAA], and nothing is
//     sent), and their content only to patients who acknowledged the
//     channel's risk (carecast.Consent.SMSInsecureChannelAck,
//     EmailInsecureChannelAck). Everyone else eligible gets the blast's
//     PHI-free portal notice (Draft.PortalSMS or PortalEmail, required,
//     checked like content and never approvable). The choice is made for
//     each recipient when the message is sent, so an acknowledgement
//     recorded after Send counts. [Estimate] counts and prices the
//     notices apart.
//   - The sender's name (HI-02). [Engine.Warnings] flags a practice name
//     shown in the content that reveals a condition ("Lakeside Fertility
//     Center"); carecast.Organization.MessageName sets the neutral name
//     every message then shows.
//   - Mixed email (EM-06): a transactional email whose subject or preview
//     text advertises ("20% off whitening – your appointment tomorrow")
//     is commercial under CAN-SPAM; Send refuses it as
//     [ProblemMixedCommercial] until it is sent as marketing, with the
//     postal address, unsubscribe link and one-click headers.
//   - Confidential-communication requests (HI-07):
//     carecast.Consent.ConfidentialChannels and DoNotContact override
//     every blast, transactional ones too (eligibility.Confidential,
//     "confidential_request").
//   - Written consent to marketing texts (Config.RequirePEWC; SM-01):
//     only patients whose carecast.ConsentEvidence is complete and names
//     their current number get marketing texts; the others are skipped
//     as eligibility.NoPEWC ("no_pewc").
//   - The HIPAA marketing rule (Draft.HIPAABasis, SponsorPaid; HI-06).
//     Every blast has a basis: treatment (the default for transactional
//     blasts), a refill reminder, the practice's own services without
//     remuneration (the default for marketing), or authorized marketing.
//     A sponsor-paid communication cannot claim the treatment or
//     own-services exception ([ProblemHIPAABasis]); authorized marketing
//     goes only to patients with carecast.Consent.HIPAAMarketingAuthorization,
//     the others skipped as eligibility.NoAuthorization
//     ("no_hipaa_authorization") in the preview and the ledger.
//   - The TCPA healthcare-message exemption (Draft.HealthcareExempt;
//     SM-02). Its conditions are enforced: a transactional plain text
//     naming the practice, with the opt-out line (on by default), without
//     billing, collection or advertising language
//     (render.ScanExemptContent), of at most [ExemptMaxChars] characters
//     (checked on the preview at Send and on every recipient's text: a
//     longer one fails as "exempt_too_long"), and at most [ExemptPerDay]
//     a day and [ExemptPerWeek] a week per number. A text over the
//     frequency limit is held and checked again every FrequencyRecheck;
//     [Engine.CheckExemptFrequency] answers with an
//     [*ExemptFrequencyError] matching [ErrExemptFrequencyCap]. Every
//     transactional text to the number counts, exempt or not, so the
//     count errs on the strict side.
//
// # After sending
//
// [Engine.RetryFailed] re-queues only failed rows (never a sent one).
// [Engine.SearchPatients] finds patients for Add Recipients,
// [Engine.NewRecipients] decides those not yet in the blast as
// AddRecipients will: how many will be sent the message (the N of "Send
// to N patient(s)", see [SendLabel]) and how many skipped, by reason (an
// eligibility.Preview) — and [Engine.AddRecipients] writes rows for
// them only; a blast whose content needed an approval needs a new one
// to reach more patients ([AddRecipientsOpts].PHIApprovedBy, see "Health
// information"). [Engine.Duplicate] creates a new draft with the
// content, cohorts and settings, and none of the recipients, results or
// approval; the copy is its maker's (DuplicateOpts.CreatedBy, else
// [WithActor]), never the original author's. Retry and Add Recipients move a completed blast back to
// sending.
//
// # Results
//
// [Engine.Summary] returns the delivery summary at any moment, live while
// sending: the guide's stat cards ([Card]; email: Total, Sent, Skipped,
// Opened with rate, Clicked with rate, Failed; SMS: Total, Sent, Skipped —
// no phone, landline or not opted in —, Opted Out, Blocked, Replied,
// Failed; the Failed card carries its "of which in doubt" part,
// [CardInDoubt], in [CardStat].Parts), progress, spend, and the
// low-delivery alert when fewer than 90%
// of attempted messages were sent. The alert's denominator is the
// attempted messages: sent + failed + in doubt (skipped, opted-out,
// cancelled and pending rows are excluded). Rates of opens, clicks and
// replies are over sent messages, and count human opens and clicks only
// (Summary.MachineOpened and MachineClicked count the machine ones apart;
// see "Machine opens and clicks").
//
// [Engine.Messages] lists recipients (status, timestamp, opens and clicks
// or replies) filtered by any card or card part (CardInDoubt lists the
// rows the provider may have accepted), keyset-paginated so pages stay stable
// while sending. [Engine.Engagement] gives the cumulative opens and clicks
// of an email blast over the 72-hour tracking window, and
// [Engine.Analytics] the organization's volume (SMS versus email), spend,
// email engagement rates and SMS reply rates over time. [Engine.Wait]
// blocks until a blast finishes; [Engine.Changed] signals progress.
//
// # Provider events
//
// [Engine.HandleEvent] applies a verified webhook event: delivered;
// undelivered after sent (the row moves from Sent to Failed); bounce
// (failed, and a hard bounce suppresses the address); complaint
// (unsubscribe and suppression); opens and clicks; and inbound texts —
// STOP-family keywords opt the number out of every SMS of the organization,
// START-family opt it back in, HELP gets Config.HelpReply, with exactly
// one confirmation unless the provider already answered (the event says
// so, or Config.ProviderKeywordReplies) (compliance.md SM-04 to SM-06).
// A STOP holds every text, appointment reminders included, until START,
// and the STOP confirmation (Config.StopReply, [StopReplyDefault]) says
// so: it is the one clarification SM-04 allows. An
// SMS provider that redacts numbers (provider.Redaction, Twilio's Phone
// Number Redaction) cannot answer keywords: the engine then always
// replies, and New refuses ProviderKeywordReplies with
// [ErrKeywordHandlingRequired] (SM-08). Anything else counts as a reply to the
// most recent blast message sent to that number within Config.ReplyWindow.
// A bare YES (provider.MatchKeyword's Confirmation) depends on the number
// (SM-05): from a number that is opted out now (a STOP suppression in the
// store, or a patient with the number marked opted out) it opts back in
// like START, with one confirmation unless the provider handled it; from
// any other number it is an ordinary reply ("Reply YES to confirm"), even
// when the vendor reported it as START. Opting back in restores
// informational texts only; marketing consent is never granted by it.
// Events are idempotent (deduplicated by ID) and statuses only move
// forward. A kind the engine does not know is an [*UnknownEventKindError]
// naming it (matching [ErrUnknownEventKind]), never silently ignored; its
// ID is not recorded. [Engine.Resubscribe] lifts an email unsubscribe when the
// patient subscribes again in the host's preference center (audited;
// a hard bounce or a complaint stays suppressed; compliance.md J-02). A
// status callback that arrives before the engine wrote the
// message's outcome (outcomes are written in batches of up to 512 rows
// or one second) writes that outcome first, so it is applied, not lost,
// when it reaches the process that sent the message.
//
// # Tracking
//
// [Engine.TrackingBackend] is the tracking.Backend a host passes to
// tracking.NewHandler: it records opens and clicks (machine events from
// privacy proxies and link scanners are stored flagged and not counted,
// see "Machine opens and clicks"), resolves click destinations from the
// link targets Send recorded (the email's links, then its portal
// notice's; nothing is compiled), and unsubscribes.
// Wire the handler's URLs into the engine with Config.UnsubscribeURL,
// Config.RewriteLink and Config.OpenPixelURL, naming recipients with
// [RecipientID] (organization and ledger row, never PHI). The same
// actions are available directly as [Engine.RecordOpen],
// [Engine.RecordClick] and [Engine.Unsubscribe]; an unsubscribe is
// idempotent and suppressions never narrow (a bounced address stays
// blocked for transactional email after a later unsubscribe).
//
// # Machine opens and clicks
//
// Apple Mail Privacy Protection and image proxies open every message, and
// security gateways click every link (compliance.md TR-04, TR-05). Such
// events — tracking.Engagement.Machine from the tracking handler, with
// its reason ("apple_mpp", "prefetch", "head_request", "fast_click",
// "scanner", "click_burst"), or a provider event with Event.Machine
// (SendGrid's sg_machine_open) — are stored, not dropped, so they can be
// audited, but they never count: [Engine.RecordMachineOpen] and
// [Engine.RecordMachineClick] apply store.EventMachineOpen and
// store.EventMachineClick, which increment the row's MachineOpens and
// MachineClicks and nothing else. Opened, Clicked, OpenRate, ClickRate,
// the cards, the message-list filters, [Engine.Engagement] and
// [Engine.Analytics] are computed from human opens and clicks only;
// [Message].MachineOpens/MachineClicks and
// [Summary].MachineOpened/MachineClicked show the machine ones. The
// engine runs no automations, and hosts that do must key them on
// human events only.
//
// Design: this is the least invasive store change — two new event kinds
// and additive Row and Stats fields. A store that does not know the
// kinds (one written before them) records the event ID, changes no
// counter and reports the event ignored, so machine events can never
// leak into the human counts; its Summary shows zero machine counts. So
// that even such a store keeps an audit trail, an event the engine
// names itself has the ID "machine_open:REASON:RECIPIENT:UUID" (or
// machine_click), RECIPIENT being [RecipientID]: no PHI. Reasons are
// restricted to letters, digits and underscores.
//
// # Stopping
//
// [Engine.Stop] stops claiming, lets each worker finish its current
// provider call, records every outcome and hands unsent claimed rows back
// to the queue. If Stop's context ends first, in-flight calls are
// cancelled. Cancelling Start's context is a hard stop.
//
// # Time
//
// The engine reads time only from Config.Clock (send times, backoff,
// leases, quiet hours, rate limits, schedules) and never sleeps: it waits
// on the clock's timers. Only Config.SendTimeout, which bounds network
// I/O, is measured in real time. Package blasttest has a manual clock and
// drives the engine through retries, quiet hours and rate limits in
// microseconds; [Engine.Idle] tells it when the engine has nothing to do
// until the clock moves (every wake-up source counts the goroutine it
// wakes before the wake-up can be observed, so Idle is exact), and
// [Engine.Changed] when something happened.
//
// # Privacy
//
// Logs carry organization, blast, row and patient IDs, counts and vendor
// codes; never names, phone numbers, email addresses or message bodies.
// Errors follow the same rule. The one exception is deliberate and
// bounded (compliance.md HI-04): Config.DebugLogBodies logs rendered
// bodies at debug level for a support investigation, only with an expiry
// at most DebugLogBodiesMax away (New refuses it otherwise), announced at
// warning level and audited ("debug.log_bodies" under organization "*"),
// and it stops by itself when the time passes.
package blast
