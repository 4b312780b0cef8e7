// Package shed is adaptive overload shedding: it admits work while the process can serve it
// and refuses the excess at once when it cannot, so the work it admits keeps a short latency
// instead of everything queueing into its deadline.
//
// The rule is Little's law over a sliding window (the idea behind Kratos' BBR limiter and
// go-zero's adaptive shedder; this is our own implementation): the work the process can have
// in flight while each request waits at most Config.MaxQueueDelay behind the others is its
// best recent throughput times (its best recent latency + MaxQueueDelay). While the CPU is
// saturated (above Config.CPUThreshold, or within Config.CoolOff of the last refusal), a new
// request is refused when the requests in flight already reach that number. When the CPU is
// not saturated nothing is refused, however many requests are in flight: a slow dependency is
// not overload.
//
// The queue allowance is what separates a busy server from an overloaded one: 64 clients that
// each wait for their answer keep a 2-core server's CPU saturated, but their requests wait a
// few milliseconds and their number is bounded; without the allowance (throughput × latency
// alone, MaxQueueDelay < 0) the shedder answered 40 % of such a load with 503.
package shed

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// ErrOverloaded is returned by Allow for a refused request.
var ErrOverloaded = errors.New("shed: overloaded")

// Config configures a Shedder. Zero values take the documented defaults.
type Config struct {
	// Name identifies the shedder in metrics (attribute shedder).
	Name string
	// Window is how far back throughput and latency are remembered (default 5s), in Buckets
	// slices (default 50).
	Window  time.Duration
	Buckets int
	// CPUThreshold is the CPU share (0..1) above which the process counts as saturated
	// (default 0.8).
	CPUThreshold float64
	// CoolOff keeps the shedder judging by in-flight work for this long after its last
	// refusal even when the CPU reads lower (default 1s): refusing work itself lowers the
	// CPU, and without it the shedder would flap.
	CoolOff time.Duration
	// MaxQueueDelay is how long an admitted request may wait behind the others: the shedder
	// admits up to best throughput × (best latency + MaxQueueDelay) in flight (default 50ms;
	// negative: none, throughput × latency alone).
	MaxQueueDelay time.Duration
	// MinInFlight is the fewest requests in flight at which a refusal is possible (default
	// 8 × GOMAXPROCS): below it, however saturated, every request is admitted. Set 1 to
	// judge by throughput × latency alone.
	MinInFlight int
	// CPU reports the process's CPU share, 0..1; default: the process's own CPU time over
	// the wall time since the last reading, taken at most every 250ms.
	CPU func() float64
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Meter receives perfcore.shed.* instruments; nil: none.
	Meter metric.Meter
}

type bucket struct {
	start  int64 // unix nanos of the bucket's start; identifies which slice it holds
	passed int64
	rtSum  int64 // nanoseconds
}

// Shedder decides, request by request, whether to admit. It is safe for concurrent use.
type Shedder struct {
	cfg      Config
	width    int64 // bucket width in nanoseconds
	inflight atomic.Int64
	lastDrop atomic.Int64 // unix nanos of the last refusal

	mu      sync.Mutex
	buckets []bucket

	dropped  metric.Int64Counter
	admitted metric.Int64Counter
	attrs    metric.MeasurementOption
}

// New returns a Shedder.
func New(cfg Config) (*Shedder, error) {
	if cfg.Window <= 0 {
		cfg.Window = 5 * time.Second
	}
	if cfg.Buckets <= 0 {
		cfg.Buckets = 50
	}
	if cfg.CPUThreshold <= 0 {
		cfg.CPUThreshold = 0.8
	}
	if cfg.CPUThreshold > 1 {
		return nil, errors.New("shed: CPUThreshold must be at most 1")
	}
	if cfg.CoolOff <= 0 {
		cfg.CoolOff = time.Second
	}
	switch {
	case cfg.MaxQueueDelay == 0:
		cfg.MaxQueueDelay = 50 * time.Millisecond
	case cfg.MaxQueueDelay < 0:
		cfg.MaxQueueDelay = 0
	}
	if cfg.MinInFlight <= 0 {
		cfg.MinInFlight = 8 * procs()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CPU == nil {
		cfg.CPU = newProcessCPU(cfg.Now).share
	}
	if cfg.Name == "" {
		cfg.Name = "http"
	}
	meter := cfg.Meter
	if meter == nil {
		meter = noop.NewMeterProvider().Meter("")
	}
	s := &Shedder{cfg: cfg, width: int64(cfg.Window) / int64(cfg.Buckets), buckets: make([]bucket, cfg.Buckets)}
	if s.width <= 0 {
		return nil, errors.New("shed: Window too short for its Buckets")
	}
	s.attrs = metric.WithAttributeSet(attribute.NewSet(attribute.String("shedder", cfg.Name)))
	var err error
	if s.dropped, err = meter.Int64Counter("perfcore.shed.dropped",
		metric.WithDescription("Requests refused by overload shedding."), metric.WithUnit("{request}")); err != nil {
		return nil, err
	}
	if s.admitted, err = meter.Int64Counter("perfcore.shed.admitted",
		metric.WithDescription("Requests admitted by the overload shedder."), metric.WithUnit("{request}")); err != nil {
		return nil, err
	}
	// Both series exist from the start (at 0), so a dashboard shows "none shed", not "no data".
	s.dropped.Add(context.Background(), 0, s.attrs)
	s.admitted.Add(context.Background(), 0, s.attrs)
	if _, err = meter.Int64ObservableGauge("perfcore.shed.inflight",
		metric.WithDescription("Requests in flight through the shedder."), metric.WithUnit("{request}"),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(s.inflight.Load(), s.attrs)
			return nil
		})); err != nil {
		return nil, err
	}
	return s, nil
}

// Allow admits a request, returning the done func to call when it has finished, or refuses
// it with ErrOverloaded.
func (s *Shedder) Allow() (done func(), err error) {
	now := s.cfg.Now().UnixNano()
	if s.shouldDrop(now) {
		s.lastDrop.Store(now)
		s.dropped.Add(context.Background(), 1, s.attrs)
		return nil, ErrOverloaded
	}
	s.inflight.Add(1)
	s.admitted.Add(context.Background(), 1, s.attrs)
	return func() {
		end := s.cfg.Now().UnixNano()
		s.inflight.Add(-1)
		s.record(end, end-now)
	}, nil
}

func (s *Shedder) shouldDrop(now int64) bool {
	inflight := s.inflight.Load()
	if inflight < int64(s.cfg.MinInFlight) || !s.saturated(now) {
		return false
	}
	capacity := s.capacity(now, s.cfg.MaxQueueDelay)
	return capacity > 0 && float64(inflight) >= capacity
}

func (s *Shedder) saturated(now int64) bool {
	if now-s.lastDrop.Load() < int64(s.cfg.CoolOff) {
		return true
	}
	return s.cfg.CPU() >= s.cfg.CPUThreshold
}

// capacity is the most requests that can be in flight with each waiting at most queue: the
// best throughput of a finished bucket times (the best average latency + queue), or 0 while
// the window knows too little to say (nothing is refused then).
func (s *Shedder) capacity(now int64, queue time.Duration) float64 {
	cur := now - now%s.width
	oldest := cur - int64(s.cfg.Window)
	s.mu.Lock()
	defer s.mu.Unlock()
	var maxPass int64
	minRT := int64(math.MaxInt64)
	for _, b := range s.buckets {
		if b.start == cur || b.start <= oldest || b.passed == 0 {
			continue
		}
		maxPass = max(maxPass, b.passed)
		minRT = min(minRT, b.rtSum/b.passed)
	}
	if maxPass == 0 {
		return 0
	}
	return math.Ceil(float64(maxPass) * float64(minRT+int64(queue)) / float64(s.width))
}

// Saturation is the share of the capacity without queueing (throughput × latency) now in
// flight, at most 1 (0 while the window knows nothing): a signal for the runtime optimizer
// of what the requests experience — 1 means requests wait behind others.
func (s *Shedder) Saturation() float64 {
	c := s.capacity(s.cfg.Now().UnixNano(), 0)
	if c <= 0 {
		return 0
	}
	return math.Min(float64(s.inflight.Load())/c, 1)
}

// InFlight is the number of admitted requests not yet done.
func (s *Shedder) InFlight() int64 { return s.inflight.Load() }

func (s *Shedder) record(end, rt int64) {
	start := end - end%s.width
	i := (start / s.width) % int64(len(s.buckets))
	s.mu.Lock()
	b := &s.buckets[i]
	if b.start != start {
		*b = bucket{start: start}
	}
	b.passed++
	b.rtSum += max(rt, 1)
	s.mu.Unlock()
}
