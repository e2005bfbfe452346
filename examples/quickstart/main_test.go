package main

import (
	"context"
	"path/filepath"
	"testing"
)

// TestQuickstart runs the whole example on a fresh SQLite database: the
// README's first command must keep working.
func TestQuickstart(t *testing.T) {
	if err := run(context.Background(), filepath.Join(t.TempDir(), "q.db")); err != nil {
		t.Fatal(err)
	}
}
