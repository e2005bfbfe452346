package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBusiestWindow(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(ms ...int) []time.Time {
		out := make([]time.Time, len(ms))
		for i, m := range ms {
			out[i] = t0.Add(time.Duration(m) * time.Millisecond)
		}
		return out
	}
	tests := []struct {
		name string
		ts   []time.Time
		want int
	}{
		{"empty", nil, 0},
		{"one", at(5), 1},
		{"window is half-open", at(0, 999, 1000), 2},
		{"sliding, not aligned", at(0, 600, 900, 1100, 1500, 1601), 4},
		{"burst", at(10, 10, 10, 2000), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := busiestWindow(tt.ts, time.Second); got != tt.want {
				t.Errorf("busiestWindow = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestCountDuplicates(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, log string
		want      int
	}{
		{"none", "1\n2\n3\n", 0},
		{"one recipient twice", "1\n2\n1\n", 1},
		{"three times counts once", "7\n7\n7\n", 1},
		{"torn last line ignored", "1\n2\n1", 1},
		{"garbage ignored", "1\nx\n1x\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			if err := os.WriteFile(p, []byte(tt.log), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := countDuplicates(p)
			if err != nil || got != tt.want {
				t.Errorf("countDuplicates = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
	if n, err := countDuplicates(filepath.Join(dir, "missing")); n != 0 || err != nil {
		t.Errorf("a missing log means nothing was confirmed: %d, %v", n, err)
	}
}

func TestOutputKeepsPinnedFieldOrder(t *testing.T) {
	r := (&result{}).add("scenario", "e2e-sqlite").add("n", 1000).add("seconds", 0.5).add("per_second", 2000.0).add("peak_rss_mib", 50.5)
	var b bytes.Buffer
	if err := writeJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	want := `{"scenario":"e2e-sqlite","n":1000,"seconds":0.5,"per_second":2000,"peak_rss_mib":50.5}` + "\n"
	if b.String() != want {
		t.Errorf("JSON = %s, want %s", b.String(), want)
	}
	b.Reset()
	if err := writeTable(&b, []*result{r}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "e2e-sqlite") || !strings.Contains(b.String(), "per_second=2000") {
		t.Errorf("table:\n%s", b.String())
	}
}

func TestPeakRSS(t *testing.T) {
	if got := peakRSSMiB(); got <= 0 || got > 1<<20 {
		t.Errorf("peakRSSMiB = %v", got)
	}
}
