package jobs_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/brisk-go/brisk/libs/data/jobs"
	"github.com/brisk-go/brisk/migrations"
)

var update = flag.Bool("update", false, "rewrite migrations/*/000002_river_queue.*.sql from the River module")

// The committed River migrations are exactly what the River version in go.mod produces.
func TestRiverMigrationFiles(t *testing.T) {
	for _, dialect := range []string{migrations.Postgres, migrations.SQLite} {
		up, down, err := jobs.RiverMigrationFiles(dialect)
		if err != nil {
			t.Fatal(err)
		}
		for suffix, want := range map[string]string{"up": up, "down": down} {
			path := filepath.Join("..", "..", "..", "migrations", dialect, fmt.Sprintf("%06d_river_queue.%s.sql", jobs.RiverMigrationVersion, suffix))
			if *update {
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (generate with -update)", err)
			}
			if string(got) != want {
				t.Errorf("%s differs from River's migrations in go.mod: run go test ./libs/data/jobs -run TestRiverMigrationFiles -update", path)
			}
		}
	}
}
