// Package ses verifies Amazon SNS messages that carry Amazon SES
// notifications (bounces, complaints, deliveries, and opens and clicks from
// SES event publishing) and turns them into [provider.Event] values.
//
// # Verification
//
// [Webhook.Verify] follows compliance.md WH-03:
//
//   - The SigningCertURL must be https, on a host matching
//     ^sns\.[a-zA-Z0-9-]{3,}\.amazonaws\.com(\.cn)?$ (the pattern of
//     aws-sdk-ruby's MessageVerifier), without user info, port, query or
//     fragment, with a plain path (no percent-encoding, no dot or empty
//     segments) ending in .pem. Anything else is refused before any
//     fetch, so one certificate has exactly one URL ([CertURLKey]) and
//     300 forged "…x.pem?n=i" URLs cost no fetch at all.
//   - The TopicArn must be in Config.AllowedTopics.
//   - The signed Timestamp must be at most Config.MaxAge old (65 minutes
//     by default: SNS never retries an HTTP/S delivery for more than
//     3,600 s) and at most 5 minutes in the future; checked before the
//     certificate is fetched. NoMaxAge turns the check off.
//   - The certificate (fetched over HTTPS and cached by
//     [HTTPCertFetcher], or supplied by a [CertFetcher]) must be within
//     its validity period, and its RSA key must verify the signature over
//     the canonical string ([Message.StringToSign]: a fixed field list in
//     a fixed order, "Key\nValue\n"), SHA1withRSA for SignatureVersion 1,
//     SHA256withRSA for 2.
//
// The certificate is necessarily fetched before the signature can be
// checked. [HTTPCertFetcher] keeps at most [DefaultCertCacheSize] (32)
// certificates, least recently used out first, keyed by the normalised
// URL; it caches only certificates it fetched and parsed (a forged URL
// that fails takes no place), shares one fetch among concurrent requests
// for the same URL, never follows redirects and reads at most 64 KiB.
//
// Unknown JSON fields are tolerated: SNS and SES add fields over time.
//
// # Subscriptions
//
// A verified SubscriptionConfirmation for an allowed topic is confirmed
// by visiting its SubscribeURL, only at an SNS host (no redirect is
// followed), and only once per MessageId (replays are ignored). UnsubscribeConfirmation messages are
// ignored: a host re-subscribes deliberately.
//
// # Events
//
// [ParseNotification] documents the mapping. Permanent bounces are hard
// (the address is suppressed) unless the recipient's status is 5.7.x, a
// block (SenderBlocked) that never suppresses the patient; transient bounces are soft.
// One SES notification may name several recipients: each becomes an
// event. Event IDs are built from the SNS MessageId, which SNS reuses on
// retries, so redeliveries are harmless.
//
// # Organisations
//
// SNS does not sign the endpoint URL, so the organisation is never taken
// from the request. Event.OrgID is Config.OrgID: empty when one topic
// serves every organisation (the engine finds the organisation from the
// ledger row the signed Message-ID names), or the one organisation of a
// webhook dedicated to its topics (the engine then ignores events naming
// another organisation's message).
//
// # HTTP
//
// [Webhook.Handler] reads the body within Config.MaxBodyBytes (256 KiB by
// default; 413 past it) and Config.ReadTimeout (10 s by default, a read
// deadline of its own through http.ResponseController; 408 past it), and
// answers 204 after the [provider.EventSink] accepted the events; 403 for
// a bad signature, certificate URL or topic; 401 for a stale message; 400
// for a malformed one (the sink is not called); and 500 when the
// certificate cannot be fetched or the sink fails, so that SNS
// redelivers.
package ses
