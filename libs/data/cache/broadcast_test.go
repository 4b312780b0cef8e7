package cache_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/brisk-go/brisk/libs/data/cache"
)

// instance is one cache as one app instance would hold it, with its own metrics.
type instance struct {
	c      *cache.Cache
	reader *sdkmetric.ManualReader
}

func newInstance(t *testing.T, open func(cache.Options) (*cache.Cache, error)) instance {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	c, err := open(cache.Options{Logger: quiet, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error("close:", err)
		}
		if err := c.Close(); err != nil {
			t.Error("second close:", err)
		}
	})
	return instance{c: c, reader: reader}
}

// metric sums the points of one metric whose attribute attr is val ("" matches all); for a
// histogram it sums the counts.
func (in instance) metric(t *testing.T, name, attr, val string) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := in.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					if v, _ := p.Attributes.Value(attribute.Key(attr)); val == "" || v.AsString() == val {
						n += p.Value
					}
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					n += int64(p.Count)
				}
			}
		}
	}
	return n
}

func waitConnected(t *testing.T, ins ...instance) {
	t.Helper()
	for _, in := range ins {
		waitUntil(t, "broadcast connected", in.c.Broadcasting)
	}
}

// channel is a broadcast channel of the test's own: pub/sub is global to a Redis server.
func channel(t *testing.T) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "brisk_test_" + hex.EncodeToString(b[:])
}

// source stands for the database: loaders read it, writes change it.
type source struct{ v atomic.Value }

func (s *source) set(v string) { s.v.Store(v) }
func (s *source) load(context.Context) (string, error) {
	return s.v.Load().(string), nil
}
func (s *source) loadTagged(tag string) func(context.Context) (string, []string, error) {
	return func(context.Context) (string, []string, error) { return s.v.Load().(string), []string{tag}, nil }
}

// coherent checks what every shared-cache deployment must do: a value cached by instance b
// is gone from b once instance a deletes it, flushes its tag or overwrites it.
func coherent(t *testing.T, a, b instance) {
	ctx := context.Background()
	waitConnected(t, a, b)
	for _, step := range []struct {
		name       string
		invalidate func(key, tag string) error
	}{
		{"delete", func(key, _ string) error { return a.c.Delete(ctx, key) }},
		{"flush", func(_, tag string) error { return a.c.Tags(tag).Flush(ctx) }},
		{"set", func(key, _ string) error { return cache.Of[string](a.c).Set(ctx, key, "written-by-a", time.Minute) }},
	} {
		key, tag := "article:"+step.name, "tag:"+step.name
		var db source
		db.set("v1")
		for _, in := range []instance{a, b} {
			if v, err := cache.Of[string](in.c).RememberTagged(ctx, key, time.Minute, db.loadTagged(tag)); err != nil || v != "v1" {
				t.Fatalf("%s: first read: %q %v", step.name, v, err)
			}
		}
		// b now serves the value from its in-process level.
		before := b.metric(t, "brisk.cache.hits", "", "")
		if v, ok, err := cache.Of[string](b.c).Get(ctx, key); !ok || err != nil || v != "v1" {
			t.Fatalf("%s: b lost its copy: %q %v %v", step.name, v, ok, err)
		}
		if b.metric(t, "brisk.cache.hits", "", "") != before+1 {
			t.Fatalf("%s: b's read was not a hit", step.name)
		}
		db.set("v2")
		if err := step.invalidate(key, tag); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		waitUntil(t, step.name+" through a reaches b", func() bool {
			v, err := cache.Of[string](b.c).Remember(ctx, key, time.Minute, db.load)
			return err == nil && v != "v1"
		})
	}
	if b.metric(t, "brisk.cache.broadcast.lag", "", "") == 0 {
		t.Error("b applied invalidations but recorded no broadcast lag")
	}
}

// twoOverRedis opens two instances with an L1 over one Redis prefix, kept coherent by a
// broadcast on that Redis (the channel returned).
func twoOverRedis(t *testing.T) (a, b instance, redisURL, ch string) {
	t.Helper()
	redisURL = needRedis(t)
	p := prefix(t)
	ch = channel(t)
	t.Cleanup(func() { dropPrefix(t, redisURL, p) })
	open := func(o cache.Options) (*cache.Cache, error) {
		o.L1Size, o.Broadcast = 1000, cache.RedisBroadcast{Channel: ch}
		return cache.NewRedis(context.Background(), cache.RedisOptions{Options: o, URL: redisURL, Prefix: p, NoTracing: true})
	}
	return newInstance(t, open), newInstance(t, open), redisURL, ch
}

func TestTwoInstancesOverRedisStayCoherent(t *testing.T) {
	t.Parallel()
	a, b, _, _ := twoOverRedis(t)
	if a.c.Levels() != "l1+redis" {
		t.Fatalf("levels: %s", a.c.Levels())
	}
	coherent(t, a, b)
	// The L1 did its job: b answered some reads without Redis.
	if b.metric(t, "brisk.cache.hits", "driver", "l1") == 0 {
		t.Error("no L1 hit counted")
	}
}

func TestTwoInstancesOverPostgresStayCoherent(t *testing.T) {
	t.Parallel()
	dsn := needPostgres(t)
	ch := channel(t)
	open := func(o cache.Options) (*cache.Cache, error) {
		o.Broadcast = cache.PostgresBroadcast{DSN: dsn, Channel: ch}
		return cache.NewMemory(cache.MemoryOptions{Options: o})
	}
	coherent(t, newInstance(t, open), newInstance(t, open))
}

func TestTwoInstancesInOneProcessStayCoherent(t *testing.T) {
	t.Parallel()
	hub := cache.NewHub()
	open := func(o cache.Options) (*cache.Cache, error) {
		o.Broadcast = cache.LocalBroadcast{Hub: hub}
		return cache.NewMemory(cache.MemoryOptions{Options: o})
	}
	coherent(t, newInstance(t, open), newInstance(t, open))
}

// outage runs the scenario every broadcast must survive: b's connection is killed while a
// invalidates; b never serves the stale value, during the outage or after it reconnects.
func outage(t *testing.T, a, b instance, kill, heal func()) {
	ctx := context.Background()
	waitConnected(t, a, b)
	var db source
	db.set("v1")
	for _, in := range []instance{a, b} {
		if v, err := cache.Of[string](in.c).Remember(ctx, "k", time.Minute, db.load); err != nil || v != "v1" {
			t.Fatalf("first read: %q %v", v, err)
		}
	}
	kill()
	waitUntil(t, "b notices the lost connection", func() bool { return !b.c.Broadcasting() })
	// b keeps serving (from the loader) during the outage; what it reads must not be kept
	// where a missed invalidation would leave it stale.
	if v, err := cache.Of[string](b.c).Remember(ctx, "k", time.Minute, db.load); err != nil || v != "v1" {
		t.Fatalf("during the outage: %q %v", v, err)
	}
	db.set("v2")
	if err := a.c.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if v, err := cache.Of[string](b.c).Remember(ctx, "k", time.Minute, db.load); err != nil || v != "v2" {
		t.Fatalf("during the outage b served %q (%v), want the loader's v2", v, err)
	}
	heal()
	waitUntil(t, "b reconnects", b.c.Broadcasting)
	if v, err := cache.Of[string](b.c).Remember(ctx, "k", time.Minute, db.load); err != nil || v != "v2" {
		t.Fatalf("after the outage b served %q (%v), want v2", v, err)
	}
	// And it is coherent again: the next invalidation reaches it.
	db.set("v3")
	if err := a.c.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "invalidation after reconnect reaches b", func() bool {
		v, err := cache.Of[string](b.c).Remember(ctx, "k", time.Minute, db.load)
		return err == nil && v == "v3"
	})
	if lost, back := b.metric(t, "brisk.cache.broadcast.resets", "reason", "lost"), b.metric(t, "brisk.cache.broadcast.resets", "reason", "reconnected"); lost == 0 || back == 0 {
		t.Errorf("resets counted: lost=%d reconnected=%d, want both > 0", lost, back)
	}
}

func TestRedisBroadcastOutageNeverLeavesAnInstanceStale(t *testing.T) {
	t.Parallel()
	redisURL := needRedis(t)
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	px := startProxy(t, opt.Addr)
	p, ch := prefix(t), channel(t)
	t.Cleanup(func() { dropPrefix(t, redisURL, p) })
	openVia := func(u string) func(cache.Options) (*cache.Cache, error) {
		return func(o cache.Options) (*cache.Cache, error) {
			o.L1Size, o.Broadcast = 1000, cache.RedisBroadcast{Channel: ch, Heartbeat: 100 * time.Millisecond}
			return cache.NewRedis(context.Background(), cache.RedisOptions{Options: o, URL: u, Prefix: p, NoTracing: true,
				Timeout: 100 * time.Millisecond, Cooldown: 20 * time.Millisecond})
		}
	}
	a := newInstance(t, openVia(redisURL))
	b := newInstance(t, openVia(fmt.Sprintf("redis://%s/%d", px.addr(), opt.DB)))
	outage(t, a, b, px.cut, px.restore)
}

func TestPostgresBroadcastOutageNeverLeavesAnInstanceStale(t *testing.T) {
	t.Parallel()
	dsn := needPostgres(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	px := startProxy(t, u.Host)
	viaProxy := *u
	viaProxy.Host = px.addr()
	ch := channel(t)
	openOn := func(dsn string) func(cache.Options) (*cache.Cache, error) {
		return func(o cache.Options) (*cache.Cache, error) {
			o.Broadcast = cache.PostgresBroadcast{DSN: dsn, Channel: ch}
			return cache.NewMemory(cache.MemoryOptions{Options: o})
		}
	}
	a, b := newInstance(t, openOn(dsn)), newInstance(t, openOn(viaProxy.String()))
	waitConnected(t, a, b)

	// The server ends b's LISTEN session: b drops its cache and listens again by itself.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var killed int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'brisk-cache-listen' AND query = $1`,
		"LISTEN "+pgx.Identifier{ch}.Sanitize()).Scan(&killed); err != nil || killed != 2 {
		t.Fatalf("terminate the listeners: %d killed, want 2 (%v)", killed, err)
	}
	for _, in := range []instance{a, b} {
		waitUntil(t, "the lost connection counted and listening again", func() bool {
			return in.metric(t, "brisk.cache.broadcast.resets", "reason", "reconnected") > 0 && in.c.Broadcasting()
		})
	}
	// Now an outage long enough to miss an invalidation.
	outage(t, a, b, px.cut, px.restore)
}

func TestOpenBuildsTheLevelsFromOptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mem, err := cache.Open(ctx, "", cache.Options{Logger: quiet, Broadcast: cache.LocalBroadcast{}})
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	if mem.Levels() != "memory" || !mem.Broadcasting() {
		t.Fatalf("memory cache: levels %s, broadcasting %v", mem.Levels(), mem.Broadcasting())
	}
	if _, err := cache.BroadcastFor("redis", "", ""); err == nil {
		t.Error("redis broadcast without REDIS_URL accepted")
	}
	if _, err := cache.BroadcastFor("pigeon", "", ""); err == nil {
		t.Error("unknown mode accepted")
	}
	redisURL := needRedis(t)
	for _, tc := range []struct {
		o    cache.Options
		want string
	}{
		{cache.Options{Logger: quiet, L1Size: 100, Broadcast: cache.RedisBroadcast{Channel: channel(t)}}, "l1+redis"},
		{cache.Options{Logger: quiet, L1Size: 0, Broadcast: cache.RedisBroadcast{Channel: channel(t)}}, "redis"},
		{cache.Options{Logger: quiet, L1Size: 100}, "redis"}, // an L1 needs a broadcast
	} {
		c, err := cache.Open(ctx, redisURL, tc.o)
		if err != nil {
			t.Fatal(err)
		}
		if c.Levels() != tc.want {
			t.Errorf("L1Size %d, broadcast %v: levels %s, want %s", tc.o.L1Size, tc.o.Broadcast != nil, c.Levels(), tc.want)
		}
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	}
}

// A Redis that stops answering (process stopped, connection open) is noticed by the
// subscription's heartbeat: the instance stops using its L1 until Redis is back.
func TestRedisBroadcastNoticesAHungRedis(t *testing.T) {
	t.Parallel()
	srv := startOwnRedis(t, 0)
	ch := channel(t)
	in := newInstance(t, func(o cache.Options) (*cache.Cache, error) {
		o.L1Size, o.Broadcast = 100, cache.RedisBroadcast{Channel: ch, Heartbeat: 50 * time.Millisecond}
		return cache.NewRedis(context.Background(), cache.RedisOptions{Options: o, URL: "redis://" + srv.addr() + "/0",
			Timeout: 100 * time.Millisecond, Cooldown: 20 * time.Millisecond, NoTracing: true})
	})
	waitConnected(t, in)
	if err := srv.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "hung Redis noticed", func() bool { return !in.c.Broadcasting() })
	if err := srv.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "subscribed again", in.c.Broadcasting)
	if in.metric(t, "brisk.cache.broadcast.resets", "reason", "lost") == 0 {
		t.Error("loss not counted")
	}
}

// The replay of lost invalidations holds no lock across its network calls: a call that
// arrives while it runs does not wait for it, and is a miss (ErrUnavailable) rather than a
// read of what the replay has not deleted yet.
func TestReplayDoesNotBlockOtherCalls(t *testing.T) {
	t.Parallel()
	srv := startOwnRedis(t, 0)
	px := startProxy(t, srv.addr())
	var now atomic.Int64
	now.Store(time.Unix(1000, 0).UnixNano())
	c, err := cache.NewRedis(context.Background(), cache.RedisOptions{
		Options: cache.Options{Logger: quiet}, URL: "redis://" + px.addr() + "/0",
		Timeout: 5 * time.Second, Cooldown: time.Minute, NoTracing: true,
		Now: func() time.Time { return time.Unix(0, now.Load()) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	n := cache.Of[string](c)
	if err := n.Set(ctx, "k", "stale", time.Hour); err != nil {
		t.Fatal(err)
	}
	px.cut()
	if err := c.Delete(ctx, "k"); err == nil {
		t.Fatal("delete with the connection cut reported success")
	}
	px.restore()
	// Redis hangs: the replay's DEL will wait (up to the 5s timeout).
	if err := srv.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	now.Add(int64(2 * time.Minute))
	first := make(chan error, 1)
	go func() { _, _, err := n.Get(ctx, "other"); first <- err }()
	waitUntil(t, "replay started", func() bool { return cache.Replaying(c) })
	_, ok, err := n.Get(ctx, "k")
	stillReplaying := cache.Replaying(c)
	if err := srv.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if ok || !errors.Is(err, cache.ErrUnavailable) || !stillReplaying {
		t.Fatalf("during the replay: ok=%v err=%v, replay still running when it returned: %v; want a miss with ErrUnavailable, without waiting", ok, err, stillReplaying)
	}
	<-first
	waitUntil(t, "the replayed delete removed the stale value", func() bool {
		v, ok, err := n.Get(ctx, "k")
		return err == nil && !ok && v == ""
	})
}

// Instance a cannot reach Redis when it deletes: neither the DEL nor its broadcast get out.
// Once a's connection is back, a replays the DEL and then tells everyone to drop everything,
// with no further call from a's users: b stops serving the stale value by itself.
func TestInvalidationLostByOneInstanceReachesTheOthersAfter(t *testing.T) {
	t.Parallel()
	redisURL := needRedis(t)
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	px := startProxy(t, opt.Addr)
	p, ch := prefix(t), channel(t)
	t.Cleanup(func() { dropPrefix(t, redisURL, p) })
	openVia := func(u string) func(cache.Options) (*cache.Cache, error) {
		return func(o cache.Options) (*cache.Cache, error) {
			o.L1Size, o.Broadcast = 1000, cache.RedisBroadcast{Channel: ch, Heartbeat: 50 * time.Millisecond}
			return cache.NewRedis(context.Background(), cache.RedisOptions{Options: o, URL: u, Prefix: p, NoTracing: true,
				Timeout: 100 * time.Millisecond, Cooldown: 20 * time.Millisecond})
		}
	}
	a := newInstance(t, openVia(fmt.Sprintf("redis://%s/%d", px.addr(), opt.DB)))
	b := newInstance(t, openVia(redisURL))
	waitConnected(t, a, b)
	ctx := context.Background()
	var db source
	db.set("v1")
	for _, in := range []instance{a, b} {
		if v, err := cache.Of[string](in.c).Remember(ctx, "k", time.Minute, db.load); err != nil || v != "v1" {
			t.Fatalf("first read: %q %v", v, err)
		}
	}
	px.cut()
	db.set("v2")
	if err := a.c.Delete(ctx, "k"); err == nil {
		t.Fatal("delete with a's connection cut reported success")
	}
	px.restore()
	waitUntil(t, "b stops serving the value a deleted during its outage", func() bool {
		v, err := cache.Of[string](b.c).Remember(ctx, "k", time.Minute, db.load)
		return err == nil && v == "v2"
	})
}

// A message without a publish time (another program on the channel, an older version) is
// applied, and records no lag: a lag measured from the zero time would be 56 years.
func TestAMessageWithoutATimeRecordsNoLag(t *testing.T) {
	t.Parallel()
	a, b, redisURL, ch := twoOverRedis(t)
	waitConnected(t, a, b)
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	if err := rdb.Publish(ctx, ch, `{"o":"another program","k":["untimed"]}`).Err(); err != nil {
		t.Fatal(err)
	}
	// a's delete is published after it on the same channel, so b has applied both once it
	// sees a's.
	var db source
	db.set("v1")
	if _, err := cache.Of[string](b.c).Remember(ctx, "timed", time.Minute, db.load); err != nil {
		t.Fatal(err)
	}
	db.set("v2")
	if err := a.c.Delete(ctx, "timed"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a's delete reaches b", func() bool {
		v, err := cache.Of[string](b.c).Remember(ctx, "timed", time.Minute, db.load)
		return err == nil && v == "v2"
	})
	if n := b.metric(t, "brisk.cache.broadcast.lag", "", ""); n != 1 {
		t.Fatalf("b recorded %d broadcast lags, want 1 (a's delete; none for the message without a time)", n)
	}
}

// An idle subscription is pinged every heartbeat; a ping answered is no reason to reconnect
// (which would drop the in-process level each time).
func TestAnIdleBroadcastStaysConnected(t *testing.T) {
	t.Parallel()
	redisURL := needRedis(t)
	p, ch := prefix(t), channel(t)
	t.Cleanup(func() { dropPrefix(t, redisURL, p) })
	a := newInstance(t, func(o cache.Options) (*cache.Cache, error) {
		o.L1Size, o.Broadcast = 1000, cache.RedisBroadcast{Channel: ch, Heartbeat: 20 * time.Millisecond}
		return cache.NewRedis(context.Background(), cache.RedisOptions{Options: o, URL: redisURL, Prefix: p, NoTracing: true})
	})
	waitConnected(t, a)
	ctx := context.Background()
	if err := cache.Of[string](a.c).Set(ctx, "kept", "v", time.Minute); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // about 15 heartbeats with nothing on the channel
	if n := a.metric(t, "brisk.cache.broadcast.resets", "", ""); n != 0 {
		t.Fatalf("an idle broadcast reset %d times", n)
	}
	hits := a.metric(t, "brisk.cache.hits", "driver", "l1")
	if _, ok, err := cache.Of[string](a.c).Get(ctx, "kept"); !ok || err != nil {
		t.Fatalf("get: %v %v", ok, err)
	}
	if a.metric(t, "brisk.cache.hits", "driver", "l1") != hits+1 {
		t.Fatal("the L1 lost its value while the broadcast was idle")
	}
}
