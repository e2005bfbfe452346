package blasttest_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/carecast/carecast/blast/blasttest"
)

func TestClock(t *testing.T) {
	t0 := blasttest.Epoch
	c := blasttest.NewClock(t0)
	var order []string
	c.AfterFunc(3*time.Second, func() { order = append(order, "f3") })
	t1 := c.NewTimer(time.Second)
	stopped := c.AfterFunc(2*time.Second, func() { order = append(order, "never") })
	assert.True(t, stopped.Stop())
	assert.False(t, stopped.Stop())
	assert.Equal(t, 2, c.Pending())
	next, ok := c.Next()
	assert.True(t, ok)
	assert.Equal(t, t0.Add(time.Second), next)

	assert.True(t, c.AdvanceToNext())
	assert.Equal(t, t0.Add(time.Second), <-t1.C())
	assert.False(t, t1.Stop(), "already fired")
	c.Advance(5 * time.Second)
	assert.Equal(t, []string{"f3"}, order)
	assert.Equal(t, t0.Add(6*time.Second), c.Now())
	assert.False(t, c.AdvanceToNext())
	c.Set(t0) // never backwards
	assert.Equal(t, t0.Add(6*time.Second), c.Now())
	now := <-c.NewTimer(0).C()
	assert.Equal(t, c.Now(), now, "non-positive durations fire at once")
}
