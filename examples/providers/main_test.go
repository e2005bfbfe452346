package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carecast/carecast/provider"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestExplainsMissing(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, envOf(nil), false, "", "", ""); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID", "SMTP_HOST", "SMTP_FROM"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output does not name %s:\n%s", want, out.String())
		}
	}
}

func TestConfigured(t *testing.T) {
	var out bytes.Buffer
	env := envOf(map[string]string{
		"TWILIO_ACCOUNT_SID": "AC123", "TWILIO_AUTH_TOKEN": "tok-secret", "TWILIO_FROM": "+15005550006",
		"TWILIO_PUBLIC_URL": "https://hooks.clinic.example",
		"SMTP_HOST":         "smtp.example.com", "SMTP_FROM": "Clinic <news@clinic.example>", "SMTP_USERNAME": "u", "SMTP_PASSWORD": "pw-secret",
	})
	if err := run(context.Background(), &out, env, false, "", "", ""); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"ready: account AC123", "webhooks: verifying", "ready: smtp.example.com (TLS starttls, AUTH as u)"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in:\n%s", want, s)
		}
	}
	for _, secret := range []string{"tok-secret", "pw-secret"} {
		if strings.Contains(s, secret) {
			t.Errorf("output leaks a secret:\n%s", s)
		}
	}
}

func TestServeNeedsWebhookConfig(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, envOf(nil), false, "", "", ":0"); err == nil {
		t.Fatal("serve without configuration succeeded")
	}
}

// Issue 12 §4: the webhook server sets every timeout (it set only
// ReadHeaderTimeout, so a slow body or a slow reader held a goroutine).
func TestServerTimeouts(t *testing.T) {
	s := newServer(":0", http.NotFoundHandler())
	for name, d := range map[string]time.Duration{"ReadHeaderTimeout": s.ReadHeaderTimeout, "ReadTimeout": s.ReadTimeout,
		"WriteTimeout": s.WriteTimeout, "IdleTimeout": s.IdleTimeout} {
		if d <= 0 {
			t.Errorf("%s is not set", name)
		}
	}
	if s.ReadTimeout < provider.DefaultWebhookReadTimeout {
		t.Errorf("ReadTimeout %s is shorter than the handlers' own body deadline %s", s.ReadTimeout, provider.DefaultWebhookReadTimeout)
	}
}
