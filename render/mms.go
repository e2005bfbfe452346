package render

import (
	"bytes"
	"errors"
	"fmt"
)

// MMS limits from the guide: up to 3 images, each under 1 MB.
const (
	MMSMaxImages     = 3
	MMSMaxImageBytes = 1 << 20 // an image must be smaller than this (1 MiB)
)

// ImageType is the media type of an MMS image, detected from its content.
type ImageType string

// The image types an MMS may carry.
const (
	ImageJPEG ImageType = "image/jpeg"
	ImagePNG  ImageType = "image/png"
	ImageGIF  ImageType = "image/gif"
)

// Image is one image attached to an SMS, which makes it an MMS.
type Image struct {
	// Filename is the name the user uploaded the file under. It is shown
	// in the editor only: the type is detected from Data.
	Filename string `json:"filename,omitempty"`
	// Data is the image content; it is required and validated.
	Data []byte `json:"data"`
	// URL is where the provider fetches the image from when sending (the
	// host serves it). It may be empty while composing.
	URL string `json:"url,omitempty"`
}

// Type detects the image's type from the first bytes of Data (JPEG, PNG
// or GIF signatures); ok is false for anything else.
func (im Image) Type() (t ImageType, ok bool) { return DetectImageType(im.Data) }

// DetectImageType returns the type of an image from its content: JPEG
// (FF D8 FF), PNG (the 8-byte PNG signature) or GIF (GIF87a, GIF89a).
func DetectImageType(data []byte) (ImageType, bool) {
	switch {
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		return ImageJPEG, true
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return ImagePNG, true
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return ImageGIF, true
	}
	return "", false
}

// Image validation errors. An *ImageError wraps exactly one of them; test
// with errors.Is.
var (
	ErrTooManyImages = errors.New("render: too many images")
	ErrImageTooLarge = errors.New("render: image too large")
	ErrImageType     = errors.New("render: image is not a JPEG, PNG or GIF")
	ErrImageEmpty    = errors.New("render: image has no content")
)

// ImageError reports a problem with one attached image, named by its
// zero-based index in SMSContent.Images (never by name or content).
type ImageError struct {
	// Index is the image's position; for ErrTooManyImages it is the
	// first image over the limit.
	Index int
	// Size is the image's length in bytes.
	Size int
	// Err is ErrTooManyImages, ErrImageTooLarge, ErrImageType or
	// ErrImageEmpty.
	Err error
}

// Error names the image index and the problem.
func (e *ImageError) Error() string {
	switch e.Err {
	case ErrTooManyImages:
		return fmt.Sprintf("render: image %d: too many images (at most %d)", e.Index, MMSMaxImages)
	case ErrImageTooLarge:
		return fmt.Sprintf("render: image %d: %d bytes, must be under %d", e.Index, e.Size, MMSMaxImageBytes)
	}
	return fmt.Sprintf("render: image %d: %s", e.Index, trimPrefix(e.Err.Error()))
}

// Unwrap returns the sentinel error.
func (e *ImageError) Unwrap() error { return e.Err }

// trimPrefix drops the "render: " prefix of a wrapped sentinel.
func trimPrefix(s string) string {
	const p = "render: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// ValidateImages checks the images of an MMS: at most MMSMaxImages, each
// non-empty, under MMSMaxImageBytes and a JPEG, PNG or GIF by content. It
// returns errors.Join of one *ImageError per problem, or nil.
func ValidateImages(images []Image) error {
	var errs []error
	for i, im := range images {
		if i >= MMSMaxImages {
			errs = append(errs, &ImageError{Index: i, Size: len(im.Data), Err: ErrTooManyImages})
			break
		}
		switch _, ok := im.Type(); {
		case len(im.Data) == 0:
			errs = append(errs, &ImageError{Index: i, Err: ErrImageEmpty})
		case len(im.Data) >= MMSMaxImageBytes:
			errs = append(errs, &ImageError{Index: i, Size: len(im.Data), Err: ErrImageTooLarge})
		case !ok:
			errs = append(errs, &ImageError{Index: i, Size: len(im.Data), Err: ErrImageType})
		}
	}
	return errors.Join(errs...)
}
