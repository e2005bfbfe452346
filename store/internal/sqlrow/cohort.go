package sqlrow

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/carecast/carecast/cohort"
)

// CohortDoc encodes c for the cohorts table's doc column, without its
// times (kept in their own columns).
func CohortDoc(c cohort.Cohort) ([]byte, error) {
	c.CreatedAt, c.UpdatedAt = time.Time{}, time.Time{}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode cohort: %w", err)
	}
	return b, nil
}

// DecodeCohort rebuilds a cohort from its doc column and times.
func DecodeCohort(doc []byte, created, updated int64) (cohort.Cohort, error) {
	var c cohort.Cohort
	if err := json.Unmarshal(doc, &c); err != nil {
		return c, fmt.Errorf("decode cohort: %w", err)
	}
	c.CreatedAt, c.UpdatedAt = Time(created), Time(updated)
	return c, nil
}

// NewCohortID returns a time-ordered UUIDv7, so new cohorts append to the
// end of the primary key's B-tree.
func NewCohortID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("cohort ID: %w", err)
	}
	return id.String(), nil
}

// PrepareCohort checks c (and its filter against schema, when not nil)
// and assigns an ID when it has none.
func PrepareCohort(c *cohort.Cohort, schema *cohort.Schema) error {
	if err := c.Check(); err != nil {
		return err
	}
	if schema != nil {
		if err := schema.Validate(c.Filter); err != nil {
			return err
		}
	}
	if c.ID == "" {
		id, err := NewCohortID()
		if err != nil {
			return err
		}
		c.ID = id
	}
	return nil
}
