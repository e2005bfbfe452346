package twilio

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/provider"
)

// DefaultLookupBaseURL is the root of Twilio's Lookup v2 API.
const DefaultLookupBaseURL = "https://lookups.twilio.com"

var _ provider.LineTypeLookup = (*Client)(nil)

// lookupResource is the part of Lookup v2's PhoneNumber resource the
// client reads.
type lookupResource struct {
	Valid                *bool `json:"valid"`
	LineTypeIntelligence *struct {
		Type      string `json:"type"`
		ErrorCode *int   `json:"error_code"`
	} `json:"line_type_intelligence"`
}

// LookupLineType implements provider.LineTypeLookup with Lookup v2 Line Type
// Intelligence (GET /v2/PhoneNumbers/{number}?Fields=line_type_intelligence;
// compliance.md SF-03): "landline" is carecast.LineLandline, "mobile"
// LineMobile, "fixedVoip" and "nonFixedVoip" LineVoIP; the other types
// (tollFree, premium, sharedCost, uan, voicemail, pager, personal,
// unknown) and a number Lookup calls invalid are LineUnknown, which the
// engine treats as textable. Each call is billed by Twilio. Errors are
// *provider.Error values that name the status or Twilio code, never the
// number.
func (c *Client) LookupLineType(ctx context.Context, phone string) (carecast.LineType, error) {
	base := c.cfg.LookupBaseURL
	if base == "" {
		base = DefaultLookupBaseURL
	}
	u := strings.TrimRight(base, "/") + "/v2/PhoneNumbers/" + url.PathEscape(phone) + "?Fields=line_type_intelligence"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return carecast.LineUnknown, &provider.Error{Class: provider.Permanent, Message: "twilio: build lookup request"}
	}
	req.SetBasicAuth(c.user, c.pass)
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return carecast.LineUnknown, &provider.Error{Class: provider.Transient, Message: "twilio: lookup failed", Err: scrub(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return carecast.LineUnknown, &provider.Error{Class: provider.Transient, Message: "twilio: lookup answer cut short", Err: scrub(err)}
	}
	if resp.StatusCode != http.StatusOK {
		var ae apiError
		_ = json.Unmarshal(body, &ae)
		code := strconv.Itoa(resp.StatusCode)
		if ae.Code != 0 {
			code = strconv.Itoa(ae.Code)
		}
		class := provider.Permanent
		if resp.StatusCode == http.StatusTooManyRequests {
			class = provider.RateLimited
		} else if resp.StatusCode >= 500 {
			class = provider.Transient
		}
		return carecast.LineUnknown, &provider.Error{Class: class, Code: code, Message: "twilio: lookup refused"}
	}
	var r lookupResource
	if err := json.Unmarshal(body, &r); err != nil {
		return carecast.LineUnknown, &provider.Error{Class: provider.Ambiguous, Message: "twilio: lookup answer not understood"}
	}
	if r.Valid != nil && !*r.Valid || r.LineTypeIntelligence == nil {
		return carecast.LineUnknown, nil
	}
	if ec := r.LineTypeIntelligence.ErrorCode; ec != nil && *ec != 0 {
		return carecast.LineUnknown, &provider.Error{Class: provider.Permanent, Code: strconv.Itoa(*ec), Message: "twilio: line type not available"}
	}
	switch r.LineTypeIntelligence.Type {
	case "landline":
		return carecast.LineLandline, nil
	case "mobile":
		return carecast.LineMobile, nil
	case "fixedVoip", "nonFixedVoip":
		return carecast.LineVoIP, nil
	}
	return carecast.LineUnknown, nil
}
