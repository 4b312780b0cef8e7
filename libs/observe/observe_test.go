package observe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/brisk-go/brisk/libs/observe"
	"github.com/brisk-go/brisk/libs/observe/observetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// syncBuffer collects log output written from several goroutines.
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

// engine is a small gin app wired as the API wires observe: middleware before the routes,
// a handler that logs with the request context.
func engine(tel *observe.Telemetry, log *slog.Logger) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Use(tel.Middleware()...)
	e.GET("/items/:id", func(c *gin.Context) {
		log.InfoContext(c.Request.Context(), "serving item", "id", c.Param("id"))
		c.JSON(http.StatusOK, gin.H{"id": c.Param("id")})
	})
	e.GET("/boom", func(c *gin.Context) { c.Status(http.StatusInternalServerError) })
	return e
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func TestAdminListenerServesMetricsPerfHealthAndPprof(t *testing.T) {
	ctx := context.Background()
	tel, err := observe.New(ctx, observe.Options{
		Service: "brisk-test", Version: "v9", Instance: "i-1", AdminAddr: "127.0.0.1:0",
		SampleEvery: time.Hour, // the views compare against start-up throughout the test
		Checks: []observe.Check{
			{Name: "database", Probe: func(context.Context) error { return nil }},
			{Name: "redis", Probe: func(context.Context) error { return errors.New("connection refused") }},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if tel.Tracing() {
		t.Fatal("no OTLP endpoint configured, yet tracing is on")
	}
	if err := tel.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tel.Start(ctx); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	admin := "http://" + tel.AdminAddr()

	// The cache's counters, as libs/data/cache registers them: 3 hits, 1 miss.
	m := tel.MeterProvider().Meter("github.com/brisk-go/brisk/libs/data/cache")
	hits, _ := m.Int64Counter("brisk.cache.hits")
	misses, _ := m.Int64Counter("brisk.cache.misses")
	hits.Add(ctx, 3, metric.WithAttributes())
	misses.Add(ctx, 1)

	logs := &syncBuffer{}
	log := slog.New(observe.NewLogHandler(slog.NewJSONHandler(logs, nil)))
	api := httptest.NewServer(engine(tel, log))
	defer api.Close()
	for _, p := range []string{"/items/1", "/items/2", "/items/3", "/boom"} {
		get(t, api.URL+p)
	}
	if strings.Contains(logs.String(), "trace_id") {
		t.Fatalf("no tracing, yet a log line carries a trace id: %s", logs)
	}

	code, body := get(t, admin+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	for _, want := range []string{
		`http_server_request_duration_seconds_bucket{`,
		`http_route="/items/:id"`,
		`http_response_status_code="500"`,
		"go_goroutine_count",
		"go_memory_used_bytes",
		"go_schedule_duration_seconds_bucket",
		"go_gc_duration_seconds",
		"process_cpu_seconds_total",
		"brisk_cache_hits_total",
		`service_name="brisk-test"`, // target_info
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(string(body), `http_route="/items/1"`) {
		t.Error("/metrics labels a raw path instead of the route template")
	}

	code, body = get(t, admin+"/debug/perf")
	var perf observe.Perf
	if err := json.Unmarshal(body, &perf); code != http.StatusOK || err != nil {
		t.Fatalf("/debug/perf: %d %v %s", code, err, body)
	}
	if perf.Ops != 4 || perf.Errors != 1 || perf.ErrorRate != 0.25 || perf.OpsPerSecond <= 0 ||
		perf.P99LatencyMs <= 0 || perf.Goroutines <= 0 || perf.Memory.InUseBytes == 0 || perf.Service != "brisk-test" {
		t.Errorf("/debug/perf = %+v", perf)
	}
	if perf.CacheHitRate == nil || *perf.CacheHitRate != 0.75 {
		t.Errorf("cache hit rate = %v, want 0.75", perf.CacheHitRate)
	}

	code, body = get(t, admin+"/debug/health")
	var h observe.Health
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatalf("/debug/health: %v %s", err, body)
	}
	if code != http.StatusServiceUnavailable || h.Status != observe.StatusDegraded || len(h.Dependencies) != 2 ||
		h.Dependencies[0] != (observe.Dependency{Name: "database", Status: "up", LatencyMs: h.Dependencies[0].LatencyMs}) ||
		h.Dependencies[1].Status != "down" || h.Dependencies[1].Error != "connection refused" ||
		h.Version != "v9" || h.Instance != "i-1" || h.Goroutines <= 0 || h.ErrorRate != 0.25 {
		t.Errorf("/debug/health: %d %+v", code, h)
	}

	// One series per method, route template and status: three GETs of /items/:id are one
	// series counting 3; a method HTTP does not register is _OTHER, so clients cannot grow the
	// set of series.
	req, _ := http.NewRequest("BREW", api.URL+"/items/4", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, body = get(t, admin+"/metrics")
	var counted, other bool
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "http_server_request_duration_seconds_count{") &&
			strings.Contains(line, `http_route="/items/:id"`) && strings.Contains(line, `http_response_status_code="200"`) &&
			strings.Contains(line, `http_request_method="GET"`) {
			counted = strings.HasSuffix(line, " 3")
		}
		if strings.HasPrefix(line, "http_server_request_duration_seconds_count{") && strings.Contains(line, `http_request_method="_OTHER"`) {
			other = true
		}
		if strings.Contains(line, "BREW") {
			t.Errorf("a client's method became a label value: %s", line)
		}
	}
	if !counted || !other {
		t.Errorf("GET /items/:id 200 counted 3: %v; BREW recorded as _OTHER: %v\n%s", counted, other, body)
	}

	if code, body := get(t, admin+"/debug/pprof/"); code != http.StatusOK || !strings.Contains(string(body), "goroutine") {
		t.Errorf("/debug/pprof/: %d", code)
	}

	if err := tel.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if err := tel.Start(ctx); err == nil {
		t.Fatal("Start after Shutdown succeeded")
	}
	if resp, err := http.Get(admin + "/metrics"); err == nil {
		_ = resp.Body.Close()
		t.Fatal("admin listener still answers after Shutdown")
	}
}

func TestTracesAndMetricsGoOverOTLPWhenAnEndpointIsSet(t *testing.T) {
	ctx := context.Background()
	rcv := observetest.NewReceiver(t)
	tel, err := observe.New(ctx, observe.Options{
		Service: "brisk-test",
		Getenv:  envOf(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": rcv.URL()}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !tel.Tracing() {
		t.Fatal("endpoint set, yet tracing is off")
	}
	if err := tel.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if tel.AdminAddr() != "" {
		t.Fatal("admin listener opened without ADMIN_ADDR")
	}
	logs := &syncBuffer{}
	log := slog.New(observe.NewLogHandler(slog.NewJSONHandler(logs, nil)))
	api := httptest.NewServer(engine(tel, log))
	defer api.Close()
	req, _ := http.NewRequest(http.MethodGet, api.URL+"/items/7", nil)
	// A caller's trace context is continued, not replaced.
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := tel.Shutdown(ctx); err != nil { // flushes
		t.Fatal(err)
	}

	spans := rcv.Spans()
	i := slices.IndexFunc(spans, func(s observetest.Span) bool { return s.Attributes["http.route"] == "/items/:id" })
	if i < 0 {
		t.Fatalf("no server span with http.route=/items/:id among %+v", spans)
	}
	s := spans[i]
	if s.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" || s.ParentSpanID != "00f067aa0ba902b7" || s.Service != "brisk-test" ||
		s.Attributes["http.response.status_code"] != "200" {
		t.Fatalf("server span = %+v", s)
	}
	var line map[string]any
	for l := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(l, "serving item") {
			_ = json.Unmarshal([]byte(l), &line)
		}
	}
	if line["trace_id"] != s.TraceID || line["span_id"] != s.SpanID {
		t.Fatalf("log line %v does not carry the server span's ids %s/%s", line, s.TraceID, s.SpanID)
	}
	if names := rcv.MetricNames(); !slices.Contains(names, "http.server.request.duration") || !slices.Contains(names, "go.goroutine.count") {
		t.Fatalf("OTLP metrics = %v", names)
	}
}

func TestLogHandlerLeavesLinesWithoutSpansAlone(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(observe.NewLogHandler(slog.NewTextHandler(&buf, nil))).With("app", "x").WithGroup("g")
	log.InfoContext(context.Background(), "plain", "k", 1)
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled,
	})
	log.InfoContext(trace.ContextWithSpanContext(context.Background(), sc), "traced")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || strings.Contains(lines[0], "trace_id") || !strings.Contains(lines[0], "app=x") ||
		!strings.Contains(lines[1], "trace_id=01000000000000000000000000000000") || !strings.Contains(lines[1], "span_id=0200000000000000") {
		t.Fatalf("log lines: %q", lines)
	}
}

func TestBadOTelSettingsAreRefusedNamingTheVariable(t *testing.T) {
	t.Parallel()
	for _, env := range []map[string]string{
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"},
		{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "127.0.0.1:4318"},
		{"OTEL_RESOURCE_ATTRIBUTES": "no-equals-sign"},
	} {
		_, err := observe.New(context.Background(), observe.Options{Service: "x", Getenv: envOf(env)})
		if err == nil {
			t.Errorf("%v accepted", env)
			continue
		}
		var named bool
		for k := range env {
			named = named || strings.Contains(err.Error(), k) || strings.Contains(err.Error(), "endpoint")
		}
		if !named {
			t.Errorf("%v: error %q names no variable", env, err)
		}
	}
}

func TestExportIsOffWhenDisabledOrSetToNone(t *testing.T) {
	t.Parallel()
	for _, env := range []map[string]string{
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_SDK_DISABLED": "true"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"},
	} {
		tel, err := observe.New(context.Background(), observe.Options{Service: "x", Getenv: envOf(env)})
		if err != nil {
			t.Fatal(err)
		}
		if tel.Tracing() {
			t.Errorf("%v: tracing on", env)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := tel.Shutdown(ctx); err != nil {
			t.Errorf("%v: shutdown tried to export: %v", env, err)
		}
		cancel()
	}
}

// A taken admin address is logged, not fatal: the api and the worker share the default.
func TestBusyAdminAddressIsLoggedNotFatal(t *testing.T) {
	ctx := context.Background()
	first, err := observe.New(ctx, observe.Options{Service: "first", AdminAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer first.Shutdown(ctx)
	logs := &syncBuffer{}
	second, err := observe.New(ctx, observe.Options{
		Service: "second", AdminAddr: first.AdminAddr(), Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := second.Start(ctx); err != nil {
		t.Fatalf("Start on a busy address: %v", err)
	}
	if second.AdminAddr() != "" || !strings.Contains(logs.String(), "admin listener not started") {
		t.Fatalf("addr %q, logs %s", second.AdminAddr(), logs)
	}
	if err := second.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}
