package pool_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/brisk-go/brisk/libs/perfcore/pool"
)

func ExampleNew() {
	_, err := pool.New(pool.Config{Name: "api", MinWorkers: 8, MaxWorkers: 4})
	fmt.Println(err)
	// Output: pool: invalid config: MinWorkers (8) must be <= MaxWorkers (4)
}

func ExamplePool_Go() {
	p, _ := pool.New(pool.Config{Name: "jobs", MinWorkers: 1, MaxWorkers: 4})
	_ = p.Start(context.Background())
	defer p.Stop(context.Background())

	var wg sync.WaitGroup
	var mu sync.Mutex
	sum := 0
	for i := 1; i <= 10; i++ {
		wg.Add(1)
		_ = p.Go(func() {
			defer wg.Done()
			mu.Lock()
			sum += i
			mu.Unlock()
		})
	}
	wg.Wait()
	fmt.Println(sum)
	// Output: 55
}

func ExamplePool_GoWith() {
	p, _ := pool.New(pool.Config{Name: "prio", MinWorkers: 1, MaxWorkers: 1})
	_ = p.Start(context.Background())
	release := make(chan struct{})
	_ = p.Go(func() { <-release }) // keep the only worker busy
	time.Sleep(10 * time.Millisecond)
	var order []string
	_ = p.GoWith(pool.Low, func() { order = append(order, "low") })
	_ = p.GoWith(pool.High, func() { order = append(order, "high") })
	close(release)
	_ = p.Stop(context.Background()) // drains the queue
	fmt.Println(order)
	// Output: [high low]
}

func ExampleSubmit() {
	p, _ := pool.New(pool.Config{Name: "calc"})
	_ = p.Start(context.Background())
	defer p.Stop(context.Background())

	f := pool.Submit(context.Background(), p, func(ctx context.Context) (int, error) { return 6 * 7, nil }, pool.High)
	v, err := f.Await(context.Background())
	fmt.Println(v, err)
	// Output: 42 <nil>
}

func ExampleFuture_Done() {
	p, _ := pool.New(pool.Config{Name: "done"})
	_ = p.Start(context.Background())
	defer p.Stop(context.Background())

	f := pool.Submit(context.Background(), p, func(context.Context) (string, error) { return "ready", nil })
	<-f.Done()
	v, _ := f.Await(context.Background())
	fmt.Println(v)
	// Output: ready
}

func ExampleFuture_Await() {
	p, _ := pool.New(pool.Config{Name: "await"})
	_ = p.Start(context.Background())
	defer p.Stop(context.Background())

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // cancelled before it could start: the task is not run
	f := pool.Submit(ctx, p, func(context.Context) (int, error) { return 1, nil })
	_, err := f.Await(context.Background())
	fmt.Println(errors.Is(err, context.Canceled))
	// Output: true
}

func ExamplePanicError() {
	p, _ := pool.New(pool.Config{Name: "panics"})
	_ = p.Start(context.Background())
	defer p.Stop(context.Background())

	f := pool.Submit(context.Background(), p, func(context.Context) (int, error) { panic("bad input") })
	_, err := f.Await(context.Background())
	var pe *pool.PanicError
	fmt.Println(errors.As(err, &pe), pe.Value, len(pe.Stack) > 0)
	// Output: true bad input true
}

func ExampleMap() {
	p, _ := pool.New(pool.Config{Name: "batch", MaxWorkers: 4})
	_ = p.Start(context.Background())
	defer p.Stop(context.Background())

	out, err := pool.Map(context.Background(), p, []int{1, 2, 3, 4}, func(_ context.Context, v int) (int, error) {
		return v * v, nil
	})
	fmt.Println(out, err)

	_, err = pool.Map(context.Background(), p, []int{1, 2, 3}, func(_ context.Context, v int) (int, error) {
		if v == 2 {
			return 0, errors.New("two is not allowed")
		}
		return v, nil
	})
	fmt.Println(err)
	// Output:
	// [1 4 9 16] <nil>
	// two is not allowed
}

func ExamplePool_Resize() {
	p, _ := pool.New(pool.Config{Name: "elastic", MinWorkers: 1, MaxWorkers: 8})
	_ = p.Start(context.Background())
	defer p.Stop(context.Background())

	p.Resize(4)
	fmt.Println(p.Workers(), p.Target())
	p.Resize(100) // clamped to MaxWorkers
	lo, hi := p.Bounds()
	fmt.Println(p.Target(), lo, hi)
	// Output:
	// 4 4
	// 8 1 8
}

func ExamplePool_Stop() {
	p, _ := pool.New(pool.Config{Name: "stop", MinWorkers: 1, MaxWorkers: 1, OnStop: pool.CancelQueued})
	_ = p.Start(context.Background())
	release := make(chan struct{})
	_ = p.Go(func() { <-release })
	time.Sleep(10 * time.Millisecond)
	f := pool.Submit(context.Background(), p, func(context.Context) (int, error) { return 1, nil })
	go func() { time.Sleep(10 * time.Millisecond); close(release) }()
	fmt.Println(p.Stop(context.Background()), p.Stop(context.Background()))
	_, err := f.Await(context.Background())
	fmt.Println(errors.Is(err, pool.ErrStopped))
	// Output:
	// <nil> <nil>
	// true
}

func ExamplePool_Stats() {
	p, _ := pool.New(pool.Config{Name: "stats", MinWorkers: 2, MaxWorkers: 2})
	_ = p.Start(context.Background())
	for range 5 {
		_ = p.Go(func() {})
	}
	_ = p.Stop(context.Background())
	s := p.Stats()
	fmt.Println(s.Name, s.Completed, s.Workers, p.Waiting())
	// Output: stats 5 0 0
}

func ExamplePriority() {
	fmt.Println(pool.High, pool.Normal, pool.Low)
	// Output: high normal low
}

func ExamplePool_Start() {
	p, _ := pool.New(pool.Config{Name: "start", MinWorkers: 2, MaxWorkers: 4})
	fmt.Println(errors.Is(p.Go(func() {}), pool.ErrNotStarted))
	fmt.Println(p.Start(context.Background()), p.Start(context.Background()), p.Workers())
	_ = p.Stop(context.Background())
	fmt.Println(errors.Is(p.Start(context.Background()), pool.ErrStopped))
	// Output:
	// true
	// <nil> <nil> 2
	// true
}

func ExamplePool_Workers() {
	p, _ := pool.New(pool.Config{Name: "grow", MinWorkers: 1, MaxWorkers: 3})
	_ = p.Start(context.Background())
	fmt.Println(p.Workers()) // MinWorkers
	started := make(chan struct{}, 3)
	release := make(chan struct{})
	for range 3 {
		_ = p.Go(func() { started <- struct{}{}; <-release })
	}
	for range 3 {
		<-started // all three run at once: the pool grew to MaxWorkers
	}
	fmt.Println(p.Workers())
	close(release)
	_ = p.Stop(context.Background())
	fmt.Println(p.Workers())
	// Output:
	// 1
	// 3
	// 0
}

func ExamplePool_Waiting() {
	p, _ := pool.New(pool.Config{Name: "backlog", MinWorkers: 1, MaxWorkers: 1})
	_ = p.Start(context.Background())
	started, release := make(chan struct{}), make(chan struct{})
	_ = p.Go(func() { close(started); <-release })
	<-started
	for range 3 {
		_ = p.Go(func() {})
	}
	fmt.Println(p.Waiting())
	close(release)
	_ = p.Stop(context.Background()) // Drain: runs the three
	fmt.Println(p.Waiting(), p.Stats().Completed)
	// Output:
	// 3
	// 0 4
}

func ExampleFullPolicy() {
	p, _ := pool.New(pool.Config{Name: "bounded", MinWorkers: 1, MaxWorkers: 1, QueueSize: 2, WhenFull: pool.FailFast})
	_ = p.Start(context.Background())
	started, release := make(chan struct{}), make(chan struct{})
	_ = p.Go(func() { close(started); <-release })
	<-started
	fmt.Println(p.Go(func() {}), p.Go(func() {})) // the queue holds two
	err := p.Go(func() {})
	fmt.Println(errors.Is(err, pool.ErrQueueFull), p.Stats().Rejected)
	close(release)
	_ = p.Stop(context.Background())
	// Output:
	// <nil> <nil>
	// true 1
}

func ExampleConfig() {
	// Zero values take the documented defaults.
	p, _ := pool.New(pool.Config{Name: "defaults", MaxWorkers: 16})
	s := p.Stats()
	fmt.Println(p.Name(), s.Min, s.Max, s.QueueCapacity, s.IdleTimeout, s.WhenFull == pool.Block, s.OnStop == pool.Drain)
	// Output: defaults 0 16 1024 30s true true
}

func ExamplePool_Bounds() {
	p, _ := pool.New(pool.Config{Name: "bounds", MinWorkers: 2, MaxWorkers: 10})
	lo, hi := p.Bounds()
	fmt.Println(lo, hi, p.Target()) // the standing target starts at MinWorkers
	// Output: 2 10 2
}

func ExampleStats() {
	p, _ := pool.New(pool.Config{Name: "counts", MinWorkers: 1, MaxWorkers: 1, Logger: slog.New(slog.DiscardHandler)})
	_ = p.Start(context.Background())
	ctx := context.Background()
	ok := pool.Submit(ctx, p, func(context.Context) (int, error) { return 1, nil })
	bad := pool.Submit(ctx, p, func(context.Context) (int, error) { return 0, errors.New("no") })
	_ = p.Go(func() { panic("oops") }) // logged, counted as failed
	_, _ = ok.Await(ctx)
	_, _ = bad.Await(ctx)
	_ = p.Stop(ctx)
	s := p.Stats()
	fmt.Println(s.Completed, s.Failed, s.Canceled, s.Started, s.StopStarted)
	// Output: 1 2 0 true true
}

func ExampleFuture() {
	p, _ := pool.New(pool.Config{Name: "fanout", MaxWorkers: 4})
	_ = p.Start(context.Background())
	defer p.Stop(context.Background())

	ctx := context.Background()
	futs := make([]*pool.Future[int], 0, 5)
	for i := range 5 {
		futs = append(futs, pool.Submit(ctx, p, func(context.Context) (int, error) { return i * 10, nil }))
	}
	total := 0
	for _, f := range futs {
		v, _ := f.Await(ctx)
		total += v
	}
	fmt.Println(total)
	// Output: 100
}
