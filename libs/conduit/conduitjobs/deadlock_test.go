package conduitjobs_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/brisk-go/brisk/libs/conduit/conduitjobs"
	"github.com/brisk-go/brisk/libs/data/datatest"
)

// Many tag-count jobs over overlapping tags, each listing them in its own order, run at once
// on PostgreSQL: none deadlocks and the counts come out right. Before the rows were upserted
// in a stable order, two jobs locking the same tags in opposite orders deadlocked (an import
// of 199 articles with 10 workers hit 88 deadlocks in 83 s).
func TestConcurrentTagCountsDoNotDeadlock(t *testing.T) {
	if datatest.Dialect() != "postgres" {
		t.Skip("the deadlock needs PostgreSQL's row locks: set TEST_DATABASE_URL")
	}
	t.Parallel()
	db := datatest.New(t)
	u := user(t, db, "u")
	const nTags = 24
	tags := make([]string, nTags)
	for i := range tags {
		tags[i] = fmt.Sprintf("tag%02d", i)
	}
	// Tag i is on i%3+1 articles.
	for i, tag := range tags {
		for j := range i%3 + 1 {
			article(t, db, fmt.Sprintf("a-%s-%d", tag, j), u, tag)
		}
	}
	db.SetMaxOpenConns(16)
	w := conduitjobs.NewTagCountsWorker(conduitjobs.Deps{DB: db, Logger: quiet})
	const workers, jobsEach = 12, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*jobsEach)
	for g := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 42))
			for range jobsEach {
				mine := append([]string(nil), tags...)
				r.Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
				if err := w.Work(context.Background(), job(conduitjobs.TagCountsArgs{Tags: mine})); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	deadlocks, other := 0, 0
	for err := range errs {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "40P01" {
			deadlocks++
		} else {
			other++
			t.Error(err)
		}
	}
	if deadlocks > 0 {
		t.Fatalf("%d of %d jobs deadlocked", deadlocks, workers*jobsEach)
	}
	for i, tag := range tags {
		if got := count(t, db, "SELECT articles FROM tag_counts WHERE tag = ?", tag); got != i%3+1 {
			t.Errorf("%s: count %d, want %d", tag, got, i%3+1)
		}
	}
}
