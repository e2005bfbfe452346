package tracking_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/carecast/carecast/tracking"
)

// exampleBackend maps one recipient's two links; a real host uses the
// blast engine, which implements tracking.Backend.
type exampleBackend struct{ unsubscribed bool }

func (b *exampleBackend) LinkURL(_ context.Context, id string, i int) (string, error) {
	links := []string{"https://clinic.example/book", "https://clinic.example/hours"}
	if id != "row-1" || i >= len(links) {
		return "", tracking.ErrUnknownRecipient
	}
	return links[i], nil
}
func (b *exampleBackend) RecordOpen(context.Context, string, tracking.Engagement) error { return nil }
func (b *exampleBackend) RecordClick(_ context.Context, _ string, i int, e tracking.Engagement) error {
	fmt.Printf("click on link %d, machine=%v\n", i, e.Machine)
	return nil
}
func (b *exampleBackend) Unsubscribe(context.Context, string, tracking.Unsubscription) error {
	b.unsubscribed = true
	return nil
}

func Example() {
	signer, _ := tracking.NewSigner(tracking.Key{ID: 1, Secret: bytes.Repeat([]byte("k"), 32)})
	sent := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	backend := &exampleBackend{}
	h, _ := tracking.NewHandler(tracking.Config{
		Signer:  signer,
		Backend: backend,
		BaseURL: "https://t.clinic.example/t",
		Now:     func() time.Time { return sent.Add(2 * time.Hour) },
	})
	mux := http.NewServeMux()
	mux.Handle("/t/", http.StripPrefix("/t", h))

	click, _ := h.ClickURL("row-1", 1, sent)
	req := httptest.NewRequest("GET", strings.TrimPrefix(click, "https://t.clinic.example"), nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone) Mobile Safari")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Header().Get("Location"))

	unsub, _ := h.UnsubscribeURL("row-1", sent)
	req = httptest.NewRequest("POST", strings.TrimPrefix(unsub, "https://t.clinic.example"), strings.NewReader("List-Unsubscribe=One-Click"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	fmt.Println(w.Code, backend.unsubscribed)
	// Output:
	// click on link 1, machine=false
	// 302 https://clinic.example/hours
	// 200 true
}
