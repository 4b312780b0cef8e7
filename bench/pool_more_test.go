package bench

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alitto/pond/v2"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
	"github.com/panjf2000/ants/v2"
)

// peakGoroutines samples runtime.NumGoroutine while tasks are submitted.
type peakGoroutines struct{ n atomic.Int64 }

func (p *peakGoroutines) sample() {
	if g := int64(runtime.NumGoroutine()); g > p.n.Load() {
		p.n.Store(g)
	}
}

// BenchmarkIOTask: tasks that sleep 1 ms, limit 1000. Use
// -benchtime=10000x for the 10k tasks.
func BenchmarkIOTask(b *testing.B) {
	const limit = 1000
	// start runs inside the measurement: every contender pays for
	// starting its goroutines.
	run := func(b *testing.B, start func() (submit func(f func()), done func())) {
		var peak peakGoroutines
		var wg sync.WaitGroup
		task := func() { time.Sleep(time.Millisecond); wg.Done() }
		measure(b, func(n int) {
			submit, done := start()
			wg.Add(n)
			for i := range n {
				submit(task)
				if i%100 == 0 {
					peak.sample()
				}
			}
			wg.Wait()
			done()
		})
		b.ReportMetric(float64(peak.n.Load()), "peak-goroutines")
	}
	b.Run("brisk", func(b *testing.B) {
		run(b, func() (func(func()), func()) {
			p := newBrisk(b, limit)
			return func(f func()) { _ = p.Go(f) }, func() { _ = p.Stop(context.Background()) }
		})
	})
	b.Run("chan-workers", func(b *testing.B) {
		run(b, func() (func(func()), func()) {
			c := newChanPool(limit, queueSize)
			return func(f func()) { c.tasks <- f }, c.stop
		})
	})
	b.Run("ants", func(b *testing.B) {
		run(b, func() (func(func()), func()) {
			p, _ := ants.NewPool(limit)
			return func(f func()) { _ = p.Submit(f) }, p.Release
		})
	})
	b.Run("pond", func(b *testing.B) {
		run(b, func() (func(func()), func()) {
			p := pond.NewPool(limit)
			return func(f func()) { _ = p.Go(f) }, p.StopAndWait
		})
	})
	b.Run("go-waitgroup", func(b *testing.B) {
		run(b, func() (func(func()), func()) {
			return func(f func()) { go f() }, func() {}
		})
	})
}

// deep recurses with a 1 KiB frame, growing the goroutine stack to ~64 KiB.
//
//go:noinline
func deep(n int) byte {
	var buf [1024]byte
	buf[n%1024] = byte(n)
	if n == 0 {
		return buf[0]
	}
	return deep(n-1) + buf[n%1024]
}

// BenchmarkDeepStack: a task that needs a 64 KiB stack. A new goroutine
// starts with 8 KiB and copies its stack as it grows; a pool worker keeps
// the grown stack (until a GC finds it mostly unused and shrinks it).
func BenchmarkDeepStack(b *testing.B) {
	const depth = 60
	b.Run("brisk", func(b *testing.B) {
		p := newBrisk(b, runtime.GOMAXPROCS(0))
		var wg sync.WaitGroup
		task := func() { deep(depth); wg.Done() }
		measure(b, func(n int) {
			wg.Add(n)
			for range n {
				_ = p.Go(task)
			}
			wg.Wait()
		})
		_ = p.Stop(context.Background())
	})
	b.Run("go-per-task", func(b *testing.B) {
		var wg sync.WaitGroup
		sem := make(chan struct{}, runtime.GOMAXPROCS(0))
		task := func() { deep(depth); <-sem; wg.Done() }
		measure(b, func(n int) {
			wg.Add(n)
			for range n {
				sem <- struct{}{}
				go task()
			}
			wg.Wait()
		})
	})
}

// BenchmarkPriority: latency of one task submitted while the pool (2
// workers) is saturated with 5 µs low-priority tasks (topped up to 1000
// queued before each measured task). Reported: high-wait-ns, the time from submit to start. The
// baseline submits the same task at Low priority, i.e. FIFO behind the
// backlog.
func BenchmarkPriority(b *testing.B) {
	for _, tc := range []struct {
		name string
		prio pool.Priority
	}{{"high", pool.High}, {"fifo-low", pool.Low}} {
		b.Run(tc.name, func(b *testing.B) {
			p, err := pool.New(pool.Config{Name: "prio", MinWorkers: 2, MaxWorkers: 2, QueueSize: 1024, OnStop: pool.CancelQueued})
			if err != nil {
				b.Fatal(err)
			}
			_ = p.Start(context.Background())
			topUp := func() {
				for p.Waiting() < 1000 {
					_ = p.GoWith(pool.Low, func() { spinFor(5 * time.Microsecond) })
				}
			}
			var total time.Duration
			b.ResetTimer()
			for range b.N {
				topUp()
				start := time.Now()
				started := make(chan time.Time, 1)
				_ = p.GoWith(tc.prio, func() { started <- time.Now() })
				total += (<-started).Sub(start)
			}
			b.StopTimer()
			b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "high-wait-ns")
			_ = p.Stop(context.Background())
		})
	}
}

func spinFor(d time.Duration) {
	t0 := time.Now()
	for time.Since(t0) < d {
	}
}
