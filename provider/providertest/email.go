package providertest

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strings"
	"testing"

	"github.com/carecast/carecast/provider"
)

// EmailOutcome is a scripted answer of a mail server or ESP to one message.
type EmailOutcome int

// The behaviours an email backend reproduces, with the class the sender
// must report.
const (
	// EmailAccept: the message is accepted. No error.
	EmailAccept EmailOutcome = iota
	// EmailTempFail: a transient refusal before the message was accepted
	// (SMTP "451 4.3.0"). Transient.
	EmailTempFail
	// EmailMailboxUnknown: the mailbox does not exist (SMTP "550
	// 5.1.1"). Suppress.
	EmailMailboxUnknown
	// EmailPolicyBlock: refused for the sender's reputation or policy
	// (SMTP "550 5.7.1"). SenderBlocked: the recipient is not
	// suppressed.
	EmailPolicyBlock
	// EmailRateLimited: throttled (SMTP "421 4.7.28"). RateLimited or
	// Transient.
	EmailRateLimited
	// EmailCutAfterRequest: the backend reads the whole message, then
	// drops the connection without a final answer. Ambiguous.
	EmailCutAfterRequest
)

var emailOutcomeNames = [...]string{"accept", "temp_fail", "mailbox_unknown", "policy_block", "rate_limited", "cut_after_request"}

// String returns the outcome's name.
func (o EmailOutcome) String() string {
	if o >= 0 && int(o) < len(emailOutcomeNames) {
		return emailOutcomeNames[o]
	}
	return fmt.Sprintf("EmailOutcome(%d)", int(o))
}

// EmailReceived is one message as the backend received it.
type EmailReceived struct {
	// From and To are the envelope addresses (MAIL FROM, RCPT TO) or the
	// API's sender and recipient.
	From, To string
	// Raw is the complete RFC 5322 message when the backend sees one
	// (SMTP); nil for API backends, which skip the MIME checks.
	Raw []byte
}

// EmailBackend is a mail server or ESP double the suite scripts and
// inspects. Implementations must be safe for concurrent use.
type EmailBackend interface {
	// Script queues outcomes for the next messages, in order; once they
	// are used up every message is accepted.
	Script(outcomes ...EmailOutcome)
	// Received returns every message whose delivery was attempted, in
	// order (including refused ones when the refusal came after the
	// recipient was named).
	Received() []EmailReceived
}

// EmailHarness connects the suite to one email sender.
type EmailHarness struct {
	// New returns a sender wired to a fresh backend. Required.
	New func(t *testing.T) (provider.EmailSender, EmailBackend)
	// Unsupported lists outcomes the backend cannot reproduce.
	Unsupported []EmailOutcome
	// Lenient is set for senders that accept any message without
	// validating it (in-memory fakes); the
	// MarketingWithoutUnsubscribeURL subtest is skipped.
	Lenient bool
}

const (
	emailTo      = "dana.patient@example.net"
	emailFrom    = "Oak Clinic <news@mail.oakclinic.example>"
	emailSubject = "Dana, your flu shot — ready ✓"
	emailText    = "Hi Dana,\n\nYour flu shot is ready.\n"
	emailHTML    = "<p>Hi Dana,</p><p>Your flu shot is ready.</p>"
	emailUnsub   = "https://u.oakclinic.example/u/opaque-token"
)

func emailMsg(id string, marketing bool) *provider.EmailMessage {
	m := &provider.EmailMessage{
		ID: id, OrgID: "org_1", From: emailFrom, To: emailTo,
		Subject: emailSubject, Text: emailText, HTML: emailHTML,
		Headers: map[string]string{"X-Carecast-Blast": "blast_42"},
	}
	if marketing {
		m.Marketing = true
		m.ListUnsubscribeURL = emailUnsub
	}
	return m
}

// TestEmailSender runs the email conformance suite against h.
func TestEmailSender(t *testing.T, h EmailHarness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("providertest: EmailHarness.New is required")
	}

	t.Run("AcceptMarketing", func(t *testing.T) {
		s, b := h.New(t)
		m := emailMsg("row_1", true)
		m.Attachments = []provider.Attachment{{Filename: "flyer.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 \x00\x01 binary")}}
		res, err := s.SendEmail(context.Background(), m)
		if err != nil {
			t.Fatalf("SendEmail: %v", err)
		}
		if res.ProviderMessageID == "" {
			t.Error("accepted send has empty ProviderMessageID")
		}
		got := b.Received()
		if len(got) != 1 {
			t.Fatalf("backend received %d messages, want exactly 1", len(got))
		}
		if got[0].To != emailTo {
			t.Errorf("recipient = %q, want %q", got[0].To, emailTo)
		}
		if got[0].Raw != nil {
			CheckMIME(t, got[0].Raw, m)
		}
	})

	t.Run("AcceptTransactional", func(t *testing.T) {
		s, b := h.New(t)
		m := emailMsg("row_2", false)
		if _, err := s.SendEmail(context.Background(), m); err != nil {
			t.Fatalf("SendEmail: %v", err)
		}
		got := b.Received()
		if len(got) != 1 {
			t.Fatalf("backend received %d messages, want 1", len(got))
		}
		if got[0].Raw != nil {
			CheckMIME(t, got[0].Raw, m)
		}
	})

	t.Run("MarketingWithoutUnsubscribeURL", func(t *testing.T) {
		if h.Lenient {
			t.Skip("sender does not validate messages")
		}
		s, b := h.New(t)
		m := emailMsg("row_3", true)
		m.ListUnsubscribeURL = ""
		_, err := s.SendEmail(context.Background(), m)
		if err == nil {
			t.Fatal("marketing email without an unsubscribe URL was sent")
		}
		checkClass(t, err, []provider.Class{provider.Permanent})
		if n := len(b.Received()); n != 0 {
			t.Errorf("backend received %d messages, want 0", n)
		}
	})

	failures := []struct {
		outcome EmailOutcome
		want    []provider.Class
	}{
		{EmailTempFail, []provider.Class{provider.Transient}},
		{EmailMailboxUnknown, []provider.Class{provider.Suppress}},
		{EmailPolicyBlock, []provider.Class{provider.SenderBlocked}},
		{EmailRateLimited, []provider.Class{provider.RateLimited, provider.Transient}},
		{EmailCutAfterRequest, []provider.Class{provider.Ambiguous}},
	}
	for _, f := range failures {
		t.Run("Outcome_"+f.outcome.String(), func(t *testing.T) {
			if slices.Contains(h.Unsupported, f.outcome) {
				t.Skipf("backend cannot reproduce %v", f.outcome)
			}
			s, b := h.New(t)
			b.Script(f.outcome)
			_, err := s.SendEmail(context.Background(), emailMsg("row_"+f.outcome.String(), true))
			if err == nil {
				t.Fatalf("outcome %v: SendEmail succeeded, want class %v", f.outcome, f.want)
			}
			checkClass(t, err, f.want)
			checkNoPHI(t, err, emailTo, "Dana", emailText)
			if _, err := s.SendEmail(context.Background(), emailMsg("row_after", false)); err != nil {
				t.Errorf("send after %v failed: %v", f.outcome, err)
			}
		})
	}

	t.Run("CancelledContext", func(t *testing.T) {
		s, b := h.New(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := s.SendEmail(ctx, emailMsg("row_cancel", false))
		if err == nil {
			t.Fatal("send with a cancelled context succeeded")
		}
		if c := provider.Classify(err); c != provider.Transient {
			t.Errorf("class = %v, want transient", c)
		}
		if n := len(b.Received()); n != 0 {
			t.Errorf("backend received %d messages after cancellation, want 0", n)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s, b := h.New(t)
		checkConcurrent(t, 8, func(i int) (provider.Result, error) {
			return s.SendEmail(context.Background(), emailMsg(fmt.Sprintf("row_c%d", i), false))
		}, func() int { return len(b.Received()) })
	})
}

// CheckMIME parses raw as an RFC 5322 message and checks that it carries
// m: ASCII-only headers with an RFC 2047 subject that decodes to
// m.Subject, a Message-ID, m.Headers, multipart/alternative text and HTML
// parts equal to m.Text and m.HTML (line endings normalised), m's
// attachments, and for marketing mail exactly the RFC 8058 headers.
func CheckMIME(t *testing.T, raw []byte, m *provider.EmailMessage) {
	t.Helper()
	hdrEnd := bytes.Index(raw, []byte("\r\n\r\n"))
	if hdrEnd < 0 {
		t.Fatal("message has no CRLF header/body separator")
	}
	for i, c := range raw[:hdrEnd] {
		if c >= 0x80 {
			t.Fatalf("header byte %d is not ASCII (RFC 2047 encoding missing)", i)
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse message: %v", err)
	}
	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subj != m.Subject {
		t.Errorf("Subject decodes to %q (%v), want %q", subj, err, m.Subject)
	}
	if id := msg.Header.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.Contains(id, "@") || !strings.HasSuffix(id, ">") {
		t.Errorf("Message-ID = %q, want <local@domain>", id)
	}
	for k, v := range m.Headers {
		if got := msg.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	lu, lup := msg.Header.Get("List-Unsubscribe"), msg.Header.Get("List-Unsubscribe-Post")
	if m.Marketing {
		if lu != "<"+m.ListUnsubscribeURL+">" {
			t.Errorf("List-Unsubscribe = %q, want <%s>", lu, m.ListUnsubscribeURL)
		}
		if lup != "List-Unsubscribe=One-Click" {
			t.Errorf("List-Unsubscribe-Post = %q, want List-Unsubscribe=One-Click", lup)
		}
	} else if lu != "" || lup != "" {
		t.Errorf("transactional mail carries List-Unsubscribe headers %q / %q", lu, lup)
	}
	parts := map[string][]byte{}
	var attachments []provider.Attachment
	walkMIME(t, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), "", msg.Body, parts, &attachments, 0)
	if _, ok := parts["multipart/alternative"]; !ok {
		t.Error("no multipart/alternative part")
	}
	if got := normalizeText(parts["text/plain"]); got != normalizeText([]byte(m.Text)) {
		t.Errorf("text part = %q, want %q", got, m.Text)
	}
	if got := normalizeText(parts["text/html"]); got != normalizeText([]byte(m.HTML)) {
		t.Errorf("HTML part = %q, want %q", got, m.HTML)
	}
	if len(attachments) != len(m.Attachments) {
		t.Fatalf("%d attachments, want %d", len(attachments), len(m.Attachments))
	}
	for i, a := range m.Attachments {
		g := attachments[i]
		if g.Filename != a.Filename || g.ContentType != a.ContentType || !bytes.Equal(g.Data, a.Data) {
			t.Errorf("attachment %d = %q %q (%d bytes), want %q %q (%d bytes)", i, g.Filename, g.ContentType, len(g.Data), a.Filename, a.ContentType, len(a.Data))
		}
	}
}

// walkMIME collects leaf parts by media type (the first of each) and
// attachments; parts["multipart/alternative"] is set non-nil when such a
// container was seen.
func walkMIME(t *testing.T, ctype, cte, disposition string, body io.Reader, parts map[string][]byte, atts *[]provider.Attachment, depth int) {
	t.Helper()
	if depth > 5 {
		t.Fatal("MIME nesting too deep")
	}
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		t.Fatalf("Content-Type %q: %v", ctype, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		parts[mt] = []byte{}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("multipart: %v", err)
			}
			walkMIME(t, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p.Header.Get("Content-Disposition"), p, parts, atts, depth+1)
		}
	}
	var r io.Reader = body
	switch strings.ToLower(cte) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, newlineStripper{body})
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s part (%s): %v", mt, cte, err)
	}
	if d, dp, err := mime.ParseMediaType(disposition); err == nil && d == "attachment" {
		*atts = append(*atts, provider.Attachment{Filename: dp["filename"], ContentType: mt, Data: data})
		return
	}
	if _, ok := parts[mt]; !ok {
		parts[mt] = data
	}
}

// newlineStripper drops CR and LF so base64 bodies decode.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	j := 0
	for _, c := range p[:k] {
		if c != '\r' && c != '\n' {
			p[j] = c
			j++
		}
	}
	return j, err
}

func normalizeText(b []byte) string {
	return strings.TrimRight(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
}
