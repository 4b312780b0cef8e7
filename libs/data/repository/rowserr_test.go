package repository_test

import (
	"errors"
	"testing"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/data/datatest"
	"github.com/brisk-go/brisk/libs/data/repository"
)

// brittle reads a view whose third row cannot be produced: the database fails on that row
// only, after it has already sent the rows before it.
type brittle struct {
	bun.BaseModel `bun:"table:brittle,alias:b"`

	ID   int64  `bun:"id,pk"`
	Name string `bun:"name,notnull"`
}

// brittleDB creates the view over three rows, the third of which fails when read.
func brittleDB(t *testing.T) *bun.DB {
	t.Helper()
	db := datatest.New(t)
	ctx := t.Context()
	// The failing expression depends on the row, so neither database can evaluate it once up
	// front: it fails while the third row is produced, after the first two were sent.
	failing := "CASE WHEN id = 3 THEN json_extract(name, '$') ELSE name END" // malformed JSON
	if datatest.Dialect() == "postgres" {
		failing = "CASE WHEN id = 3 THEN (name::int)::text ELSE name END" // invalid integer
	}
	for _, stmt := range []string{
		"CREATE TABLE brittle_rows (id BIGINT PRIMARY KEY, name TEXT NOT NULL)",
		"INSERT INTO brittle_rows (id, name) VALUES (1, 'one'), (2, 'two'), (3, '{not json, not a number'), (4, 'four')",
		"CREATE VIEW brittle AS SELECT id, " + failing + " AS name FROM brittle_rows",
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	return db
}

// An error in the middle of the rows is an error, not a short result: on the pool and in a
// transaction (the database/sql path on both dialects), for one row and for many.
func TestFastPathReportsAnErrorMidRows(t *testing.T) {
	t.Parallel()
	db := brittleDB(t)
	ctx := t.Context()
	repo := repository.New[brittle]()
	if _, _, _, fast := repository.Statements[brittle](db); !fast {
		t.Fatal("brittle should take the fast path")
	}

	// in runs one call on a handle: the pool itself, or a transaction of its own (a failed
	// statement aborts a PostgreSQL transaction, so the calls cannot share one).
	check := func(t *testing.T, in func(func(bun.IDB))) {
		t.Helper()
		in(func(idb bun.IDB) {
			if rows, err := repo.FindByIDs(ctx, idb, []int64{1, 2, 3, 4}); err == nil {
				t.Errorf("FindByIDs through a failing row = %d rows %+v and no error, want an error", len(rows), rows)
			}
		})
		in(func(idb bun.IDB) {
			if row, err := repo.FindByID(ctx, idb, 3); err == nil || errors.Is(err, repository.ErrNotFound) {
				t.Errorf("FindByID of the failing row = %+v, %v; want the database's error", row, err)
			}
		})
		// The rows that can be read still are: the failure is the third row's alone.
		in(func(idb bun.IDB) {
			if good, err := repo.FindByIDs(ctx, idb, []int64{1, 2, 4}); err != nil || len(good) != 3 {
				t.Errorf("FindByIDs of the readable rows = %+v, %v; want 3 rows", good, err)
			}
		})
	}
	t.Run("pool", func(t *testing.T) { check(t, func(call func(bun.IDB)) { call(db) }) })
	t.Run("tx", func(t *testing.T) {
		check(t, func(call func(bun.IDB)) {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback() }()
			call(tx)
		})
	})
}
