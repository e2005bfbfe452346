package eligibility

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/carecast/carecast"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPreviewJSON(t *testing.T) {
	ps := synthPatients(2000, 12)
	pv, err := BuildPreview(context.Background(), stream(ps, nil), carecast.SMS, carecast.Marketing, &PreviewOpts{CollapseShared: true})
	require.NoError(t, err)
	b, err := json.Marshal(pv)
	require.NoError(t, err)

	var raw map[string]any
	require.NoError(t, json.Unmarshal(b, &raw))
	assert.Equal(t, "sms", raw["channel"])
	assert.Equal(t, float64(pv.Count(Blocked)), raw["by_reason"].(map[string]any)["blocked"])
	rows := raw["rows"].([]any)
	assert.Len(t, rows, len(pv.Rows()))
	assert.Equal(t, map[string]any{"reason": "send", "label": "Will send", "count": float64(pv.WillSend)}, rows[0])

	var back Preview
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, pv, back)

	for _, bad := range []string{
		`{"total":1,"by_reason":{"nope":1}}`,
		`{"total":2,"will_send":1,"by_reason":{"send":1}}`,
		`{"total":1,"will_send":0,"by_reason":{"send":1}}`,
		`[1]`,
	} {
		assert.ErrorContains(t, json.Unmarshal([]byte(bad), &back), "eligibility:", bad)
	}
}
