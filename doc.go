// Package carecast is the shared vocabulary of the carecast blast engine: an
// embeddable Go library that healthcare practice-management and EHR backends
// import to send bulk patient messages ("blasts") by SMS and email.
//
// This root package holds only the types every other package speaks:
// [Patient] with its [Consent] state, [Channel], [Purpose], [Organization]
// and [Money]. It contains no engine code and imports nothing of ours.
//
// # The pieces
//
// A host backend owns its patients and its HTTP server; carecast owns the
// blast from audience to results:
//
//   - package cohort: saved, reusable audiences (filters over patients,
//     or contact lists) and the PatientStore interface the host implements
//     over its own database;
//   - package eligibility: the one decision per patient, channel and purpose
//     (will send, or skipped for exactly one stated reason) and the send
//     preview counts;
//   - package render: merge fields, SMS segment counting (GSM-7 / UCS-2),
//     MMS and attachment validation, email composition (Markdown, block
//     documents or raw HTML, styled, CSS inlined once per blast, personalised
//     per recipient) and cost estimates;
//   - package provider: the narrow interfaces SMS and email vendors plug into,
//     their error classes and webhook events, with adapters for Twilio, SMTP
//     and OpenAI-compatible writing assistants, and an in-memory fake;
//   - package store: the persistence interface of the per-recipient ledger,
//     with an in-memory store, an embedded SQLite store (the default) and a
//     PostgreSQL store for several instances;
//   - package blast: the Engine hosts hold — drafts, preview, test sends,
//     rate-limited fan-out with retry, scheduling, cancel, retry failed, add
//     recipients, duplicate, results, provider events and analytics.
//
// # Privacy
//
// Patients' names, phone numbers, email addresses and message bodies are
// protected health information in most deployments. No carecast package logs
// them, puts them in URLs or tokens, or writes them into error strings: logs
// and errors name patients by [Patient.ID] only.
//
// # Money
//
// Amounts are integer micro-units of the organization's currency ([Money]),
// so that per-segment carrier prices such as $0.0079 are exact and a million
// of them add up without rounding.
package carecast
