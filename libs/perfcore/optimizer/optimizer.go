package optimizer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/brisk-go/brisk/libs/perfcore/presets"
)

// Pool is what the optimizer needs from a goroutine pool; *pool.Pool
// satisfies it.
type Pool interface {
	Name() string
	Workers() int
	Bounds() (lo, hi int)
	Waiting() int // tasks queued, not yet started
	Resize(n int) // standing worker target; the pool clamps it to its bounds
}

// Policy holds the thresholds behind the optimizer's judgements. The zero
// value of each field means its default.
type Policy struct {
	// LevelThresholds are the loads (0..1) at which Moderate, Aggressive and
	// Maximum begin. Default 0.5, 0.75, 0.9.
	LevelThresholds [3]float64
	// Hysteresis is how far below a level's threshold the load must fall
	// before the level drops. Default 0.1.
	Hysteresis float64
	// Confirm is how many consecutive samples must agree before the level
	// changes or an idle pool shrinks. Default 2.
	Confirm int
	// CPUBusy is the CPU share from which adding workers would only add
	// contention, so pools do not grow. Default 0.8.
	CPUBusy float64
	// CPUIdle is the CPU share below which a pool with nothing waiting
	// counts as idle. Default 0.2.
	CPUIdle float64
	// SchedLatencyHigh is the p99 scheduler latency that counts as full
	// load. Default 5ms.
	SchedLatencyHigh time.Duration
	// GCCPUHigh is the GC CPU share that counts as full load. Default 0.25.
	GCCPUHigh float64
	// HeapHigh and HeapLow are heap/limit ratios: above HeapHigh the soft
	// memory limit is set, below HeapLow the previous one is restored.
	// Default 0.8 and 0.5.
	HeapHigh, HeapLow float64
	// SoftLimitFraction of Config.MemoryLimit is the soft limit set under
	// heap pressure. Default 0.9.
	SoftLimitFraction float64
}

func (p Policy) withDefaults() Policy {
	if p.LevelThresholds == [3]float64{} {
		p.LevelThresholds = [3]float64{0.5, 0.75, 0.9}
	}
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&p.Hysteresis, 0.1)
	def(&p.CPUBusy, 0.8)
	def(&p.CPUIdle, 0.2)
	def(&p.GCCPUHigh, 0.25)
	def(&p.HeapHigh, 0.8)
	def(&p.HeapLow, 0.5)
	def(&p.SoftLimitFraction, 0.9)
	if p.Confirm == 0 {
		p.Confirm = 2
	}
	if p.SchedLatencyHigh == 0 {
		p.SchedLatencyHigh = 5 * time.Millisecond
	}
	return p
}

// Config wires the optimizer. SamplingInterval, OptimizationInterval and
// MaxOptimizations are PROFILE_SAMPLING_INTERVAL,
// PROFILE_OPTIMIZATION_INTERVAL and PROFILE_MAX_OPTIMIZATIONS.
type Config struct {
	SamplingInterval     time.Duration
	OptimizationInterval time.Duration
	MaxOptimizations     int
	// MemoryLimit is the memory the process may use, in bytes, when the
	// operator knows it (a container limit); 0 means use the runtime's
	// GOMEMLIMIT for heap pressure, and never set a limit.
	MemoryLimit int64
	Policy      Policy

	Sampler Sampler      // default: a RuntimeSampler
	Clock   Clock        // default: SystemClock
	Logger  *slog.Logger // default: discard
	Meter   metric.Meter // default: no metrics
	// SetMemoryLimit replaces debug.SetMemoryLimit, for tests.
	SetMemoryLimit func(int64) int64
}

// ConfigFrom fills the timing fields from a profile's settings.
func ConfigFrom(s presets.Settings) Config {
	return Config{
		SamplingInterval:     s.ProfileSamplingInterval,
		OptimizationInterval: s.ProfileOptimizationInterval,
		MaxOptimizations:     s.ProfileMaxOptimizations,
	}
}

// ActionKind names what the optimizer did; it is the kind attribute of
// perfcore.optimizer.actions.
type ActionKind string

// Action kinds.
const (
	ActionLevelChange        ActionKind = "level_change"
	ActionPoolGrow           ActionKind = "pool_grow"
	ActionPoolShrink         ActionKind = "pool_shrink"
	ActionMemoryLimitSet     ActionKind = "memory_limit_set"
	ActionMemoryLimitRestore ActionKind = "memory_limit_restore"
	// ActionThrottled counts actions wanted but not taken because the
	// interval's PROFILE_MAX_OPTIMIZATIONS were used up.
	ActionThrottled ActionKind = "throttled"
)

// Action is one change the optimizer made (or, in Decision.Deferred, wanted
// to make).
type Action struct {
	Kind     ActionKind
	Pool     string // for pool actions
	From, To int64  // workers, bytes, or level
	Why      string
}

// Decision is the outcome of one sampling round.
type Decision struct {
	At     time.Time
	Sample Sample
	// Load is the highest of the normalised inputs (0..1) and Reason names it:
	// cpu, sched_latency, gc_cpu or heap.
	Load   float64
	Reason string
	Level  Level
	// Actions were taken; Deferred were wanted but over the interval's
	// budget. A level change is an action but never uses the budget.
	Actions  []Action
	Deferred []Action
}

// Optimizer samples the process, judges its load level and tunes registered
// pools and the soft memory limit. Create it with New.
type Optimizer struct {
	cfg    Config
	policy Policy
	log    *slog.Logger
	clock  Clock

	level atomic.Int32

	mu          sync.Mutex // guards everything below, and serialises Tick
	pools       []*poolState
	extra       []input
	subs        map[int]func(from, to Level)
	nextSub     int
	pending     Level // level the recent samples point to
	pendingN    int
	windowStart time.Time
	used        int
	limitSet    bool
	prevLimit   int64

	runMu   sync.Mutex
	started bool
	stopped bool
	cancel  context.CancelFunc
	done    chan struct{}

	mLevel      metric.Int64Gauge
	mLoad       metric.Float64Gauge
	mTarget     metric.Int64Gauge
	mActions    metric.Int64Counter
	mLimit      metric.Int64Gauge
	mKnownLimit metric.Int64Gauge
	mErrors     metric.Int64Counter
}

type poolState struct {
	p         Pool
	idleCount int
	attrs     metric.MeasurementOption
}

// New validates cfg and returns a stopped optimizer.
func New(cfg Config) (*Optimizer, error) {
	if cfg.SamplingInterval <= 0 || cfg.OptimizationInterval <= 0 {
		return nil, fmt.Errorf("optimizer: new: sampling interval %v and optimization interval %v must be positive",
			cfg.SamplingInterval, cfg.OptimizationInterval)
	}
	if cfg.MaxOptimizations < 0 {
		return nil, fmt.Errorf("optimizer: new: max optimizations %d must not be negative", cfg.MaxOptimizations)
	}
	if cfg.MemoryLimit < 0 {
		return nil, fmt.Errorf("optimizer: new: memory limit %d must not be negative", cfg.MemoryLimit)
	}
	o := &Optimizer{cfg: cfg, policy: cfg.Policy.withDefaults(), log: cfg.Logger, clock: cfg.Clock,
		subs: map[int]func(from, to Level){}}
	if o.clock == nil {
		o.clock = SystemClock{}
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if o.cfg.SetMemoryLimit == nil {
		o.cfg.SetMemoryLimit = debug.SetMemoryLimit
	}
	if o.cfg.Sampler == nil {
		s, err := NewRuntimeSampler(o.clock)
		if err != nil {
			return nil, fmt.Errorf("optimizer: new: %w", err)
		}
		o.cfg.Sampler = s
	}
	meter := cfg.Meter
	if meter == nil {
		meter = noop.NewMeterProvider().Meter("")
	}
	var errs []error
	var err error
	o.mLevel, err = meter.Int64Gauge("perfcore.optimizer.level",
		metric.WithDescription("Load level: 0 conservative, 1 moderate, 2 aggressive, 3 maximum."))
	errs = append(errs, err)
	o.mLoad, err = meter.Float64Gauge("perfcore.optimizer.load",
		metric.WithDescription("Normalised load inputs (0..1) as last sampled, by input."), metric.WithUnit("1"))
	errs = append(errs, err)
	o.mTarget, err = meter.Int64Gauge("perfcore.optimizer.pool.target",
		metric.WithDescription("Worker target last set on a pool, by pool."), metric.WithUnit("{worker}"))
	errs = append(errs, err)
	o.mActions, err = meter.Int64Counter("perfcore.optimizer.actions",
		metric.WithDescription("Optimizer actions, by kind."), metric.WithUnit("{action}"))
	errs = append(errs, err)
	o.mLimit, err = meter.Int64Gauge("perfcore.optimizer.memory.limit",
		metric.WithDescription("Soft memory limit the optimizer last set; 0 when it has restored the previous one."), metric.WithUnit("By"))
	errs = append(errs, err)
	o.mKnownLimit, err = meter.Int64Gauge("perfcore.optimizer.memory.known_limit",
		metric.WithDescription("Memory the process may use as the optimizer was told (Config.MemoryLimit); 0 when unknown."), metric.WithUnit("By"))
	errs = append(errs, err)
	o.mErrors, err = meter.Int64Counter("perfcore.optimizer.sample.errors",
		metric.WithDescription("Failed samples."), metric.WithUnit("{error}"))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("optimizer: new: create instruments: %w", err)
	}
	return o, nil
}

type input struct {
	name string
	fn   func() float64
}

// AddInput adds a load signal, 0..1, read at every sample beside CPU, scheduler latency, GC
// and heap: what the process's work experiences (for example the share of its serving
// capacity in flight), which the CPU share alone misses when other processes share the
// machine. The highest input decides the level.
func (o *Optimizer) AddInput(name string, fn func() float64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.extra = append(o.extra, input{name: name, fn: fn})
}

// Register adds a pool for the optimizer to resize. Names must be unique.
func (o *Optimizer) Register(p Pool) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, ps := range o.pools {
		if ps.p.Name() == p.Name() {
			return fmt.Errorf("optimizer: register pool %q: already registered", p.Name())
		}
	}
	o.pools = append(o.pools, &poolState{p: p, attrs: metric.WithAttributes(attribute.String("pool", p.Name()))})
	return nil
}

// Level returns the current level; safe from any goroutine.
func (o *Optimizer) Level() Level { return Level(o.level.Load()) }

// Subscribe calls fn, on the optimizer's goroutine, every time the level
// changes. fn must return quickly and must not call Tick. The returned
// function unsubscribes.
func (o *Optimizer) Subscribe(fn func(from, to Level)) (unsubscribe func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	id := o.nextSub
	o.nextSub++
	o.subs[id] = fn
	return func() {
		o.mu.Lock()
		delete(o.subs, id)
		o.mu.Unlock()
	}
}

// Start runs Tick every SamplingInterval until Stop or until ctx ends. A
// second Start is a no-op; Start after Stop is an error.
func (o *Optimizer) Start(ctx context.Context) error {
	o.runMu.Lock()
	defer o.runMu.Unlock()
	if o.stopped {
		return errors.New("optimizer: start: already stopped")
	}
	if o.started {
		return nil
	}
	o.started = true
	ctx, o.cancel = context.WithCancel(ctx)
	o.done = make(chan struct{})
	t := o.clock.NewTicker(o.cfg.SamplingInterval)
	o.log.LogAttrs(ctx, slog.LevelInfo, "optimizer started",
		slog.Duration("sampling", o.cfg.SamplingInterval), slog.Duration("interval", o.cfg.OptimizationInterval),
		slog.Int("max_optimizations", o.cfg.MaxOptimizations), slog.Int64("memory_limit", o.cfg.MemoryLimit))
	o.mKnownLimit.Record(ctx, o.cfg.MemoryLimit)
	go func() {
		defer close(o.done)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C():
				o.Tick(ctx)
			}
		}
	}()
	return nil
}

// Stop ends the sampling loop, waits for it until ctx ends, and puts back
// the memory limit the optimizer changed. Safe to call twice, and before
// Start.
func (o *Optimizer) Stop(ctx context.Context) error {
	o.runMu.Lock()
	o.stopped = true
	cancel, done := o.cancel, o.done
	o.runMu.Unlock()
	if cancel != nil {
		cancel()
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("optimizer: stop: waiting for the loop: %w", ctx.Err())
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.limitSet {
		o.cfg.SetMemoryLimit(o.prevLimit)
		o.limitSet = false
		o.mLimit.Record(ctx, 0)
		o.log.LogAttrs(ctx, slog.LevelInfo, "optimizer restored memory limit on stop", slog.Int64("limit", o.prevLimit))
	}
	return nil
}

// Tick samples once, judges the level and acts within the interval's budget.
// Start calls it on every sampling tick; it is exported for callers that
// schedule it themselves and for tests that replay recorded samples.
func (o *Optimizer) Tick(ctx context.Context) Decision {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.clock.Now()
	d := Decision{At: now, Level: o.Level()}
	s, err := o.cfg.Sampler.Sample()
	if err != nil {
		o.mErrors.Add(ctx, 1)
		o.log.LogAttrs(ctx, slog.LevelWarn, "optimizer sample failed", slog.String("error", err.Error()))
		d.Reason = "sample failed"
		return d
	}
	d.Sample = s
	if o.windowStart.IsZero() || now.Sub(o.windowStart) >= o.cfg.OptimizationInterval {
		o.windowStart, o.used = now, 0
	}

	heapRatio, limit := o.heapRatio(s)
	inputs := [...]struct {
		name string
		v    float64
	}{
		{"cpu", s.CPU},
		{"sched_latency", clamp01(float64(s.SchedLatencyP99) / float64(o.policy.SchedLatencyHigh))},
		{"gc_cpu", clamp01(s.GCCPU / o.policy.GCCPUHigh)},
		{"heap", clamp01(heapRatio)},
	}
	for _, in := range inputs {
		o.mLoad.Record(ctx, in.v, metric.WithAttributes(attribute.String("input", in.name)))
		if in.v > d.Load || d.Reason == "" {
			d.Load, d.Reason = in.v, in.name
		}
	}
	for _, in := range o.extra {
		v := clamp01(in.fn())
		o.mLoad.Record(ctx, v, metric.WithAttributes(attribute.String("input", in.name)))
		if v > d.Load {
			d.Load, d.Reason = v, in.name
		}
	}
	o.log.LogAttrs(ctx, slog.LevelDebug, "optimizer sample", sampleAttrs(d)...)

	o.judgeLevel(ctx, &d)
	o.mLevel.Record(ctx, int64(d.Level))
	for _, ps := range o.pools {
		o.tunePool(ctx, &d, ps)
	}
	o.tuneMemory(ctx, &d, heapRatio, limit)
	return d
}

func (o *Optimizer) heapRatio(s Sample) (ratio float64, limit int64) {
	switch {
	case o.cfg.MemoryLimit > 0:
		limit = o.cfg.MemoryLimit
	case s.MemoryLimit > 0 && s.MemoryLimit < math.MaxInt64:
		limit = s.MemoryLimit
	default:
		return 0, 0
	}
	return float64(s.HeapBytes) / float64(limit), limit
}

// judgeLevel moves the level only when Confirm consecutive samples point the
// same way, and lowers it only once the load is Hysteresis below the
// threshold, so a load hovering at a threshold does not flap.
func (o *Optimizer) judgeLevel(ctx context.Context, d *Decision) {
	cur := d.Level
	up := Conservative
	for i, th := range o.policy.LevelThresholds {
		if d.Load >= th {
			up = Level(i + 1)
		}
	}
	want := cur
	if up > cur {
		want = up
	} else {
		down := Conservative
		for i, th := range o.policy.LevelThresholds {
			if d.Load >= th-o.policy.Hysteresis {
				down = Level(i + 1)
			}
		}
		want = min(cur, down)
	}
	if want == cur {
		o.pendingN = 0
		return
	}
	if want != o.pending {
		o.pending, o.pendingN = want, 0
	}
	o.pendingN++
	if o.pendingN < o.policy.Confirm {
		return
	}
	o.pendingN = 0
	o.level.Store(int32(want))
	d.Level = want
	why := fmt.Sprintf("%s load %.2f for %d samples", d.Reason, d.Load, o.policy.Confirm)
	d.Actions = append(d.Actions, Action{Kind: ActionLevelChange, From: int64(cur), To: int64(want), Why: why})
	o.mActions.Add(ctx, 1, metric.WithAttributes(attribute.String("kind", string(ActionLevelChange))))
	o.log.LogAttrs(ctx, slog.LevelInfo, "optimizer level changed",
		slog.String("from", cur.String()), slog.String("to", want.String()),
		slog.String("reason", d.Reason), slog.Float64("load", round2(d.Load)), slog.String("why", why))
	for _, fn := range o.subs {
		fn(cur, want)
	}
}

// tunePool grows a pool whose tasks wait while the CPU has room (workers are
// the bottleneck), and shrinks one that has been idle for Confirm samples.
func (o *Optimizer) tunePool(ctx context.Context, d *Decision, ps *poolState) {
	p := ps.p
	workers, waiting := current(p), p.Waiting()
	lo, hi := p.Bounds()
	s := d.Sample
	var target int
	var kind ActionKind
	var why string
	switch {
	case waiting > 0 && s.CPU < o.policy.CPUBusy && workers < hi:
		ps.idleCount = 0
		target = min(hi, workers+max(1, workers/2))
		kind, why = ActionPoolGrow, fmt.Sprintf("%d tasks waiting, cpu %.2f below %.2f", waiting, s.CPU, o.policy.CPUBusy)
	case waiting == 0 && s.CPU < o.policy.CPUIdle && workers > lo:
		ps.idleCount++
		if ps.idleCount < o.policy.Confirm {
			return
		}
		target = max(lo, workers/2)
		kind, why = ActionPoolShrink, fmt.Sprintf("idle for %d samples, cpu %.2f below %.2f", ps.idleCount, s.CPU, o.policy.CPUIdle)
	default:
		ps.idleCount = 0
		return
	}
	a := Action{Kind: kind, Pool: p.Name(), From: int64(workers), To: int64(target), Why: why}
	if !o.spend(ctx, d, a) {
		return
	}
	ps.idleCount = 0
	p.Resize(target)
	o.mTarget.Record(ctx, int64(target), ps.attrs)
	o.log.LogAttrs(ctx, slog.LevelInfo, "optimizer resized pool",
		slog.String("pool", p.Name()), slog.String("action", string(kind)),
		slog.Int("from", workers), slog.Int("to", target), slog.Int("waiting", waiting),
		slog.Float64("cpu", round2(s.CPU)), slog.String("level", d.Level.String()), slog.String("why", why))
}

// tuneMemory sets a soft limit below the known limit when the heap nears it,
// so the GC works harder before the process is killed, and restores the
// previous limit once the pressure is gone, so the GC stops paying for it.
func (o *Optimizer) tuneMemory(ctx context.Context, d *Decision, ratio float64, limit int64) {
	if o.cfg.MemoryLimit <= 0 {
		return // only the runtime's own limit is known, and it is already set
	}
	soft := int64(float64(limit) * o.policy.SoftLimitFraction)
	switch {
	case !o.limitSet && ratio >= o.policy.HeapHigh && d.Sample.MemoryLimit > soft:
		a := Action{Kind: ActionMemoryLimitSet, From: d.Sample.MemoryLimit, To: soft,
			Why: fmt.Sprintf("heap %.2f of limit, above %.2f", ratio, o.policy.HeapHigh)}
		if !o.spend(ctx, d, a) {
			return
		}
		o.prevLimit = o.cfg.SetMemoryLimit(soft)
		o.limitSet = true
		o.mLimit.Record(ctx, soft)
		o.log.LogAttrs(ctx, slog.LevelInfo, "optimizer set memory limit",
			slog.Int64("limit", soft), slog.Int64("previous", o.prevLimit), slog.Uint64("heap", d.Sample.HeapBytes),
			slog.Float64("heap_ratio", round2(ratio)), slog.String("why", a.Why))
	case o.limitSet && ratio < o.policy.HeapLow:
		a := Action{Kind: ActionMemoryLimitRestore, From: soft, To: o.prevLimit,
			Why: fmt.Sprintf("heap %.2f of limit, below %.2f", ratio, o.policy.HeapLow)}
		if !o.spend(ctx, d, a) {
			return
		}
		o.cfg.SetMemoryLimit(o.prevLimit)
		o.limitSet = false
		o.mLimit.Record(ctx, 0)
		o.log.LogAttrs(ctx, slog.LevelInfo, "optimizer restored memory limit",
			slog.Int64("limit", o.prevLimit), slog.Uint64("heap", d.Sample.HeapBytes),
			slog.Float64("heap_ratio", round2(ratio)), slog.String("why", a.Why))
	}
}

// spend takes one action from the interval's budget, or records the action
// as deferred when the budget is used up.
func (o *Optimizer) spend(ctx context.Context, d *Decision, a Action) bool {
	if o.used >= o.cfg.MaxOptimizations {
		d.Deferred = append(d.Deferred, a)
		o.mActions.Add(ctx, 1, metric.WithAttributes(attribute.String("kind", string(ActionThrottled))))
		o.log.LogAttrs(ctx, slog.LevelInfo, "optimizer deferred action",
			slog.String("action", string(a.Kind)), slog.String("pool", a.Pool),
			slog.Int("used", o.used), slog.Int("max", o.cfg.MaxOptimizations),
			slog.Time("window_start", o.windowStart))
		return false
	}
	o.used++
	d.Actions = append(d.Actions, a)
	o.mActions.Add(ctx, 1, metric.WithAttributes(attribute.String("kind", string(a.Kind))))
	return true
}

// current is the worker count the optimizer steers: the standing target
// when the pool exposes one (the perfcore pool also starts workers on demand
// up to its max and lets the surplus exit when idle, so its live count says
// more about the last burst than about what the optimizer set), else the
// live count.
func current(p Pool) int {
	if t, ok := p.(interface{ Target() int }); ok {
		return t.Target()
	}
	return p.Workers()
}

func sampleAttrs(d Decision) []slog.Attr {
	s := d.Sample
	return []slog.Attr{
		slog.Float64("cpu", round2(s.CPU)), slog.String("cpu_source", s.CPUSource),
		slog.Float64("gc_cpu", round2(s.GCCPU)), slog.Uint64("heap", s.HeapBytes),
		slog.Uint64("goroutines", s.Goroutines), slog.Uint64("runnable", s.Runnable),
		slog.Duration("sched_p99", s.SchedLatencyP99),
		slog.Float64("load", round2(d.Load)), slog.String("reason", d.Reason),
	}
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
