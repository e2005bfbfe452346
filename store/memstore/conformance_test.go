package memstore_test

import (
	"testing"

	"github.com/carecast/carecast/store"
	"github.com/carecast/carecast/store/memstore"
	"github.com/carecast/carecast/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		NewStore: func(t *testing.T) store.Store { return memstore.New() },
	})
}
