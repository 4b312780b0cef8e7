package jobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/brisk-go/brisk/libs/data/datatest"
	"github.com/brisk-go/brisk/libs/data/jobs"
)

// A working queue reports what it works (otelriver's river.work_count by kind and status,
// its duration in second-sized buckets) and its backlog by state (brisk.jobs), on the meter
// provider it is given; the backlog gauge goes away with Stop.
func TestQueueReportsJobMetrics(t *testing.T) {
	t.Parallel()
	db, url := datatest.NewWithURL(t)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TABLE test_notes (text TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	w := river.NewWorkers()
	river.AddWorker(w, &noteWorker{db: db})
	river.AddWorker(w, failWorker{})
	// ObserveJob hears both runs, the failed one as failed (the worker's /debug/perf).
	var observed struct {
		sync.Mutex
		ok, failed int
	}
	q, err := jobs.New(ctx, jobs.Config{DB: db, URL: url, Logger: quiet, PollInterval: 50 * time.Millisecond,
		Workers: w, MeterProvider: mp, ObserveJob: func(d time.Duration, failed bool) {
			observed.Lock()
			defer observed.Unlock()
			if failed {
				observed.failed++
			} else if d > 0 {
				observed.ok++
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Insert(ctx, noteArgs{Text: "m"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Insert(ctx, failArgs{}, &river.InsertOpts{MaxAttempts: 1}); err != nil {
		t.Fatal(err)
	}

	collect := func() map[string]metricdata.Aggregation {
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(ctx, &rm); err != nil {
			t.Fatal(err)
		}
		out := map[string]metricdata.Aggregation{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				out[m.Name] = m.Data
			}
		}
		return out
	}
	worked := func(m map[string]metricdata.Aggregation, kind, status string) int64 {
		s, _ := m["river.work_count"].(metricdata.Sum[int64])
		var n int64
		for _, dp := range s.DataPoints {
			k, _ := dp.Attributes.Value("kind")
			st, _ := dp.Attributes.Value("status")
			if k.AsString() == kind && st.AsString() == status {
				n += dp.Value
			}
		}
		return n
	}
	var got map[string]metricdata.Aggregation
	waitFor(t, "both jobs worked and counted", func() bool {
		got = collect()
		return worked(got, "note", "ok") == 1 && worked(got, "always_fails", "error") == 1
	})
	waitFor(t, "both jobs observed", func() bool {
		observed.Lock()
		defer observed.Unlock()
		return observed.ok == 1 && observed.failed == 1
	})

	h, ok := got["river.work_duration_histogram"].(metricdata.Histogram[float64])
	if !ok || len(h.DataPoints) == 0 {
		t.Fatalf("no river.work_duration_histogram: %T", got["river.work_duration_histogram"])
	}
	if b := h.DataPoints[0].Bounds; len(b) == 0 || b[0] != 0.001 {
		t.Errorf("duration buckets %v, want second-sized ones starting at 1ms", b)
	}

	backlog := func(m map[string]metricdata.Aggregation) map[string]int64 {
		g, _ := m[jobs.MetricJobs].(metricdata.Gauge[int64])
		out := map[string]int64{}
		for _, dp := range g.DataPoints {
			st, _ := dp.Attributes.Value("state")
			out[st.AsString()] += dp.Value
		}
		return out
	}
	// The failing job had one attempt: it is discarded, and the gauge says so.
	waitFor(t, "discarded job in brisk.jobs", func() bool { return backlog(collect())["discarded"] == 1 })
	if b := backlog(collect()); b["available"] != 0 || b["running"] != 0 {
		t.Errorf("backlog %v, want nothing available or running", b)
	}

	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := collect()[jobs.MetricJobs]; ok {
		t.Error("brisk.jobs still observed after Stop")
	}
}
