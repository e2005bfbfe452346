// Package provider holds the plug-in interfaces through which the engine
// reaches SMS and email vendors, the classified [Error] every adapter
// returns, and the [Event] type webhooks are translated into. Most code
// should use package blast; this package is for writing and configuring
// adapters.
//
// Stability: the sender interfaces ([SMSSender], [EmailSender]) and optional
// capability interfaces are stable and hosts may implement them.
//
// # Division of labour
//
// An adapter translates one message into one vendor request and classifies
// the answer. It never retries, sleeps or throttles: the engine owns retry,
// exponential backoff, Retry-After handling, rate limits and batching.
//
// # Error classes
//
// Every failed send returns an error that [Classify] maps to a [Class]:
//
//	Permanent    failed; not retried automatically
//	Transient    retried with backoff (nothing was accepted)
//	RateLimited  retried after Retry-After
//	Landline     skipped as landline; patient record updated
//	OptedOut     recorded as opted out; patient record updated
//	Ambiguous    "in doubt": the vendor may have accepted it; never resent
//	Suppress     failed; address suppressed (hard bounce)
//
// The one rule an adapter must not break: if the vendor may already have
// accepted the message (the request body was written and the connection
// then broke, or the answer is not understood), the class is Ambiguous,
// never Transient. Reporting it as retryable would text a patient twice.
//
// # Webhooks and events
//
// Webhook adapters (provider/twilio, provider/sendgrid, provider/ses)
// verify each request's signature before translating it into [Event]
// values and handing them to an [EventSink]. Rejected requests wrap
// [ErrWebhookSignature], [ErrWebhookStale], [ErrWebhookForbidden] or
// [ErrWebhookMalformed] ([ErrWebhookTooLarge] and [ErrWebhookTimeout] are
// kinds of malformed); [WebhookStatus] maps them to 403, 401, 403, 400,
// 413 and 408, and [WebhookHandler] is the shared HTTP side. Event IDs are
// stable across a vendor's redeliveries, so duplicates are harmless.
//
// Nothing an attacker can change routes an event. [Event.OrgID] comes
// only from data the vendor signed (Twilio signs the whole callback URL,
// query included) or from the adapter's configuration (a SendGrid or SES
// webhook dedicated to one organisation); SendGrid and SNS do not sign
// the URL, so their adapters never read the organisation from it, and
// the engine takes it from the ledger row the signed message ID names.
//
// [Event.MessageID] is the engine's own message ID (the ledger row), read
// from signed data only: a parameter of Twilio's signed status-callback
// URL (twilio.WebhookConfig.MessageParam). It lets a delivery receipt
// resolve a row whose send answer was lost (in doubt), whose vendor
// message ID the engine therefore never learned; the engine accepts it
// only with a signed Event.OrgID and only for a row of that organisation
// that is in doubt. SendGrid and SNS callbacks leave it empty.
//
// # Reconciling in-doubt messages
//
// [AcceptanceChecker] is an optional interface of an SMS sender whose
// vendor can say whether it accepted a message whose send answer was lost
// ([AcceptanceQuery]: To, From, the rendered Body and the time window).
// The answer ([Acceptance]) is accepted (with the vendor's message ID),
// not accepted, or unknown, the zero value; "not accepted" makes the row
// sendable again, so an implementation answers it only when the vendor's
// records prove it. provider/twilio implements it with the Messages list;
// provider/fake from what it accepted; the email adapters do not.
//
// # Reading request bodies
//
// Every webhook handler reads its body through [ReadBody]: at most the
// adapter's MaxBodyBytes ([http.MaxBytesReader]; 413 past it, without
// reading the rest) and within the adapter's ReadTimeout, a read deadline
// of its own set through [http.ResponseController] (408 past it;
// [DefaultWebhookReadTimeout], 10 s, by default). A client trickling a
// byte a second therefore holds a connection and its goroutine for
// ReadTimeout at most, whatever the host's server does. When the
// ResponseWriter cannot set deadlines (middleware without an Unwrap
// method), the size bound still applies and only the server's own
// ReadTimeout bounds the wait. Hosts should still configure their
// http.Server with ReadHeaderTimeout, ReadTimeout, WriteTimeout and
// IdleTimeout (the examples do): the handler's deadline covers only its
// body.
// [ClassifyBounce] classifies email bounces by enhanced status code (hard
// bounces suppress; 5.7.x blocks never suppress the patient).
//
// # Keywords
//
// [ParseKeyword] and [MatchKeyword] read an inbound text as STOP, START or
// HELP the way compliance.md SM-03 to SM-06 require: normalised (NFKC,
// case, surrounding punctuation and emoji), the newer OPTOUT and REVOKE
// included, natural-language opt-outs ("please stop texting me") flagged
// as fuzzy, and questions ("can I stop my meds?") left alone.
//
// # Sending domains and the writing assistant
//
// [DomainVerifier] reports whether an organisation's marketing or
// transactional sending domain passes its DMARC, SPF and DKIM checks
// (provider/domain). [TextGenerator] is the AI writing assistant
// (provider/openai): it sees only the staff prompt, the organisation name
// and merge-field names, never patient data.
//
// # Privacy
//
// Errors and logs carry vendor codes and message IDs, never phone numbers,
// addresses, names or bodies.
package provider
