package provider_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/carecast/carecast/provider"
	"github.com/carecast/carecast/provider/fake"
)

// uncovered is a sender that does not implement BAACoverage.
type uncovered struct{}

func TestCoversPHI(t *testing.T) {
	assert.False(t, provider.CoversPHI(nil))
	assert.False(t, provider.CoversPHI(uncovered{}), "a sender that says nothing is not covered")
	assert.False(t, provider.CoversPHI(fake.New(nil)), "the fake defaults to uncovered, like the adapters")
	assert.True(t, provider.CoversPHI(fake.New(&fake.Config{CoversPHI: true})))
}
