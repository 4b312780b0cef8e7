package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Broadcaster carries deletes and tag flushes between the instances that share a cache, so
// that each one's in-process level never serves what another instance invalidated. The
// implementations are RedisBroadcast (pub/sub), PostgresBroadcast (LISTEN/NOTIFY) and
// LocalBroadcast (in-process); BroadcastFor picks one from a CACHE_BROADCAST word.
//
// A Cache that is given one starts with its in-process level switched off, and switches it on
// once the broadcast is connected. When the connection is lost the level is emptied and
// switched off again (reads go to Redis or the loader), and it is emptied once more when the
// connection is back, before being used again: invalidations sent during the outage cannot
// have been missed by anything still held.
type Broadcaster interface {
	// Mode names the transport: "redis", "postgres" or "local".
	Mode() string
	open(ctx context.Context, env linkEnv) (link, error)
}

// linkEnv is what a Broadcaster gets from the Cache it serves.
type linkEnv struct {
	rdb *redis.Client // the cache's own Redis client; nil for the memory cache
	// rdbDown says the cache's Redis driver is cooling down after an error: a link on the same
	// client does not try to publish then (it would add a timeout to every delete).
	rdbDown func() bool
	recv    receiver
}

// receiver is the Cache side of a link: messages from other instances, and the link's state.
type receiver interface {
	deliver(payload []byte)
	lost(err error)
	restored()
	// idle is called when the link has been quiet for a while: a good time to send a
	// "drop everything" still owed for a publish that failed.
	idle()
}

// link is one Cache's connection to a broadcast.
type link interface {
	start()
	publish(ctx context.Context, payload []byte) error
	// maxPayload is the largest message the transport carries (0: no limit).
	maxPayload() int
	stop() error
}

// message is one invalidation on the wire.
type message struct {
	Origin string   `json:"o"`
	At     int64    `json:"t"` // publish time, unix nanoseconds (for the lag metric)
	Keys   []string `json:"k,omitempty"`
	Tags   []string `json:"g,omitempty"`
	All    bool     `json:"a,omitempty"` // drop everything (too large to send, or lost)
}

// apply removes what msg invalidates from the memory store.
func (m *memory) apply(msg message) {
	if msg.All {
		m.clear()
		return
	}
	_ = m.delete(context.Background(), msg.Keys)
	if len(msg.Tags) > 0 {
		_ = m.flush(context.Background(), msg.Tags)
	}
}

// BroadcastFor returns the Broadcaster for a resolved CACHE_BROADCAST mode: "redis" (the
// cache's own Redis, so redisURL must be set), "postgres" (LISTEN/NOTIFY on databaseURL),
// "local" (in-process), or nil for "off" and "".
func BroadcastFor(mode, redisURL, databaseURL string) (Broadcaster, error) {
	switch mode {
	case "", "off":
		return nil, nil
	case "redis":
		if redisURL == "" {
			return nil, errors.New("cache: broadcast over redis needs REDIS_URL")
		}
		return RedisBroadcast{}, nil
	case "postgres":
		if !strings.HasPrefix(databaseURL, "postgres://") && !strings.HasPrefix(databaseURL, "postgresql://") {
			return nil, errors.New("cache: broadcast over postgres needs a postgres:// DATABASE_URL")
		}
		return PostgresBroadcast{DSN: databaseURL}, nil
	case "local":
		return LocalBroadcast{}, nil
	default:
		return nil, fmt.Errorf("cache: unknown broadcast mode %q (want redis, postgres, local or off)", mode)
	}
}

// broadcast is a Cache's side of its Broadcaster.
type broadcast struct {
	c          *Cache
	mode       string
	origin     string
	link       link
	up         atomic.Bool // connected: the in-process store may be used
	everUp     atomic.Bool
	pendingAll atomic.Bool // a publish failed: tell everyone to drop everything once possible
	stopOnce   sync.Once
	stopErr    error

	lag    metric.Float64Histogram
	resets metric.Int64Counter
	errs   metric.Int64Counter
	attrs  metric.MeasurementOption
	lostA  metric.MeasurementOption
	backA  metric.MeasurementOption
}

// startBroadcast connects c to Options.Broadcast; rdb is c's own Redis client, if any.
func (c *Cache) startBroadcast(ctx context.Context, rdb *redis.Client, rdbDown func() bool) error {
	bc := c.opts.Broadcast
	if bc == nil {
		return nil
	}
	if c.local == nil {
		return nil // Redis alone has nothing in-process to keep coherent
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	b := &broadcast{c: c, mode: bc.Mode(), origin: hex.EncodeToString(id[:])}
	m := c.opts.MeterProvider.Meter("github.com/brisk-go/brisk/libs/data/cache")
	var err, e error
	b.lag, e = m.Float64Histogram("brisk.cache.broadcast.lag", metric.WithUnit("s"),
		metric.WithDescription("Time from publishing an invalidation to applying it on another instance."),
		metric.WithExplicitBucketBoundaries(secondsBuckets...))
	err = errors.Join(err, e)
	b.resets, e = m.Int64Counter("brisk.cache.broadcast.resets", metric.WithUnit("{reset}"),
		metric.WithDescription("In-process cache levels dropped whole because the broadcast connection was lost or came back."))
	err = errors.Join(err, e)
	b.errs, e = m.Int64Counter("brisk.cache.broadcast.errors", metric.WithUnit("{error}"),
		metric.WithDescription("Invalidations that could not be published."))
	err = errors.Join(err, e)
	if err != nil {
		return fmt.Errorf("cache: create broadcast metrics: %w", err)
	}
	mode := attribute.String("mode", b.mode)
	b.attrs = metric.WithAttributeSet(attribute.NewSet(mode))
	b.lostA = metric.WithAttributeSet(attribute.NewSet(mode, attribute.String("reason", "lost")))
	b.backA = metric.WithAttributeSet(attribute.NewSet(mode, attribute.String("reason", "reconnected")))
	l, err := bc.open(ctx, linkEnv{rdb: rdb, rdbDown: rdbDown, recv: b})
	if err != nil {
		return fmt.Errorf("cache: open %s broadcast: %w", b.mode, err)
	}
	b.link = l
	c.bc = b
	l.start()
	return nil
}

// Broadcasting says whether the broadcast is connected (true when there is none): while it
// is not, the in-process level is not used.
func (c *Cache) Broadcasting() bool { return c.bc == nil || c.bc.up.Load() }

func (b *broadcast) stop() error {
	b.stopOnce.Do(func() {
		b.up.Store(false)
		if err := b.link.stop(); err != nil {
			b.stopErr = fmt.Errorf("cache: stop %s broadcast: %w", b.mode, err)
		}
	})
	return b.stopErr
}

func (b *broadcast) deliver(payload []byte) {
	var msg message
	if err := json.Unmarshal(payload, &msg); err != nil {
		b.c.opts.Logger.Warn("cache: unreadable broadcast message; dropping the in-process cache", "mode", b.mode, "err", err)
		msg = message{All: true}
	}
	if msg.Origin == b.origin {
		return // applied when it was sent
	}
	if msg.At > 0 {
		b.lag.Record(context.Background(), b.c.opts.Now().Sub(time.Unix(0, msg.At)).Seconds(), b.attrs)
	}
	b.c.epoch.Add(1)
	b.c.local.apply(msg)
}

func (b *broadcast) lost(err error) {
	b.c.epoch.Add(1)
	b.c.local.clear()
	if b.up.Swap(false) {
		b.resets.Add(context.Background(), 1, b.lostA)
		b.c.opts.Logger.Warn("cache: broadcast connection lost; in-process cache dropped and bypassed until it is back", "mode", b.mode, "err", err)
	}
}

func (b *broadcast) restored() {
	b.c.epoch.Add(1)
	b.c.local.clear()
	b.settle()
	b.up.Store(true)
	if b.everUp.Swap(true) {
		b.resets.Add(context.Background(), 1, b.backA)
		b.c.opts.Logger.Info("cache: broadcast connection back; in-process cache dropped and in use again", "mode", b.mode)
	}
}

func (b *broadcast) idle() { b.settle() }

// settle sends the "drop everything" owed for a failed publish — after the Redis driver has
// replayed the deletes it lost, so that what the other instances reload from Redis is fresh.
func (b *broadcast) settle() {
	if !b.pendingAll.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if rd, ok := b.c.drv.(*redisDriver); ok && rd.lost.Load() {
		_ = rd.check(ctx) // replays them, unless Redis is still cooling down
	}
	_ = b.c.publish(ctx, message{All: true})
}

// owesReplay says the Redis driver still has deletes to replay: a "drop everything" sent now
// would have the other instances reload stale values from Redis.
func (c *Cache) owesReplay() bool {
	rd, ok := c.drv.(*redisDriver)
	return ok && rd.lost.Load()
}

// publish sends msg to the other instances (nothing without a broadcast). A failure is
// logged, counted and returned, and the next publish that gets through first tells everyone
// to drop everything, so a lost message never leaves another instance stale.
func (c *Cache) publish(ctx context.Context, msg message) error {
	b := c.bc
	if b == nil {
		return nil
	}
	if c.owesReplay() {
		// Redis still holds values whose deletes were lost: whatever the other instances
		// reload before the replay may be stale, so they drop everything after it.
		b.pendingAll.Store(true)
	}
	if msg.All && c.owesReplay() {
		return fmt.Errorf("cache: broadcast over %s: %w", b.mode, ErrUnavailable) // stays owed
	}
	if b.pendingAll.Load() && !msg.All && !c.owesReplay() {
		if err := c.publish(ctx, message{All: true}); err != nil {
			return err
		}
	}
	msg.Origin, msg.At = b.origin, c.opts.Now().UnixNano()
	payload, err := json.Marshal(msg)
	if err == nil && b.link.maxPayload() > 0 && len(payload) > b.link.maxPayload() {
		payload, err = json.Marshal(message{Origin: msg.Origin, At: msg.At, All: true})
	}
	if err == nil {
		err = b.link.publish(ctx, payload)
	}
	if err != nil {
		b.pendingAll.Store(true)
		b.errs.Add(context.WithoutCancel(ctx), 1, b.attrs)       // counted even when ctx ended
		if ctx.Err() == nil && !errors.Is(err, ErrUnavailable) { // the cool-down was logged when it began
			c.opts.Logger.WarnContext(ctx, "cache: invalidation not broadcast; every instance will drop its in-process cache once it can be", "mode", b.mode, "err", err)
		}
		return fmt.Errorf("cache: broadcast over %s: %w", b.mode, err)
	}
	if msg.All {
		b.pendingAll.Store(false)
	}
	return nil
}

// sleepCtx waits d or until ctx ends; false when ctx ended.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// backoff is the wait before the n-th reconnection attempt: 50ms doubling to ceiling.
func backoff(n int, ceiling time.Duration) time.Duration {
	d := 50 * time.Millisecond << min(n, 10)
	return min(d, ceiling)
}

// Hub connects the LocalBroadcast caches of one process.
type Hub struct {
	mu    sync.RWMutex
	links map[*localLink]struct{}
}

// NewHub returns an empty Hub.
func NewHub() *Hub { return &Hub{links: map[*localLink]struct{}{}} }

// LocalBroadcast carries invalidations between the caches of one process that share its Hub
// (the embedded default: one process is the whole deployment). A nil Hub connects the cache
// to nothing but itself.
type LocalBroadcast struct{ Hub *Hub }

// Mode is "local".
func (LocalBroadcast) Mode() string { return "local" }

func (lb LocalBroadcast) open(_ context.Context, env linkEnv) (link, error) {
	h := lb.Hub
	if h == nil {
		h = NewHub()
	}
	return &localLink{hub: h, recv: env.recv}, nil
}

type localLink struct {
	hub  *Hub
	recv receiver
}

func (l *localLink) start() {
	l.hub.mu.Lock()
	l.hub.links[l] = struct{}{}
	l.hub.mu.Unlock()
	l.recv.restored()
}

func (l *localLink) publish(_ context.Context, payload []byte) error {
	l.hub.mu.RLock()
	defer l.hub.mu.RUnlock()
	for other := range l.hub.links {
		if other != l {
			other.recv.deliver(payload)
		}
	}
	return nil
}

func (l *localLink) maxPayload() int { return 0 }

func (l *localLink) stop() error {
	l.hub.mu.Lock()
	delete(l.hub.links, l)
	l.hub.mu.Unlock()
	return nil
}
