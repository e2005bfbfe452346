package smtp_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/providertest"
	"github.com/carecast/carecast/provider/smtp"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testNow = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func config(ms *mailServer) smtp.Config {
	host, port, _ := net.SplitHostPort(ms.addr)
	p, _ := strconv.Atoi(port)
	return smtp.Config{
		Host: host, Port: p,
		TLSConfig: &tls.Config{RootCAs: ms.pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
		Username:  testUser, Password: testPass,
		ConnectTimeout: 5 * time.Second, CommandTimeout: 5 * time.Second,
		Now: func() time.Time { return testNow },
	}
}

func newClient(t *testing.T, cfg smtp.Config) *smtp.Client {
	t.Helper()
	c, err := smtp.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConformance(t *testing.T) {
	t.Parallel()
	providertest.TestEmailSender(t, providertest.EmailHarness{
		New: func(t *testing.T) (provider.EmailSender, providertest.EmailBackend) {
			ms := newMailServer(t)
			return newClient(t, config(ms)), ms
		},
	})
}

func message(marketing bool) *provider.EmailMessage {
	m := &provider.EmailMessage{
		ID: "row_1", OrgID: "org_1", From: "Oak Clinic <news@mail.oakclinic.example>", To: "p@example.net",
		Subject: "Grippe-Impfung für Sie", Text: "Hello\n", HTML: "<p>Hello</p>",
		Headers: map[string]string{"X-Carecast-Blast": "blast_1"},
	}
	if marketing {
		m.Marketing, m.ListUnsubscribeURL = true, "https://u.oakclinic.example/u/tok123"
	}
	return m
}

func headerBlock(raw []byte) string {
	i := bytes.Index(raw, []byte("\r\n\r\n"))
	return string(raw[:i+2])
}

func TestReceivedBytes(t *testing.T) {
	t.Parallel()
	ms := newMailServer(t)
	c := newClient(t, config(ms))
	res, err := c.SendEmail(context.Background(), message(true))
	require.NoError(t, err)
	assert.Equal(t, "cc.row_1@mail.oakclinic.example", res.ProviderMessageID)
	got := ms.Received()
	require.Len(t, got, 1)
	assert.Equal(t, "news@mail.oakclinic.example", got[0].From, "envelope MAIL FROM")
	assert.Equal(t, "p@example.net", got[0].To)
	h := headerBlock(got[0].Raw)
	for _, line := range []string{
		"List-Unsubscribe: <https://u.oakclinic.example/u/tok123>\r\n",
		"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
		"Message-ID: <cc.row_1@mail.oakclinic.example>\r\n",
		"Date: Mon, 02 Mar 2026 09:30:00 +0000\r\n",
		"MIME-Version: 1.0\r\n",
		"X-Carecast-Blast: blast_1\r\n",
		"Subject: =?UTF-8?q?Grippe-Impfung_f=C3=BCr_Sie?=\r\n",
		"To: <p@example.net>\r\n",
	} {
		assert.Contains(t, h, line)
	}
	assert.Contains(t, h, "Content-Type: multipart/alternative;")
	providertest.CheckMIME(t, got[0].Raw, message(true))
	ms.mu.Lock()
	assert.True(t, ms.tlsSeen, "AUTH happened over STARTTLS")
	ms.mu.Unlock()
}

func TestConnectionReuse(t *testing.T) {
	t.Parallel()
	ms := newMailServer(t)
	c := newClient(t, config(ms))
	for range 3 {
		_, err := c.SendEmail(context.Background(), message(false))
		require.NoError(t, err)
	}
	assert.Equal(t, 1, ms.Connections(), "three sequential sends share one connection")
	assert.Len(t, ms.Received(), 3)

	// A 5xx refusal leaves the connection usable (RSET), a cut one does not.
	ms.Script(providertest.EmailMailboxUnknown)
	_, err := c.SendEmail(context.Background(), message(false))
	require.Error(t, err)
	_, err = c.SendEmail(context.Background(), message(false))
	require.NoError(t, err)
	assert.Equal(t, 1, ms.Connections())
}

func TestIdleTimeoutRedials(t *testing.T) {
	t.Parallel()
	ms := newMailServer(t)
	cfg := config(ms)
	cfg.IdleTimeout = time.Nanosecond
	c := newClient(t, cfg)
	for range 2 {
		_, err := c.SendEmail(context.Background(), message(false))
		require.NoError(t, err)
	}
	assert.Equal(t, 2, ms.Connections())
}

func TestWrongPasswordIsPermanent(t *testing.T) {
	t.Parallel()
	ms := newMailServer(t)
	cfg := config(ms)
	cfg.Password = "wrong-secret"
	c := newClient(t, cfg)
	_, err := c.SendEmail(context.Background(), message(false))
	require.Error(t, err)
	assert.Equal(t, provider.Permanent, provider.Classify(err))
	assert.NotContains(t, err.Error(), "wrong-secret")
	assert.Empty(t, ms.Received())
}

func TestUntrustedCertificateIsPermanent(t *testing.T) {
	t.Parallel()
	ms := newMailServer(t)
	cfg := config(ms)
	cfg.TLSConfig = &tls.Config{ServerName: "127.0.0.1", RootCAs: x509.NewCertPool()}
	c := newClient(t, cfg)
	_, err := c.SendEmail(context.Background(), message(false))
	require.Error(t, err)
	assert.Equal(t, provider.Permanent, provider.Classify(err))
}

func TestConnectionRefusedIsTransient(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	c := newClient(t, smtp.Config{Host: "127.0.0.1", Port: port, ConnectTimeout: time.Second})
	_, err = c.SendEmail(context.Background(), message(false))
	require.Error(t, err)
	assert.Equal(t, provider.Transient, provider.Classify(err))
}

func TestDKIMCoversUnsubscribeHeaders(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	record := "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(pub)

	ms := newMailServer(t)
	cfg := config(ms)
	cfg.DKIM = &smtp.DKIMConfig{Domain: "oakclinic.example", Selector: "cc1", Signer: key}
	c := newClient(t, cfg)
	_, err = c.SendEmail(context.Background(), message(true))
	require.NoError(t, err)
	raw := ms.Received()[0].Raw
	require.True(t, bytes.HasPrefix(raw, []byte("DKIM-Signature: ")))

	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{
		LookupTXT: func(domain string) ([]string, error) {
			if domain != "cc1._domainkey.oakclinic.example" {
				return nil, &net.DNSError{Err: "no such host", Name: domain, IsNotFound: true}
			}
			return []string{record}, nil
		},
	})
	require.NoError(t, err)
	require.Len(t, verifs, 1)
	require.NoError(t, verifs[0].Err)
	assert.Equal(t, "oakclinic.example", verifs[0].Domain)
	signed := strings.ToLower(strings.Join(verifs[0].HeaderKeys, ":"))
	for _, h := range []string{"from", "subject", "list-unsubscribe", "list-unsubscribe-post", "message-id"} {
		assert.Contains(t, strings.Split(signed, ":"), h)
	}

	// Tampering with the unsubscribe header breaks the signature.
	tampered := bytes.Replace(raw, []byte("u/tok123"), []byte("u/evil99"), 1)
	verifs, err = dkim.VerifyWithOptions(bytes.NewReader(tampered), &dkim.VerifyOptions{
		LookupTXT: func(string) ([]string, error) { return []string{record}, nil },
	})
	require.NoError(t, err)
	assert.Error(t, verifs[0].Err)

	// compliance.md EM-02 test 2: the self-check passes on what the
	// client sent and fails once the headers are added after signing.
	require.NoError(t, smtp.CheckUnsubscribeSigned(raw))
	added := append([]byte("List-Unsubscribe: <https://relay.example/u>\r\n"), raw...)
	err = smtp.CheckUnsubscribeSigned(added)
	require.ErrorIs(t, err, smtp.ErrUnsubscribeNotSigned)
	assert.Contains(t, err.Error(), "unsubscribe headers not covered by DKIM")

	// A pipeline that signs without them: the message is sent unsigned
	// and a relay signs only the usual headers.
	ms2 := newMailServer(t)
	plain := newClient(t, config(ms2))
	_, err = plain.SendEmail(context.Background(), message(true))
	require.NoError(t, err)
	unsigned := ms2.Received()[0].Raw
	assert.ErrorIs(t, smtp.CheckUnsubscribeSigned(unsigned), smtp.ErrUnsubscribeNotSigned, "no signature at all")
	var relay bytes.Buffer
	require.NoError(t, dkim.Sign(&relay, bytes.NewReader(unsigned), &dkim.SignOptions{
		Domain: "relay.example", Selector: "r1", Signer: key, HeaderKeys: []string{"From", "To", "Subject"},
	}))
	assert.ErrorIs(t, smtp.CheckUnsubscribeSigned(relay.Bytes()), smtp.ErrUnsubscribeNotSigned, "signed without the unsubscribe headers")
}

func TestCheckUnsubscribeSigned(t *testing.T) {
	t.Parallel()
	sig := func(h string) string {
		return "DKIM-Signature: v=1; a=rsa-sha256; d=x.example; s=s;\r\n h=" + h + ";\r\n bh=AAAA; b=BBBB\r\n"
	}
	const lu = "List-Unsubscribe: <https://x.example/u>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
	const body = "From: a@x.example\r\nSubject: hi\r\n\r\nbody\r\n"
	for _, tt := range []struct {
		name, raw string
		ok        bool
	}{
		{"no unsubscribe header", sig("from") + body, true},
		{"covered", sig("From:Subject:List-Unsubscribe:List-Unsubscribe-Post") + lu + body, true},
		{"covered, folded and mixed case", sig("from : subject:\r\n\tlist-UNSUBSCRIBE:\r\n list-unsubscribe-post") + lu + body, true},
		{"second signature covers them", sig("from") + sig("list-unsubscribe:list-unsubscribe-post") + lu + body, true},
		{"no signature", lu + body, false},
		{"post not covered", sig("from:list-unsubscribe") + lu + body, false},
		{"neither covered", sig("from:subject") + lu + body, false},
		{"one more added after signing", "List-Unsubscribe: <https://evil.example>\r\n" + sig("list-unsubscribe:list-unsubscribe-post") + lu + body, false},
		{"oversigned covers two", "List-Unsubscribe: <https://b.example>\r\n" + sig("list-unsubscribe:list-unsubscribe:list-unsubscribe-post") + lu + body, true},
	} {
		err := smtp.CheckUnsubscribeSigned([]byte(tt.raw))
		if tt.ok {
			assert.NoError(t, err, tt.name)
		} else {
			assert.ErrorIs(t, err, smtp.ErrUnsubscribeNotSigned, tt.name)
		}
	}
	err := smtp.CheckUnsubscribeSigned([]byte("not a header\r\n"))
	assert.Error(t, err, "garbage is an error")
}

func FuzzCheckUnsubscribeSigned(f *testing.F) {
	f.Add([]byte("DKIM-Signature: h=list-unsubscribe:list-unsubscribe-post\r\nList-Unsubscribe: <https://x>\r\n\r\n"))
	f.Add([]byte("List-Unsubscribe: <https://x>\r\n\r\n"))
	f.Add([]byte("From: a\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		err := smtp.CheckUnsubscribeSigned(raw)
		if err != nil {
			return
		}
		// A pass means: no List-Unsubscribe header, or a signature
		// listing it. Adding one more List-Unsubscribe on top must then
		// fail unless a signature oversigns it.
		hdr, _ := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw))).ReadMIMEHeader()
		if len(hdr.Values("List-Unsubscribe")) > 0 && len(hdr.Values("Dkim-Signature")) == 0 {
			t.Fatalf("passed without a signature: %q", raw)
		}
		if len(hdr.Values("List-Unsubscribe")) > 0 && !bytes.Contains(bytes.ToLower(raw), []byte("list-unsubscribe")) {
			t.Fatalf("inconsistent parse: %q", raw)
		}
	})
}

func TestComposeRejects(t *testing.T) {
	t.Parallel()
	c := newClient(t, smtp.Config{Host: "127.0.0.1", Port: 1})
	tests := []struct {
		name string
		mod  func(*provider.EmailMessage)
		want string
	}{
		{"bad to", func(m *provider.EmailMessage) { m.To = "not an address" }, "To"},
		{"bad from", func(m *provider.EmailMessage) { m.From = "" }, "From"},
		{"http unsubscribe", func(m *provider.EmailMessage) { m.ListUnsubscribeURL = "http://u.example/x" }, "https"},
		{"mailto only (EM-01 test 2)", func(m *provider.EmailMessage) {
			m.ListUnsubscribeURL, m.ListUnsubscribeMailto = "", "mailto:unsub+tok@oakclinic.example"
		}, "https"},
		{"bad mailto", func(m *provider.EmailMessage) { m.ListUnsubscribeMailto = "mailto:x>@y, <https://evil" }, "mailto"},
		{"two From addresses (EM-07 test 1)", func(m *provider.EmailMessage) { m.From = "news@oakclinic.example, other@oakclinic.example" }, "From"},
		{"javascript unsubscribe (EM-03)", func(m *provider.EmailMessage) { m.ListUnsubscribeURL = "javascript:alert(1)" }, "https"},
		{"header injection", func(m *provider.EmailMessage) { m.Headers = map[string]string{"X-A": "a\r\nBcc: x@evil.example"} }, "line break"},
		{"reserved header", func(m *provider.EmailMessage) { m.Headers = map[string]string{"bcc": "x@evil.example"} }, "Bcc"},
		{"subject injection", func(m *provider.EmailMessage) { m.Subject = "Hi\r\nBcc: x" }, "Subject"},
		{"no body", func(m *provider.EmailMessage) { m.Text, m.HTML = "", "" }, "text"},
		{"attachment name", func(m *provider.EmailMessage) {
			m.Attachments = []provider.Attachment{{Filename: "../../etc/passwd", Data: []byte("x")}}
		}, "filename"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := message(true)
			tt.mod(m)
			_, err := c.SendEmail(context.Background(), m)
			require.Error(t, err)
			assert.Equal(t, provider.Permanent, provider.Classify(err))
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "evil")
		})
	}
}

func TestClassifyReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code int
		enh  string
		want provider.Class
	}{
		{550, "5.1.1", provider.Suppress}, {550, "5.2.1", provider.Suppress}, {553, "5.1.3", provider.Suppress},
		{550, "5.1.10", provider.Suppress}, {552, "5.2.2", provider.Permanent},
		{550, "5.7.1", provider.SenderBlocked}, {550, "5.7.26", provider.SenderBlocked}, {554, "", provider.Permanent},
		{452, "4.2.2", provider.Transient}, {451, "4.3.0", provider.Transient}, {421, "", provider.Transient},
		{421, "4.7.28", provider.RateLimited}, {250, "2.0.0", provider.Ambiguous},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, smtp.ClassifyReply(tt.code, tt.enh), "%d %s", tt.code, tt.enh)
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cfg  smtp.Config
		want string
	}{
		{smtp.Config{}, "Host"},
		{smtp.Config{Host: "h", TLS: "ssl"}, "TLS"},
		{smtp.Config{Host: "h", Password: "x"}, "Username"},
		{smtp.Config{Host: "h", DKIM: &smtp.DKIMConfig{Domain: "d"}}, "DKIM"},
		{smtp.Config{Host: "h", Port: 70000}, "Port"},
	} {
		_, err := smtp.New(tt.cfg)
		assert.ErrorContains(t, err, tt.want)
	}
	c, err := smtp.New(smtp.Config{Host: "h", MaxMessageBytes: 10 << 20})
	require.NoError(t, err)
	assert.Equal(t, int64(10<<20), c.MaxMessageBytes())
	assert.False(t, c.CoversPHI(), "no BAA unless declared (compliance.md HI-05)")
	c, err = smtp.New(smtp.Config{Host: "h", BAACoversPHI: true})
	require.NoError(t, err)
	assert.True(t, c.CoversPHI())
}

// TestCancelAwaitingFinalReply: the whole message was sent and the caller
// gave up before the server's answer: in doubt, never transient (SF-02).
func TestCancelAwaitingFinalReply(t *testing.T) {
	t.Parallel()
	ms := newMailServer(t)
	ms.hold, ms.arrived = make(chan struct{}), make(chan struct{}, 1)
	t.Cleanup(func() { close(ms.hold) })
	c := newClient(t, config(ms))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-ms.arrived
		cancel()
	}()
	_, err := c.SendEmail(ctx, message(false))
	require.Error(t, err)
	assert.Equal(t, provider.Ambiguous, provider.Classify(err))
	assert.ErrorIs(t, err, context.Canceled)
}

func TestNoSTARTTLSIsPermanent(t *testing.T) {
	t.Parallel()
	ms := newMailServerTLS(t, false)
	c := newClient(t, config(ms))
	_, err := c.SendEmail(context.Background(), message(false))
	require.Error(t, err)
	assert.Equal(t, provider.Permanent, provider.Classify(err), "%v", err)
	assert.Empty(t, ms.Received())
}

func TestNonASCIIDisplayNameAndAttachment(t *testing.T) {
	t.Parallel()
	ms := newMailServer(t)
	c := newClient(t, config(ms))
	m := message(false)
	m.From = "Praxis Müller <news@mail.oakclinic.example>"
	m.ReplyTo = "Empfang <desk@oakclinic.example>"
	m.Attachments = []provider.Attachment{{Filename: "plan.pdf", ContentType: "application/pdf", Data: bytes.Repeat([]byte{0, 1, 2, 0xff}, 300)}}
	_, err := c.SendEmail(context.Background(), m)
	require.NoError(t, err)
	raw := ms.Received()[0].Raw
	providertest.CheckMIME(t, raw, m)
	h := headerBlock(raw)
	assert.Contains(t, h, "From: =?utf-8?q?Praxis_M=C3=BCller?= <news@mail.oakclinic.example>\r\n")
	assert.Contains(t, h, "Reply-To: \"Empfang\" <desk@oakclinic.example>\r\n")
}

// compliance.md EM-01 test 1: a marketing email lists the https one-click
// URL and the mailto address in one List-Unsubscribe header, with one
// List-Unsubscribe-Post, each exactly once.
func TestListUnsubscribeMailto(t *testing.T) {
	t.Parallel()
	ms := newMailServer(t)
	c := newClient(t, config(ms))
	m := message(true)
	m.ListUnsubscribeMailto = "mailto:unsub+tok123@oakclinic.example"
	_, err := c.SendEmail(context.Background(), m)
	require.NoError(t, err)
	hdr := headerBlock(ms.Received()[0].Raw)
	assert.Equal(t, 1, strings.Count(hdr, "\r\nList-Unsubscribe: "))
	assert.Equal(t, 1, strings.Count(hdr, "\r\nList-Unsubscribe-Post: "))
	assert.Contains(t, hdr, "\r\nList-Unsubscribe: <https://u.oakclinic.example/u/tok123>, <mailto:unsub+tok123@oakclinic.example>\r\n")
	assert.Contains(t, hdr, "\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
}
