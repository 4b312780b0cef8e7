// Package observe sets up OpenTelemetry once for both Brisk apps and serves what people and
// Prometheus read from a running process.
//
// New builds the SDK from Options:
//
//   - a resource naming the service, its version and this instance (OTEL_SERVICE_NAME and
//     OTEL_RESOURCE_ATTRIBUTES override it, as the specification says);
//   - traces, exported over OTLP only when OTEL_EXPORTER_OTLP_ENDPOINT (or
//     OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set. Without an endpoint the global tracer
//     provider stays OpenTelemetry's no-op one: spans cost an interface call, nothing is
//     recorded, nothing leaves the process. OTEL_EXPORTER_OTLP_PROTOCOL picks http/protobuf
//     (the default) or grpc; the exporters read the other OTEL_EXPORTER_OTLP_* variables
//     (headers, timeout, compression) and the SDK reads OTEL_TRACES_SAMPLER and OTEL_BSP_*
//     from the process environment themselves;
//   - metrics, always pulled in Prometheus format from /metrics on the admin listener, and also
//     pushed over OTLP when an endpoint is set (OTEL_EXPORTER_OTLP_METRICS_ENDPOINT too);
//   - Go runtime metrics: go.memory.*, go.goroutine.count, go.schedule.duration (OTel's
//     runtime instrumentation), the GC cycles and pauses and the process's CPU and memory
//     (the Prometheus client's Go and process collectors, which OTel's set does not cover).
//
// New sets the OTel globals (meter provider, propagators, and the tracer provider when
// exporting), so libraries that use them — bunotel in libs/data, perfcore's pool and pipeline
// when given no provider — report here without being passed anything. Call New once per
// process, before opening the database.
//
// Start opens the admin listener (Options.AdminAddr; empty turns it off):
//
//	/metrics        Prometheus text format
//	/debug/pprof/   net/http/pprof
//	/debug/perf     the last minute at a glance (JSON): requests per second, average and p99
//	                latency, error rate, memory, goroutines, CPU, cache hit rate
//	/debug/health   a detailed health report (JSON): status, CPU, memory, goroutines, error
//	                rate and each dependency's state and probe latency; 503 when one is down
//	/debug/statsviz/ the live page (github.com/arl/statsviz): the Go runtime's plots and
//	                Brisk's (LivePlot, DefaultLivePlots), computed from this registry with the
//	                dashboards' arithmetic; brisk.json beside it lists the plots whose series
//	                the process does not export
//
// The API's cheap /healthz and /readyz probes stay on the API listener; these views are for
// people and dashboards, not for load balancers.
//
// Middleware gives the gin handlers for the API: otelgin's server span and RED metrics
// (http.server.request.duration by http.route, the route template, never the raw path), plus
// the recorder behind /debug/perf. NewLogHandler adds trace_id and span_id to every slog line
// logged with a context that carries a span.
//
// Shutdown stops the listener and the sampler, then flushes and closes the exporters. Start,
// Shutdown and Stop are safe to call twice.
package observe
