package optimizer

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/goleak"

	"github.com/brisk-go/brisk/libs/perfcore/internal/metrictest"
	"github.com/brisk-go/brisk/libs/perfcore/presets"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type harness struct {
	o       *Optimizer
	clock   *fakeClock
	sampler *scriptSampler
	meter   *metrictest.Meter
	logs    *syncBuffer
	limits  []int64
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{clock: newFakeClock(), sampler: &scriptSampler{}, meter: metrictest.New(), logs: &syncBuffer{}}
	if cfg.SamplingInterval == 0 {
		cfg.SamplingInterval = time.Second
	}
	if cfg.OptimizationInterval == 0 {
		cfg.OptimizationInterval = 10 * time.Second
	}
	if cfg.MaxOptimizations == 0 {
		cfg.MaxOptimizations = 100
	}
	cfg.Clock, cfg.Sampler, cfg.Meter = h.clock, h.sampler, h.meter
	cfg.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.SetMemoryLimit = func(n int64) int64 {
		h.limits = append(h.limits, n)
		return math.MaxInt64
	}
	o, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.o = o
	t.Cleanup(func() {
		if err := o.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return h
}

// tick feeds one recorded sample, advances the clock one second, and
// returns the decision.
func (h *harness) tick(s Sample) Decision {
	if s.MemoryLimit == 0 {
		s.MemoryLimit = math.MaxInt64
	}
	h.sampler.push(s)
	d := h.o.Tick(context.Background())
	h.clock.Advance(time.Second)
	return d
}

func kinds(as []Action) []ActionKind {
	var out []ActionKind
	for _, a := range as {
		out = append(out, a.Kind)
	}
	return out
}

func TestLevelFollowsLoadWithHysteresis(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	type change struct{ from, to Level }
	var changes []change
	unsub := h.o.Subscribe(func(from, to Level) { changes = append(changes, change{from, to}) })

	steps := []struct {
		cpu     float64
		want    Level
		changed bool
	}{
		{0.30, Conservative, false},
		{0.80, Conservative, false}, // one sample is not enough
		{0.80, Aggressive, true},    // confirmed: jumps straight to aggressive
		{0.70, Aggressive, false},   // below 0.75 but within the hysteresis band
		{0.70, Aggressive, false},
		{0.60, Aggressive, false}, // points at moderate once…
		{0.95, Aggressive, false}, // …then at maximum: the count restarts
		{0.95, Maximum, true},
		{0.30, Maximum, false},
		{0.30, Conservative, true},
		{0.74, Conservative, false}, // hovering at a threshold does not flap
		{0.20, Conservative, false},
		{0.76, Conservative, false},
		{0.20, Conservative, false},
	}
	for i, st := range steps {
		d := h.tick(Sample{CPU: st.cpu})
		if d.Level != st.want || h.o.Level() != st.want {
			t.Fatalf("step %d (cpu %.2f): level %v / Level() %v, want %v", i, st.cpu, d.Level, h.o.Level(), st.want)
		}
		if got := slices.Contains(kinds(d.Actions), ActionLevelChange); got != st.changed {
			t.Fatalf("step %d: level change action = %v, want %v (%+v)", i, got, st.changed, d.Actions)
		}
		if d.Reason != "cpu" {
			t.Fatalf("step %d: reason %q, want cpu", i, d.Reason)
		}
	}
	want := []change{{Conservative, Aggressive}, {Aggressive, Maximum}, {Maximum, Conservative}}
	if !slices.Equal(changes, want) {
		t.Fatalf("subscriber saw %v, want %v", changes, want)
	}
	if v, _ := h.meter.Value("perfcore.optimizer.actions", attribute.String("kind", "level_change")); v != 3 {
		t.Fatalf("level_change actions = %v, want 3", v)
	}
	if v, ok := h.meter.Value("perfcore.optimizer.level"); !ok || v != float64(Conservative) {
		t.Fatalf("level gauge = %v (%v), want 0", v, ok)
	}
	unsub()
	h.tick(Sample{CPU: 0.95})
	h.tick(Sample{CPU: 0.95})
	if len(changes) != 3 {
		t.Fatal("unsubscribed function was still called")
	}
	if !strings.Contains(h.logs.String(), `msg="optimizer level changed" from=conservative to=aggressive reason=cpu load=0.8`) {
		t.Fatalf("missing level log line in:\n%s", h.logs)
	}
}

func TestLoadTakesTheHighestInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{MemoryLimit: 1000})
	cases := []struct {
		s      Sample
		reason string
		load   float64
	}{
		{Sample{CPU: 0.1, SchedLatencyP99: 4 * time.Millisecond}, "sched_latency", 0.8},
		{Sample{CPU: 0.1, GCCPU: 0.2}, "gc_cpu", 0.8},
		{Sample{CPU: 0.1, HeapBytes: 700}, "heap", 0.7},
		{Sample{CPU: 0.9, HeapBytes: 700}, "cpu", 0.9},
	}
	for _, c := range cases {
		d := h.tick(c.s)
		if d.Reason != c.reason || math.Abs(d.Load-c.load) > 1e-9 {
			t.Errorf("%+v: load %.3f reason %s, want %.3f %s", c.s, d.Load, d.Reason, c.load, c.reason)
		}
	}
	if v, _ := h.meter.Value("perfcore.optimizer.load", attribute.String("input", "heap")); v != 0.7 {
		t.Fatalf("heap load gauge = %v", v)
	}
}

func TestPoolsGrowWhenTasksWaitAndShrinkWhenIdleWithinBudget(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{MaxOptimizations: 2, OptimizationInterval: 10 * time.Second})
	p := &fakePool{name: "web", lo: 1, hi: 8, workers: 1}
	if err := h.o.Register(p); err != nil {
		t.Fatal(err)
	}
	if err := h.o.Register(&fakePool{name: "web"}); err == nil {
		t.Fatal("registered the same name twice")
	}
	steps := []struct {
		advance  time.Duration // before the tick, on top of the harness's second
		waiting  int
		cpu      float64
		actions  []ActionKind
		deferred []ActionKind
		workers  int
	}{
		{0, 10, 0.3, []ActionKind{ActionPoolGrow}, nil, 2},
		{0, 10, 0.4, []ActionKind{ActionPoolGrow}, nil, 3},
		{0, 10, 0.5, nil, []ActionKind{ActionPoolGrow}, 3},              // budget of 2 used
		{0, 10, 0.9, nil, nil, 3},                                       // cpu busy: more workers would not help
		{7 * time.Second, 5, 0.5, []ActionKind{ActionPoolGrow}, nil, 4}, // new interval
		{0, 0, 0.1, nil, nil, 4},                                        // idle once
		{0, 0, 0.1, []ActionKind{ActionPoolShrink}, nil, 2},             // idle twice
		{0, 0, 0.5, nil, nil, 2},                                        // busy again: not idle
		{0, 0, 0.1, nil, nil, 2},
		{8 * time.Second, 0, 0.1, []ActionKind{ActionPoolShrink}, nil, 1},
		{0, 0, 0.1, nil, nil, 1},
		{0, 0, 0.1, nil, nil, 1}, // at min: nothing to do
	}
	for i, st := range steps {
		h.clock.Advance(st.advance)
		p.setWaiting(st.waiting)
		d := h.tick(Sample{CPU: st.cpu})
		if got := kinds(d.Actions); !slices.Equal(got, st.actions) {
			t.Fatalf("step %d: actions %v, want %v", i, got, st.actions)
		}
		if got := kinds(d.Deferred); !slices.Equal(got, st.deferred) {
			t.Fatalf("step %d: deferred %v, want %v", i, got, st.deferred)
		}
		if p.Workers() != st.workers {
			t.Fatalf("step %d: workers %d, want %d", i, p.Workers(), st.workers)
		}
	}
	if !slices.Equal(p.resizes, []int{2, 3, 4, 2, 1}) {
		t.Fatalf("resizes %v", p.resizes)
	}
	for kind, want := range map[string]float64{"pool_grow": 3, "pool_shrink": 2, "throttled": 1} {
		if v, _ := h.meter.Value("perfcore.optimizer.actions", attribute.String("kind", kind)); v != want {
			t.Errorf("actions{kind=%s} = %v, want %v", kind, v, want)
		}
	}
	if v, _ := h.meter.Value("perfcore.optimizer.pool.target", attribute.String("pool", "web")); v != 1 {
		t.Fatalf("pool target gauge = %v, want 1", v)
	}
	logs := h.logs.String()
	for _, want := range []string{
		`msg="optimizer resized pool" pool=web action=pool_grow from=1 to=2 waiting=10 cpu=0.3`,
		`msg="optimizer resized pool" pool=web action=pool_shrink from=4 to=2 waiting=0 cpu=0.1`,
		`msg="optimizer deferred action" action=pool_grow pool=web used=2 max=2`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

func TestGrowthStaysWithinMax(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	p := &fakePool{name: "bg", lo: 2, hi: 5, workers: 4, waiting: 100}
	_ = h.o.Register(p)
	d := h.tick(Sample{CPU: 0.1})
	if len(d.Actions) != 1 || d.Actions[0].To != 5 || p.Workers() != 5 {
		t.Fatalf("grew to %d (%+v), want 5", p.Workers(), d.Actions)
	}
	if d := h.tick(Sample{CPU: 0.1}); len(d.Actions) != 0 {
		t.Fatalf("acted at max: %+v", d.Actions)
	}
}

func TestMemoryLimitSetUnderPressureAndRestored(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{MemoryLimit: 1000})
	steps := []struct {
		heap       uint64
		runtimeLim int64
		actions    []ActionKind
		limits     []int64
	}{
		{500, math.MaxInt64, nil, nil},
		{850, math.MaxInt64, []ActionKind{ActionMemoryLimitSet}, []int64{900}},
		{880, 900, nil, []int64{900}}, // already set
		{600, 900, nil, []int64{900}}, // between low and high: keep it
		{400, 900, []ActionKind{ActionMemoryLimitRestore}, []int64{900, math.MaxInt64}},
		{850, math.MaxInt64, []ActionKind{ActionMemoryLimitSet}, []int64{900, math.MaxInt64, 900}},
	}
	for i, st := range steps {
		d := h.tick(Sample{HeapBytes: st.heap, MemoryLimit: st.runtimeLim})
		if got := slices.DeleteFunc(kinds(d.Actions), func(k ActionKind) bool { return k == ActionLevelChange }); !slices.Equal(got, st.actions) {
			t.Fatalf("step %d: actions %v, want %v", i, got, st.actions)
		}
		if !slices.Equal(h.limits, st.limits) {
			t.Fatalf("step %d: SetMemoryLimit calls %v, want %v", i, h.limits, st.limits)
		}
	}
	if v, _ := h.meter.Value("perfcore.optimizer.memory.limit"); v != 900 {
		t.Fatalf("memory.limit gauge = %v", v)
	}
	if err := h.o.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := []int64{900, math.MaxInt64, 900, math.MaxInt64}; !slices.Equal(h.limits, want) {
		t.Fatalf("Stop did not restore the limit: %v", h.limits)
	}
}

func TestRuntimeLimitOnlyIsReadNeverSet(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}) // no configured limit
	d := h.tick(Sample{HeapBytes: 950, MemoryLimit: 1000})
	if d.Reason != "heap" || d.Load != 0.95 {
		t.Fatalf("load %v reason %s, want heap 0.95", d.Load, d.Reason)
	}
	h.tick(Sample{HeapBytes: 950, MemoryLimit: 1000})
	if len(h.limits) != 0 {
		t.Fatalf("SetMemoryLimit called %v without a configured limit", h.limits)
	}
}

func TestSampleErrorIsCountedAndChangesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	p := &fakePool{name: "web", lo: 1, hi: 4, workers: 1, waiting: 9}
	_ = h.o.Register(p)
	h.sampler.err = errors.New("read failed")
	d := h.o.Tick(context.Background())
	if d.Reason != "sample failed" || len(d.Actions) != 0 || p.Workers() != 1 {
		t.Fatalf("decision %+v after a failed sample", d)
	}
	if v, _ := h.meter.Value("perfcore.optimizer.sample.errors"); v != 1 {
		t.Fatalf("sample.errors = %v", v)
	}
	if !strings.Contains(h.logs.String(), "optimizer sample failed") {
		t.Fatal("no log line for the failed sample")
	}
}

func TestStartStopLifecycle(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.sampler.called = make(chan struct{}, 1)
	ctx := context.Background()
	if err := h.o.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.o.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(h.clock.tickers); n != 1 {
		t.Fatalf("second Start made %d tickers", n)
	}
	h.sampler.push(Sample{CPU: 0.1, MemoryLimit: math.MaxInt64})
	h.clock.tickers[0].ch <- h.clock.Now() // received by the loop
	<-h.sampler.called
	if err := h.o.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.o.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if !h.clock.tickers[0].stopped {
		t.Fatal("ticker not stopped")
	}
	if err := h.o.Start(ctx); err == nil {
		t.Fatal("Start after Stop succeeded")
	}
}

func TestLoopEndsWithItsContext(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	if err := h.o.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-h.o.done // the loop exits without Stop
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	s := &scriptSampler{}
	for _, cfg := range []Config{
		{OptimizationInterval: time.Second},
		{SamplingInterval: time.Second},
		{SamplingInterval: time.Second, OptimizationInterval: time.Second, MaxOptimizations: -1},
		{SamplingInterval: time.Second, OptimizationInterval: time.Second, MemoryLimit: -1},
	} {
		cfg.Sampler = s
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestConfigFromProfile(t *testing.T) {
	t.Parallel()
	s, _ := presets.Get("api")
	c := ConfigFrom(s)
	if c.SamplingInterval != s.ProfileSamplingInterval || c.OptimizationInterval != s.ProfileOptimizationInterval ||
		c.MaxOptimizations != s.ProfileMaxOptimizations {
		t.Fatalf("ConfigFrom = %+v", c)
	}
}

func TestLevelNames(t *testing.T) {
	t.Parallel()
	for l := Conservative; l <= Maximum; l++ {
		back, err := ParseLevel(l.String())
		if err != nil || back != l {
			t.Fatalf("ParseLevel(%q) = %v, %v", l.String(), back, err)
		}
	}
	if _, err := ParseLevel("turbo"); err == nil {
		t.Fatal("ParseLevel accepted turbo")
	}
	if Level(9).String() != "Level(9)" {
		t.Fatal(Level(9).String())
	}
}
