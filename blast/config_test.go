package blast_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/store/memstore"
)

func TestConfigValidation(t *testing.T) {
	valid := func() blast.Config {
		return blast.Config{Store: memstore.New(), Patients: cohort.NewMemPatientStore(), Cohorts: cohort.NewMemStore(), Organizations: blast.OrgMap{}}
	}
	tests := []struct {
		field string
		mod   func(*blast.Config)
	}{
		{"Store", func(c *blast.Config) { c.Store = nil }},
		{"Patients", func(c *blast.Config) { c.Patients = nil }},
		{"Cohorts", func(c *blast.Config) { c.Cohorts = nil }},
		{"Organizations", func(c *blast.Config) { c.Organizations = nil }},
		{"Workers", func(c *blast.Config) { c.Workers = -1 }},
		{"BatchSize", func(c *blast.Config) { c.BatchSize = -5 }},
		{"MaxAttempts", func(c *blast.Config) { c.MaxAttempts = -1 }},
		{"Lease", func(c *blast.Config) { c.Lease = time.Minute; c.SendTimeout = 45 * time.Second }},
		{"BackoffMax", func(c *blast.Config) { c.BackoffBase = time.Minute; c.BackoffMax = time.Second }},
		{"SMSRate", func(c *blast.Config) { c.SMSRate = -3 }},
		{"EmailRate", func(c *blast.Config) { c.EmailRate = -0.5 }},
		{"SMSBurst", func(c *blast.Config) { c.SMSBurst = -1 }},
		{"QuietHours", func(c *blast.Config) { c.QuietHours = blast.QuietHours{Start: 21 * time.Hour, End: 8 * time.Hour} }},
		{"HelpReply", func(c *blast.Config) { c.HelpReply = "Call {{nope}}" }},
		{"SenderLimits", func(c *blast.Config) { c.SenderLimits = map[string]blast.Limit{"+12125550000": {Rate: 0}} }},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			c := valid()
			tt.mod(&c)
			_, err := blast.New(&c)
			var ce *blast.ConfigError
			require.True(t, errors.As(err, &ce), "got %v", err)
			assert.Equal(t, tt.field, ce.Field)
			assert.Contains(t, err.Error(), "blast: Config."+tt.field)
		})
	}
	c := valid()
	e, err := blast.New(&c)
	require.NoError(t, err)
	assert.False(t, e.Idle(), "not running")
	assert.ErrorIs(t, e.Stop(ctx), blast.ErrNotRunning)
	require.NoError(t, e.Start(ctx))
	assert.ErrorIs(t, e.Start(ctx), blast.ErrRunning)
	require.NoError(t, e.Stop(ctx))
	_, err = blast.New(nil)
	assert.Error(t, err)
	c = valid()
	c.SMSRate, c.QuietHours = blast.RateUnlimited, blast.QuietHours{Disabled: true}
	_, err = blast.New(&c)
	assert.NoError(t, err)
}
