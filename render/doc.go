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
// # Counting characters and texts
//
// [CountSMS] measures a text exactly as Twilio's public segment calculator
// does, which is how carriers bill it:
//
//   - Encoding. A text is GSM-7 when every character is in the GSM 03.38
//     basic table (ASCII letters, digits and most punctuation, plus
//     £ ¥ è é ù ì ò Ç Ø ø Å å Δ _ Φ Γ Λ Ω Π Ψ Σ Θ Ξ Æ æ ß É ¤ ¡ Ä Ö Ñ Ü § ¿
//     ä ö ñ ü à) or its extension table (^ { } \ [ ~ ] | € and form feed).
//     One character outside both — "ç", "á", "ë", a curly quote, the
//     backtick, a tab, an emoji — makes the whole text UCS-2. The ESC
//     control character (U+001B) is the tables' escape code, not a
//     sendable character, so it also forces UCS-2.
//   - Units. GSM-7 counts septets: 1 per basic character, 2 per extension
//     character (escape + code). UCS-2 counts UTF-16 code units: 1 per
//     character of the Basic Multilingual Plane (extension characters
//     included), 2 per character beyond it (most emoji).
//   - Segments. A text of at most 160 septets or 70 units is one segment.
//     A longer one is split into segments of at most 153 septets or 67
//     units (each carries a 6-byte concatenation header). Segments are
//     filled greedily and a unit that does not fit closes the segment
//     early: an escape pair, a surrogate pair or a grapheme cluster (a
//     flag, a skin-toned or ZWJ emoji, a letter with combining marks) is
//     never split, so a text can need more than ceil(units/153) segments.
//     The one exception is a cluster longer than a whole segment (dozens
//     of combining marks), which is split between code points so that no
//     segment exceeds its limit; Twilio's calculator would report an
//     over-full segment there.
//   - CR and LF are ordinary one-septet characters, counted and split
//     separately even when they form a CRLF pair. An empty text is one
//     segment of zero units.
//   - Characters counts user-perceived characters (grapheme clusters):
//     "🇮🇹" is one character of four units.
//
// [SplitSMS] returns the segments themselves; joined they are the text.
// CountSMS does not allocate and costs about 1 ns per character for GSM-7
// text, so the editor can call it on every keystroke.
//
// # Smart encoding
//
// [SmartEncode] replaces Unicode look-alikes that force UCS-2 with GSM-7
// equivalents, following the list Twilio publishes for its Smart Encoding:
// curly and angled quotes become straight quotes, dashes and bullets a
// hyphen, the ellipsis three dots, unusual spaces (no-break, thin, em,
// ideographic, tab) a space, fullwidth forms their ASCII letters, fractions
// "1/2", and invisible characters (zero-width space, BOM, control
// characters) are removed. Accented letters outside GSM-7 and emoji are
// kept. [SmartEncodeReport] also says what changed and how many segments
// that saved. It is off by default; SMSContent.SmartEncoding turns it on
// for a blast, and it then applies to every personalised message.
//
// # SMS and MMS messages
//
// [CompileSMS] checks what the user composed ([SMSContent]) for a purpose
// and organization and returns an [SMSTemplate]:
//
//   - Opt-out line. Marketing texts get "Reply STOP to opt out" on a line
//     of its own at the end (compliance SM-07); transactional texts do
//     not, unless SMSContent.OptOutLine says otherwise. A sender that
//     cannot receive replies must use another line that says so and gives
//     another way out ([NoReplyOptOutLine]). The line is part of the body:
//     it is counted in the preview, in every message's segments and in
//     the cost.
//   - Length. A body, opt-out line included, may have at most 1,600
//     characters ([MaxBodyLength], counted as providers do, in UTF-16 code
//     units). A longer body is an error, never truncated: CompileSMS
//     rejects text that is too long even with every field empty, and
//     [RenderedSMS.Err] reports a patient whose values make it too long
//     (*[TooLongError], errors.Is [ErrTooLong]).
//   - Images. Up to three images ([MaxImages]) make the message an MMS.
//     Each must be a JPEG, PNG or GIF — detected from its first bytes, not
//     its file name — and smaller than 1 MiB ([MaxImageBytes]). Problems
//     are reported as *[ImageError] values naming the image's index, one
//     per problem, wrapping [ErrTooManyImages], [ErrImageTooLarge],
//     [ErrImageType] or [ErrImageEmpty]. An MMS is not split into
//     segments (its Count.Segments is 1) and is priced per message.
//
// [SMSTemplate.Render] personalises the message for one patient, appends
// the opt-out line, applies smart encoding when enabled and counts it.
// [SMSTemplate.Preview] counts the message as the editor shows it, with
// each field's example value (and the organization's own name).
//
// # Pricing and estimates
//
// [Pricing] holds the price of an SMS segment, an MMS and an email
// recipient in carecast.Money micro-units. [DefaultPricing] is $0.0079 a
// segment, $0.0237 an MMS (three times a segment, as the guide says) and
// $0.0001 an email; hosts set their contract prices. [Pricing.SMSCost] is
// the per-message cost the engine records at send time.
//
// Two estimates exist. [QuickEstimateSMS] multiplies the preview's cost by
// the audience size; it is what updates as the user types. [EstimateSMS]
// renders and counts every recipient's message as it will be sent: the
// total segments, the distribution of segments per message, the
// recipients whose personalised text changes encoding (one "Zoë" can turn
// a one-segment GSM-7 text into three UCS-2 segments), the recipients
// whose text would be too long, and the exact total cost.
//
// # Email
//
// (Section maintained by the email composition code in this package.)
package render
