package data_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/data/datatest"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, dialect, path string
		bad               bool
	}{
		{in: "", dialect: "sqlite", path: data.DefaultSQLitePath},
		{in: "sqlite://tmp/x.db", dialect: "sqlite", path: "tmp/x.db"},
		{in: "sqlite:///abs/x.db?cache=shared", dialect: "sqlite", path: "/abs/x.db"},
		{in: "file:rel.db", dialect: "sqlite", path: "rel.db"},
		{in: "postgres://u@127.0.0.1:5432/db?sslmode=disable", dialect: "postgres"},
		{in: "postgresql://u@h/db", dialect: "postgres"},
		{in: "postgres://", bad: true},
		{in: "sqlite://", bad: true},
		{in: "mysql://h/db", bad: true},
		{in: "nonsense", bad: true},
	}
	for _, tc := range cases {
		got, err := data.ParseURL(tc.in, 0)
		if tc.bad {
			if err == nil {
				t.Errorf("%q: want an error", tc.in)
			}
			continue
		}
		if err != nil || got.Dialect != tc.dialect || (tc.path != "" && got.Path != tc.path) {
			t.Errorf("%q: got %+v, %v", tc.in, got, err)
		}
	}
	lite, _ := data.ParseURL("sqlite://x.db", 3*time.Second)
	for _, want := range []string{"busy_timeout(3000)", "journal_mode(WAL)", "foreign_keys(1)"} {
		if !strings.Contains(lite.DSN, strings.NewReplacer("(", "%28", ")", "%29").Replace(want)) {
			t.Errorf("SQLite DSN %q lacks %s", lite.DSN, want)
		}
	}
}

// The embedded default creates its directory and runs in WAL mode with foreign keys on.
func TestOpenSQLiteCreatesDirectoryAndSetsPragmas(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nested", "var")
	db, err := data.Open(context.Background(), data.Options{URL: "sqlite://" + filepath.Join(dir, "b.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	var mode string
	var fk int
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode %q %v", mode, err)
	}
	if err := db.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys %d %v", fk, err)
	}
	if data.Dialect(db) != "sqlite" {
		t.Fatal(data.Dialect(db))
	}
}

func TestOpenUnreachablePostgresFails(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := data.Open(ctx, data.Options{URL: "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"})
	if err == nil {
		t.Fatal("want an error for a server that is not there")
	}
}

func TestCheckSchema(t *testing.T) {
	t.Parallel()
	db := datatest.New(t)
	st, err := data.CheckSchema(context.Background(), db)
	if err != nil || !st.UpToDate() || st.Latest == 0 {
		t.Fatalf("migrated database: %+v %v", st, err)
	}
	url := datatest.URL(t)
	fresh, err := data.Open(context.Background(), data.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	st, err = data.CheckSchema(context.Background(), fresh)
	if err != nil || st.UpToDate() || st.Version != 0 || !strings.Contains(st.String(), "pending") {
		t.Fatalf("fresh database: %+v %v", st, err)
	}
}

// A query whose context ends is cancelled in PostgreSQL itself, not just abandoned by the client.
func TestTimedOutQueryIsCancelledOnTheServer(t *testing.T) {
	if datatest.Dialect() != "postgres" {
		t.Skip("needs TEST_DATABASE_URL")
	}
	db := datatest.New(t)
	marker := "brisk_cancel_probe_" + strings.ReplaceAll(t.Name(), "/", "_")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := db.ExecContext(ctx, "SELECT pg_sleep(30) /* "+marker+" */")
	if !errors.Is(err, context.DeadlineExceeded) && (err == nil || !strings.Contains(err.Error(), "cancel")) {
		t.Fatalf("want the deadline to end the query, got %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var running int
		if err := db.QueryRowContext(context.Background(),
			"SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%"+marker+"%' AND pid <> pg_backend_pid()").
			Scan(&running); err != nil {
			t.Fatal(err)
		}
		if running == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("pg_sleep still running on the server 10s after its context ended")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
