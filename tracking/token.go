package tracking

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Purpose binds a token to one endpoint: a token minted for opens is
// rejected by the click and unsubscribe endpoints, and so on.
type Purpose byte

// Token purposes.
const (
	PurposeOpen        Purpose = 'o'
	PurposeClick       Purpose = 'c'
	PurposeUnsubscribe Purpose = 'u'
)

// String returns "open", "click" or "unsubscribe".
func (p Purpose) String() string {
	switch p {
	case PurposeOpen:
		return "open"
	case PurposeClick:
		return "click"
	case PurposeUnsubscribe:
		return "unsubscribe"
	}
	return fmt.Sprintf("Purpose(%d)", byte(p))
}

// Claims is what a token asserts. It carries no PHI: RecipientID is the
// engine's opaque ledger row ID for one recipient of one blast.
type Claims struct {
	Purpose     Purpose
	RecipientID string
	// LinkIndex is the index of the link in the compiled email (clicks only).
	LinkIndex int
	// IssuedAt is when the email was rendered for sending (second precision).
	IssuedAt time.Time
}

// TestRecipientID is the reserved recipient ID of test messages (package
// blast's "Send Test to Me", which no ledger row stands behind;
// blast.RecipientID(orgID, blast.TestRow) returns it). Tokens for it are
// signed and verified like any other, so they cannot be forged, and the
// Handler answers them without calling the Backend: the pixel is served
// and nothing is recorded, a click shows a page saying the link was in a
// test message, and the unsubscribe endpoint (the confirmation page, the
// form's POST and the RFC 8058 one-click POST) says the message was a test
// and no one was unsubscribed. Hosts must not use it for a real
// recipient.
const TestRecipientID = "~test~"

// Test reports whether the token belongs to a test message
// (TestRecipientID).
func (c Claims) Test() bool { return c.RecipientID == TestRecipientID }

// Key is one HMAC key. ID is written into every token so that keys can be
// rotated: sign with the newest, keep verifying with the older ones.
type Key struct {
	ID     uint8
	Secret []byte
}

// MinKeyBytes is the shortest secret a Key may have.
const MinKeyBytes = 32

const (
	tokenVersion = 1
	tagBytes     = 16 // 128-bit HMAC-SHA256 tag
	idRaw        = 0  // recipient ID stored as raw bytes
	idUUID       = 1  // recipient ID stored as its 16 UUID bytes
	maxIDBytes   = 128
)

var macContext = []byte("carecast-tracking-token-v1\x00")

// ErrInvalidToken is returned for every token that does not verify:
// malformed, forged, tampered, signed with an unknown key, or minted for
// another purpose. It is deliberately one error so that responses give no
// oracle. Use errors.Is.
var ErrInvalidToken = errors.New("tracking: invalid token")

// ErrExpiredToken is returned for a token that verified but is older than
// the allowed age for its purpose.
var ErrExpiredToken = errors.New("tracking: expired token")

// Signer mints and verifies tokens. It is safe for concurrent use.
type Signer struct {
	sign Key
	keys map[uint8][]byte
}

// NewSigner returns a Signer that signs with keys[0] and verifies with any
// of keys. It returns an error if keys is empty, a secret is shorter than
// MinKeyBytes, or two keys share an ID.
func NewSigner(keys ...Key) (*Signer, error) {
	if len(keys) == 0 {
		return nil, errors.New("tracking: NewSigner needs at least one key")
	}
	s := &Signer{sign: keys[0], keys: make(map[uint8][]byte, len(keys))}
	for i, k := range keys {
		if len(k.Secret) < MinKeyBytes {
			return nil, fmt.Errorf("tracking: key %d (id %d) is %d bytes; at least %d are required", i, k.ID, len(k.Secret), MinKeyBytes)
		}
		if _, dup := s.keys[k.ID]; dup {
			return nil, fmt.Errorf("tracking: key id %d appears twice", k.ID)
		}
		s.keys[k.ID] = append([]byte(nil), k.Secret...)
	}
	return s, nil
}

// Sign returns the URL-safe token for c. It fails only for a claim that
// cannot be encoded (unknown purpose, empty or over-long recipient ID,
// negative link index).
func (s *Signer) Sign(c Claims) (string, error) {
	switch c.Purpose {
	case PurposeOpen, PurposeClick, PurposeUnsubscribe:
	default:
		return "", fmt.Errorf("tracking: cannot sign unknown purpose %d", byte(c.Purpose))
	}
	if c.RecipientID == "" || len(c.RecipientID) > maxIDBytes {
		return "", fmt.Errorf("tracking: recipient ID must be 1 to %d bytes", maxIDBytes)
	}
	if c.LinkIndex < 0 {
		return "", errors.New("tracking: negative link index")
	}
	buf := make([]byte, 0, 64)
	buf = append(buf, tokenVersion, s.sign.ID, byte(c.Purpose))
	buf = binary.AppendUvarint(buf, uint64(max(c.IssuedAt.Unix(), 0)))
	if c.Purpose == PurposeClick {
		buf = binary.AppendUvarint(buf, uint64(c.LinkIndex))
	}
	if u, err := uuid.Parse(c.RecipientID); err == nil && u.String() == c.RecipientID {
		buf = append(buf, idUUID)
		buf = append(buf, u[:]...)
	} else {
		buf = append(buf, idRaw)
		buf = binary.AppendUvarint(buf, uint64(len(c.RecipientID)))
		buf = append(buf, c.RecipientID...)
	}
	buf = append(buf, mac(s.sign.Secret, buf)...)
	return base64.RawURLEncoding.EncodeToString(buf), nil
}

// Verify decodes token, checks its MAC in constant time and that it was
// minted for purpose, and returns its claims. It returns ErrInvalidToken
// for anything that does not verify. Age is checked by the caller (the
// Handler applies different limits per purpose).
func (s *Signer) Verify(token string, purpose Purpose) (Claims, error) {
	if len(token) > 512 {
		return Claims{}, ErrInvalidToken
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) < 3+tagBytes {
		return Claims{}, ErrInvalidToken
	}
	body, tag := raw[:len(raw)-tagBytes], raw[len(raw)-tagBytes:]
	if body[0] != tokenVersion {
		return Claims{}, ErrInvalidToken
	}
	secret, ok := s.keys[body[1]]
	if !ok || !hmac.Equal(tag, mac(secret, body)) {
		return Claims{}, ErrInvalidToken
	}
	if Purpose(body[2]) != purpose {
		return Claims{}, ErrInvalidToken
	}
	c := Claims{Purpose: purpose}
	rest := body[3:]
	issued, n := binary.Uvarint(rest)
	if n <= 0 || issued > 1<<40 {
		return Claims{}, ErrInvalidToken
	}
	rest = rest[n:]
	c.IssuedAt = time.Unix(int64(issued), 0).UTC()
	if purpose == PurposeClick {
		idx, n := binary.Uvarint(rest)
		if n <= 0 || idx > 1<<20 {
			return Claims{}, ErrInvalidToken
		}
		c.LinkIndex = int(idx)
		rest = rest[n:]
	}
	if len(rest) < 1 {
		return Claims{}, ErrInvalidToken
	}
	switch rest[0] {
	case idUUID:
		if len(rest) != 17 {
			return Claims{}, ErrInvalidToken
		}
		c.RecipientID = uuid.UUID(rest[1:17]).String()
	case idRaw:
		l, n := binary.Uvarint(rest[1:])
		if n <= 0 || l == 0 || l > maxIDBytes || uint64(len(rest)-1-n) != l {
			return Claims{}, ErrInvalidToken
		}
		c.RecipientID = string(rest[1+n:])
	default:
		return Claims{}, ErrInvalidToken
	}
	return c, nil
}

func mac(secret, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write(macContext)
	h.Write(body)
	return h.Sum(nil)[:tagBytes]
}
