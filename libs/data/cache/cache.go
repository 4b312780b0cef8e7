package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"golang.org/x/sync/singleflight"

	"github.com/brisk-go/brisk/libs/perfcore/mempool"
)

// ErrUnavailable is returned (and counted) while the Redis driver is cooling down after a
// network error.
var ErrUnavailable = errors.New("cache: redis unavailable (cooling down after an error)")

// ErrClosed is returned by every call on a closed Cache.
var ErrClosed = errors.New("cache: closed")

// Options are common to every driver.
type Options struct {
	// DefaultTTL is used where a call passes ttl <= 0 (default 5 minutes).
	DefaultTTL time.Duration
	// Logger receives one line per failed driver call (default slog.Default()).
	Logger *slog.Logger
	// MeterProvider receives the metrics (default the OTel global provider).
	MeterProvider metric.MeterProvider
}

func (o Options) withDefaults() Options {
	if o.DefaultTTL <= 0 {
		o.DefaultTTL = 5 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MeterProvider == nil {
		o.MeterProvider = otel.GetMeterProvider()
	}
	return o
}

// driver is what Cache needs from a store. Values are the Go values themselves for drivers
// that do not encode, and JSON []byte for those that do.
type driver interface {
	name() string
	encodes() bool
	get(ctx context.Context, key string) (any, bool, error)
	// getMany returns one value per key; found[i] says whether vals[i] is a hit.
	getMany(ctx context.Context, keys []string) (vals []any, found []bool, err error)
	set(ctx context.Context, items []item, ttl time.Duration, tags []string) error
	delete(ctx context.Context, keys []string) error
	flush(ctx context.Context, tags []string) error
	close() error
}

type item struct {
	key string
	val any
}

type op int

const (
	opGet op = iota
	opGetMany
	opSet
	opSetMany
	opDelete
	opFlush
	numOps
)

var opNames = [numOps]string{"get", "get_many", "set", "set_many", "delete", "flush"}

// instruments count in atomics and report through observable counters, read at collection
// time: an SDK counter's Add costs several times a memory hit, an atomic add a few ns.
type instruments struct {
	counts   [numOps][numKinds]atomic.Int64
	duration metric.Float64Histogram
	record   [numOps][]metric.RecordOption
	reg      metric.Registration
}

const (
	kindHit = iota
	kindMiss
	kindError
	numKinds
)

func newInstruments(mp metric.MeterProvider, driver string) (*instruments, error) {
	m := mp.Meter("github.com/brisk-go/brisk/libs/data/cache")
	in := &instruments{}
	var err, e error
	var counters [numKinds]metric.Int64ObservableCounter
	counters[kindHit], e = m.Int64ObservableCounter("brisk.cache.hits", metric.WithUnit("{hit}"), metric.WithDescription("Cache keys found."))
	err = errors.Join(err, e)
	counters[kindMiss], e = m.Int64ObservableCounter("brisk.cache.misses", metric.WithUnit("{miss}"), metric.WithDescription("Cache keys not found."))
	err = errors.Join(err, e)
	counters[kindError], e = m.Int64ObservableCounter("brisk.cache.errors", metric.WithUnit("{error}"), metric.WithDescription("Failed cache driver calls."))
	err = errors.Join(err, e)
	in.duration, e = m.Float64Histogram("brisk.cache.duration", metric.WithUnit("s"), metric.WithDescription("Time of one Redis call."))
	err = errors.Join(err, e)
	if err != nil {
		return nil, fmt.Errorf("cache: create metrics: %w", err)
	}
	var observe [numOps][]metric.ObserveOption
	for o := range numOps {
		set := attribute.NewSet(attribute.String("driver", driver), attribute.String("op", opNames[o]))
		in.record[o] = []metric.RecordOption{metric.WithAttributeSet(set)}
		observe[o] = []metric.ObserveOption{metric.WithAttributeSet(set)}
	}
	in.reg, err = m.RegisterCallback(func(_ context.Context, obs metric.Observer) error {
		for o := range numOps {
			for k := range numKinds {
				if v := in.counts[o][k].Load(); v != 0 {
					obs.ObserveInt64(counters[k], v, observe[o]...)
				}
			}
		}
		return nil
	}, counters[kindHit], counters[kindMiss], counters[kindError])
	if err != nil {
		return nil, fmt.Errorf("cache: register metrics: %w", err)
	}
	return in, nil
}

func (in *instruments) add(o op, kind int, n int64) { in.counts[o][kind].Add(n) }

// Cache is a cache over one driver. It is safe for concurrent use; use Of[T] for typed access.
type Cache struct {
	drv     driver
	opts    Options
	m       *instruments
	sf      singleflight.Group
	timeAll bool // time calls (network drivers); memory calls are not timed
	encodes bool // the driver stores JSON, not the values themselves

	closeOnce sync.Once
	closeErr  error
	closed    atomic.Bool
}

func newCache(drv driver, o Options, timeAll bool) (*Cache, error) {
	o = o.withDefaults()
	m, err := newInstruments(o.MeterProvider, drv.name())
	if err != nil {
		return nil, err
	}
	return &Cache{drv: drv, opts: o, m: m, timeAll: timeAll, encodes: drv.encodes()}, nil
}

// Open returns a Redis cache for a redis:// or rediss:// URL and the memory cache for "".
func Open(ctx context.Context, redisURL string, o Options) (*Cache, error) {
	if redisURL == "" {
		return NewMemory(MemoryOptions{Options: o})
	}
	return NewRedis(ctx, RedisOptions{Options: o, URL: redisURL})
}

// Driver names the driver: "memory" or "redis".
func (c *Cache) Driver() string { return c.drv.name() }

// Close releases the driver (stops the memory cache's goroutines, closes a Redis client this
// Cache opened). Safe to call more than once.
func (c *Cache) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.closeErr = errors.Join(c.drv.close(), c.m.reg.Unregister())
	})
	return c.closeErr
}

func (c *Cache) isClosed() bool { return c.closed.Load() }

// start returns the time a call began when this call is timed, else the zero time. Memory
// calls are not timed: reading the clock twice would cost as much as the call.
func (c *Cache) start() time.Time {
	if c.timeAll {
		return time.Now()
	}
	return time.Time{}
}

func (c *Cache) done(ctx context.Context, o op, began time.Time) {
	if !began.IsZero() {
		c.m.duration.Record(ctx, time.Since(began).Seconds(), c.m.record[o]...)
	}
}

// failed counts err and logs it, except the cool-down's ErrUnavailable (logged once when the
// driver trips) and the caller's own cancellation.
func (c *Cache) failed(ctx context.Context, o op, key string, err error) error {
	c.m.add(o, kindError, 1)
	if !errors.Is(err, ErrUnavailable) && ctx.Err() == nil {
		c.opts.Logger.WarnContext(ctx, "cache call failed", "driver", c.drv.name(), "op", opNames[o], "key", key, "err", err)
	}
	return fmt.Errorf("cache: %s %s %q: %w", c.drv.name(), opNames[o], key, err)
}

func (c *Cache) ttl(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		return c.opts.DefaultTTL
	}
	return ttl
}

// Delete removes keys. Missing keys are not an error.
func (c *Cache) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	if c.isClosed() {
		return ErrClosed
	}
	began := c.start()
	err := c.drv.delete(ctx, keys)
	c.done(ctx, opDelete, began)
	if err != nil {
		return c.failed(ctx, opDelete, keys[0], err)
	}
	return nil
}

// TagSet names tags to flush; get one from Cache.Tags.
type TagSet struct {
	c    *Cache
	tags []string
}

// Tags selects tags, for Flush.
func (c *Cache) Tags(tags ...string) TagSet { return TagSet{c: c, tags: tags} }

// Flush deletes every key stored under any of the tags, and the tags themselves.
func (ts TagSet) Flush(ctx context.Context) error {
	if len(ts.tags) == 0 {
		return nil
	}
	if ts.c.isClosed() {
		return ErrClosed
	}
	began := ts.c.start()
	err := ts.c.drv.flush(ctx, ts.tags)
	ts.c.done(ctx, opFlush, began)
	if err != nil {
		return ts.c.failed(ctx, opFlush, ts.tags[0], err)
	}
	return nil
}

// Typed is the typed view of a Cache for values of type T. It is a small value; make it once
// (Of[T](c)) and keep it.
type Typed[T any] struct {
	c    *Cache
	tags []string
}

// Of returns the typed view of c for values of type T.
func Of[T any](c *Cache) Typed[T] { return Typed[T]{c: c} }

// Tags returns a view whose Set, SetMany and Remember record the keys under tags, so that
// Cache.Tags(tags...).Flush deletes them. Flush on the returned view does the same.
func (t Typed[T]) Tags(tags ...string) Typed[T] {
	return Typed[T]{c: t.c, tags: append(append([]string(nil), t.tags...), tags...)}
}

// Flush deletes every key stored under the view's tags.
func (t Typed[T]) Flush(ctx context.Context) error { return t.c.Tags(t.tags...).Flush(ctx) }

// Delete removes keys.
func (t Typed[T]) Delete(ctx context.Context, keys ...string) error { return t.c.Delete(ctx, keys...) }

func (t Typed[T]) decode(v any) (T, error) {
	if !t.c.encodes {
		if tv, ok := v.(T); ok {
			return tv, nil
		}
		var zero T
		return zero, fmt.Errorf("stored value is %T, not %T", v, zero)
	}
	var out T
	b, _ := v.([]byte)
	if err := json.Unmarshal(b, &out); err != nil {
		return out, fmt.Errorf("decode: %w", err)
	}
	return out, nil
}

func (t Typed[T]) encode(v T) (any, error) {
	if !t.c.encodes {
		return v, nil
	}
	b, err := mempool.AppendJSON(nil, v)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Get returns the value under key and whether it was found. A driver error is returned (and
// logged and counted) with found false.
func (t Typed[T]) Get(ctx context.Context, key string) (T, bool, error) {
	var zero T
	c := t.c
	if c.isClosed() {
		return zero, false, ErrClosed
	}
	var v any
	var ok bool
	var err error
	if c.timeAll {
		began := time.Now()
		v, ok, err = c.drv.get(ctx, key)
		c.done(ctx, opGet, began)
	} else {
		v, ok, err = c.drv.get(ctx, key)
	}
	if err != nil {
		return zero, false, c.failed(ctx, opGet, key, err)
	}
	if !ok {
		c.m.add(opGet, kindMiss, 1)
		return zero, false, nil
	}
	tv, err := t.decode(v)
	if err != nil {
		c.m.add(opGet, kindMiss, 1)
		return zero, false, c.failed(ctx, opGet, key, err)
	}
	c.m.add(opGet, kindHit, 1)
	return tv, true, nil
}

// GetMany returns the values found among keys; missing keys are absent from the map.
func (t Typed[T]) GetMany(ctx context.Context, keys []string) (map[string]T, error) {
	c := t.c
	if c.isClosed() {
		return nil, ErrClosed
	}
	out := make(map[string]T, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	began := c.start()
	vals, found, err := c.drv.getMany(ctx, keys)
	c.done(ctx, opGetMany, began)
	if err != nil {
		return out, c.failed(ctx, opGetMany, keys[0], err)
	}
	var hits, misses int64
	var decodeErr error
	for i, k := range keys {
		if !found[i] {
			misses++
			continue
		}
		tv, err := t.decode(vals[i])
		if err != nil {
			misses++
			decodeErr = c.failed(ctx, opGetMany, k, err)
			continue
		}
		hits++
		out[k] = tv
	}
	if hits > 0 {
		c.m.add(opGetMany, kindHit, hits)
	}
	if misses > 0 {
		c.m.add(opGetMany, kindMiss, misses)
	}
	return out, decodeErr
}

// Set stores v under key for ttl (ttl <= 0: Options.DefaultTTL).
func (t Typed[T]) Set(ctx context.Context, key string, v T, ttl time.Duration) error {
	c := t.c
	if c.isClosed() {
		return ErrClosed
	}
	ev, err := t.encode(v)
	if err != nil {
		return c.failed(ctx, opSet, key, err)
	}
	began := c.start()
	err = c.drv.set(ctx, []item{{key, ev}}, c.ttl(ttl), t.tags)
	c.done(ctx, opSet, began)
	if err != nil {
		return c.failed(ctx, opSet, key, err)
	}
	return nil
}

// SetMany stores every entry of items for ttl, in one round trip on Redis.
func (t Typed[T]) SetMany(ctx context.Context, items map[string]T, ttl time.Duration) error {
	c := t.c
	if c.isClosed() {
		return ErrClosed
	}
	if len(items) == 0 {
		return nil
	}
	batch := make([]item, 0, len(items))
	for k, v := range items {
		ev, err := t.encode(v)
		if err != nil {
			return c.failed(ctx, opSetMany, k, err)
		}
		batch = append(batch, item{k, ev})
	}
	began := c.start()
	err := c.drv.set(ctx, batch, c.ttl(ttl), t.tags)
	c.done(ctx, opSetMany, began)
	if err != nil {
		return c.failed(ctx, opSetMany, batch[0].key, err)
	}
	return nil
}

// RememberTagged is Remember for values whose tags are known only once loaded (an article's
// id and author): load returns the value and the tags to store it under.
func (t Typed[T]) RememberTagged(ctx context.Context, key string, ttl time.Duration, load func(context.Context) (T, []string, error)) (T, error) {
	if v, ok, err := t.Get(ctx, key); ok && err == nil {
		return v, nil
	}
	r, err, _ := t.c.sf.Do(key, func() (any, error) {
		if v, ok, err := t.Get(ctx, key); ok && err == nil {
			return v, nil // see Remember
		}
		v, tags, err := load(ctx)
		if err != nil {
			return nil, err
		}
		_ = t.Tags(tags...).Set(ctx, key, v, ttl) // a failure is logged and counted by Set
		return v, nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	if v, ok := r.(T); ok {
		return v, nil
	}
	v, _, err := load(ctx)
	return v, err
}

// Remember returns the cached value under key, or runs load, stores its value for ttl and
// returns it. Concurrent misses of one key in this process run load once; they all get its
// result, and load runs with the context of the caller that started it. Cache failures are
// logged and counted, never returned: the loader's value is served instead. Only load's own
// error is returned (and nothing is stored).
func (t Typed[T]) Remember(ctx context.Context, key string, ttl time.Duration, load func(context.Context) (T, error)) (T, error) {
	if v, ok, err := t.Get(ctx, key); ok && err == nil {
		return v, nil
	}
	r, err, _ := t.c.sf.Do(key, func() (any, error) {
		// A caller that missed just before another's flight stored the value and ended starts
		// a flight of its own: looking again inside it is what makes the load happen once.
		if v, ok, err := t.Get(ctx, key); ok && err == nil {
			return v, nil
		}
		v, err := load(ctx)
		if err != nil {
			return nil, err
		}
		_ = t.Set(ctx, key, v, ttl) // a failure is logged and counted by Set
		return v, nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	if v, ok := r.(T); ok {
		return v, nil
	}
	// Another type's Remember shared the key in this instant: load for ourselves.
	return load(ctx)
}
