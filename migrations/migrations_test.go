package migrations_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/brisk-go/brisk/migrations"
)

func TestDialectsHaveTheSameVersions(t *testing.T) {
	names := func(dialect string) []string {
		src, err := migrations.Source(dialect)
		if err != nil {
			t.Fatal(err)
		}
		entries, err := fs.ReadDir(src, ".")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	pg, lite := names(migrations.Postgres), names(migrations.SQLite)
	if len(pg) == 0 || len(pg)%2 != 0 {
		t.Fatalf("postgres migrations must come in up/down pairs, got %v", pg)
	}
	if !slices.Equal(pg, lite) {
		t.Fatalf("dialects differ:\npostgres: %v\nsqlite:   %v", pg, lite)
	}
	lp, _ := migrations.Latest(migrations.Postgres)
	ls, _ := migrations.Latest(migrations.SQLite)
	if lp != ls || lp == 0 {
		t.Fatalf("latest versions: postgres %d, sqlite %d", lp, ls)
	}
}

func TestUnknownDialect(t *testing.T) {
	if _, err := migrations.Source("oracle"); err == nil {
		t.Fatal("want an error for an unknown dialect")
	}
}

// openFresh returns a new, empty database of the dialect and a function that opens another
// pool on it (golang-migrate closes the pool it is given).
func openFresh(t *testing.T, dialect string) func() *sql.DB {
	t.Helper()
	switch dialect {
	case migrations.SQLite:
		path := filepath.Join(t.TempDir(), "m.db")
		return func() *sql.DB {
			db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
			if err != nil {
				t.Fatal(err)
			}
			return db
		}
	default:
		base := os.Getenv("TEST_DATABASE_URL")
		if base == "" {
			t.Skip("TEST_DATABASE_URL not set")
		}
		var b [6]byte
		_, _ = rand.Read(b[:])
		schema := "mig_" + hex.EncodeToString(b[:])
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
			_ = admin.Close()
		})
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return func() *sql.DB {
			db, err := sql.Open("pgx", u.String())
			if err != nil {
				t.Fatal(err)
			}
			return db
		}
	}
}

func TestUpDownUpRoundTrips(t *testing.T) {
	for _, dialect := range []string{migrations.SQLite, migrations.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			open := openFresh(t, dialect)
			ctx := context.Background()
			latest, err := migrations.Latest(dialect)
			if err != nil {
				t.Fatal(err)
			}
			step := func(name string, f func(m *migrations.Migrator) error) {
				t.Helper()
				m, err := migrations.New(dialect, open())
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				if err := f(m); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
			step("version before", func(m *migrations.Migrator) error {
				if _, _, err := m.Version(); !errors.Is(err, migrations.ErrNoVersion) {
					t.Fatalf("fresh database: want ErrNoVersion, got %v", err)
				}
				return nil
			})
			step("up", func(m *migrations.Migrator) error { return m.Up(ctx) })
			step("version after up", func(m *migrations.Migrator) error {
				v, dirty, err := m.Version()
				if err != nil || dirty || v != latest {
					t.Fatalf("after up: version %d dirty %v err %v, want %d", v, dirty, err, latest)
				}
				return nil
			})
			step("up again is a no-op", func(m *migrations.Migrator) error { return m.Up(ctx) })
			step("down all", func(m *migrations.Migrator) error { return m.Down(ctx, int(countUps(t, dialect))) })
			step("version after down", func(m *migrations.Migrator) error {
				if _, _, err := m.Version(); !errors.Is(err, migrations.ErrNoVersion) {
					t.Fatalf("after down all: want ErrNoVersion, got %v", err)
				}
				return nil
			})
			step("up after down", func(m *migrations.Migrator) error { return m.Up(ctx) })
			step("version after round trip", func(m *migrations.Migrator) error {
				v, _, err := m.Version()
				if err != nil || v != latest {
					t.Fatalf("after round trip: version %d err %v, want %d", v, err, latest)
				}
				return nil
			})
			step("force", func(m *migrations.Migrator) error { return m.Force(int(latest)) })
			step("down zero is refused", func(m *migrations.Migrator) error {
				if err := m.Down(ctx, 0); err == nil {
					t.Fatal("Down(0) must fail")
				}
				return nil
			})
		})
	}
}

func countUps(t *testing.T, dialect string) uint {
	src, err := migrations.Source(dialect)
	if err != nil {
		t.Fatal(err)
	}
	ups, err := fs.Glob(src, "*.up.sql")
	if err != nil {
		t.Fatal(err)
	}
	return uint(len(ups))
}
