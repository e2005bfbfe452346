package render

import (
	"context"
	"errors"
	"iter"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
)

func mustCompile(t testing.TB, body string) *SMSTemplate {
	t.Helper()
	st, err := CompileSMS(SMSContent{Body: body}, carecast.Transactional, smsOrg())
	require.NoError(t, err)
	return st
}

func patients(ps ...carecast.Patient) iter.Seq2[carecast.Patient, error] {
	return func(yield func(carecast.Patient, error) bool) {
		for _, p := range ps {
			if !yield(p, nil) {
				return
			}
		}
	}
}

func TestEstimateSMSExact(t *testing.T) {
	// 140 literal characters + first name: short names fit one segment,
	// long ones need two, and a non-GSM name turns the text into UCS-2.
	st := mustCompile(t, rep("a", 140)+" {{first_name}}")
	ps := []carecast.Patient{
		{ID: "p1", FirstName: "Ann"},                     // 144: 1 segment
		{ID: "p2", FirstName: "Bartholomew-Christopher"}, // 164: 2 segments
		{ID: "p3", FirstName: "Zoë"},                     // UCS-2, 144 units: 3 segments
		{ID: "p4"},                                       // 141: 1 segment
	}
	pr := DefaultPricing()
	e, err := EstimateSMS(context.Background(), st, smsOrg(), pr, patients(ps...))
	require.NoError(t, err)
	assert.True(t, e.Exact)
	assert.Equal(t, 4, e.Recipients)
	assert.Equal(t, GSM7, e.Encoding)
	assert.Equal(t, int64(1+2+3+1), e.Segments)
	assert.Equal(t, []SegmentBucket{{1, 2}, {2, 1}, {3, 1}}, e.Distribution)
	assert.Equal(t, 1, e.EncodingChanged)
	assert.Equal(t, []string{"p3"}, e.EncodingChangedIDs)
	assert.Equal(t, pr.SMSSegment.Mul(7), e.Cost)
	assert.Zero(t, e.TooLong)

	q := QuickEstimateSMS(st, 4, pr)
	assert.False(t, q.Exact)
	assert.Equal(t, int64(4), q.Segments, "preview with example name fits one segment")
	assert.Equal(t, pr.SMSSegment.Mul(4), q.Cost)
}

func TestEstimateSMSTooLongAndSampleIDs(t *testing.T) {
	st := mustCompile(t, rep("a", 1590)+"{{last_name}}")
	var ps []carecast.Patient
	for i := range 15 {
		ps = append(ps, carecast.Patient{ID: "p" + strconv.Itoa(i), LastName: "Abcdefghijklmnop"})
	}
	ps = append(ps, carecast.Patient{ID: "ok", LastName: "Li"})
	e, err := EstimateSMS(context.Background(), st, smsOrg(), DefaultPricing(), patients(ps...))
	require.NoError(t, err)
	assert.Equal(t, 16, e.Recipients)
	assert.Equal(t, 15, e.TooLong)
	assert.Len(t, e.TooLongIDs, EstimateSampleIDs)
	assert.Equal(t, "p0", e.TooLongIDs[0])
	assert.Equal(t, []SegmentBucket{{11, 1}}, e.Distribution, "only the sendable message is counted")
	assert.Equal(t, int64(11), e.Segments)
}

func TestEstimateSMSMMS(t *testing.T) {
	st, err := CompileSMS(SMSContent{Body: "Hi {{first_name}} " + rep("a", 400), Images: []Image{{Data: smsGIF}}}, carecast.Marketing, smsOrg())
	require.NoError(t, err)
	e, err := EstimateSMS(context.Background(), st, smsOrg(), DefaultPricing(), patients(carecast.Patient{ID: "a", FirstName: "Zoë"}, carecast.Patient{ID: "b"}))
	require.NoError(t, err)
	assert.True(t, e.MMS)
	assert.Equal(t, int64(2), e.Segments)
	assert.Equal(t, DefaultPricing().MMSMessage.Mul(2), e.Cost)
	assert.Zero(t, e.EncodingChanged, "encoding does not matter for MMS")
}

func TestEstimateSMSStreamError(t *testing.T) {
	boom := errors.New("db down")
	stream := func(yield func(carecast.Patient, error) bool) {
		if yield(carecast.Patient{ID: "a"}, nil) {
			yield(carecast.Patient{}, boom)
		}
	}
	_, err := EstimateSMS(context.Background(), mustCompile(t, "x"), smsOrg(), DefaultPricing(), stream)
	assert.ErrorIs(t, err, boom)
	assert.ErrorContains(t, err, "render: estimate")
}

func TestEstimateSMSContextCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := EstimateSMS(ctx, mustCompile(t, "x"), smsOrg(), DefaultPricing(), patients(carecast.Patient{ID: "a"}))
	assert.ErrorIs(t, err, context.Canceled)
}

func TestQuickEstimateNoRecipients(t *testing.T) {
	e := QuickEstimateSMS(mustCompile(t, "x"), 0, DefaultPricing())
	assert.Zero(t, e.Cost)
	assert.Empty(t, e.Distribution)
}
