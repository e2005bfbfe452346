// Package migrations loads the versioned, embedded SQL migrations of the
// SQL stores (store/sqlitestore, store/pgstore). Each store applies them
// itself, in one transaction, recording applied versions in its
// schema_migrations table.
package migrations

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one schema step, read from a file named NNNN_name.sql.
type Migration struct {
	// Version is NNNN, the order of application (> 0, unique).
	Version int
	// Name is the file name.
	Name string
	// SQL is the file's content.
	SQL string
}

// Load reads every dir/*.sql file of fsys and returns the migrations in
// ascending version order. A file not named NNNN_name.sql, or two files
// with one version, is an error.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, err
	}
	out := make([]Migration, 0, len(names))
	for _, n := range names {
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migrations: %q is not named NNNN_name.sql", base)
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		out = append(out, Migration{Version: v, Name: base, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migrations: two migrations with version %d", out[i].Version)
		}
	}
	return out, nil
}

// Latest returns the highest version in ms, or 0.
func Latest(ms []Migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}
