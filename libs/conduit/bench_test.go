package conduit_test

import (
	"context"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/data/datatest"
	"github.com/brisk-go/brisk/libs/data/repository"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
)

// BenchmarkListArticles compares a listing page of 20 with its count and page queries one after
// the other (sequential, the plain way) against the count on the pool while the page query runs
// (parallel), on PostgreSQL with a few thousand articles. With callers>1 that many goroutines
// list at once, sharing the database's 8 connections, as concurrent requests do.
func BenchmarkListArticles(b *testing.B) {
	if datatest.Dialect() != "postgres" {
		b.Skip("needs TEST_DATABASE_URL: SQLite is not where listing latency matters")
	}
	db := datatest.New(b)
	seedArticles(b, db, 200, 5000)
	p, err := pool.New(pool.Config{Name: "bench", MinWorkers: 1, MaxWorkers: 4})
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Stop(context.Background()) })
	page := repository.Page{Limit: 20, Offset: 40}
	for _, callers := range []int{1, 8} {
		for _, m := range []struct {
			name string
			repo conduit.Articles
		}{
			{"sequential", conduit.Articles{}},
			{"parallel", conduit.Articles{Parallel: p}},
		} {
			b.Run(m.name+"/callers="+strconv.Itoa(callers), func(b *testing.B) {
				list := func(viewer int64) {
					// Every request has a deadline in the API; so does every call here.
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					views, total, err := m.repo.List(ctx, db, conduit.ArticleFilter{}, viewer, page)
					if err != nil || len(views) != 20 || total != 5000 {
						b.Errorf("got %d of %d, err %v", len(views), total, err)
					}
				}
				cpu := cpuTime(b)
				if callers == 1 {
					for b.Loop() {
						list(1)
					}
				} else {
					// b.N listings split among callers goroutines.
					b.ResetTimer()
					var wg sync.WaitGroup
					per := b.N / callers
					for c := range callers {
						n := per
						if c == 0 {
							n += b.N % callers
						}
						wg.Go(func() {
							for range n {
								list(int64(c + 1))
							}
						})
					}
					wg.Wait()
				}
				b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// cpuTime is the process's user+system CPU time so far; per operation it shows what a path
// costs this process, which other processes on a shared machine move less than wall time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
