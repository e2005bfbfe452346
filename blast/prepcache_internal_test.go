package blast

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/render"
)

func TestByteLRU(t *testing.T) {
	type v struct{ n int }
	c := newByteLRU[*v](10)
	a, b, d := &v{1}, &v{2}, &v{3}
	assert.Same(t, a, c.put("a", a, 4, false))
	c.put("b", b, 4, true) // pinned
	got, ok := c.get("a", false)
	require.True(t, ok)
	assert.Same(t, a, got, "a is now the most recently used")
	c.put("d", d, 4, false) // 12 > 10: the least recently used unpinned goes
	_, ok = c.peek("b")
	assert.True(t, ok, "pinned: kept although least recently used")
	_, ok = c.peek("a")
	assert.False(t, ok, "a was the least recently used unpinned value")
	_, ok = c.peek("d")
	assert.True(t, ok, "just put")
	size, n := c.size()
	assert.Equal(t, int64(8), size)
	assert.Equal(t, 2, n)

	other := &v{9}
	assert.Same(t, b, c.put("b", other, 4, false), "the value cached first wins")
	c.unpin("b", b)
	c.put("big", &v{4}, 11, false)
	_, ok = c.peek("big")
	assert.False(t, ok, "larger than the bound alone: not kept")
	_, ok = c.peek("d")
	assert.True(t, ok, "and nothing else is flushed for it")
	size, _ = c.size()
	assert.LessOrEqual(t, size, int64(10))

	removed, ok := c.remove("d")
	assert.True(t, ok)
	assert.Same(t, d, removed)
	_, ok = c.remove("d")
	assert.False(t, ok)

	huge := &v{5}
	c.put("huge", huge, 20, true)
	_, ok = c.peek("huge")
	assert.True(t, ok, "kept while pinned")
	c.unpin("huge", huge)
	_, ok = c.peek("huge")
	assert.False(t, ok, "dropped when unpinned")
	size, _ = c.size()
	assert.LessOrEqual(t, size, int64(10))
	c.unpin("zzz", a) // unknown key: no effect
}

// The fingerprint of an approval survives the store's encoding: what is
// read back and sent is what was approved.
func TestFingerprintStable(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\nrest")
	drafts := []Draft{
		{Channel: carecast.SMS, Purpose: carecast.Transactional, CohortIDs: []string{"c1", "c2"}, From: "+15125550100",
			SMS: &render.SMSContent{Body: "Hi {{first_name}} é 😀", Images: []render.Image{{Filename: "a.png", Data: png, URL: "https://x.example/a.png"}}},
			PHI: true, PortalSMS: &render.SMSContent{Body: "See the portal"}, HealthcareExempt: true},
		{Channel: carecast.Email, Purpose: carecast.Marketing, ReplyTo: "r@x.example", HIPAABasis: BasisOwnServices,
			Email: &render.EmailContent{Subject: "S", PreviewText: "P", Format: render.FormatHTML, Body: "<p>x</p>",
				Style:       render.Style{TextColor: "#123456", ContentWidth: 640},
				Attachments: []render.Attachment{{Filename: "a.pdf", ContentType: "application/pdf", Data: bytes.Repeat([]byte{0, 1, 2}, 1000)}}},
			PortalEmail: &render.EmailContent{Subject: "Portal", Format: render.FormatMarkdown, Body: "[portal](https://p.example)"}},
		{Channel: carecast.SMS, Purpose: carecast.Transactional},
	}
	for i, d := range drafts {
		content, err := encodeDraft(&d, &approvalJSON{By: "dr", Fingerprint: "x"})
		require.NoError(t, err)
		var back Draft
		_, err = decodeDraft(content, &back)
		require.NoError(t, err)
		back.Channel, back.Purpose, back.CohortIDs = d.Channel, d.Purpose, append([]string(nil), d.CohortIDs...)
		assert.Equal(t, fingerprint(&d), fingerprint(&back), "draft %d", i)
		// And a change shows.
		changed := back
		changed.From += "1"
		assert.NotEqual(t, fingerprint(&d), fingerprint(&changed), "draft %d", i)
		var raw map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(content, &raw))
		if d.Email != nil {
			var email map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(raw["email"], &email))
			assert.NotContains(t, email, "attachments", "attachments stored once")
		}
	}
	// Attachment bytes count, not only their names.
	a, b := drafts[1], drafts[1]
	email := *a.Email
	email.Attachments = []render.Attachment{{Filename: "a.pdf", ContentType: "application/pdf", Data: bytes.Repeat([]byte{0, 1, 3}, 1000)}}
	b.Email = &email
	assert.NotEqual(t, fingerprint(&a), fingerprint(&b))
}

// What the engine keeps per blast or per name stays bounded: unknown
// time-zone names (patient data) are cached up to locMissesMax, and a
// completed blast's sender-refusal count is dropped with it.
func TestEngineMapsBounded(t *testing.T) {
	e := &Engine{cfg: Config{}.withDefaults(), blocked: map[string]int{}, prepared: newByteLRU[*prepared](1 << 20)}
	for i := range 3 * locMissesMax {
		assert.Equal(t, time.UTC, e.location(fmt.Sprintf("Mars/Crater_%d", i), time.UTC))
	}
	n := 0
	e.locs.Range(func(any, any) bool { n++; return true })
	assert.LessOrEqual(t, n, locMissesMax)
	assert.Equal(t, "America/Chicago", e.location("America/Chicago", time.UTC).String(), "known zones are still cached")

	e.cfg.SenderBlockGuard.Threshold = 5
	e.senderBlocked(context.Background(), "org", "b-1", carecast.SMS, "30007")
	require.Len(t, e.blocked, 1)
	e.forget("b-1")
	assert.Empty(t, e.blocked, "dropped when the blast completes")
}
