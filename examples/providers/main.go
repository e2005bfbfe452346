// Command providers shows how a host configures the real providers — Twilio
// for SMS and an SMTP relay for email — from environment variables, and
// optionally sends one test message through each or serves Twilio's
// webhooks.
//
//	go run ./examples/providers                 # check the configuration
//	go run ./examples/providers -send -sms-to +14155550123 -email-to you@example.com
//	go run ./examples/providers -serve :8080    # Twilio status and inbound webhooks
//
// Without the variables it starts anyway and explains what is missing.
// Secrets are never printed.
//
// Twilio: TWILIO_ACCOUNT_SID, and TWILIO_AUTH_TOKEN or TWILIO_API_KEY_SID
// with TWILIO_API_KEY_SECRET; TWILIO_FROM (an E.164 number) or
// TWILIO_MESSAGING_SERVICE_SID; optional TWILIO_STATUS_CALLBACK,
// TWILIO_BASE_URL, and TWILIO_PUBLIC_URL (the scheme://host Twilio calls,
// needed by -serve).
//
// SMTP: SMTP_HOST, SMTP_FROM ("Clinic <news@mail.clinic.example>");
// optional SMTP_PORT (587), SMTP_USERNAME, SMTP_PASSWORD, SMTP_TLS
// (starttls, implicit, opportunistic or none).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/smtp"
	"github.com/carecast/carecast/provider/twilio"
)

func main() {
	send := flag.Bool("send", false, "send one test SMS and one test email")
	smsTo := flag.String("sms-to", "", "E.164 number for the test SMS")
	emailTo := flag.String("email-to", "", "address for the test email")
	serve := flag.String("serve", "", "address to serve Twilio webhooks on (e.g. :8080)")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, os.Getenv, *send, *smsTo, *emailTo, *serve); err != nil {
		log.Fatal(err)
	}
}

// setup is what run builds from the environment.
type setup struct {
	sms     *twilio.Client
	webhook *twilio.Webhook
	email   *smtp.Client
	from    string
}

// env reads variables and remembers the missing required ones.
type env struct {
	get     func(string) string
	missing []string
}

func (e *env) required(name string) string {
	v := strings.TrimSpace(e.get(name))
	if v == "" {
		e.missing = append(e.missing, name)
	}
	return v
}

func (e *env) optional(name string) string { return strings.TrimSpace(e.get(name)) }

// configure builds the clients it can and writes an explanation of what is
// missing or wrong to w.
func configure(w io.Writer, getenv func(string) string) setup {
	var s setup

	tw := &env{get: getenv}
	cfg := twilio.Config{
		AccountSID:          tw.required("TWILIO_ACCOUNT_SID"),
		APIKeySID:           tw.optional("TWILIO_API_KEY_SID"),
		APIKeySecret:        tw.optional("TWILIO_API_KEY_SECRET"),
		From:                tw.optional("TWILIO_FROM"),
		MessagingServiceSID: tw.optional("TWILIO_MESSAGING_SERVICE_SID"),
		StatusCallback:      tw.optional("TWILIO_STATUS_CALLBACK"),
		BaseURL:             tw.optional("TWILIO_BASE_URL"),
	}
	if cfg.APIKeySID == "" {
		cfg.AuthToken = tw.required("TWILIO_AUTH_TOKEN")
	}
	if cfg.From == "" && cfg.MessagingServiceSID == "" {
		tw.missing = append(tw.missing, "TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID")
	}
	fmt.Fprintln(w, "Twilio SMS:")
	if len(tw.missing) > 0 {
		fmt.Fprintf(w, "  not configured; set %s\n", strings.Join(tw.missing, ", "))
	} else if c, err := twilio.New(cfg); err != nil {
		fmt.Fprintf(w, "  invalid configuration: %v\n", err)
	} else {
		s.sms = c
		sender := cfg.From
		if cfg.MessagingServiceSID != "" {
			sender = "Messaging Service " + cfg.MessagingServiceSID
		}
		fmt.Fprintf(w, "  ready: account %s, sender %s, credentials %s\n", cfg.AccountSID, sender, credentialKind(cfg))
		if token := cfg.AuthToken; token != "" {
			if public := tw.optional("TWILIO_PUBLIC_URL"); public == "" {
				fmt.Fprintln(w, "  webhooks: set TWILIO_PUBLIC_URL (scheme://host Twilio calls) to verify status callbacks and inbound texts")
			} else if wh, err := twilio.NewWebhook(twilio.WebhookConfig{AuthToken: token, PublicURL: public, AccountSID: cfg.AccountSID}); err != nil {
				fmt.Fprintf(w, "  webhooks: %v\n", err)
			} else {
				s.webhook = wh
				fmt.Fprintf(w, "  webhooks: verifying X-Twilio-Signature for %s/twilio/status and /twilio/inbound\n", public)
			}
		} else {
			fmt.Fprintln(w, "  webhooks: need TWILIO_AUTH_TOKEN (Twilio signs webhooks with the Auth Token, not an API key)")
		}
	}

	em := &env{get: getenv}
	scfg := smtp.Config{
		Host:     em.required("SMTP_HOST"),
		Username: em.optional("SMTP_USERNAME"),
		Password: em.optional("SMTP_PASSWORD"),
		TLS:      smtp.TLSMode(em.optional("SMTP_TLS")),
	}
	s.from = em.required("SMTP_FROM")
	portErr := ""
	if p := em.optional("SMTP_PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			portErr = "SMTP_PORT is not a number"
		}
		scfg.Port = n
	}
	fmt.Fprintln(w, "SMTP email:")
	switch {
	case len(em.missing) > 0:
		fmt.Fprintf(w, "  not configured; set %s\n", strings.Join(em.missing, ", "))
	case portErr != "":
		fmt.Fprintf(w, "  invalid configuration: %s\n", portErr)
	default:
		c, err := smtp.New(scfg)
		if err != nil {
			fmt.Fprintf(w, "  invalid configuration: %v\n", err)
			break
		}
		s.email = c
		auth := "no AUTH"
		if scfg.Username != "" {
			auth = "AUTH as " + scfg.Username
		}
		tlsMode := scfg.TLS
		if tlsMode == "" {
			tlsMode = smtp.TLSStartTLS
		}
		fmt.Fprintf(w, "  ready: %s (TLS %s, %s), From %s\n", scfg.Host, tlsMode, auth, s.from)
	}
	return s
}

func credentialKind(c twilio.Config) string {
	if c.APIKeySID != "" {
		return "API key " + c.APIKeySID
	}
	return "Auth Token"
}

func run(ctx context.Context, w io.Writer, getenv func(string) string, send bool, smsTo, emailTo, serve string) error {
	s := configure(w, getenv)
	if s.email != nil {
		defer s.email.Close()
	}
	if send {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		sendTests(ctx, w, s, smsTo, emailTo)
	}
	if serve != "" {
		if s.webhook == nil {
			return errors.New("providers: -serve needs the Twilio webhook configuration above")
		}
		mux := http.NewServeMux()
		mux.Handle("POST /twilio/status", s.webhook.StatusHandler(logEvents))
		mux.Handle("POST /twilio/inbound", s.webhook.InboundHandler(logEvents))
		fmt.Fprintf(w, "serving Twilio webhooks on %s\n", serve)
		return newServer(serve, mux).ListenAndServe()
	}
	if !send {
		fmt.Fprintln(w, "Configuration checked. Use -send to send test messages or -serve to receive webhooks.")
	}
	return nil
}

// newServer returns the webhook server. Every timeout is set: the
// webhook handlers bound their own body reads (size and deadline), and
// the server bounds the headers, whole requests, answers and idle
// keep-alive connections, so that slow clients cannot hold goroutines.
func newServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
}

// sendTests sends one message through each configured provider and prints
// the outcome class.
func sendTests(ctx context.Context, w io.Writer, s setup, smsTo, emailTo string) {
	if s.sms != nil && smsTo != "" {
		res, err := s.sms.SendSMS(ctx, &provider.SMSMessage{ID: "example-sms", To: smsTo, Body: "carecast test message. Reply STOP to opt out."})
		report(w, "SMS", res, err)
	} else {
		fmt.Fprintln(w, "SMS: skipped (needs the Twilio configuration and -sms-to)")
	}
	if s.email != nil && emailTo != "" {
		res, err := s.email.SendEmail(ctx, &provider.EmailMessage{ID: "example-email", From: s.from, To: emailTo,
			Subject: "carecast test message", Text: "This is a test.\n", HTML: "<p>This is a test.</p>"})
		report(w, "Email", res, err)
	} else {
		fmt.Fprintln(w, "Email: skipped (needs the SMTP configuration and -email-to)")
	}
}

func report(w io.Writer, what string, res provider.Result, err error) {
	if err != nil {
		c := provider.Classify(err)
		fmt.Fprintf(w, "%s: failed, class %s (retryable %v): %v\n", what, c, c.Retryable(), err)
		return
	}
	fmt.Fprintf(w, "%s: accepted as %s\n", what, res.ProviderMessageID)
}

// logEvents prints verified events without bodies or addresses (PHI).
func logEvents(_ context.Context, evs []provider.Event) error {
	for _, e := range evs {
		log.Printf("event %s kind=%s message=%s code=%s class=%s keyword=%q provider_handled=%v",
			e.ID, e.Kind, e.ProviderMessageID, e.Code, e.Class, e.Keyword, e.ProviderHandledOptOut)
	}
	return nil
}
