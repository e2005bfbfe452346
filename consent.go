package carecast

import (
	"errors"
	"strings"
	"time"
)

// ConsentEvidence is the record of a patient's prior express written
// consent (PEWC) to marketing texts (47 CFR 64.1200(a)(2), (f)(9);
// compliance.md SM-01): a written agreement that names the number,
// authorizes marketing texts and discloses that consent is not a
// condition of purchase. The host keeps it with the patient
// (Consent.SMSMarketingConsent); with blast.Config.RequirePEWC the engine
// sends marketing texts only to patients whose record is complete and
// names their current number.
type ConsentEvidence struct {
	// Phone is the number the consent names, as the patient gave it
	// (E.164 preferred). Consent does not carry over to a new number.
	Phone string `json:"phone"`
	// At is when the consent was given.
	At time.Time `json:"at"`
	// Source is how it was collected: "web_form", "paper", "keyword",
	// "tablet", …
	Source string `json:"source"`
	// DisclosureVersion identifies the exact disclosure text the patient
	// agreed to (a version or a hash of it).
	DisclosureVersion string `json:"disclosure_version"`
	// IP and UserAgent identify the device of an electronic signature,
	// where applicable.
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
}

// ErrConsentEvidence is the class of every *ConsentEvidenceError.
var ErrConsentEvidence = errors.New("carecast: incomplete consent evidence")

// ConsentEvidenceError lists the fields a ConsentEvidence lacks. It names
// fields, never their values.
type ConsentEvidenceError struct {
	// Missing lists the missing fields ("Phone", "At", "Source",
	// "DisclosureVersion").
	Missing []string
}

// Error implements error.
func (e *ConsentEvidenceError) Error() string {
	return "carecast: consent evidence is not valid for marketing texts: missing " + strings.Join(e.Missing, ", ")
}

// Unwrap returns ErrConsentEvidence.
func (e *ConsentEvidenceError) Unwrap() error { return ErrConsentEvidence }

// Validate reports whether e is complete enough to support marketing
// texts: a number, a time, a source and the disclosure version. It
// returns a *ConsentEvidenceError naming what is missing. Hosts should
// refuse to record marketing consent that fails it.
func (e *ConsentEvidence) Validate() error {
	if e == nil {
		return &ConsentEvidenceError{Missing: []string{"Phone", "At", "Source", "DisclosureVersion"}}
	}
	var missing []string
	if strings.TrimSpace(e.Phone) == "" {
		missing = append(missing, "Phone")
	}
	if e.At.IsZero() {
		missing = append(missing, "At")
	}
	if strings.TrimSpace(e.Source) == "" {
		missing = append(missing, "Source")
	}
	if strings.TrimSpace(e.DisclosureVersion) == "" {
		missing = append(missing, "DisclosureVersion")
	}
	if missing != nil {
		return &ConsentEvidenceError{Missing: missing}
	}
	return nil
}
