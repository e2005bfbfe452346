package eligibility

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carecast/carecast"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eligible returns a patient every channel and purpose will send to.
func eligible() carecast.Patient {
	return carecast.Patient{
		ID:            "p1",
		Phone:         "+12125550123",
		PhoneLineType: carecast.LineMobile,
		Email:         "ann@example.com",
		Consent: carecast.Consent{
			SMSMarketingOptIn:   true,
			EmailMarketingOptIn: true,
		},
	}
}

// trigger makes reason r apply to p on channel ch (and nothing else).
var trigger = map[carecast.Channel]map[Reason]func(p *carecast.Patient){
	carecast.SMS: {
		NoContact:  func(p *carecast.Patient) { p.Phone = "" },
		Landline:   func(p *carecast.Patient) { p.PhoneLineType = carecast.LineLandline },
		OptedOut:   func(p *carecast.Patient) { p.Consent.SMSOptedOut = true },
		Blocked:    func(p *carecast.Patient) { p.Consent.SMSBlocked = true },
		NotOptedIn: func(p *carecast.Patient) { p.Consent.SMSMarketingOptIn = false },
	},
	carecast.Email: {
		NoContact:    func(p *carecast.Patient) { p.Email = "" },
		Suppressed:   func(p *carecast.Patient) { p.Consent.EmailSuppressed = true },
		Unsubscribed: func(p *carecast.Patient) { p.Consent.EmailUnsubscribed = true },
		NotOptedIn:   func(p *carecast.Patient) { p.Consent.EmailMarketingOptIn = false },
	},
}

// wantPrecedence is the documented table, written out independently of
// the implementation.
var wantPrecedence = []struct {
	ch    carecast.Channel
	pu    carecast.Purpose
	order []Reason
}{
	{carecast.SMS, carecast.Marketing, []Reason{OptedOut, Blocked, NoContact, Landline, NotOptedIn}},
	{carecast.SMS, carecast.Transactional, []Reason{OptedOut, Blocked, NoContact, Landline}},
	{carecast.Email, carecast.Marketing, []Reason{Suppressed, Unsubscribed, NoContact, NotOptedIn}},
	{carecast.Email, carecast.Transactional, []Reason{Suppressed, NoContact}},
}

func TestPrecedenceTable(t *testing.T) {
	for _, w := range wantPrecedence {
		assert.Equal(t, w.order, Precedence(w.ch, w.pu), "%s %s", w.ch, w.pu)
	}
	assert.Nil(t, Precedence("fax", carecast.Marketing))
	assert.Equal(t, Precedence(carecast.SMS, carecast.Marketing), Precedence(carecast.SMS, "bogus"), "undefined purpose is marketing")
	p := Precedence(carecast.SMS, carecast.Marketing)
	p[0] = Send
	assert.Equal(t, OptedOut, Precedence(carecast.SMS, carecast.Marketing)[0], "Precedence returns a copy")
}

// TestPrecedencePairs generates every pair of competing reasons for every
// channel and purpose (and, for good measure, every larger combination),
// applies them to an otherwise eligible patient and checks that the
// decision is the one ranked higher in the documented table.
func TestPrecedencePairs(t *testing.T) {
	for _, w := range wantPrecedence {
		var all []Reason
		for r := range trigger[w.ch] {
			all = append(all, r)
		}
		slices.Sort(all)
		pairs := 0
		for mask := 1; mask < 1<<len(all); mask++ {
			var set []Reason
			for i, r := range all {
				if mask&(1<<i) != 0 {
					set = append(set, r)
				}
			}
			p := eligible()
			for _, r := range set {
				trigger[w.ch][r](&p)
			}
			want := Send
			for _, r := range w.order {
				if slices.Contains(set, r) {
					want = r
					break
				}
			}
			if len(set) == 2 {
				pairs++
			}
			name := fmt.Sprintf("%s/%s/%v", w.ch, w.pu, set)
			d := Classify(&p, w.ch, w.pu)
			assert.Equal(t, want, d.Reason, name)
			assert.Equal(t, want == Send, d.Address != "", "%s: address only on Send", name)
		}
		n := len(all)
		assert.Equal(t, n*(n-1)/2, pairs, "%s %s: every pair generated", w.ch, w.pu)
	}
}

// TestPrecedenceDocumented checks that doc.go's precedence table lists the
// same order as Precedence, column by column.
func TestPrecedenceDocumented(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	cols := make([][]string, 4)
	rank := regexp.MustCompile(`^//\s+(\d)\s+(.*)$`)
	for _, line := range strings.Split(string(src), "\n") {
		m := rank.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for i, f := range strings.Fields(m[2]) {
			cols[i] = append(cols[i], f)
		}
	}
	for i, w := range wantPrecedence {
		var names []string
		for _, r := range Precedence(w.ch, w.pu) {
			names = append(names, reasonConstName[r])
		}
		assert.Equal(t, names, cols[i], "doc.go column %d (%s %s)", i, w.ch, w.pu)
	}
}

var reasonConstName = map[Reason]string{
	Send: "Send", NoContact: "NoContact", Landline: "Landline", OptedOut: "OptedOut",
	Blocked: "Blocked", NotOptedIn: "NotOptedIn", Suppressed: "Suppressed",
	Unsubscribed: "Unsubscribed", SharedAddress: "SharedAddress",
}

func TestClassifyCases(t *testing.T) {
	mod := func(f func(p *carecast.Patient)) carecast.Patient {
		p := eligible()
		f(&p)
		return p
	}
	tests := []struct {
		name string
		p    carecast.Patient
		ch   carecast.Channel
		pu   carecast.Purpose
		want Decision
	}{
		{"sms send", eligible(), carecast.SMS, carecast.Marketing, Decision{Send, "+12125550123"}},
		{"email send", eligible(), carecast.Email, carecast.Marketing, Decision{Send, "ann@example.com"}},
		{"national number read as US", mod(func(p *carecast.Patient) { p.Phone = "(212) 555-0123" }), carecast.SMS, carecast.Transactional, Decision{Send, "+12125550123"}},
		{"spaces trimmed", mod(func(p *carecast.Patient) { p.Phone = " +12125550123\t" }), carecast.SMS, carecast.Transactional, Decision{Send, "+12125550123"}},
		{"invalid area code", mod(func(p *carecast.Patient) { p.Phone = "+11235550123" }), carecast.SMS, carecast.Transactional, Decision{Reason: NoContact}},
		{"garbage phone", mod(func(p *carecast.Patient) { p.Phone = "call me" }), carecast.SMS, carecast.Transactional, Decision{Reason: NoContact}},
		{"too short", mod(func(p *carecast.Patient) { p.Phone = "555-0123" }), carecast.SMS, carecast.Transactional, Decision{Reason: NoContact}},
		{"UK mobile E.164", mod(func(p *carecast.Patient) { p.Phone = "+447911123456" }), carecast.SMS, carecast.Transactional, Decision{Send, "+447911123456"}},
		{"voip textable", mod(func(p *carecast.Patient) { p.PhoneLineType = carecast.LineVoIP }), carecast.SMS, carecast.Transactional, Decision{Send, "+12125550123"}},
		{"unknown line textable", mod(func(p *carecast.Patient) { p.PhoneLineType = carecast.LineUnknown }), carecast.SMS, carecast.Transactional, Decision{Send, "+12125550123"}},
		{"invalid landline is no contact", mod(func(p *carecast.Patient) { p.Phone = "x"; p.PhoneLineType = carecast.LineLandline }), carecast.SMS, carecast.Transactional, Decision{Reason: NoContact}},
		{"transactional ignores sms opt-in", mod(func(p *carecast.Patient) { p.Consent.SMSMarketingOptIn = false }), carecast.SMS, carecast.Transactional, Decision{Send, "+12125550123"}},
		{"transactional respects STOP", mod(func(p *carecast.Patient) { p.Consent.SMSOptedOut = true }), carecast.SMS, carecast.Transactional, Decision{Reason: OptedOut}},
		{"transactional respects clinic block", mod(func(p *carecast.Patient) { p.Consent.SMSBlocked = true }), carecast.SMS, carecast.Transactional, Decision{Reason: Blocked}},
		{"transactional ignores unsubscribe", mod(func(p *carecast.Patient) { p.Consent.EmailUnsubscribed = true }), carecast.Email, carecast.Transactional, Decision{Send, "ann@example.com"}},
		{"transactional respects suppression", mod(func(p *carecast.Patient) { p.Consent.EmailSuppressed = true }), carecast.Email, carecast.Transactional, Decision{Reason: Suppressed}},
		{"email consent irrelevant to sms", mod(func(p *carecast.Patient) { p.Consent.EmailSuppressed = true; p.Email = "" }), carecast.SMS, carecast.Marketing, Decision{Send, "+12125550123"}},
		{"sms consent irrelevant to email", mod(func(p *carecast.Patient) { p.Consent.SMSOptedOut = true; p.PhoneLineType = carecast.LineLandline }), carecast.Email, carecast.Marketing, Decision{Send, "ann@example.com"}},
		{"bad email", mod(func(p *carecast.Patient) { p.Email = "ann at example.com" }), carecast.Email, carecast.Transactional, Decision{Reason: NoContact}},
		{"email lower-cased", mod(func(p *carecast.Patient) { p.Email = "Ann@Example.COM" }), carecast.Email, carecast.Transactional, Decision{Send, "ann@example.com"}},
		{"unknown time zone ignored", mod(func(p *carecast.Patient) { p.TimeZone = "Mars/Olympus_Mons" }), carecast.SMS, carecast.Marketing, Decision{Send, "+12125550123"}},
		{"undefined purpose is marketing", mod(func(p *carecast.Patient) { p.Consent.SMSMarketingOptIn = false }), carecast.SMS, "promo", Decision{Reason: NotOptedIn}},
		{"undefined channel", eligible(), "fax", carecast.Transactional, Decision{Reason: NoContact}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Classify(&tt.p, tt.ch, tt.pu)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.want.Reason == Send, got.WillSend())
			// With the address normalised beforehand, the same decision.
			var c *Classifier
			addr, ok := c.Address(&tt.p, tt.ch)
			assert.Equal(t, tt.want, c.ClassifyAt(&tt.p, tt.ch, tt.pu, addr, ok))
		})
	}
	assert.Equal(t, Decision{Reason: NoContact}, Classify(nil, carecast.SMS, carecast.Transactional))
}

func TestClassifierRegion(t *testing.T) {
	p := eligible()
	p.Phone = "07911 123456" // UK national format
	assert.Equal(t, NoContact, Classify(&p, carecast.SMS, carecast.Transactional).Reason, "not a US number")

	c, err := NewClassifier(&carecast.Organization{PhoneRegion: "GB"})
	require.NoError(t, err)
	assert.Equal(t, Decision{Send, "+447911123456"}, c.Classify(&p, carecast.SMS, carecast.Transactional))
	lower := &Classifier{Region: "gb"}
	assert.Equal(t, Decision{Send, "+447911123456"}, lower.Classify(&p, carecast.SMS, carecast.Transactional))

	c, err = NewClassifier(nil)
	require.NoError(t, err)
	assert.Equal(t, "US", c.region())

	_, err = NewClassifier(&carecast.Organization{PhoneRegion: "XX"})
	var ae *ArgError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "Classifier.Region", ae.Field)
	assert.Equal(t, `eligibility: invalid Classifier.Region "XX"`, err.Error())

	bad := &Classifier{Region: "XX"}
	assert.Equal(t, NoContact, bad.Classify(&p, carecast.SMS, carecast.Transactional).Reason)
	p.Phone = "+12125550123"
	assert.Equal(t, Send, bad.Classify(&p, carecast.SMS, carecast.Transactional).Reason, "E.164 needs no region")
}

func TestClassifyAllocs(t *testing.T) {
	p := eligible()
	c := &Classifier{Region: "US"}
	for _, ch := range []carecast.Channel{carecast.SMS, carecast.Email} {
		n := testing.AllocsPerRun(100, func() {
			_ = c.Classify(&p, ch, carecast.Marketing)
		})
		assert.Zero(t, n, "%s allocations", ch)
	}
}

// TestClassifyConcurrent classifies from several goroutines sharing one
// Classifier and checks every decision (the race detector checks the
// rest).
func TestClassifyConcurrent(t *testing.T) {
	ps := synthPatients(2000, 21)
	c := &Classifier{}
	want := make([]Decision, len(ps))
	for i := range ps {
		want[i] = c.Classify(&ps[i], carecast.SMS, carecast.Marketing)
	}
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			for i := g; i < len(ps); i += 4 {
				if got := c.Classify(&ps[i], carecast.SMS, carecast.Marketing); got != want[i] {
					errs <- fmt.Errorf("patient %s: %v, want %v", ps[i].ID, got, want[i])
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		require.NoError(t, <-errs)
	}
}

// TestNormalizePhoneIdempotent: a normalised number normalises to itself.
// phonenumbers accepts the US national "3100000" but rejects its own E.164
// form "+13100000"; such a number must not be accepted at all.
func TestNormalizePhoneIdempotent(t *testing.T) {
	for _, raw := range []string{"3100000", "+13100000", "(212) 555-0123", "+44 20 7946 0958", "020 7946 0958"} {
		got, ok := NormalizePhone(raw, "US")
		if !ok {
			continue
		}
		again, ok2 := NormalizePhone(got, "US")
		if !ok2 || again != got {
			t.Errorf("NormalizePhone(%q) = %q, but normalising that gives %q, %v", raw, got, again, ok2)
		}
	}
	if _, ok := NormalizePhone("3100000", "US"); ok {
		t.Error("a 7-digit US number must not normalise")
	}
}

// compliance.md HI-06, test 2: with RequireAuthorization, a patient
// without a HIPAA marketing authorization is NoAuthorization, after every
// other reason; the preview shows the row.
func TestRequireAuthorization(t *testing.T) {
	c := &Classifier{RequireAuthorization: true}
	authorized := carecast.Patient{ID: "a", Phone: "+12125550100", Email: "a@example.com",
		Consent: carecast.Consent{SMSMarketingOptIn: true, EmailMarketingOptIn: true, HIPAAMarketingAuthorization: true}}
	unauthorized := authorized
	unauthorized.Consent.HIPAAMarketingAuthorization = false
	optedOut := unauthorized
	optedOut.Consent.SMSOptedOut = true
	for _, ch := range []carecast.Channel{carecast.SMS, carecast.Email} {
		for _, pu := range []carecast.Purpose{carecast.Marketing, carecast.Transactional} {
			assert.Equal(t, Send, c.Classify(&authorized, ch, pu).Reason)
			assert.Equal(t, NoAuthorization, c.Classify(&unauthorized, ch, pu).Reason)
			assert.Equal(t, Send, (&Classifier{}).Classify(&unauthorized, ch, pu).Reason, "only when required")
		}
	}
	assert.Equal(t, OptedOut, c.Classify(&optedOut, carecast.SMS, carecast.Marketing).Reason, "the other reasons come first")

	all := func(yield func(carecast.Patient, error) bool) {
		for _, p := range []carecast.Patient{authorized, unauthorized, optedOut} {
			if !yield(p, nil) {
				return
			}
		}
	}
	pv, err := BuildPreview(context.Background(), all, carecast.SMS, carecast.Marketing, &PreviewOpts{Classifier: c})
	require.NoError(t, err)
	assert.Equal(t, 1, pv.WillSend)
	assert.Equal(t, 1, pv.Count(NoAuthorization))
	rows := pv.Rows()
	assert.Equal(t, PreviewRow{Reason: NoAuthorization, Label: "No authorization", Count: 1}, rows[len(rows)-1])
}

// compliance.md SM-01: with RequirePEWC a marketing text needs complete
// written consent naming the current number. Test 1: informational consent
// only → no_pewc; test 2: evidence without a disclosure version is not
// valid; test 3: consent to an old number does not carry over.
func TestRequirePEWC(t *testing.T) {
	c := &Classifier{RequirePEWC: true}
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	valid := func(phone string) *carecast.ConsentEvidence {
		return &carecast.ConsentEvidence{Phone: phone, At: at, Source: "web_form", DisclosureVersion: "pewc-v3", IP: "203.0.113.9"}
	}
	base := carecast.Patient{ID: "a", Phone: "+12125550100", Consent: carecast.Consent{SMSMarketingOptIn: true, SMSMarketingConsent: valid("(212) 555-0100")}}
	informational := base
	informational.Consent = carecast.Consent{} // informational texts only
	noDisclosure := base
	noDisclosure.Consent.SMSMarketingConsent = &carecast.ConsentEvidence{Phone: "+12125550100", At: at, Source: "paper"}
	newNumber := base
	newNumber.Phone = "+12125550199"
	optedOut := informational
	optedOut.Consent.SMSOptedOut = true

	for name, tt := range map[string]struct {
		p    carecast.Patient
		want Reason
	}{
		"complete, national format of the same number": {base, Send},
		"1 informational consent only":                 {informational, NoPEWC},
		"2 no disclosure version":                      {noDisclosure, NoPEWC},
		"3 the number changed":                         {newNumber, NoPEWC},
		"STOP still comes first":                       {optedOut, OptedOut},
	} {
		assert.Equal(t, tt.want, c.Classify(&tt.p, carecast.SMS, carecast.Marketing).Reason, name)
		assert.Equal(t, Send, (&Classifier{}).Classify(&base, carecast.SMS, carecast.Marketing).Reason, name)
	}
	assert.Equal(t, Send, c.Classify(&informational, carecast.SMS, carecast.Transactional).Reason, "informational texts need no PEWC")
	assert.Equal(t, NotOptedIn, (&Classifier{}).Classify(&informational, carecast.SMS, carecast.Marketing).Reason, "without RequirePEWC")
	email := informational
	email.Email, email.Consent.EmailMarketingOptIn = "a@example.com", true
	assert.Equal(t, Send, c.Classify(&email, carecast.Email, carecast.Marketing).Reason, "email is not a text")

	err := noDisclosure.Consent.SMSMarketingConsent.Validate()
	require.ErrorIs(t, err, carecast.ErrConsentEvidence)
	var ce *carecast.ConsentEvidenceError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, []string{"DisclosureVersion"}, ce.Missing)
	assert.NotContains(t, err.Error(), "555")

	all := func(yield func(carecast.Patient, error) bool) {
		for _, p := range []carecast.Patient{base, informational, newNumber} {
			if !yield(p, nil) {
				return
			}
		}
	}
	pv, err := BuildPreview(context.Background(), all, carecast.SMS, carecast.Marketing, &PreviewOpts{Classifier: c})
	require.NoError(t, err)
	assert.Equal(t, 2, pv.Count(NoPEWC))
	var labels []string
	for _, r := range pv.Rows() {
		labels = append(labels, r.Label)
	}
	assert.Contains(t, labels, "No written consent")
	assert.NotContains(t, labels, "Not opted in", "the PEWC row replaces it")
}

// compliance.md HI-07: a confidential-communication request overrides the
// campaign's channel (test 1) and rules out an address (test 2), for
// transactional messages too.
func TestConfidentialCommunication(t *testing.T) {
	c := &Classifier{}
	emailOnly := carecast.Patient{ID: "a", Phone: "+12125550100", Email: "a@example.com",
		Consent: carecast.Consent{SMSMarketingOptIn: true, EmailMarketingOptIn: true, ConfidentialChannels: []carecast.Channel{carecast.Email}}}
	notHome := carecast.Patient{ID: "b", Phone: "+12125550101", Email: "b@example.com",
		Consent: carecast.Consent{SMSMarketingOptIn: true, DoNotContact: []string{"(212) 555-0101", "OLD@example.com"}}}
	for _, pu := range []carecast.Purpose{carecast.Marketing, carecast.Transactional} {
		assert.Equal(t, Confidential, c.Classify(&emailOnly, carecast.SMS, pu).Reason, "1 no texts")
		assert.Equal(t, Send, c.Classify(&emailOnly, carecast.Email, pu).Reason, "1 email allowed")
		assert.Equal(t, Confidential, c.Classify(&notHome, carecast.SMS, pu).Reason, "2 the home number, in national format")
		assert.Equal(t, Send, c.Classify(&notHome, carecast.Email, carecast.Transactional).Reason, "2 other addresses are fine")
	}
	moved := notHome
	moved.Email = "old@example.com"
	assert.Equal(t, Confidential, c.Classify(&moved, carecast.Email, carecast.Transactional).Reason, "emails compare normalised")

	all := func(yield func(carecast.Patient, error) bool) {
		for _, p := range []carecast.Patient{emailOnly, notHome} {
			if !yield(p, nil) {
				return
			}
		}
	}
	pv, err := BuildPreview(context.Background(), all, carecast.SMS, carecast.Transactional, &PreviewOpts{Classifier: c})
	require.NoError(t, err)
	rows := pv.Rows()
	assert.Equal(t, PreviewRow{Reason: Confidential, Label: "Confidential request", Count: 2}, rows[len(rows)-1], "the row shows when it counts")
}
