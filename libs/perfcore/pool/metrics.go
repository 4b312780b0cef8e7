package pool

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Instrument names; the package documentation lists them with their units.
const (
	MetricTasksQueued    = "perfcore.pool.tasks.queued"
	MetricTasksRunning   = "perfcore.pool.tasks.running"
	MetricTasksCompleted = "perfcore.pool.tasks.completed"
	MetricTasksFailed    = "perfcore.pool.tasks.failed"
	MetricTasksCanceled  = "perfcore.pool.tasks.canceled"
	MetricTasksStolen    = "perfcore.pool.tasks.stolen"
	MetricTasksRejected  = "perfcore.pool.tasks.rejected"
	MetricWorkers        = "perfcore.pool.workers"
	MetricWorkersTarget  = "perfcore.pool.workers.target"
	MetricWorkersMax     = "perfcore.pool.workers.max"
	MetricTaskWait       = "perfcore.pool.task.wait"
	MetricTaskDuration   = "perfcore.pool.task.duration"
	// AttrPool is the attribute key carrying Config.Name.
	AttrPool = "pool"
)

const meterName = "github.com/brisk-go/brisk/libs/perfcore/pool"

// poolMetrics exports the pool's counters as observable instruments read at
// collection time (no cost per task) and records sampled wait and run
// times in two histograms.
type poolMetrics struct {
	reg     metric.Registration
	wait    metric.Float64Histogram
	run     metric.Float64Histogram
	attrs   []metric.RecordOption // a ready slice: passing it costs no allocation
	observe metric.ObserveOption
}

var secondsBuckets = []float64{1e-6, 5e-6, 25e-6, 100e-6, 500e-6, 1e-3, 5e-3, 25e-3, 100e-3, 500e-3, 1, 5}

func newPoolMetrics(p *Pool) (*poolMetrics, error) {
	mp := p.cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(meterName)
	set := attribute.NewSet(attribute.String(AttrPool, p.cfg.Name))
	pm := &poolMetrics{attrs: []metric.RecordOption{metric.WithAttributeSet(set)}, observe: metric.WithAttributeSet(set)}
	var errs []error
	gauge := func(name, desc string) metric.Int64ObservableGauge {
		g, err := m.Int64ObservableGauge(name, metric.WithDescription(desc), metric.WithUnit("{"+unitOf(name)+"}"))
		errs = append(errs, err)
		return g
	}
	counter := func(name, desc string) metric.Int64ObservableCounter {
		c, err := m.Int64ObservableCounter(name, metric.WithDescription(desc), metric.WithUnit("{task}"))
		errs = append(errs, err)
		return c
	}
	queued := gauge(MetricTasksQueued, "Tasks queued and not yet started.")
	running := gauge(MetricTasksRunning, "Workers running a task or looking for one (not parked).")
	workers := gauge(MetricWorkers, "Live worker goroutines.")
	target := gauge(MetricWorkersTarget, "Standing worker target set by MinWorkers and Resize.")
	maxW := gauge(MetricWorkersMax, "Configured maximum of worker goroutines.")
	completed := counter(MetricTasksCompleted, "Tasks that returned without error or panic.")
	failed := counter(MetricTasksFailed, "Tasks that returned an error or panicked.")
	canceled := counter(MetricTasksCanceled, "Tasks not run: context ended before start, or dropped by Stop.")
	stolen := counter(MetricTasksStolen, "Tasks taken from another worker's local deque.")
	rejected := counter(MetricTasksRejected, "Submissions refused: queue full, pool stopped, or context ended while blocked.")
	var err error
	pm.wait, err = m.Float64Histogram(MetricTaskWait, metric.WithUnit("s"),
		metric.WithDescription("Time from queueing to start, sampled (1 task in 64)."),
		metric.WithExplicitBucketBoundaries(secondsBuckets...))
	errs = append(errs, err)
	pm.run, err = m.Float64Histogram(MetricTaskDuration, metric.WithUnit("s"),
		metric.WithDescription("Run time of tasks, sampled (1 task in 64)."),
		metric.WithExplicitBucketBoundaries(secondsBuckets...))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	pm.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := p.Stats()
		o.ObserveInt64(queued, int64(s.Queued), pm.observe)
		o.ObserveInt64(running, int64(s.Running), pm.observe)
		o.ObserveInt64(workers, int64(s.Workers), pm.observe)
		o.ObserveInt64(target, int64(s.Target), pm.observe)
		o.ObserveInt64(maxW, int64(s.Max), pm.observe)
		o.ObserveInt64(completed, int64(s.Completed), pm.observe)
		o.ObserveInt64(failed, int64(s.Failed), pm.observe)
		o.ObserveInt64(canceled, int64(s.Canceled), pm.observe)
		o.ObserveInt64(stolen, int64(s.Stolen), pm.observe)
		o.ObserveInt64(rejected, int64(s.Rejected), pm.observe)
		return nil
	}, queued, running, workers, target, maxW, completed, failed, canceled, stolen, rejected)
	if err != nil {
		return nil, err
	}
	return pm, nil
}

func unitOf(name string) string {
	switch name {
	case MetricTasksQueued, MetricTasksRunning:
		return "task"
	default:
		return "worker"
	}
}

func (m *poolMetrics) recordWait(ns int64) {
	m.wait.Record(context.Background(), float64(max(ns, 0))/1e9, m.attrs...)
}

func (m *poolMetrics) recordRun(ns int64) {
	m.run.Record(context.Background(), float64(max(ns, 0))/1e9, m.attrs...)
}

func (m *poolMetrics) unregister() {
	if m.reg != nil {
		_ = m.reg.Unregister()
	}
}
