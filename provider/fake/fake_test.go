package fake_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/fake"
)

func TestFates(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	p := fake.New(&fake.Config{Now: func() time.Time { return now }})
	ctx := context.Background()
	send := func(id, to string) error {
		_, err := p.SendSMS(ctx, &provider.SMSMessage{ID: id, To: to, Body: "hi"})
		return err
	}
	tests := []struct {
		name   string
		setup  func()
		class  provider.Class
		accept bool
	}{
		{"ok", func() {}, -1, true},
		{"transient", func() { p.FailNext(fake.Transient()) }, provider.Transient, false},
		{"429", func() { p.FailNext(fake.RateLimited(3 * time.Second)) }, provider.RateLimited, false},
		{"landline", func() { p.FailNext(fake.Landline()) }, provider.Landline, false},
		{"opted out", func() { p.FailNext(fake.OptedOut()) }, provider.OptedOut, false},
		{"ambiguous accepts", func() { p.FailNext(fake.Ambiguous()) }, provider.Ambiguous, true},
		{"outage", func() { p.Outage(now.Add(-time.Second), now.Add(time.Second)) }, provider.Transient, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.Reset()
			tt.setup()
			err := send(fmt.Sprint(i), "+15550001")
			if tt.class < 0 {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				assert.Equal(t, tt.class, provider.Classify(err))
			}
			assert.Equal(t, tt.accept, p.Count() == 1)
			assert.Equal(t, 1, p.Calls())
		})
	}
}

func TestDuplicatesAndPerAddressScript(t *testing.T) {
	p := fake.New(nil)
	ctx := context.Background()
	p.FailTo("+1", fake.Transient(), fake.Transient())
	for range 3 {
		_, _ = p.SendSMS(ctx, &provider.SMSMessage{ID: "r1", To: "+1"})
	}
	assert.Equal(t, 3, p.Attempts("r1"))
	assert.Equal(t, 1, p.Count())
	assert.Zero(t, p.Duplicates())
	res, err := p.SendSMS(ctx, &provider.SMSMessage{ID: "r1", To: "+1"})
	require.NoError(t, err)
	assert.NotEmpty(t, res.ProviderMessageID)
	assert.Equal(t, 1, p.Duplicates())
	assert.Len(t, p.SentTo("+1"), 2)
}

func TestLatencyHonoursContext(t *testing.T) {
	p := fake.New(&fake.Config{Latency: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.SendEmail(ctx, &provider.EmailMessage{ID: "x"})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, p.Count())
}

// Issue 13 §2: the fake answers CheckAccepted from what it accepted: an
// Ambiguous answer was accepted, an AmbiguousLost one was not; To, From,
// Body and the window must all match.
func TestCheckAccepted(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	p := fake.New(&fake.Config{Now: func() time.Time { return now }})
	ctx := context.Background()
	p.FailNext(fake.Ambiguous(), fake.AmbiguousLost())
	for i, to := range []string{"+12125550001", "+12125550002"} {
		_, err := p.SendSMS(ctx, &provider.SMSMessage{ID: fmt.Sprint(i + 1), To: to, From: "+15005550006", Body: "Hi"})
		require.Error(t, err)
		assert.Equal(t, provider.Ambiguous, provider.Classify(err))
	}
	q := func(to, from, body string, after time.Time) *provider.AcceptanceQuery {
		return &provider.AcceptanceQuery{To: to, From: from, Body: body, After: after, Before: after.Add(time.Minute)}
	}
	check := func(q *provider.AcceptanceQuery) provider.Acceptance {
		a, err := p.CheckAccepted(ctx, q)
		require.NoError(t, err)
		return a
	}
	sid := p.SentTo("+12125550001")[0].ProviderMessageID
	assert.Equal(t, provider.Acceptance{Status: provider.AcceptanceAccepted, ProviderMessageID: sid}, check(q("+12125550001", "+15005550006", "Hi", now)))
	assert.Empty(t, p.SentTo("+12125550002"), "the lost request was not accepted")
	notAccepted := provider.Acceptance{Status: provider.AcceptanceNotAccepted}
	assert.Equal(t, notAccepted, check(q("+12125550002", "+15005550006", "Hi", now)))
	assert.Equal(t, notAccepted, check(q("+12125550001", "+15005550007", "Hi", now)), "other sender")
	assert.Equal(t, notAccepted, check(q("+12125550001", "+15005550006", "Hello", now)), "other body")
	assert.Equal(t, notAccepted, check(q("+12125550001", "+15005550006", "Hi", now.Add(time.Second))), "outside the window")

	p.AcceptanceUnknownFor("+12125550002")
	assert.Equal(t, provider.Acceptance{}, check(q("+12125550002", "+15005550006", "Hi", now)))
	p.FailCheckNext(fake.Transient())
	_, err := p.CheckAccepted(ctx, q("+12125550001", "+15005550006", "Hi", now))
	assert.Equal(t, provider.Transient, provider.Classify(err))
	assert.Equal(t, 7, p.Checks())

	d := fake.New(&fake.Config{Now: func() time.Time { return now }, DiscardBodies: true})
	_, err = d.SendSMS(ctx, &provider.SMSMessage{ID: "1", To: "+12125550001", Body: "Hi"})
	require.NoError(t, err)
	a, err := d.CheckAccepted(ctx, q("+12125550001", "", "Hi", now))
	require.NoError(t, err)
	assert.Equal(t, provider.AcceptanceUnknown, a.Status, "no bodies kept: cannot tell")
}
