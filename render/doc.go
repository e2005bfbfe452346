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
// # Clinical content and exempt messages
//
// Texts and emails are read on shared devices and pass through providers,
// so they carry only what HIPAA's minimum-necessary guidance allows
// (compliance HI-01): the practice's name, date, time, place, a call-back
// number and a link to the portal — never a diagnosis, procedure, test,
// medication, result or specialty. No merge field gives clinical
// information; a token asking for one ({{.Diagnosis}}, {{lab_result}},
// {{Medication}}) is an unknown field whose *[UnknownFieldsError] also
// matches [ErrPHIField], in [ParseTemplate], [CompileSMS] and [CompileEmail]
// alike. [UnknownFieldsError.PHIFields] documents which keys count as
// clinical.
//
// Clinical information typed as text is found by [ScanSensitive]:
// ICD-10-CM-like codes ("E11.9", "F32.A"; not "A1C", "B12" or "3.5") and
// the words and phrases of [SensitiveTerms] ("HIV", "chemotherapy",
// "pregnancy test"). Words every reminder uses — appointment, test,
// results, care — are not on the list. The blast refuses such a template
// unless a privileged user approves it.
//
// A text sent under the TCPA healthcare-message exemption (compliance
// SM-02) may carry no billing, collection, advertising or telemarketing
// content; [ScanExemptContent] finds it, with the terms of
// [ExemptBlockedTerms] ("balance due", "copay", "sale", "20% off").
//
// Both scanners read the template as written: whole words in either case
// ("AIDS" only in capitals, so "hearing aids" passes), merge tokens
// skipped (field keys, fallbacks and patient values are never read), each
// [Finding] giving the text and its byte offset, in source order, longest
// match first, never overlapping.
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
// CountSMS does not allocate; it reads GSM-7 text eight bytes at a time
// (well under a nanosecond a character) and takes the Unicode grapheme
// tables only for characters that need them, so the editor can call it
// on every keystroke.
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
//     characters ([SMSMaxBodyLength], counted as providers do, in UTF-16 code
//     units). A longer body is an error, never truncated: CompileSMS
//     rejects text that is too long even with every field empty, and
//     [RenderedSMS.Err] reports a patient whose values make it too long
//     (*[TooLongError], errors.Is [ErrTooLong]).
//   - Images. Up to three images ([MMSMaxImages]) make the message an MMS.
//     Each must be a JPEG, PNG or GIF — detected from its first bytes, not
//     its file name — and smaller than 1 MiB ([MMSMaxImageBytes]). Problems
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
// An email is composed as an [EmailContent]: subject, preview text, a body
// in one of three forms, style settings and attachments. [CompileEmail]
// does all the HTML work once per blast and returns an [EmailTemplate];
// [EmailTemplate.Render] then personalises it per recipient without
// parsing anything.
//
// The body forms ([ContentFormat]) all end in the same pipeline:
//
//   - [FormatMarkdown]: Markdown rendered by goldmark with the
//     GitHub-flavoured tables, strikethrough and autolinks (task-list
//     checkboxes are left out: email clients drop form controls). Raw HTML
//     inside the Markdown is allowed and sanitised like Code mode.
//   - [FormatBlocks]: a [BlockDocument] as the block editor saves it, in
//     JSON: heading (levels 1–3), paragraph with inline bold, italic and
//     links ([Inline]), image (optionally linked, sized and aligned),
//     button, blockquote, bulleted and numbered list, divider.
//     [ParseBlocks] validates it and reports a *[BlockError] naming the
//     block.
//   - [FormatHTML]: Code mode. The author's HTML, a fragment or a whole
//     document, is parsed as a browser parses it and rebuilt from an
//     allow-list of elements, attributes and CSS that [SanitizeEmailHTML]
//     documents: scripts, event-handler attributes, forms and their
//     controls, iframes and plug-ins, javascript: and data: URLs,
//     comments and metadata go; unknown elements are unwrapped. The
//     author's <style> elements and style attributes are tokenised as CSS
//     and written out again from the allowed rules, properties and values
//     only (no @import, expression(), behaviours, escapes or "<"), then
//     inlined; attributes on <html> and <body> are dropped (style the
//     body with a "body" rule instead).
//
// Merge tokens work in the subject, the preview text and every text of
// the body, with the syntax of the section "Merge fields". In the body a
// token may stand in text and in attributes such as alt and title, but
// never in a URL (href, src, …: URLs must not carry patient data,
// compliance HI-03), in CSS, or in a tag or attribute name: CompileEmail
// rejects those with a *[MergePlacementError]. Unknown fields are
// rejected at compile time with the merge parser's *[UnknownFieldsError]
// (wrapped in a *[BlockError] for block documents).
//
// # Email layout and styles
//
// The content is placed in an email-safe layout: nested tables with
// role="presentation", a centred content column [Style].ContentWidth
// pixels wide (600 by default) with a fixed-width wrapper for Outlook
// (conditional comment) and a media query that lets the column shrink on
// phones. [Style] sets the font family and size (headings scale from it),
// text, link, button and background colours; [Style.Validate] accepts
// only values that cannot break out of a CSS declaration, and
// [Style.WithDefaults] documents every default.
//
// The style sheet (the layout's rules first, then the author's) is
// inlined into style attributes by premailer once, in CompileEmail.
// Afterwards the only CSS left in a <style> element is the media queries
// (clients that ignore them still get the inlined desktop styles); rules
// premailer cannot inline — :hover, universal selectors, @font-face —
// are dropped, and <style media="…"> becomes an @media rule. Premailer
// matches every selector against the whole document, so CompileEmail
// refuses ([ErrStyleTooComplex]) an author style sheet whose selectors
// times the document's elements exceed [EmailMaxStyleMatches].
//
// The sanitiser's guarantee is about what leaves CompileEmail: after
// premailer, every style attribute and the remaining @media rules go
// through the CSS sanitiser once more and the document is checked again
// for event handlers, unsafe URLs and the removed elements, so nothing
// premailer does (it re-joins CSS tokens as text) can bring back what the
// sanitiser removed. The delivered HTML, parsed by a browser, holds no
// script, frame, plug-in or form element, no on* attribute, no
// javascript:, vbscript: or data: URL, and no CSS expression(),
// javascript: URL or "</style" (FuzzCompiledEmailSafe checks this on
// arbitrary Code-mode bodies).
//
// # Personalising emails
//
// CompileEmail splits the inlined HTML and the plain-text part into
// literal chunks and slots: merge values, links and the unsubscribe URL.
// [EmailTemplate.Render] copies the chunks and fills the slots, into one
// allocation; [EmailTemplate.RenderTo] does the same into a reusable
// [EmailBuffer] and allocates nothing once warm. Merge values are
// HTML-escaped in the HTML part, so a patient named
// <script>alert(1)</script> or Tom & "Jerry" is shown as text, and raw in
// the subject, the preview text and the text part (line breaks inside a
// value become spaces in the subject and preview text, so they cannot
// add header lines).
//
// Links: every http and https link of the body has an index, and
// [EmailTemplate.Links] lists their original URLs. When
// [EmailRenderOpts].RewriteLink is set, Render calls it once per link and
// puts the returned URL (a signed click-tracking URL, say) in both parts;
// no HTML is parsed per recipient. mailto:, tel: and fragment links are
// not rewritten.
//
// The preview text becomes the hidden preheader at the top of the body
// (followed by invisible spacers, so clients do not fill the inbox
// snippet with body text); it is not part of the text part.
//
// The plain-text part is generated from the same document, so every email
// is multipart/alternative: paragraphs and headings separated by blank
// lines, "- " and "1. " list items, "> " quotes, a dashed rule, buttons
// and links as "text (url)" (just the URL when the text is the URL).
//
// # Marketing footer
//
// Marketing emails get a footer (CAN-SPAM, compliance EM-06) saying why
// the recipient gets the email, an "Unsubscribe" link to stop all
// marketing emails from the organization, and the organization's name and
// postal address (carecast.Organization.PostalAddress, one line per
// element). The link's URL is a per-recipient slot filled from
// [EmailRenderOpts].UnsubscribeURL; the same URL belongs in the
// List-Unsubscribe header (compliance EM-01), which the sender adds.
// CompileEmail refuses a marketing email when the organization has no
// postal address ([ErrMissingPhysicalAddress]). Marketing email goes only
// to patients who opted in, so no advertisement label is added.
// Transactional emails have no footer: neither the link nor opt-out
// wording.
//
// # Attachments and test sends
//
// An email carries up to 10 attachments ([AttachmentMaxCount]), each
// non-empty and smaller than 25 MiB ([AttachmentMaxBytes]), with a plain
// file name whose extension Gmail does not block (executables, scripts,
// disk images). An empty ContentType is detected from the extension, then
// from the content ([AttachmentContentType]). [ValidateAttachments] also
// checks the total encoded size ([AttachmentsEncodedSize]) against the
// limit a provider declares (provider.Limits). Errors are
// *[AttachmentError] values naming the attachment by index, never by file
// name.
//
// [RenderTestEmail] compiles and renders the email for one sample patient
// exactly as a recipient gets it: the "Send Test" path.
package render
