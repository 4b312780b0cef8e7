package optimizer_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"time"

	"github.com/brisk-go/brisk/libs/perfcore/optimizer"
	"github.com/brisk-go/brisk/libs/perfcore/presets"
)

// replay is a Sampler that returns recorded samples in order.
type replay []optimizer.Sample

func (r *replay) Sample() (optimizer.Sample, error) {
	s := (*r)[0]
	*r = (*r)[1:]
	return s, nil
}

// stepClock is a Clock that moves one second per reading.
type stepClock struct{ t time.Time }

func (c *stepClock) Now() time.Time {
	c.t = c.t.Add(time.Second)
	return c.t
}
func (c *stepClock) NewTicker(d time.Duration) optimizer.Ticker {
	return optimizer.SystemClock{}.NewTicker(d)
}

// webPool stands in for a *pool.Pool.
type webPool struct{ workers, waiting int }

func (p *webPool) Name() string             { return "web" }
func (p *webPool) Workers() int             { return p.workers }
func (p *webPool) Bounds() (int, int)       { return 2, 16 }
func (p *webPool) Waiting() int             { return p.waiting }
func (p *webPool) Resize(n int)             { p.workers = max(2, min(16, n)) }
func (p *webPool) String() string           { return fmt.Sprint(p.workers, " workers") }
func (p *webPool) set(waiting int) *webPool { p.waiting = waiting; return p }

// exampleLogger prints log lines without their timestamps so the output is
// stable.
func exampleLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// A recorded burst: tasks queue up while the CPU has room, the load rises,
// then everything goes quiet. Each Tick is one sampling round.
func Example() {
	rec := replay{
		{CPU: 0.35, CPUSource: "cpu/classes", MemoryLimit: math.MaxInt64},
		{CPU: 0.55, CPUSource: "cpu/classes", MemoryLimit: math.MaxInt64},
		{CPU: 0.82, CPUSource: "cpu/classes", MemoryLimit: math.MaxInt64},
		{CPU: 0.85, CPUSource: "cpu/classes", MemoryLimit: math.MaxInt64},
		{CPU: 0.05, CPUSource: "rusage", MemoryLimit: math.MaxInt64},
		{CPU: 0.04, CPUSource: "rusage", MemoryLimit: math.MaxInt64},
	}
	p := &webPool{workers: 2}
	o, err := optimizer.New(optimizer.Config{
		SamplingInterval:     time.Second,
		OptimizationInterval: 10 * time.Second,
		MaxOptimizations:     2,
		Sampler:              &rec,
		Clock:                &stepClock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)},
		Logger:               exampleLogger(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = o.Register(p)
	ctx := context.Background()
	for _, waiting := range []int{40, 25, 12, 3, 0, 0} {
		p.set(waiting)
		o.Tick(ctx)
	}
	fmt.Println(o.Level(), p)
	// Output:
	// level=INFO msg="optimizer resized pool" pool=web action=pool_grow from=2 to=3 waiting=40 cpu=0.35 level=conservative why="40 tasks waiting, cpu 0.35 below 0.80"
	// level=INFO msg="optimizer resized pool" pool=web action=pool_grow from=3 to=4 waiting=25 cpu=0.55 level=conservative why="25 tasks waiting, cpu 0.55 below 0.80"
	// level=INFO msg="optimizer level changed" from=conservative to=aggressive reason=cpu load=0.85 why="cpu load 0.85 for 2 samples"
	// level=INFO msg="optimizer level changed" from=aggressive to=conservative reason=cpu load=0.04 why="cpu load 0.04 for 2 samples"
	// level=INFO msg="optimizer deferred action" action=pool_shrink pool=web used=2 max=2 window_start=2026-05-01T12:00:01.000Z
	// conservative 4 workers
}

func ExampleNew() {
	_, err := optimizer.New(optimizer.Config{SamplingInterval: time.Second})
	fmt.Println(err)
	// Output: optimizer: new: sampling interval 1s and optimization interval 0s must be positive
}

func ExampleConfigFrom() {
	s, _ := presets.Get("web")
	cfg := optimizer.ConfigFrom(s)
	fmt.Println(cfg.SamplingInterval, cfg.OptimizationInterval, cfg.MaxOptimizations)
	// Output: 1s 10s 3
}

func ExampleOptimizer_Subscribe() {
	rec := replay{{CPU: 0.95}, {CPU: 0.95}}
	o, _ := optimizer.New(optimizer.Config{SamplingInterval: time.Second, OptimizationInterval: time.Second,
		Sampler: &rec, Clock: &stepClock{}})
	// The data layer turns batching on from Aggressive up.
	unsubscribe := o.Subscribe(func(from, to optimizer.Level) {
		fmt.Println(from, "->", to, "batching:", to >= optimizer.Aggressive)
	})
	defer unsubscribe()
	o.Tick(context.Background())
	o.Tick(context.Background())
	fmt.Println(o.Level())
	// Output:
	// conservative -> maximum batching: true
	// maximum
}

func ExampleOptimizer_Tick() {
	rec := replay{{CPU: 0.3, HeapBytes: 900 << 20, MemoryLimit: math.MaxInt64}}
	o, _ := optimizer.New(optimizer.Config{
		SamplingInterval: time.Second, OptimizationInterval: time.Minute, MaxOptimizations: 1,
		MemoryLimit:    1 << 30, // the container's limit
		Sampler:        &rec,
		Clock:          &stepClock{},
		SetMemoryLimit: func(n int64) int64 { fmt.Println("SetMemoryLimit", n>>20, "MiB"); return math.MaxInt64 },
		Logger:         exampleLogger(),
	})
	d := o.Tick(context.Background())
	fmt.Printf("load %.2f from %s\n", d.Load, d.Reason)
	for _, a := range d.Actions {
		fmt.Println(a.Kind, a.Why)
	}
	// Output:
	// SetMemoryLimit 921 MiB
	// level=INFO msg="optimizer set memory limit" limit=966367641 previous=9223372036854775807 heap=943718400 heap_ratio=0.88 why="heap 0.88 of limit, above 0.80"
	// load 0.88 from heap
	// memory_limit_set heap 0.88 of limit, above 0.80
}

func ExampleOptimizer_Start() {
	o, err := optimizer.New(optimizer.Config{SamplingInterval: time.Second, OptimizationInterval: 10 * time.Second,
		MaxOptimizations: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	fmt.Println(o.Start(ctx), o.Start(ctx))
	fmt.Println(o.Stop(ctx), o.Stop(ctx))
	// Output:
	// <nil> <nil>
	// <nil> <nil>
}

func ExampleOptimizer_Register() {
	o, _ := optimizer.New(optimizer.Config{SamplingInterval: time.Second, OptimizationInterval: time.Second,
		Sampler: &replay{}})
	fmt.Println(o.Register(&webPool{}))
	fmt.Println(o.Register(&webPool{}))
	// Output:
	// <nil>
	// optimizer: register pool "web": already registered
}

func ExampleParseLevel() {
	l, err := optimizer.ParseLevel("aggressive")
	fmt.Println(l, int(l), err)
	// Output: aggressive 2 <nil>
}

func ExampleNewRuntimeSampler() {
	s, err := optimizer.NewRuntimeSampler(optimizer.SystemClock{})
	if err != nil {
		fmt.Println(err)
		return
	}
	sample, err := s.Sample()
	fmt.Println(err, sample.Goroutines > 0, sample.HeapBytes > 0, sample.CPU >= 0 && sample.CPU <= 1)
	// Output: <nil> true true true
}

func ExampleOptimizer_Level() {
	o, _ := optimizer.New(optimizer.Config{SamplingInterval: time.Second, OptimizationInterval: time.Second,
		Sampler: &replay{}})
	fmt.Println(o.Level(), o.Level() >= optimizer.Aggressive)
	// Output: conservative false
}

func ExampleOptimizer_Stop() {
	rec := replay{{HeapBytes: 950, MemoryLimit: math.MaxInt64}}
	o, _ := optimizer.New(optimizer.Config{SamplingInterval: time.Second, OptimizationInterval: time.Second,
		MaxOptimizations: 1, MemoryLimit: 1000, Sampler: &rec, Clock: &stepClock{},
		SetMemoryLimit: func(n int64) int64 { fmt.Println("SetMemoryLimit", n); return math.MaxInt64 }})
	o.Tick(context.Background())
	// Stop puts back the limit the optimizer changed.
	fmt.Println(o.Stop(context.Background()))
	// Output:
	// SetMemoryLimit 900
	// SetMemoryLimit 9223372036854775807
	// <nil>
}

func ExampleLevel_String() {
	fmt.Println(optimizer.Conservative, optimizer.Moderate, optimizer.Aggressive, optimizer.Maximum)
	// Output: conservative moderate aggressive maximum
}

// What the requests experience can decide the level when the CPU share alone would not: here
// the process uses 30% of the CPU, but its requests fill 95% of what it can serve.
func ExampleOptimizer_AddInput() {
	rec := replay{{CPU: 0.3, MemoryLimit: math.MaxInt64}}
	o, _ := optimizer.New(optimizer.Config{
		SamplingInterval: time.Second, OptimizationInterval: time.Minute,
		Sampler: &rec, Clock: &stepClock{},
	})
	o.AddInput("requests", func() float64 { return 0.95 })
	d := o.Tick(context.Background())
	fmt.Printf("load %.2f from %s\n", d.Load, d.Reason)
	// Output:
	// load 0.95 from requests
}
