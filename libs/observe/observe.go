package observe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/contrib/instrumentation/runtime"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Check probes one dependency for the health report: nil means it is up.
type Check struct {
	Name  string
	Probe func(ctx context.Context) error
}

// Options configures New.
type Options struct {
	Service  string // service.name, e.g. "brisk-api"
	Version  string // service.version
	Instance string // service.instance.id; default host name and process id
	// AdminAddr is where Start listens for /metrics, /debug/pprof, /debug/perf,
	// /debug/health and the live page (LivePagePath); empty turns the listener off (metrics are still pushed over OTLP when an
	// endpoint is set).
	AdminAddr string
	// Getenv reads the OTEL_* variables that decide what is exported; nil reads nothing (no
	// export). The apps pass the getenv they were started with.
	Getenv func(string) string
	Logger *slog.Logger
	Now    func() time.Time // the clock; time.Now when nil
	// Checks are the dependencies the health report probes, in the order shown.
	Checks []Check
	// SampleEvery is how often the /debug/perf sampler reads CPU time and the cache counters
	// (default 5s); the views compare against the sample about a minute old.
	SampleEvery time.Duration
	// CacheHits and CacheMisses are the Prometheus names of the counters behind the cache hit
	// rate (default brisk_cache_hits_total and brisk_cache_misses_total, from libs/data/cache).
	CacheHits, CacheMisses string
	// LivePlots are Brisk's plots on the live page (LivePagePath), beside statsviz's runtime
	// ones; nil means DefaultLivePlots.
	LivePlots []LivePlot
}

// Telemetry is the process's OpenTelemetry set-up and its admin listener.
type Telemetry struct {
	opts     Options
	admin    adminRoutes // added by the app (AddAdminHandler)
	log      *slog.Logger
	now      func() time.Time
	started  time.Time
	tracing  bool
	tp       *sdktrace.TracerProvider // nil unless exporting traces
	tracer   trace.TracerProvider
	mp       *sdkmetric.MeterProvider
	registry *prometheus.Registry
	window   *Window
	samples  *sampleRing
	live     *livePage

	mu         sync.Mutex
	running    bool
	shut       bool
	srv        *http.Server
	ln         net.Listener
	serveDone  chan struct{}
	stopSample context.CancelFunc
	sampleDone chan struct{}

	shutdownOnce sync.Once
	shutdownErr  error
}

// New builds the providers described in the package comment and installs them as the OTel
// globals. Nothing is started: Start opens the admin listener.
func New(ctx context.Context, o Options) (_ *Telemetry, err error) {
	if o.Service == "" {
		return nil, errors.New("observe: Options.Service is empty")
	}
	getenv := o.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if v := getenv("OTEL_SERVICE_NAME"); v != "" {
		o.Service = v
	}
	if o.Instance == "" {
		host, _ := os.Hostname()
		o.Instance = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SampleEvery <= 0 {
		o.SampleEvery = 5 * time.Second
	}
	if o.CacheHits == "" {
		o.CacheHits = "brisk_cache_hits_total"
	}
	if o.CacheMisses == "" {
		o.CacheMisses = "brisk_cache_misses_total"
	}
	t := &Telemetry{
		opts: o, log: o.Logger, now: o.Now, started: o.Now(),
		window:  NewWindow(o.Now),
		samples: newSampleRing(o.SampleEvery),
		tracer:  noop.NewTracerProvider(),
	}
	defer func() {
		if err != nil {
			_ = t.shutdownProviders(context.WithoutCancel(ctx))
		}
	}()

	res, err := buildResource(o, getenv)
	if err != nil {
		return nil, err
	}
	exp, err := exportTargets(getenv)
	if err != nil {
		return nil, err
	}

	if exp.traces != "" {
		se, err := newSpanExporter(ctx, exp)
		if err != nil {
			return nil, err
		}
		t.tp = sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(se))
		t.tracer = t.tp
		t.tracing = true
		otel.SetTracerProvider(t.tp)
	}

	// A registry of our own rather than the Prometheus default: /metrics shows exactly what
	// this process registered, and tests can build several Telemetry values side by side.
	t.registry = prometheus.NewRegistry()
	// OTel's runtime set has memory, goroutines and scheduler latency but no GC cycles or
	// pauses and nothing about the process; these two collectors fill that in.
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(
			collectors.WithGoCollectorMemStatsMetricsDisabled(),
			collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsGC),
		),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := t.registry.Register(c); err != nil {
			return nil, fmt.Errorf("observe: register collector: %w", err)
		}
	}
	if o.LivePlots == nil {
		o.LivePlots = DefaultLivePlots()
	}
	if t.live, err = newLivePage(t, o.LivePlots); err != nil {
		return nil, err
	}
	promExp, err := otelprom.New(
		otelprom.WithRegisterer(t.registry),
		otelprom.WithProducer(runtime.NewProducer()),
	)
	if err != nil {
		return nil, fmt.Errorf("observe: prometheus exporter: %w", err)
	}
	readers := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(promExp)}
	if exp.metrics != "" {
		me, err := newMetricExporter(ctx, exp)
		if err != nil {
			return nil, err
		}
		readers = append(readers, sdkmetric.WithReader(
			sdkmetric.NewPeriodicReader(me, sdkmetric.WithProducer(runtime.NewProducer()))))
	}
	t.mp = sdkmetric.NewMeterProvider(readers...)
	if err := runtime.Start(runtime.WithMeterProvider(t.mp)); err != nil {
		return nil, fmt.Errorf("observe: runtime metrics: %w", err)
	}
	otel.SetMeterProvider(t.mp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		t.log.Warn("opentelemetry", "err", err)
	}))

	t.log.Info("telemetry ready", "service", o.Service, "instance", o.Instance,
		"traces", orNone(exp.traces), "otlp_metrics", orNone(exp.metrics), "admin", orNone(o.AdminAddr))
	return t, nil
}

func orNone(s string) string {
	if s == "" {
		return "off"
	}
	return s
}

// MeterProvider is the provider behind /metrics (and OTLP): hand it to perfcore's pools,
// the cache and the queue.
func (t *Telemetry) MeterProvider() metric.MeterProvider { return t.mp }

// TracerProvider is the SDK provider when traces are exported, otherwise a no-op one.
func (t *Telemetry) TracerProvider() trace.TracerProvider { return t.tracer }

// Tracing reports whether spans are recorded and exported.
func (t *Telemetry) Tracing() bool { return t.tracing }

// Gatherer exposes the registry behind /metrics (tests and in-process views read it).
func (t *Telemetry) Gatherer() prometheus.Gatherer { return t.registry }

// ObserveOp records one finished operation for /debug/perf: the API's middleware records
// every request; the worker may record its jobs.
func (t *Telemetry) ObserveOp(d time.Duration, failed bool) { t.window.Observe(d, failed) }

// AddCheck adds a dependency to the health report; the apps add the database once it is open
// (New runs before it, so that the database's query hook finds the providers).
func (t *Telemetry) AddCheck(c Check) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.opts.Checks = append(t.opts.Checks, c)
}

// Start opens the admin listener (when Options.AdminAddr is set) and the /debug/perf sampler.
// It returns once the listener is bound; calling it again does nothing. An address that
// cannot be bound is logged as an error, not returned: see listen's caller.
func (t *Telemetry) Start(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.shut {
		return errors.New("observe: start after shutdown")
	}
	if t.running {
		return nil
	}
	if t.opts.AdminAddr != "" {
		if err := t.listen(ctx); err != nil {
			// The admin listener is a side channel: the process still does its work without
			// it. Both apps share the default address, so an api and a worker (or two workers)
			// on one host would otherwise refuse to start; the error line says what is missing.
			t.log.Error("admin listener not started: this process serves no /metrics, /debug/perf or /debug/health; set ADMIN_ADDR to a free address",
				"addr", t.opts.AdminAddr, "err", err)
		}
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	t.stopSample = cancel
	t.sampleDone = make(chan struct{})
	go t.sampleLoop(sctx, t.sampleDone)
	t.running = true
	return nil
}

func (t *Telemetry) listen(ctx context.Context) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", t.opts.AdminAddr)
	if err != nil {
		return fmt.Errorf("observe: listen on ADMIN_ADDR %s: %w", t.opts.AdminAddr, err)
	}
	t.ln = ln
	t.srv = &http.Server{
		Handler:           t.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(t.log.Handler(), slog.LevelWarn),
	}
	t.serveDone = make(chan struct{})
	go func() {
		defer close(t.serveDone)
		if err := t.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.log.Error("admin listener stopped", "err", err)
		}
	}()
	t.log.Info("admin listening", "addr", ln.Addr().String(),
		"paths", "/metrics /debug/pprof/ /debug/perf /debug/health "+LivePagePath,
		"live_page", "http://"+ln.Addr().String()+LivePagePath)
	return nil
}

// AdminAddr is the address the admin listener is bound to ("" when it is off or not started).
func (t *Telemetry) AdminAddr() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ln == nil {
		return ""
	}
	return t.ln.Addr().String()
}

// Stop is Shutdown, for the Start/Stop convention.
func (t *Telemetry) Stop(ctx context.Context) error { return t.Shutdown(ctx) }

// Shutdown closes the admin listener, stops the sampler, then flushes and closes the
// exporters. The second and later calls return the first call's result.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	t.shutdownOnce.Do(func() {
		t.mu.Lock()
		t.shut = true
		srv, serveDone, cancel, sampleDone := t.srv, t.serveDone, t.stopSample, t.sampleDone
		t.mu.Unlock()
		var errs []error
		if srv != nil {
			if err := srv.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("observe: stop admin listener: %w", err), srv.Close())
			}
			<-serveDone
		}
		if err := t.live.close(); err != nil {
			errs = append(errs, err)
		}
		if cancel != nil {
			cancel()
			<-sampleDone
		}
		errs = append(errs, t.shutdownProviders(ctx))
		t.shutdownErr = errors.Join(errs...)
	})
	return t.shutdownErr
}

func (t *Telemetry) shutdownProviders(ctx context.Context) error {
	var errs []error
	if t.tp != nil {
		if err := t.tp.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("observe: flush traces: %w", err))
		}
	}
	if t.mp != nil {
		if err := t.mp.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("observe: flush metrics: %w", err))
		}
	}
	return errors.Join(errs...)
}

// buildResource names this process. OTEL_RESOURCE_ATTRIBUTES adds to (and may override) what
// the app says, as the specification asks.
func buildResource(o Options, getenv func(string) string) (*resource.Resource, error) {
	attrs := []attribute.KeyValue{
		attribute.String("service.name", o.Service),
		attribute.String("service.instance.id", o.Instance),
	}
	if o.Version != "" {
		attrs = append(attrs, attribute.String("service.version", o.Version))
	}
	if raw := getenv("OTEL_RESOURCE_ATTRIBUTES"); raw != "" {
		for _, kv := range strings.Split(raw, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok || strings.TrimSpace(k) == "" {
				return nil, fmt.Errorf("observe: OTEL_RESOURCE_ATTRIBUTES=%q: want key=value pairs separated by commas", raw)
			}
			if dv, err := url.PathUnescape(v); err == nil {
				v = dv
			}
			if k = strings.TrimSpace(k); k == "service.name" && getenv("OTEL_SERVICE_NAME") != "" {
				continue // OTEL_SERVICE_NAME wins
			}
			attrs = append(attrs, attribute.String(k, strings.TrimSpace(v)))
		}
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attrs...))
	if err != nil {
		return nil, fmt.Errorf("observe: resource: %w", err)
	}
	return res, nil
}

// exports says where OTLP data goes: full URLs (HTTP) or URLs whose host:port is used (gRPC).
type exports struct {
	traces, metrics string
	grpc            bool
}

func exportTargets(getenv func(string) string) (exports, error) {
	var e exports
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return e, nil
	}
	switch p := getenv("OTEL_EXPORTER_OTLP_PROTOCOL"); p {
	case "", "http/protobuf":
	case "grpc":
		e.grpc = true
	default:
		return e, fmt.Errorf("observe: OTEL_EXPORTER_OTLP_PROTOCOL=%q is not supported; allowed: http/protobuf or grpc", p)
	}
	base := strings.TrimRight(getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), "/")
	pick := func(signal, path string) (string, error) {
		if strings.EqualFold(getenv("OTEL_"+signal+"_EXPORTER"), "none") {
			return "", nil
		}
		u := getenv("OTEL_EXPORTER_OTLP_" + signal + "_ENDPOINT")
		if u == "" && base != "" {
			// The generic endpoint is a base: HTTP appends the signal's path, gRPC ignores it.
			u = base
			if !e.grpc {
				u += path
			}
		}
		if u == "" {
			return "", nil
		}
		if pu, err := url.Parse(u); err != nil || pu.Host == "" || (pu.Scheme != "http" && pu.Scheme != "https") {
			return "", fmt.Errorf("observe: OTLP %s endpoint %q: want http(s)://host:port[/path]", strings.ToLower(signal), u)
		}
		return u, nil
	}
	var err error
	if e.traces, err = pick("TRACES", "/v1/traces"); err != nil {
		return e, err
	}
	if e.metrics, err = pick("METRICS", "/v1/metrics"); err != nil {
		return e, err
	}
	return e, nil
}

func newSpanExporter(ctx context.Context, e exports) (sdktrace.SpanExporter, error) {
	var (
		se  sdktrace.SpanExporter
		err error
	)
	if e.grpc {
		se, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(e.traces))
	} else {
		se, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(e.traces))
	}
	if err != nil {
		return nil, fmt.Errorf("observe: OTLP trace exporter: %w", err)
	}
	return se, nil
}

func newMetricExporter(ctx context.Context, e exports) (sdkmetric.Exporter, error) {
	var (
		me  sdkmetric.Exporter
		err error
	)
	if e.grpc {
		me, err = otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpointURL(e.metrics))
	} else {
		me, err = otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(e.metrics))
	}
	if err != nil {
		return nil, fmt.Errorf("observe: OTLP metric exporter: %w", err)
	}
	return me, nil
}
