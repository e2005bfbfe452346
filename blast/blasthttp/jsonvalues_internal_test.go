package blasthttp

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
)

// tokenValues counts what jsonValues counts with encoding/json's own
// tokenizer: every token except a closing bracket.
func tokenValues(raw []byte) (int, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	n := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return n, true
		}
		if err != nil {
			return 0, false
		}
		if d, ok := tok.(json.Delim); ok && (d == ']' || d == '}') {
			continue
		}
		n++
	}
}

func TestJSONValues(t *testing.T) {
	for body, want := range map[string]int{
		``:                           0,
		`null`:                       1,
		`-12.5e3`:                    1,
		`"a\"b"`:                     1,
		`[]`:                         1,
		`{"a":[1, 2 ,true],"b":{}}`:  8,
		`{"s":"[{,:\\"}`:             3,
		"[\n\t1 ,\r\n\"x\" ]":        3,
		`{"patient_ids":["","",""]}`: 6,
	} {
		if got := jsonValues([]byte(body), 1<<20); got != want {
			t.Errorf("jsonValues(%q) = %d, want %d", body, got, want)
		}
	}
	if got := jsonValues([]byte(`[1,2,3,4,5,6]`), 3); got != 4 {
		t.Errorf("jsonValues stops one past the limit: got %d", got)
	}
}

// FuzzJSONValues: on every valid JSON text jsonValues agrees with the
// tokenizer; on any input it never exceeds limit+1.
func FuzzJSONValues(f *testing.F) {
	for _, s := range []string{`{"a":[1,2]}`, `"x\\\"y"`, `[true,false,null]`, `{"k":"v","n":-1.5e10}`, `[[[]]]`, `{"a":"}"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if n := jsonValues(raw, 50); n > 51 {
			t.Fatalf("jsonValues returned %d past limit 50", n)
		}
		if !json.Valid(raw) {
			return
		}
		want, ok := tokenValues(raw)
		if !ok {
			return
		}
		if got := jsonValues(raw, 1<<30); got != want {
			t.Fatalf("jsonValues(%q) = %d, tokenizer counts %d", raw, got, want)
		}
	})
}
