package mempool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Instrument names of a JSONPool; the package documentation lists them.
const (
	MetricGets     = "perfcore.mempool.gets"
	MetricDropped  = "perfcore.mempool.dropped"
	MetricReleased = "perfcore.mempool.released"
	MetricIdle     = "perfcore.mempool.idle"
	// AttrPool carries JSONPoolConfig.Name; AttrResult is hit or miss on
	// gets; AttrReason is full or oversize on drops.
	AttrPool   = "pool"
	AttrResult = "result"
	AttrReason = "reason"
)

const meterName = "github.com/brisk-go/brisk/libs/perfcore/mempool"

// oversizeFactor: an encoder whose buffer grew beyond this many slabs is
// dropped on Release, so one huge document does not stay pinned.
const oversizeFactor = 8

// JSONPoolConfig configures a JSONPool; the three sizes are the MEMORY_*
// settings.
type JSONPoolConfig struct {
	// Name labels the metrics (attribute "pool").
	Name string
	// Size is the most idle encoders kept (MEMORY_POOL_SIZE). A Release
	// that finds Size idle encoders drops its own. 0 keeps none.
	Size int
	// Slab is the capacity each new encoder's buffer starts with
	// (MEMORY_SLAB_SIZE): documents up to it never regrow their buffer.
	// Encoders that grew beyond 8 slabs are dropped on Release.
	Slab int
	// CleanupInterval (MEMORY_CLEANUP_INTERVAL): encoders that stayed idle
	// through a whole interval are released to the garbage collector by
	// the loop Start runs. 0 disables the loop (Sweep still works).
	CleanupInterval time.Duration
	// MeterProvider receives the metrics; nil means otel's global one.
	MeterProvider metric.MeterProvider
}

// JSONPoolStats is a snapshot of a JSONPool's counters.
type JSONPoolStats struct {
	Idle     int    // encoders kept now
	Hits     uint64 // Gets served by an idle encoder
	Misses   uint64 // Gets that made a new encoder
	Full     uint64 // Releases dropped because Size encoders were idle
	Oversize uint64 // Releases dropped because the buffer grew beyond 8 slabs
	Released uint64 // idle encoders released by Sweep
}

// JSONPool is a bounded pool of Encoders for response bodies. Unlike
// sync.Pool (which the garbage collector empties at will and which has no
// size), it keeps at most Size idle encoders with Slab-sized buffers and
// releases the ones a quiet period left unused, so its memory follows the
// traffic and its effect is visible in metrics.
type JSONPool struct {
	cfg JSONPoolConfig

	mu   sync.Mutex
	free []*Encoder // a stack: the bottom ones are the longest idle
	low  int        // fewest idle encoders since the last Sweep

	hits, misses, full, oversize, released atomic.Uint64

	reg       metric.Registration
	stopOnce  sync.Once
	startOnce sync.Once
	stop      chan struct{}
	done      chan struct{}
}

// NewJSONPool returns a JSONPool; it fails on a negative Size or
// CleanupInterval, a Slab below 1, or a metric that cannot be registered.
func NewJSONPool(cfg JSONPoolConfig) (*JSONPool, error) {
	if cfg.Size < 0 || cfg.Slab < 1 || cfg.CleanupInterval < 0 {
		return nil, errors.New("mempool: new json pool: Size and CleanupInterval must be >= 0 and Slab >= 1")
	}
	p := &JSONPool{cfg: cfg, stop: make(chan struct{}), done: make(chan struct{})}
	if err := p.register(); err != nil {
		return nil, err
	}
	return p, nil
}

// Get returns an empty encoder; Release gives it back to p.
func (p *JSONPool) Get() *Encoder {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		e := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		p.low = min(p.low, n-1)
		p.mu.Unlock()
		p.hits.Add(1)
		return e
	}
	p.mu.Unlock()
	p.misses.Add(1)
	e := &Encoder{owner: p}
	e.buf = *bytes.NewBuffer(make([]byte, 0, p.cfg.Slab))
	e.enc = json.NewEncoder(&e.buf)
	return e
}

func (p *JSONPool) put(e *Encoder) {
	if e.buf.Cap() > oversizeFactor*p.cfg.Slab {
		p.oversize.Add(1)
		return
	}
	e.buf.Reset()
	p.mu.Lock()
	if len(p.free) >= p.cfg.Size {
		p.mu.Unlock()
		p.full.Add(1)
		return
	}
	p.free = append(p.free, e)
	p.mu.Unlock()
}

// Sweep releases the encoders that no Get took since the previous Sweep
// (the bottom of the stack) and returns how many. Start calls it every
// CleanupInterval.
func (p *JSONPool) Sweep() int {
	p.mu.Lock()
	n := min(p.low, len(p.free))
	rest := copy(p.free, p.free[n:])
	clear(p.free[rest:])
	p.free = p.free[:rest]
	p.low = rest
	p.mu.Unlock()
	p.released.Add(uint64(n))
	return n
}

// Stats returns the pool's counters.
func (p *JSONPool) Stats() JSONPoolStats {
	p.mu.Lock()
	idle := len(p.free)
	p.mu.Unlock()
	return JSONPoolStats{Idle: idle, Hits: p.hits.Load(), Misses: p.misses.Load(), Full: p.full.Load(),
		Oversize: p.oversize.Load(), Released: p.released.Load()}
}

// Start runs the cleanup loop until Stop (nothing when CleanupInterval is
// 0). It never fails; the error keeps the Start/Stop shape of perfcore.
func (p *JSONPool) Start(context.Context) error {
	if p.cfg.CleanupInterval == 0 {
		return nil
	}
	p.startOnce.Do(func() {
		go func() {
			defer close(p.done)
			t := time.NewTicker(p.cfg.CleanupInterval)
			defer t.Stop()
			for {
				select {
				case <-p.stop:
					return
				case <-t.C:
					p.Sweep()
				}
			}
		}()
	})
	return nil
}

// Stop ends the cleanup loop and unregisters the metrics; safe to call
// twice and without Start.
func (p *JSONPool) Stop(ctx context.Context) error {
	var err error
	p.stopOnce.Do(func() {
		close(p.stop)
		started := true
		p.startOnce.Do(func() { started = false })
		if started && p.cfg.CleanupInterval > 0 {
			select {
			case <-p.done:
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		if p.reg != nil {
			err = errors.Join(err, p.reg.Unregister())
		}
	})
	return err
}

func (p *JSONPool) register() error {
	mp := p.cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(meterName)
	gets, err1 := m.Int64ObservableCounter(MetricGets, metric.WithUnit("{encoder}"),
		metric.WithDescription("Encoders taken from the pool; result hit (an idle one) or miss (a new one)."))
	dropped, err2 := m.Int64ObservableCounter(MetricDropped, metric.WithUnit("{encoder}"),
		metric.WithDescription("Encoders not kept on release; reason full (MEMORY_POOL_SIZE idle) or oversize (beyond 8 slabs)."))
	released, err3 := m.Int64ObservableCounter(MetricReleased, metric.WithUnit("{encoder}"),
		metric.WithDescription("Idle encoders released by the cleanup sweep (MEMORY_CLEANUP_INTERVAL)."))
	idle, err4 := m.Int64ObservableGauge(MetricIdle, metric.WithUnit("{encoder}"),
		metric.WithDescription("Idle encoders kept for reuse."))
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return err
	}
	name := attribute.String(AttrPool, p.cfg.Name)
	with := func(kv ...attribute.KeyValue) metric.ObserveOption {
		return metric.WithAttributeSet(attribute.NewSet(append(kv, name)...))
	}
	hit, miss := with(attribute.String(AttrResult, "hit")), with(attribute.String(AttrResult, "miss"))
	full, over := with(attribute.String(AttrReason, "full")), with(attribute.String(AttrReason, "oversize"))
	plain := with()
	var err error
	p.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := p.Stats()
		o.ObserveInt64(gets, int64(s.Hits), hit)
		o.ObserveInt64(gets, int64(s.Misses), miss)
		o.ObserveInt64(dropped, int64(s.Full), full)
		o.ObserveInt64(dropped, int64(s.Oversize), over)
		o.ObserveInt64(released, int64(s.Released), plain)
		o.ObserveInt64(idle, int64(s.Idle), plain)
		return nil
	}, gets, dropped, released, idle)
	return err
}
