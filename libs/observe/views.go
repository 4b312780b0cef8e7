package observe

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/pprof"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves the admin paths; Start serves it on Options.AdminAddr.
func (t *Telemetry) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{
		ErrorLog: slogPrinter{t}, ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /debug/perf", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, t.Perf())
	})
	mux.HandleFunc("GET /debug/health", func(w http.ResponseWriter, r *http.Request) {
		h := t.Health(r.Context())
		status := http.StatusOK
		if h.Status != StatusOK {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, h)
	})
	if err := t.live.register(mux); err != nil {
		t.log.Warn("live page not served", "err", err)
	}
	t.mountAdmin(mux)
	return mux
}

type slogPrinter struct{ t *Telemetry }

func (p slogPrinter) Println(v ...any) { p.t.log.Warn("metrics gather", "err", v) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// Perf is the /debug/perf view: the last minute of this process.
type Perf struct {
	Service       string  `json:"service"`
	Instance      string  `json:"instance"`
	WindowSeconds float64 `json:"window_seconds"`
	Ops           uint64  `json:"ops"`
	OpsPerSecond  float64 `json:"ops_per_second"`
	AvgLatencyMs  float64 `json:"avg_latency_ms"`
	P99LatencyMs  float64 `json:"p99_latency_ms"`
	Errors        uint64  `json:"errors"`
	ErrorRate     float64 `json:"error_rate"`
	// CacheHitRate is null when the cache was not asked anything in the window.
	CacheHitRate *float64 `json:"cache_hit_rate"`
	CPU          CPU      `json:"cpu"`
	Memory       Memory   `json:"memory"`
	Goroutines   int      `json:"goroutines"`
}

// CPU is the process's CPU use over the window.
type CPU struct {
	CoresUsed float64 `json:"cores_used"` // CPU seconds per second
	Percent   float64 `json:"percent"`    // of all the machine's cores
	Cores     int     `json:"cores"`
}

// Memory is the Go runtime's memory now.
type Memory struct {
	InUseBytes       uint64 `json:"in_use_bytes"`       // mapped by the runtime and not returned to the OS
	HeapObjectsBytes uint64 `json:"heap_objects_bytes"` // live and not-yet-swept heap objects
	HeapGoalBytes    uint64 `json:"heap_goal_bytes"`
	GCCycles         uint64 `json:"gc_cycles"`
}

// Perf computes the /debug/perf view.
func (t *Telemetry) Perf() Perf {
	now := t.now()
	ws := t.window.Stats()
	span := min(now.Sub(t.started), WindowSpan)
	if span < time.Second {
		span = time.Second
	}
	p := Perf{
		Service:       t.opts.Service,
		Instance:      t.opts.Instance,
		WindowSeconds: span.Seconds(),
		Ops:           ws.Ops,
		OpsPerSecond:  float64(ws.Ops) / span.Seconds(),
		AvgLatencyMs:  ms(ws.Avg),
		P99LatencyMs:  ms(ws.P99),
		Errors:        ws.Errors,
		ErrorRate:     ws.ErrorRate,
	}
	cur := t.takeSample(now)
	base := t.samples.baseline(now, t.startSample())
	p.CPU = cpuBetween(base, cur)
	if cur.cacheOK && base.cacheOK {
		hits, misses := cur.hits-base.hits, cur.misses-base.misses
		if hits+misses > 0 {
			r := hits / (hits + misses)
			p.CacheHitRate = &r
		}
	}
	p.Memory, p.Goroutines = readMemory()
	return p
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func cpuBetween(a, b sample) CPU {
	c := CPU{Cores: runtime.NumCPU()}
	wall := b.at.Sub(a.at)
	if !a.cpuOK || !b.cpuOK || wall <= 0 {
		return c
	}
	c.CoresUsed = float64(b.cpu-a.cpu) / float64(wall)
	c.Percent = 100 * c.CoresUsed / float64(c.Cores)
	return c
}

var memSamples = []string{
	"/memory/classes/total:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/objects:bytes",
	"/gc/heap/goal:bytes",
	"/gc/cycles/total:gc-cycles",
	"/sched/goroutines:goroutines",
}

func readMemory() (Memory, int) {
	s := make([]metrics.Sample, len(memSamples))
	for i, n := range memSamples {
		s[i].Name = n
	}
	metrics.Read(s)
	u := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	return Memory{
		InUseBytes:       u(0) - u(1),
		HeapObjectsBytes: u(2),
		HeapGoalBytes:    u(3),
		GCCycles:         u(4),
	}, int(u(5))
}

// sample is what the sampler keeps so the views can compare against a minute ago.
type sample struct {
	at           time.Time
	cpu          time.Duration
	cpuOK        bool
	hits, misses float64
	cacheOK      bool
}

// startSample stands in for a sample at start-up (all counters zero) until the sampler has
// one a window old.
func (t *Telemetry) startSample() sample {
	return sample{at: t.started, cpuOK: true, cacheOK: true}
}

func (t *Telemetry) takeSample(now time.Time) sample {
	s := sample{at: now}
	s.cpu, s.cpuOK = processCPU()
	s.hits, s.misses, s.cacheOK = t.cacheCounts()
	return s
}

// cacheCounts sums the cache counters across their label sets; false when the registry fails.
// A process without a cache reports zero lookups, which the views show as null.
func (t *Telemetry) cacheCounts() (hits, misses float64, ok bool) {
	mfs, err := t.registry.Gather()
	if err != nil && len(mfs) == 0 {
		return 0, 0, false
	}
	for _, mf := range mfs {
		var dst *float64
		switch mf.GetName() {
		case t.opts.CacheHits:
			dst = &hits
		case t.opts.CacheMisses:
			dst = &misses
		default:
			continue
		}
		for _, m := range mf.GetMetric() {
			*dst += m.GetCounter().GetValue()
		}
	}
	return hits, misses, true
}

func (t *Telemetry) sampleLoop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(t.opts.SampleEvery)
	defer tick.Stop()
	// No sample at once: until one is a tick old the views compare against start-up, when
	// every counter was zero.
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t.samples.add(t.takeSample(t.now()))
		}
	}
}

// sampleRing keeps a little over a window's worth of samples.
type sampleRing struct {
	mu   sync.Mutex
	buf  []sample
	next int
}

func newSampleRing(every time.Duration) *sampleRing {
	n := int(WindowSpan/every) + 2
	return &sampleRing{buf: make([]sample, 0, max(n, 3))}
}

func (r *sampleRing) add(s sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) < cap(r.buf) {
		r.buf = append(r.buf, s)
		return
	}
	r.buf[r.next] = s
	r.next = (r.next + 1) % len(r.buf)
}

// baseline is the oldest sample at most a window old, or def when there is none.
func (r *sampleRing) baseline(now time.Time, def sample) sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	best, found := def, false
	for _, s := range r.buf {
		if now.Sub(s.at) > WindowSpan || s.at.After(now) {
			continue
		}
		if !found || s.at.Before(best.at) {
			best, found = s, true
		}
	}
	return best
}

// Health status values.
const (
	StatusOK       = "ok"
	StatusDegraded = "degraded" // a dependency is down
	StatusUp       = "up"
	StatusDown     = "down"
)

// Health is the /debug/health report.
type Health struct {
	Status        string       `json:"status"`
	Service       string       `json:"service"`
	Version       string       `json:"version,omitempty"`
	Instance      string       `json:"instance"`
	UptimeSeconds float64      `json:"uptime_seconds"`
	CPU           CPU          `json:"cpu"`
	Memory        Memory       `json:"memory"`
	Goroutines    int          `json:"goroutines"`
	ErrorRate     float64      `json:"error_rate"` // of the operations in the last minute
	Dependencies  []Dependency `json:"dependencies"`
}

// Dependency is one probed dependency.
type Dependency struct {
	Name      string  `json:"name"`
	Status    string  `json:"status"` // up or down
	LatencyMs float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
}

// probeTimeout bounds each dependency probe so one hung dependency cannot hang the report.
const probeTimeout = 2 * time.Second

// Health probes every dependency concurrently and reports the process's state.
func (t *Telemetry) Health(ctx context.Context) Health {
	now := t.now()
	t.mu.Lock()
	checks := slices.Clone(t.opts.Checks)
	t.mu.Unlock()
	h := Health{
		Status:        StatusOK,
		Service:       t.opts.Service,
		Version:       t.opts.Version,
		Instance:      t.opts.Instance,
		UptimeSeconds: now.Sub(t.started).Seconds(),
		ErrorRate:     t.window.Stats().ErrorRate,
		Dependencies:  make([]Dependency, len(checks)),
	}
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, probeTimeout)
			defer cancel()
			start := t.now()
			err := c.Probe(pctx)
			d := Dependency{Name: c.Name, Status: StatusUp, LatencyMs: ms(t.now().Sub(start))}
			if err != nil {
				d.Status, d.Error = StatusDown, err.Error()
			}
			h.Dependencies[i] = d
		})
	}
	wg.Wait()
	for _, d := range h.Dependencies {
		if d.Status != StatusUp {
			h.Status = StatusDegraded
		}
	}
	h.CPU = cpuBetween(t.samples.baseline(now, t.startSample()), t.takeSample(now))
	h.Memory, h.Goroutines = readMemory()
	return h
}
