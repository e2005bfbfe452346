package domain_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/domain"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// realWorld serves the compliance.md DM-01..DM-06 records.
func realWorld(t *testing.T) *zone {
	spf11 := []string{"v=spf1 include:s1.example include:s2.example include:s3.example include:s4.example include:s5.example -all"}
	z := &zone{
		txt: map[string][][]string{
			// DM-01 test 1: one record in two strings.
			fqdn("_dmarc.split.example"): {{"v=DMARC1; p=", "reject; rua=mailto:d@example.org"}},
			fqdn("split.example"):        {{"v=spf1 include:_spf.google.com ~all"}},
			fqdn("_spf.google.com"):      {{"v=spf1 ip4:192.0.2.0/24 ~all"}},
			// DM-01 test 2: two DMARC records.
			fqdn("_dmarc.two.example"): {{"v=DMARC1; p=reject"}, {"v=DMARC1; p=none"}},
			fqdn("two.example"):        {{"v=spf1 -all"}},
			// DM-01 test 3: subdomain without a record, organisational domain with one.
			fqdn("_dmarc.clinic.example"): {{"v=DMARC1; p=quarantine; sp=reject; adkim=r"}},
			fqdn("mail.clinic.example"):   {{"v=spf1 include:sendgrid.net -all"}},
			fqdn("clinic.example"):        {{"v=spf1 include:_spf.google.com ~all"}, {"google-site-verification=abc"}},
			fqdn("sendgrid.net"):          {{"v=spf1 ip4:167.89.0.0/17 -all"}},
			fqdn("bounces.esp.example"):   {{"v=spf1 ip4:198.51.100.0/24 -all"}},
			// DM-03 test 10: SPF published at _dmarc.
			fqdn("_dmarc.confused.example"): {{"v=spf1 include:example.com -all"}},
			// DM-03 test 5 served.
			fqdn("_dmarc.monitor.example"): {{"v=DMARC1; p=monitor; rua=mailto:d@example.com"}},
			// DM-05 test 1: two SPF records.
			fqdn("_dmarc.twospf.example"): {{"v=DMARC1; p=reject"}},
			fqdn("twospf.example"):        {{"v=spf1 include:_spf.google.com ~all"}, {"v=spf1 include:sendgrid.net ~all"}},
			// DM-05 test 2: 11 lookups.
			fqdn("_dmarc.deep.example"): {{"v=DMARC1; p=reject"}},
			fqdn("deep.example"):        {spf11},
			fqdn("s1.example"):          {{"v=spf1 a mx -all"}},
			fqdn("s2.example"):          {{"v=spf1 a mx -all"}},
			fqdn("s3.example"):          {{"v=spf1 a mx -all"}},
			fqdn("s4.example"):          {{"v=spf1 ip4:192.0.2.1 -all"}},
			fqdn("s5.example"):          {{"v=spf1 ip4:192.0.2.2 -all"}},
			// DM-05 test 3: +all.
			fqdn("_dmarc.open.example"): {{"v=DMARC1; p=reject"}},
			fqdn("open.example"):        {{"v=spf1 +all"}},
			// DM-04: clinic.co.uk.
			fqdn("_dmarc.clinic.co.uk"): {{"v=DMARC1; p=reject"}},
			fqdn("clinic.co.uk"):        {{"v=spf1 -all"}},
			// DM-06 keys.
			fqdn("short._domainkey.clinic.example"):    {splitTXT(rsaKeyRecord(t, 512))},
			fqdn("revoked._domainkey.clinic.example"):  {{"v=DKIM1; p="}},
			fqdn("s1.domainkey.u123.wl.sendgrid.net"):  {splitTXT(rsaKeyRecord(t, 2048))},
			fqdn("ed._domainkey.clinic.example"):       {{ed25519Record(t)}},
			fqdn("sha1only._domainkey.clinic.example"): {{"v=DKIM1; h=sha1; k=rsa; p=" + strings.Repeat("A", 8)}},
			fqdn("weak._domainkey.clinic.example"):     {splitTXT(rsaKeyRecord(t, 1024))},
			fqdn("k1._domainkey.clinic.co.uk"):         {splitTXT(rsaKeyRecord(t, 2048))},
			fqdn("k1._domainkey.attacker.co.uk"):       {splitTXT(rsaKeyRecord(t, 2048))},
			fqdn("_dmarc.strict.example"):              {{"v=DMARC1; p=reject; adkim=s; aspf=s"}},
			fqdn("news.strict.example"):                {{"v=spf1 -all"}},
			fqdn("k1._domainkey.strict.example"):       {splitTXT(rsaKeyRecord(t, 2048))},
			// EM-07: a bulk-ready domain, and an ESP's shared signing domain.
			fqdn("_dmarc.ready.example"):             {{"v=DMARC1; p=none; rua=mailto:d@ready.example"}},
			fqdn("ready.example"):                    {{"v=spf1 include:sendgrid.net -all"}},
			fqdn("k1._domainkey.ready.example"):      {splitTXT(rsaKeyRecord(t, 2048))},
			fqdn("k1._domainkey.esp-shared.example"): {splitTXT(rsaKeyRecord(t, 2048))},
		},
		cname: map[string]string{
			fqdn("s1._domainkey.clinic.example"): fqdn("s1.domainkey.u123.wl.sendgrid.net"),
		},
		servfail: map[string]bool{fqdn("_dmarc.broken.example"): true},
	}
	return z
}

func newChecker(t *testing.T, orgs map[string]domain.OrgDomains) (*domain.Checker, *zone) {
	t.Helper()
	z := realWorld(t)
	c, err := domain.New(domain.Config{Resolver: startDNS(t, z), Orgs: orgs})
	require.NoError(t, err)
	return c, z
}

func check(st provider.DomainStatus, name string) provider.DomainCheck {
	for _, c := range st.Checks {
		if c.Name == name {
			return c
		}
	}
	return provider.DomainCheck{Name: "missing " + name}
}

func TestCheckAgainstLoopbackDNS(t *testing.T) {
	t.Parallel()
	c, _ := newChecker(t, map[string]domain.OrgDomains{})
	tests := []struct {
		name     string
		from     string
		od       domain.OrgDomains
		verified bool
		check    string
		ok       bool
		reason   string
	}{
		{"DM-01.1 split TXT", "split.example", domain.OrgDomains{}, true, "dmarc", true, "p=reject"},
		{"DM-01.2 multiple", "two.example", domain.OrgDomains{}, false, "dmarc", false, "multiple records"},
		{"DM-01.3 org fallback uses sp", "mail.clinic.example", domain.OrgDomains{}, true, "dmarc", true, "p=reject at _dmarc.clinic.example (organisational domain)"},
		{"DM-03.10 SPF at _dmarc", "confused.example", domain.OrgDomains{}, false, "dmarc", false, "SPF record found where DMARC record should be"},
		{"DM-03.5 invalid p", "monitor.example", domain.OrgDomains{}, false, "dmarc", false, "invalid p"},
		{"no DMARC anywhere", "nothing.example", domain.OrgDomains{}, false, "dmarc", false, "no DMARC record"},
		{"DM-05.1 two SPF", "twospf.example", domain.OrgDomains{}, false, "spf", false, "permerror: multiple SPF records"},
		{"DM-05.2 eleven lookups", "deep.example", domain.OrgDomains{}, false, "spf", false, "permerror: too many DNS lookups (11 > 10)"},
		{"DM-05.3 +all", "open.example", domain.OrgDomains{}, false, "spf", false, "error: permits any sender"},
		{"SPF with google include", "split.example", domain.OrgDomains{}, true, "spf", true, "SPF record found (1 DNS lookups)"},
		{"DM-04.3 SPF unaligned return path", "clinic.example", domain.OrgDomains{ReturnPathDomain: "bounces.esp.example", DKIMSelectors: []string{"s1"}}, true, "spf", true, "SPF unaligned"},
		{"DM-06.1 short key", "clinic.example", domain.OrgDomains{DKIMSelectors: []string{"short"}}, false, "dkim", false, "key too short (512 < 1024)"},
		{"DM-06.2 revoked", "clinic.example", domain.OrgDomains{DKIMSelectors: []string{"revoked"}}, false, "dkim", false, "key revoked"},
		{"DM-06.3 CNAME to SendGrid", "clinic.example", domain.OrgDomains{DKIMSelectors: []string{"s1"}}, true, "dkim", true, "s1: ok"},
		{"ed25519", "clinic.example", domain.OrgDomains{DKIMSelectors: []string{"ed"}}, true, "dkim", true, "ed: ok"},
		{"sha1 only", "clinic.example", domain.OrgDomains{DKIMSelectors: []string{"sha1only"}}, false, "dkim", false, "rsa-sha1"},
		{"1024 bits warns", "clinic.example", domain.OrgDomains{DKIMSelectors: []string{"weak"}}, true, "dkim", true, "2048 recommended"},
		{"missing selector", "clinic.example", domain.OrgDomains{DKIMSelectors: []string{"nope"}}, false, "dkim", false, "no DKIM key at nope._domainkey.clinic.example"},
		{"DM-04.2 co.uk not aligned", "clinic.co.uk", domain.OrgDomains{DKIMDomain: "attacker.co.uk", DKIMSelectors: []string{"k1"}}, false, "dkim", false, "does not align"},
		{"co.uk aligned with itself", "clinic.co.uk", domain.OrgDomains{DKIMSelectors: []string{"k1"}}, true, "dkim", true, "k1: ok"},
		{"DM-04.1 strict adkim", "news.strict.example", domain.OrgDomains{DKIMDomain: "strict.example", DKIMSelectors: []string{"k1"}}, false, "dkim", false, "does not align"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := c.Check(context.Background(), tt.from, tt.od)
			require.NoError(t, err)
			assert.Equal(t, tt.verified, st.Verified, "%+v", st.Checks)
			ch := check(st, tt.check)
			assert.Equal(t, tt.ok, ch.OK, ch.Reason)
			assert.Contains(t, ch.Reason, tt.reason)
		})
	}
}

// DM-01 test 3: SERVFAIL is "temporary error, retry", never "missing".
func TestServfailIsTemporary(t *testing.T) {
	t.Parallel()
	c, _ := newChecker(t, map[string]domain.OrgDomains{})
	_, err := c.Check(context.Background(), "broken.example", domain.OrgDomains{})
	require.Error(t, err)
	assert.ErrorIs(t, err, domain.ErrTemporary)
	assert.Contains(t, err.Error(), "retry")
}

func TestVerifyDomainPerPurpose(t *testing.T) {
	t.Parallel()
	orgs := map[string]domain.OrgDomains{
		"org_1": {Marketing: "open.example", Transactional: "split.example"},
		"org_2": {Transactional: "split.example"},
	}
	c, z := newChecker(t, orgs)
	var v provider.DomainVerifier = c
	st, err := v.VerifyDomain(context.Background(), "org_1", carecast.Transactional)
	require.NoError(t, err)
	assert.True(t, st.Verified)
	assert.Equal(t, "split.example", st.Domain)
	assert.Equal(t, []string{"dmarc", "spf"}, []string{st.Checks[0].Name, st.Checks[1].Name})

	st, err = v.VerifyDomain(context.Background(), "org_1", carecast.Marketing)
	require.NoError(t, err)
	assert.False(t, st.Verified, "marketing domain has +all")

	_, err = v.VerifyDomain(context.Background(), "org_2", carecast.Marketing)
	assert.ErrorIs(t, err, domain.ErrUnknownOrg)
	_, err = v.VerifyDomain(context.Background(), "org_3", carecast.Transactional)
	assert.ErrorIs(t, err, domain.ErrUnknownOrg)
	z.mu.Lock()
	assert.Contains(t, z.queries, "_dmarc.split.example.")
	z.mu.Unlock()
}

func TestOrgLookup(t *testing.T) {
	t.Parallel()
	z := realWorld(t)
	c, err := domain.New(domain.Config{Resolver: startDNS(t, z), OrgLookup: func(_ context.Context, id string) (domain.OrgDomains, error) {
		if id == "bad" {
			return domain.OrgDomains{}, errors.New("db down")
		}
		return domain.OrgDomains{Transactional: "split.example"}, nil
	}})
	require.NoError(t, err)
	st, err := c.VerifyDomain(context.Background(), "x", carecast.Transactional)
	require.NoError(t, err)
	assert.True(t, st.Verified)
	_, err = c.VerifyDomain(context.Background(), "bad", carecast.Transactional)
	assert.ErrorContains(t, err, "db down")
	_, err = domain.New(domain.Config{})
	assert.ErrorContains(t, err, "Orgs")
}

// DM-04.
func TestAligned(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from, auth string
		strict     bool
		want       bool
	}{
		{"news.clinic.example", "clinic.example", false, true},
		{"news.clinic.example", "clinic.example", true, false},
		{"clinic.co.uk", "attacker.co.uk", false, false},
		{"mail.clinic.co.uk", "clinic.co.uk", false, true},
		{"clinic.com.au", "other.com.au", false, false},
		{"Clinic.Example.", "clinic.example", true, true},
		{"clinic.example", "", false, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, domain.Aligned(tt.from, tt.auth, tt.strict), "%s ~ %s strict=%v", tt.from, tt.auth, tt.strict)
	}
}

func ExampleAligned() {
	fmt.Println(domain.Aligned("news.clinic.example", "clinic.example", false))
	fmt.Println(domain.Aligned("news.clinic.example", "clinic.example", true))
	fmt.Println(domain.Aligned("clinic.co.uk", "attacker.co.uk", false))
	// Output:
	// true
	// false
	// false
}

func ExampleParseDMARC() {
	rec, err := domain.ParseDMARC("v=DMARC1; rua=mailto:d@example.com")
	fmt.Println(rec.Policy, rec.Warnings, err)
	_, err = domain.ParseDMARC("v=DMARC1; p=reject; p=none")
	fmt.Println(err)
	// Output:
	// none [p missing: equivalent to none under RFC 9989, invalid under RFC 7489] <nil>
	// domain: DMARC tag p: duplicate tag
}

// compliance.md EM-07, tests 2 and 3: the bulk-sender verdict.
func TestBulkReadiness(t *testing.T) {
	t.Parallel()
	c, _ := newChecker(t, map[string]domain.OrgDomains{})
	tests := []struct {
		name   string
		from   string
		od     domain.OrgDomains
		ready  bool
		reason string
	}{
		{"EM-07.2 SPF, aligned DKIM, DMARC p=none", "ready.example", domain.OrgDomains{DKIMSelectors: []string{"k1"}}, true, "bulk-ready: yes"},
		{"EM-07.3 ESP signing domain and bounce domain", "ready.example",
			domain.OrgDomains{DKIMDomain: "esp-shared.example", ReturnPathDomain: "bounces.esp.example", DKIMSelectors: []string{"k1"}},
			false, "bulk-ready: no – From not aligned with SPF or DKIM"},
		{"SPF alone aligns", "ready.example", domain.OrgDomains{DKIMDomain: "esp-shared.example", DKIMSelectors: []string{"k1"}}, true, "bulk-ready: yes"},
		{"no DKIM selectors", "ready.example", domain.OrgDomains{}, false, "bulk-ready: no – no DKIM selectors configured"},
		{"unusable key", "clinic.example", domain.OrgDomains{DKIMSelectors: []string{"revoked"}}, false, "bulk-ready: no – DKIM key not usable"},
		{"no DMARC", "nothing.example", domain.OrgDomains{DKIMSelectors: []string{"k1"}}, false, "bulk-ready: no – no valid DMARC record"},
		{"SPF fails", "open.example", domain.OrgDomains{DKIMSelectors: []string{"k1"}}, false, "bulk-ready: no – SPF does not pass"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := c.Check(context.Background(), tt.from, tt.od)
			require.NoError(t, err)
			assert.Equal(t, tt.ready, st.BulkReady, "%+v", st.Checks)
			assert.Equal(t, tt.reason, st.BulkReason)
		})
	}
}
