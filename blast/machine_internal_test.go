package blast

import "testing"

func TestMachineReason(t *testing.T) {
	for in, want := range map[string]string{
		"apple_mpp":                          "apple_mpp",
		"head_request":                       "head_request",
		"Scanner2":                           "Scanner2",
		"":                                   "other",
		"ana@example.com":                    "other",
		"Ana Doe":                            "other",
		"a:b":                                "other",
		"x123456789012345678901234567890123": "other",
	} {
		if got := machineReason(in, "other"); got != want {
			t.Errorf("machineReason(%q) = %q, want %q", in, got, want)
		}
	}
}
