package blasthttp_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasthttp"
	"github.com/carecast/carecast/blast/blasttest"
	"github.com/carecast/carecast/render"
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

// BenchmarkList measures GET /blasts?limit=200 over 40 email drafts
// carrying a 1 MiB attachment each: the allocations per request are the
// summaries', independent of what the drafts carry (see "Memory" in the
// package documentation).
func BenchmarkList(b *testing.B) {
	h := blasttest.NewEngine(b, &blasttest.Options{NoStart: true})
	api, err := blasthttp.New(&blasthttp.Config{Engine: h.Engine, Cohorts: h.Cohorts,
		Org: func(*http.Request) (string, error) { return blasttest.Org, nil }})
	if err != nil {
		b.Fatal(err)
	}
	d := blast.Draft{Channel: carecast.Email, From: "a@clinic.example", Email: &render.EmailContent{Subject: "Leaflet",
		Format: render.FormatMarkdown, Body: "See the leaflet.", Attachments: []render.Attachment{{Filename: "leaflet.pdf", Data: make([]byte, 1<<20)}}}}
	for range 40 {
		if _, err := h.Engine.CreateDraft(b.Context(), blasttest.Org, d); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, httptest.NewRequest("GET", "/blasts?limit=200", nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
