package eligibility

import (
	"encoding/json"
	"fmt"

	"github.com/carecast/carecast"
)

// previewJSON is the wire form of a Preview.
type previewJSON struct {
	Channel        carecast.Channel `json:"channel"`
	Purpose        carecast.Purpose `json:"purpose"`
	CollapseShared bool             `json:"collapse_shared,omitempty"`
	Total          int              `json:"total"`
	WillSend       int              `json:"will_send"`
	Collapsed      int              `json:"collapsed,omitempty"`
	ByReason       map[Reason]int   `json:"by_reason"`
	Rows           []rowJSON        `json:"rows,omitempty"`
}

type rowJSON struct {
	Reason Reason `json:"reason"`
	Label  string `json:"label"`
	Count  int    `json:"count"`
}

// MarshalJSON encodes the preview for a user interface: the counts, the
// per-reason counts as an object keyed by reason name ("opted_out": 3;
// zero counts omitted) and the panel's rows with their labels:
//
//	{"channel":"sms","purpose":"marketing","total":7,"will_send":4,
//	 "by_reason":{"send":4,"blocked":1,…},
//	 "rows":[{"reason":"send","label":"Will send","count":4},…]}
func (p Preview) MarshalJSON() ([]byte, error) {
	w := previewJSON{
		Channel: p.Channel, Purpose: p.Purpose, CollapseShared: p.CollapseShared,
		Total: p.Total, WillSend: p.WillSend, Collapsed: p.Collapsed,
		ByReason: map[Reason]int{},
	}
	for r, n := range p.ByReason {
		if n != 0 {
			w.ByReason[Reason(r)] = n
		}
	}
	for _, row := range p.Rows() {
		w.Rows = append(w.Rows, rowJSON(row))
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes the form MarshalJSON writes (rows are derived,
// so they are ignored). It returns an error for an unknown reason name
// or a total that does not equal the sum of the per-reason counts.
func (p *Preview) UnmarshalJSON(b []byte) error {
	var w previewJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("eligibility: decoding preview: %w", err)
	}
	v := Preview{
		Channel: w.Channel, Purpose: w.Purpose, CollapseShared: w.CollapseShared,
		Total: w.Total, WillSend: w.WillSend, Collapsed: w.Collapsed,
	}
	sum := 0
	for r, n := range w.ByReason {
		v.ByReason[r] = n
		sum += n
	}
	if sum != v.Total || v.ByReason[Send] != v.WillSend || v.ByReason[SharedAddress] != v.Collapsed {
		return fmt.Errorf("eligibility: decoding preview: counts do not add up (total %d, by reason %d)", v.Total, sum)
	}
	*p = v
	return nil
}
