package blast

import (
	"strings"
	"testing"
	"time"

	"github.com/carecast/carecast"
)

func TestLookupAreaCode(t *testing.T) {
	tests := []struct {
		phone, region, zone string
		ok                  bool
	}{
		{"+13055550100", "FL", "America/New_York", true},
		{"+18505550100", "FL", "America/Chicago", true},
		{"+14055550100", "OK", "America/Chicago", true},
		{"+14105550100", "MD", "America/New_York", true},
		{"+12125550100", "NY", "America/New_York", true},
		{"+16025550100", "AZ", "America/Phoenix", true},
		{"+18085550100", "HI", "Pacific/Honolulu", true},
		{"+19155550100", "TX", "America/Denver", true},
		{"+12195550100", "IN", "America/Chicago", true},
		{"+14165550100", "ON", "America/Toronto", true},
		{"+17875550100", "PR", "America/Puerto_Rico", true},
		{"13055550100", "FL", "America/New_York", true},
		{"3055550100", "FL", "America/New_York", true},
		{"+15555550100", "", "", false},  // not assigned
		{"+447700900123", "", "", false}, // not NANP
		{"+1305555010", "", "", false},   // too short
		{"+1305555010x", "", "", false},
		{"+11235550100", "", "", false}, // NPA cannot start with 1
		{"", "", "", false},
	}
	for _, tt := range tests {
		got, ok := LookupAreaCode(tt.phone)
		if ok != tt.ok || got.Region != tt.region || got.Zone != tt.zone {
			t.Errorf("LookupAreaCode(%q) = %+v, %v; want %s %s %v", tt.phone, got, ok, tt.region, tt.zone, tt.ok)
		}
	}
}

// The table covers every state and DC, lists each area code once, and
// every zone loads.
func TestAreaCodeTable(t *testing.T) {
	states := strings.Fields("AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY")
	have := map[string]int{}
	seen := map[string]string{}
	for _, d := range areaCodeData {
		if _, err := time.LoadLocation(d.zone); err != nil {
			t.Errorf("%s: zone %s: %v", d.region, d.zone, err)
		}
		for _, f := range strings.Fields(d.npas) {
			if len(f) != 3 || f[0] < '2' || f[1] == '1' && f[2] == '1' {
				t.Errorf("%s: bad area code %q", d.region, f)
			}
			if r, dup := seen[f]; dup {
				t.Errorf("area code %s listed for %s and %s", f, r, d.region)
			}
			seen[f] = d.region
			have[d.region]++
		}
	}
	for _, s := range states {
		if have[s] == 0 {
			t.Errorf("state %s has no area code", s)
		}
	}
	tab := areaCodeTable(func(tz string) *time.Location { l, _ := time.LoadLocation(tz); return l })
	n := 0
	for _, z := range tab {
		if z.loc != nil {
			n++
		}
	}
	if n != len(seen) {
		t.Errorf("table has %d area codes, data %d", n, len(seen))
	}
}

func FuzzNANPAreaCode(f *testing.F) {
	for _, s := range []string{"+13055550100", "3055550100", "13055550100", "+1", "", "+447700900123", "+1２１２5550100"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		npa, ok := nanpAreaCode(s)
		if ok && (npa < 200 || npa > 999) {
			t.Fatalf("nanpAreaCode(%q) = %d", s, npa)
		}
		if info, ok := LookupAreaCode(s); ok && info.NPA != npa {
			t.Fatalf("LookupAreaCode(%q).NPA = %d, want %d", s, info.NPA, npa)
		}
	})
}

// quietEngine is an engine with just enough state for quietUntil.
func quietEngine(t *testing.T, q QuietHours) *Engine {
	t.Helper()
	e := &Engine{cfg: Config{QuietHours: q}.withDefaults()}
	e.initQuiet()
	return e
}

func TestQuietUntil(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	chi, _ := time.LoadLocation("America/Chicago")
	la, _ := time.LoadLocation("America/Los_Angeles")
	phx, _ := time.LoadLocation("America/Phoenix")
	hon, _ := time.LoadLocation("Pacific/Honolulu")
	nyOrg := &prepared{org: carecast.Organization{TimeZone: "America/New_York"}}
	laOrg := &prepared{org: carecast.Organization{TimeZone: "America/Los_Angeles"}}
	pat := func(tz string) *carecast.Patient { return &carecast.Patient{TimeZone: tz} }
	d := func(day, h, m int, loc *time.Location) time.Time { return time.Date(2026, 3, day, h, m, 0, 0, loc) }
	tests := []struct {
		name   string
		q      QuietHours
		p      *prepared
		pat    *carecast.Patient
		phone  string
		now    time.Time
		ok     bool
		opened time.Time
	}{
		// compliance.md TM-01 test 1 and 2.
		{"FL number, no zone, 20:15 NY", QuietHours{}, nyOrg, pat(""), "+13055550100", d(10, 20, 15, ny), false, d(11, 8, 0, ny)},
		{"NY number 20:15 NY: federal 9 p.m.", QuietHours{}, nyOrg, pat(""), "+12125550100", d(10, 20, 15, ny), true, time.Time{}},
		{"NY number 20:15, strictest profile", QuietHours{Strictest: true}, nyOrg, pat(""), "+12125550100", d(10, 20, 15, ny), false, d(11, 8, 0, ny)},
		{"OK number 07:59 Chicago", QuietHours{}, nyOrg, pat(""), "+14055550100", d(10, 7, 59, chi), false, d(10, 8, 0, chi)},
		{"OK number 20:00 Chicago closes", QuietHours{}, nyOrg, pat(""), "+14055550100", d(10, 20, 0, chi), false, d(11, 8, 0, chi)},
		{"MD number 20:30 NY", QuietHours{}, nyOrg, pat(""), "+14105550100", d(10, 20, 30, ny), false, d(11, 8, 0, ny)},
		{"FL state rules off", QuietHours{NoStateRules: true}, nyOrg, pat(""), "+13055550100", d(10, 20, 15, ny), true, time.Time{}},
		{"custom state table without FL", QuietHours{States: map[string]QuietWindow{}}, nyOrg, pat(""), "+13055550100", d(10, 20, 15, ny), true, time.Time{}},
		{"FL panhandle is Central", QuietHours{}, nyOrg, pat(""), "+18505550100", d(10, 20, 15, ny), true, time.Time{}},
		// Both windows must allow it.
		{"LA patient, NY number, 10:00 NY = 07:00 LA", QuietHours{}, nyOrg, pat("America/Los_Angeles"), "+12125550100", d(10, 10, 0, ny), false, d(10, 8, 0, la)},
		{"LA patient, NY number, 20:30 LA = 23:30 NY", QuietHours{}, nyOrg, pat("America/Los_Angeles"), "+12125550100", d(10, 20, 30, la), false, d(11, 8, 0, la)},
		{"NY patient, FL number, 20:30 NY", QuietHours{}, nyOrg, pat("America/New_York"), "+13055550100", d(10, 20, 30, ny), false, d(11, 8, 0, ny)},
		{"Honolulu patient, NY number: earliest common opening", QuietHours{}, nyOrg, pat("Pacific/Honolulu"), "+12125550100", d(10, 6, 0, hon), false, d(10, 8, 0, hon)},
		{"Honolulu patient, NY number, 21:30 NY", QuietHours{}, nyOrg, pat("Pacific/Honolulu"), "+12125550100", d(10, 21, 30, ny), false, d(11, 8, 0, hon)},
		{"area code ignored", QuietHours{NoAreaCode: true}, nyOrg, pat("America/Los_Angeles"), "+12125550100", d(10, 20, 30, la), true, time.Time{}},
		// Only one zone known.
		{"unknown area code: patient zone", QuietHours{}, nyOrg, pat("America/Phoenix"), "+15555550100", d(10, 7, 30, phx), false, d(10, 8, 0, phx)},
		{"invalid patient zone: number only", QuietHours{}, nyOrg, pat("Mars/Olympus"), "+12125550100", d(10, 20, 30, ny), true, time.Time{}},
		// Neither known: the default zone.
		{"nothing known: org zone", QuietHours{}, laOrg, pat(""), "+447700900123", d(10, 7, 30, la), false, d(10, 8, 0, la)},
		{"nothing known: DefaultZone", QuietHours{DefaultZone: "America/Chicago"}, laOrg, pat(""), "+447700900123", d(10, 7, 30, chi), false, d(10, 8, 0, chi)},
		{"nil patient", QuietHours{}, nyOrg, nil, "+447700900123", d(10, 12, 0, ny), true, time.Time{}},
		// Disjoint custom windows: deferred, never sent, never dropped.
		{"disjoint windows", QuietHours{Start: 9 * time.Hour, End: 10 * time.Hour}, nyOrg, pat("Asia/Tokyo"), "+12125550100", d(10, 9, 30, ny), false, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := quietEngine(t, tt.q)
			at, ok := e.quietUntil(tt.p, tt.pat, tt.phone, tt.now)
			if ok != tt.ok {
				t.Fatalf("ok = %v (until %s), want %v", ok, at, tt.ok)
			}
			if ok && !at.Equal(tt.now) {
				t.Fatalf("allowed at %s, want now", at)
			}
			if !ok && !tt.opened.IsZero() && !at.Equal(tt.opened) {
				t.Fatalf("opens at %s, want %s", at, tt.opened)
			}
			if !ok && !at.After(tt.now) {
				t.Fatalf("deferred to %s, not after now", at)
			}
		})
	}
}

// Every deferral lands on an instant all windows allow, for every hour of
// a year crossing both DST changes.
func TestQuietUntilLandsInside(t *testing.T) {
	e := quietEngine(t, QuietHours{})
	p := &prepared{org: carecast.Organization{TimeZone: "America/New_York"}}
	zones := []string{"", "America/New_York", "America/Los_Angeles", "America/Phoenix", "Pacific/Honolulu", "Pacific/Guam"}
	phones := []string{"+13055550100", "+14055550100", "+12125550100", "+18085550100", "+447700900123"}
	start := time.Date(2026, 1, 1, 0, 30, 0, 0, time.UTC)
	for h := 0; h < 365*24; h += 7 {
		now := start.Add(time.Duration(h) * time.Hour)
		for _, z := range zones {
			for _, ph := range phones {
				pat := &carecast.Patient{TimeZone: z}
				at, ok := e.quietUntil(p, pat, ph, now)
				if ok {
					continue
				}
				if at2, ok2 := e.quietUntil(p, pat, ph, at); !ok2 || !at2.Equal(at) {
					t.Fatalf("zone %q phone %s at %s: deferred to %s, which is not open (next %s)", z, ph[:5], now, at, at2)
				}
				if at.Sub(now) > 24*time.Hour {
					t.Fatalf("zone %q phone %s at %s: deferred %s", z, ph[:5], now, at.Sub(now))
				}
			}
		}
	}
}

func TestStrictestWindow(t *testing.T) {
	q := QuietHours{Start: 8 * time.Hour, End: 21 * time.Hour, States: StateQuietHours()}
	if w := strictestWindow(&q); w != (QuietWindow{Start: 8 * time.Hour, End: 20 * time.Hour}) {
		t.Fatalf("strictest = %+v", w)
	}
	q.States = map[string]QuietWindow{"XX": {Start: 22 * time.Hour, End: 23 * time.Hour}}
	if w := strictestWindow(&q); w != (QuietWindow{Start: 8 * time.Hour, End: 21 * time.Hour}) {
		t.Fatalf("disjoint state window changed the federal one: %+v", w)
	}
}

// BenchmarkQuietUntil is the per-row cost of the quiet-hours check of a
// marketing text (patient zone and area code known).
func BenchmarkQuietUntil(b *testing.B) {
	e := &Engine{cfg: Config{}.withDefaults()}
	e.initQuiet()
	p := &prepared{org: carecast.Organization{TimeZone: "America/New_York"}}
	pat := &carecast.Patient{TimeZone: "America/Chicago"}
	now := time.Date(2026, 3, 10, 16, 0, 0, 0, time.UTC)
	for b.Loop() {
		if _, ok := e.quietUntil(p, pat, "+13055550100", now); !ok {
			b.Fatal("closed at noon")
		}
	}
}
