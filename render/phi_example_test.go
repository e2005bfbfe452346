package render_test

import (
	"errors"
	"fmt"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/render"
)

func ExampleScanSensitive() {
	text := "Hi {{first_name}}, your pregnancy test (code Z34.00) is ready. Your appointment is Tuesday."
	for _, f := range render.ScanSensitive(text) {
		fmt.Printf("%s %q at byte %d\n", f.Kind, f.Term, f.Offset)
	}
	// Output:
	// sensitive_term "pregnancy test" at byte 24
	// icd10_code "Z34.00" at byte 45
}

func ExampleScanExemptContent() {
	for _, text := range []string{
		"Sunrise Dental: appt Tue 3/10 2:30pm. Reply C to confirm. STOP to opt out",
		"Sunrise Dental: balance due $40. Spring sale: 20% off whitening!",
	} {
		fmt.Println(render.ScanExemptContent(text))
	}
	// Output:
	// []
	// [{billing balance due 16} {advertising sale 40} {advertising 20% off 46}]
}

func ExampleUnknownFieldsError_PHIFields() {
	_, err := render.CompileSMS(render.SMSContent{Body: "Hi {{first_name}}, your {{.LabResult}} is in"},
		carecast.Transactional, carecast.Organization{Name: "Sunrise Clinic"})
	fmt.Println(errors.Is(err, render.ErrPHIField))
	var ue *render.UnknownFieldsError
	if errors.As(err, &ue) {
		fmt.Println(ue.PHIFields())
	}
	// Output:
	// true
	// [{.LabResult 24}]
}
