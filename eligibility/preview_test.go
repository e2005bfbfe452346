package eligibility

import (
	"context"
	"errors"
	"iter"
	"math/rand/v2"
	"testing"

	"github.com/carecast/carecast"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stream yields ps, then err if non-nil.
func stream(ps []carecast.Patient, err error) iter.Seq2[carecast.Patient, error] {
	return func(yield func(carecast.Patient, error) bool) {
		for _, p := range ps {
			if !yield(p, nil) {
				return
			}
		}
		if err != nil {
			yield(carecast.Patient{}, err)
		}
	}
}

func TestPreviewRows(t *testing.T) {
	ps := synthPatients(5000, 3)
	tests := []struct {
		ch       carecast.Channel
		pu       carecast.Purpose
		collapse bool
		labels   []string
	}{
		{carecast.SMS, carecast.Marketing, false, []string{"Will send", "Opted out", "No contact info", "Landline", "Not opted in"}},
		{carecast.SMS, carecast.Transactional, false, []string{"Will send", "Opted out", "No contact info", "Landline"}},
		{carecast.Email, carecast.Marketing, false, []string{"Will send", "Suppressed", "Unsubscribed", "No email", "Not opted in"}},
		{carecast.Email, carecast.Transactional, false, []string{"Will send", "Suppressed", "No email"}},
		{carecast.SMS, carecast.Marketing, true, []string{"Will send", "Shared address", "Opted out", "No contact info", "Landline", "Not opted in"}},
		{carecast.Email, carecast.Transactional, true, []string{"Will send", "Shared address", "Suppressed", "No email"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.ch)+"/"+string(tt.pu), func(t *testing.T) {
			pv, err := BuildPreview(context.Background(), stream(ps, nil), tt.ch, tt.pu, &PreviewOpts{CollapseShared: tt.collapse})
			require.NoError(t, err)
			assert.Equal(t, tt.ch, pv.Channel)
			assert.Equal(t, tt.pu, pv.Purpose)
			assert.Equal(t, len(ps), pv.Total)

			rows := pv.Rows()
			var labels []string
			sum := 0
			for _, row := range rows {
				labels = append(labels, row.Label)
				sum += row.Count
				assert.Positive(t, row.Count, "synthetic data exercises row %q", row.Label)
			}
			assert.Equal(t, tt.labels, labels)
			assert.Equal(t, pv.Total, sum, "rows partition the patients")

			byReason := 0
			for _, n := range pv.ByReason {
				byReason += n
			}
			assert.Equal(t, pv.Total, byReason)
			assert.Equal(t, pv.WillSend, pv.Count(Send))
			assert.Equal(t, pv.Collapsed, pv.Count(SharedAddress))
			assert.Equal(t, pv.Total-pv.WillSend, pv.Skipped())
			assert.Equal(t, tt.collapse, pv.Collapsed > 0)
			if tt.ch == carecast.SMS {
				assert.Equal(t, pv.Count(OptedOut)+pv.Count(Blocked), rows[indexOf(tt.labels, "Opted out")].Count)
				assert.Positive(t, pv.Count(Blocked), "blocked stays distinct in ByReason")
			}

			// The same stream classified one by one gives the same counts.
			var want [NumReasons]int
			for i := range ps {
				want[Classify(&ps[i], tt.ch, tt.pu).Reason]++
			}
			if !tt.collapse {
				assert.Equal(t, want, pv.ByReason)
			} else {
				assert.Equal(t, want[Send], pv.WillSend+pv.Collapsed)
			}
		})
	}
	assert.Nil(t, PreviewReasons("fax", carecast.Marketing, false))
	assert.Equal(t, 0, Preview{}.Count(Reason(99)))
}

func indexOf(ss []string, s string) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}

// TestCollapse checks that families sharing an address get one message,
// that email addresses compare case-insensitively, and that only eligible
// patients take part.
func TestCollapse(t *testing.T) {
	opt := carecast.Consent{SMSMarketingOptIn: true, EmailMarketingOptIn: true}
	ps := []carecast.Patient{
		{ID: "mum", Phone: "+12125550101", Email: "Family@Example.com", Consent: opt},
		{ID: "kid1", Phone: "(212) 555-0101", Email: "family@example.COM", Consent: opt},
		{ID: "kid2", Phone: "+12125550101", Email: "family@example.com", Consent: opt},
		{ID: "gran", Phone: "+12125550101", Email: "family@example.com", Consent: carecast.Consent{SMSOptedOut: true, EmailSuppressed: true}},
		{ID: "other", Phone: "+12125550102", Email: "other@example.com", Consent: opt},
	}
	for _, ch := range []carecast.Channel{carecast.SMS, carecast.Email} {
		t.Run(string(ch), func(t *testing.T) {
			ctx := context.Background()
			opts := &PreviewOpts{CollapseShared: true}
			pv, err := BuildPreview(ctx, stream(ps, nil), ch, carecast.Marketing, opts)
			require.NoError(t, err)
			assert.Equal(t, 2, pv.WillSend)
			assert.Equal(t, 2, pv.Collapsed)
			assert.Equal(t, 5, pv.Total)

			var skips []Skip
			for s, err := range Skipped(ctx, stream(ps, nil), ch, carecast.Marketing, opts) {
				require.NoError(t, err)
				skips = append(skips, s)
			}
			block := OptedOut
			if ch == carecast.Email {
				block = Suppressed
			}
			assert.Equal(t, []Skip{{"kid1", SharedAddress}, {"kid2", SharedAddress}, {"gran", block}}, skips)

			tl, err := NewTally(ch, carecast.Marketing, opts)
			require.NoError(t, err)
			d := tl.Add(&ps[1])
			assert.Equal(t, Send, d.Reason, "first of the family sends")
			d = tl.Add(&ps[0])
			assert.Equal(t, SharedAddress, d.Reason)
			assert.NotEmpty(t, d.Address, "a collapsed decision names the shared address")
			assert.Equal(t, 1, tl.Preview().Collapsed)

			pv, err = BuildPreview(ctx, stream(ps, nil), ch, carecast.Marketing, nil)
			require.NoError(t, err)
			assert.Equal(t, 4, pv.WillSend, "collapse is off by default")
			assert.Zero(t, pv.Collapsed)
		})
	}
}

// TestCollapseCountsAgree checks that BuildPreview's batch duplicate
// count equals the online set a Tally uses, on data with many families.
func TestCollapseCountsAgree(t *testing.T) {
	ps := synthPatients(30000, 9)
	for _, ch := range []carecast.Channel{carecast.SMS, carecast.Email} {
		opts := &PreviewOpts{CollapseShared: true}
		pv, err := BuildPreview(context.Background(), stream(ps, nil), ch, carecast.Transactional, opts)
		require.NoError(t, err)
		tl, err := NewTally(ch, carecast.Transactional, opts)
		require.NoError(t, err)
		for i := range ps {
			tl.Add(&ps[i])
		}
		assert.Equal(t, tl.Preview(), pv, "%s", ch)
		assert.Greater(t, pv.Collapsed, 500, "%s: families present", ch)
	}
}

func TestCountDuplicates(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var hs []uint64
	for range 5000 {
		hs = append(hs, r.Uint64())
	}
	// Same top 32 bits, different low bits, interleaved with duplicates.
	hs = append(hs, 0xAAAA_0000_0000_0001, 0xAAAA_0000_0000_0002, 0xAAAA_0000_0000_0001, 0xAAAA_0000_0000_0003, 0xAAAA_0000_0000_0002)
	hs = append(hs, hs[10], hs[10], hs[20], 0, 0)
	seen := map[uint64]bool{}
	want := 0
	for _, h := range hs {
		if seen[h] {
			want++
		}
		seen[h] = true
	}
	assert.Equal(t, 6, want)
	assert.Equal(t, want, countDuplicates(hs))
	assert.Equal(t, want, countDuplicates(hs), "idempotent after reordering")
	assert.Zero(t, countDuplicates(nil))
}

func TestAddrSet(t *testing.T) {
	var s addrSet
	for i := uint64(0); i < 5000; i++ {
		require.True(t, s.add(i*0x9e3779b97f4a7c15), "first add of %d", i)
	}
	for i := uint64(0); i < 5000; i++ {
		require.False(t, s.add(i*0x9e3779b97f4a7c15), "second add of %d", i)
	}
	assert.Equal(t, 5000, s.n)
	assert.LessOrEqual(t, s.n*4, len(s.slots)*3, "load factor at most 3/4")
	assert.False(t, s.add(1), "zero and one share a slot value")
}

func TestPreviewErrors(t *testing.T) {
	ctx := context.Background()
	ps := synthPatients(3000, 4)

	_, err := BuildPreview(ctx, stream(ps, nil), "fax", carecast.Marketing, nil)
	var ae *ArgError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "channel", ae.Field)
	_, err = BuildPreview(ctx, stream(ps, nil), carecast.SMS, "promo", nil)
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, `eligibility: invalid purpose "promo"`, err.Error())

	boom := errors.New("store: connection reset")
	pv, err := BuildPreview(ctx, stream(ps, boom), carecast.SMS, carecast.Marketing, nil)
	require.ErrorIs(t, err, boom)
	assert.Equal(t, "eligibility: reading patients: store: connection reset", err.Error())
	assert.Zero(t, pv.Total)

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = BuildPreview(canceled, stream(ps, nil), carecast.SMS, carecast.Marketing, nil)
	require.ErrorIs(t, err, context.Canceled)

	// Cancelled mid-stream: the preview stops within ctxCheckEvery patients.
	mid, cancelMid := context.WithCancel(ctx)
	defer cancelMid()
	read := 0
	counting := func(yield func(carecast.Patient, error) bool) {
		for _, p := range ps {
			read++
			if read == 10 {
				cancelMid()
			}
			if !yield(p, nil) {
				return
			}
		}
	}
	_, err = BuildPreview(mid, counting, carecast.SMS, carecast.Marketing, nil)
	require.ErrorIs(t, err, context.Canceled)
	assert.LessOrEqual(t, read, ctxCheckEvery)

	// Skipped reports the same errors as its last element.
	last := func(seq iter.Seq2[Skip, error]) (n int, err error) {
		for _, e := range seq {
			if e != nil {
				return n, e
			}
			n++
		}
		return n, nil
	}
	_, err = last(Skipped(ctx, stream(ps, nil), carecast.SMS, "promo", nil))
	require.ErrorAs(t, err, &ae)
	n, err := last(Skipped(ctx, stream(ps, boom), carecast.SMS, carecast.Marketing, nil))
	require.ErrorIs(t, err, boom)
	pv, _ = BuildPreview(ctx, stream(ps, nil), carecast.SMS, carecast.Marketing, nil)
	assert.Equal(t, pv.Skipped(), n, "all skips before the error")
	_, err = last(Skipped(canceled, stream(ps, nil), carecast.SMS, carecast.Marketing, nil))
	require.ErrorIs(t, err, context.Canceled)
	mid2, cancelMid2 := context.WithCancel(ctx)
	defer cancelMid2()
	mid, cancelMid = mid2, cancelMid2
	read = 0
	_, err = last(Skipped(mid, counting, carecast.SMS, carecast.Marketing, nil))
	require.ErrorIs(t, err, context.Canceled)
	assert.LessOrEqual(t, read, ctxCheckEvery)
}

func TestSkippedStopsEarly(t *testing.T) {
	ps := synthPatients(3000, 8)
	read := 0
	counting := func(yield func(carecast.Patient, error) bool) {
		for _, p := range ps {
			read++
			if !yield(p, nil) {
				return
			}
		}
	}
	var got []Skip
	for s, err := range Skipped(context.Background(), counting, carecast.Email, carecast.Marketing, nil) {
		require.NoError(t, err)
		got = append(got, s)
		if len(got) == 3 {
			break
		}
	}
	assert.Len(t, got, 3)
	assert.Less(t, read, 100, "the stream is abandoned when the consumer stops")
	for _, s := range got {
		assert.NotEqual(t, Send, s.Reason)
		assert.NotEmpty(t, s.PatientID)
	}
}

// TestMalformedDataNeverErrors feeds patients with every kind of broken
// contact data: the preview succeeds and counts them as NoContact.
func TestMalformedDataNeverErrors(t *testing.T) {
	bad := []carecast.Patient{
		{ID: "1", Phone: "☎ 555", Email: "nope", TimeZone: "Not/AZone"},
		{ID: "2", Phone: "+999999999999999999999", Email: "a@b"},
		{ID: "3", Phone: string([]byte{0xff, 0xfe}), Email: string([]byte{'a', '@', 0xff, '.', 'c', 'o'})},
		{ID: "4", Phone: "+1" + string(make([]byte, 300)), Email: "@@@@"},
	}
	for _, ch := range []carecast.Channel{carecast.SMS, carecast.Email} {
		pv, err := BuildPreview(context.Background(), stream(bad, nil), ch, carecast.Transactional, nil)
		require.NoError(t, err)
		assert.Equal(t, len(bad), pv.Count(NoContact), "%s", ch)
	}
}

// AddDecision counts decisions made elsewhere like Add: collapsed by
// address, undefined reasons as NoContact, every patient once.
func TestTallyAddDecision(t *testing.T) {
	tl, err := NewTally(carecast.SMS, carecast.Marketing, &PreviewOpts{CollapseShared: true})
	require.NoError(t, err)
	in := []Decision{
		{Reason: Send, Address: "+12125550100"},
		{Reason: OptedOut},
		{Reason: Send, Address: "+12125550100"},
		{Reason: Send, Address: "+12125550101"},
		{Reason: Reason(200)},
	}
	want := []Reason{Send, OptedOut, SharedAddress, Send, NoContact}
	for i, d := range in {
		assert.Equal(t, want[i], tl.AddDecision(d).Reason, "decision %d", i)
	}
	p := tl.Preview()
	assert.Equal(t, 5, p.Total)
	assert.Equal(t, 2, p.WillSend)
	assert.Equal(t, 1, p.Collapsed)
	assert.Equal(t, 1, p.Count(NoContact))
	assert.Equal(t, 1, p.Count(OptedOut))
}

// An SMS preview with unreachable numbers (Suppressed, from the engine's
// suppression list) shows them on a row of their own.
func TestRowsSMSSuppressed(t *testing.T) {
	tl, err := NewTally(carecast.SMS, carecast.Transactional, nil)
	require.NoError(t, err)
	tl.AddDecision(Decision{Reason: Suppressed})
	tl.AddDecision(Decision{Reason: Send, Address: "+12125550100"})
	rows := tl.Preview().Rows()
	assert.Contains(t, rows, PreviewRow{Reason: Suppressed, Label: "Suppressed", Count: 1})
	total := 0
	for _, r := range rows {
		total += r.Count
	}
	assert.Equal(t, 2, total, "every patient on a row")
	none, err := NewTally(carecast.SMS, carecast.Transactional, nil)
	require.NoError(t, err)
	for _, r := range none.Preview().Rows() {
		assert.NotEqual(t, Suppressed, r.Reason, "no row without suppressed numbers")
	}
}

// Address reads the address Classify would, whatever the consent.
func TestClassifierAddress(t *testing.T) {
	c := &Classifier{Region: "GB"}
	for _, tc := range []struct {
		p    *carecast.Patient
		ch   carecast.Channel
		want string
		ok   bool
	}{
		{&carecast.Patient{Phone: "07911 123456", Consent: carecast.Consent{SMSOptedOut: true}}, carecast.SMS, "+447911123456", true},
		{&carecast.Patient{Phone: "+1 212 555 0100"}, carecast.SMS, "+12125550100", true},
		{&carecast.Patient{Phone: "12"}, carecast.SMS, "", false},
		{&carecast.Patient{Email: "Ann@Example.COM", Consent: carecast.Consent{EmailSuppressed: true}}, carecast.Email, "ann@example.com", true},
		{&carecast.Patient{Email: "nope"}, carecast.Email, "", false},
		{&carecast.Patient{Email: "a@example.com"}, carecast.Channel("fax"), "", false},
		{nil, carecast.SMS, "", false},
	} {
		got, ok := c.Address(tc.p, tc.ch)
		assert.Equal(t, tc.ok, ok, "%+v", tc.p)
		assert.Equal(t, tc.want, got)
		if ok {
			// The address a Send decision carries.
			q := *tc.p
			q.Consent = carecast.Consent{SMSMarketingOptIn: true, EmailMarketingOptIn: true}
			assert.Equal(t, got, c.Classify(&q, tc.ch, carecast.Transactional).Address)
		}
	}
}
