package blasthttp_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/carecast/carecast/blast/blasthttp"
	"github.com/carecast/carecast/blast/blasttest"
)

// BenchmarkCount measures one keystroke of the live counter: POST
// /sms/count with a 150-character marketing text, decoded, compiled,
// counted and priced.
func BenchmarkCount(b *testing.B) {
	h := blasttest.NewEngine(b, &blasttest.Options{NoStart: true})
	api, err := blasthttp.New(&blasthttp.Config{Engine: h.Engine, Cohorts: h.Cohorts, Organizations: h.Orgs,
		Org: func(*http.Request) (string, error) { return blasttest.Org, nil }})
	if err != nil {
		b.Fatal(err)
	}
	body := `{"text":"Hi {{first_name|there}}, ` + strings.Repeat("flu shots are in. ", 7) + `","purpose":"marketing","recipients":5000}`
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, httptest.NewRequest("POST", "/sms/count", strings.NewReader(body)))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
