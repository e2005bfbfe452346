package main

import "testing"

func TestPhoneRoundTrip(t *testing.T) {
	for _, i := range []int{0, 1, 9999, 10000, 7_999_999, 8_000_000, 12_345_678} {
		if got := indexOfPhone(phoneOf(i)); got != i {
			t.Errorf("indexOfPhone(phoneOf(%d) = %s) = %d", i, phoneOf(i), got)
		}
	}
	if indexOfPhone("+15551234567") != -1 || indexOfPhone("x") != -1 {
		t.Error("foreign numbers must map to -1")
	}
}
