// Package blasttest helps hosts test code that uses package blast: an
// Engine wired to in-memory stores, fake providers and a manual clock, and
// assertions on what was sent.
//
// # A harness
//
//	h := blasttest.NewEngine(t, nil)
//	h.Patients.Put(blasttest.Org, patients...)
//	c := h.Cohort(t, "Everyone", cohort.Filter{})
//	b, _ := h.Engine.CreateDraft(ctx, blasttest.Org, blast.Draft{…, CohortIDs: []string{c.ID}})
//	h.Engine.Send(ctx, blasttest.Org, b.ID, nil)
//	sum := h.Run(t, blasttest.Org, b.ID)
//	blasttest.RequireSent(t, h.SMS, "+15555550100")
//
// NewEngine starts the engine and stops it when the test ends. The clock
// stands still at Epoch; Run advances it only when the engine is idle (see
// blast.Engine.Idle), to the next timer, until the blast is completed or
// cancelled, so retries, backoff, quiet hours and rate limits play out
// deterministically and instantly.
//
// # Defaults
//
// The harness engine sends without rate limits (SMSRate and EmailRate are
// blast.RateUnlimited) with 2 workers and a PollInterval of one minute;
// Options changes any Config field.
package blasttest
