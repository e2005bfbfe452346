package migrations

import (
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		files   fstest.MapFS
		want    []int
		wantErr bool
	}{
		{"sorted by version", fstest.MapFS{
			"m/0002_b.sql": {Data: []byte("B")}, "m/0001_a.sql": {Data: []byte("A")}, "m/0010_c.sql": {Data: []byte("C")},
		}, []int{1, 2, 10}, false},
		{"empty", fstest.MapFS{}, []int{}, false},
		{"bad name", fstest.MapFS{"m/init.sql": {}}, nil, true},
		{"zero version", fstest.MapFS{"m/0000_x.sql": {}}, nil, true},
		{"duplicate version", fstest.MapFS{"m/0001_a.sql": {}, "m/1_b.sql": {}}, nil, true},
		{"other extensions ignored", fstest.MapFS{"m/0001_a.sql": {}, "m/README.md": {}}, []int{1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := Load(tt.files, "m")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if len(ms) != len(tt.want) {
				t.Fatalf("got %d migrations, want %d", len(ms), len(tt.want))
			}
			for i, m := range ms {
				if m.Version != tt.want[i] {
					t.Errorf("migration %d: version %d, want %d", i, m.Version, tt.want[i])
				}
			}
			if len(ms) > 0 && Latest(ms) != tt.want[len(tt.want)-1] {
				t.Errorf("Latest = %d", Latest(ms))
			}
		})
	}
}
