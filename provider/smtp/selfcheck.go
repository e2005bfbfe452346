package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/textproto"
	"strings"
)

// ErrUnsubscribeNotSigned is returned by CheckUnsubscribeSigned when a
// message's List-Unsubscribe or List-Unsubscribe-Post header is not covered
// by a DKIM signature.
var ErrUnsubscribeNotSigned = errors.New("smtp: unsubscribe headers not covered by DKIM")

// CheckUnsubscribeSigned is the RFC 8058 §4 self-check: when the raw
// message (RFC 5322, as it leaves the pipeline) carries List-Unsubscribe,
// one of its DKIM-Signature headers must list both List-Unsubscribe and
// List-Unsubscribe-Post in its h= tag (names compare case-insensitively),
// and no more instances of either header may be present than that
// signature covers: receivers do not offer one-click for unsigned
// headers, so a relay that adds them after signing silently breaks it
// (compliance.md EM-02). It returns nil for a message without
// List-Unsubscribe, an error wrapping ErrUnsubscribeNotSigned that names
// the problem, or a parse error. It checks coverage, not the signature's
// validity (that needs the public key; see go-msgauth's dkim.Verify).
//
// The client runs it on every marketing message it signs. Hosts whose
// relay or ESP signs instead can run it on a message captured after the
// relay.
func CheckUnsubscribeSigned(raw []byte) error {
	hdr, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw))).ReadMIMEHeader()
	if err != nil && len(hdr) == 0 {
		return fmt.Errorf("smtp: reading the message header: %w", err)
	}
	lu, lup := len(hdr.Values("List-Unsubscribe")), len(hdr.Values("List-Unsubscribe-Post"))
	if lu == 0 {
		return nil
	}
	sigs := hdr.Values("Dkim-Signature")
	if len(sigs) == 0 {
		return fmt.Errorf("%w: the message has no DKIM-Signature", ErrUnsubscribeNotSigned)
	}
	for _, sig := range sigs {
		n, np := 0, 0
		for _, name := range signedHeaders(sig) {
			switch strings.ToLower(name) {
			case "list-unsubscribe":
				n++
			case "list-unsubscribe-post":
				np++
			}
		}
		if n == 0 || np == 0 && lup > 0 {
			continue
		}
		if n < lu || np < lup {
			return fmt.Errorf("%w: the message has more unsubscribe headers than the signature covers (added after signing)", ErrUnsubscribeNotSigned)
		}
		return nil
	}
	return fmt.Errorf("%w: no DKIM-Signature lists List-Unsubscribe and List-Unsubscribe-Post in h=", ErrUnsubscribeNotSigned)
}

// signedHeaders returns the header names of a DKIM-Signature's h= tag
// (RFC 6376 §3.5), whitespace removed.
func signedHeaders(sig string) []string {
	for _, tag := range strings.Split(sig, ";") {
		name, value, ok := strings.Cut(tag, "=")
		if !ok || strings.TrimSpace(name) != "h" {
			continue
		}
		value = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, value)
		return strings.Split(value, ":")
	}
	return nil
}
