package twilio

import "github.com/carecast/carecast/provider"

// codeInfo is the classification and PHI-free description of a Twilio
// error code (compliance.md SF-01).
type codeInfo struct {
	class provider.Class
	text  string
}

var codes = map[int]codeInfo{
	20429: {provider.RateLimited, "too many requests"},
	21211: {provider.Permanent, "invalid 'To' phone number"},
	21408: {provider.SenderBlocked, "sending to this region is not enabled"},
	21610: {provider.OptedOut, "recipient has opted out (STOP)"},
	21612: {provider.Permanent, "'To' number not reachable from this sender"},
	21614: {provider.Landline, "'To' number is not a mobile number"},
	21635: {provider.Landline, "'To' number cannot be a landline"},
	30001: {provider.Transient, "queue overflow"},
	30002: {provider.SenderBlocked, "account suspended"},
	30003: {provider.Transient, "unreachable destination handset"},
	30004: {provider.Permanent, "message blocked by the recipient's carrier"},
	30005: {provider.Permanent, "unknown destination handset"},
	30006: {provider.Landline, "landline or unreachable carrier"},
	30007: {provider.SenderBlocked, "message filtered by the carrier"},
	30008: {provider.Transient, "unknown error"},
	30032: {provider.SenderBlocked, "toll-free number not verified"},
	30034: {provider.SenderBlocked, "unregistered 10DLC number"},
	30500: {provider.Transient, "internal error"},
}

// ClassifyCode returns the engine class for a Twilio error code, following
// compliance.md SF-01: 21610 OptedOut; 21614, 21635 and 30006 Landline;
// 30003, 30008, 30001 and 30500 Transient; 20429 RateLimited; 21211,
// 30004 and 30005 Permanent; 30007 (carrier filtering) and the sender's
// configuration or account (30034, 30032, 21408, 30002) SenderBlocked:
// they say nothing about the recipient, so the patient is never
// suppressed, and the engine pauses the blast when they pile up. Unknown
// codes are Permanent: Twilio answered, so nothing was queued, but
// repeating the same request is not known to help.
func ClassifyCode(code int) provider.Class {
	if ci, ok := codes[code]; ok {
		return ci.class
	}
	return provider.Permanent
}

func codeText(code int) string {
	if ci, ok := codes[code]; ok {
		return ci.text
	}
	return "error"
}
