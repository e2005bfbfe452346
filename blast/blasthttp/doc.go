// Package blasthttp exposes a blast.Engine as the JSON API a host's front
// end calls: every step of the product guide, from New Blast to Duplicate,
// is one endpoint. It is a plain http.Handler built on http.ServeMux
// patterns; the host mounts it under a prefix of its own router and keeps
// its own authentication.
//
//	api, err := blasthttp.New(&blasthttp.Config{
//		Engine:  engine,
//		Cohorts: cohorts,
//		Org: func(r *http.Request) (string, error) {
//			s, ok := sessions.From(r) // the host's auth
//			if !ok {
//				return "", blasthttp.ErrUnauthenticated
//			}
//			return s.OrgID, nil
//		},
//	})
//	mux.Handle("/api/", http.StripPrefix("/api", api))
//
// # Tenancy and authentication
//
// Config.Org decides the organization of every request, from the host's
// session; organization IDs are never read from a URL or body (a body
// naming one is rejected as an unknown field). Org returns
// ErrUnauthenticated for 401 or ErrForbidden for 403; any other error, or an
// empty ID, is answered 401 without echoing it. A blast of another
// organization is answered 404 exactly like a missing one.
//
// # Endpoints
//
// Paths are relative to the mount point. Bodies are JSON objects; unknown
// fields are rejected.
//
//	GET  /merge-fields                   the @ menu: key, token, label, example
//	POST /sms/count                      count as you type (stateless, see below)
//	GET  /cohorts                        the cohort picker
//	GET  /blasts?status=&limit=&cursor=  summaries (Listing), newest first; next_cursor pages
//	POST /blasts                         create a draft (Draft) → 201
//	GET  /blasts/{id}                    one blast with its content (Blast)
//	PUT  /blasts/{id}                    replace a draft's content and settings
//	POST /blasts/{id}/validate           the problems Send would report (422), or none and the warnings
//	GET  /blasts/{id}/preview            the send preview: counts and labelled rows
//	GET  /blasts/{id}/estimate           exact cost estimate (Estimate)
//	POST /blasts/{id}/test               Send Test to Me: {"to": "+1…", "patient_id": "", "portal_notice": false}
//	POST /blasts/{id}/send               send now, or {"at": RFC 3339} to schedule → 202
//	POST /blasts/{id}/cancel             cancel a scheduled, sending or paused blast
//	POST /blasts/{id}/resume             resume a paused blast (see blast.SenderBlockGuard)
//	POST /blasts/{id}/duplicate          a new draft with the content → 201
//	GET  /blasts/{id}/summary            stat cards (failed: its in_doubt part), progress, spend, low-delivery alert
//	GET  /blasts/{id}/live               the summary as server-sent events while sending
//	GET  /blasts/{id}/messages?card=&cursor=&limit=   the message list, by card
//	GET  /blasts/{id}/engagement?step=1h cumulative opens and clicks (email)
//	POST /blasts/{id}/retry              Retry Failed: {"include_in_doubt": false}
//	POST /blasts/{id}/reconcile          ask the SMS provider about in-doubt rows (blast.Engine.ReconcileInDoubt):
//	                                     {"checked", "accepted", "not_accepted", "unknown", "errors"}; 409
//	                                     reconcile_unsupported, 503 provider_rate_limited
//	GET  /blasts/{id}/patients?q=&limit= Add Recipients search
//	POST /blasts/{id}/recipients/count   {"patient_ids": […]} → RecipientsCount: "Send to N patients"
//	POST /blasts/{id}/recipients         add them: {"added": n}; "phi_approved" (see below)
//	GET  /analytics?from=&to=&bucket=24h volume, spend, engagement over time
//
// The draft body mirrors blast.Draft with the render package's own JSON for
// content:
//
//	{"name": "Flu shots", "cohort_ids": ["c1"], "channel": "sms",
//	 "purpose": "marketing", "sms": {"body": "Hi {{first_name|there}}"}}
//
// "urgent": true lets a transactional text bypass quiet hours (audited);
// "hipaa_basis" (treatment, refill_reminder, own_services_no_remuneration,
// authorized_marketing) and "sponsor_paid" classify it under HIPAA's
// marketing rule. "households": "one" sends patients sharing a phone
// (SMS) or email address one message between them, "each" one each;
// omitted, one for marketing and each for transactional.
//
// The recipients count answers {"count": 2, "label": "Send to 2
// patients", "new": 3, "skipped": 1, "reasons": {"opted_out": 1}}: count
// is how many Add Recipients would send the message to (the label says
// it), new how many of the IDs are patients not yet in the blast, and
// reasons why the others would be skipped (blast.Engine.NewRecipients).
//
// Health-content fields (see blast.Draft): "phi" with "portal_sms" or
// "portal_email" for a PHI-bearing blast, "healthcare_exempt" for the
// TCPA healthcare-message exemption, and "phi_approved": true to approve
// content the sensitive-content check flags. The approval is recorded in
// the requesting user's name (Config.User) and only for users
// Config.CanApprovePHI allows. It covers that version of the content and
// audience only (blast.Approval): an update that changes either drops it
// (send "phi_approved" again to approve the new version), a rename keeps
// it, and a duplicate never has one. A blast answers it as
// "phi_approved_by" and "phi_approved_at". Adding recipients to a blast
// whose content needed an approval needs one too: POST
// /blasts/{id}/recipients with "phi_approved": true by an allowed user
// (422 approval_scope without it, 403 for a user who may not approve).
//
// GET /blasts answers summaries, never content: {"blasts": [{"id",
// "name", "cohort_ids", "channel", "purpose", "status", "created_by",
// "duplicated_from", times}], "next_cursor"}. Pass next_cursor back as
// cursor for the next page; anything else is a 400 naming "cursor".
//
// Send Test to Me personalises the test for the synthetic
// blast.SamplePatient; "patient_id" picks a real patient only when
// Config.CanViewPatient allows the user that patient (nil allows nobody:
// 403 patient_forbidden, the same whether the patient exists or not).
// "to" is validated like a contact (422 invalid_destination) and refused
// when a real send would skip it (409 destination_refused, the reason —
// opted_out, blocked, suppressed, unsubscribed, landline,
// confidential_request — as the problem's code). The answer is
// {"provider_message_id", "patient_id", "portal_notice"}; every test is
// audited (see blast.Engine.SendTest).
//
// Money is returned as {"micros": 7900, "display": "0.0079"}: integer
// micro-units (carecast.Money) and a display string, never a float.
//
// # Counting as the user types
//
// POST /sms/count takes {"text", "purpose", "images", "recipients",
// "opt_out_line", "smart_encoding"} and answers without touching storage:
// "typed" measures the text as typed (render.CountSMS: encoding,
// characters, units, segments, remaining), "message" the text a patient
// receives (merge fields filled with example values and, for marketing, the
// opt-out line), and "cost" the quick estimate for recipients messages
// (render.QuickEstimateSMS pricing; MMS when images > 0). Text that does not
// compile yet is not an error: "problem" says why and "unknown_fields" lists
// misspelt merge fields, so the editor can underline them.
//
// # Limits
//
// A draft is checked when it is created or updated (422 validation, "the
// draft cannot be saved", each problem naming its field) against the
// limits Send enforces, listed in the blast package documentation
// ("Limits"): a known channel ("sms" or "email"; "SMS" and "" are
// refused) and purpose, a name of at most 200 characters without control
// characters, SMS sources of 16 KiB, subjects and preview texts of 998
// bytes, bodies of 1 MiB, three MMS images under 1 MiB, ten attachments
// under 25 MiB within the provider's limit, and a compiled email of at
// most 40 MiB. Request bodies are bounded by Config.MaxBodyBytes (8 MiB
// by default), lists by ListLimitMax (200), message pages by 1,000, Add
// Recipients by RecipientsMax (1,000), searches by SearchQueryMax (200
// bytes). A path ID no blast can have (control characters, over 255
// bytes) is a 404 without a store lookup.
//
// # Memory
//
// No request reads more than one blast's content: lists, summaries, the
// live stream, the message list and Add Recipients read blasts without
// it, and tracked clicks read a link index. One GET /blasts?limit=200
// over 40 drafts of 7.9 MiB each (5.9 MiB attachments, at the default
// body limit) allocates about 150 KB and answers about 11 KB; the test
// TestListIsSmall holds it under 2 MiB (it was a 320 MiB answer and a
// 1.7 GiB peak heap when the list carried content). The largest answer is
// GET /blasts/{id} of a draft at the body limit (its content, about
// 8 MiB).
//
// # Live progress
//
// GET /blasts/{id}/live is a text/event-stream of "summary" events (the
// summary endpoint's JSON): one at once, then one after each change the
// engine signals (Engine.Changed), at most one per Config.LiveInterval. The
// stream ends after the event of a settled blast (completed, or cancelled
// with nothing pending), or after Config.LiveMax; a browser's EventSource
// reconnects by itself:
//
//	const es = new EventSource('/api/blasts/' + id + '/live');
//	es.addEventListener('summary', e => {
//		const s = JSON.parse(e.data);
//		draw(s);
//		if (s.status === 'completed' || s.status === 'cancelled' && s.pending === 0) es.close();
//	});
//
// # Errors
//
// Every error is {"error": {"code", "message", "field", "problems"}},
// with a PHI-free message; engine errors are mapped by class and their text is
// never echoed:
//
//	400 bad_json, unknown_field, bad_request   malformed body or parameter ("field" names it)
//	401 unauthenticated, 403 forbidden          from Config.Org
//	403 phi_approval_forbidden                  "phi_approved" by a user Config.CanApprovePHI refuses
//	403 patient_forbidden                       a test's "patient_id" the user may not see (Config.CanViewPatient)
//	404 not_found                               missing, or another organization's
//	405 method_not_allowed
//	409 already_sent, not_sent, cancelled, not_cancellable, not_paused   wrong state
//	409 changed                                 the draft changed while it was being sent; nothing was sent
//	409 complaint_rate_gate                     marketing email paused (blast.ComplaintGuard)
//	409 destination_refused                     a test's "to" opted out or suppressed: problems: [{code: reason, field: "to"}]
//	408 body_timeout                            body not received within Config.BodyReadTimeout
//	413 too_large                               body over Config.MaxBodyBytes
//	413 too_many_values                         body of more than MaxJSONValues JSON values
//	422 validation                              problems: [{code, field, message, fields}]: a draft that
//	                                            cannot be saved or sent, recipients that cannot be added
//	                                            (approval_scope), a cohort that is not the organization's
//	                                            (preview, estimate)
//	422 invalid_destination                     a test's "to" is not a phone number / email address: problems: [{code: "destination", field: "to"}]
//	502 test_failed                             the provider refused a test send
//	503 unavailable                             engine stopped, request cancelled
//	500 internal                                logged with IDs, answered generically
//
// # Privacy
//
// Request bodies (message text, phone numbers) are never logged or echoed
// in errors; JSON errors name fields and byte offsets, not values. Only
// server errors are logged, with the organization and blast IDs and the
// engine's PHI-free error. Responses do carry PHI where the UI needs it (the
// patient search of Add Recipients), so the host must serve them over its
// authenticated, TLS-protected origin.
//
// # Request bodies
//
// A body is bounded three ways before anything is decoded: in size
// (Config.MaxBodyBytes, 8 MiB by default: 413 too_large), in time
// (Config.BodyReadTimeout, a minute by default, set as the connection's
// read deadline through http.ResponseController: 408 body_timeout, so a
// client trickling a byte a second cannot hold a connection and a
// goroutine), and in the number of JSON values (MaxJSONValues, counted in
// one pass over the bytes: 413 too_many_values, so 8 MiB of "", never
// becomes millions of strings). The host's http.Server should still set
// ReadHeaderTimeout, ReadTimeout, WriteTimeout (longer than LiveMax) and
// IdleTimeout, as the examples do.
package blasthttp
