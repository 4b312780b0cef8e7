package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/alitto/pond/v2"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
	"github.com/panjf2000/ants/v2"
	concpool "github.com/sourcegraph/conc/pool"
)

const queueSize = 1024

func newBrisk(b *testing.B, limit int) *pool.Pool {
	b.Helper()
	p, err := pool.New(pool.Config{Name: "bench", MaxWorkers: limit, QueueSize: queueSize})
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	return p
}

// chanPool is the plain way: N goroutines reading a buffered channel.
type chanPool struct {
	tasks chan func()
	wg    sync.WaitGroup
}

func newChanPool(workers, queue int) *chanPool {
	c := &chanPool{tasks: make(chan func(), queue)}
	for range workers {
		c.wg.Go(func() {
			for f := range c.tasks {
				f()
			}
		})
	}
	return c
}

func (c *chanPool) stop() { close(c.tasks); c.wg.Wait() }

// BenchmarkCPUTask: ~300 ns of CPU per task, run with -benchtime=1000000x
// for the 1e6 tasks of the issue. cpu-ns/task includes the task itself.
func BenchmarkCPUTask(b *testing.B) {
	iters := taskIters()
	for _, limit := range []int{2, 1000} {
		b.Run(fmt.Sprintf("limit=%d/brisk-go", limit), func(b *testing.B) {
			p := newBrisk(b, limit)
			var wg sync.WaitGroup
			task := func() { spin(iters); wg.Done() }
			measure(b, func(n int) {
				wg.Add(n)
				for range n {
					if err := p.Go(task); err != nil {
						b.Fatal(err)
					}
				}
				wg.Wait()
			})
			// How far the pool grew towards the limit: every worker beyond
			// what the work needs was started and woken for nothing.
			b.ReportMetric(float64(p.Workers()), "workers")
			_ = p.Stop(context.Background())
		})
		b.Run(fmt.Sprintf("limit=%d/brisk-future", limit), func(b *testing.B) {
			p := newBrisk(b, limit)
			ctx := context.Background()
			task := func(context.Context) (uint64, error) { return spin(iters), nil }
			futs := make([]*pool.Future[uint64], 0, 4096)
			measure(b, func(n int) {
				for i := range n {
					futs = append(futs, pool.Submit(ctx, p, task))
					if len(futs) == cap(futs) || i == n-1 {
						for _, f := range futs {
							if _, err := f.Await(ctx); err != nil {
								b.Fatal(err)
							}
						}
						futs = futs[:0]
					}
				}
			})
			_ = p.Stop(context.Background())
		})
		b.Run(fmt.Sprintf("limit=%d/chan-workers", limit), func(b *testing.B) {
			c := newChanPool(limit, queueSize)
			var wg sync.WaitGroup
			task := func() { spin(iters); wg.Done() }
			measure(b, func(n int) {
				wg.Add(n)
				for range n {
					c.tasks <- task
				}
				wg.Wait()
			})
			c.stop()
		})
		b.Run(fmt.Sprintf("limit=%d/ants", limit), func(b *testing.B) {
			p, err := ants.NewPool(limit)
			if err != nil {
				b.Fatal(err)
			}
			var wg sync.WaitGroup
			task := func() { spin(iters); wg.Done() }
			measure(b, func(n int) {
				wg.Add(n)
				for range n {
					if err := p.Submit(task); err != nil {
						b.Fatal(err)
					}
				}
				wg.Wait()
			})
			p.Release()
		})
		b.Run(fmt.Sprintf("limit=%d/pond-go", limit), func(b *testing.B) {
			p := pond.NewPool(limit)
			var wg sync.WaitGroup
			task := func() { spin(iters); wg.Done() }
			measure(b, func(n int) {
				wg.Add(n)
				for range n {
					if err := p.Go(task); err != nil {
						b.Fatal(err)
					}
				}
				wg.Wait()
			})
			p.StopAndWait()
		})
		b.Run(fmt.Sprintf("limit=%d/pond-future", limit), func(b *testing.B) {
			p := pond.NewResultPool[uint64](limit)
			task := func() (uint64, error) { return spin(iters), nil }
			futs := make([]pond.ResultTask[uint64], 0, 4096)
			measure(b, func(n int) {
				for i := range n {
					futs = append(futs, p.SubmitErr(task))
					if len(futs) == cap(futs) || i == n-1 {
						for _, f := range futs {
							if _, err := f.Wait(); err != nil {
								b.Fatal(err)
							}
						}
						futs = futs[:0]
					}
				}
			})
			p.StopAndWait()
		})
		b.Run(fmt.Sprintf("limit=%d/conc", limit), func(b *testing.B) {
			task := func() { spin(iters) }
			measure(b, func(n int) {
				p := concpool.New().WithMaxGoroutines(limit)
				for range n {
					p.Go(task)
				}
				p.Wait()
			})
		})
		b.Run(fmt.Sprintf("limit=%d/go-waitgroup", limit), func(b *testing.B) {
			// No limit at all: one goroutine per task.
			var wg sync.WaitGroup
			task := func() { spin(iters); wg.Done() }
			measure(b, func(n int) {
				wg.Add(n)
				for range n {
					go task()
				}
				wg.Wait()
			})
		})
	}
}
