package sqlrow

import (
	"testing"
	"time"

	"github.com/carecast/carecast/store"
)

func TestTimeRoundTrip(t *testing.T) {
	for _, tt := range []time.Time{{}, time.Date(2026, 3, 10, 15, 0, 0, 123456789, time.UTC), time.Unix(0, 1).UTC()} {
		if got := Time(NS(tt)); !got.Equal(tt) {
			t.Errorf("Time(NS(%v)) = %v", tt, got)
		}
	}
	if NS(time.Time{}) != 0 {
		t.Error("the zero time must encode as 0")
	}
}

func TestAdd(t *testing.T) {
	st := NewStats()
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	Add(&st, &Group{Status: "sent", N: 3, Opened: 1, Segments: 4, Cost: 100, FirstSent: NS(t1.Add(time.Hour)), LastSent: NS(t1.Add(2 * time.Hour))})
	Add(&st, &Group{Status: "failed", Reason: "permanent", N: 2, FirstSent: NS(t1), LastSent: NS(t1)})
	Add(&st, &Group{Status: "skipped", Reason: "landline", N: 1})
	if st.ByStatus[store.RowSent] != 3 || st.FailedBy["permanent"] != 2 || st.SkippedBy["landline"] != 1 || st.Total() != 6 {
		t.Errorf("counts: %+v", st)
	}
	if !st.FirstSentAt.Equal(t1) || !st.LastSentAt.Equal(t1.Add(2*time.Hour)) {
		t.Errorf("sent bounds: %v %v", st.FirstSentAt, st.LastSentAt)
	}
	if st.Opened != 1 || st.Segments != 4 || st.Cost != 100 {
		t.Errorf("sums: %+v", st)
	}
}
