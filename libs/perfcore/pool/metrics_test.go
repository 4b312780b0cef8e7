package pool

import (
	"context"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// fakeProvider records which instruments were made and lets the test run
// the registered callback.
type fakeProvider struct {
	noop.MeterProvider
	mu       sync.Mutex
	names    []string
	callback metric.Callback
	observed map[string]int64
	attrPool string
	records  int
	values   map[string][]float64 // recorded per histogram, when set
	unreg    bool
}

func (f *fakeProvider) Meter(string, ...metric.MeterOption) metric.Meter { return fakeMeter{f: f} }

type fakeMeter struct {
	noop.Meter
	f *fakeProvider
}

type namedGauge struct {
	noop.Int64ObservableGauge
	name string
}

type namedCounter struct {
	noop.Int64ObservableCounter
	name string
}

type countingHist struct {
	noop.Float64Histogram
	f    *fakeProvider
	name string
}

func (h countingHist) Record(_ context.Context, v float64, _ ...metric.RecordOption) {
	h.f.mu.Lock()
	h.f.records++
	if h.f.values != nil {
		h.f.values[h.name] = append(h.f.values[h.name], v)
	}
	h.f.mu.Unlock()
}

func (m fakeMeter) Int64ObservableGauge(name string, _ ...metric.Int64ObservableGaugeOption) (metric.Int64ObservableGauge, error) {
	m.f.names = append(m.f.names, name)
	return namedGauge{name: name}, nil
}

func (m fakeMeter) Int64ObservableCounter(name string, _ ...metric.Int64ObservableCounterOption) (metric.Int64ObservableCounter, error) {
	m.f.names = append(m.f.names, name)
	return namedCounter{name: name}, nil
}

func (m fakeMeter) Float64Histogram(name string, _ ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	m.f.names = append(m.f.names, name)
	return countingHist{f: m.f, name: name}, nil
}

type fakeReg struct {
	noop.Registration
	f *fakeProvider
}

func (r fakeReg) Unregister() error { r.f.unreg = true; return nil }

func (m fakeMeter) RegisterCallback(cb metric.Callback, _ ...metric.Observable) (metric.Registration, error) {
	m.f.callback = cb
	return fakeReg{f: m.f}, nil
}

type fakeObserver struct {
	noop.Observer
	f *fakeProvider
}

func (o fakeObserver) ObserveInt64(inst metric.Int64Observable, v int64, opts ...metric.ObserveOption) {
	name := ""
	switch i := inst.(type) {
	case namedGauge:
		name = i.name
	case namedCounter:
		name = i.name
	}
	o.f.observed[name] = v
	attrs := metric.NewObserveConfig(opts).Attributes()
	val, _ := attrs.Value(AttrPool)
	o.f.attrPool = val.AsString()
}

func TestMetrics(t *testing.T) {
	fp := &fakeProvider{observed: map[string]int64{}}
	p := newStarted(t, Config{Name: "metered", MinWorkers: 2, MaxWorkers: 3, MeterProvider: fp})
	want := []string{MetricTasksQueued, MetricTasksRunning, MetricWorkers, MetricWorkersTarget, MetricWorkersMax,
		MetricTasksCompleted, MetricTasksFailed, MetricTasksCanceled, MetricTasksStolen, MetricTasksRejected,
		MetricTaskWait, MetricTaskDuration}
	if len(fp.names) != len(want) {
		t.Fatalf("instruments %v, want %v", fp.names, want)
	}
	for i := range want {
		if fp.names[i] != want[i] {
			t.Fatalf("instrument %d = %s, want %s", i, fp.names[i], want[i])
		}
	}
	for range 1000 {
		_ = p.Go(func() {})
	}
	f := Submit(context.Background(), p, func(context.Context) (int, error) { panic("x") })
	_, _ = f.Await(bounded(t))
	eventually(t, "tasks done", func() bool { s := p.Stats(); return s.Completed == 1000 && s.Failed == 1 && s.Idle == s.Workers })
	if err := fp.callback(context.Background(), fakeObserver{f: fp}); err != nil {
		t.Fatal(err)
	}
	if fp.observed[MetricTasksCompleted] != 1000 || fp.observed[MetricTasksFailed] != 1 || fp.observed[MetricWorkersMax] != 3 || fp.observed[MetricWorkersTarget] != 2 || fp.attrPool != "metered" {
		t.Fatalf("observed %v pool=%q", fp.observed, fp.attrPool)
	}
	fp.mu.Lock()
	recs := fp.records
	fp.mu.Unlock()
	if recs == 0 {
		t.Fatal("no wait/duration samples in 1001 tasks")
	}
	// One task in 64 is sampled (about 31 records for 1001 tasks, wait and run); every task
	// measured would be about 2,000.
	if recs >= 1001 {
		t.Fatalf("%d wait/duration samples in 1001 tasks: sampling one task in %d gives about %d", recs, sampleMask+1, 2*1001/(sampleMask+1))
	}
	if err := p.Stop(bounded(t)); err != nil {
		t.Fatal(err)
	}
	if !fp.unreg {
		t.Fatal("Stop did not unregister the metrics callback")
	}
}

// The histograms are in seconds (their unit says "s"): the nanoseconds measured are divided.
func TestWaitAndRunAreRecordedInSeconds(t *testing.T) {
	fp := &fakeProvider{observed: map[string]int64{}, values: map[string][]float64{}}
	p := newStarted(t, Config{Name: "seconds", MeterProvider: fp})
	p.metrics.recordWait(1_500_000_000)
	p.metrics.recordRun(250_000_000)
	p.metrics.recordWait(-5) // a clock step back is no negative wait
	fp.mu.Lock()
	defer fp.mu.Unlock()
	if got := fp.values[MetricTaskWait]; len(got) != 2 || got[0] != 1.5 || got[1] != 0 {
		t.Fatalf("wait recorded %v, want [1.5 0]", got)
	}
	if got := fp.values[MetricTaskDuration]; len(got) != 1 || got[0] != 0.25 {
		t.Fatalf("run recorded %v, want [0.25]", got)
	}
}
