package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// result is one scenario's outcome: the pinned fields, in order, plus
// optional extra fields that help read it.
type result struct {
	fields []field
}

type field struct {
	key string
	val any
}

func (r *result) add(key string, val any) *result {
	r.fields = append(r.fields, field{key, val})
	return r
}

func (r *result) get(key string) any {
	for _, f := range r.fields {
		if f.key == key {
			return f.val
		}
	}
	return nil
}

// MarshalJSON writes the fields in insertion order.
func (r *result) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range r.fields {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		v, err := json.Marshal(f.val)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

func writeJSON(w io.Writer, r *result) error {
	b, err := r.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// writeTable prints results as an aligned table: one row per scenario, its
// other fields as key=value pairs.
func writeTable(w io.Writer, rs []*result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tRESULT")
	for _, r := range rs {
		var parts []string
		name := ""
		for _, f := range r.fields {
			if f.key == "scenario" {
				name = fmt.Sprint(f.val)
				continue
			}
			parts = append(parts, f.key+"="+formatVal(f.val))
		}
		fmt.Fprintf(tw, "%s\t%s\n", name, strings.Join(parts, "  "))
	}
	return tw.Flush()
}

func formatVal(v any) string {
	switch x := v.(type) {
	case float64:
		switch {
		case x >= 1000:
			return fmt.Sprintf("%.0f", x)
		case x >= 10:
			return fmt.Sprintf("%.1f", x)
		default:
			return fmt.Sprintf("%.3f", x)
		}
	case map[string]int:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var p []string
		for _, k := range keys {
			p = append(p, fmt.Sprintf("%s:%d", k, x[k]))
		}
		return strings.Join(p, ",")
	}
	return fmt.Sprint(v)
}
