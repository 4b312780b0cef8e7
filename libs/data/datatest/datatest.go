// Package datatest gives tests a real, freshly migrated database: SQLite in the test's temporary
// directory by default, or a schema of its own on the PostgreSQL named by TEST_DATABASE_URL.
// Each call returns an isolated database, so tests may run in parallel; it is dropped at cleanup.
package datatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/data"
)

// EnvPostgres names the variable that moves database tests onto PostgreSQL.
const EnvPostgres = "TEST_DATABASE_URL"

// URL returns a DATABASE_URL for a fresh, empty database: a new SQLite file under t.TempDir(),
// or a new schema on TEST_DATABASE_URL's server (dropped when the test ends). Nothing is migrated.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		return "sqlite://" + filepath.Join(t.TempDir(), "test.db")
	}
	schema := "t_" + randomSuffix(t)
	admin, err := data.Open(context.Background(), data.Options{URL: base, MaxOpenConns: 1})
	if err != nil {
		t.Fatalf("datatest: %v", err)
	}
	defer func() { _ = admin.Close() }()
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("datatest: create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := data.Open(context.Background(), data.Options{URL: base, MaxOpenConns: 1})
		if err != nil {
			t.Errorf("datatest: drop schema %s: %v", schema, err)
			return
		}
		defer func() { _ = db.Close() }()
		if _, err := db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("datatest: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("datatest: %s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema) // pgx sends unknown parameters as run-time settings
	u.RawQuery = q.Encode()
	return u.String()
}

// New returns an open, fully migrated database for one test, closed at cleanup.
func New(t testing.TB) *bun.DB {
	t.Helper()
	db, _ := NewWithURL(t)
	return db
}

// NewWithURL is New that also returns the database's URL, for code under test that opens its
// own connections (the app's run function, the job queue).
func NewWithURL(t testing.TB) (*bun.DB, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	u := URL(t)
	target, err := data.ParseURL(u, 0)
	if err != nil {
		t.Fatalf("datatest: %v", err)
	}
	if err := data.MigrateUp(ctx, target); err != nil {
		t.Fatalf("datatest: migrate: %v", err)
	}
	db, err := data.Open(ctx, data.Options{URL: u, MaxOpenConns: 8})
	if err != nil {
		t.Fatalf("datatest: open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, u
}

// Dialect reports which database tests run against: "postgres" or "sqlite".
func Dialect() string {
	if os.Getenv(EnvPostgres) != "" {
		return "postgres"
	}
	return "sqlite"
}

func randomSuffix(t testing.TB) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("datatest: random: %v", err)
	}
	return hex.EncodeToString(b[:])
}
