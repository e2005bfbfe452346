package eligibility

// The reasons' keys: the String form of each [Reason], as ledgers store
// it and as blast.Summary.SkippedBy and blast.Message.Reason carry it. A
// host compares against these (sum.SkippedBy[eligibility.KeyOptedOut])
// without importing store or spelling the names itself. They are the
// names [Reason.String] returns and [ParseReason] reads: the one source of
// them.
const (
	KeySend            = "send"
	KeyNoContact       = "no_contact_info"
	KeyLandline        = "landline"
	KeyOptedOut        = "opted_out"
	KeyBlocked         = "blocked"
	KeyNotOptedIn      = "not_opted_in"
	KeySuppressed      = "suppressed"
	KeyUnsubscribed    = "unsubscribed"
	KeySharedAddress   = "shared_address"
	KeyNoAuthorization = "no_hipaa_authorization"
	KeyNoPEWC          = "no_pewc"
	KeyConfidential    = "confidential_request"
)
