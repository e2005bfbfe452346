package domain_test

import (
	"errors"
	"testing"

	"github.com/carecast/carecast/provider/domain"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// compliance.md DM-02: each is valid.
func TestParseDMARCValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		record   string
		policy   string
		warnings int
	}{
		{"v=DMARC1; p=reject; rua=mailto:mailauth-reports@google.com", "reject", 0},
		{"v=DMARC1;p=ReJect", "reject", 0},
		{"V=DMARC1;p=reject;", "reject", 0},
		{"v = DMARC1\t;\tp\t\t\t=\t\t\treject\t;", "reject", 0},
		{"v=DMARC1; p=none; sp=none; fo=1; pct=50; adkim=r; aspf=r; rf=afrf; ri=86400; rua=mailto:eits.dmarcrua@energy.gov; ruf=mailto:eits.dmarcruf@energy.gov", "none", 3},
		{"v=DMARC1; p=reject; np=quarantine; psd=n; t=y", "reject", 0},
		{"v=DMARC1; p=none; rua=mailto:a%2Cb@example.com", "none", 0},
		{"v=DMARC1; p=reject; adkim=x", "reject", 1},
		{"v=DMARC1; rua=mailto:d@example.com", "none", 1},
		{"v=DMARC1; p=quarantine; unknowntag=whatever", "quarantine", 0},
		{"v=DMARC1; p=reject; rua=mailto:a@example.com!10m,mailto:b@example.com", "reject", 0},
	}
	for _, tt := range tests {
		t.Run(tt.record, func(t *testing.T) {
			rec, err := domain.ParseDMARC(tt.record)
			require.NoError(t, err)
			assert.Equal(t, tt.policy, rec.Policy)
			assert.Len(t, rec.Warnings, tt.warnings, "%v", rec.Warnings)
		})
	}
	rec, err := domain.ParseDMARC("v=DMARC1; p=reject; np=quarantine; psd=n; t=y; adkim=s; aspf=S; fo=0:d")
	require.NoError(t, err)
	assert.Equal(t, &domain.DMARCRecord{Policy: "reject", NonexistentPolicy: "quarantine", PSD: "n", Testing: true, ADKIM: "s", ASPF: "s", FO: []string{"0", "d"}}, rec)
	rec, _ = domain.ParseDMARC("v=DMARC1; rua=mailto:d@example.com")
	assert.Contains(t, rec.Warnings[0], "p missing")
}

// compliance.md DM-03.
func TestParseDMARCBroken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		record string
		notDM  bool
		tag    string
		reason string
	}{
		{"v=dmarc1; p=reject", true, "", ""},
		{"v=DMARC10; p=reject", true, "", ""},
		{"p=none; v=DMARC1", true, "", ""},
		{" v=DMARC1; p=reject", true, "", ""},
		{`"v=DMARC1; p=none"`, true, "", ""},
		{"v=spf1 include:example.com -all", true, "", ""},
		{"", true, "", ""},
		{"v=DMARC1 p=none", false, "", "syntax error"},
		{"v=DMARC1; p", false, "", "syntax error"},
		{"v=DMARC1; p=monitor; rua=mailto:d@example.com", false, "p", "invalid p"},
		{"v=DMARC1; p=none; rua=reports@dmarc.cyber.dhs.gov,mailto:dmarcreports@usdoj.gov", false, "rua", "invalid report URI"},
		{"v=DMARC1; p=reject; p=none", false, "p", "duplicate tag"},
		{"v=DMARC1; p=reject; fo=x", false, "fo", "invalid tag value"},
		{"v=DMARC1; p=reject; sp=invalid", false, "sp", "invalid sp"},
		{"v=DMARC1; p=reject; v=DMARC1", false, "v", "duplicate tag"},
	}
	for _, tt := range tests {
		t.Run(tt.record, func(t *testing.T) {
			_, err := domain.ParseDMARC(tt.record)
			require.Error(t, err)
			if tt.notDM {
				assert.ErrorIs(t, err, domain.ErrNotDMARC)
				return
			}
			var de *domain.DMARCError
			require.True(t, errors.As(err, &de), "%v", err)
			assert.Equal(t, tt.tag, de.Tag)
			assert.Contains(t, de.Reason, tt.reason)
		})
	}
}

func FuzzParseDMARC(f *testing.F) {
	for _, s := range []string{"v=DMARC1; p=reject", "v = DMARC1\t;\tp=none;", "v=DMARC1; rua=mailto:a@b,x", "V=DMARC1;;;p=none", "v=DMARC1; fo=0:1:d:s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rec, err := domain.ParseDMARC(s)
		if err == nil {
			if rec.Policy != "none" && rec.Policy != "quarantine" && rec.Policy != "reject" {
				t.Fatalf("%q: policy %q", s, rec.Policy)
			}
			if rec.ADKIM != "r" && rec.ADKIM != "s" {
				t.Fatalf("%q: adkim %q", s, rec.ADKIM)
			}
		}
	})
}

func BenchmarkParseDMARC(b *testing.B) {
	const rec = "v=DMARC1; p=none; sp=none; fo=1; pct=50; adkim=r; aspf=r; rf=afrf; ri=86400; rua=mailto:eits.dmarcrua@energy.gov; ruf=mailto:eits.dmarcruf@energy.gov"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := domain.ParseDMARC(rec); err != nil {
			b.Fatal(err)
		}
	}
}
