package jobs_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/data/jobs"
)

// welcomeArgs is a job of the example's own.
type welcomeArgs struct {
	UserID int64 `json:"user_id"`
}

func (welcomeArgs) Kind() string { return "welcome" }

// A job inserted in a write's transaction exists exactly when the write commits: a rolled-back
// write leaves no job behind, and a committed one is never without its job.
func ExampleQueue_InsertTx() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	db, err := openMigrated(ctx, filepath.Join(dir, "app.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	q, err := jobs.New(ctx, jobs.Config{DB: db}) // insert-only: no workers in this process
	if err != nil {
		fmt.Println(err)
		return
	}
	defer q.Stop(ctx)

	for _, commit := range []bool{false, true} {
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			// ... the write itself, then its job, in the same transaction:
			if _, err := q.InsertTx(ctx, tx, welcomeArgs{UserID: 7}, nil); err != nil {
				return err
			}
			if !commit {
				return fmt.Errorf("the write failed")
			}
			return nil
		})
		n, _ := db.NewSelect().Table("river_job").Where("kind = 'welcome'").Count(ctx)
		fmt.Printf("commit=%v err=%v jobs=%d\n", commit, err, n)
	}
	// Output:
	// commit=false err=the write failed jobs=0
	// commit=true err=<nil> jobs=1
}

func openMigrated(ctx context.Context, path string) (*bun.DB, error) {
	t, err := data.ParseURL("sqlite://"+path, 0)
	if err != nil {
		return nil, err
	}
	if err := data.MigrateUp(ctx, t); err != nil {
		return nil, err
	}
	return data.Open(ctx, data.Options{Target: t})
}
