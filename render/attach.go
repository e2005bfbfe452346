package render

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"
)

// Email attachment limits (the guide: "up to 10 files, each under 25 MB").
const (
	// AttachmentMaxCount is the most files one email may carry.
	AttachmentMaxCount = 10
	// AttachmentMaxBytes is the size every attachment must stay under:
	// a file of AttachmentMaxBytes bytes or more is rejected.
	AttachmentMaxBytes = 25 << 20
	// AttachmentMaxFilenameBytes bounds a file name's length.
	AttachmentMaxFilenameBytes = 255
)

// Attachment is one file attached to an email.
type Attachment struct {
	// Filename is the name the recipient sees: no directory part, no
	// control characters, at most AttachmentMaxFilenameBytes bytes.
	Filename string `json:"filename"`
	// ContentType is the MIME type ("application/pdf"). When empty it is
	// detected from the file name's extension, then from the content (see
	// AttachmentContentType).
	ContentType string `json:"content_type,omitempty"`
	// Data is the file's content. It is not copied: callers must not
	// modify it after handing it over.
	Data []byte `json:"data"`
}

// Sentinel errors of attachment validation, matched with errors.Is through
// an *AttachmentError.
var (
	ErrTooManyAttachments       = errors.New("render: too many attachments")
	ErrAttachmentTooLarge       = errors.New("render: attachment too large")
	ErrAttachmentEmpty          = errors.New("render: attachment is empty")
	ErrAttachmentFilename       = errors.New("render: invalid attachment file name")
	ErrAttachmentBlockedType    = errors.New("render: attachment type is blocked by mailbox providers")
	ErrAttachmentContentType    = errors.New("render: invalid attachment content type")
	ErrAttachmentsTooLargeTotal = errors.New("render: attachments exceed the provider's message size limit")
)

// AttachmentError reports an attachment that cannot be sent. It names the
// attachment by position only: file names can carry patient data.
type AttachmentError struct {
	// Index is the attachment's position, or -1 when the set as a whole
	// is at fault (too many files, total too large).
	Index int
	// Err is one of the ErrAttachment… / ErrTooManyAttachments sentinels.
	Err error
	// Size and Limit are the measured and allowed values, in files or
	// bytes, when the problem is a count or a size.
	Size, Limit int64
}

// Error names the attachment, the problem and, for limits, the numbers.
func (e *AttachmentError) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	if e.Index >= 0 {
		fmt.Fprintf(&b, " (attachment %d)", e.Index)
	}
	if e.Limit > 0 {
		fmt.Fprintf(&b, ": %d, limit %d", e.Size, e.Limit)
	}
	return b.String()
}

// Unwrap returns the sentinel.
func (e *AttachmentError) Unwrap() error { return e.Err }

// attachBlockedExt are the extensions Gmail refuses to deliver (its
// "blocked file types" list); Outlook blocks the same executables.
var attachBlockedExt = map[string]bool{
	".ade": true, ".adp": true, ".apk": true, ".appx": true, ".appxbundle": true, ".bat": true, ".cab": true,
	".chm": true, ".cmd": true, ".com": true, ".cpl": true, ".dll": true, ".dmg": true, ".ex": true, ".ex_": true,
	".exe": true, ".hta": true, ".ins": true, ".isp": true, ".iso": true, ".jar": true, ".js": true, ".jse": true,
	".lib": true, ".lnk": true, ".mde": true, ".msc": true, ".msi": true, ".msix": true, ".msixbundle": true,
	".msp": true, ".mst": true, ".nsh": true, ".pif": true, ".ps1": true, ".scr": true, ".sct": true, ".shb": true,
	".sys": true, ".vb": true, ".vbe": true, ".vbs": true, ".vxd": true, ".wsc": true, ".wsf": true, ".wsh": true,
}

// attachTypes maps common extensions to MIME types, so detection does not
// depend on the host's mime.types files.
var attachTypes = map[string]string{
	".pdf": "application/pdf", ".txt": "text/plain; charset=utf-8", ".csv": "text/csv; charset=utf-8",
	".ics": "text/calendar; charset=utf-8", ".htm": "text/html; charset=utf-8", ".html": "text/html; charset=utf-8",
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp",
	".heic": "image/heic", ".tif": "image/tiff", ".tiff": "image/tiff", ".bmp": "image/bmp",
	".doc": "application/msword", ".xls": "application/vnd.ms-excel", ".ppt": "application/vnd.ms-powerpoint",
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".odt":  "application/vnd.oasis.opendocument.text", ".rtf": "application/rtf",
	".zip": "application/zip", ".json": "application/json", ".xml": "application/xml",
	".mp3": "audio/mpeg", ".mp4": "video/mp4", ".mov": "video/quicktime", ".vcf": "text/vcard; charset=utf-8",
}

// AttachmentContentType returns the MIME type of a file: from its name's
// extension for common types (a fixed table, the same on every host),
// otherwise sniffed from its first 512 bytes (net/http.DetectContentType),
// which yields "application/octet-stream" when nothing matches.
func AttachmentContentType(filename string, data []byte) string {
	if t, ok := attachTypes[strings.ToLower(path.Ext(filename))]; ok {
		return t
	}
	return http.DetectContentType(data)
}

// AttachmentsEncodedSize returns the bytes atts add to a MIME message once
// base64-encoded in 76-column lines, which is what a provider's
// MaxMessageBytes limit counts.
func AttachmentsEncodedSize(atts []Attachment) int64 {
	var total int64
	for _, a := range atts {
		total += attachEncodedLen(int64(len(a.Data)))
	}
	return total
}

// attachEncodedLen is the base64 size of n bytes with CRLF every 76
// characters.
func attachEncodedLen(n int64) int64 {
	enc := (n + 2) / 3 * 4
	return enc + (enc+75)/76*2
}

// ValidateAttachments checks an email's attachments: at most
// AttachmentMaxCount files, each non-empty and under AttachmentMaxBytes,
// each with a plain file name whose extension mailbox providers accept,
// and an explicit ContentType (if any) that parses as a MIME type. When
// maxTotalBytes is positive, the encoded size of all attachments (see
// AttachmentsEncodedSize) must not exceed it: pass the provider's declared
// limit (provider.Limits.MaxMessageBytes) less room for the message
// itself. 0 means no total limit.
//
// The error is an *AttachmentError naming the first attachment at fault
// by index; errors.Is matches its sentinel (ErrAttachmentTooLarge, …).
func ValidateAttachments(atts []Attachment, maxTotalBytes int64) error {
	if len(atts) > AttachmentMaxCount {
		return &AttachmentError{Index: -1, Err: ErrTooManyAttachments, Size: int64(len(atts)), Limit: AttachmentMaxCount}
	}
	for i, a := range atts {
		if err := attachCheckName(a.Filename); err != nil {
			return &AttachmentError{Index: i, Err: err}
		}
		switch n := int64(len(a.Data)); {
		case n == 0:
			return &AttachmentError{Index: i, Err: ErrAttachmentEmpty}
		case n >= AttachmentMaxBytes:
			return &AttachmentError{Index: i, Err: ErrAttachmentTooLarge, Size: n, Limit: AttachmentMaxBytes - 1}
		}
		if a.ContentType != "" {
			mt, _, err := mime.ParseMediaType(a.ContentType)
			if err != nil || !strings.Contains(mt, "/") || strings.ContainsAny(a.ContentType, "\r\n") {
				return &AttachmentError{Index: i, Err: ErrAttachmentContentType}
			}
		}
	}
	if maxTotalBytes > 0 {
		if total := AttachmentsEncodedSize(atts); total > maxTotalBytes {
			return &AttachmentError{Index: -1, Err: ErrAttachmentsTooLargeTotal, Size: total, Limit: maxTotalBytes}
		}
	}
	return nil
}

// attachCheckName checks a file name and returns the sentinel for its
// problem, or nil.
func attachCheckName(name string) error {
	if strings.TrimSpace(name) == "" || len(name) > AttachmentMaxFilenameBytes || !utf8.ValidString(name) {
		return ErrAttachmentFilename
	}
	if name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return ErrAttachmentFilename
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return ErrAttachmentFilename
		}
	}
	if attachBlockedExt[strings.ToLower(path.Ext(strings.TrimRight(name, ". ")))] {
		return ErrAttachmentBlockedType
	}
	return nil
}

// attachPrepare validates atts and returns a copy with every ContentType
// filled in.
func attachPrepare(atts []Attachment) ([]Attachment, error) {
	if err := ValidateAttachments(atts, 0); err != nil {
		return nil, err
	}
	if len(atts) == 0 {
		return nil, nil
	}
	out := make([]Attachment, len(atts))
	for i, a := range atts {
		if a.ContentType == "" {
			a.ContentType = AttachmentContentType(a.Filename, a.Data)
		}
		out[i] = a
	}
	return out, nil
}
