package carecast_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/carecast/carecast"
)

func TestMoneyString(t *testing.T) {
	tests := []struct {
		name string
		m    carecast.Money
		want string
	}{
		{"zero keeps two decimals", 0, "0.00"},
		{"whole unit", carecast.Unit, "1.00"},
		{"cents", carecast.Cents(150), "1.50"},
		{"sub-cent carrier price stays exact", 7_900, "0.0079"},
		{"micro unit", carecast.Micro, "0.000001"},
		{"negative refund", -carecast.Cents(25), "-0.25"},
		{"sum of a million segments", carecast.Money(7_900).Mul(1_000_000), "7900.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.String(); got != tt.want {
				t.Fatalf("Money(%d).String() = %q, want %q", int64(tt.m), got, tt.want)
			}
		})
	}
}

func TestDate(t *testing.T) {
	tests := []struct {
		name  string
		d     carecast.Date
		valid bool
		on    time.Time
		age   int
	}{
		{"day before birthday", carecast.NewDate(1990, time.January, 15), true, time.Date(2026, 1, 14, 12, 0, 0, 0, time.UTC), 35},
		{"on birthday", carecast.NewDate(1990, time.January, 15), true, time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), 36},
		{"leap day counts from March 1 in common years", carecast.NewDate(2000, time.February, 29), true, time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC), 25},
		{"leap day on March 1", carecast.NewDate(2000, time.February, 29), true, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), 26},
		{"February 30 is invalid", carecast.NewDate(2001, time.February, 30), false, time.Time{}, 0},
		{"month 13 is invalid", carecast.Date{Year: 2001, Month: 13, Day: 1}, false, time.Time{}, 0},
		{"zero date is invalid", carecast.Date{}, false, time.Time{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.Valid(); got != tt.valid {
				t.Fatalf("Valid() = %v, want %v", got, tt.valid)
			}
			if tt.valid {
				if got := tt.d.AgeOn(tt.on); got != tt.age {
					t.Fatalf("AgeOn = %d, want %d", got, tt.age)
				}
			}
		})
	}
}

func TestPatientNames(t *testing.T) {
	p := carecast.Patient{FirstName: "Ana", LastName: "Ng"}
	if got := p.DisplayName(); got != "Ana" {
		t.Fatalf("DisplayName without preferred = %q", got)
	}
	p.PreferredName = "Annie"
	if got := p.DisplayName(); got != "Annie" {
		t.Fatalf("DisplayName with preferred = %q", got)
	}
	if got := p.FullName(); got != "Ana Ng" {
		t.Fatalf("FullName = %q", got)
	}
	if got := (&carecast.Patient{LastName: "Ng"}).FullName(); got != "Ng" {
		t.Fatalf("FullName without first = %q", got)
	}
}

func TestPatientJSONRoundTrip(t *testing.T) {
	in := carecast.Patient{
		ID: "p1", FirstName: "Ana", DateOfBirth: carecast.NewDate(1990, time.January, 15),
		Phone: "+15555550100", PhoneLineType: carecast.LineMobile, Tags: []string{"vip"},
		Consent:    carecast.Consent{SMSMarketingOptIn: true},
		Attributes: carecast.Attributes{"total_spent": carecast.MoneyValue(carecast.Cents(50000))},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out carecast.Patient
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(out)
	if string(b) != string(b2) {
		t.Fatalf("round trip changed JSON:\n%s\n%s", b, b2)
	}
	if out.Attributes["total_spent"].Money != carecast.Cents(50000) {
		t.Fatalf("money attribute lost: %+v", out.Attributes)
	}
}

func TestChannelPurpose(t *testing.T) {
	if !carecast.SMS.Valid() || !carecast.Email.Valid() || carecast.Channel("fax").Valid() {
		t.Fatal("Channel.Valid wrong")
	}
	if !carecast.Marketing.Valid() || carecast.Purpose("promo").Valid() {
		t.Fatal("Purpose.Valid wrong")
	}
	if carecast.SMS.String() != "SMS" || carecast.Channel("fax").String() != `Channel("fax")` {
		t.Fatal("Channel.String wrong")
	}
}

func ExampleMoney() {
	perSegment := carecast.Money(7_900) // $0.0079
	fmt.Println(perSegment, perSegment.Mul(3*1000))
	// Output: 0.0079 23.70
}
