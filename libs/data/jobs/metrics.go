package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river/rivertype"
	"github.com/riverqueue/rivercontrib/otelriver"
	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// MetricJobs is the gauge of jobs waiting or stopped in River's table, by state and kind.
const MetricJobs = "brisk.jobs"

// backlogStates are the states the gauge counts. Completed jobs are left out on purpose: River
// keeps them for a day, counting them would scan a large table on every scrape, and their
// rate is river.work_count already.
var backlogStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStatePending, rivertype.JobStateDiscarded,
	rivertype.JobStateCancelled,
}

// otelPlugin is River's OpenTelemetry middleware (rivercontrib/otelriver): a span per worked
// job (linked to the span that inserted it), and the river.* metrics — jobs worked by kind,
// status and attempt, their duration, inserts, and fetch timings.
func otelPlugin(mp metric.MeterProvider, tp trace.TracerProvider) rivertype.Plugin {
	return otelriver.NewMiddleware(&otelriver.MiddlewareConfig{
		DurationUnit:                "s",
		EnableTracePropagation:      true,
		EnableWorkSpanJobKindSuffix: true,
		MeterProvider:               secondsProvider{mp},
		TracerProvider:              tp,
	})
}

// backlogGauge observes brisk.jobs from River's table when metrics are collected. Each
// collection is one grouped query over the index on state; it is bounded by a short timeout
// so a slow database delays a scrape instead of hanging it.
func backlogGauge(mp metric.MeterProvider, db *bun.DB) (metric.Registration, error) {
	m := mp.Meter("github.com/brisk-go/brisk/libs/data/jobs")
	g, err := m.Int64ObservableGauge(MetricJobs, metric.WithUnit("{job}"),
		metric.WithDescription("Jobs in the queue's table by state (completed ones excepted) and kind."))
	if err != nil {
		return nil, fmt.Errorf("jobs: create %s gauge: %w", MetricJobs, err)
	}
	reg, err := m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		var rows []struct {
			State string `bun:"state"`
			Kind  string `bun:"kind"`
			N     int64  `bun:"n"`
		}
		err := db.NewSelect().Table("river_job").ColumnExpr("state, kind, count(*) AS n").
			Where("state IN (?)", bun.List(backlogStates)).GroupExpr("state, kind").Scan(ctx, &rows)
		if err != nil {
			return fmt.Errorf("jobs: count jobs by state: %w", err)
		}
		// A state with no jobs reads 0 rather than vanishing, so panels show the drain to zero.
		seen := map[string]bool{}
		for _, r := range rows {
			seen[r.State] = true
			o.ObserveInt64(g, r.N, metric.WithAttributes(attribute.String("state", r.State), attribute.String("kind", r.Kind)))
		}
		for _, s := range backlogStates {
			if !seen[string(s)] {
				o.ObserveInt64(g, 0, metric.WithAttributes(attribute.String("state", string(s)), attribute.String("kind", "")))
			}
		}
		return nil
	}, g)
	if err != nil {
		return nil, fmt.Errorf("jobs: register %s callback: %w", MetricJobs, err)
	}
	return reg, nil
}

// jobSeconds are the bucket bounds of River's duration histograms: from a millisecond fetch to
// a job near its one-minute default timeout. otelriver sets none, and the SDK's default bounds
// (0, 5, 10, 25 … 10000) are made for milliseconds, which would put every job under 5 s in
// one bucket.
var jobSeconds = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// secondsProvider hands out meters whose float histograms use jobSeconds.
type secondsProvider struct{ metric.MeterProvider }

func (p secondsProvider) Meter(name string, opts ...metric.MeterOption) metric.Meter {
	return secondsMeter{p.MeterProvider.Meter(name, opts...)}
}

type secondsMeter struct{ metric.Meter }

func (m secondsMeter) Float64Histogram(name string, opts ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	return m.Meter.Float64Histogram(name, append(opts, metric.WithExplicitBucketBoundaries(jobSeconds...))...)
}
