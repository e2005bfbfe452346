package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
)

var (
	smsJPEG = append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte{1}, 100)...)
	smsPNG  = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{2}, 100)...)
	smsGIF  = append([]byte("GIF89a"), bytes.Repeat([]byte{3}, 100)...)
)

func smsOrg() carecast.Organization { return carecast.Organization{ID: "o1", Name: "Sunrise Clinic"} }

func ptr[T any](v T) *T { return &v }

func TestValidateImages(t *testing.T) {
	tests := []struct {
		name    string
		images  []Image
		wantErr error
		index   int
	}{
		{"JPEG detected from content", []Image{{Filename: "a.png", Data: smsJPEG}}, nil, 0},
		{"PNG and GIF detected from content", []Image{{Data: smsPNG}, {Data: smsGIF}}, nil, 0},
		{"GIF87a accepted", []Image{{Data: []byte("GIF87a....")}}, nil, 0},
		{"three images are the maximum", []Image{{Data: smsJPEG}, {Data: smsPNG}, {Data: smsGIF}}, nil, 0},
		{"a fourth image is too many", []Image{{Data: smsJPEG}, {Data: smsPNG}, {Data: smsGIF}, {Data: smsJPEG}}, ErrTooManyImages, 3},
		{"file named .jpg with PDF content is the wrong type", []Image{{Data: smsJPEG}, {Filename: "x.jpg", Data: []byte("%PDF-1.7 ...")}}, ErrImageType, 1},
		{"WebP is not accepted", []Image{{Data: []byte("RIFF\x00\x00\x00\x00WEBPVP8 ")}}, ErrImageType, 0},
		{"empty data", []Image{{Filename: "a.gif", URL: "https://x/a.gif"}}, ErrImageEmpty, 0},
		{"exactly 1 MiB is too large", []Image{{Data: append(smsPNG[:8:8], make([]byte, MMSMaxImageBytes-8)...)}}, ErrImageTooLarge, 0},
		{"one byte under 1 MiB is fine", []Image{{Data: append(smsPNG[:8:8], make([]byte, MMSMaxImageBytes-9)...)}}, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateImages(tc.images)
			if tc.wantErr == nil {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
			var ie *ImageError
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, tc.index, ie.Index)
			assert.True(t, strings.HasPrefix(err.Error(), "render: image "), err.Error())
			for _, im := range tc.images {
				if im.Filename != "" {
					assert.NotContains(t, err.Error(), im.Filename, "errors never name files")
				}
			}
		})
	}
	t.Run("every problem is reported", func(t *testing.T) {
		err := ValidateImages([]Image{{Data: []byte("nope")}, {}, {Data: smsGIF}})
		assert.ErrorIs(t, err, ErrImageType)
		assert.ErrorIs(t, err, ErrImageEmpty)
	})
}

func TestCompileSMSOptOutLine(t *testing.T) {
	tests := []struct {
		name    string
		content SMSContent
		purpose carecast.Purpose
		want    string
	}{
		{"marketing appends the opt-out line by default", SMSContent{Body: "20% off"}, carecast.Marketing, "20% off\nReply STOP to opt out"},
		{"transactional has no opt-out line by default", SMSContent{Body: "See you at 5"}, carecast.Transactional, "See you at 5"},
		{"marketing may turn the line off", SMSContent{Body: "x", OptOutLine: ptr(false)}, carecast.Marketing, "x"},
		{"transactional may turn the line on", SMSContent{Body: "x", OptOutLine: ptr(true)}, carecast.Transactional, "x\nReply STOP to opt out"},
		{"trailing white space before the line is dropped", SMSContent{Body: "Sale! \n\n"}, carecast.Marketing, "Sale!\nReply STOP to opt out"},
		{"no-reply sender gives another way to opt out", SMSContent{Body: "Sale", OptOutText: NoReplyOptOutLine("sunrise.example/stop")},
			carecast.Marketing, "Sale\nReplies are not monitored. To opt out, visit or call sunrise.example/stop"},
		{"image-only MMS gets the line alone", SMSContent{Images: []Image{{Data: smsGIF}}}, carecast.Marketing, "Reply STOP to opt out"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := CompileSMS(tc.content, tc.purpose, smsOrg())
			require.NoError(t, err)
			r := st.Render(Data{Patient: &carecast.Patient{ID: "p"}})
			assert.Equal(t, tc.want, r.Body)
			assert.Equal(t, CountSMS(tc.want).Units, st.Preview().Units, "the preview counts the line")
		})
	}
}

func TestOptOutLineCountsInSegments(t *testing.T) {
	body := rep("a", 150) // 150 + "\n" + 21 = 172 septets: two segments with the line
	st, err := CompileSMS(SMSContent{Body: body}, carecast.Marketing, smsOrg())
	require.NoError(t, err)
	r := st.Render(Data{})
	assert.True(t, strings.HasSuffix(r.Body, DefaultOptOutLine))
	assert.Equal(t, 2, r.Count.Segments)
	assert.Equal(t, 2, st.Preview().Segments)
	assert.Equal(t, DefaultPricing().SMSSegment.Mul(2), DefaultPricing().SMSCost(r))
}

func TestCompileSMSErrors(t *testing.T) {
	tests := []struct {
		name    string
		content SMSContent
		purpose carecast.Purpose
		check   func(t *testing.T, err error)
	}{
		{"unknown merge field", SMSContent{Body: "Hi {{nickname}}"}, carecast.Marketing, func(t *testing.T, err error) {
			var ue *UnknownFieldsError
			assert.ErrorAs(t, err, &ue)
		}},
		{"empty body without images", SMSContent{Body: "  "}, carecast.Transactional, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, ErrEmptyBody)
		}},
		{"bad image", SMSContent{Body: "x", Images: []Image{{Data: []byte("BM....")}}}, carecast.Marketing, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, ErrImageType)
		}},
		{"literal text over 1,600 characters", SMSContent{Body: rep("a", 1601)}, carecast.Transactional, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, ErrTooLong)
			var tl *TooLongError
			require.ErrorAs(t, err, &tl)
			assert.Equal(t, 1601, tl.Length)
		}},
		{"opt-out line pushes the text over the limit", SMSContent{Body: rep("a", 1590)}, carecast.Marketing, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, ErrTooLong)
		}},
		{"MMS body over 1,600 characters", SMSContent{Body: rep("a", 1601), Images: []Image{{Data: smsPNG}}}, carecast.Transactional, func(t *testing.T, err error) {
			var tl *TooLongError
			require.ErrorAs(t, err, &tl)
			assert.True(t, tl.MMS)
		}},
		{"invalid purpose", SMSContent{Body: "x"}, carecast.Purpose("spam"), func(t *testing.T, err error) {
			assert.ErrorContains(t, err, "render: invalid purpose")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := CompileSMS(tc.content, tc.purpose, smsOrg())
			require.Error(t, err)
			assert.Nil(t, st)
			tc.check(t, err)
		})
	}
}

func TestRenderSMSLengthLimit(t *testing.T) {
	st, err := CompileSMS(SMSContent{Body: rep("a", 1590) + " {{last_name}}"}, carecast.Transactional, smsOrg())
	require.NoError(t, err)
	ok := st.Render(Data{Patient: &carecast.Patient{LastName: "Li"}})
	assert.NoError(t, ok.Err())
	long := st.Render(Data{Patient: &carecast.Patient{LastName: "Wolfeschlegelsteinhausen"}})
	assert.ErrorIs(t, long.Err(), ErrTooLong)
	assert.NotContains(t, long.Err().Error(), "Wolfe", "no PHI in errors")
	t.Run("limit counts UTF-16 units for UCS-2", func(t *testing.T) {
		r := RenderedSMS{Body: rep("😀", 801), Count: CountSMS(rep("😀", 801))}
		assert.Equal(t, 1602, r.Length())
		assert.ErrorIs(t, r.Err(), ErrTooLong)
	})
	t.Run("limit counts characters not septets for GSM-7", func(t *testing.T) {
		body := rep("{", 1600)
		r := RenderedSMS{Body: body, Count: CountSMS(body)}
		assert.Equal(t, 3200, r.Count.Units)
		assert.NoError(t, r.Err())
	})
}

func TestRenderSMSPersonalised(t *testing.T) {
	st, err := CompileSMS(SMSContent{Body: "Hi {{first_name|there}}, {{organization_name}} misses you"}, carecast.Marketing, smsOrg())
	require.NoError(t, err)
	t.Run("organization defaults to the compiled one", func(t *testing.T) {
		r := st.Render(Data{Patient: &carecast.Patient{FirstName: "Ann"}})
		assert.Equal(t, "Hi Ann, Sunrise Clinic misses you\nReply STOP to opt out", r.Body)
		assert.Equal(t, GSM7, r.Count.Encoding)
		assert.False(t, r.MMS)
	})
	t.Run("a name outside GSM-7 makes that patient's text UCS-2", func(t *testing.T) {
		r := st.Render(Data{Patient: &carecast.Patient{FirstName: "Zoë"}})
		assert.Equal(t, UCS2, r.Count.Encoding)
		assert.Equal(t, GSM7, st.Preview().Encoding)
	})
}

func TestRenderSMSSmartEncoding(t *testing.T) {
	body := "We’re open “late” today — see you " + rep("x", 60)
	off, err := CompileSMS(SMSContent{Body: body}, carecast.Transactional, smsOrg())
	require.NoError(t, err)
	on, err := CompileSMS(SMSContent{Body: body, SmartEncoding: true}, carecast.Transactional, smsOrg())
	require.NoError(t, err)
	ro, rn := off.Render(Data{}), on.Render(Data{})
	assert.Equal(t, UCS2, ro.Count.Encoding, "off by default: text stays as typed")
	assert.Equal(t, 2, ro.Count.Segments)
	assert.Equal(t, GSM7, rn.Count.Encoding)
	assert.Equal(t, 1, rn.Count.Segments)
	assert.Equal(t, `We're open "late" today - see you `+rep("x", 60), rn.Body)
	assert.Equal(t, 1, on.Preview().Segments)
}

func TestMMS(t *testing.T) {
	body := rep("a", 300)
	st, err := CompileSMS(SMSContent{Body: body, Images: []Image{{Filename: "promo.png", Data: smsPNG, URL: "https://cdn.example/p.png"}}}, carecast.Transactional, smsOrg())
	require.NoError(t, err)
	assert.True(t, st.MMS())
	r := st.Render(Data{})
	assert.True(t, r.MMS)
	assert.Equal(t, 1, r.Count.Segments, "MMS is not split into segments")
	assert.Len(t, r.Images, 1)
	assert.Equal(t, DefaultPricing().MMSMessage, DefaultPricing().SMSCost(r))
	assert.Equal(t, 1, st.Preview().Segments)
}

func TestPricing(t *testing.T) {
	p := DefaultPricing()
	assert.NoError(t, p.Validate())
	assert.Equal(t, carecast.Money(7_900), p.SMSSegment)
	assert.Equal(t, p.SMSSegment.Mul(3), p.MMSMessage, "MMS is three times an SMS segment")
	assert.Equal(t, carecast.Money(23_700), p.SMSCostOf(3, false))
	assert.Equal(t, p.MMSMessage, p.SMSCostOf(3, true), "MMS is priced per message")
	assert.Equal(t, carecast.Money(100), p.EmailCost())
	bad := p
	bad.MMSMessage = -1
	assert.ErrorContains(t, bad.Validate(), "MMSMessage")
	_, err := EstimateSMS(t.Context(), mustCompile(t, "x"), smsOrg(), bad, func(func(carecast.Patient, error) bool) {})
	assert.Error(t, err, "estimates refuse negative prices")
}

// BenchmarkSMSTemplateRender measures the engine's per-recipient work:
// personalise, append the opt-out line and count.
func BenchmarkSMSTemplateRender(b *testing.B) {
	st, err := CompileSMS(SMSContent{Body: "Hi {{first_name|there}}, this is {{organization_name}}. Your annual check-up is due this month. Book online or call us."}, carecast.Marketing, smsOrg())
	if err != nil {
		b.Fatal(err)
	}
	d := mergeTestData()
	b.ReportAllocs()
	for b.Loop() {
		_ = st.Render(d)
	}
}

func TestSMSContentJSONRoundTrip(t *testing.T) {
	in := SMSContent{Body: "Hi {{first_name}}", Images: []Image{{Filename: "a.gif", Data: smsGIF, URL: "https://x/a.gif"}},
		OptOutLine: ptr(false), OptOutText: "x", SmartEncoding: true}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"body":"Hi {{first_name}}"`)
	assert.Contains(t, string(b), `"smart_encoding":true`)
	var out SMSContent
	require.NoError(t, json.Unmarshal(b, &out))
	assert.Equal(t, in, out)
}

func TestPreviewText(t *testing.T) {
	st, err := CompileSMS(SMSContent{Body: "Hi {{first_name|there}} — {{organization_name}}", SmartEncoding: true}, carecast.Marketing, smsOrg())
	require.NoError(t, err)
	assert.Equal(t, "Hi Jane - Sunrise Clinic\nReply STOP to opt out", st.PreviewText())
	assert.Equal(t, CountSMS(st.PreviewText()), st.Preview())
}

func FuzzRenderSMS(f *testing.F) {
	f.Add("Hi {{first_name|there}}", "Zoë", false, true)
	f.Add("{{full_name}} “x”", "", true, false)
	f.Add("", "a", false, false)
	f.Fuzz(func(t *testing.T, body, name string, smart, marketing bool) {
		pu := carecast.Transactional
		if marketing {
			pu = carecast.Marketing
		}
		st, err := CompileSMS(SMSContent{Body: body, SmartEncoding: smart}, pu, smsOrg())
		if err != nil {
			return
		}
		r := st.Render(Data{Patient: &carecast.Patient{ID: "p", FirstName: name, LastName: name}})
		if r.Count != CountSMS(r.Body) {
			t.Fatalf("count %+v does not match the body's %+v", r.Count, CountSMS(r.Body))
		}
		if marketing && !strings.HasSuffix(r.Body, DefaultOptOutLine) {
			t.Fatalf("marketing body lacks the opt-out line")
		}
		if name == "" && r.Err() != nil {
			t.Fatalf("compiled template too long with empty values: %v", r.Err())
		}
	})
}
