package blasthttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/blast"
	"github.com/carecast/carecast/blast/blasthttp"
	"github.com/carecast/carecast/cohort"
	"github.com/carecast/carecast/provider/fake"
	"github.com/carecast/carecast/store/memstore"
)

// Example mounts the API under /api, creates a draft, previews it and
// counts a message as the user types.
func Example() {
	ctx := context.Background()
	org := carecast.Organization{ID: "org-1", Name: "Sunrise Family Clinic"}
	patients := cohort.NewMemPatientStore()
	patients.Put(org.ID,
		carecast.Patient{ID: "p1", FirstName: "Ana", Phone: "+15125550101"},
		carecast.Patient{ID: "p2", FirstName: "Ben"}) // no phone: skipped
	cohorts := cohort.NewMemStore()
	everyone, _ := cohorts.SaveCohort(ctx, cohort.Cohort{OrgID: org.ID, Name: "Everyone"})
	engine, err := blast.New(&blast.Config{
		Store: memstore.New(), Patients: patients, Cohorts: cohorts,
		Organizations: blast.OrgMap{org.ID: org}, SMS: fake.New(nil),
	})
	if err != nil {
		panic(err)
	}

	api, err := blasthttp.New(&blasthttp.Config{
		Engine: engine, Cohorts: cohorts, Organizations: blast.OrgMap{org.ID: org},
		// A real host reads its session here.
		Org: func(r *http.Request) (string, error) { return org.ID, nil },
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", api))

	call := func(method, path, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
		return rec
	}

	rec := call("POST", "/api/blasts", `{"name":"Flu shots","cohort_ids":["`+everyone.ID+`"],"channel":"sms",
		"sms":{"body":"Hi {{first_name|there}}, flu shots are in."}}`)
	var b blasthttp.Blast
	_ = json.Unmarshal(rec.Body.Bytes(), &b)
	fmt.Println("create:", rec.Code, b.Name, b.Status)

	rec = call("GET", "/api/blasts/"+b.ID+"/preview", "")
	var p struct {
		Rows []struct {
			Label string
			Count int
		}
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &p)
	fmt.Println("preview:", rec.Code, p.Rows)

	rec = call("POST", "/api/sms/count", `{"text":"Hi {{first_name}} 😀","purpose":"marketing","recipients":100}`)
	var c blasthttp.Count
	_ = json.Unmarshal(rec.Body.Bytes(), &c)
	fmt.Printf("count: %d typed %s/%d segment(s); sent as %s, %d segment(s); 100 cost $%s\n",
		rec.Code, c.Typed.Encoding, c.Typed.Segments, c.Message.Encoding, c.Message.Segments, c.Cost.Display)

	rec = call("POST", "/api/blasts/"+b.ID+"/send", `{"org_id":"org-2"}`)
	fmt.Println("send:", rec.Code, strings.TrimSpace(rec.Body.String()))
	// Output:
	// create: 201 Flu shots draft
	// preview: 200 [{Will send 1} {Opted out 0} {No contact info 1} {Landline 0}]
	// count: 200 typed UCS-2/1 segment(s); sent as UCS-2, 1 segment(s); 100 cost $0.79
	// send: 400 {"error":{"code":"unknown_field","message":"unknown field \"org_id\""}}
}
