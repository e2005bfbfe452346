package smtp

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/mail"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/carecast/carecast/provider"
	"github.com/emersion/go-msgauth/dkim"
	gomail "github.com/wneessen/go-mail"
)

// reservedHeaders are written by the adapter; EmailMessage.Headers may not
// set them.
var reservedHeaders = map[string]bool{
	"From": true, "To": true, "Cc": true, "Bcc": true, "Subject": true, "Reply-To": true,
	"Message-Id": true, "Date": true, "Mime-Version": true, "Content-Type": true,
	"Content-Transfer-Encoding": true, "List-Unsubscribe": true, "List-Unsubscribe-Post": true,
	"Dkim-Signature": true, "Return-Path": true, "Sender": true,
}

// dkimHeaders are the header fields the DKIM signature covers.
var dkimHeaders = []string{"From", "To", "Subject", "Date", "Message-ID", "Reply-To", "MIME-Version", "Content-Type"}

// composed is a message ready for the wire.
type composed struct {
	raw          []byte
	messageID    string // without angle brackets
	envelopeFrom string
	to           string
}

func invalid(msg string) *provider.Error {
	return &provider.Error{Class: provider.Permanent, Message: "smtp: " + msg}
}

// compose validates msg and renders it as RFC 5322 bytes (CRLF line
// endings), DKIM-signed when configured. Errors name the field, never its
// value.
func (c *Client) compose(msg *provider.EmailMessage) (*composed, error) {
	if msg == nil {
		return nil, invalid("nil message")
	}
	from, err := mail.ParseAddress(msg.From)
	if err != nil {
		return nil, invalid("From is not a valid address")
	}
	to, err := mail.ParseAddress(msg.To)
	if err != nil {
		return nil, invalid("To is not a valid address")
	}
	if msg.Text == "" && msg.HTML == "" {
		return nil, invalid("message has neither a text nor an HTML part")
	}
	if strings.ContainsAny(msg.Subject, "\r\n") {
		return nil, invalid("Subject contains a line break")
	}
	if msg.Marketing {
		u, err := url.Parse(msg.ListUnsubscribeURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || strings.ContainsAny(msg.ListUnsubscribeURL, "<>, \r\n") {
			return nil, invalid("marketing email needs an https ListUnsubscribeURL (RFC 8058)")
		}
		if m := msg.ListUnsubscribeMailto; m != "" {
			u, err := url.Parse(m)
			if err != nil || u.Scheme != "mailto" || u.Opaque == "" || !strings.Contains(u.Opaque, "@") || strings.ContainsAny(m, "<>, \r\n") {
				return nil, invalid("ListUnsubscribeMailto is not a mailto: URI")
			}
		}
	}
	domain := c.cfg.MessageIDDomain
	if domain == "" {
		domain = from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	}
	local := messageIDLocal(msg.ID)
	out := &composed{messageID: local + "@" + domain, to: to.Address, envelopeFrom: c.cfg.EnvelopeFrom}
	if out.envelopeFrom == "" {
		out.envelopeFrom = from.Address
	}

	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	m.FromMailAddress(from)
	m.ToMailAddress(to)
	if msg.ReplyTo != "" {
		rt, err := mail.ParseAddress(msg.ReplyTo)
		if err != nil {
			return nil, invalid("ReplyTo is not a valid address")
		}
		m.ReplyToMailAddress(rt)
	}
	m.Subject(msg.Subject)
	m.SetMessageIDWithValue(out.messageID)
	m.SetDateWithValue(c.cfg.Now())
	for k, v := range msg.Headers {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if reservedHeaders[ck] || !validHeaderName(k) {
			return nil, invalid("header " + safeName(k) + " may not be set")
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, invalid("header " + ck + " contains a line break")
		}
		m.SetGenHeader(gomail.Header(ck), v)
	}
	keys := dkimHeaders
	if msg.Marketing {
		lu := "<" + msg.ListUnsubscribeURL + ">"
		if msg.ListUnsubscribeMailto != "" {
			lu += ", <" + msg.ListUnsubscribeMailto + ">"
		}
		m.SetGenHeaderPreformatted(gomail.HeaderListUnsubscribe, lu)
		m.SetGenHeaderPreformatted(gomail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
		keys = append(append([]string(nil), dkimHeaders...), "List-Unsubscribe", "List-Unsubscribe-Post")
	}
	switch {
	case msg.Text != "" && msg.HTML != "":
		m.SetBodyString(gomail.TypeTextPlain, msg.Text)
		m.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	case msg.Text != "":
		m.SetBodyString(gomail.TypeTextPlain, msg.Text)
	default:
		m.SetBodyString(gomail.TypeTextHTML, msg.HTML)
	}
	for _, a := range msg.Attachments {
		if a.Filename == "" || strings.ContainsAny(a.Filename, "\r\n\"/\\") {
			return nil, invalid("attachment filename is empty or contains a forbidden character")
		}
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		if err := m.AttachReader(a.Filename, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(ct))); err != nil {
			return nil, &provider.Error{Class: provider.Permanent, Message: "smtp: attachment", Err: err}
		}
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		return nil, &provider.Error{Class: provider.Permanent, Message: "smtp: render message", Err: err}
	}
	out.raw = buf.Bytes()
	if c.cfg.DKIM != nil {
		var signed bytes.Buffer
		err := dkim.Sign(&signed, bytes.NewReader(out.raw), &dkim.SignOptions{
			Domain: c.cfg.DKIM.Domain, Selector: c.cfg.DKIM.Selector, Signer: c.cfg.DKIM.Signer,
			Hash:                   crypto.SHA256,
			HeaderCanonicalization: dkim.CanonicalizationRelaxed,
			BodyCanonicalization:   dkim.CanonicalizationRelaxed,
			HeaderKeys:             keys,
		})
		if err != nil {
			return nil, &provider.Error{Class: provider.Permanent, Message: "smtp: DKIM signing failed", Err: err}
		}
		out.raw = signed.Bytes()
		if msg.Marketing {
			if err := CheckUnsubscribeSigned(out.raw); err != nil {
				return nil, &provider.Error{Class: provider.Permanent, Message: "smtp: DKIM self-check", Err: err}
			}
		}
	}
	if c.cfg.MaxMessageBytes > 0 && int64(len(out.raw)) > c.cfg.MaxMessageBytes {
		return nil, invalid("message larger than Config.MaxMessageBytes")
	}
	return out, nil
}

// messageIDLocal returns the left-hand side of the Message-ID: derived from
// the ledger row ID when it is safe (so a retried send keeps its
// Message-ID), random otherwise.
func messageIDLocal(id string) string {
	if id != "" && len(id) <= 64 && strings.IndexFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
	}) < 0 {
		return "cc." + id
	}
	b := make([]byte, 16)
	rand.Read(b)
	return "cc." + hex.EncodeToString(b)
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if r <= ' ' || r >= 0x7f || r == ':' {
			return false
		}
	}
	return true
}

// safeName returns a header name for an error message, or a placeholder
// if it is not printable ASCII.
func safeName(k string) string {
	if validHeaderName(k) && len(k) <= 64 {
		return textproto.CanonicalMIMEHeaderKey(k)
	}
	return "(invalid name)"
}

var errClosed = errors.New("smtp: client closed")
