package provider

import "strings"

// ClassifyBounce returns the class of an email refusal or bounce from its
// RFC 3463 enhanced status code ("5.1.1"), following compliance.md BO-02:
//
//	5.1.1, 5.1.2, 5.1.3, 5.1.10, 5.2.1   Suppress (hard bounce: the
//	                                     mailbox or domain does not exist)
//	5.7.x                                SenderBlocked (policy, reputation or
//	                                     authentication block: a sender
//	                                     problem, never suppress the patient)
//	other 5.x.x                          Permanent
//	4.7.x                                RateLimited (throttling)
//	other 4.x.x                          Transient (soft bounce)
//
// Anything else (empty, malformed, 2.x.x) is Ambiguous. Adapters use it for
// SMTP replies and for ESP bounce events alike.
func ClassifyBounce(enhanced string) Class {
	class, subject, _ := strings.Cut(strings.TrimSpace(enhanced), ".")
	subject, detail, ok := strings.Cut(subject, ".")
	if !ok || subject == "" || detail == "" || strings.Trim(subject+detail, "0123456789") != "" {
		return Ambiguous
	}
	switch class {
	case "4":
		if subject == "7" {
			return RateLimited
		}
		return Transient
	case "5":
		switch subject + "." + detail {
		case "1.1", "1.2", "1.3", "1.10", "2.1":
			return Suppress
		}
		if subject == "7" {
			return SenderBlocked
		}
		return Permanent
	}
	return Ambiguous
}
