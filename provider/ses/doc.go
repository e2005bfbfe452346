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
//     aws-sdk-ruby's MessageVerifier), without user info or port, with a
//     path ending in .pem. Anything else is refused before any fetch.
//   - The TopicArn must be in Config.AllowedTopics.
//   - The certificate (fetched over HTTPS and cached by
//     [HTTPCertFetcher], or supplied by a [CertFetcher]) must be within
//     its validity period, and its RSA key must verify the signature over
//     the canonical string ([Message.StringToSign]: a fixed field list in
//     a fixed order, "Key\nValue\n"), SHA1withRSA for SignatureVersion 1,
//     SHA256withRSA for 2.
//   - Optionally, Config.MaxAge refuses old messages.
//
// Unknown JSON fields are tolerated: SNS and SES add fields over time.
//
// # Subscriptions
//
// A verified SubscriptionConfirmation for an allowed topic is confirmed
// by visiting its SubscribeURL, only at an SNS host, and only once per
// MessageId (replays are ignored). UnsubscribeConfirmation messages are
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
// # HTTP
//
// [Webhook.Handler] answers 204 after the [provider.EventSink] accepted
// the events; 403 for a bad signature, certificate URL or topic; 401 for
// a stale message; 400 for a malformed one (the sink is not called); and
// 500 when the certificate cannot be fetched or the sink fails, so that
// SNS redelivers.
package ses
