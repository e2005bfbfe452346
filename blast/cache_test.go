package blast_test

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasttest"
	"github.com/carecast/carecast/render"
	"github.com/carecast/carecast/store"
)

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// attached is an email draft with a 1 MiB attachment (a different one
// each time, so nothing is shared).
func attached(cohortID string, seed byte) blast.Draft {
	d := emailDraft(carecast.Transactional, cohortID)
	d.Email.Attachments = []render.Attachment{{Filename: "leaflet.pdf", Data: bytes.Repeat([]byte{'%', seed}, 1<<19)}}
	return d
}

// noLinkIndex hides the memstore's optional store.LinkIndex (and the
// other optional interfaces): a store of a host that does not implement
// it.
type noLinkIndex struct{ store.Store }

// issue 12 §3: a click on a completed blast's link compiled the whole
// email and cached it forever (60 clicked blasts with a 1 MiB attachment:
// +60 MiB never freed). Clicks now read the link index; nothing is
// compiled or kept, and they still resolve.
func TestClicksDoNotCompile(t *testing.T) {
	for _, tt := range []struct {
		name    string
		noIndex bool
		blasts  int
	}{{"link index", false, 60}, {"store without a link index", true, 10}} {
		t.Run(tt.name, func(t *testing.T) {
			h, everyone := setup(t, population(1, nil), &blasttest.Options{Config: func(c *blast.Config) {
				if tt.noIndex {
					c.Store = noLinkIndex{c.Store}
				}
			}})
			tb := h.Engine.TrackingBackend()
			var recipients []string
			for i := range tt.blasts {
				b, sum := sendAndRun(t, h, attached(everyone.ID, byte(i)))
				require.Equal(t, 1, sum.Sent)
				rows := allMessages(t, h, b.ID, blast.CardSent, 10)
				recipients = append(recipients, blast.RecipientID(org, rows[0].ID))
			}
			bytes0, n := h.Engine.CompiledCacheSize()
			assert.Zero(t, n, "completed blasts leave the cache")
			assert.Zero(t, bytes0)

			before := heapInUse()
			for range 2 {
				for _, rid := range recipients {
					u, err := tb.LinkURL(ctx, rid, 0)
					require.NoError(t, err)
					assert.Equal(t, "https://clinic.example/hours", u)
					_, err = tb.LinkURL(ctx, rid, 1)
					assert.Error(t, err, "no link 1")
				}
			}
			after := heapInUse()
			bytes1, n := h.Engine.CompiledCacheSize()
			assert.Zero(t, n, "clicks cache no compiled blast")
			assert.Zero(t, bytes1)
			// One MiB of attachments per blast was retained before; the
			// links of 60 blasts are a few kilobytes.
			assert.Less(t, int64(after)-int64(before), int64(4<<20), "heap retained by clicks on %d blasts", tt.blasts)
		})
	}
}

// The compiled-blast cache stays within Config.CompiledCacheBytes while
// blasts are sent: the least recently used one is dropped (and compiled
// again when its next batch is due), and every message still goes out.
func TestCompiledCacheBound(t *testing.T) {
	const bound = 3 << 20
	h, everyone := setup(t, population(3, nil), &blasttest.Options{NoStart: true, Config: func(c *blast.Config) {
		c.CompiledCacheBytes = bound
		c.BatchSize = 1
	}})
	var ids []string
	for i := range 6 {
		b, err := h.Engine.CreateDraft(ctx, org, attached(everyone.ID, byte(i)))
		require.NoError(t, err)
		_, err = h.Engine.Send(ctx, org, b.ID, nil) // compiles and caches it
		require.NoError(t, err)
		size, n := h.Engine.CompiledCacheSize()
		assert.LessOrEqual(t, size, int64(bound), "after send %d", i)
		assert.Positive(t, n)
		ids = append(ids, b.ID)
	}
	require.NoError(t, h.Engine.Start(ctx))
	for _, id := range ids {
		sum := h.Run(t, org, id)
		assert.Equal(t, 3, sum.Sent)
		size, _ := h.Engine.CompiledCacheSize()
		// Each blast holds about 1.4 MiB (the attachment encoded, the
		// parts); the harness runs 2 workers.
		assert.LessOrEqual(t, size, int64(bound)+2*int64(2<<20), "at most one blast per busy worker over the bound")
	}
	for i := range 3 {
		assert.Len(t, h.Email.SentTo(email(i)), 6)
	}
	size, n := h.Engine.CompiledCacheSize()
	assert.Zero(t, n)
	assert.Zero(t, size)
}

// A PHI-bearing email's portal notice has links of its own: a click on
// one leads to the notice's link, not to the email's link of the same
// position.
func TestPortalNoticeLinks(t *testing.T) {
	type rewritten struct {
		row   int64
		index int
		url   string
	}
	var got []rewritten
	h, everyone := setup(t, population(2, func(i int, p *carecast.Patient) {
		p.Consent.EmailInsecureChannelAck = i == 0
	}), &blasttest.Options{CoversPHI: true, Config: func(c *blast.Config) {
		c.RewriteLink = func(_, _ string, row int64, i int, u string) string {
			got = append(got, rewritten{row, i, u})
			return u
		}
	}})
	d := emailDraft(carecast.Transactional, everyone.ID)
	d.Email.Subject = "Your appointment"
	d.PHI = true
	d.PortalEmail = &render.EmailContent{Subject: "A new message from {{organization_name}}", Format: render.FormatMarkdown,
		Body: "Please read it in your [patient portal](https://portal.clinic.example/inbox)."}
	_, sum := sendAndRun(t, h, d)
	require.Equal(t, 2, sum.Sent)
	require.Len(t, got, 2)
	tb := h.Engine.TrackingBackend()
	for _, rw := range got {
		u, err := tb.LinkURL(ctx, blast.RecipientID(org, rw.row), rw.index)
		require.NoError(t, err)
		assert.Equal(t, rw.url, u, "row %d link %d", rw.row, rw.index)
	}
	assert.NotEqual(t, got[0].index, got[1].index, "the notice's link has an index of its own")
}
