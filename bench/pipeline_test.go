package bench

import (
	"context"
	"sync"
	"testing"

	"github.com/brisk-go/brisk/libs/perfcore/pipeline"
	"github.com/sourcegraph/conc/stream"
)

// BenchmarkPipeline: 3 stages (validate, process with 4 workers and ~300 ns
// of CPU, enrich), ordered output, per item.
func BenchmarkPipeline(b *testing.B) {
	iters := taskIters()
	validate := func(v int) bool { return v >= 0 }
	process := func(v int) int { return v + int(spin(iters)&1) }
	enrich := func(v int) int { return v * 2 }
	src := func(n int) func(func(int) bool) {
		return func(yield func(int) bool) {
			for i := range n {
				if !yield(i) {
					return
				}
			}
		}
	}
	b.Run("perfcore-ordered", func(b *testing.B) {
		p := pipeline.Then(pipeline.Then(
			pipeline.From("bench", pipeline.NewStage("validate", func(_ context.Context, v int) (int, error) {
				if !validate(v) {
					return 0, pipeline.ErrSkip
				}
				return v, nil
			}, pipeline.Buffer(64))),
			pipeline.NewStage("process", func(_ context.Context, v int) (int, error) { return process(v), nil }, pipeline.Workers(4), pipeline.Ordered(), pipeline.Buffer(64))),
			pipeline.NewStage("enrich", func(_ context.Context, v int) (int, error) { return enrich(v), nil }, pipeline.Buffer(64)))
		measure(b, func(n int) {
			sum := 0
			if err := p.Run(context.Background(), src(n), func(_ context.Context, v int) error { sum += v; return nil }); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("perfcore-unordered", func(b *testing.B) {
		p := pipeline.Then(pipeline.Then(
			pipeline.From("bench", pipeline.NewStage("validate", func(_ context.Context, v int) (int, error) { return v, nil }, pipeline.Buffer(64))),
			pipeline.NewStage("process", func(_ context.Context, v int) (int, error) { return process(v), nil }, pipeline.Workers(4), pipeline.Buffer(64))),
			pipeline.NewStage("enrich", func(_ context.Context, v int) (int, error) { return enrich(v), nil }, pipeline.Buffer(64)))
		measure(b, func(n int) {
			if err := p.Run(context.Background(), src(n), func(context.Context, int) error { return nil }); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("hand-written-channels-unordered", func(b *testing.B) {
		measure(b, func(n int) {
			in := make(chan int, 64)
			mid := make(chan int, 64)
			out := make(chan int, 64)
			go func() {
				defer close(in)
				for i := range n {
					if validate(i) {
						in <- i
					}
				}
			}()
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for v := range in {
						mid <- process(v)
					}
				})
			}
			go func() { wg.Wait(); close(mid) }()
			go func() {
				defer close(out)
				for v := range mid {
					out <- enrich(v)
				}
			}()
			sum := 0
			for v := range out {
				sum += v
			}
		})
	})
	b.Run("conc-stream-ordered", func(b *testing.B) {
		measure(b, func(n int) {
			s := stream.New().WithMaxGoroutines(4)
			sum := 0
			for i := range n {
				s.Go(func() stream.Callback {
					if !validate(i) {
						return func() {}
					}
					v := process(i)
					return func() { sum += enrich(v) }
				})
			}
			s.Wait()
		})
	})
}
