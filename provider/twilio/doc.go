// Package twilio sends SMS and MMS through Twilio's Messages REST API and
// turns Twilio's status callbacks and inbound messages into
// [provider.Event] values.
//
// # Sending
//
// [New] takes a [Config]: the account SID, credentials (the Auth Token, or
// an API key SID and secret), and a default sender (a From number or a
// Messaging Service SID "MG…"). [Client.SendSMS] makes exactly one
// form-encoded POST to /2010-04-01/Accounts/{AccountSid}/Messages.json with
// To, From or MessagingServiceSid, Body, one MediaUrl per image (which
// makes it an MMS) and StatusCallback. BaseURL is configurable, so tests
// and proxies can stand in for api.twilio.com.
//
// # Reconciling in-doubt texts
//
// [Client.CheckAccepted] implements provider.AcceptanceChecker with the
// Messages list resource (GET /2010-04-01/Accounts/{AccountSid}/Messages.json
// with To, From, "DateSent>" and "DateSent<", PageSize 100, following
// next_page_uri for at most 20 pages): an outbound message to the number
// from the sender, created in the attempt's window, with the rendered body
// is accepted. "Not accepted" needs every page read, no message to the
// number from the sender in the window, and Config.QueueWindow (10 h, the
// longest ValidityPeriod) passed, since a queued message has no date sent
// yet. Anything else is unknown, and always with Phone Number Redaction.
// A 429 is RateLimited with its Retry-After.
//
// # Error classes
//
// Twilio's error codes map to the engine's classes (compliance.md SF-01,
// see [ClassifyCode]):
//
//	21610                 OptedOut     the patient sent STOP to this sender
//	21614, 21635, 30006   Landline     the number cannot receive texts
//	21211, 30004, 30005   Permanent    invalid, blocked or unknown number
//	30007, 30034, 30032,  SenderBlocked  carrier filtering, an unregistered
//	21408, 30002                         or unverified number, a region not
//	                                     enabled, a suspended account: the
//	                                     sender's problem, never a reason to
//	                                     suppress the patient (the engine
//	                                     retries and pauses the blast)
//	20429, HTTP 429       RateLimited  with the Retry-After header
//	30003, 30008, 5xx     Transient
//	HTTP 504              Ambiguous    a gateway gave up; Twilio may have
//	                                   queued the message
//
// A request whose outcome is unknown is Ambiguous, never Transient: the
// connection broke (or the context ended) after the request was written,
// or Twilio's success answer cannot be read. Connection failures before
// the request was written are Transient. Error strings carry the code and
// a fixed description, never Twilio's own message (which names the
// number).
//
// # Webhooks
//
// [Webhook] verifies X-Twilio-Signature (compliance.md WH-01): HMAC-SHA1
// keyed with the Auth Token over the exact public URL (PublicURL plus the
// request line's path and query, never the Host header) followed by every
// POST parameter sorted by name, compared in constant time. The URL with
// its port stripped or the default port added is accepted too, JSON bodies
// are checked through bodySHA256, and Webhooks rules signing with
// HMAC-SHA256 is supported through WebhookConfig.SigningKeys.
//
// [Webhook.StatusHandler] and [Webhook.InboundHandler] read the body
// within WebhookConfig.MaxBodyBytes (64 KiB by default; 413 past it) and
// WebhookConfig.ReadTimeout (10 s by default, a read deadline of their
// own through http.ResponseController; 408 past it), answer 403 for a
// missing or wrong signature (or a foreign account), 400 for a malformed
// request, and call the [provider.EventSink] only for verified requests;
// a failing sink answers 500 so that Twilio redelivers.
//
// Status callbacks: delivered → EventDelivered; undelivered and failed →
// EventUndelivered with the classified error code (30006 marks the number
// as a landline; 30003 and 30005 are undelivered). Event IDs are built
// from MessageSid, status and error code, so redeliveries are harmless.
//
// Inbound messages become EventInbound with the STOP/START/HELP keyword
// ([provider.MatchKeyword]). When Twilio's Advanced Opt-Out matched the
// keyword itself (OptOutType), Event.ProviderHandledOptOut is set: Twilio
// has already replied, so the engine sends no second confirmation.
//
// # Privacy
//
// Inbound bodies and phone numbers are PHI: they appear only in the Event,
// never in errors. Status callback URLs must not carry PHI; the org query
// parameter (WebhookConfig.OrgParam) names the organisation. It can be
// trusted because the signature covers the whole URL, query included: a
// signed callback re-posted with another organisation fails
// verification (403). The msg parameter (WebhookConfig.MessageParam) is
// read the same way into Event.MessageID: the engine's message ID, so a
// receipt for a text whose send answer was lost resolves its in-doubt
// row. Build the per-row callback URL with both, for example
// "https://hooks.clinic.example/twilio/status?org=ORG&msg=ROW" from
// blast.Config.StatusCallbackURL (ROW is the decimal row ID).
package twilio
