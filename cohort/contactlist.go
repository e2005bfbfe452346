package cohort

import "time"

// ContactList is the contact list of a list cohort ("Custom list · N
// contacts"): the normalised contacts the user pasted or uploaded and the
// patients they matched when the cohort was saved. See the package
// documentation ("Contact-list cohorts") for why the matched patient IDs,
// not the contacts, decide who a blast reaches.
type ContactList struct {
	// Contacts are the normalised contacts (E.164 phones, lower-case
	// emails), unique, in input order.
	Contacts []string `json:"contacts"`
	// PatientIDs are the IDs of the patients the contacts matched,
	// ascending and unique. Resolve sends to these patients.
	PatientIDs []string `json:"patient_ids"`
	// Unmatched are the contacts that matched no patient, in input order.
	Unmatched []string `json:"unmatched,omitempty"`
	// MatchedAt is when the contacts were matched to patients.
	MatchedAt time.Time `json:"matched_at,omitzero"`
}
