// Package cohort defines the audiences of blasts: saved, named, reusable
// [Cohort]s of one organisation's patients, and the [PatientStore]
// interface through which carecast reads the host's patients.
//
// A cohort is either a filter over patients ("opted in to SMS marketing
// AND (no visit in 12 months OR total spent > $500) AND NOT tag vip") or a
// contact list pasted or uploaded by a user ("Custom list · 42
// contacts"). [Resolve] turns the cohorts of a blast into one stream of
// patients, each once, in ascending ID order.
//
// Stability: [PatientStore] and [Store] are stable; hosts implement them
// and check their implementations with package cohorttest.
//
// # Filters
//
// A [Filter] is a tree of [Expr] nodes: AND groups, OR groups, NOT, and
// conditions ([Cond]) of a field, an operator and an operand. Build one in
// Go:
//
//	f := cohort.Where(cohort.And(
//		cohort.BoolIs(cohort.FieldSMSMarketingOptIn, true),
//		cohort.Or(
//			cohort.Not(cohort.WithinLastDays(cohort.FieldLastVisit, 365)),
//			cohort.MoneyOp("total_spent", cohort.OpGreater, 500*carecast.Unit)),
//		cohort.Not(cohort.ContainsAny(cohort.FieldTags, "vip"))))
//
// or decode it from JSON with [ParseFilter] (or json.Unmarshal):
//
//	{"version":1,"where":{"and":[
//	  {"field":"sms_marketing_opt_in","op":"equals","bool":true},
//	  {"or":[{"not":{"field":"last_visit","op":"within_last_days","days":365}},
//	         {"field":"total_spent","op":"greater","money":[500000000]}]},
//	  {"not":{"field":"tags","op":"contains_any","strings":["vip"]}}]}}
//
// The document carries its format version ([FilterVersion]); decoding
// rejects unknown members, missing or newer versions and trailing data.
// Encoding is round-trip stable both ways. Money operands are integer
// micro-units (carecast.Money), never floats. [Schema.Describe] renders a
// filter in words with the schema's labels for pickers and dialogs.
//
// # Fields, attributes and the schema
//
// The core fields read carecast.Patient: location, provider, gender
// (string; exact match), tags (string set), age (whole years from the date
// of birth), active, the consent flags (sms_opted_out, sms_blocked,
// sms_marketing_opt_in, email_marketing_opt_in, email_unsubscribed,
// email_suppressed), last_visit (date), phone and email (presence only)
// and phone_line_type (enum). See the Field constants.
//
// Everything else a clinic filters by — engagement, scheduling, billing —
// lives in the host's database. The host declares it once in a [Schema]
// ([NewSchema] with [AttrDef]s: key, label, category, type number, money,
// date, bool, enum, string_set or string) and supplies the values on
// carecast.Patient.Attributes. A value stored with another type than
// declared counts as not set.
//
// [NewSchemaWith] can also declare the known values ("choices") of the
// core location, provider, gender and tags fields, and string or set
// attributes may list theirs: a filter naming an unknown tag or location
// is then rejected, and the UI can offer the values as a list.
//
// The schema is also what a filter-builder UI is drawn from:
// [Schema.Categories] groups every field with its label, type, the
// operators it accepts ([OpsFor]) and enum choices; a Schema encodes to
// JSON for the browser.
//
// # Operators
//
//	type        operators                                  operand
//	string      equals, in, is_set, is_not_set             Strings
//	enum        equals, in, is_set, is_not_set             Strings (declared values)
//	string_set  contains_any/all/none, is_set, is_not_set  Strings
//	number      equals, greater, less, between, is_set…    Numbers
//	money       equals, greater, less, between, is_set…    Money (micro-units)
//	date        before, after, between, within_last_days,  Times, or Days
//	            is_set, is_not_set
//	bool        equals, is_set, is_not_set                 Bool
//
// between is inclusive at both ends; greater, less, before and after are
// strict. within_last_days N matches instants from N calendar days before
// the query's now up to now (future instants do not match). Core flags
// are always set, so they accept only equals. Age operands are whole
// years from 0 to [MaxAge]; ages are computed on now's calendar date, and
// a 29 February birthday counts from 1 March in common years (as
// carecast.Date.AgeOn). Times compare at microsecond precision.
//
// # Unset values
//
// Every condition except is_not_set (and contains_none) is false for a
// patient who has no value for its field, and NOT is plain two-valued
// negation. So NOT over a condition on an unset value is true:
//
//	NOT last_visit within_last_days 365   also selects patients never seen
//	NOT membership equals "basic"         also selects patients without one
//	NOT age between 18 and 40             also selects unknown ages
//
// which is what "no visit in 12 months" or "not a basic member" mean to a
// clinic. A string set that is unset, nil or empty is the empty set:
// contains_none is true for it, is_set false. An empty string is unset.
// Package cohortsql compiles to SQL that keeps exactly these semantics
// (no SQL NULL ever reaches a NOT).
//
// # Validation and errors
//
// [Schema.Validate] (and [Schema.Plan], [Schema.Compile], every
// PatientStore) rejects an invalid filter with a *[FilterError] whose
// class is [ErrInvalidFilter]. It names the node (Path, e.g.
// "where.and[2].not"), the field and a [ErrorCode]: unknown field, an
// operator not allowed for the field's type, a bad or misplaced operand
// (including a value outside the field's declared choices),
// contradictory ranges (between with min > max, or "age > 60 AND age < 30"
// in one AND group), an empty group, too deep. Error strings never contain
// operand text or patient data: filters name the problem, not the values.
//
// Limits: a filter has at most [MaxNodes] nodes, [MaxDepth] levels and
// [MaxOperands] values per condition. Decoding ([ParseFilter],
// Filter.UnmarshalJSON) reads the document once without allocating and
// refuses one past MaxNodes or MaxOperands, or nested deeper than a
// MaxDepth filter can be, before building anything: what is decoded is
// within the limits and a small multiple of the document's size (8 MiB of
// empty group members used to decode into 600 MiB; now they are refused
// at member 10,000 with nothing allocated).
// Validation is linear in the number of operands (duplicates and declared
// choices are looked up in sets, not compared pairwise).
//
// # Time
//
// Relative conditions (age, within_last_days) are evaluated at the now the
// caller passes ([Query].Now, [Resolve], [Preview]): nothing here reads the
// wall clock, so tests use fixed instants. [Schema.Plan] lowers a filter at
// one now into canonical predicates (ages become date-of-birth ranges,
// windows become instant ranges) that both the in-memory matcher and
// cohortsql evaluate, which is why they agree.
//
// # Live preview and speed
//
// [Preview] returns the count and a few sample patients of a filter being
// edited, using the store's [PatientCounter] when it has one.
// [Schema.Compile] turns a filter into a [Matcher] of closures that tests a
// patient without allocating; [MemPatientStore] keeps each organisation's
// patients in a slice sorted by ID and streams matches in chunks, so
// Patients and Resolve cost no allocation per patient. BenchmarkCount100k
// counts 100,000 patients against a five-condition filter.
//
// # Resolving cohorts
//
// [Resolve] ORs the filter cohorts into one filter and streams it with one
// PatientStore.Patients call (a SQL store thus does the union in its
// database), merging in the patients of list cohorts fetched by ID in
// batches. Each patient appears once, in ascending byte-wise ID order.
//
// # Contact-list cohorts
//
// [ParseContacts] and the incremental [Parser] read pasted text or an
// uploaded CSV/TXT file: a column of phones, of emails, or both, with or
// without a header, quoted fields, a byte order mark, CRLF. Phones are
// normalised to E.164 with the practice's default region and emails
// trimmed and lower-cased by the same rules package eligibility applies at
// send time (github.com/nyaruka/phonenumbers metadata), so every imported
// contact is one a blast can reach. The
// running [ParseStats] (detected, duplicates, invalid lines) feed the
// "N contacts detected" counter as the user types; invalid and duplicate
// lines are reported by number only, and only the first
// [MaxReportedLines] (100) numbers of each are kept, next to counts of
// all of them. [MatchContacts] matches the contacts to
// patients through PatientStore.FindByContact (or, in one call, the
// store's optional [ContactMatcher]) and reports the unmatched ones. The cohort's [ContactList] keeps both the contacts and the matched
// patient IDs.
//
// Limits: the parser's work and memory do not grow with what an uploader
// chooses to send. It examines each byte a constant number of times
// however the input is cut into writes (typing one byte at a time inside
// an unclosed quote included: the quote state is carried from write to
// write, the unfinished record is never rescanned). It buffers at most
// one record, [ParseConfig].MaxLineLength bytes (default 64 KiB), and
// keeps at most MaxContacts contacts (default 50,000) and MaxInputBytes
// of input (default 16 MiB). Passing a limit stops the parse with a
// [*ParseLimitError] naming the limit and the line where the offending
// record starts — for an over-long record usually an unmatched double
// quote, which InQuote reports — never the content. Measured:
// 40 MiB of invalid lines parse with under 4 MiB live heap and 16 MiB in
// use (TestParserMemoryIndependentOfInputSize); BenchmarkParseContacts1M
// parses a million contacts in one write and one byte per write.
//
// CPU: plain North American numbers ("(212) 555-0101", "+1 212 555 0101")
// and emails are decided by table, at 15-20 MB/s for whole rows. Any
// other phone-like field (international, extensions, too few or too many
// digits) goes through phonenumbers, about 30-110 µs each: a file of
// nothing but such lines costs up to about 7 s of CPU per MiB, so about
// two minutes at the default MaxInputBytes. Hosts that take uploads from
// many users should set MaxInputBytes to what their lists need (a
// 50,000-row export with names is about 10 MB) and limit how often a user
// may import.
//
// Decision: a list cohort sends to the patients matched when the list was
// imported (ContactList.PatientIDs), not to whoever holds those contacts at
// send time. The user picked people: if a patient's number changes after
// the import, they still receive the blast at their current number; if a
// number is reassigned to another patient (recycled numbers, a family
// member's record updated), the new holder is not messaged by surprise.
// Patients deleted since are skipped, and eligibility still applies their
// current consent. A host that wants fresh matches calls
// [ContactList.Rematch] and saves the cohort again; the summary keeps
// counting the contacts ("Custom list · N contacts").
//
// # Stores
//
// [MemPatientStore] is a real, concurrency-safe PatientStore (not a mock):
// it passes the cohorttest suite, as do the SQL reference stores of
// package cohortsql's tests. [MemStore] keeps saved cohorts in memory as
// their JSON encoding. [PatientStore.ApplyContactChange] records STOP,
// START, unsubscribes, bounces and landline discoveries; [ChangeKind.Apply]
// gives hosts the exact effect of each kind.
package cohort
