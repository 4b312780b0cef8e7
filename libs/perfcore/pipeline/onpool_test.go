package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/brisk-go/brisk/libs/perfcore/pipeline"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
)

func startedPool(t *testing.T, workers int) *pool.Pool {
	t.Helper()
	p, err := pool.New(pool.Config{Name: "stages", MinWorkers: workers, MaxWorkers: workers})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop(context.Background()) })
	return p
}

func doubling() pipeline.Pipeline[int, int] {
	double := pipeline.NewStage("double", func(_ context.Context, n int) (int, error) { return 2 * n, nil })
	inc := pipeline.NewStage("inc", func(_ context.Context, n int) (int, error) { return n + 1, nil }, pipeline.Workers(2), pipeline.Ordered())
	return pipeline.Then(pipeline.From("doubling", double), inc)
}

func checkDoubled(t *testing.T, out []int, n int) {
	t.Helper()
	if len(out) != n {
		t.Fatalf("%d outputs, want %d", len(out), n)
	}
	for i, v := range out {
		if v != 2*i+1 {
			t.Fatalf("out[%d] = %d, want %d", i, v, 2*i+1)
		}
	}
}

// With OnPool the stage calls are tasks of the pool: it counts them as completed, and every
// item comes out once, in order.
func TestOnPoolRunsStageCallsAsTasks(t *testing.T) {
	p := startedPool(t, 2)
	in := make([]int, 200)
	for i := range in {
		in[i] = i
	}
	out, err := doubling().OnPool(p).Collect(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	checkDoubled(t, out, len(in))
	// Workers publish their counts when they park; wait boundedly.
	for deadline := time.Now().Add(10 * time.Second); p.Stats().Completed == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if p.Stats().Completed == 0 {
		t.Fatalf("no stage call ran on the pool: %+v", p.Stats())
	}
}

// A Run from inside the pool's only worker cannot get a worker for its calls: they run on the
// stage goroutines after the grace, and the run finishes instead of deadlocking.
func TestOnPoolFromInsideItsOnlyWorkerFinishes(t *testing.T) {
	p := startedPool(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := pool.Submit(ctx, p, func(ctx context.Context) ([]int, error) {
		return doubling().OnPool(p).Collect(ctx, []int{0, 1, 2, 3})
	}).Await(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkDoubled(t, out, 4)
}

// A pool that refuses the calls (stopped) does not stop the pipeline: they run inline.
func TestOnPoolStoppedPoolRunsInline(t *testing.T) {
	p := startedPool(t, 1)
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	out, err := doubling().OnPool(p).Collect(context.Background(), []int{0, 1, 2})
	if err != nil {
		t.Fatal(err)
	}
	checkDoubled(t, out, 3)
}
