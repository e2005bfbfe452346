package render_test

import (
	"errors"
	"fmt"

	"github.com/carecast/carecast"
	"github.com/carecast/carecast/render"
)

func ExampleCompileEmail() {
	org := carecast.Organization{Name: "Sunrise Dental"}
	tpl, err := render.CompileEmail(render.EmailContent{
		Subject: "See you tomorrow, {{first_name|there}}",
		Format:  render.FormatMarkdown,
		Body: "## Appointment reminder\n\n" +
			"Hi {{first_name|there}}, your cleaning at **{{organization_name}}** is tomorrow at 9am.\n\n" +
			"- Bring your insurance card\n- Arrive 10 minutes early\n\n" +
			"[Reschedule](https://sunrise.example/r) if you need to.",
	}, carecast.Transactional, org)
	if err != nil {
		fmt.Println(err)
		return
	}
	patient := carecast.Patient{ID: "p-1", FirstName: "Ada"}
	email := tpl.Render(render.Data{Patient: &patient, Org: &org}, nil)
	fmt.Println(email.Subject)
	fmt.Print(email.Text)
	// Output:
	// See you tomorrow, Ada
	// Appointment reminder
	//
	// Hi Ada, your cleaning at Sunrise Dental is tomorrow at 9am.
	//
	// - Bring your insurance card
	// - Arrive 10 minutes early
	//
	// Reschedule (https://sunrise.example/r) if you need to.
}

func ExampleEmailTemplate_Render() {
	org := carecast.Organization{Name: "Sunrise Dental", PostalAddress: []string{"12 Main St", "Springfield, IL 62701"}}
	tpl, err := render.CompileEmail(render.EmailContent{
		Subject: "Spring offer",
		Format:  render.FormatBlocks,
		Body: `{"blocks": [
			{"type": "paragraph", "content": [{"text": "Hi {{first_name}}, "}, {"text": "20% off", "bold": true}, {"text": " cleanings."}]},
			{"type": "button", "text": "Book now", "link": "https://sunrise.example/book"}]}`,
	}, carecast.Marketing, org)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tpl.Links())
	patient := carecast.Patient{ID: "p-7", FirstName: "Tom & Jerry"}
	email := tpl.Render(render.Data{Patient: &patient, Org: &org}, &render.EmailRenderOpts{
		UnsubscribeURL: "https://t.example/u/opaque-token",
		RewriteLink: func(i int, url string) string {
			return fmt.Sprintf("https://t.example/c/opaque-%d", i)
		},
	})
	fmt.Print(email.Text)
	// Output:
	// [https://sunrise.example/book]
	// Hi Tom & Jerry, 20% off cleanings.
	//
	// Book now (https://t.example/c/opaque-0)
	//
	// You are receiving this email because you opted in to marketing emails from Sunrise Dental.
	//
	// Unsubscribe (https://t.example/u/opaque-token) to stop all marketing emails from Sunrise Dental.
	//
	// Sunrise Dental
	// 12 Main St
	// Springfield, IL 62701
}

func ExampleSanitizeEmailHTML() {
	out, removed := render.SanitizeEmailHTML(`<style>@import url(https://x.example/a.css); p { color: #333; behavior: url(x.htc) }</style>` +
		`<p onclick="track()" style="width: expr/**/ession(alert(1)); padding: 4px">Hi</p><script>x()</script>` +
		`<form><input name="ssn"></form><a href="javascript:go()">link</a>`)
	fmt.Println(out)
	for _, r := range removed {
		fmt.Printf("%s %s ×%d\n", r.Kind, r.Name, r.Count)
	}
	// Output:
	// <html><head><style>p{color:#333}
	// </style></head><body><p style="padding:4px">Hi</p><a>link</a></body></html>
	// css @import ×1
	// css behavior ×1
	// attribute onclick ×1
	// css width ×1
	// element script ×1
	// element input ×1
	// wrapper form ×1
	// attribute href ×1
}

func ExampleValidateAttachments() {
	atts := []render.Attachment{
		{Filename: "care-plan.pdf", Data: []byte("%PDF-1.7 ...")},
		{Filename: "installer.exe", Data: []byte("MZ...")},
	}
	err := render.ValidateAttachments(atts, 0)
	fmt.Println(err)
	fmt.Println(errors.Is(err, render.ErrAttachmentBlockedType))
	fmt.Println(render.AttachmentContentType(atts[0].Filename, atts[0].Data))
	// Output:
	// render: attachment type is blocked by mailbox providers (attachment 1)
	// true
	// application/pdf
}
