package domain

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
)

// minRSABits is the smallest RSA key RFC 8301 allows signers to use.
const minRSABits = 1024

// DKIMResult is the outcome of checking one DKIM selector.
type DKIMResult struct {
	// KeyType is "rsa" or "ed25519".
	KeyType string
	// Bits is the RSA modulus size (0 for ed25519).
	Bits int
	// Error is empty when the key is usable; otherwise the problem ("no
	// DKIM key at s1._domainkey.clinic.example", "key revoked", "key too
	// short (512 < 1024)", "rsa-sha1 must not be used").
	Error string
	// Warning notes a usable but weak key (RSA under 2048 bits).
	Warning string
}

// CheckDKIM looks up selector._domainkey.domain (CNAME-delegated selectors,
// as SendGrid and SES publish them, are followed by the resolver) and
// checks the key record (RFC 6376 §3.6.1, RFC 8301): a key is present and
// not revoked (empty p=), RSA keys have at least 1024 bits (2048
// recommended), and the record does not restrict itself to SHA-1.
func CheckDKIM(ctx context.Context, r Resolver, domain, selector string) (DKIMResult, error) {
	name := selector + "._domainkey." + domain
	txt, found, err := lookup(ctx, r, name)
	if err != nil {
		return DKIMResult{}, err
	}
	var rec string
	for _, t := range txt {
		if strings.Contains(t, "p=") {
			rec = t
			break
		}
	}
	if !found || rec == "" {
		return DKIMResult{Error: "no DKIM key at " + name}, nil
	}
	return ParseDKIMKey(rec), nil
}

// ParseDKIMKey evaluates one DKIM key record ("v=DKIM1; k=rsa; p=…").
func ParseDKIMKey(rec string) DKIMResult {
	tags := map[string]string{}
	for _, part := range strings.Split(rec, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		tags[strings.ToLower(strings.TrimSpace(k))] = strings.Join(strings.Fields(v), "")
	}
	res := DKIMResult{KeyType: strings.ToLower(tags["k"])}
	if res.KeyType == "" {
		res.KeyType = "rsa"
	}
	if v, ok := tags["v"]; ok && v != "DKIM1" {
		res.Error = "invalid version (want DKIM1)"
		return res
	}
	if h, ok := tags["h"]; ok && !strings.Contains(strings.ToLower(h), "sha256") {
		res.Error = "rsa-sha1 must not be used (h= allows only " + h + ")"
		return res
	}
	p, ok := tags["p"]
	if !ok {
		res.Error = "no p= tag"
		return res
	}
	if p == "" {
		res.Error = "key revoked (empty p=)"
		return res
	}
	der, err := base64.StdEncoding.DecodeString(p)
	if err != nil {
		res.Error = "p= is not base64"
		return res
	}
	switch res.KeyType {
	case "ed25519":
		if len(der) != 32 {
			res.Error = "ed25519 key is not 32 bytes"
		}
		return res
	case "rsa":
	default:
		res.Error = "unknown key type " + res.KeyType
		return res
	}
	var pub *rsa.PublicKey
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		pub, _ = k.(*rsa.PublicKey)
	} else if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		pub = k
	}
	if pub == nil {
		res.Error = "p= is not an RSA public key"
		return res
	}
	res.Bits = pub.N.BitLen()
	switch {
	case res.Bits < minRSABits:
		res.Error = fmt.Sprintf("key too short (%d < %d)", res.Bits, minRSABits)
	case res.Bits < 2048:
		res.Warning = fmt.Sprintf("key of %d bits: 2048 recommended", res.Bits)
	}
	return res
}
