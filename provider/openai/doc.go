// Package openai is the AI writing assistant of the blast editor: it
// implements [provider.TextGenerator] with the official
// github.com/openai/openai-go/v3 client against any OpenAI-compatible chat
// completions endpoint — OpenAI, Azure OpenAI (its /openai/v1 root), vLLM,
// Ollama — with a configurable base URL, model and key.
//
// # Generating and regenerating
//
// [Client.Generate] drafts an SMS body, an email subject, preview text or
// body (GenerateRequest.Kind) from the staff member's prompt. To revise,
// pass the returned Generation.History back with the last Revision's
// Feedback set: the earlier drafts and feedback are replayed as the
// conversation, so the model edits rather than starts over.
//
// # What the model sees
//
// Only the staff prompt, the organisation's name, the names of the
// available merge fields and the constraints. Patient data never reaches
// the model: a GenerateRequest has no field that could carry it, and the
// organisation ID stays local. Environment variables (OPENAI_API_KEY, …)
// are never read; everything comes from [Config].
//
// # Checks
//
// Each draft is cleaned (surrounding white space, quotes, code fences and
// labels such as "Subject:" removed) and checked before it is offered:
//
//   - merge fields parse (render.ParseTemplate), exist, and are among
//     GenerateRequest.FieldKeys;
//   - an SMS body, with merge fields replaced by example values and the
//     engine's Suffix (the opt-out line) appended, fits MaxSegments
//     segments (render.CountSMS) and, with GSM7Only, the GSM-7 alphabet;
//   - a subject or preview text is one line within MaxSubjectChars (80) or
//     MaxPreviewChars (140); a body within MaxBodyChars.
//
// A failing draft is sent back to the model with the reason, up to
// Config.MaxAttempts drafts; then Generate returns a *[DraftError]
// (wrapping [ErrInvalidDraft]) naming the failed check.
//
// # Errors
//
// API failures are reported with their HTTP status only; the key, prompt
// and drafts never appear in errors. The client does not retry failed
// requests (the openai-go retries are disabled); the caller decides.
package openai
