package smtp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/textproto"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/carecast/carecast/provider"
	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"
)

// Client sends email over SMTP. It keeps up to Config.MaxConns
// connections open and reuses them. It is safe for concurrent use; call
// Close when done.
type Client struct {
	cfg Config
	sem chan struct{}

	mu     sync.Mutex
	idle   []*conn
	closed bool
}

var (
	_ provider.EmailSender = (*Client)(nil)
	_ provider.Limits      = (*Client)(nil)
)

// conn is one pooled SMTP session.
type conn struct {
	c    *gosmtp.Client
	nc   net.Conn // the raw connection, for deadlines
	used time.Time
}

// New validates cfg and returns a Client. It does not connect: the first
// send does.
func New(cfg Config) (*Client, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	return &Client{cfg: cfg, sem: make(chan struct{}, cfg.MaxConns)}, nil
}

// MaxMessageBytes implements provider.Limits.
func (c *Client) MaxMessageBytes() int64 { return c.cfg.MaxMessageBytes }

// CoversPHI implements provider.BAACoverage: it reports
// Config.BAACoversPHI.
func (c *Client) CoversPHI() bool { return c.cfg.BAACoversPHI }

// Close ends every pooled connection with QUIT. Sends after Close fail.
func (c *Client) Close() error {
	c.mu.Lock()
	idle := c.idle
	c.idle, c.closed = nil, true
	c.mu.Unlock()
	for _, cn := range idle {
		cn.nc.SetDeadline(time.Now().Add(5 * time.Second))
		cn.c.Quit()
		cn.nc.Close()
	}
	return nil
}

// SendEmail sends msg in one SMTP transaction (MAIL, RCPT, DATA) on a
// pooled connection. It never retries. The result's ProviderMessageID is
// the Message-ID header without angle brackets ("cc.<row ID>@<domain>");
// ESP events (SendGrid smtp-id, SES commonHeaders.messageId) refer to it.
//
// Failures are classified from the SMTP reply and enhanced status code
// ([ClassifyReply]). A connection lost after the message data was sent,
// before the server's final answer, is Ambiguous.
func (c *Client) SendEmail(ctx context.Context, msg *provider.EmailMessage) (provider.Result, error) {
	m, err := c.compose(msg)
	if err != nil {
		return provider.Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return provider.Result{}, &provider.Error{Class: provider.Transient, Message: "smtp: not sent", Err: err}
	}
	cn, err := c.get(ctx)
	if err != nil {
		return provider.Result{}, dialError(err)
	}
	deadline := time.Now().Add(c.cfg.CommandTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	cn.nc.SetDeadline(deadline)
	// A cancelled context interrupts blocked reads and writes at once.
	stop := context.AfterFunc(ctx, func() { cn.nc.SetDeadline(time.Unix(1, 0)) })
	perr, reusable := c.transact(cn, m)
	if !stop() {
		reusable = false
	}
	c.put(cn, reusable)
	if perr != nil {
		if ctx.Err() != nil {
			perr.Err = errors.Join(perr.Err, ctx.Err())
		}
		return provider.Result{}, perr
	}
	return provider.Result{ProviderMessageID: m.messageID}, nil
}

// transact runs MAIL, RCPT and DATA. reusable reports whether the
// connection is still in a known state.
func (c *Client) transact(cn *conn, m *composed) (*provider.Error, bool) {
	if err := cn.c.Mail(m.envelopeFrom); err != nil {
		return commandError("MAIL FROM", err)
	}
	if err := cn.c.Rcpt(m.to); err != nil {
		return commandError("RCPT TO", err)
	}
	w, err := cn.c.Data()
	if err != nil {
		return commandError("DATA", err)
	}
	if _, err := w.Write(m.raw); err != nil {
		// The terminating dot was not sent: the server cannot have
		// accepted the message.
		return &provider.Error{Class: provider.Transient, Message: "smtp: connection lost while sending data", Err: err}, false
	}
	if err := w.Close(); err != nil {
		var te *textproto.Error
		if errors.As(err, &te) {
			return replyError(te), te.Code != 421
		}
		return &provider.Error{Class: provider.Ambiguous, Message: "smtp: no answer after the message was sent", Err: err}, false
	}
	return nil, true
}

// commandError classifies a failed command before the message data.
func commandError(cmd string, err error) (*provider.Error, bool) {
	var te *textproto.Error
	if errors.As(err, &te) {
		return replyError(te), te.Code != 421
	}
	return &provider.Error{Class: provider.Transient, Message: "smtp: connection failed at " + cmd, Err: err}, false
}

var enhancedRE = regexp.MustCompile(`^([245])\.(\d{1,3})\.(\d{1,3})\b`)

// replyError turns an SMTP reply into a classified error. The server's text
// may repeat the address, so only the codes are kept.
func replyError(te *textproto.Error) *provider.Error {
	enh := enhancedRE.FindString(te.Msg)
	code := strconv.Itoa(te.Code)
	if enh != "" {
		code += " " + enh
	}
	return &provider.Error{Class: ClassifyReply(te.Code, enh), Code: code, Message: "smtp: server refused the message"}
}

// ClassifyReply returns the engine class for an SMTP reply code and
// enhanced status code ("5.1.1", may be empty), following compliance.md
// BO-01/BO-02. With an enhanced code, [provider.ClassifyBounce] decides:
//
//	5.1.1, 5.1.2, 5.1.3, 5.1.10, 5.2.1  Suppress (hard bounce: the address is dead)
//	5.7.x                               SenderBlocked (policy, reputation or
//	                                    authentication: never suppress the patient)
//	other 5.x.x                         Permanent
//	4.7.x                               RateLimited (throttling)
//	other 4.x.x                         Transient
//
// Without one, 4xx is Transient and 5xx Permanent. A reply code outside
// 4xx/5xx is Ambiguous.
func ClassifyReply(code int, enhanced string) provider.Class {
	if code < 400 || code >= 600 {
		return provider.Ambiguous
	}
	if enhanced != "" && enhanced[0] == byte('0'+code/100) {
		if c := provider.ClassifyBounce(enhanced); c != provider.Ambiguous {
			return c
		}
	}
	if code < 500 {
		return provider.Transient
	}
	return provider.Permanent
}

// dialError classifies a failure to connect, secure or authenticate:
// nothing was sent, so network trouble is Transient, but rejected
// credentials, untrusted certificates, a missing STARTTLS and other setup
// refusals are Permanent (retrying cannot help until the configuration
// changes).
func dialError(err error) *provider.Error {
	var te *textproto.Error
	var cve *tls.CertificateVerificationError
	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	switch {
	case errors.Is(err, errClosed):
		return &provider.Error{Class: provider.Permanent, Message: "smtp: client closed", Err: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &provider.Error{Class: provider.Transient, Message: "smtp: not connected", Err: err}
	case errors.As(err, &te):
		e := replyError(te)
		if te.Code == 535 || te.Code == 534 || te.Code == 530 {
			e.Class, e.Message = provider.Permanent, "smtp: authentication failed"
		}
		return e
	case errors.As(err, &cve), errors.As(err, &uae), errors.As(err, &hne):
		return &provider.Error{Class: provider.Permanent, Message: "smtp: server certificate not trusted", Err: err}
	case errors.As(err, new(net.Error)), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &provider.Error{Class: provider.Transient, Message: "smtp: could not connect", Err: err}
	}
	// The server answered but the setup cannot succeed as configured
	// (no STARTTLS, no usable AUTH mechanism, …).
	return &provider.Error{Class: provider.Permanent, Message: "smtp: connection setup refused", Err: err}
}

// get returns a pooled connection, or dials one. It blocks while MaxConns
// connections are busy.
func (c *Client) get(ctx context.Context) (*conn, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			<-c.sem
			return nil, errClosed
		}
		var cn *conn
		if n := len(c.idle); n > 0 {
			cn, c.idle = c.idle[n-1], c.idle[:n-1]
		}
		c.mu.Unlock()
		if cn == nil {
			break
		}
		if time.Since(cn.used) < c.cfg.IdleTimeout {
			cn.nc.SetDeadline(time.Now().Add(c.cfg.ConnectTimeout))
			if cn.c.Reset() == nil {
				return cn, nil
			}
		}
		cn.nc.Close()
	}
	cn, err := c.dial(ctx)
	if err != nil {
		<-c.sem
		return nil, err
	}
	return cn, nil
}

// put returns cn to the pool, or closes it.
func (c *Client) put(cn *conn, reusable bool) {
	cn.used = time.Now()
	c.mu.Lock()
	if reusable && !c.closed {
		c.idle = append(c.idle, cn)
		reusable = true
	} else {
		reusable = false
	}
	c.mu.Unlock()
	if !reusable {
		cn.nc.Close()
	}
	<-c.sem
}

// dial connects, says EHLO, upgrades with STARTTLS and authenticates, using
// go-mail's client.
func (c *Client) dial(ctx context.Context) (*conn, error) {
	var raw net.Conn
	dialFn := func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: c.cfg.ConnectTimeout}
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		raw = nc
		if c.cfg.TLS == TLSImplicit {
			tc := tls.Client(nc, c.cfg.TLSConfig)
			if err := tc.HandshakeContext(ctx); err != nil {
				nc.Close()
				return nil, err
			}
			return tc, nil
		}
		return nc, nil
	}
	policy := gomail.TLSMandatory
	switch c.cfg.TLS {
	case TLSOpportunistic:
		policy = gomail.TLSOpportunistic
	case TLSNone, TLSImplicit:
		policy = gomail.NoTLS
	}
	opts := []gomail.Option{
		gomail.WithPort(c.cfg.Port), gomail.WithTimeout(c.cfg.ConnectTimeout),
		gomail.WithTLSPolicy(policy), gomail.WithTLSConfig(c.cfg.TLSConfig),
		gomail.WithHELO(c.cfg.HELO), gomail.WithDialContextFunc(dialFn),
	}
	if c.cfg.Username != "" {
		mech := gomail.SMTPAuthAutoDiscover
		if c.cfg.TLS == TLSImplicit {
			// go-mail cannot see that our dialler already encrypted the
			// connection, and autodiscovery would then refuse PLAIN.
			mech = gomail.SMTPAuthPlain
		}
		opts = append(opts, gomail.WithSMTPAuth(mech),
			gomail.WithUsername(c.cfg.Username), gomail.WithPassword(c.cfg.Password))
	}
	mc, err := gomail.NewClient(c.cfg.Host, opts...)
	if err != nil {
		return nil, err
	}
	sc, err := mc.DialToSMTPClientWithContext(ctx)
	if err != nil {
		if raw != nil {
			raw.Close()
		}
		return nil, err
	}
	return &conn{c: sc, nc: raw, used: time.Now()}, nil
}
