// Package tracking serves the links inside carecast emails: the open pixel,
// click redirects and the unsubscribe endpoint (body link and RFC 8058
// one-click), as a plain [http.Handler] that the host mounts on its own
// router. It never listens on a port itself.
//
// # Tokens
//
// Every URL carries one opaque token and nothing else: no email address,
// phone number, name or other PHI (compliance.md TR-01). A token is
//
//	version | key ID | purpose | issued-at | [link index] | recipient ID | HMAC-SHA256 tag (128 bits)
//
// encoded base64url. The recipient ID is the engine's random ledger row ID
// for one recipient of one blast. A [Signer] signs with its first [Key] and
// verifies with all of them, so keys rotate by prepending a new key and
// later dropping the old one. A token minted for one [Purpose] is rejected
// by every other endpoint. Everything that does not verify is
// [ErrInvalidToken] and answered with the same neutral 404 page, so
// responses are no oracle.
//
// # Endpoints
//
//	GET  /o/{token}        1×1 GIF, Cache-Control: no-store; records an open
//	GET  /c/{token}        302 to the stored destination; records a click
//	HEAD /c/{token}        the same redirect, flagged as a machine click
//	GET  /u/{token}        confirmation page with a POST form; changes nothing
//	POST /u/{token}        unsubscribes: RFC 8058 "List-Unsubscribe=One-Click"
//	                       (urlencoded or multipart) or the form's confirm=1
//
// Click destinations come from [Backend.LinkURL] (the compiled blast's
// link table), never from the request, so the redirector cannot be turned
// into an open redirect; only http and https destinations are followed.
// Unsubscribe GETs never change state, because mail scanners fetch every
// URL they see; the one-click POST needs no cookie, login or CSRF token
// (the signed token is the authorization) and never redirects.
//
// # Test messages
//
// [TestRecipientID] is reserved for test messages, which no ledger row
// stands behind (package blast's "Send Test to Me"; blast.RecipientID
// returns it for blast.TestRow). Its tokens are signed like any other,
// so they cannot be forged, and the Handler answers them without calling
// the Backend: the unsubscribe confirmation page, the form's POST and the
// RFC 8058 one-click POST all answer 200 with a page saying the message
// was a test and no one was unsubscribed; a click answers a page saying
// the link was in a test message; the pixel is served and nothing is
// recorded. Never an error page.
//
// # Windows
//
// Opens and clicks are recorded for [Config.TrackingWindow] (72 hours by
// default) after the email was sent. After that the pixel is still served
// and links still redirect (for [Config.ClickMaxAge], 400 days by default),
// but nothing is recorded. Unsubscribe links keep working for
// [Config.UnsubscribeMaxAge] (400 days by default; CAN-SPAM requires at
// least 30).
//
// # Machine events
//
// Software opens and clicks are recorded with [Engagement.Machine] set and
// a reason, so that the engine can leave them out of rates:
//
//	apple_mpp     open with user agent exactly "Mozilla/5.0" from Config.AppleProxyPrefixes
//	prefetch      open within Config.PrefetchWindow (3 s) of sending
//	head_request  HEAD on a click URL
//	fast_click    click within Config.ScannerWindow (10 s) of sending
//	scanner       click whose user agent matches Config.ScannerUserAgents (or is empty)
//	click_burst   click on another link of the same message within Config.BurstWindow (2 s)
//
// # Abuse
//
// Requests with invalid tokens are rate limited per source
// ([Config.InvalidPerIP], 5 a second over a sliding 10-second window) and
// answered 429 over the limit; every invalid request counts, so a source
// must slow down to be answered again. A source is an IPv4 address or an
// IPv6 /64 network (one subscriber's allocation: its 2^64 addresses are
// one source). The counts live in a count-min sketch of fixed size
// ([ThrottleMemory], 128 KiB, allocated with the Handler): memory does
// not grow with the number of sources, and a flood of new sources cannot
// make it forget a heavy one. The sketch may over-count a source that
// shares counters with heavy ones; that only turns the 404 of an invalid
// token into a 429. A valid token is never throttled. The client address
// is the connection's (Request.RemoteAddr): behind a proxy, restore it
// (for example with a trusted X-Forwarded-For middleware) before the
// Handler, or every client is one source.
//
// The unsubscribe POST body is read with [http.MaxBytesReader] (64 KiB;
// 413 past it) and a read deadline of the Handler's own
// ([Config.BodyReadTimeout], 10 s by default, set through
// [http.ResponseController]; 408 past it), so a client trickling its body
// holds a goroutine for that long at most. The host's http.Server should
// still set ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout.
//
// Click-burst detection remembers the last click of at most 100,000
// recipients (entries older than Config.BurstWindow go first).
package tracking
