// Package fake is an in-memory SMS and email provider for tests, examples
// and benchmarks. It is a real sender, not an expectation mock: it accepts
// messages, assigns provider message IDs, records what it "sent", and can
// be scripted to fail the way real vendors do.
//
// # What it records
//
// Every call is logged ([Provider.Received]); accepted messages are
// returned by [Provider.Sent] (in acceptance order). A message whose ID (the engine's ledger row ID)
// was already accepted once is still recorded, and counted by
// [Provider.Duplicates]: the number the engine's no-double-send guarantee
// keeps at zero.
//
// # Scripting failures
//
//   - [Provider.FailNext] fails the next n calls with an error;
//   - [Provider.Outage] fails every call whose provider-clock time falls in
//     a window with a transient 503 (a call refused by an outage does not
//     consume the rules below);
//   - [Provider.FailTo] fails calls to one address with a sequence of errors
//     (first attempt, second attempt, …), then succeeds;
//   - [Provider.Script] installs a function deciding each call's fate.
//
// The rules apply in that order; the first that decides wins.
//
// The constructors [Transient], [RateLimited], [Permanent], [Landline],
// [OptedOut], [Bounce] and [Ambiguous] build classified *provider.Error
// values. An [Ambiguous] error is special: the fake accepts (records) the
// message and then reports the ambiguous error, as a vendor whose answer
// was lost would; resending it would be a duplicate.
// [AmbiguousLost] is the same answer for a request the vendor never got:
// the fake does not accept the message.
//
// # Acceptance checks
//
// The fake is a provider.AcceptanceChecker that knows what it accepted:
// [Provider.CheckAccepted] finds an accepted text with the query's To,
// From and Body whose call time is within the query's window (accepted,
// with its ProviderMessageID), and otherwise answers not accepted.
// [Provider.AcceptanceUnknownFor] makes it answer unknown for some
// addresses, [Provider.FailCheckNext] fail the next checks, and
// [Provider.Checks] counts them.
//
// # Latency
//
// [Config.Latency] delays each call using a timer that honours ctx; a
// cancelled ctx returns context's error without accepting the message.
package fake
