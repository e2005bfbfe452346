// Package render turns what a user composes into what each patient
// receives: merge fields personalised per patient, SMS segment counting
// exactly as carriers bill it, smart encoding, MMS validation, email
// composition, and the cost of a message and of a whole blast.
//
// Everything here is pure computation: no I/O, no clocks, no logging.
// Parsed templates are immutable and safe for concurrent use.
//
// # Merge fields
//
// The editor inserts a field when the user types @; the stored template
// holds it as a token in double braces:
//
//	Hi {{first_name}}, your appointment at {{organization_name}} is tomorrow.
//
// A token may carry a fallback after a bar, used when the patient's value
// is missing: {{first_name|there}} renders "there" for a patient without a
// first name. The fallback is literal text up to the closing "}}"; it may
// contain spaces and punctuation but not "}}". White space around the key
// is ignored ({{ first_name }}); keys are case-sensitive.
//
// An "@" is always literal: "help@clinic.com", "meet @ 5pm" and
// "@first_name" all render as typed; only braces make a field, so text
// survives round trips through the editor. A literal "{{" is written
// "{{{{" ([EscapeText] does this for plain text); a lone "}}" is literal.
// [ParseTemplate] rejects a token naming an unknown field with an
// *[UnknownFieldsError] listing every unknown token and its byte offset,
// and a "{{" that is never closed with a *[TemplateSyntaxError].
//
// The fields, in the order of the @ menu ([Fields]):
//
//	first_name         Patient's first name                    Jane
//	last_name          Patient's last name                     Smith
//	full_name          first and last name, one space          Jane Smith
//	preferred_name     preferred name, else first name         Janie
//	date_of_birth      date of birth                           January 15, 1990
//	birthday           date of birth without the year          January 15
//	phone              phone number, display format            (555) 123-4567
//	email              email address                           jane@example.com
//	patient_id         the host's patient ID                   P-10042
//	organization_name  the sending organization's name         Sunrise Family Clinic
//
// Phone numbers: a North American (+1) number is shown as "(555) 123-4567"
// when the organization's PhoneRegion is North American (empty means
// "US"), and as "+1 555-123-4567" otherwise; other numbers are shown in
// international format ("+44 20 7946 0958"). Numbers stored without a
// country code are read in the organization's region. A number that
// cannot be read is shown as stored.
//
// # Missing values
//
// Values are trimmed of surrounding white space. A value that is empty
// after trimming — or whose source (the patient, the organization) is nil,
// or a date of birth that is not a real calendar day — is missing. A
// missing value renders as the token's fallback, or as nothing when the
// token has none. Nothing else changes: the text around the token is kept
// exactly, spaces included ("Hi {{first_name}}!" renders "Hi !"), so
// counts stay predictable; use a fallback ("Hi {{first_name|there}}!")
// where an empty value would read badly. Substituted values are never
// parsed again: a patient named "{{x}}" is greeted as "{{x}}".
//
// # Email
//
// (Section maintained by the email composition code in this package.)
package render
