package pipeline_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/brisk-go/brisk/libs/perfcore/pipeline"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
)

func ExampleThen() {
	validate := pipeline.NewStage("validate", func(_ context.Context, s string) (string, error) {
		if s == "" {
			return "", pipeline.ErrSkip // drop, keep going
		}
		return s, nil
	})
	process := pipeline.NewStage("process", func(_ context.Context, s string) (string, error) {
		return strings.ToUpper(s), nil
	}, pipeline.Workers(4), pipeline.Ordered())
	enrich := pipeline.NewStage("enrich", func(_ context.Context, s string) (int, error) {
		return len(s), nil
	})
	p := pipeline.Then(pipeline.Then(pipeline.From("words", validate), process), enrich)
	out, err := p.Collect(context.Background(), []string{"go", "", "brisk"})
	fmt.Println(out, err)
	// Output: [2 5] <nil>
}

func ExampleFrom() {
	p := pipeline.From("double", pipeline.NewStage("x2", func(_ context.Context, v int) (int, error) { return 2 * v, nil }))
	fmt.Println(p.Stages())
	// Output: [x2]
}

func ExamplePipeline_Run() {
	p := pipeline.From("sum", pipeline.NewStage("square", func(_ context.Context, v int) (int, error) {
		return v * v, nil
	}, pipeline.Workers(2), pipeline.Buffer(4)))
	src := func(yield func(int) bool) {
		for i := 1; i <= 3; i++ {
			if !yield(i) {
				return
			}
		}
	}
	total := 0
	err := p.Run(context.Background(), src, func(_ context.Context, v int) error { total += v; return nil })
	fmt.Println(total, err)
	// Output: 14 <nil>
}

func ExampleNewStage() {
	s := pipeline.NewStage("parse", func(_ context.Context, s string) (int, error) {
		var v int
		_, err := fmt.Sscan(s, &v)
		return v, err
	}, pipeline.Workers(2))
	_, err := pipeline.From("numbers", s).Collect(context.Background(), []string{"1", "x"})
	fmt.Println(s.Name(), err != nil)
	// Output: parse true
}

func ExamplePipeline_OnPool() {
	workers, _ := pool.New(pool.Config{Name: "stages", MaxWorkers: 2})
	_ = workers.Start(context.Background())
	defer func() { _ = workers.Stop(context.Background()) }()
	square := pipeline.NewStage("square", func(_ context.Context, n int) (int, error) { return n * n, nil })
	// Each call of square is a task of workers (counted in perfcore.pool.*).
	out, err := pipeline.From("squares", square).OnPool(workers).Collect(context.Background(), []int{1, 2, 3})
	fmt.Println(out, err)
	// Output: [1 4 9] <nil>
}
