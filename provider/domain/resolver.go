package domain

import (
	"context"
	"errors"
	"net"
	"strings"
)

// Resolver looks up DNS TXT records. *net.Resolver implements it. Names are
// passed fully qualified, with a trailing dot. Multi-string records must be
// returned concatenated, one string per record (as net.Resolver does). An
// implementation reports a name without TXT records with a *net.DNSError
// whose IsNotFound is true, or an error wrapping ErrNoRecord; any other
// error is treated as temporary.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// ErrNoRecord is how a custom Resolver reports that a name has no TXT
// records (NXDOMAIN or an empty answer).
var ErrNoRecord = errors.New("domain: no such record")

// ErrTemporary wraps DNS failures other than "no such record" (SERVFAIL,
// timeouts): the check could not be made and should be retried. It is
// never reported as a missing record.
var ErrTemporary = errors.New("domain: temporary DNS error, retry")

// lookup queries TXT records of name. found is false for NXDOMAIN or no
// records; err is non-nil (wrapping ErrTemporary) only for other failures.
func lookup(ctx context.Context, r Resolver, name string) (records []string, found bool, err error) {
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	txt, err := r.LookupTXT(ctx, name)
	if err != nil {
		var de *net.DNSError
		if errors.Is(err, ErrNoRecord) || errors.As(err, &de) && de.IsNotFound {
			return nil, false, nil
		}
		return nil, false, &tempError{name: strings.TrimSuffix(name, "."), err: err}
	}
	return txt, len(txt) > 0, nil
}

// tempError is a temporary DNS failure for one name.
type tempError struct {
	name string
	err  error
}

func (e *tempError) Error() string {
	return "domain: temporary DNS error looking up " + e.name + ", retry"
}

func (e *tempError) Unwrap() []error { return []error{ErrTemporary, e.err} }
