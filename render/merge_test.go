package render

import (
	"errors"
	"html"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
)

func mergeTestData() Data {
	return Data{
		Patient: &carecast.Patient{
			ID:            "P-1",
			FirstName:     "Jane",
			LastName:      "Smith",
			PreferredName: "Janie",
			DateOfBirth:   carecast.NewDate(1990, time.January, 15),
			Phone:         "+15551234567",
			Email:         "jane@example.com",
		},
		Org: &carecast.Organization{ID: "org", Name: "Sunrise Clinic"},
	}
}

func TestFieldsGuideOrder(t *testing.T) {
	var keys []string
	for _, f := range Fields() {
		keys = append(keys, f.Key)
		assert.NotEmpty(t, f.Label, f.Key)
		assert.NotEmpty(t, f.Description, f.Key)
		assert.NotEmpty(t, f.Example, f.Key)
	}
	assert.Equal(t, []string{"first_name", "last_name", "full_name", "preferred_name", "date_of_birth",
		"birthday", "phone", "email", "patient_id", "organization_name"}, keys)
	// Fields returns a copy: changing it does not change the table.
	f := Fields()
	f[0].Key = "x"
	assert.Equal(t, "first_name", Fields()[0].Key)
}

func TestRenderFields(t *testing.T) {
	d := mergeTestData()
	tests := []struct {
		name, tmpl, want string
	}{
		{"first name", "Hi {{first_name}}!", "Hi Jane!"},
		{"last name", "{{last_name}}", "Smith"},
		{"full name joins with one space", "{{full_name}}", "Jane Smith"},
		{"preferred name when set", "{{preferred_name}}", "Janie"},
		{"date of birth long US format", "{{date_of_birth}}", "January 15, 1990"},
		{"birthday without year", "{{birthday}}", "January 15"},
		{"phone NANP display format", "{{phone}}", "(555) 123-4567"},
		{"email", "{{email}}", "jane@example.com"},
		{"patient id", "{{patient_id}}", "P-1"},
		{"organization name", "{{organization_name}}", "Sunrise Clinic"},
		{"spaces inside braces are allowed around the key", "{{ first_name }}", "Jane"},
		{"fallback ignored when value present", "Hi {{first_name|there}}", "Hi Jane"},
		{"at sign is always literal", "help@clinic.com, meet @ 5pm, @first_name", "help@clinic.com, meet @ 5pm, @first_name"},
		{"quadruple brace escapes a literal double brace", "{{{{first_name}} is a token", "{{first_name}} is a token"},
		{"closing braces alone are literal", "a }} b", "a }} b"},
		{"no fields", "plain", "plain"},
		{"empty template", "", ""},
		{"adjacent fields", "{{first_name}}{{last_name}}", "JaneSmith"},
		{"non-ASCII literal text survives", "Olá {{first_name}} 😀", "Olá Jane 😀"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := ParseTemplate(tc.tmpl)
			require.NoError(t, err)
			assert.Equal(t, tc.want, tp.Render(d))
			assert.Equal(t, tc.tmpl, tp.Source())
		})
	}
}

func TestRenderMissingValues(t *testing.T) {
	empty := Data{Patient: &carecast.Patient{ID: "P-2", FirstName: "  "}, Org: &carecast.Organization{}}
	tests := []struct {
		name, tmpl string
		d          Data
		want       string
	}{
		{"missing value renders empty", "Hi {{first_name}}!", empty, "Hi !"},
		{"whitespace-only value counts as missing", "Hi {{first_name|there}}!", empty, "Hi there!"},
		{"fallback may contain spaces and is literal", "Hi {{first_name|dear patient}}!", empty, "Hi dear patient!"},
		{"fallback keeps its own spacing", "Hi{{first_name| friend}}!", empty, "Hi friend!"},
		{"preferred name falls back to first name", "{{preferred_name}}",
			Data{Patient: &carecast.Patient{FirstName: "Ann"}}, "Ann"},
		{"full name with only last name has no stray space", "[{{full_name}}]",
			Data{Patient: &carecast.Patient{LastName: "Lee"}}, "[Lee]"},
		{"invalid date of birth is missing", "{{date_of_birth|?}}",
			Data{Patient: &carecast.Patient{DateOfBirth: carecast.NewDate(1990, time.February, 30)}}, "?"},
		{"nil patient makes patient fields missing", "{{first_name|there}} {{organization_name}}",
			Data{Org: &carecast.Organization{Name: "Org"}}, "there Org"},
		{"nil organization makes org name missing", "{{organization_name|us}}", Data{}, "us"},
		{"values are trimmed", "<{{last_name}}>", Data{Patient: &carecast.Patient{LastName: " Lee "}}, "<Lee>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := ParseTemplate(tc.tmpl)
			require.NoError(t, err)
			assert.Equal(t, tc.want, tp.Render(tc.d))
		})
	}
}

func TestPhoneDisplay(t *testing.T) {
	tests := []struct {
		name, phone, region, want string
	}{
		{"E.164 NANP in US org", "+15551234567", "", "(555) 123-4567"},
		{"national 10 digits in US org", "555-123-4567", "US", "(555) 123-4567"},
		{"national with trunk 1", "1 (555) 123 4567", "US", "(555) 123-4567"},
		{"lower-case region", "5551234567", "ca", "(555) 123-4567"},
		{"NANP number in UK org is international", "+15551234567", "GB", "+1 555-123-4567"},
		{"UK number international", "+442079460958", "US", "+44 20 7946 0958"},
		{"national UK number read in GB region", "020 7946 0958", "GB", "+44 20 7946 0958"},
		{"vanity letters go through phonenumbers", "1-800-FLOWERS", "US", "(800) 356-9377"},
		{"unreadable number shown as stored", "call me", "US", "call me"},
		{"empty is missing", "   ", "US", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Data{Patient: &carecast.Patient{Phone: tc.phone}, Org: &carecast.Organization{PhoneRegion: tc.region}}
			v, ok := FieldValue("phone", d)
			assert.Equal(t, tc.want, v)
			assert.Equal(t, tc.want != "", ok)
		})
	}
}

func TestParseTemplateErrors(t *testing.T) {
	t.Run("every unknown field is listed with its offset", func(t *testing.T) {
		_, err := ParseTemplate("Hi {{frist_name}}, {{first_name}} from {{ org }}{{}}")
		var ue *UnknownFieldsError
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, []FieldRef{{"frist_name", 3}, {"org", 39}, {"", 48}}, ue.Fields)
		assert.True(t, strings.HasPrefix(err.Error(), "render: unknown merge fields"))
		assert.Contains(t, err.Error(), `"frist_name" at byte 3`)
	})
	t.Run("keys are case sensitive", func(t *testing.T) {
		_, err := ParseTemplate("{{First_Name}}")
		var ue *UnknownFieldsError
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, "First_Name", ue.Fields[0].Key)
	})
	t.Run("unclosed token is a syntax error at its offset", func(t *testing.T) {
		_, err := ParseTemplate("ok {{first_name}} then {{first_name")
		var se *TemplateSyntaxError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, 23, se.Offset)
		assert.False(t, errors.As(err, new(*UnknownFieldsError)))
	})
	t.Run("long unknown keys are shortened in the message", func(t *testing.T) {
		_, err := ParseTemplate("{{" + strings.Repeat("x", 100) + "}}")
		require.Error(t, err)
		assert.Less(t, len(err.Error()), 100)
	})
}

func TestFieldKeysDistinctInOrder(t *testing.T) {
	tp, err := ParseTemplate("{{organization_name}} {{first_name}} {{organization_name}} {{first_name|x}}")
	require.NoError(t, err)
	assert.Equal(t, []string{"organization_name", "first_name"}, tp.FieldKeys())
	none, err := ParseTemplate("no fields")
	require.NoError(t, err)
	assert.Empty(t, none.FieldKeys())
}

func TestAppendRenderEscapesOnlyValues(t *testing.T) {
	tp, err := ParseTemplate("<b>{{first_name}}</b> & {{last_name|Tom & Jerry}}")
	require.NoError(t, err)
	d := Data{Patient: &carecast.Patient{FirstName: "<script>"}}
	esc := func(dst []byte, v string) []byte { return append(dst, html.EscapeString(v)...) }
	got := tp.AppendRender([]byte("pre:"), d, esc)
	assert.Equal(t, "pre:<b>&lt;script&gt;</b> & Tom &amp; Jerry", string(got))
	assert.Equal(t, "<b><script></b> & Tom & Jerry", string(tp.AppendRender(nil, d, nil)))
}

func TestValuesAreNotReparsed(t *testing.T) {
	tp, err := ParseTemplate("{{first_name}}")
	require.NoError(t, err)
	d := Data{Patient: &carecast.Patient{FirstName: "{{last_name}}", LastName: "X"}}
	assert.Equal(t, "{{last_name}}", tp.Render(d))
}

func TestFieldValue(t *testing.T) {
	d := mergeTestData()
	v, ok := FieldValue("birthday", d)
	assert.True(t, ok)
	assert.Equal(t, "January 15", v)
	_, ok = FieldValue("nope", d)
	assert.False(t, ok, "unknown key")
	_, ok = FieldValue("first_name", Data{})
	assert.False(t, ok, "missing value")
}

func TestEscapeTextRoundTrip(t *testing.T) {
	for _, s := range []string{"a {{b}} c", "{{{{", "{", "}}", "plain @ text", "{{{x"} {
		tp, err := ParseTemplate(EscapeText(s))
		require.NoError(t, err, s)
		assert.Equal(t, s, tp.Render(Data{}), s)
	}
}

func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{"Hi {{first_name|there}}", "{{{{x}}", "{{", "}}{{a}}", "@first_name", "{{phone}} {{date_of_birth}}"} {
		f.Add(s)
	}
	d := mergeTestData()
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := ParseTemplate(s)
		if err != nil {
			var ue *UnknownFieldsError
			var se *TemplateSyntaxError
			if !errors.As(err, &ue) && !errors.As(err, &se) {
				t.Fatalf("unexpected error type %T", err)
			}
			return
		}
		_ = tp.Render(d)
		// Escaped plain text always parses back to itself.
		back, err := ParseTemplate(EscapeText(s))
		if err != nil {
			t.Fatalf("escaped text did not parse: %v", err)
		}
		if got := back.Render(d); got != s {
			t.Fatalf("escape round trip: got %q want %q", got, s)
		}
	})
}

func BenchmarkRenderSMS(b *testing.B) {
	tp, err := ParseTemplate("Hi {{first_name|there}}, this is {{organization_name}}. Your annual check-up is due this month. Book online or call us. Reply STOP to opt out")
	if err != nil {
		b.Fatal(err)
	}
	d := mergeTestData()
	b.ReportAllocs()
	for b.Loop() {
		_ = tp.Render(d)
	}
}

func TestRenderSampleUsesExamplesForMissingValues(t *testing.T) {
	tp, err := ParseTemplate("Hi {{first_name|there}}, {{organization_name}} on {{birthday}}")
	require.NoError(t, err)
	assert.Equal(t, "Hi Jane, Sunrise Family Clinic on January 15", tp.RenderSample(Data{}))
	org := &carecast.Organization{Name: "Real Clinic"}
	assert.Equal(t, "Hi Jane, Real Clinic on January 15", tp.RenderSample(Data{Org: org}))
}

// A template of many unknown tokens costs a short list, not one entry a
// token (issue 12 §3: an 8 MiB body held 110 MiB of FieldRefs and gave a
// 33 MiB error message); clinical keys past the others are still found.
func TestUnknownFieldsBounded(t *testing.T) {
	text := strings.Repeat("{{"+strings.Repeat("x", 100)+"}} ", 50_000) + "{{lab_result}}"
	_, err := ParseTemplate(text)
	var ue *UnknownFieldsError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, 50_001, ue.Count)
	assert.Equal(t, 50_001, ue.Total())
	assert.Len(t, ue.Fields, MaxReportedFields+1, "the first 20 others and the clinical one")
	for _, f := range ue.Fields {
		assert.LessOrEqual(t, len(f.Key), 64)
	}
	assert.ErrorIs(t, err, ErrPHIField, "a clinical key after the listed ones is still found")
	assert.Equal(t, []FieldRef{{Key: "lab_result", Offset: len(text) - len("{{lab_result}}")}}, ue.PHIFields())
	assert.Less(t, len(err.Error()), 4096)
	assert.Contains(t, err.Error(), "and 49980 more")

	_, err = ParseTemplate(strings.Repeat("{{diagnosis}}", 10_000))
	require.ErrorAs(t, err, &ue)
	assert.Len(t, ue.Fields, MaxReportedFields, "clinical keys are bounded too")
	assert.Equal(t, 10_000, ue.Count)

	// The email compiler collects the same way.
	_, err = CompileEmail(EmailContent{Subject: "Hi", Format: FormatMarkdown, Body: strings.Repeat("{{nope}} ", 10_000)}, carecast.Transactional, emailTestOrg())
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, 10_000, ue.Count)
	assert.Len(t, ue.Fields, MaxReportedFields)
}
