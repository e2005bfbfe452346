package provider_test

import (
	"testing"

	"github.com/carecast/carecast/provider"
	"github.com/stretchr/testify/assert"
)

func TestClassifyBounce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want provider.Class
	}{
		{"5.1.1", provider.Suppress}, {"5.1.2", provider.Suppress}, {"5.1.3", provider.Suppress},
		{"5.1.10", provider.Suppress}, {"5.2.1", provider.Suppress}, {" 5.1.1 ", provider.Suppress},
		{"5.2.2", provider.Permanent}, {"5.7.1", provider.SenderBlocked}, {"5.7.26", provider.SenderBlocked},
		{"5.0.0", provider.Permanent}, {"4.2.2", provider.Transient}, {"4.4.1", provider.Transient},
		{"4.7.28", provider.RateLimited}, {"", provider.Ambiguous}, {"2.0.0", provider.Ambiguous},
		{"5.1", provider.Ambiguous}, {"5.x.1", provider.Ambiguous}, {"550", provider.Ambiguous},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, provider.ClassifyBounce(tt.in), "%q", tt.in)
	}
}

func FuzzClassifyBounce(f *testing.F) {
	for _, s := range []string{"5.1.1", "4.7.28", "", "5..1", "9.9.9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := provider.ClassifyBounce(s)
		if c == provider.Suppress && s[len(s)-1] == '.' {
			t.Fatalf("%q classified suppress", s)
		}
	})
}
