package observe

import (
	"slices"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
)

// Middleware returns the gin handlers to install before the routes: otelgin's server span
// (named after the route template) when traces are exported, the http.server.request.duration
// histogram labelled with the method, route template and status code, and the recorder behind
// /debug/perf, which counts 5xx answers as errors. Requests to skipPaths (health probes) are
// neither traced, measured nor counted: a prober every few seconds would otherwise fill the
// traces and flatten the latency figures.
//
// The histogram is recorded here rather than by otelgin: otelgin builds a dozen semantic-
// convention attributes per request and records three instruments, about a sixth of the CPU
// of a cached read; here each (method, route, status) has one attribute set, built once.
func (t *Telemetry) Middleware(skipPaths ...string) []gin.HandlerFunc {
	skip := func(c *gin.Context) bool { return slices.Contains(skipPaths, c.Request.URL.Path) }
	var handlers []gin.HandlerFunc
	if t.tracing {
		handlers = append(handlers, otelgin.Middleware(t.opts.Service,
			otelgin.WithTracerProvider(t.tracer),
			// Metrics are ours (below); otelgin would record them a second time.
			otelgin.WithMeterProvider(metricnoop.NewMeterProvider()),
			otelgin.WithGinFilter(func(c *gin.Context) bool { return !skip(c) }),
		))
	}
	rec := newRequestMetrics(t.mp.Meter(meterName))
	return append(handlers, func(c *gin.Context) {
		if skip(c) {
			c.Next()
			return
		}
		start := t.now()
		c.Next()
		d := t.now().Sub(start)
		status := c.Writer.Status()
		rec.record(c, d, status)
		t.window.Observe(d, status >= 500)
	})
}

// meterName is the instrumentation scope of the HTTP server metrics.
const meterName = "github.com/brisk-go/brisk/libs/observe"

// durationBuckets are the semantic conventions' advised boundaries for
// http.server.request.duration, in seconds (the ones otelgin used).
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// requestMetrics records http.server.request.duration with one cached attribute set per
// method, route template and status code. The set of keys is bounded: methods and routes are
// those of the router (unmatched paths have the empty route) and status codes are a few dozen.
type requestMetrics struct {
	duration metric.Float64Histogram
	sets     sync.Map // requestKey → metric.MeasurementOption
}

type requestKey struct {
	method, route string
	status        int
}

func newRequestMetrics(m metric.Meter) *requestMetrics {
	h, err := m.Float64Histogram("http.server.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP server requests."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		// Only an invalid name or boundaries fail, both fixed above; keep serving without.
		h, _ = metricnoop.NewMeterProvider().Meter(meterName).Float64Histogram("http.server.request.duration")
	}
	return &requestMetrics{duration: h}
}

func (r *requestMetrics) record(c *gin.Context, d time.Duration, status int) {
	k := requestKey{method: c.Request.Method, route: c.FullPath(), status: status}
	if !knownMethod(k.method) {
		k.method = "_OTHER" // the semantic conventions' name for any other method
	}
	opt, ok := r.sets.Load(k)
	if !ok {
		attrs := []attribute.KeyValue{
			attribute.String("http.request.method", k.method),
			attribute.Int("http.response.status_code", status),
		}
		if k.route != "" {
			attrs = append(attrs, attribute.String("http.route", k.route))
		}
		opt, _ = r.sets.LoadOrStore(k, metric.WithAttributeSet(attribute.NewSet(attrs...)))
	}
	r.duration.Record(c.Request.Context(), d.Seconds(), opt.(metric.MeasurementOption))
}

// knownMethod reports whether m is one of HTTP's registered methods: anything else a client
// sends is recorded as _OTHER, so a client cannot grow the set of series.
func knownMethod(m string) bool {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE":
		return true
	}
	return false
}
