package data_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/data/datatest"
)

// Commit hooks run in the transaction, in the order added, and a failing one rolls the
// change back; a context derived for one request does not give its hooks to its parent.
func TestCommitHooksRunInTheTransaction(t *testing.T) {
	t.Parallel()
	db := datatest.New(t)
	ctx := context.Background()
	if _, err := db.NewRaw("CREATE TABLE hook_marks (name TEXT NOT NULL)").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	var order []string
	mark := func(name string) data.CommitHook {
		return func(ctx context.Context, tx bun.Tx) error {
			order = append(order, name)
			_, err := tx.NewRaw("INSERT INTO hook_marks (name) VALUES (?)", name).Exec(ctx)
			return err
		}
	}
	parent := data.WithCommitHook(ctx, mark("first"))
	child := data.WithCommitHook(parent, mark("second"))
	run := func(ctx context.Context) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return data.RunCommitHooks(ctx, tx)
		})
	}
	if err := run(child); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(order, []string{"first", "second"}) {
		t.Fatalf("hooks ran %v, want [first second]", order)
	}
	order = nil
	if err := run(parent); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(order, []string{"first"}) {
		t.Fatalf("the parent's hooks ran %v, want [first]", order)
	}
	boom := errors.New("boom")
	failing := data.WithCommitHook(ctx, mark("rolled back"))
	failing = data.WithCommitHook(failing, func(context.Context, bun.Tx) error { return boom })
	if err := run(failing); !errors.Is(err, boom) {
		t.Fatalf("a failing hook: %v, want it returned", err)
	}
	var n int
	if err := db.NewRaw("SELECT count(*) FROM hook_marks WHERE name = 'rolled back'").Scan(ctx, &n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("a hook's write committed although a later hook failed")
	}
	if err := db.NewRaw("SELECT count(*) FROM hook_marks").Scan(ctx, &n); err != nil || n != 3 {
		t.Fatalf("%d marks committed (%v), want 3", n, err)
	}
}
