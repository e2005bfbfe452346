// Package smtp sends email over SMTP with github.com/wneessen/go-mail:
// multipart/alternative text and HTML, attachments, RFC 2047 headers, a
// Message-ID, RFC 8058 one-click unsubscribe headers for marketing mail and
// optional DKIM signing with github.com/emersion/go-msgauth.
//
// # Connections
//
// [New] takes a [Config] and does not connect. Sends share up to
// Config.MaxConns connections, kept open and reused (RSET before each
// reuse; a connection idle longer than Config.IdleTimeout is replaced).
// Each connection says EHLO, upgrades with STARTTLS (mandatory by
// default; implicit TLS on port 465 and, for a loopback relay, plain text
// are available) and authenticates when Config.Username is set. Dialling
// is bounded by ConnectTimeout, each transaction by CommandTimeout or the
// context's deadline, whichever is earlier; cancelling the context
// interrupts a blocked read or write at once. Call [Client.Close] to QUIT.
//
// # Messages
//
// Every message is multipart/alternative (text/plain and text/html,
// quoted-printable) inside multipart/mixed when it has attachments. The
// subject and display names are RFC 2047-encoded when not ASCII. The
// Message-ID is <cc.ROWID@domain> (the ledger row ID when it is a safe
// token, random otherwise; the domain is Config.MessageIDDomain or the
// From domain), so a retried message keeps its Message-ID; the Result's
// ProviderMessageID is that ID without brackets. Marketing mail must carry
// an https ListUnsubscribeURL and gets
//
//	List-Unsubscribe: <https://…>
//	List-Unsubscribe-Post: List-Unsubscribe=One-Click
//
// Extra headers (EmailMessage.Headers) may not contain line breaks or
// replace the headers the adapter writes.
//
// # DKIM
//
// With Config.DKIM set, the rendered message is signed (rsa-sha256 or
// ed25519-sha256, relaxed/relaxed). The signature covers From, To,
// Subject, Date, Message-ID, Reply-To, MIME-Version, Content-Type and,
// for marketing mail, List-Unsubscribe and List-Unsubscribe-Post, as RFC
// 8058 §4 requires. Each signed marketing message then passes
// [CheckUnsubscribeSigned] before it is sent (compliance.md EM-02).
// Without Config.DKIM the message leaves unsigned and the relay or ESP
// must sign those two headers; run CheckUnsubscribeSigned on a message
// captured after the relay to prove it, since receivers offer no
// one-click unsubscribe for unsigned headers.
//
// # Error classes
//
// Replies are classified by reply code and enhanced status code
// ([ClassifyReply], compliance.md BO-01/BO-02): 4xx Transient (4.7.x
// throttling RateLimited); 5.1.1, 5.1.2, 5.1.3, 5.1.10 and 5.2.1 Suppress
// (hard bounce); 5.7.x SenderBlocked (a policy or reputation block never
// suppresses the patient; the engine pauses the blast when they pile up);
// other 5xx Permanent. Network failures before the message
// data was complete are Transient; a lost connection or cancelled context
// after the data was sent, before the final reply, is Ambiguous. Rejected
// credentials, untrusted certificates and a server without STARTTLS are
// Permanent configuration errors.
//
// Errors carry codes only: servers often repeat the address in their
// reply text, so that text is dropped.
package smtp
