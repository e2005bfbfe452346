package carecast_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast"
)

// compliance.md SM-01 test 2: evidence without a disclosure version (or
// any other required field) is not valid for marketing texts.
func TestConsentEvidenceValidate(t *testing.T) {
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	for name, tt := range map[string]struct {
		ev      *carecast.ConsentEvidence
		missing []string
	}{
		"complete":      {&carecast.ConsentEvidence{Phone: "+12125550100", At: at, Source: "keyword", DisclosureVersion: "v1"}, nil},
		"no disclosure": {&carecast.ConsentEvidence{Phone: "+12125550100", At: at, Source: "paper"}, []string{"DisclosureVersion"}},
		"blank fields":  {&carecast.ConsentEvidence{Phone: " ", Source: "\t", DisclosureVersion: " "}, []string{"Phone", "At", "Source", "DisclosureVersion"}},
		"nil":           {nil, []string{"Phone", "At", "Source", "DisclosureVersion"}},
	} {
		err := tt.ev.Validate()
		if tt.missing == nil {
			assert.NoError(t, err, name)
			continue
		}
		require.ErrorIs(t, err, carecast.ErrConsentEvidence, name)
		var ce *carecast.ConsentEvidenceError
		require.ErrorAs(t, err, &ce, name)
		assert.Equal(t, tt.missing, ce.Missing, name)
	}
}
