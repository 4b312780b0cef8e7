// Package metrictest is an in-memory OpenTelemetry meter for perfcore's tests:
// it records what instruments were given so a test can assert that a decision
// really produced its metric, without depending on the OTel SDK (perfcore
// keeps to the metric API).
package metrictest

import (
	"context"
	"sort"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// Meter records sums for counters and the last value for gauges, keyed by
// instrument name and attributes.
type Meter struct {
	noop.Meter
	mu     sync.Mutex
	values map[string]float64
	names  map[string]bool
}

// New returns an empty Meter.
func New() *Meter { return &Meter{values: map[string]float64{}, names: map[string]bool{}} }

func key(name string, set attribute.Set) string {
	enc := set.Encoded(attribute.DefaultEncoder())
	if enc == "" {
		return name
	}
	return name + "{" + enc + "}"
}

func (m *Meter) add(name string, set attribute.Set, v float64) {
	m.mu.Lock()
	m.values[key(name, set)] += v
	m.mu.Unlock()
}

func (m *Meter) set(name string, set attribute.Set, v float64) {
	m.mu.Lock()
	m.values[key(name, set)] = v
	m.mu.Unlock()
}

func (m *Meter) created(name string) {
	m.mu.Lock()
	m.names[name] = true
	m.mu.Unlock()
}

// Value returns the recorded value of name with exactly attrs, and whether
// anything was recorded for it.
func (m *Meter) Value(name string, attrs ...attribute.KeyValue) (float64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.values[key(name, attribute.NewSet(attrs...))]
	return v, ok
}

// Sum adds the values of name over all attribute sets.
func (m *Meter) Sum(name string) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var s float64
	for k, v := range m.values {
		if k == name || strings.HasPrefix(k, name+"{") {
			s += v
		}
	}
	return s
}

// Instruments returns the names of all instruments created, sorted.
func (m *Meter) Instruments() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.names))
	for n := range m.names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

type int64Counter struct {
	noop.Int64Counter
	m    *Meter
	name string
}

func (c *int64Counter) Add(_ context.Context, v int64, opts ...metric.AddOption) {
	c.m.add(c.name, metric.NewAddConfig(opts).Attributes(), float64(v))
}

type int64UpDown struct {
	noop.Int64UpDownCounter
	m    *Meter
	name string
}

func (c *int64UpDown) Add(_ context.Context, v int64, opts ...metric.AddOption) {
	c.m.add(c.name, metric.NewAddConfig(opts).Attributes(), float64(v))
}

type int64Gauge struct {
	noop.Int64Gauge
	m    *Meter
	name string
}

func (g *int64Gauge) Record(_ context.Context, v int64, opts ...metric.RecordOption) {
	g.m.set(g.name, metric.NewRecordConfig(opts).Attributes(), float64(v))
}

type float64Gauge struct {
	noop.Float64Gauge
	m    *Meter
	name string
}

func (g *float64Gauge) Record(_ context.Context, v float64, opts ...metric.RecordOption) {
	g.m.set(g.name, metric.NewRecordConfig(opts).Attributes(), v)
}

// Int64Counter records sums.
func (m *Meter) Int64Counter(name string, _ ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	m.created(name)
	return &int64Counter{m: m, name: name}, nil
}

// Int64UpDownCounter records sums.
func (m *Meter) Int64UpDownCounter(name string, _ ...metric.Int64UpDownCounterOption) (metric.Int64UpDownCounter, error) {
	m.created(name)
	return &int64UpDown{m: m, name: name}, nil
}

// Int64Gauge records the last value.
func (m *Meter) Int64Gauge(name string, _ ...metric.Int64GaugeOption) (metric.Int64Gauge, error) {
	m.created(name)
	return &int64Gauge{m: m, name: name}, nil
}

// Float64Gauge records the last value.
func (m *Meter) Float64Gauge(name string, _ ...metric.Float64GaugeOption) (metric.Float64Gauge, error) {
	m.created(name)
	return &float64Gauge{m: m, name: name}, nil
}
