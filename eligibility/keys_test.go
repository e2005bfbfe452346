package eligibility_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carecast/carecast/eligibility"
)

// Every reason has its exported key, the keys are the stored names (which
// never change: ledgers hold them), and ParseReason reads each back.
func TestReasonKeys(t *testing.T) {
	keys := map[eligibility.Reason]struct{ key, stored string }{
		eligibility.Send:            {eligibility.KeySend, "send"},
		eligibility.NoContact:       {eligibility.KeyNoContact, "no_contact_info"},
		eligibility.Landline:        {eligibility.KeyLandline, "landline"},
		eligibility.OptedOut:        {eligibility.KeyOptedOut, "opted_out"},
		eligibility.Blocked:         {eligibility.KeyBlocked, "blocked"},
		eligibility.NotOptedIn:      {eligibility.KeyNotOptedIn, "not_opted_in"},
		eligibility.Suppressed:      {eligibility.KeySuppressed, "suppressed"},
		eligibility.Unsubscribed:    {eligibility.KeyUnsubscribed, "unsubscribed"},
		eligibility.SharedAddress:   {eligibility.KeySharedAddress, "shared_address"},
		eligibility.NoAuthorization: {eligibility.KeyNoAuthorization, "no_hipaa_authorization"},
		eligibility.NoPEWC:          {eligibility.KeyNoPEWC, "no_pewc"},
		eligibility.Confidential:    {eligibility.KeyConfidential, "confidential_request"},
	}
	require.Len(t, keys, eligibility.NumReasons, "a key for every reason")
	for _, r := range eligibility.Reasons() {
		k, ok := keys[r]
		require.True(t, ok, "reason %d has no key", r)
		assert.Equal(t, k.stored, k.key, "the stored name never changes")
		assert.Equal(t, k.key, r.String())
		back, err := eligibility.ParseReason(k.key)
		require.NoError(t, err)
		assert.Equal(t, r, back)
	}
}
