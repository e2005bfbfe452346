package blast_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasttest"
	"github.com/carecast/carecast/eligibility"
	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/store"
)

// ledgerCounts returns the ledger's rows of a finished blast by the
// reason the preview would count them under: Send for every row not
// skipped, the skip reason otherwise.
func ledgerCounts(t testing.TB, h *blasttest.Harness, blastID string) [eligibility.NumReasons]int {
	t.Helper()
	st, err := h.Store.Stats(ctx, org, blastID)
	require.NoError(t, err)
	var out [eligibility.NumReasons]int
	out[eligibility.Send] = st.Total() - st.ByStatus[store.RowSkipped]
	for name, n := range st.SkippedBy {
		r, err := eligibility.ParseReason(name)
		require.NoError(t, err, "skip reason %q", name)
		out[r] += n
	}
	return out
}

// issue 13 §3: after a STOP whose flag the host lost (the store keeps the
// suppression, the patient record says nothing), the preview said "Will
// send 2" and the send delivered 1.
func TestPreviewAppliesSuppressionList(t *testing.T) {
	h, everyone := setup(t, population(2, nil), nil)
	require.NoError(t, h.Store.Suppress(ctx, store.Suppression{OrgID: org, Channel: carecast.SMS, Address: phone(0), Reason: "opted_out", At: h.Clock.Now()}))
	b, err := h.Engine.CreateDraft(ctx, org, smsDraft("Open late Thursday", carecast.Transactional, everyone.ID))
	require.NoError(t, err)
	pv, err := h.Engine.Preview(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, pv.WillSend, "Will send")
	assert.Equal(t, 1, pv.Count(eligibility.OptedOut), "Opted out")
	est, err := h.Engine.Estimate(ctx, org, b.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, est.Recipients, "estimate")
	_, err = h.Engine.Send(ctx, org, b.ID, nil)
	require.NoError(t, err)
	sum := h.Run(t, org, b.ID)
	assert.Equal(t, 1, sum.Sent)
	assert.Equal(t, pv.ByReason, ledgerCounts(t, h, b.ID))
	blasttest.RequireNotSent(t, h.SMS, phone(0))
}

// issue 13 §3: the guide files a spam complaint under Suppressed ("bounced
// or been marked as spam"), whether or not the host kept the record of
// it (the engine unsubscribes the patient in the host's record and
// suppresses the address in its own list).
func TestComplaintIsSuppressed(t *testing.T) {
	for _, kept := range []bool{true, false} {
		t.Run(fmt.Sprintf("host kept the record=%t", kept), func(t *testing.T) {
			ps := population(2, nil)
			h, everyone := setup(t, ps, nil)
			_, sum := sendAndRun(t, h, emailDraft(carecast.Marketing, everyone.ID))
			require.Equal(t, 2, sum.Sent)
			msgs := append(blasttest.RequireSent(t, h.Email, email(0)), blasttest.RequireSent(t, h.Email, email(1))...)
			for i, m := range msgs {
				res, err := h.Engine.HandleEvent(ctx, provider.Event{ID: fmt.Sprintf("complaint-%d", i), Kind: provider.EventComplaint,
					ProviderMessageID: m.ProviderMessageID, At: h.Clock.Now()})
				require.NoError(t, err)
				require.Equal(t, blast.EventApplied, res)
			}
			if !kept {
				h.Patients.Put(org, ps...) // the host lost the unsubscribe
			}
			d := emailDraft(carecast.Marketing, everyone.ID)
			d.Email.Subject = "More news"
			b, err := h.Engine.CreateDraft(ctx, org, d)
			require.NoError(t, err)
			pv, err := h.Engine.Preview(ctx, org, b.ID)
			require.NoError(t, err)
			assert.Equal(t, 2, pv.Count(eligibility.Suppressed), "preview Suppressed")
			assert.Equal(t, 0, pv.Count(eligibility.Unsubscribed), "preview Unsubscribed")
			_, err = h.Engine.Send(ctx, org, b.ID, nil)
			require.NoError(t, err)
			sum = h.Run(t, org, b.ID)
			assert.Equal(t, 0, sum.Sent)
			got := ledgerCounts(t, h, b.ID)
			assert.Equal(t, 2, got[eligibility.Suppressed], "ledger suppressed")
			assert.Equal(t, 0, got[eligibility.Unsubscribed], "ledger unsubscribed")
		})
	}
}

// issue 13 §3: patients sharing one phone got one text each. A marketing
// blast (by default) sends the household one; the others are
// shared_address in the preview, the estimate and the ledger alike.
func TestHouseholdsShareOneText(t *testing.T) {
	const family = "+12125550999"
	ps := population(5, func(i int, p *carecast.Patient) {
		if i < 3 {
			p.Phone = family
		}
	})
	for _, tc := range []struct {
		name       string
		pu         carecast.Purpose
		households blast.Households
		toFamily   int
	}{
		{"marketing default", carecast.Marketing, blast.HouseholdsDefault, 1},
		{"transactional default", carecast.Transactional, blast.HouseholdsDefault, 3},
		{"marketing each", carecast.Marketing, blast.HouseholdsEach, 3},
		{"transactional one", carecast.Transactional, blast.HouseholdsOne, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, everyone := setup(t, ps, nil)
			d := smsDraft("Flu shots this week", tc.pu, everyone.ID)
			d.Households = tc.households
			b, err := h.Engine.CreateDraft(ctx, org, d)
			require.NoError(t, err)
			got, err := h.Engine.Get(ctx, org, b.ID)
			require.NoError(t, err)
			assert.Equal(t, tc.households, got.Households, "stored")
			pv, err := h.Engine.Preview(ctx, org, b.ID)
			require.NoError(t, err)
			assert.Equal(t, 2+tc.toFamily, pv.WillSend)
			assert.Equal(t, 3-tc.toFamily, pv.Count(eligibility.SharedAddress))
			est, err := h.Engine.Estimate(ctx, org, b.ID)
			require.NoError(t, err)
			assert.Equal(t, pv.WillSend, est.Recipients, "estimate")
			_, err = h.Engine.Send(ctx, org, b.ID, nil)
			require.NoError(t, err)
			h.Run(t, org, b.ID)
			assert.Len(t, h.SMS.SentTo(family), tc.toFamily)
			assert.Equal(t, pv.ByReason, ledgerCounts(t, h, b.ID))
		})
	}
}

func TestHouseholdsInvalid(t *testing.T) {
	h, everyone := setup(t, population(1, nil), nil)
	d := smsDraft("Hi", carecast.Marketing, everyone.ID)
	d.Households = "some"
	_, err := h.Engine.CreateDraft(ctx, org, d)
	require.ErrorIs(t, err, blast.ErrInvalid)
	assert.Equal(t, "Households", problem(t, err, blast.ProblemHouseholds).Field)
}

// issue 13 §3: "Send to N patients" counted patients Add Recipients would
// skip (it said 3 when 2 would be texted).
func TestNewRecipientsCountsWillSend(t *testing.T) {
	h, everyone := setup(t, population(2, nil), nil)
	b, _ := sendAndRun(t, h, smsDraft("Open late Thursday", carecast.Transactional, everyone.ID))
	late := population(6, func(i int, p *carecast.Patient) {
		if i == 4 {
			p.Consent.SMSOptedOut = true
		}
	})[2:]
	h.Patients.Put(org, late...)
	ids := []string{"p00000", late[0].ID, late[1].ID, late[2].ID, late[3].ID, "nobody"}
	pv, err := h.Engine.NewRecipients(ctx, org, b.ID, ids)
	require.NoError(t, err)
	assert.Equal(t, 4, pv.Total, "new patients")
	assert.Equal(t, 3, pv.WillSend, "will send")
	assert.Equal(t, 1, pv.Skipped())
	assert.Equal(t, 1, pv.Count(eligibility.OptedOut))
	assert.Equal(t, "Send to 3 patients", blast.SendLabel(pv.WillSend))
	added, err := h.Engine.AddRecipients(ctx, org, b.ID, ids, nil)
	require.NoError(t, err)
	assert.Equal(t, 4, added, "rows written")
	sum := h.Run(t, org, b.ID)
	assert.Equal(t, 2+pv.WillSend, sum.Sent)
}

// issue 13 §3, the property: for random audiences (shared and malformed
// phones and emails, random consent flags), random suppression lists,
// channels, purposes, HIPAA bases and household options, the preview's
// count per reason equals the ledger's after Send, and the estimate
// prices the preview's Will send; then for random patients added, the
// NewRecipients counts equal the rows AddRecipients writes.
func TestPreviewEqualsLedgerProperty(t *testing.T) {
	const cases = 300
	rng := rand.New(rand.NewPCG(13, 3))
	phones := []string{"+12125550101", "+12125550102", "+12125550103", "2125550104", "", "12"}
	emails := []string{"a@example.com", "B@example.com", "b@example.com", "c@example.com", "", "not-an-email"}
	smsReasons := []string{"opted_out", "unreachable", "bounce"}
	emailReasons := []string{"bounce", "soft_bounce", "complaint", "unsubscribed", "opted_out"}
	households := []blast.Households{blast.HouseholdsDefault, blast.HouseholdsOne, blast.HouseholdsEach}
	coin := func() bool { return rng.IntN(3) == 0 }
	var seen [eligibility.NumReasons]int // over all cases: the property saw every reason
	for c := range cases {
		n, more := 1+rng.IntN(10), rng.IntN(4)
		all := population(n+more, func(i int, p *carecast.Patient) {
			p.Phone, p.Email = phones[rng.IntN(len(phones))], emails[rng.IntN(len(emails))]
			cs := &p.Consent
			cs.SMSOptedOut, cs.SMSBlocked, cs.SMSMarketingOptIn = coin(), coin(), !coin()
			cs.EmailSuppressed, cs.EmailUnsubscribed, cs.EmailMarketingOptIn = coin(), coin(), !coin()
			if coin() {
				p.PhoneLineType = carecast.LineLandline
			}
			if rng.IntN(8) == 0 {
				cs.ConfidentialChannels = []carecast.Channel{carecast.Email}
			}
			cs.HIPAAMarketingAuthorization = !coin()
		})
		ps, late := all[:n], all[n:]
		pewc := rng.IntN(6) == 0
		h, everyone := setup(t, ps, &blasttest.Options{Config: func(c *blast.Config) { c.RequirePEWC = pewc }})
		for _, a := range phones[:4] {
			if coin() {
				addr, _ := eligibility.NormalizePhone(a, "US")
				require.NoError(t, h.Store.Suppress(ctx, store.Suppression{OrgID: org, Channel: carecast.SMS, Address: addr,
					Reason: smsReasons[rng.IntN(len(smsReasons))], At: h.Clock.Now()}))
			}
		}
		for _, a := range emails[:4] {
			if coin() {
				addr, _ := eligibility.NormalizeEmail(a)
				require.NoError(t, h.Store.Suppress(ctx, store.Suppression{OrgID: org, Channel: carecast.Email, Address: addr,
					Reason: emailReasons[rng.IntN(len(emailReasons))], At: h.Clock.Now()}))
			}
		}
		pu := carecast.Marketing
		if coin() {
			pu = carecast.Transactional
		}
		d := smsDraft("Hello {{first_name}}", pu, everyone.ID)
		if rng.IntN(2) == 0 {
			d = emailDraft(pu, everyone.ID)
		}
		d.Households = households[rng.IntN(len(households))]
		if pu == carecast.Marketing && coin() {
			d.HIPAABasis = blast.BasisAuthorizedMarketing
		}
		b, err := h.Engine.CreateDraft(ctx, org, d)
		require.NoError(t, err)
		pv, err := h.Engine.Preview(ctx, org, b.ID)
		require.NoError(t, err)
		est, err := h.Engine.Estimate(ctx, org, b.ID)
		require.NoError(t, err)
		_, err = h.Engine.Send(ctx, org, b.ID, nil)
		require.NoError(t, err)
		h.Run(t, org, b.ID)
		got := ledgerCounts(t, h, b.ID)
		desc := fmt.Sprintf("case %d: %s %s households=%q basis=%q pewc=%t, %d patients", c, d.Channel, pu, d.Households, d.HIPAABasis, pewc, n)
		require.Equal(t, pv.ByReason, got, desc)
		require.Equal(t, pv.WillSend, est.Recipients, desc)
		require.Equal(t, n, pv.Total, desc)

		h.Patients.Put(org, late...)
		ids := make([]string, 0, more+1)
		for _, p := range late {
			ids = append(ids, p.ID)
		}
		ids = append(ids, ps[0].ID) // already in the blast: not counted
		add, err := h.Engine.NewRecipients(ctx, org, b.ID, ids)
		require.NoError(t, err, desc)
		require.Equal(t, more, add.Total, desc)
		added, err := h.Engine.AddRecipients(ctx, org, b.ID, ids, nil)
		require.NoError(t, err, desc)
		require.Equal(t, more, added, desc)
		h.Run(t, org, b.ID)
		got = ledgerCounts(t, h, b.ID)
		for r := range got {
			got[r] -= pv.ByReason[r]
		}
		require.Equal(t, add.ByReason, got, desc+": added")
		for r, k := range pv.ByReason {
			seen[r] += k
		}
	}
	for _, r := range eligibility.Reasons() {
		assert.Positive(t, seen[r], "no case decided %s", r)
	}
	t.Logf("decisions over %d cases: %v", cases, seen)
}

// Households hold for Add Recipients too: a patient added to a marketing
// blast who shares the phone of a patient it already texted (or of
// another patient added with them) gets no second text; with
// HouseholdsEach they each get theirs.
func TestHouseholdsAddRecipients(t *testing.T) {
	for _, tc := range []struct {
		households blast.Households
		toFamily   int
	}{{blast.HouseholdsDefault, 1}, {blast.HouseholdsEach, 3}} {
		t.Run(fmt.Sprintf("households=%q", tc.households), func(t *testing.T) {
			h, everyone := setup(t, population(2, nil), nil)
			d := smsDraft("Flu shots this week", carecast.Marketing, everyone.ID)
			d.Households = tc.households
			b, _ := sendAndRun(t, h, d)
			late := population(5, func(i int, p *carecast.Patient) { p.Phone = phone(0) })[2:4]
			h.Patients.Put(org, late...)
			ids := []string{late[0].ID, late[1].ID}
			pv, err := h.Engine.NewRecipients(ctx, org, b.ID, ids)
			require.NoError(t, err)
			assert.Equal(t, tc.toFamily-1, pv.WillSend)
			assert.Equal(t, 3-tc.toFamily, pv.Count(eligibility.SharedAddress))
			added, err := h.Engine.AddRecipients(ctx, org, b.ID, ids, nil)
			require.NoError(t, err)
			assert.Equal(t, 2, added)
			h.Run(t, org, b.ID)
			assert.Len(t, h.SMS.SentTo(phone(0)), tc.toFamily)
			got := ledgerCounts(t, h, b.ID)
			assert.Equal(t, 3-tc.toFamily, got[eligibility.SharedAddress], "ledger")
		})
	}
}

// BenchmarkPreview measures Engine.Preview over 100,000 patients on
// memstore, one in ten sharing a phone with the previous patient and one
// in fifty suppressed in the store: the cost of deciding the preview as
// the ledger writer does (suppression lookups per batch, households).
func BenchmarkPreview(b *testing.B) {
	const n = 100_000
	ps := population(n, func(i int, p *carecast.Patient) {
		if i%10 == 1 {
			p.Phone = phone(i - 1)
		}
	})
	h, everyone := setup(b, ps, nil)
	for i := 0; i < n; i += 50 {
		require.NoError(b, h.Store.Suppress(ctx, store.Suppression{OrgID: org, Channel: carecast.SMS, Address: phone(i), Reason: "opted_out", At: h.Clock.Now()}))
	}
	d, err := h.Engine.CreateDraft(ctx, org, smsDraft("Flu shots this week", carecast.Marketing, everyone.ID))
	require.NoError(b, err)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		pv, err := h.Engine.Preview(ctx, org, d.ID)
		if err != nil || pv.Total != n || pv.Count(eligibility.SharedAddress) == 0 || pv.Count(eligibility.OptedOut) == 0 {
			b.Fatalf("preview %+v, %v", pv, err)
		}
	}
}
