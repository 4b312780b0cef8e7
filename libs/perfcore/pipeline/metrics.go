package pipeline

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Instrument names; the package documentation lists them with units.
const (
	MetricItemsIn       = "perfcore.pipeline.items.in"
	MetricItemsOut      = "perfcore.pipeline.items.out"
	MetricItemsSkipped  = "perfcore.pipeline.items.skipped"
	MetricErrors        = "perfcore.pipeline.errors"
	MetricStageDuration = "perfcore.pipeline.stage.duration"
	// AttrPipeline and AttrStage are the attribute keys.
	AttrPipeline = "pipeline"
	AttrStage    = "stage"
)

const meterName = "github.com/brisk-go/brisk/libs/perfcore/pipeline"

type runMetrics struct {
	in, out, skipped, errs metric.Int64Counter
	dur                    metric.Float64Histogram
	attrs                  [][]metric.AddOption
	recAttrs               [][]metric.RecordOption
}

func metricsFor(mp metric.MeterProvider, name string, stages []string) (*runMetrics, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(meterName)
	rm := &runMetrics{}
	var err error
	if rm.in, err = m.Int64Counter(MetricItemsIn, metric.WithUnit("{item}"), metric.WithDescription("Items a stage received.")); err != nil {
		return nil, err
	}
	if rm.out, err = m.Int64Counter(MetricItemsOut, metric.WithUnit("{item}"), metric.WithDescription("Items a stage passed on.")); err != nil {
		return nil, err
	}
	if rm.skipped, err = m.Int64Counter(MetricItemsSkipped, metric.WithUnit("{item}"), metric.WithDescription("Items a stage dropped with ErrSkip.")); err != nil {
		return nil, err
	}
	if rm.errs, err = m.Int64Counter(MetricErrors, metric.WithUnit("{error}"), metric.WithDescription("Stage errors; each stops its run.")); err != nil {
		return nil, err
	}
	if rm.dur, err = m.Float64Histogram(MetricStageDuration, metric.WithUnit("s"), metric.WithDescription("Time of one stage function call, sampled 1 in 16.")); err != nil {
		return nil, err
	}
	for _, s := range stages {
		set := attribute.NewSet(attribute.String(AttrPipeline, name), attribute.String(AttrStage, s))
		rm.attrs = append(rm.attrs, []metric.AddOption{metric.WithAttributeSet(set)})
		rm.recAttrs = append(rm.recAttrs, []metric.RecordOption{metric.WithAttributeSet(set)})
	}
	return rm, nil
}

// stageCounts is one stage goroutine's private tally, added to the
// counters in batches.
type stageCounts struct {
	m                         *runMetrics
	idx                       int
	in, out, skipped, errors  int64
	fIn, fOut, fSkip, fErrors int64 // already flushed
	durations                 []time.Duration
}

func (m *runMetrics) counts(idx int) *stageCounts { return &stageCounts{m: m, idx: idx} }

func (c *stageCounts) maybeFlush() {
	if c.out%256 == 0 {
		c.flush()
	}
}

func (c *stageCounts) flush() {
	ctx := context.Background()
	a := c.m.attrs[c.idx]
	if d := c.in - c.fIn; d > 0 {
		c.m.in.Add(ctx, d, a...)
	}
	if d := c.out - c.fOut; d > 0 {
		c.m.out.Add(ctx, d, a...)
	}
	if d := c.skipped - c.fSkip; d > 0 {
		c.m.skipped.Add(ctx, d, a...)
	}
	if d := c.errors - c.fErrors; d > 0 {
		c.m.errs.Add(ctx, d, a...)
	}
	c.fIn, c.fOut, c.fSkip, c.fErrors = c.in, c.out, c.skipped, c.errors
	for _, d := range c.durations {
		c.m.dur.Record(ctx, d.Seconds(), c.m.recAttrs[c.idx]...)
	}
	c.durations = c.durations[:0]
}
