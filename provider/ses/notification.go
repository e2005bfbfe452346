package ses

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/carecast/carecast/provider"
)

// notification is the part of an SES notification (or event publishing
// record) the adapter reads; SES reserves the right to add fields, which
// are ignored.
type notification struct {
	NotificationType string `json:"notificationType"`
	EventType        string `json:"eventType"`
	Mail             struct {
		MessageID     string   `json:"messageId"`
		Timestamp     string   `json:"timestamp"`
		Destination   []string `json:"destination"`
		CommonHeaders struct {
			MessageID string `json:"messageId"`
		} `json:"commonHeaders"`
	} `json:"mail"`
	Bounce *struct {
		BounceType        string `json:"bounceType"`
		BounceSubType     string `json:"bounceSubType"`
		Timestamp         string `json:"timestamp"`
		BouncedRecipients []struct {
			EmailAddress string `json:"emailAddress"`
			Status       string `json:"status"`
		} `json:"bouncedRecipients"`
	} `json:"bounce"`
	Complaint *struct {
		Timestamp            string `json:"timestamp"`
		ComplainedRecipients []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"complainedRecipients"`
	} `json:"complaint"`
	Delivery *struct {
		Timestamp  string   `json:"timestamp"`
		Recipients []string `json:"recipients"`
	} `json:"delivery"`
	Open *struct {
		Timestamp string `json:"timestamp"`
	} `json:"open"`
	Click *struct {
		Timestamp string `json:"timestamp"`
		Link      string `json:"link"`
	} `json:"click"`
}

// ParseNotification translates a verified SNS Notification carrying an SES
// notification or event record into events, one per recipient:
//
//	Bounce     EventBounce. Permanent bounces are hard (Suppress), unless
//	           the recipient's status is 5.7.x (a block: SenderBlocked,
//	           the patient is not suppressed); Transient and Undetermined
//	           bounces are soft (Transient).
//	Complaint  EventComplaint
//	Delivery   EventDelivered
//	Open       EventOpen; Click: EventClick with the link
//
// Other types (Send, Reject, DeliveryDelay, Rendering Failure, …) yield no
// events. Event.ID is "ses:" + the SNS MessageId + ":" + the recipient's
// index, stable across SNS retries. ProviderMessageID is the Message-ID
// header as sent (commonHeaders.messageId, without brackets; what
// provider/smtp returns), or SES's own message ID when absent. Event.To is
// the recipient address.
func ParseNotification(orgID string, m *Message) ([]provider.Event, error) {
	var n notification
	if err := json.Unmarshal([]byte(m.Message), &n); err != nil {
		return nil, fmt.Errorf("ses: notification Message is not SES JSON: %w", provider.ErrWebhookMalformed)
	}
	kind := n.NotificationType
	if kind == "" {
		kind = n.EventType
	}
	msgID := strings.Trim(n.Mail.CommonHeaders.MessageID, "<> ")
	if msgID == "" {
		msgID = n.Mail.MessageID
	}
	var out []provider.Event
	add := func(ev provider.Event, ts string) {
		ev.ID = "ses:" + m.MessageId + ":" + strconv.Itoa(len(out))
		ev.OrgID = orgID
		ev.ProviderMessageID = msgID
		ev.At, _ = time.Parse(time.RFC3339Nano, ts)
		out = append(out, ev)
	}
	switch kind {
	case "Bounce":
		if n.Bounce == nil {
			return nil, fmt.Errorf("ses: Bounce without bounce object: %w", provider.ErrWebhookMalformed)
		}
		for _, r := range n.Bounce.BouncedRecipients {
			ev := provider.Event{Kind: provider.EventBounce, To: r.EmailAddress, Code: r.Status, Class: provider.Transient}
			if ev.Code == "" {
				ev.Code = n.Bounce.BounceType + "/" + n.Bounce.BounceSubType
			}
			if n.Bounce.BounceType == "Permanent" {
				ev.Class, ev.HardBounce = provider.Suppress, true
				if strings.HasPrefix(r.Status, "5.7.") {
					ev.Class, ev.HardBounce = provider.SenderBlocked, false
				}
			}
			add(ev, n.Bounce.Timestamp)
		}
	case "Complaint":
		if n.Complaint == nil {
			return nil, fmt.Errorf("ses: Complaint without complaint object: %w", provider.ErrWebhookMalformed)
		}
		for _, r := range n.Complaint.ComplainedRecipients {
			add(provider.Event{Kind: provider.EventComplaint, To: r.EmailAddress}, n.Complaint.Timestamp)
		}
	case "Delivery":
		if n.Delivery == nil {
			return nil, fmt.Errorf("ses: Delivery without delivery object: %w", provider.ErrWebhookMalformed)
		}
		for _, r := range n.Delivery.Recipients {
			add(provider.Event{Kind: provider.EventDelivered, To: r}, n.Delivery.Timestamp)
		}
	case "Open":
		if n.Open != nil {
			for _, r := range n.Mail.Destination {
				add(provider.Event{Kind: provider.EventOpen, To: r}, n.Open.Timestamp)
			}
		}
	case "Click":
		if n.Click != nil {
			for _, r := range n.Mail.Destination {
				add(provider.Event{Kind: provider.EventClick, To: r, URL: n.Click.Link}, n.Click.Timestamp)
			}
		}
	}
	return out, nil
}
