package twilio

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/carecast/carecast/provider"
)

// DefaultQueueWindow is Config.QueueWindow's default: 10 hours, the
// longest a message may wait in Twilio's queue (ValidityPeriod's default
// and maximum, 36,000 s: Twilio error references 90007, 30045 and 21611,
// "messages can only be queued for 10 hours and then they automatically
// fail").
const DefaultQueueWindow = 10 * time.Hour

const (
	// listPageSize is the PageSize of a Messages list request.
	listPageSize = 100
	// listMaxPages bounds the pages CheckAccepted reads for one query;
	// past it the answer is unknown.
	listMaxPages = 20
	// listMaxPageBytes bounds one page's body.
	listMaxPageBytes = 4 << 20
	// acceptSlack widens the query's window for clock differences
	// between the engine and Twilio.
	acceptSlack = time.Minute
)

var _ provider.AcceptanceChecker = (*Client)(nil)

// listPage is the part of a Messages list page CheckAccepted reads.
type listPage struct {
	Messages    []listedMessage `json:"messages"`
	NextPageURI *string         `json:"next_page_uri"`
}

// listedMessage is the part of a listed Message resource CheckAccepted
// reads.
type listedMessage struct {
	SID                 string  `json:"sid"`
	To                  string  `json:"to"`
	From                string  `json:"from"`
	Body                string  `json:"body"`
	Direction           string  `json:"direction"`
	MessagingServiceSID *string `json:"messaging_service_sid"`
	DateCreated         string  `json:"date_created"`
}

// CheckAccepted implements provider.AcceptanceChecker with the Messages
// list resource: GET /2010-04-01/Accounts/{AccountSid}/Messages.json
// filtered by To, From (not for a Messaging Service, whose messages are
// matched on messaging_service_sid) and the dates sent ("DateSent>" and
// "DateSent<", on or after and on or before, UTC days: from the query's
// After to its Before plus QueueWindow), following next_page_uri for at
// most 20 pages of 100.
//
// An outbound message to To from the sender, created within the query's
// window (a minute of slack either side), whose body equals the query's
// is accepted, with its SID. The answer is "not accepted" only when no
// outbound message to To from the sender was created in the window at
// all, every page was read, and QueueWindow has passed since Before (a
// message still queued has no date sent and is not listed). Anything
// else is unknown: a message in the window with another body (the
// patient record may have changed since), more pages than are read, an
// account with Phone Number Redaction (bodies and numbers are redacted).
// Errors are *provider.Error values: 429 is RateLimited with Retry-After,
// 5xx and transport failures Transient; they name the status or Twilio
// code, never the number or the body.
func (c *Client) CheckAccepted(ctx context.Context, q *provider.AcceptanceQuery) (provider.Acceptance, error) {
	unknown := provider.Acceptance{}
	if q == nil || q.To == "" || q.Body == "" || q.After.IsZero() || q.Before.Before(q.After) {
		return unknown, &provider.Error{Class: provider.Permanent, Message: "twilio: acceptance query needs To, Body and a window"}
	}
	if c.cfg.PhoneNumberRedaction {
		return unknown, nil
	}
	from, service := c.sender(q.From)
	params := url.Values{}
	params.Set("To", q.To)
	if !service {
		params.Set("From", from)
	}
	params.Set("DateSent>", q.After.UTC().Format(time.DateOnly))
	params.Set("DateSent<", q.Before.Add(c.cfg.QueueWindow).UTC().Format(time.DateOnly))
	params.Set("PageSize", strconv.Itoa(listPageSize))
	lo, hi := q.After.Add(-acceptSlack), q.Before.Add(acceptSlack)
	next := c.endpoint + "?" + params.Encode()
	root := strings.TrimRight(c.cfg.BaseURL, "/")
	candidate := false
	for range listMaxPages {
		page, err := c.listPage(ctx, next)
		if err != nil {
			return unknown, err
		}
		for i := range page.Messages {
			m := &page.Messages[i]
			if !strings.HasPrefix(m.Direction, "outbound") || m.To != q.To {
				continue
			}
			if service && (m.MessagingServiceSID == nil || *m.MessagingServiceSID != from) || !service && m.From != from {
				continue
			}
			created, err := time.Parse(time.RFC1123Z, m.DateCreated)
			if err != nil {
				candidate = true // cannot place it: it may be ours
				continue
			}
			if created.Before(lo) || created.After(hi) {
				continue
			}
			if m.Body == q.Body && m.SID != "" {
				return provider.Acceptance{Status: provider.AcceptanceAccepted, ProviderMessageID: m.SID}, nil
			}
			candidate = true
		}
		if page.NextPageURI == nil || *page.NextPageURI == "" {
			if candidate || c.cfg.Now().Before(q.Before.Add(c.cfg.QueueWindow)) {
				return unknown, nil
			}
			return provider.Acceptance{Status: provider.AcceptanceNotAccepted}, nil
		}
		if !strings.HasPrefix(*page.NextPageURI, "/") {
			return unknown, &provider.Error{Class: provider.Permanent, Message: "twilio: next_page_uri is not a path"}
		}
		next = root + *page.NextPageURI
	}
	return unknown, nil
}

// listPage GETs one page of the Messages list.
func (c *Client) listPage(ctx context.Context, u string) (*listPage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, &provider.Error{Class: provider.Permanent, Message: "twilio: build list request"}
	}
	req.SetBasicAuth(c.user, c.pass)
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, &provider.Error{Class: provider.Transient, Message: "twilio: message list failed", Err: scrub(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, listMaxPageBytes+1))
	if err != nil {
		return nil, &provider.Error{Class: provider.Transient, Message: "twilio: message list cut short", Err: scrub(err)}
	}
	if resp.StatusCode != http.StatusOK {
		var ae apiError
		_ = json.Unmarshal(body, &ae)
		e := codeError(ae.Code, resp.StatusCode, parseRetryAfter(resp.Header.Get("Retry-After")))
		// A read: nothing was sent, so nothing is ambiguous, and no
		// code says anything about a recipient.
		switch {
		case e.Class == provider.RateLimited:
		case resp.StatusCode >= 500:
			e.Class = provider.Transient
		default:
			e.Class, e.RetryAfter = provider.Permanent, 0
		}
		return nil, e
	}
	if len(body) > listMaxPageBytes {
		return nil, &provider.Error{Class: provider.Permanent, Message: "twilio: message list page too large"}
	}
	var p listPage
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, &provider.Error{Class: provider.Transient, Message: "twilio: message list not understood"}
	}
	return &p, nil
}
