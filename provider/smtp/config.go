package smtp

import (
	"crypto"
	"crypto/tls"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// TLSMode says how the connection to the mail server is protected.
type TLSMode string

// TLS modes.
const (
	// TLSStartTLS upgrades a plain connection with STARTTLS and refuses to
	// continue if the server does not offer it. The default.
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit connects with TLS from the first byte ("SMTPS", port
	// 465).
	TLSImplicit TLSMode = "implicit"
	// TLSOpportunistic uses STARTTLS when offered and continues in clear
	// text otherwise. Not recommended: credentials and PHI may travel
	// unencrypted.
	TLSOpportunistic TLSMode = "opportunistic"
	// TLSNone never encrypts. Only for a local relay on loopback.
	TLSNone TLSMode = "none"
)

// Defaults for Config fields left zero.
const (
	DefaultPort           = 587
	DefaultImplicitPort   = 465
	DefaultConnectTimeout = 15 * time.Second
	DefaultCommandTimeout = 60 * time.Second
	DefaultMaxConns       = 2
	DefaultIdleTimeout    = 30 * time.Second
)

// Config configures a [Client].
type Config struct {
	// Host is the mail server's host name. Required.
	Host string
	// Port defaults to DefaultPort (587), or DefaultImplicitPort (465)
	// with TLSImplicit.
	Port int
	// TLS is the transport security. Defaults to TLSStartTLS.
	TLS TLSMode
	// TLSConfig overrides the TLS settings (custom roots, client
	// certificates). Defaults to verifying Host with TLS 1.2 or later.
	TLSConfig *tls.Config
	// Username and Password enable SMTP AUTH when Username is set: the
	// best mechanism the server offers (SCRAM, CRAM-MD5, PLAIN, LOGIN), or
	// PLAIN with TLSImplicit. Clear-text mechanisms are only used over TLS.
	Username string
	Password string
	// HELO is the name announced in EHLO. Defaults to "localhost".
	HELO string
	// EnvelopeFrom is the MAIL FROM (bounce, Return-Path) address.
	// Defaults to the address of each message's From header. An ESP's
	// custom return-path domain goes here.
	EnvelopeFrom string
	// MessageIDDomain is the right-hand side of generated Message-IDs.
	// Defaults to the domain of each message's From address.
	MessageIDDomain string
	// ConnectTimeout bounds dialling, TLS, EHLO and AUTH. Defaults to
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// CommandTimeout bounds one message's MAIL, RCPT and DATA exchange
	// (the context's deadline, if earlier, wins). Defaults to
	// DefaultCommandTimeout.
	CommandTimeout time.Duration
	// MaxConns is the number of connections kept open and reused.
	// Defaults to DefaultMaxConns.
	MaxConns int
	// IdleTimeout closes a pooled connection unused for this long
	// instead of reusing it. Defaults to DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxMessageBytes is reported through provider.Limits; 0 means no
	// stated limit.
	MaxMessageBytes int64
	// DKIM, when set, signs every message.
	DKIM *DKIMConfig
	// BAACoversPHI declares that the host's BAA with the mail service
	// behind Host covers PHI, so PHI-bearing blasts may be sent through
	// it (provider.BAACoverage; compliance.md HI-05). Set it only when
	// the agreement names the service (Twilio SendGrid, for one, is not
	// on Twilio's HIPAA-eligible list). Defaults to false.
	BAACoversPHI bool
	// Now is the clock for the Date header. Defaults to time.Now.
	Now func() time.Time
}

// DKIMConfig configures DKIM signing (RFC 6376) with relaxed/relaxed
// canonicalisation and SHA-256. The signature covers From, To, Subject,
// Date, Message-ID, Reply-To, MIME-Version, Content-Type and, for marketing
// mail, List-Unsubscribe and List-Unsubscribe-Post (RFC 8058 §4 requires
// those two to be signed).
type DKIMConfig struct {
	// Domain is the signing domain (d=). Required. It should align with
	// the From domain for DMARC.
	Domain string
	// Selector is the DNS selector (s=). Required.
	Selector string
	// Signer is the private key: *rsa.PrivateKey (2048 bits recommended,
	// at least 1024) or ed25519.PrivateKey. Required.
	Signer crypto.Signer
}

func (c *Config) defaults() error {
	if c.Host == "" {
		return errors.New("smtp: Config.Host is required")
	}
	switch c.TLS {
	case "":
		c.TLS = TLSStartTLS
	case TLSStartTLS, TLSImplicit, TLSOpportunistic, TLSNone:
	default:
		return fmt.Errorf("smtp: Config.TLS %q is not one of starttls, implicit, opportunistic, none", c.TLS)
	}
	if c.Port == 0 {
		c.Port = DefaultPort
		if c.TLS == TLSImplicit {
			c.Port = DefaultImplicitPort
		}
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("smtp: Config.Port %d out of range", c.Port)
	}
	if c.Password != "" && c.Username == "" {
		return errors.New("smtp: Config.Password is set but Config.Username is empty")
	}
	if c.TLSConfig == nil {
		c.TLSConfig = &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12}
	}
	if c.HELO == "" {
		c.HELO = "localhost"
	}
	if c.EnvelopeFrom != "" {
		if _, err := mail.ParseAddress(c.EnvelopeFrom); err != nil {
			return errors.New("smtp: Config.EnvelopeFrom is not an email address")
		}
	}
	if strings.ContainsAny(c.MessageIDDomain, "<>@ \r\n") {
		return errors.New("smtp: Config.MessageIDDomain must be a bare domain")
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.CommandTimeout == 0 {
		c.CommandTimeout = DefaultCommandTimeout
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxConns < 0 || c.ConnectTimeout < 0 || c.CommandTimeout < 0 {
		return errors.New("smtp: Config.MaxConns and timeouts must not be negative")
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.DKIM != nil && (c.DKIM.Domain == "" || c.DKIM.Selector == "" || c.DKIM.Signer == nil) {
		return errors.New("smtp: Config.DKIM needs Domain, Selector and Signer")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}
