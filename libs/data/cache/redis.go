package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
)

// RedisOptions configure the Redis driver.
type RedisOptions struct {
	Options
	// URL is redis://[user:pass@]host:port/db (or rediss://). Ignored when Client is set.
	URL string
	// Client, when set, is used as is and not closed by Close.
	Client *redis.Client
	// Prefix starts every key and tag this cache writes (default "brisk:"), so several apps
	// or tests can share one Redis.
	Prefix string
	// Timeout bounds dialing and each command (default 250ms): a slow Redis becomes a miss,
	// not a slow request.
	Timeout time.Duration
	// Cooldown is how long the driver skips Redis after a network error (default 1s).
	Cooldown time.Duration
	// Now is the clock for the cool-down (default time.Now).
	Now func() time.Time
	// NoTracing leaves out redisotel's spans and client metrics.
	NoTracing bool
}

type redisDriver struct {
	rdb       *redis.Client
	own       bool
	prefix    string
	cooldown  time.Duration
	now       func() time.Time
	downUntil atomic.Int64  // unix nanoseconds; 0 when healthy
	timeout   time.Duration // one call in all: see bound
	tripped   func(error)

	// Invalidations that could not reach Redis are replayed before the next call does, so a
	// write made while Redis was unreachable is not followed by a stale read once it is back.
	lost      atomic.Bool
	replaying atomic.Bool
	mu        sync.Mutex
	lostKeys  map[string]struct{}
	lostTags  map[string]struct{}
	lostWhole bool // more than maxLost: wipe every key under the prefix instead
}

// maxLost bounds the invalidations remembered during an outage.
const maxLost = 10_000

// Fill guard. Remember loads a value from the source of truth and then stores it; a delete or
// flush that lands between the two (another request's write committed meanwhile) must win, or
// the value loaded before the write is stored after its invalidation and served until its TTL.
// Every delete, flush and wipe therefore takes the next number of a counter (genKey) and
// leaves it on what it invalidated, in a mark that lives markTTL: the deleted keys, the tags
// and, for a wipe, markAll. A Remember reads the counter in the round trip of its miss and
// stores with fillScript, which refuses when a mark on the key, on any of its tags or markAll
// is newer. A fill slower than maxFillAge is not attempted: its marks may have expired.
const (
	markTTL    = 30 * time.Second
	maxFillAge = markTTL / 2
)

// flushScript deletes every key recorded under each tag, then the tags, atomically, so a key
// tagged while the flush runs is either deleted or recorded after it, and marks each of them
// (see markTTL). It returns the keys it deleted (the L1s drop them: they do not know a value's
// tags). ARGV: the counter's key, the prefix, the marks' TTL in milliseconds.
var flushScript = redis.NewScript(`
local gen = redis.call('INCR', ARGV[1])
local p = ARGV[2]
local function mark(name)
  redis.call('SET', p .. 'm:' .. string.sub(name, #p + 1), gen, 'PX', ARGV[3])
end
local out = {}
for _, tag in ipairs(KEYS) do
  local members = redis.call('SMEMBERS', tag)
  for i = 1, #members, 500 do
    redis.call('DEL', unpack(members, i, math.min(i + 499, #members)))
  end
  for _, m in ipairs(members) do
    out[#out + 1] = m
    mark(m)
  end
  redis.call('DEL', tag)
  mark(tag)
end
return out
`)

// deleteScript deletes KEYS and marks each of them; ARGV as flushScript's.
var deleteScript = redis.NewScript(`
local gen = redis.call('INCR', ARGV[1])
local p = ARGV[2]
for i = 1, #KEYS, 500 do
  redis.call('DEL', unpack(KEYS, i, math.min(i + 499, #KEYS)))
end
for _, k in ipairs(KEYS) do
  redis.call('SET', p .. 'm:' .. string.sub(k, #p + 1), gen, 'PX', ARGV[3])
end
return gen
`)

// fillScript stores a loaded value unless something it depends on was invalidated after the
// counter read at the miss. KEYS: the value's key, markAll, the value's mark, then for each
// tag its set and its mark. ARGV: the counter read at the miss, the value, its TTL in
// milliseconds. It returns 1 when stored, 0 when refused.
var fillScript = redis.NewScript(`
local g = tonumber(ARGV[1])
local function newer(k)
  local v = redis.call('GET', k)
  return v and tonumber(v) > g
end
if newer(KEYS[2]) or newer(KEYS[3]) then return 0 end
for i = 4, #KEYS, 2 do
  if newer(KEYS[i + 1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
for i = 4, #KEYS, 2 do
  redis.call('SADD', KEYS[i], KEYS[1])
  redis.call('PEXPIRE', KEYS[i], ARGV[3], 'NX')
  redis.call('PEXPIRE', KEYS[i], ARGV[3], 'GT')
end
return 1
`)

// NewRedis returns a cache on Redis. It does not wait for Redis to answer: a Redis that is
// down at start is treated like one that goes down later (misses, counted errors) and is used
// as soon as it answers.
func NewRedis(ctx context.Context, o RedisOptions) (*Cache, error) {
	if o.Prefix == "" {
		o.Prefix = "brisk:"
	}
	if o.Timeout <= 0 {
		o.Timeout = 250 * time.Millisecond
	}
	if o.Cooldown <= 0 {
		o.Cooldown = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	d := &redisDriver{rdb: o.Client, prefix: o.Prefix, cooldown: o.Cooldown, now: o.Now, timeout: o.Timeout}
	if d.rdb == nil {
		ro, err := redis.ParseURL(o.URL)
		if err != nil {
			return nil, fmt.Errorf("cache: REDIS_URL: %w", err)
		}
		ro.DialTimeout = o.Timeout
		ro.ReadTimeout = o.Timeout
		ro.WriteTimeout = o.Timeout
		ro.PoolTimeout = o.Timeout
		ro.MaxRetries = -1 // a retry doubles the wait; the next request tries again anyway
		// One dial attempt: go-redis's default is 5, 100ms apart, which put a Redis outage's
		// fallback at ~450ms instead of within Timeout.
		ro.DialerRetries = 1
		// Without it go-redis ignores contexts' deadlines, and bound could not cap a call.
		ro.ContextTimeoutEnabled = true
		d.rdb = redis.NewClient(ro)
		d.own = true
		if !o.NoTracing {
			if err := errors.Join(redisotel.InstrumentTracing(d.rdb), redisotel.InstrumentMetrics(d.rdb)); err != nil {
				_ = d.rdb.Close()
				return nil, fmt.Errorf("cache: instrument redis: %w", err)
			}
		}
	}
	c, err := newCache(d, o.Options, true)
	if err != nil {
		if d.own {
			_ = d.rdb.Close()
		}
		return nil, err
	}
	log := c.opts.Logger
	d.tripped = func(err error) {
		log.Warn("cache: redis failed; serving without it during the cool-down", "cooldown", d.cooldown, "err", err)
	}
	if o.L1Size > 0 && o.Broadcast != nil {
		// An L1 without a broadcast would serve other instances' stale values: only with one.
		if c.l1, err = newMemory(o.L1Size); err != nil {
			_ = c.Close()
			return nil, err
		}
		c.local = c.l1
		if c.l1m, err = newInstruments(c.opts.MeterProvider, "l1"); err != nil {
			_ = c.Close()
			return nil, err
		}
	}
	down := func() bool { until := d.downUntil.Load(); return until != 0 && d.now().UnixNano() < until }
	if err := c.startBroadcast(ctx, d.rdb, down); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// getTTL is get that also returns the time the value has left (0: no expiry), in the same
// round trip, so that an L1 copy never outlives the Redis one. With gen non-nil it also reads
// the invalidation counter into *gen (0 before the first invalidation), for a fill; *gen is
// left as it was when the call fails.
func (d *redisDriver) getTTL(ctx context.Context, key string, gen *int64) (any, time.Duration, bool, error) {
	if err := d.check(ctx); err != nil {
		return nil, 0, false, err
	}
	k := d.key(key)
	var get, counter *redis.StringCmd
	var pttl *redis.DurationCmd
	cctx, cancel := d.bound(ctx)
	defer cancel()
	_, err := d.rdb.Pipelined(cctx, func(p redis.Pipeliner) error {
		get = p.Get(cctx, k)
		pttl = p.PTTL(cctx, k)
		if gen != nil {
			counter = p.Get(cctx, d.genKey())
		}
		return nil
	})
	if err := d.result(ctx, err); err != nil && !errors.Is(err, redis.Nil) {
		return nil, 0, false, err
	}
	if gen != nil {
		switch n, err := counter.Int64(); {
		case err == nil:
			*gen = n
		case errors.Is(err, redis.Nil):
			*gen = 0
		}
	}
	b, err := get.Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, err
	}
	ttl := pttl.Val()
	switch {
	case ttl == -1: // no expiry
		ttl = 0
	case ttl < 0: // expired between the two commands
		return nil, 0, false, nil
	}
	return b, ttl, true, nil
}

// fill stores a value Remember loaded, unless the key, one of tags or the whole prefix was
// invalidated since gen was read (fillScript). It reports whether the value was stored.
func (d *redisDriver) fill(ctx context.Context, key string, val any, ttl time.Duration, tags []string, gen int64) (bool, error) {
	if err := d.check(ctx); err != nil {
		return false, err
	}
	k := d.key(key)
	keys := make([]string, 0, 3+2*len(tags))
	keys = append(keys, k, d.markAll(), d.mark(k))
	for _, t := range tags {
		tk := d.tag(t)
		keys = append(keys, tk, d.mark(tk))
	}
	cctx, cancel := d.bound(ctx)
	defer cancel()
	n, err := fillScript.Run(cctx, d.rdb, keys, gen, val, ttl.Milliseconds()).Int()
	if err := d.result(ctx, err); err != nil {
		return false, err
	}
	return n == 1, nil
}

// SetRedisLogger sends go-redis's own log lines (reconnections, pool trouble) to log as WARN
// lines, instead of plain text on stderr. go-redis has one logger per process: the last call
// wins. Open calls it with Options.Logger.
func SetRedisLogger(log *slog.Logger) {
	if log != nil {
		redis.SetLogger(redisLog{log})
	}
}

type redisLog struct{ log *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.log.WarnContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}

func (d *redisDriver) name() string  { return "redis" }
func (d *redisDriver) encodes() bool { return true }

func (d *redisDriver) key(k string) string { return d.prefix + "v:" + k }
func (d *redisDriver) tag(t string) string { return d.prefix + "t:" + t }

// genKey is the invalidation counter; mark(full) the mark of a key or tag set by its full
// name; markAll the mark a wipe leaves (see markTTL).
func (d *redisDriver) genKey() string          { return d.prefix + "gen" }
func (d *redisDriver) mark(full string) string { return d.prefix + "m:" + full[len(d.prefix):] }
func (d *redisDriver) markAll() string         { return d.prefix + "m:*" }

// invalidationArgs are flushScript's and deleteScript's ARGV.
func (d *redisDriver) invalidationArgs() []any {
	return []any{d.genKey(), d.prefix, markTTL.Milliseconds()}
}

// check refuses calls during the cool-down and replays lost invalidations after it.
func (d *redisDriver) check(ctx context.Context) error {
	if until := d.downUntil.Load(); until != 0 && d.now().UnixNano() < until {
		return ErrUnavailable
	}
	if d.lost.Load() {
		return d.replay(ctx)
	}
	return nil
}

// remember records invalidations that failed, for replay.
func (d *redisDriver) remember(keys, tags []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rememberLocked(keys, tags, false)
}

func (d *redisDriver) rememberLocked(keys, tags []string, whole bool) {
	if d.lostKeys == nil {
		d.lostKeys, d.lostTags = map[string]struct{}{}, map[string]struct{}{}
	}
	for _, k := range keys {
		d.lostKeys[k] = struct{}{}
	}
	for _, t := range tags {
		d.lostTags[t] = struct{}{}
	}
	if whole || len(d.lostKeys)+len(d.lostTags) > maxLost {
		d.lostWhole = true
		clear(d.lostKeys)
		clear(d.lostTags)
	}
	d.lost.Store(true)
}

// replay sends the invalidations lost during an outage. One call replays; the others do not
// wait for it (no lock is held across the network calls) but get ErrUnavailable — a miss,
// served by the loader — since what it has not yet deleted could be stale.
func (d *redisDriver) replay(ctx context.Context) error {
	if !d.replaying.CompareAndSwap(false, true) {
		return ErrUnavailable
	}
	defer d.replaying.Store(false)
	d.mu.Lock()
	if !d.lost.Load() {
		d.mu.Unlock()
		return nil
	}
	whole := d.lostWhole
	keys := make([]string, 0, len(d.lostKeys))
	for k := range d.lostKeys {
		keys = append(keys, k)
	}
	tags := make([]string, 0, len(d.lostTags))
	for t := range d.lostTags {
		tags = append(tags, t)
	}
	clear(d.lostKeys)
	clear(d.lostTags)
	d.lostWhole = false
	d.mu.Unlock()

	var err error
	if whole {
		err = d.wipe(ctx)
	} else {
		ctx, cancel := d.bound(ctx)
		defer cancel()
		if len(keys) > 0 {
			full := make([]string, len(keys))
			for i, k := range keys {
				full[i] = d.key(k)
			}
			err = deleteScript.Run(ctx, d.rdb, full, d.invalidationArgs()...).Err()
		}
		if err == nil && len(tags) > 0 {
			full := make([]string, len(tags))
			for i, t := range tags {
				full[i] = d.tag(t)
			}
			err = flushScript.Run(ctx, d.rdb, full, d.invalidationArgs()...).Err()
		}
	}
	var reply redis.Error
	if err = d.result(ctx, err); err != nil && !errors.As(err, &reply) {
		d.mu.Lock()
		d.rememberLocked(keys, tags, whole) // still owed
		d.mu.Unlock()
		return fmt.Errorf("replay invalidations lost during an outage: %w", err)
	}
	// Done, or refused by Redis itself (retrying would never succeed): forget them, unless
	// more were lost meanwhile.
	d.mu.Lock()
	if len(d.lostKeys) == 0 && len(d.lostTags) == 0 && !d.lostWhole {
		d.lost.Store(false)
	}
	d.mu.Unlock()
	return nil
}

// wipe deletes every key under the prefix (SCAN, not KEYS, so Redis keeps serving) but the
// invalidation counter and the marks, after leaving markAll: a fill that read the counter
// before the wipe is then refused.
func (d *redisDriver) wipe(ctx context.Context) error {
	gen, err := d.rdb.Incr(ctx, d.genKey()).Result()
	if err != nil {
		return err
	}
	if err := d.rdb.Set(ctx, d.markAll(), gen, markTTL).Err(); err != nil {
		return err
	}
	iter := d.rdb.Scan(ctx, 0, d.prefix+"*", 1000).Iterator()
	var batch []string
	marks := d.prefix + "m:"
	for iter.Next(ctx) {
		k := iter.Val()
		if k == d.genKey() || strings.HasPrefix(k, marks) {
			continue
		}
		batch = append(batch, k)
		if len(batch) == 1000 {
			if err := d.rdb.Del(ctx, batch...).Err(); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		return d.rdb.Del(ctx, batch...).Err()
	}
	return nil
}

// bound gives one Redis call the driver's timeout in all (a pooled or new connection, its
// handshake, the command, any attempt go-redis makes on a fresh connection): with Redis paused a
// pipeline took twice the 250 ms read timeout. result is still given the caller's context, so
// that the timeout, Redis's fault, trips the cool-down.
func (d *redisDriver) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d.timeout)
}

// result trips the cool-down on errors that are not Redis replies (network, timeout) unless
// the caller's context ended, and clears it on success.
func (d *redisDriver) result(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, redis.Nil) {
		if d.downUntil.Load() != 0 {
			d.downUntil.Store(0)
		}
		return err
	}
	var reply redis.Error
	if ctx.Err() == nil && !errors.As(err, &reply) {
		if d.downUntil.Swap(d.now().Add(d.cooldown).UnixNano()) == 0 && d.tripped != nil {
			d.tripped(err)
		}
	}
	return err
}

func (d *redisDriver) get(ctx context.Context, key string) (any, bool, error) {
	if err := d.check(ctx); err != nil {
		return nil, false, err
	}
	cctx, cancel := d.bound(ctx)
	defer cancel()
	b, err := d.rdb.Get(cctx, d.key(key)).Bytes()
	if err := d.result(ctx, err); err != nil {
		if errors.Is(err, redis.Nil) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return b, true, nil
}

func (d *redisDriver) getMany(ctx context.Context, keys []string) ([]any, []bool, error) {
	if err := d.check(ctx); err != nil {
		return nil, nil, err
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = d.key(k)
	}
	cctx, cancel := d.bound(ctx)
	defer cancel()
	res, err := d.rdb.MGet(cctx, full...).Result()
	if err := d.result(ctx, err); err != nil {
		return nil, nil, err
	}
	vals := make([]any, len(keys))
	found := make([]bool, len(keys))
	for i, r := range res {
		if s, ok := r.(string); ok {
			vals[i], found[i] = []byte(s), true
		}
	}
	return vals, found, nil
}

func (d *redisDriver) set(ctx context.Context, items []item, ttl time.Duration, tags []string) error {
	if err := d.check(ctx); err != nil {
		return err
	}
	cctx, cancel := d.bound(ctx)
	defer cancel()
	if len(items) == 1 && len(tags) == 0 {
		return d.result(ctx, d.rdb.Set(cctx, d.key(items[0].key), items[0].val, ttl).Err())
	}
	_, err := d.rdb.TxPipelined(cctx, func(p redis.Pipeliner) error {
		ctx := cctx
		for _, it := range items {
			p.Set(ctx, d.key(it.key), it.val, ttl)
		}
		if len(tags) > 0 {
			members := make([]any, len(items))
			for i, it := range items {
				members[i] = d.key(it.key)
			}
			for _, t := range tags {
				tk := d.tag(t)
				p.SAdd(ctx, tk, members...)
				// The tag outlives its longest-lived member: NX sets a first expiry, GT extends it.
				p.ExpireNX(ctx, tk, ttl)
				p.ExpireGT(ctx, tk, ttl)
			}
		}
		return nil
	})
	return d.result(ctx, err)
}

func (d *redisDriver) delete(ctx context.Context, keys []string) error {
	err := d.check(ctx)
	if err == nil {
		full := make([]string, len(keys))
		for i, k := range keys {
			full[i] = d.key(k)
		}
		cctx, cancel := d.bound(ctx)
		err = d.result(ctx, deleteScript.Run(cctx, d.rdb, full, d.invalidationArgs()...).Err())
		cancel()
	}
	if err != nil {
		d.remember(keys, nil)
	}
	return err
}

func (d *redisDriver) flush(ctx context.Context, tags []string) error {
	_, err := d.flushKeys(ctx, tags)
	return err
}

// flushKeys is flush that returns the keys deleted, without the prefix.
func (d *redisDriver) flushKeys(ctx context.Context, tags []string) ([]string, error) {
	var keys []string
	err := d.check(ctx)
	if err == nil {
		full := make([]string, len(tags))
		for i, t := range tags {
			full[i] = d.tag(t)
		}
		var deleted []string
		cctx, cancel := d.bound(ctx)
		deleted, err = flushScript.Run(cctx, d.rdb, full, d.invalidationArgs()...).StringSlice()
		cancel()
		err = d.result(ctx, err)
		kp := d.key("")
		for _, k := range deleted {
			if len(k) > len(kp) && k[:len(kp)] == kp {
				keys = append(keys, k[len(kp):])
			}
		}
	}
	if err != nil {
		d.remember(nil, tags)
	}
	return keys, err
}

func (d *redisDriver) close() error {
	if !d.own {
		return nil
	}
	if err := d.rdb.Close(); err != nil {
		return fmt.Errorf("cache: close redis client: %w", err)
	}
	return nil
}
