package repository_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/data/repository"
)

// note is a model of the example's own: a table any service could have.
type note struct {
	bun.BaseModel `bun:"table:notes"`

	ID        int64     `bun:"id,pk,autoincrement"`
	Text      string    `bun:"text,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

// A Repository[T] gives every model the same find, create, update, delete and paginate, on
// the database or inside a transaction (it takes bun.IDB).
func ExampleRepository() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	db, err := data.Open(ctx, data.Options{URL: "sqlite://" + filepath.Join(dir, "notes.db")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	if _, err := db.NewCreateTable().Model((*note)(nil)).Exec(ctx); err != nil {
		fmt.Println(err)
		return
	}

	notes := repository.New[note]()
	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, text := range []string{"first", "second", "third"} {
			if err := notes.Create(ctx, tx, &note{Text: text, CreatedAt: time.Unix(0, 0)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	n, _ := notes.FindByID(ctx, db, 2)
	fmt.Println("found:", n.Text)
	page, total, _ := notes.Paginate(ctx, db, repository.Page{Limit: 2}, func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Order("id DESC")
	})
	fmt.Println("page:", page[0].Text, page[1].Text, "of", total)
	_ = notes.Delete(ctx, db, 1)
	_, err = notes.FindByID(ctx, db, 1)
	fmt.Println("deleted:", errors.Is(err, repository.ErrNotFound))
	// Output:
	// found: second
	// page: third second of 3
	// deleted: true
}
