// Package sendgrid verifies and parses SendGrid's Signed Event Webhook into
// [provider.Event] values: deliveries, bounces, complaints, opens and
// clicks of email sent through SendGrid (by SMTP relay with provider/smtp,
// or by its API).
//
// # Verification
//
// SendGrid signs each batch with ECDSA P-256 over SHA-256 of the
// X-Twilio-Email-Event-Webhook-Timestamp header followed by the raw body,
// trailing CRLF included (compliance.md WH-02). [Webhook.Verify]:
//
//   - refuses when no verification key is configured ([NewWebhook]
//     requires one: there is no unverified mode);
//   - refuses a missing or wrong signature (ErrWebhookSignature, HTTP 403);
//   - refuses a timestamp more than Config.Window (300 s by default) from
//     now, either way (ErrWebhookStale, HTTP 401), so a captured batch
//     cannot be replayed later;
//   - parses JSON only after the signature verified, and never
//     re-serialises it.
//
// # Events
//
// [Webhook.ParseBody] documents the mapping. Bounces are classified by
// their enhanced status code ([provider.ClassifyBounce]): a dead mailbox
// (5.1.1, 5.2.1, …) is a hard bounce that suppresses the address; a block
// (type "blocked", 5.7.x) is SenderBlocked and never suppresses the
// patient. Spam reports are
// complaints. Event IDs come from sg_event_id, so SendGrid's duplicate
// deliveries (observed up to 46 times over 29 hours) are harmless.
//
// # Organisations
//
// SendGrid signs the body and timestamp, not the URL, so the organisation
// is never taken from the request (a ?org= parameter would let anyone
// re-post a captured batch for another organisation). Event.OrgID is
// Config.OrgID: empty for one SendGrid account serving every
// organisation, in which case the engine finds the organisation from the
// ledger row the signed smtp-id (the Message-ID provider/smtp set) names;
// or the one organisation of a webhook dedicated to its own SendGrid
// account and key, in which case the engine ignores events naming
// another organisation's message. An event the engine cannot match is
// ignored without being recorded, so it never makes the genuine one a
// duplicate.
//
// # HTTP
//
// [Webhook.Handler] reads the body within Config.MaxBodyBytes (4 MiB by
// default; 413 past it) and Config.ReadTimeout (10 s by default, a read
// deadline of its own through http.ResponseController; 408 past it),
// answers 204 after the [provider.EventSink] accepted the events,
// 403/401/400 for rejected requests (the sink is not called) and 500 when
// the sink fails, so that SendGrid redelivers.
//
// # Privacy
//
// Event.To carries the recipient address for the engine; errors never
// contain addresses or bodies.
package sendgrid
