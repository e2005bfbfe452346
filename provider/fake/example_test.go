package fake_test

import (
	"context"
	"fmt"
	"time"

	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/fake"
)

// A fake provider scripted to throttle once and then lose an answer: the
// engine's retry and "in doubt" paths can be exercised without a vendor.
func Example() {
	ctx := context.Background()
	p := fake.New(nil)
	p.FailNext(fake.RateLimited(30*time.Second), fake.Ambiguous())

	for _, id := range []string{"row-1", "row-2", "row-3"} {
		_, err := p.SendSMS(ctx, &provider.SMSMessage{ID: id, To: "+12125550123", Body: "Hi"})
		if err != nil {
			fmt.Printf("%s: %s, retry after %s\n", id, provider.Classify(err), provider.RetryAfter(err))
			continue
		}
		fmt.Printf("%s: accepted\n", id)
	}
	fmt.Println("confirmed:", p.Count(), "duplicates:", p.Duplicates())
	// Output:
	// row-1: rate_limited, retry after 30s
	// row-2: ambiguous, retry after 0s
	// row-3: accepted
	// confirmed: 2 duplicates: 0
}
