// Package eligibility decides, for one patient, one channel (SMS or email)
// and one purpose (marketing or transactional), whether the patient will
// be sent a blast's message or is skipped, and for exactly which one
// reason. It also builds the send preview: the counts the composer's
// right-hand panel shows before a blast is sent.
//
// # Deciding one patient
//
// [Classify] (or [Classifier.Classify], to read national-format phone
// numbers in a region other than the US) returns a [Decision]: the
// [Reason] (Send, or why the patient is skipped) and, for Send, the
// normalised address to send to. It never fails (malformed data is simply
// a skip reason) and does not allocate for numbers stored in E.164 for
// the North American Numbering Plan or for lower-case email addresses.
//
//	d := eligibility.Classify(&patient, carecast.SMS, carecast.Marketing)
//	if d.WillSend() { send(d.Address) } else { record(d.Reason) }
//
// # Reasons
//
//	Reason           String()                SMS  Email  Purposes   Means
//	Send             send                    yes  yes    all        will be sent
//	NoContact        no_contact_info         yes  yes    all        no phone / email, or a malformed one
//	Landline         landline                yes  -      all        phone recorded as a landline
//	OptedOut         opted_out               yes  -      all        patient texted STOP
//	Blocked          blocked                 yes  -      all        clinic disabled SMS for the patient
//	NotOptedIn       not_opted_in            yes  yes    marketing  no marketing opt-in on the channel
//	Suppressed       suppressed              -    yes    all        address bounced or complained
//	Unsubscribed     unsubscribed            -    yes    marketing  unsubscribed from marketing email
//	SharedAddress    shared_address          yes  yes    all        collapsed into a family member's message
//	NoAuthorization  no_hipaa_authorization  yes  yes    see below  no HIPAA marketing authorization
//	NoPEWC           no_pewc                 yes  -      marketing  no written consent for this number (see below)
//	Confidential     confidential_request    yes  yes    all        the patient's confidential-communication request
//
// The String column is each reason's key, exported as a constant
// ([KeyNoContact] = "no_contact_info", …): what ledgers store and what
// blast.Summary.SkippedBy and blast.Message.Reason carry.
//
// Transactional blasts ignore marketing opt-in and email unsubscribes but
// still respect STOP, the clinic's block and email suppression (the
// guide's "Marketing vs. Transactional" table; compliance J-02: a
// newsletter unsubscribe must not block appointment reminders).
// SharedAddress comes only from previews that collapse shared addresses
// (see below); Classify never returns it. NoAuthorization comes only from
// a Classifier with RequireAuthorization (a blast whose HIPAA basis is
// authorized marketing; compliance.md HI-06), checked after every reason
// of the precedence list; the preview then shows its row last. NoPEWC
// comes only from a Classifier with RequirePEWC (compliance.md SM-01): for
// marketing texts it replaces NotOptedIn, and an opted-in patient whose
// carecast.ConsentEvidence is incomplete or names another number is
// NoPEWC too, after every other reason. Confidential (compliance.md
// HI-07) is decided first when the patient allowed only other channels
// (carecast.Consent.ConfidentialChannels), and after the precedence list
// when the address is one the patient asked never to be used
// (DoNotContact); the preview shows its row whenever it counts someone.
//
// # Precedence
//
// When several reasons apply, the decision is the first that applies in
// this order ([Precedence] returns it; the tests check every pair and
// every combination of competing reasons against this table):
//
//	Rank  SMS marketing  SMS transactional  Email marketing  Email transactional
//	1     OptedOut       OptedOut           Suppressed       Suppressed
//	2     Blocked        Blocked            Unsubscribed     NoContact
//	3     NoContact      NoContact          NoContact
//	4     Landline       Landline           NotOptedIn
//	5     NotOptedIn
//
// The rule behind the order: the reason that would still block the send
// after every other problem was fixed comes first. The patient's own
// STOP (which only the patient can lift) beats the clinic's block, which
// beats missing or unusable contact data (staff can fix it); marketing
// opt-in comes last, so the "Not opted in" count is exactly the patients
// who would receive the message if they had opted in. A landline is
// reported only for a valid number; an invalid one is NoContact.
//
// # Phone numbers
//
// [NormalizePhone] validates a number with github.com/nyaruka/phonenumbers
// and returns it in E.164. Numbers written without a country code are
// read in the Classifier's Region ([carecast.Organization.PhoneRegion] via
// [NewClassifier]; "US" by default). A number already stored in E.164 for
// the North American Numbering Plan ("+1" and ten digits) takes a fast
// path that neither parses nor allocates: the NANP structure (the area
// code starts with 2-9 and is not an N11 service code) is checked first,
// then a decision table that the package derives, on first use (about
// 60 ms, 1,000 trie nodes), from phonenumbers' own metadata, so the
// answer is exactly phonenumbers.IsValidNumber's (tested and fuzzed). With region
// US or CA, numbers in the usual national formats ("(212) 555-0123",
// "1-212-555-0123", "+1 212 555 0123") use the same table and allocate
// only the returned string. Every other number goes through phonenumbers
// (about 20 µs and 80 allocations a number).
//
// Whether a valid number can receive texts is the host's knowledge:
// [carecast.Patient.PhoneLineType] set to landline makes the patient
// Landline; unknown, mobile and VoIP are textable.
//
// # Email addresses
//
// [NormalizeEmail] checks syntax only, without allocating: dot-atom local
// parts, dotted domains of letters, digits and hyphens; its documentation
// lists what is rejected. The normalised address is lower case, the one
// form suppression lists, unsubscribes and the family collapse compare.
// It never resolves the domain: a deliverable address is the sender's
// business, and bounces come back as suppression.
//
// # Other patient data
//
// Eligibility reads only the phone, line type, email and consent fields.
// Names, time zone, tags and attributes play no part: an unknown time
// zone is the quiet-hours scheduler's concern (it falls back to the
// organization's) and never skips or fails a patient here.
//
// # The send preview
//
// [BuildPreview] reads a stream of patients, normally the union of the
// blast's cohorts as cohort resolution yields it, and returns a [Preview]
// with every patient counted once. [Preview.Rows] gives the panel's rows
// in the guide's order, and [PreviewReasons] says which rows apply:
//
//	SMS:   Will send, Opted out, No contact info, Landline, Not opted in*
//	Email: Will send, Suppressed, Unsubscribed*, No email, Not opted in*
//	                                               (* marketing only)
//
// [Skipped] iterates over the skipped patients and their reasons (IDs
// only, for export). [Tally] does the same one patient at a time, for an
// engine that writes ledger rows as it goes. An engine that also applies
// facts the record does not carry (a suppression list kept per address)
// reads the address first ([Classifier.Address]), classifies with those
// facts folded into the consent, and counts its decision with
// [Tally.AddDecision], so its preview and its ledger are one
// classification. An SMS preview given Suppressed decisions (numbers
// such a list holds as unreachable) shows a "Suppressed" row.
//
// # Two groupings
//
// The reasons stay distinct everywhere; views group them. The send
// preview shows STOP and clinic-disabled SMS together as "Opted out"
// ([Reason.PreviewGroup] maps Blocked to OptedOut). The results page
// shows "Opted Out" and "Blocked" as separate cards and every other skip
// as "Skipped" ([Reason.ResultCard]).
//
// # Families sharing an address
//
// With [PreviewOpts.CollapseShared], eligible patients whose normalised
// phone number (SMS) or email address (email) was already counted get no
// message of their own: they are counted as SharedAddress ("Shared
// address" row) and [Preview.Collapsed]. Off by default. Memory stays
// small: the preview keeps a set of 64-bit hashes, not addresses.
//
// # Compliance notes
//
//   - STOP blocks every SMS, transactional included (compliance SM-04:
//     until the patient says which categories they meant, a revocation
//     covers all; FCC "revoke-all"). START clears Consent.SMSOptedOut,
//     which is the host's record, not this package's.
//   - Marketing SMS needs the patient's marketing opt-in
//     (Consent.SMSMarketingOptIn, the prior express written consent of
//     SM-01); the evidence behind it is kept by the host.
//   - Scoped suppression (J-02): an email unsubscribe blocks marketing
//     only; a bounce or complaint (suppression) blocks all email to the
//     patient and no SMS; a landline blocks SMS only.
//   - Checked at dequeue time (J-01): Classify is cheap and pure, so the
//     engine re-classifies each recipient from fresh patient data just
//     before sending, not only when the audience was built.
//
// # Errors
//
// Classification never fails. Previews fail only on an undefined channel
// or purpose (*[ArgError]), on an error from the patient stream, or when
// the context is done; errors are prefixed "eligibility: ", wrap their
// cause with %w and never contain patient data.
//
// # Performance
//
// BenchmarkPreview1M previews a million patients read from two
// overlapping cohorts in well under 200 ms on two cores; BenchmarkClassify
// shows classification at 0 allocations.
package eligibility
