package cohorttest

import (
	"time"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/cohort"
)

// The two organisations of the fixtures. OrgB reuses patient IDs and
// contacts of OrgA so that a store leaking across tenants is caught.
const (
	OrgA = "org-a"
	OrgB = "org-b"
)

// Now returns the fixed instant the suite evaluates relative conditions
// at: 2026-03-15 12:00 UTC.
func Now() time.Time { return time.Date(2026, time.March, 15, 12, 0, 0, 0, time.UTC) }

// Attribute keys of the fixture schema.
const (
	AttrTotalSpent      = "total_spent"      // money, Billing
	AttrMedicationCount = "medication_count" // number, Engagement
	AttrHasActiveChat   = "has_active_chat"  // bool, Engagement
	AttrMembership      = "membership"       // enum basic/gold/platinum, Billing
	AttrPackages        = "packages"         // string_set, Billing
	AttrLastAppointment = "last_appointment" // date, Scheduling
	AttrCancellations   = "cancellations"    // number, Scheduling
	AttrReferral        = "referral"         // string, Marketing
)

// Schema returns the attribute schema the fixtures use. The store under
// test must be built with it.
func Schema() *cohort.Schema {
	s, err := cohort.NewSchema(SchemaAttrs()...)
	if err != nil {
		panic("cohorttest: fixture schema: " + err.Error()) // a bug in this package
	}
	return s
}

// SchemaAttrs returns the attribute declarations of Schema.
func SchemaAttrs() []cohort.AttrDef {
	return []cohort.AttrDef{
		{Key: AttrTotalSpent, Label: "Total spent", Category: "Billing", Type: carecast.AttrMoney},
		{Key: AttrMedicationCount, Label: "Medication count", Category: "Engagement", Type: carecast.AttrNumber},
		{Key: AttrHasActiveChat, Label: "Has active chat", Category: "Engagement", Type: carecast.AttrBool},
		{Key: AttrMembership, Label: "Membership", Category: "Billing", Type: carecast.AttrEnum, Values: []string{"basic", "gold", "platinum"}},
		{Key: AttrPackages, Label: "Packages bought", Category: "Billing", Type: carecast.AttrStringSet},
		{Key: AttrLastAppointment, Label: "Last appointment", Category: "Scheduling", Type: carecast.AttrDate},
		{Key: AttrCancellations, Label: "Cancellations", Category: "Scheduling", Type: carecast.AttrNumber},
		{Key: AttrReferral, Label: "Referral source", Category: "Marketing", Type: cohort.AttrString},
	}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic("cohorttest: bad fixture time " + s)
	}
	return t
}

func usd(dollars, micros int64) carecast.AttrValue {
	return carecast.MoneyValue(carecast.Money(dollars)*carecast.Unit + carecast.Money(micros))
}

// Patients returns the fixture patients of both organisations. Each call
// returns fresh values.
//
// OrgA holds a01…a10, chosen around the boundaries the semantics hinge
// on: a birthday today (a02 turns 18), tomorrow (a03 is 17), on 29
// February (a05), a visit exactly 365 days ago (a02) and one second
// earlier (a03), a visit at now (a06) and in the future (a07), money at
// $500.000000 and $500.000001, an attribute stored with the wrong type
// (a06's total_spent), empty and missing sets, a phone in national format
// (a02), a mixed-case email (a02, a09), a family email (a01, a10), and a
// tag with SQL metacharacters (a09).
func Patients() map[string][]carecast.Patient {
	a := []carecast.Patient{
		{
			ID: "a01", FirstName: "Ann", LastName: "Lee", Gender: "female",
			DateOfBirth: carecast.NewDate(1990, 1, 15), LocationID: "downtown", ProviderID: "dr-kim",
			Tags: []string{"vip"}, Active: true, LastVisit: at("2026-03-01T09:30:00Z"),
			Phone: "+12125550101", Email: "ann@example.com",
			Consent: carecast.Consent{SMSMarketingOptIn: true, EmailMarketingOptIn: true},
			Attributes: carecast.Attributes{
				AttrTotalSpent: usd(1200, 0), AttrMedicationCount: carecast.NumberValue(3),
				AttrMembership: carecast.EnumValue("gold"), AttrPackages: carecast.SetValue("botox", "facial"),
				AttrHasActiveChat: carecast.BoolValue(true), AttrLastAppointment: carecast.DateValue(at("2026-02-20T15:00:00Z")),
			},
		},
		{
			ID: "a02", FirstName: "Bob", LastName: "Diaz", Gender: "male",
			DateOfBirth: carecast.NewDate(2008, 3, 15), LocationID: "uptown", ProviderID: "dr-kim",
			Tags: []string{}, Active: true, LastVisit: at("2025-03-15T12:00:00Z"),
			Phone: "(212) 555-0102", Email: "Bob@Example.com ",
			Consent: carecast.Consent{SMSOptedOut: true},
			Attributes: carecast.Attributes{
				AttrTotalSpent: usd(500, 0), AttrMedicationCount: carecast.NumberValue(0),
				AttrMembership: carecast.EnumValue("basic"),
			},
		},
		{
			ID: "a03", FirstName: "Cara", LastName: "Ng", Gender: "female",
			DateOfBirth: carecast.NewDate(2008, 3, 16), LocationID: "downtown", ProviderID: "dr-ortiz",
			Tags: []string{"diabetes-program", "newsletter"}, Active: true, LastVisit: at("2025-03-15T11:59:59Z"),
			Phone:   "+12125550103",
			Consent: carecast.Consent{SMSMarketingOptIn: true},
			Attributes: carecast.Attributes{
				AttrTotalSpent: usd(500, 1), AttrPackages: carecast.SetValue("facial"),
			},
		},
		{
			ID: "a04", FirstName: "Dan", LastName: "Roe",
			Email:   "dan@example.com",
			Consent: carecast.Consent{EmailUnsubscribed: true},
		},
		{
			ID: "a05", FirstName: "Eve", LastName: "Park", Gender: "female",
			DateOfBirth: carecast.NewDate(1956, 2, 29), LocationID: "eastside", ProviderID: "dr-ortiz",
			Tags: []string{"vip", "newsletter"}, Active: true, LastVisit: at("2024-06-01T10:00:00Z"),
			Phone: "+12125550105", PhoneLineType: carecast.LineLandline, Email: "eve@example.com",
			Consent: carecast.Consent{EmailSuppressed: true, SMSBlocked: true},
			Attributes: carecast.Attributes{
				AttrTotalSpent: usd(75, 500_000), AttrMedicationCount: carecast.NumberValue(7),
				AttrMembership: carecast.EnumValue("platinum"), AttrHasActiveChat: carecast.BoolValue(false),
				AttrCancellations: carecast.NumberValue(2), AttrLastAppointment: carecast.DateValue(at("2024-05-30T09:00:00Z")),
			},
		},
		{
			ID: "a06", FirstName: "Finn", LastName: "Cho", Gender: "male",
			DateOfBirth: carecast.NewDate(1985, 7, 4), LocationID: "westside", ProviderID: "dr-kim",
			Tags: []string{"newsletter"}, Active: true, LastVisit: Now(),
			Phone:   "+447911123456",
			Consent: carecast.Consent{EmailMarketingOptIn: true},
			Attributes: carecast.Attributes{
				AttrTotalSpent:      carecast.NumberValue(900), // wrong type: counts as not set
				AttrMedicationCount: carecast.NumberValue(1.5), AttrReferral: {Type: cohort.AttrString, String: "google"},
			},
		},
		{
			ID: "a07", FirstName: "Gia", LastName: "Lopez", Gender: "female",
			DateOfBirth: carecast.NewDate(2000, 12, 31), LocationID: "uptown", ProviderID: "dr-ortiz",
			Tags: []string{"vip"}, Active: false, LastVisit: at("2026-04-01T08:00:00Z"),
			Phone: "+12125550107", Email: "gia@example.com",
			Consent: carecast.Consent{SMSMarketingOptIn: true, SMSOptedOut: true},
			Attributes: carecast.Attributes{
				AttrMembership: carecast.EnumValue("gold"), AttrPackages: carecast.SetValue("botox"),
				AttrHasActiveChat: carecast.BoolValue(true), AttrCancellations: carecast.NumberValue(0),
			},
		},
		{
			ID: "a08", FirstName: "Hal", LastName: "Kent",
			DateOfBirth: carecast.NewDate(1960, 3, 15), LocationID: "downtown", ProviderID: "dr-kim",
			Tags: []string{"diabetes-program"}, Active: true, LastVisit: at("2023-01-01T00:00:00Z"),
			Phone: "+12125550108", Email: "hal@example.com",
			Consent: carecast.Consent{SMSMarketingOptIn: true, EmailMarketingOptIn: true},
			Attributes: carecast.Attributes{
				AttrTotalSpent: usd(0, 0), AttrMedicationCount: carecast.NumberValue(12),
				AttrMembership: carecast.EnumValue("basic"), AttrPackages: carecast.SetValue(),
				AttrReferral: {Type: cohort.AttrString, String: "friend"},
			},
		},
		{
			ID: "a09", FirstName: "Ivy", LastName: "Moss", Gender: "Female",
			DateOfBirth: carecast.NewDate(1999, 1, 1), LocationID: "eastside",
			Tags: []string{"newsletter", "vip", "o'brien; --"}, Active: true, LastVisit: at("2025-12-24T16:00:00Z"),
			Email:   "IVY@EXAMPLE.COM",
			Consent: carecast.Consent{EmailMarketingOptIn: true},
			Attributes: carecast.Attributes{
				AttrTotalSpent: usd(2500, 0), AttrHasActiveChat: carecast.BoolValue(false),
				AttrLastAppointment: carecast.DateValue(at("2025-12-24T16:00:00Z")),
			},
		},
		{
			ID: "a10", FirstName: "Jon", LastName: "Webb", Gender: "male",
			DateOfBirth: carecast.NewDate(1975, 11, 11), LocationID: "westside", ProviderID: "dr-ortiz",
			Active: true, LastVisit: at("2025-08-08T08:08:08Z"),
			Phone: "+12125550110", PhoneLineType: carecast.LineMobile, Email: "ann@example.com",
			Consent: carecast.Consent{SMSMarketingOptIn: true},
			Attributes: carecast.Attributes{
				AttrTotalSpent: usd(499, 990_000), AttrMedicationCount: carecast.NumberValue(2),
				AttrMembership: carecast.EnumValue("platinum"), AttrPackages: carecast.SetValue("facial", "peel"),
				AttrCancellations: carecast.NumberValue(5),
			},
		},
	}
	b := []carecast.Patient{
		{
			ID: "a01", FirstName: "Ann", LastName: "Other", Gender: "female", LocationID: "downtown",
			Tags: []string{"vip"}, Active: true, Phone: "+12125550101", Email: "ann@example.com",
			Consent: carecast.Consent{SMSMarketingOptIn: true},
		},
		{
			ID: "b02", FirstName: "Bea", LastName: "Stone", LocationID: "downtown", Active: true,
			Phone: "+12125550199", Email: "bea@example.com",
		},
	}
	return map[string][]carecast.Patient{OrgA: a, OrgB: b}
}

// allA lists the IDs of every OrgA patient.
func allA() []string {
	return []string{"a01", "a02", "a03", "a04", "a05", "a06", "a07", "a08", "a09", "a10"}
}
