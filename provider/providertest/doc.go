// Package providertest is the conformance suite every [provider.SMSSender]
// and [provider.EmailSender] runs, the in-memory fake included, against a
// backend that behaves like the vendor.
//
// # Using the suite
//
// An adapter's test wires its sender to a vendor-shaped test server and
// hands the suite a harness:
//
//	func TestConformance(t *testing.T) {
//		providertest.TestSMSSender(t, providertest.SMSHarness{
//			New: func(t *testing.T) (provider.SMSSender, providertest.SMSBackend) {
//				srv := newVendorServer(t) // implements SMSBackend
//				return newClient(srv.URL), srv
//			},
//		})
//	}
//
// The backend is scripted with outcomes ([SMSOutcome], [EmailOutcome]):
// each names a vendor behaviour (accept, "invalid number", HTTP 429, a
// connection cut after the request arrived, …) that the backend must
// reproduce in the vendor's own wire format. The suite then checks the
// adapter's half of the contract in package provider:
//
//   - an accepted message yields a non-empty, unique ProviderMessageID and
//     reaches the vendor exactly once, with the right recipient, body and
//     media;
//   - every failure is an error that provider.Classify maps to the class
//     the outcome demands; a connection cut after the request was
//     delivered, or an answer the adapter cannot read, is never
//     retryable;
//   - a rate-limit answer carries the vendor's Retry-After;
//   - a cancelled context sends nothing;
//   - error strings contain no recipient address, number or body (PHI);
//   - the sender is safe for concurrent use (run the suite with -race).
//
// Outcomes a backend cannot produce are listed in the harness's
// Unsupported field and their subtests are skipped.
//
// # Email MIME checks
//
// When an [EmailBackend] reports the raw message it received
// (EmailReceived.Raw), the suite also parses it: multipart/alternative
// with text and HTML parts, an RFC 2047-encoded subject that decodes to the
// original, a Message-ID, attachments, and for marketing mail the RFC 8058
// List-Unsubscribe and List-Unsubscribe-Post headers.
package providertest
