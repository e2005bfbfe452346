package cohorttest

import (
	"encoding/json"
	"time"

	"github.com/carecast/carecast/cohort"
)

// Case is one filter-semantics case over the fixtures: a filter document,
// the instant it is evaluated at, and the OrgA patients it must select.
type Case struct {
	// Name describes what the case checks.
	Name string
	// JSON is the filter document.
	JSON string
	// At is the evaluation instant; zero means Now().
	At time.Time
	// Want are the matching OrgA patient IDs in ascending order.
	Want []string
}

// Filter decodes the case's filter document.
func (c Case) Filter() (cohort.Filter, error) {
	var f cohort.Filter
	err := json.Unmarshal([]byte(c.JSON), &f)
	return f, err
}

// When returns the case's evaluation instant.
func (c Case) When() time.Time {
	if c.At.IsZero() {
		return Now()
	}
	return c.At
}

// w wraps an expression into a filter document.
func w(expr string) string { return `{"version":1,"where":` + expr + `}` }

// Cases returns the filter-semantics cases every store must agree on. The
// expectations were derived by hand from the fixture comments, not by
// running an implementation.
func Cases() []Case {
	return []Case{
		{"empty filter selects everyone", `{"version":1}`, time.Time{}, allA()},
		// string fields
		{"location equals", w(`{"field":"location","op":"equals","strings":["downtown"]}`), time.Time{}, []string{"a01", "a03", "a08"}},
		{"location in", w(`{"field":"location","op":"in","strings":["uptown","westside"]}`), time.Time{}, []string{"a02", "a06", "a07", "a10"}},
		{"location is not set", w(`{"field":"location","op":"is_not_set"}`), time.Time{}, []string{"a04"}},
		{"provider is set", w(`{"field":"provider","op":"is_set"}`), time.Time{}, []string{"a01", "a02", "a03", "a05", "a06", "a07", "a08", "a10"}},
		{"gender is an exact match", w(`{"field":"gender","op":"equals","strings":["female"]}`), time.Time{}, []string{"a01", "a03", "a05", "a07"}},
		{"hostile string value matches nothing", w(`{"field":"location","op":"equals","strings":["downtown' OR '1'='1"]}`), time.Time{}, nil},
		{"hostile in list", w(`{"field":"location","op":"in","strings":["x\"); DROP TABLE patients; --","$1","?","%"]}`), time.Time{}, nil},
		// tags
		{"tags contain any", w(`{"field":"tags","op":"contains_any","strings":["vip"]}`), time.Time{}, []string{"a01", "a05", "a07", "a09"}},
		{"tags contain all", w(`{"field":"tags","op":"contains_all","strings":["vip","newsletter"]}`), time.Time{}, []string{"a05", "a09"}},
		{"tags contain none (empty and missing sets included)", w(`{"field":"tags","op":"contains_none","strings":["vip"]}`), time.Time{}, []string{"a02", "a03", "a04", "a06", "a08", "a10"}},
		{"tags not set means empty", w(`{"field":"tags","op":"is_not_set"}`), time.Time{}, []string{"a02", "a04", "a10"}},
		{"tag with quote and comment marker", w(`{"field":"tags","op":"contains_any","strings":["o'brien; --"]}`), time.Time{}, []string{"a09"}},
		{"tag wildcard characters are literal", w(`{"field":"tags","op":"contains_any","strings":["%","v_p","*"]}`), time.Time{}, nil},
		// age
		{"age between is inclusive (birthday today)", w(`{"field":"age","op":"between","numbers":[18,40]}`), time.Time{}, []string{"a01", "a02", "a06", "a07", "a09"}},
		{"age greater", w(`{"field":"age","op":"greater","numbers":[65]}`), time.Time{}, []string{"a05", "a08"}},
		{"age less (birthday tomorrow)", w(`{"field":"age","op":"less","numbers":[18]}`), time.Time{}, []string{"a03"}},
		{"age equals on a birthday", w(`{"field":"age","op":"equals","numbers":[66]}`), time.Time{}, []string{"a08"}},
		{"leap-day birthday not reached on 28 February", w(`{"field":"age","op":"equals","numbers":[69]}`), time.Date(2026, 2, 28, 12, 0, 0, 0, time.UTC), []string{"a05"}},
		{"leap-day birthday counts from 1 March", w(`{"field":"age","op":"equals","numbers":[70]}`), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), []string{"a05"}},
		{"age not set", w(`{"field":"age","op":"is_not_set"}`), time.Time{}, []string{"a04"}},
		{"NOT age range includes unknown age", w(`{"not":{"field":"age","op":"between","numbers":[18,40]}}`), time.Time{}, []string{"a03", "a04", "a05", "a08", "a10"}},
		// flags
		{"inactive", w(`{"field":"active","op":"equals","bool":false}`), time.Time{}, []string{"a04", "a07"}},
		{"opted out of SMS", w(`{"field":"sms_opted_out","op":"equals","bool":true}`), time.Time{}, []string{"a02", "a07"}},
		{"SMS marketing and not opted out", w(`{"and":[{"field":"sms_marketing_opt_in","op":"equals","bool":true},{"not":{"field":"sms_opted_out","op":"equals","bool":true}}]}`), time.Time{}, []string{"a01", "a03", "a08", "a10"}},
		{"email unsubscribed", w(`{"field":"email_unsubscribed","op":"equals","bool":true}`), time.Time{}, []string{"a04"}},
		{"email suppressed", w(`{"field":"email_suppressed","op":"equals","bool":true}`), time.Time{}, []string{"a05"}},
		{"sms blocked", w(`{"field":"sms_blocked","op":"equals","bool":true}`), time.Time{}, []string{"a05"}},
		{"email marketing opt-in", w(`{"field":"email_marketing_opt_in","op":"equals","bool":true}`), time.Time{}, []string{"a01", "a06", "a08", "a09"}},
		{"has phone", w(`{"field":"phone","op":"is_set"}`), time.Time{}, []string{"a01", "a02", "a03", "a05", "a06", "a07", "a08", "a10"}},
		{"no email", w(`{"field":"email","op":"is_not_set"}`), time.Time{}, []string{"a03", "a06"}},
		{"landline", w(`{"field":"phone_line_type","op":"equals","strings":["landline"]}`), time.Time{}, []string{"a05"}},
		{"line type known", w(`{"field":"phone_line_type","op":"is_set"}`), time.Time{}, []string{"a05", "a10"}},
		// last visit, with the injected now
		{"visited within 365 days (boundary inclusive, future excluded)", w(`{"field":"last_visit","op":"within_last_days","days":365}`), time.Time{}, []string{"a01", "a02", "a06", "a09", "a10"}},
		{"NOT within 365 days includes never visited", w(`{"not":{"field":"last_visit","op":"within_last_days","days":365}}`), time.Time{}, []string{"a03", "a04", "a05", "a07", "a08"}},
		{"never visited", w(`{"field":"last_visit","op":"is_not_set"}`), time.Time{}, []string{"a04"}},
		{"visit before", w(`{"field":"last_visit","op":"before","times":["2025-01-01T00:00:00Z"]}`), time.Time{}, []string{"a05", "a08"}},
		{"NOT visit before includes never visited", w(`{"not":{"field":"last_visit","op":"before","times":["2025-01-01T00:00:00Z"]}}`), time.Time{}, []string{"a01", "a02", "a03", "a04", "a06", "a07", "a09", "a10"}},
		{"visit after is strict", w(`{"field":"last_visit","op":"after","times":["2026-03-15T12:00:00Z"]}`), time.Time{}, []string{"a07"}},
		{"visit between is inclusive", w(`{"field":"last_visit","op":"between","times":["2025-03-15T12:00:00Z","2026-03-01T00:00:00Z"]}`), time.Time{}, []string{"a02", "a09", "a10"}},
		{"visit between in another zone", w(`{"field":"last_visit","op":"between","times":["2025-03-15T07:00:00-05:00","2026-02-28T19:00:00-05:00"]}`), time.Time{}, []string{"a02", "a09", "a10"}},
		{"window moves with now", w(`{"field":"last_visit","op":"within_last_days","days":30}`), time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC), []string{"a09"}},
		// money
		{"money greater is strict to the micro-unit", w(`{"field":"total_spent","op":"greater","money":[500000000]}`), time.Time{}, []string{"a01", "a03", "a09"}},
		{"money equals", w(`{"field":"total_spent","op":"equals","money":[500000000]}`), time.Time{}, []string{"a02"}},
		{"money less", w(`{"field":"total_spent","op":"less","money":[500000000]}`), time.Time{}, []string{"a05", "a08", "a10"}},
		{"money between", w(`{"field":"total_spent","op":"between","money":[499990000,500000000]}`), time.Time{}, []string{"a02", "a10"}},
		{"money not set (wrong stored type counts as not set)", w(`{"field":"total_spent","op":"is_not_set"}`), time.Time{}, []string{"a04", "a06", "a07"}},
		{"NOT money greater includes unset", w(`{"not":{"field":"total_spent","op":"greater","money":[500000000]}}`), time.Time{}, []string{"a02", "a04", "a05", "a06", "a07", "a08", "a10"}},
		// numbers
		{"number greater", w(`{"field":"medication_count","op":"greater","numbers":[1]}`), time.Time{}, []string{"a01", "a05", "a06", "a08", "a10"}},
		{"number equals zero", w(`{"field":"medication_count","op":"equals","numbers":[0]}`), time.Time{}, []string{"a02"}},
		{"number between with fractions", w(`{"field":"medication_count","op":"between","numbers":[1.5,3]}`), time.Time{}, []string{"a01", "a06", "a10"}},
		{"cancellations greater", w(`{"field":"cancellations","op":"greater","numbers":[0]}`), time.Time{}, []string{"a05", "a10"}},
		{"cancellations less", w(`{"field":"cancellations","op":"less","numbers":[1]}`), time.Time{}, []string{"a07"}},
		// enum
		{"enum in", w(`{"field":"membership","op":"in","strings":["gold","platinum"]}`), time.Time{}, []string{"a01", "a05", "a07", "a10"}},
		{"enum equals", w(`{"field":"membership","op":"equals","strings":["basic"]}`), time.Time{}, []string{"a02", "a08"}},
		{"NOT enum equals includes unset", w(`{"not":{"field":"membership","op":"equals","strings":["basic"]}}`), time.Time{}, []string{"a01", "a03", "a04", "a05", "a06", "a07", "a09", "a10"}},
		{"enum not set", w(`{"field":"membership","op":"is_not_set"}`), time.Time{}, []string{"a03", "a04", "a06", "a09"}},
		// string sets
		{"set contains any", w(`{"field":"packages","op":"contains_any","strings":["botox"]}`), time.Time{}, []string{"a01", "a07"}},
		{"set contains all", w(`{"field":"packages","op":"contains_all","strings":["facial","botox"]}`), time.Time{}, []string{"a01"}},
		{"set contains none", w(`{"field":"packages","op":"contains_none","strings":["facial"]}`), time.Time{}, []string{"a02", "a04", "a05", "a06", "a07", "a08", "a09"}},
		{"set is set (empty set is not)", w(`{"field":"packages","op":"is_set"}`), time.Time{}, []string{"a01", "a03", "a07", "a10"}},
		// bool attributes
		{"bool attribute true", w(`{"field":"has_active_chat","op":"equals","bool":true}`), time.Time{}, []string{"a01", "a07"}},
		{"bool attribute false excludes unset", w(`{"field":"has_active_chat","op":"equals","bool":false}`), time.Time{}, []string{"a05", "a09"}},
		{"NOT bool attribute true includes unset", w(`{"not":{"field":"has_active_chat","op":"equals","bool":true}}`), time.Time{}, []string{"a02", "a03", "a04", "a05", "a06", "a08", "a09", "a10"}},
		{"bool attribute not set", w(`{"field":"has_active_chat","op":"is_not_set"}`), time.Time{}, []string{"a02", "a03", "a04", "a06", "a08", "a10"}},
		// date attributes
		{"date attribute within", w(`{"field":"last_appointment","op":"within_last_days","days":90}`), time.Time{}, []string{"a01", "a09"}},
		{"date attribute not set", w(`{"field":"last_appointment","op":"is_not_set"}`), time.Time{}, []string{"a02", "a03", "a04", "a06", "a07", "a08", "a10"}},
		// string attributes
		{"string attribute equals", w(`{"field":"referral","op":"equals","strings":["google"]}`), time.Time{}, []string{"a06"}},
		{"string attribute set", w(`{"field":"referral","op":"is_set"}`), time.Time{}, []string{"a06", "a08"}},
		// groups
		{"the product's example", w(`{"and":[
			{"field":"sms_marketing_opt_in","op":"equals","bool":true},
			{"or":[{"not":{"field":"last_visit","op":"within_last_days","days":365}},{"field":"total_spent","op":"greater","money":[500000000]}]},
			{"not":{"field":"tags","op":"contains_any","strings":["vip"]}}]}`), time.Time{}, []string{"a03", "a08"}},
		{"or of ands", w(`{"or":[
			{"and":[{"field":"location","op":"equals","strings":["downtown"]},{"field":"age","op":"greater","numbers":[60]}]},
			{"and":[{"field":"tags","op":"contains_any","strings":["newsletter"]},{"field":"active","op":"equals","bool":false}]}]}`), time.Time{}, []string{"a08"}},
		{"NOT of an or", w(`{"not":{"or":[{"field":"location","op":"equals","strings":["downtown"]},{"field":"location","op":"is_not_set"}]}}`), time.Time{}, []string{"a02", "a05", "a06", "a07", "a09", "a10"}},
		{"double negation", w(`{"not":{"not":{"field":"tags","op":"contains_any","strings":["vip"]}}}`), time.Time{}, []string{"a01", "a05", "a07", "a09"}},
		{"single-member and", w(`{"and":[{"field":"location","op":"equals","strings":["uptown"]}]}`), time.Time{}, []string{"a02", "a07"}},
		{"and matching nobody", w(`{"and":[{"field":"location","op":"equals","strings":["uptown"]},{"field":"tags","op":"contains_all","strings":["vip","newsletter"]}]}`), time.Time{}, nil},
	}
}

// InvalidCases returns filter documents every store must reject with a
// *cohort.FilterError of the given code.
func InvalidCases() []struct {
	Name string
	JSON string
	Code cohort.ErrorCode
} {
	return []struct {
		Name string
		JSON string
		Code cohort.ErrorCode
	}{
		{"unknown field", w(`{"field":"shoe_size","op":"equals","numbers":[9]}`), cohort.CodeUnknownField},
		{"wrong operator for type", w(`{"field":"total_spent","op":"contains_any","strings":["x"]}`), cohort.CodeBadOperator},
		{"operand in the wrong slot", w(`{"field":"total_spent","op":"greater","numbers":[500]}`), cohort.CodeBadValue},
		{"enum value not declared", w(`{"field":"membership","op":"equals","strings":["diamond"]}`), cohort.CodeBadValue},
		{"age min greater than max", w(`{"field":"age","op":"between","numbers":[65,18]}`), cohort.CodeContradiction},
		{"contradictory and", w(`{"and":[{"field":"age","op":"greater","numbers":[60]},{"field":"age","op":"less","numbers":[30]}]}`), cohort.CodeContradiction},
		{"empty group", w(`{"or":[]}`), cohort.CodeBadExpr},
		{"unknown JSON member", w(`{"field":"location","op":"equals","strings":["x"],"colour":"red"}`), cohort.CodeBadJSON},
		{"missing version", `{"where":{"field":"location","op":"is_set"}}`, cohort.CodeBadVersion},
	}
}
