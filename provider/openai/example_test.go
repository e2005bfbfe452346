package openai_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/openai"
)

// A local OpenAI-compatible server (vLLM, Ollama, or here a stub) drafts an
// SMS; the quotes the model added are stripped and the draft is measured.
func ExampleClient_Generate() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c1","object":"chat.completion","created":1,"model":"llama","choices":[{"index":0,"finish_reason":"stop",
"message":{"role":"assistant","content":"\"Hi {{first_name}}, flu shots are in! Book at oakclinic.example\""}}]}`)
	}))
	defer srv.Close()

	c, err := openai.New(openai.Config{BaseURL: srv.URL + "/v1", Model: "llama"})
	if err != nil {
		fmt.Println(err)
		return
	}
	gen, err := c.Generate(context.Background(), provider.GenerateRequest{
		Kind:        provider.GenerateSMSBody,
		Prompt:      "Flu shots are available; ask patients to book online.",
		OrgName:     "Oak Clinic",
		FieldKeys:   []string{"first_name"},
		MaxSegments: 1,
		Suffix:      " Reply STOP to opt out",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(gen.Text)
	fmt.Println(gen.Segments, gen.Encoding, gen.Fields)
	// Output:
	// Hi {{first_name}}, flu shots are in! Book at oakclinic.example
	// 1 GSM-7 [first_name]
}
