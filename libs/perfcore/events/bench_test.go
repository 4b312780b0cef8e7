package events

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/brisk-go/brisk/libs/perfcore/pool"
)

// The benchmarks compare the dispatcher with the plain way: a slice of
// funcs called in a loop (or started with go for async), in the same process.

var sinkInt int

func countListener(_ context.Context, e article) error {
	sinkInt += e.ID
	return nil
}

func plainLoop(b *testing.B, n int) {
	fns := make([]func(context.Context, article) error, n)
	for i := range fns {
		fns[i] = countListener
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range fns {
			_ = f(ctx, article{ID: 1})
		}
	}
}

func dispatcherWith(b *testing.B, cfg Config, n int, opts ...ListenOption) *Dispatcher[article] {
	d, err := New[article](cfg)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if err := d.Listen(string(rune('a'+i)), countListener, opts...); err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() { _ = d.Close(context.Background()) })
	return d
}

func BenchmarkDispatchSync(b *testing.B) {
	for _, n := range []int{1, 10} {
		name := map[int]string{1: "1", 10: "10"}[n]
		b.Run("listeners="+name+"/plain-loop", func(b *testing.B) { plainLoop(b, n) })
		b.Run("listeners="+name+"/dispatcher", func(b *testing.B) {
			d := dispatcherWith(b, Config{}, n)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_ = d.Dispatch(ctx, article{ID: 1})
			}
		})
	}
}

// BenchmarkDispatchBatch100 sends 100 events to one sync listener.
func BenchmarkDispatchBatch100(b *testing.B) {
	events := make([]article, 100)
	b.Run("plain-loop", func(b *testing.B) {
		ctx := context.Background()
		fns := []func(context.Context, article) error{countListener}
		b.ReportAllocs()
		for b.Loop() {
			for _, e := range events {
				for _, f := range fns {
					_ = f(ctx, e)
				}
			}
		}
	})
	b.Run("dispatcher", func(b *testing.B) {
		d := dispatcherWith(b, Config{}, 1)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			_ = d.DispatchBatch(ctx, events)
		}
	})
}

// goPool is a plain runner: one goroutine per task, which is what the
// plain way of async dispatch does.
type goPool struct{}

func (goPool) Go(f func()) error { go f(); return nil }

// BenchmarkDispatchAsync measures handing one event to one async listener
// and waiting for it to finish.
func BenchmarkDispatchAsync(b *testing.B) {
	b.Run("plain-go", func(b *testing.B) {
		ctx := context.Background()
		var wg sync.WaitGroup
		var mu sync.Mutex
		b.ReportAllocs()
		for b.Loop() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mu.Lock()
				_ = countListener(ctx, article{ID: 1})
				mu.Unlock()
			}()
		}
		wg.Wait()
	})
	b.Run("dispatcher-go", func(b *testing.B) { benchAsyncDispatcher(b, goPool{}) })
	b.Run("dispatcher-pool", benchPool)
}

func benchAsyncDispatcher(b *testing.B, r Runner) {
	d, err := New[article](Config{Runner: r})
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	if err := d.Listen("a", func(ctx context.Context, e article) error {
		mu.Lock()
		defer mu.Unlock()
		return countListener(ctx, e)
	}, Async()); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = d.Dispatch(ctx, article{ID: 1})
	}
	_ = d.Close(context.Background())
}

// benchPool runs async listeners on a real perfcore pool with one worker
// per core, as the application does.
func benchPool(b *testing.B) {
	p, err := pool.New(pool.Config{Name: "bench", MinWorkers: 2, MaxWorkers: 2, QueueSize: 4096,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = p.Stop(context.Background()) }()
	benchAsyncDispatcher(b, p)
}

// BenchmarkListenerTimeout is the cost of giving each listener call its own
// deadline: the dispatcher against a plain loop doing the same WithTimeout.
func BenchmarkListenerTimeout(b *testing.B) {
	b.Run("plain-loop", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			lctx, cancel := context.WithTimeout(ctx, time.Second)
			_ = countListener(lctx, article{ID: 1})
			cancel()
		}
	})
	b.Run("dispatcher", func(b *testing.B) {
		d := dispatcherWith(b, Config{DefaultTimeout: time.Second, EnableDeadline: true}, 1)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			_ = d.Dispatch(ctx, article{ID: 1})
		}
	})
	b.Run("dispatcher-guarded", func(b *testing.B) {
		d := dispatcherWith(b, Config{DefaultTimeout: time.Second, EnableDeadline: true}, 1, Guarded())
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			_ = d.Dispatch(ctx, article{ID: 1})
		}
	})
}
