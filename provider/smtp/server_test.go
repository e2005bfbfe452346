package smtp_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/carecast/carecast/provider/providertest"
	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

const (
	testUser = "relay-user"
	testPass = "relay-pass"
)

// testCert returns a self-signed certificate for 127.0.0.1 and localhost
// and a pool trusting it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// mailServer is a real go-smtp server on loopback with STARTTLS and AUTH
// PLAIN, scriptable with providertest outcomes.
type mailServer struct {
	addr string
	pool *x509.CertPool

	mu       sync.Mutex
	script   []providertest.EmailOutcome
	received []providertest.EmailReceived
	conns    map[string]bool // client addresses: one per TCP connection
	tlsSeen  bool
	// hold, when set, makes Data signal arrived and wait for hold to be
	// closed before answering.
	hold, arrived chan struct{}
	authSeen      bool
}

func newMailServer(t *testing.T) *mailServer {
	return newMailServerTLS(t, true)
}

// newMailServerTLS starts a server; withTLS false offers no STARTTLS.
func newMailServerTLS(t *testing.T, withTLS bool) *mailServer {
	t.Helper()
	cert, pool := testCert(t)
	ms := &mailServer{pool: pool, conns: map[string]bool{}}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		ms.mu.Lock()
		ms.conns[c.Conn().RemoteAddr().String()] = true // go-smtp opens a new session after STARTTLS
		ms.mu.Unlock()
		return &session{ms: ms, conn: c}, nil
	}))
	srv.Domain = "localhost"
	if withTLS {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	srv.AllowInsecureAuth = false
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ms.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() {
		srv.Close()
		l.Close() // Serve may not have registered l yet
	})
	return ms
}

func (ms *mailServer) Script(o ...providertest.EmailOutcome) {
	ms.mu.Lock()
	ms.script = append(ms.script, o...)
	ms.mu.Unlock()
}

func (ms *mailServer) Received() []providertest.EmailReceived {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return append([]providertest.EmailReceived(nil), ms.received...)
}

// Connections returns the number of TCP connections accepted.
func (ms *mailServer) Connections() int {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return len(ms.conns)
}

type session struct {
	ms      *mailServer
	conn    *gosmtp.Conn
	authed  bool
	from    string
	to      string
	outcome providertest.EmailOutcome
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != testUser || password != testPass {
			return &gosmtp.SMTPError{Code: 535, EnhancedCode: gosmtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		_, isTLS := s.conn.TLSConnectionState()
		s.ms.mu.Lock()
		s.ms.tlsSeen = s.ms.tlsSeen || isTLS
		s.ms.authSeen = true
		s.ms.mu.Unlock()
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if !s.authed {
		return gosmtp.ErrAuthRequired
	}
	s.ms.mu.Lock()
	s.outcome = providertest.EmailAccept
	if len(s.ms.script) > 0 {
		s.outcome, s.ms.script = s.ms.script[0], s.ms.script[1:]
	}
	s.ms.mu.Unlock()
	switch s.outcome {
	case providertest.EmailTempFail:
		return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	case providertest.EmailRateLimited:
		return &gosmtp.SMTPError{Code: 421, EnhancedCode: gosmtp.EnhancedCode{4, 7, 28}, Message: "Rate limited"}
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if s.outcome == providertest.EmailMailboxUnknown {
		// Real servers often echo the address; the adapter must not.
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "The email account <" + to + "> does not exist"}
	}
	s.to = to
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.ms.mu.Lock()
	s.ms.received = append(s.ms.received, providertest.EmailReceived{From: s.from, To: s.to, Raw: raw})
	hold, arrived := s.ms.hold, s.ms.arrived
	s.ms.mu.Unlock()
	if hold != nil {
		arrived <- struct{}{}
		<-hold
	}
	switch s.outcome {
	case providertest.EmailPolicyBlock:
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "Very low reputation of the sending domain"}
	case providertest.EmailCutAfterRequest:
		s.conn.Conn().Close()
		return errors.New("connection dropped")
	}
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", "" }
func (s *session) Logout() error { return nil }
