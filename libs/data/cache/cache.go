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
	// Broadcast carries deletes and tag flushes to every other instance sharing the cache
	// (RedisBroadcast, PostgresBroadcast, LocalBroadcast; BroadcastFor picks one from a mode
	// word). Nil: none, as before — right for one instance, or for Redis without an L1.
	Broadcast Broadcaster
	// L1Size, on a Redis cache with a Broadcast, keeps up to that many entries in an
	// in-process level in front of Redis (0: no L1, every read is a Redis round trip). On the
	// memory cache opened by Open it is the memory cache's size (0: DefaultMaxEntries).
	L1Size int
	// Now is the clock of the broadcast (publish time, lag); default time.Now.
	Now func() time.Time
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
	if o.Now == nil {
		o.Now = time.Now
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
	in.duration, e = m.Float64Histogram("brisk.cache.duration", metric.WithUnit("s"), metric.WithDescription("Time of one Redis call."),
		metric.WithExplicitBucketBoundaries(secondsBuckets...))
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

// secondsBuckets suit a Redis call or a broadcast's lag (100µs to 10s): the SDK's default
// boundaries start at 5 and would put every one in the first bucket.
var secondsBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

func (in *instruments) add(o op, kind int, n int64) { in.counts[o][kind].Add(n) }

// Cache is a cache over one driver, optionally behind an in-process L1 level. It is safe for
// concurrent use; use Of[T] for typed access.
type Cache struct {
	drv     driver // the only level, or the L2 behind l1
	opts    Options
	m       *instruments
	sf      singleflight.Group
	timeAll bool // time calls (network drivers); memory calls are not timed
	encodes bool // the driver stores JSON, not the values themselves

	// l1 is the in-process level in front of a Redis drv (nil without one); l1m counts its
	// hits and misses under driver="l1".
	l1  *memory
	l1m *instruments
	// local is the in-process store that broadcasts invalidate: l1, or drv when it is the
	// memory driver; nil for Redis alone.
	local *memory
	// epoch moves on every invalidation applied to local: a fill that began before one is
	// not stored (or is removed again), so a value read before a delete never outlives it.
	epoch atomic.Uint64
	bc    *broadcast // nil without Options.Broadcast

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
	c := &Cache{drv: drv, opts: o, m: m, timeAll: timeAll, encodes: drv.encodes()}
	if mem, ok := drv.(*memory); ok {
		c.local = mem
	}
	return c, nil
}

// Open returns a Redis cache for a redis:// or rediss:// URL and the memory cache for "".
// With o.Broadcast set, the Redis cache gets an in-process L1 of o.L1Size entries in front of
// Redis, and the memory cache shares its invalidations with the other instances. Open also
// routes go-redis's own log lines through o.Logger (SetRedisLogger).
func Open(ctx context.Context, redisURL string, o Options) (*Cache, error) {
	if redisURL == "" {
		return NewMemory(MemoryOptions{Options: o, MaxEntries: o.L1Size})
	}
	SetRedisLogger(o.Logger)
	return NewRedis(ctx, RedisOptions{Options: o, URL: redisURL})
}

// Driver names the driver: "memory" or "redis" ("redis" with an L1 in front too).
func (c *Cache) Driver() string { return c.drv.name() }

// Levels says how reads are served: "memory", "redis" or "l1+redis".
func (c *Cache) Levels() string {
	if c.l1 != nil {
		return "l1+" + c.drv.name()
	}
	return c.drv.name()
}

// Close stops the broadcast and releases the driver (stops the memory cache's goroutines,
// closes a Redis client this Cache opened). Safe to call more than once.
func (c *Cache) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		var errs []error
		if c.bc != nil {
			errs = append(errs, c.bc.stop())
		}
		errs = append(errs, c.drv.close(), c.m.reg.Unregister())
		if c.l1 != nil {
			errs = append(errs, c.l1.close(), c.l1m.reg.Unregister())
		}
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

// localOff says the in-process store must not be used: the broadcast link is down, so it may
// have missed invalidations.
func (c *Cache) localOff() bool { return c.bc != nil && !c.bc.up.Load() }

// fillLocal stores a value read from L2 or loaded into the in-process store, unless an
// invalidation was applied since the read began (epoch moved); if one lands while storing,
// the value is taken out again.
func (c *Cache) fillLocal(key string, v any, ttl time.Duration, tags []string, epoch uint64) {
	m := c.local
	if c.localOff() || c.epoch.Load() != epoch {
		return
	}
	_ = m.set(context.Background(), []item{{key, v}}, ttl, tags)
	if c.localOff() || c.epoch.Load() != epoch {
		_ = m.delete(context.Background(), []string{key})
	}
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

// Delete removes keys, here and (with a Broadcast) on every other instance. Missing keys are
// not an error.
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
		err = c.failed(ctx, opDelete, keys[0], err)
	}
	if c.local != nil {
		c.epoch.Add(1)
		if c.l1 != nil {
			_ = c.l1.delete(ctx, keys)
		}
	}
	return errors.Join(err, c.publish(ctx, message{Keys: keys}))
}

// TagSet names tags to flush; get one from Cache.Tags.
type TagSet struct {
	c    *Cache
	tags []string
}

// Tags selects tags, for Flush.
func (c *Cache) Tags(tags ...string) TagSet { return TagSet{c: c, tags: tags} }

// Flush deletes every key stored under any of the tags, and the tags themselves, here and
// (with a Broadcast) on every other instance.
func (ts TagSet) Flush(ctx context.Context) error {
	if len(ts.tags) == 0 {
		return nil
	}
	c := ts.c
	if c.isClosed() {
		return ErrClosed
	}
	began := c.start()
	var keys []string
	var err error
	if rd, ok := c.drv.(*redisDriver); ok && c.l1 != nil {
		// An L1 filled from Redis does not know a value's tags: the keys Redis deleted are
		// what the L1s must drop.
		keys, err = rd.flushKeys(ctx, ts.tags)
	} else {
		err = c.drv.flush(ctx, ts.tags)
	}
	c.done(ctx, opFlush, began)
	msg := message{Tags: ts.tags, Keys: keys}
	if err != nil {
		err = c.failed(ctx, opFlush, ts.tags[0], err)
		if c.l1 != nil {
			msg = message{All: true} // which keys were under the tags is unknown
		}
	}
	if c.local != nil {
		c.epoch.Add(1)
		if c.l1 != nil {
			c.l1.apply(msg)
		}
	}
	return errors.Join(err, c.publish(ctx, msg))
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
// logged and counted) with found false. With an L1, a hit there costs no network call, and a
// value found in Redis is kept in the L1 for the rest of its Redis TTL.
func (t Typed[T]) Get(ctx context.Context, key string) (T, bool, error) {
	return t.get(ctx, key, nil)
}

// get is Get that, with gen non-nil, also reads Redis's invalidation counter into *gen on a
// miss there (see markTTL), for Remember's fill.
func (t Typed[T]) get(ctx context.Context, key string, gen *int64) (T, bool, error) {
	var zero T
	c := t.c
	if c.isClosed() {
		return zero, false, ErrClosed
	}
	if c.l1 != nil && !c.localOff() {
		if v, ok, _ := c.l1.get(ctx, key); ok {
			if tv, ok := v.(T); ok {
				c.l1m.add(opGet, kindHit, 1)
				return tv, true, nil
			}
		}
		c.l1m.add(opGet, kindMiss, 1)
		epoch := c.epoch.Load()
		tv, ttl, ok, err := t.getDriver(ctx, key, true, gen)
		if ok {
			if ttl == 0 { // no expiry in Redis: the default bounds the L1 copy
				ttl = c.opts.DefaultTTL
			}
			c.fillLocal(key, tv, ttl, nil, epoch)
		}
		return tv, ok, err
	}
	if m := c.local; m != nil { // the memory driver, the only level: a direct call
		if c.localOff() {
			c.m.add(opGet, kindMiss, 1) // it may be stale while the broadcast is down
			return zero, false, nil
		}
		v, ok, _ := m.get(ctx, key)
		if !ok {
			c.m.add(opGet, kindMiss, 1)
			return zero, false, nil
		}
		if tv, ok := v.(T); ok {
			c.m.add(opGet, kindHit, 1)
			return tv, true, nil
		}
		c.m.add(opGet, kindMiss, 1)
		return zero, false, c.failed(ctx, opGet, key, fmt.Errorf("stored value is %T, not %T", v, zero))
	}
	tv, _, ok, err := t.getDriver(ctx, key, false, gen)
	return tv, ok, err
}

// getDriver reads key from drv; withTTL also asks a Redis driver for the time left, and gen
// non-nil for its invalidation counter.
func (t Typed[T]) getDriver(ctx context.Context, key string, withTTL bool, gen *int64) (T, time.Duration, bool, error) {
	var zero T
	c := t.c
	var v any
	var ok bool
	var err error
	var ttl time.Duration
	if c.timeAll {
		began := time.Now()
		if rd, isRedis := c.drv.(*redisDriver); isRedis && (withTTL || gen != nil) {
			v, ttl, ok, err = rd.getTTL(ctx, key, gen)
		} else {
			v, ok, err = c.drv.get(ctx, key)
		}
		c.done(ctx, opGet, began)
	} else {
		v, ok, err = c.drv.get(ctx, key)
	}
	if err != nil {
		return zero, 0, false, c.failed(ctx, opGet, key, err)
	}
	if !ok {
		c.m.add(opGet, kindMiss, 1)
		return zero, 0, false, nil
	}
	tv, err := t.decode(v)
	if err != nil {
		c.m.add(opGet, kindMiss, 1)
		return zero, 0, false, c.failed(ctx, opGet, key, err)
	}
	c.m.add(opGet, kindHit, 1)
	return tv, ttl, true, nil
}

// GetMany returns the values found among keys; missing keys are absent from the map. With an
// L1, keys found there are not asked of Redis.
func (t Typed[T]) GetMany(ctx context.Context, keys []string) (map[string]T, error) {
	c := t.c
	if c.isClosed() {
		return nil, ErrClosed
	}
	out := make(map[string]T, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	if c.l1 == nil && c.local != nil && c.localOff() {
		c.m.add(opGetMany, kindMiss, int64(len(keys)))
		return out, nil // the memory cache may be stale while the broadcast is down
	}
	ask := keys
	var epoch uint64
	if c.l1 != nil && !c.localOff() {
		ask = make([]string, 0, len(keys))
		for _, k := range keys {
			if v, ok, _ := c.l1.get(ctx, k); ok {
				if tv, ok := v.(T); ok {
					out[k] = tv
					continue
				}
			}
			ask = append(ask, k)
		}
		if n := int64(len(keys) - len(ask)); n > 0 {
			c.l1m.add(opGetMany, kindHit, n)
		}
		if len(ask) == 0 {
			return out, nil
		}
		c.l1m.add(opGetMany, kindMiss, int64(len(ask)))
		epoch = c.epoch.Load()
	}
	began := c.start()
	vals, found, err := c.drv.getMany(ctx, ask)
	c.done(ctx, opGetMany, began)
	if err != nil {
		return out, c.failed(ctx, opGetMany, ask[0], err)
	}
	var hits, misses int64
	var decodeErr error
	for i, k := range ask {
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
		if c.l1 != nil {
			// MGET does not say how long a value has left: keep it in the L1 for the default
			// TTL at most (broadcasts remove it earlier when it changes).
			c.fillLocal(k, tv, c.opts.DefaultTTL, nil, epoch)
		}
	}
	if hits > 0 {
		c.m.add(opGetMany, kindHit, hits)
	}
	if misses > 0 {
		c.m.add(opGetMany, kindMiss, misses)
	}
	return out, decodeErr
}

// Set stores v under key for ttl (ttl <= 0: Options.DefaultTTL). With a Broadcast, the other
// instances drop their copy of key.
func (t Typed[T]) Set(ctx context.Context, key string, v T, ttl time.Duration) error {
	return t.store(ctx, key, v, ttl, t.tags, 0, false, 0)
}

// store writes one value; a fill (Remember's) is kept in the in-process store only if no
// invalidation landed since epoch, and in Redis only if none landed since gen (the counter
// read at the miss; negative: unknown, so not stored there); it is not broadcast (it comes
// from the source of truth).
func (t Typed[T]) store(ctx context.Context, key string, v T, ttl time.Duration, tags []string, epoch uint64, fill bool, gen int64) error {
	c := t.c
	if c.isClosed() {
		return ErrClosed
	}
	ttl = c.ttl(ttl)
	if c.l1 == nil && c.local != nil {
		// The memory driver is the only level.
		if fill {
			c.fillLocal(key, v, ttl, tags, epoch)
			return nil
		}
		if !c.localOff() {
			_ = c.local.set(ctx, []item{{key, v}}, ttl, tags)
		}
		return c.publish(ctx, message{Keys: []string{key}})
	}
	ev, err := t.encode(v)
	if err != nil {
		return c.failed(ctx, opSet, key, err)
	}
	if rd, ok := c.drv.(*redisDriver); ok && fill {
		if gen < 0 {
			return nil // the miss did not reach Redis: an invalidation may be unseen
		}
		began := c.start()
		stored, err := rd.fill(ctx, key, ev, ttl, tags, gen)
		c.done(ctx, opSet, began)
		if err != nil {
			return c.failed(ctx, opSet, key, err)
		}
		if stored && c.l1 != nil {
			c.fillLocal(key, v, ttl, tags, epoch)
		}
		return nil
	}
	began := c.start()
	err = c.drv.set(ctx, []item{{key, ev}}, ttl, tags)
	c.done(ctx, opSet, began)
	if err != nil {
		err = c.failed(ctx, opSet, key, err)
	}
	if c.l1 == nil {
		return err
	}
	if fill {
		if err == nil {
			c.fillLocal(key, v, ttl, tags, epoch)
		}
		return err
	}
	if err == nil && !c.localOff() {
		_ = c.l1.set(ctx, []item{{key, v}}, ttl, tags)
	} else {
		_ = c.l1.delete(ctx, []string{key})
	}
	return errors.Join(err, c.publish(ctx, message{Keys: []string{key}}))
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
	ttl = c.ttl(ttl)
	keys := make([]string, 0, len(items))
	plain := make([]item, 0, len(items))
	for k, v := range items {
		keys = append(keys, k)
		plain = append(plain, item{k, v})
	}
	if c.l1 == nil && c.local != nil {
		if !c.localOff() {
			_ = c.local.set(ctx, plain, ttl, t.tags)
		}
		return c.publish(ctx, message{Keys: keys})
	}
	batch := make([]item, 0, len(items))
	for _, it := range plain {
		ev, err := t.encode(it.val.(T))
		if err != nil {
			return c.failed(ctx, opSetMany, it.key, err)
		}
		batch = append(batch, item{it.key, ev})
	}
	began := c.start()
	err := c.drv.set(ctx, batch, ttl, t.tags)
	c.done(ctx, opSetMany, began)
	if err != nil {
		err = c.failed(ctx, opSetMany, batch[0].key, err)
	}
	if c.l1 == nil {
		return err
	}
	if err == nil && !c.localOff() {
		_ = c.l1.set(ctx, plain, ttl, t.tags)
	} else {
		_ = c.l1.delete(ctx, keys)
	}
	return errors.Join(err, c.publish(ctx, message{Keys: keys}))
}

// RememberTagged is Remember for values whose tags are known only once loaded (an article's
// id and author): load returns the value and the tags to store it under. Only load's error is
// returned, and then nothing is stored.
func (t Typed[T]) RememberTagged(ctx context.Context, key string, ttl time.Duration, load func(context.Context) (T, []string, error)) (T, error) {
	return t.remember(ctx, key, ttl, load)
}

// Remember returns the cached value under key, or runs load, stores its value for ttl and
// returns it. Concurrent misses of one key in this process run load once; they all get its
// result, and load runs with the context of the caller that started it. Cache failures are
// logged and counted, never returned: the loader's value is served instead. Only load's own
// error is returned (and nothing is stored).
func (t Typed[T]) Remember(ctx context.Context, key string, ttl time.Duration, load func(context.Context) (T, error)) (T, error) {
	return t.remember(ctx, key, ttl, func(ctx context.Context) (T, []string, error) {
		v, err := load(ctx)
		return v, nil, err
	})
}

func (t Typed[T]) remember(ctx context.Context, key string, ttl time.Duration, load func(context.Context) (T, []string, error)) (T, error) {
	if v, ok, err := t.Get(ctx, key); ok && err == nil {
		return v, nil
	}
	r, err, _ := t.c.sf.Do(key, func() (any, error) {
		// A caller that missed just before another's flight stored the value and ended starts
		// a flight of its own: looking again inside it is what makes the load happen once.
		// The look also reads Redis's invalidation counter, which the fill presents.
		gen := int64(-1)
		if v, ok, err := t.get(ctx, key, &gen); ok && err == nil {
			return v, nil
		}
		epoch := t.c.epoch.Load()
		began := time.Now()
		v, tags, err := load(ctx)
		if err != nil {
			return nil, err
		}
		if time.Since(began) > maxFillAge {
			gen = -1 // the marks of what was invalidated meanwhile may be gone
		}
		_ = t.store(ctx, key, v, ttl, append(append([]string(nil), t.tags...), tags...), epoch, true, gen) // a failure is logged and counted
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
	v, _, err := load(ctx)
	return v, err
}
