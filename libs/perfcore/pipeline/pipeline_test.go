package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ints(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// jitter makes workers finish out of order without timing assertions.
func jitter(v int) {
	if v%3 == 0 {
		time.Sleep(50 * time.Microsecond)
	}
}

func TestFourStagesOrdered(t *testing.T) {
	t.Parallel()
	validate := NewStage("validate", func(_ context.Context, v int) (int, error) {
		if v%10 == 9 {
			return 0, ErrSkip
		}
		return v, nil
	})
	process := NewStage("process", func(_ context.Context, v int) (int, error) { jitter(v); return v * 2, nil }, Workers(4), Ordered(), Buffer(2))
	enrich := NewStage("enrich", func(_ context.Context, v int) (string, error) { jitter(v); return strconv.Itoa(v), nil }, Workers(3), Ordered())
	output := NewStage("output", func(_ context.Context, s string) (string, error) { return "#" + s, nil })
	p := Then(Then(Then(From("orders", validate), process), enrich), output)
	got, err := p.Collect(context.Background(), ints(200))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for v := range 200 {
		if v%10 != 9 {
			want = append(want, "#"+strconv.Itoa(v*2))
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ordered output differs:\n got %v\nwant %v", got[:10], want[:10])
	}
	if !slices.Equal(p.Stages(), []string{"validate", "process", "enrich", "output"}) {
		t.Fatalf("Stages = %v", p.Stages())
	}
}

func TestUnorderedFanOutDeliversEverything(t *testing.T) {
	t.Parallel()
	var concurrent, peak atomic.Int32
	s := NewStage("sq", func(_ context.Context, v int) (int, error) {
		n := concurrent.Add(1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		jitter(v)
		concurrent.Add(-1)
		return v * v, nil
	}, Workers(4), Buffer(8))
	got, err := From("fan", s).Collect(context.Background(), ints(500))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	for i, v := range got {
		if v != i*i {
			t.Fatalf("missing or wrong output at %d: %d", i, v)
		}
	}
	if len(got) != 500 || peak.Load() > 4 {
		t.Fatalf("got %d outputs, peak concurrency %d (limit 4)", len(got), peak.Load())
	}
}

func TestFirstErrorWinsAndStops(t *testing.T) {
	t.Parallel()
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprint("ordered=", ordered), func(t *testing.T) {
			boom := errors.New("boom")
			opts := []StageOption{Workers(3)}
			if ordered {
				opts = append(opts, Ordered())
			}
			first := NewStage("first", func(_ context.Context, v int) (int, error) {
				if v == 10 {
					return 0, boom
				}
				return v, nil
			}, opts...)
			second := NewStage("second", func(_ context.Context, v int) (int, error) { return v, nil })
			src := func(yield func(int) bool) {
				for i := 0; ; i++ { // endless: only the error can stop it
					if !yield(i) {
						return
					}
				}
			}
			err := Then(From("err", first), second).Run(context.Background(), src, func(context.Context, int) error { return nil })
			if !errors.Is(err, boom) {
				t.Fatalf("Run = %v, want boom", err)
			}
			if want := `stage "first"`; !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q does not name the stage", err)
			}
		})
	}
}

func TestSinkErrorStops(t *testing.T) {
	t.Parallel()
	stop := errors.New("enough")
	n := 0
	err := From("sink", NewStage("id", func(_ context.Context, v int) (int, error) { return v, nil }, Workers(2))).
		Run(context.Background(), func(yield func(int) bool) {
			for i := 0; yield(i); i++ {
			}
		}, func(_ context.Context, v int) error {
			if n++; n == 50 {
				return stop
			}
			return nil
		})
	if !errors.Is(err, stop) || n != 50 {
		t.Fatalf("Run = %v after %d items", err, n)
	}
}

func TestContextCancelStops(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var seen atomic.Int32
	s := NewStage("slow", func(ctx context.Context, v int) (int, error) {
		if seen.Add(1) == 20 {
			cancel()
		}
		return v, nil
	}, Workers(2), Ordered())
	err := From("cancel", s).Run(ctx, func(yield func(int) bool) {
		for i := 0; yield(i); i++ {
		}
	}, func(context.Context, int) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
}

func TestBackPressureBoundsInFlight(t *testing.T) {
	t.Parallel()
	// The sink blocks; the source can only run ahead by the buffers.
	var produced atomic.Int32
	release := make(chan struct{})
	s1 := NewStage("a", func(_ context.Context, v int) (int, error) { return v, nil }, Buffer(2))
	s2 := NewStage("b", func(_ context.Context, v int) (int, error) { return v, nil }, Buffer(3))
	done := make(chan error)
	go func() {
		done <- Then(From("bp", s1), s2).Run(context.Background(), func(yield func(int) bool) {
			for i := range 1000 {
				produced.Add(1)
				if !yield(i) {
					return
				}
			}
		}, func(_ context.Context, v int) error {
			if v == 0 {
				<-release
			}
			return nil
		})
	}()
	// Wait until the pipeline is stuck (the count stops growing), then
	// check the bound: items held = 1 sink + 3 + 1 in b + 2 + 1 in a + 1
	// handed over + 1 being yielded.
	var last int32 = -1
	for stable := 0; stable < 20; {
		time.Sleep(2 * time.Millisecond)
		if n := produced.Load(); n == last {
			stable++
		} else {
			last, stable = n, 0
		}
	}
	if last > 12+sourceBuffer {
		t.Fatalf("source ran %d items ahead of a blocked sink; buffers allow about %d", last, 10+sourceBuffer)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if produced.Load() != 1000 {
		t.Fatalf("produced %d", produced.Load())
	}
}

func TestInvalidPipelines(t *testing.T) {
	t.Parallel()
	var nilFn func(context.Context, int) (int, error)
	p := From("bad", NewStage("nil", nilFn))
	if _, err := p.Collect(context.Background(), []int{1}); err == nil {
		t.Fatal("nil stage func accepted")
	}
	ok := From("ok", NewStage("id", func(_ context.Context, v int) (int, error) { return v, nil }))
	if err := ok.Run(context.Background(), nil, nil); err == nil {
		t.Fatal("nil source accepted")
	}
	if err := (Pipeline[int, int]{}).Run(context.Background(), func(func(int) bool) {}, func(context.Context, int) error { return nil }); err == nil {
		t.Fatal("zero Pipeline ran")
	}
}

func TestConcurrentRuns(t *testing.T) {
	t.Parallel()
	p := From("shared", NewStage("x2", func(_ context.Context, v int) (int, error) { return 2 * v, nil }, Workers(2), Ordered()))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			got, err := p.Collect(context.Background(), ints(100))
			if err != nil || len(got) != 100 || got[99] != 198 {
				t.Errorf("Collect = %d items, %v", len(got), err)
			}
		})
	}
	wg.Wait()
}

// recordingProvider records counter sums per instrument name.
type recordingProvider struct {
	noop.MeterProvider
	mu   sync.Mutex
	sums map[string]int64
	hist int
}

func (r *recordingProvider) Meter(string, ...metric.MeterOption) metric.Meter { return recMeter{r: r} }

type recMeter struct {
	noop.Meter
	r *recordingProvider
}

func (m recMeter) Int64Counter(name string, _ ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	return recCounter{r: m.r, name: name}, nil
}

func (m recMeter) Float64Histogram(string, ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	return recHist{r: m.r}, nil
}

type recCounter struct {
	noop.Int64Counter
	r    *recordingProvider
	name string
}

func (c recCounter) Add(_ context.Context, v int64, opts ...metric.AddOption) {
	cfg := metric.NewAddConfig(opts)
	attrs := cfg.Attributes()
	stage, _ := attrs.Value(AttrStage)
	c.r.mu.Lock()
	c.r.sums[c.name+"/"+stage.AsString()] += v
	c.r.mu.Unlock()
}

type recHist struct {
	noop.Float64Histogram
	r *recordingProvider
}

func (h recHist) Record(context.Context, float64, ...metric.RecordOption) {
	h.r.mu.Lock()
	h.r.hist++
	h.r.mu.Unlock()
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	rp := &recordingProvider{sums: map[string]int64{}}
	v := NewStage("validate", func(_ context.Context, v int) (int, error) {
		if v%2 == 1 {
			return 0, ErrSkip
		}
		return v, nil
	}, Workers(2))
	d := NewStage("double", func(_ context.Context, v int) (int, error) { return 2 * v, nil }, Workers(2), Ordered())
	p := Then(From("m", v), d).WithMeterProvider(rp)
	if _, err := p.Collect(context.Background(), ints(1000)); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{
		MetricItemsIn + "/validate": 1000, MetricItemsSkipped + "/validate": 500, MetricItemsOut + "/validate": 500,
		MetricItemsIn + "/double": 500, MetricItemsOut + "/double": 500,
	}
	rp.mu.Lock()
	defer rp.mu.Unlock()
	for k, n := range want {
		if rp.sums[k] != n {
			t.Errorf("%s = %d, want %d (all: %v)", k, rp.sums[k], n, rp.sums)
		}
	}
	if rp.hist == 0 {
		t.Error("no stage durations recorded")
	}
}
