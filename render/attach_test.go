package render

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidateAttachments(t *testing.T) {
	small := []byte("hello")
	n := func(count int) []Attachment {
		out := make([]Attachment, count)
		for i := range out {
			out[i] = Attachment{Filename: "f.pdf", Data: small}
		}
		return out
	}
	big := make([]byte, AttachmentMaxBytes)
	cases := []struct {
		name      string
		atts      []Attachment
		max       int64
		want      error
		wantIndex int
	}{
		{"none", nil, 0, nil, 0},
		{"ten files", n(10), 0, nil, 0},
		{"eleven files", n(11), 0, ErrTooManyAttachments, -1},
		{"just under 25 MB", []Attachment{{Filename: "a.pdf", Data: big[:AttachmentMaxBytes-1]}}, 0, nil, 0},
		{"25 MB", []Attachment{{Filename: "a.pdf", Data: small}, {Filename: "b.pdf", Data: big}}, 0, ErrAttachmentTooLarge, 1},
		{"empty data", []Attachment{{Filename: "a.pdf"}}, 0, ErrAttachmentEmpty, 0},
		{"no name", []Attachment{{Filename: " ", Data: small}}, 0, ErrAttachmentFilename, 0},
		{"path", []Attachment{{Filename: "../etc/passwd", Data: small}}, 0, ErrAttachmentFilename, 0},
		{"backslash", []Attachment{{Filename: `C:\x.pdf`, Data: small}}, 0, ErrAttachmentFilename, 0},
		{"control char", []Attachment{{Filename: "a\r\nb.pdf", Data: small}}, 0, ErrAttachmentFilename, 0},
		{"long name", []Attachment{{Filename: strings.Repeat("a", 300) + ".pdf", Data: small}}, 0, ErrAttachmentFilename, 0},
		{"exe", []Attachment{{Filename: "setup.EXE", Data: small}}, 0, ErrAttachmentBlockedType, 0},
		{"js with trailing dot", []Attachment{{Filename: "a.js.", Data: small}}, 0, ErrAttachmentBlockedType, 0},
		{"bad content type", []Attachment{{Filename: "a.pdf", ContentType: "pdf", Data: small}}, 0, ErrAttachmentContentType, 0},
		{"total within limit", n(3), AttachmentsEncodedSize(n(3)), nil, 0},
		{"total over limit", n(3), AttachmentsEncodedSize(n(3)) - 1, ErrAttachmentsTooLargeTotal, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateAttachments(tc.atts, tc.max)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
			var ae *AttachmentError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tc.wantIndex, ae.Index)
			assert.True(t, strings.HasPrefix(err.Error(), "render: "))
			for _, a := range tc.atts {
				if len(a.Filename) > 3 {
					assert.NotContains(t, err.Error(), a.Filename, "file names may carry PHI")
				}
			}
		})
	}
}

func TestAttachmentErrorMessage(t *testing.T) {
	err := ValidateAttachments(make([]Attachment, 12), 0)
	assert.Equal(t, "render: too many attachments: 12, limit 10", err.Error())
	assert.True(t, errors.Is(err, ErrTooManyAttachments))
}

func TestAttachmentContentType(t *testing.T) {
	cases := []struct{ name, data, want string }{
		{"report.PDF", "anything", "application/pdf"},
		{"scan.jpeg", "x", "image/jpeg"},
		{"plan.docx", "PK\x03\x04", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"noext", "%PDF-1.4 ...", "application/pdf"},
		{"noext", "\x89PNG\r\n\x1a\n....", "image/png"},
		{"noext", "just words", "text/plain; charset=utf-8"},
		{"noext.weird", "\x00\x01\x02\x03", "application/octet-stream"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, AttachmentContentType(tc.name, []byte(tc.data)), tc.name)
	}
}

func TestAttachmentsEncodedSize(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 56, 57, 58, 1000, 100000} {
		data := make([]byte, n)
		enc := base64.StdEncoding.EncodeToString(data)
		lines := (len(enc) + 75) / 76
		want := int64(len(enc) + 2*lines)
		assert.Equal(t, want, AttachmentsEncodedSize([]Attachment{{Data: data}}), "n=%d", n)
	}
}
