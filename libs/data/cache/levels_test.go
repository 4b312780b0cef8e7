package cache_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/brisk-go/brisk/libs/data/cache"
)

// twoLevels opens an L1 in front of Redis, reached through a proxy the test can cut, with an
// in-process broadcast (which a Redis outage does not take down, so the L1 stays in use).
func twoLevels(t *testing.T, o cache.Options) (*cache.Cache, *proxy, *redis.Client, string) {
	t.Helper()
	url, opt, px, p := proxied(t)
	o.Logger, o.L1Size = quiet, 100
	o.Broadcast = cache.LocalBroadcast{Hub: cache.NewHub()}
	c, err := cache.NewRedis(context.Background(), cache.RedisOptions{
		Options: o, URL: fmt.Sprintf("redis://%s/%d", px.addr(), opt.DB), Prefix: p,
		Timeout: time.Second, Cooldown: time.Minute, NoTracing: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	direct := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close(); dropPrefix(t, url, p); _ = direct.Close() })
	return c, px, direct, p
}

// A tag flush that fails cannot tell the L1 which keys were under the tag (an L1 filled from
// Redis does not know a value's tags), so the whole L1 is dropped: a value of the flushed tag
// must not be served from it afterwards. (Kills the mutant that broadcasts the tags alone
// after a failed flush.)
func TestAFailedFlushDropsTheWholeL1(t *testing.T) {
	t.Parallel()
	c, px, _, _ := twoLevels(t, cache.Options{})
	ctx := context.Background()
	n := cache.Of[string](c)
	if err := n.Tags("t").Set(ctx, "tagged", "v", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := n.Set(ctx, "other", "w", time.Hour); err != nil {
		t.Fatal(err)
	}
	px.cut()
	if err := n.Tags("t").Flush(ctx); err == nil {
		t.Fatal("the flush succeeded with Redis cut off")
	}
	for _, k := range []string{"tagged", "other"} {
		if v, ok, _ := n.Get(ctx, k); ok {
			t.Errorf("after a failed flush the L1 still served %s=%q", k, v)
		}
	}
}

// The L1 counts its own hits and misses, for Get and GetMany, apart from Redis's: the data
// dashboard's L1 ratio reads them. A value Redis holds without expiry is kept in the L1 (for
// the default TTL), not dropped at once, and not beyond the default TTL either.
func TestL1CountsItsHitsAndKeepsValuesWithoutExpiryForTheDefaultTTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reader, mp := meter(t)
	const defaultTTL = 500 * time.Millisecond
	c, _, direct, p := twoLevels(t, cache.Options{MeterProvider: mp, DefaultTTL: defaultTTL})
	n := cache.Of[string](c)

	// Written behind the cache's back, without expiry, as another tool might.
	if err := direct.Set(ctx, p+"v:k", `"v1"`, 0).Err(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if v, ok, err := n.Get(ctx, "k"); !ok || err != nil || v != "v1" {
			t.Fatalf("Get: %q %v %v", v, ok, err)
		}
	}
	if _, ok, err := n.Get(ctx, "nope"); ok || err != nil {
		t.Fatalf("Get of a missing key: %v %v", ok, err)
	}
	got, err := n.GetMany(ctx, []string{"k", "nope"})
	if err != nil || len(got) != 1 || got["k"] != "v1" {
		t.Fatalf("GetMany: %v %v", got, err)
	}
	counts := counters(t, reader)
	for metric, want := range map[string]int64{
		"brisk.cache.hits/l1/get":           1, // the second Get
		"brisk.cache.misses/l1/get":         2, // the first Get, nope
		"brisk.cache.hits/redis/get":        1,
		"brisk.cache.misses/redis/get":      1,
		"brisk.cache.hits/l1/get_many":      1, // k
		"brisk.cache.misses/l1/get_many":    1, // nope
		"brisk.cache.misses/redis/get_many": 1,
		"brisk.cache.hits/redis/get_many":   0,
	} {
		if counts[metric] != want {
			t.Errorf("%s = %d, want %d (all: %v)", metric, counts[metric], want, counts)
		}
	}

	// Changed behind the cache's back again: the L1 copy lives no longer than the default TTL.
	if err := direct.Set(ctx, p+"v:k", `"v2"`, 0).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(defaultTTL + 200*time.Millisecond)
	if v, ok, err := n.Get(ctx, "k"); !ok || err != nil || v != "v2" {
		t.Fatalf("after the default TTL the L1 served %q (%v %v), want Redis's v2", v, ok, err)
	}
}

// GetMany with an L1 fills the L1 with what Redis returned; a failed Redis leaves the keys
// found in the L1 in the answer and reports the error.
func TestGetManyThroughTheL1(t *testing.T) {
	t.Parallel()
	c, px, _, _ := twoLevels(t, cache.Options{})
	ctx := context.Background()
	n := cache.Of[string](c)
	if err := n.SetMany(ctx, map[string]string{"a": "1", "b": "2"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, err := n.GetMany(ctx, []string{"a", "b", "c"}); err != nil || len(got) != 2 || got["a"] != "1" || got["b"] != "2" {
		t.Fatalf("GetMany: %v %v", got, err)
	}
	px.cut()
	got, err := n.GetMany(ctx, []string{"a", "c"})
	if err == nil || errors.Is(err, cache.ErrClosed) {
		t.Fatalf("GetMany of a key only Redis could answer, Redis cut: err %v, want the network error", err)
	}
	if got["a"] != "1" {
		t.Errorf("GetMany with Redis cut lost the L1's value: %v", got)
	}
}

// A broadcast on the cache's own Redis does not publish while that Redis is cooling down
// after a failure: the invalidation is owed (a "drop everything" once Redis answers) instead
// of each delete paying a failed network call and logging it.
func TestTheBroadcastSkipsARedisThatIsCoolingDown(t *testing.T) {
	t.Parallel()
	var logged strings.Builder
	var mu sync.Mutex
	c, _ := coolingDownWithABroadcast(t, time.Minute, slog.New(slog.NewTextHandler(lockedWriter{&mu, &logged}, nil)), nil)
	ctx := context.Background()
	if err := c.Delete(ctx, "k"); !errors.Is(err, cache.ErrUnavailable) {
		t.Fatalf("Delete during the cool-down: %v, want ErrUnavailable", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(logged.String(), "invalidation not broadcast") {
		t.Fatalf("the broadcast tried the Redis that is cooling down:\n%s", logged.String())
	}
}

// coolingDownWithABroadcast opens a two-level cache whose broadcast runs on its own Redis,
// behind a proxy, waits for the broadcast, then cuts the proxy and fails one Get: the driver is
// cooling down when it returns. now is the driver's clock (nil: the real one).
func coolingDownWithABroadcast(t *testing.T, cooldown time.Duration, logger *slog.Logger, now func() time.Time) (*cache.Cache, *proxy) {
	t.Helper()
	url, opt, px, p := proxied(t)
	c, err := cache.NewRedis(context.Background(), cache.RedisOptions{
		Options: cache.Options{L1Size: 100, Broadcast: cache.RedisBroadcast{Channel: channel(t)}, Logger: logger},
		URL:     fmt.Sprintf("redis://%s/%d", px.addr(), opt.DB), Prefix: p,
		Timeout: time.Second, Cooldown: cooldown, NoTracing: true, Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(); dropPrefix(t, url, p) })
	waitUntil(t, "broadcast connected", c.Broadcasting)
	px.cut()
	if _, _, err := cache.Of[string](c).Get(context.Background(), "x"); err == nil {
		t.Fatal("Get through a cut proxy succeeded")
	}
	return c, px
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// Set, SetMany and Remember's fill keep the value in the L1 as well as in Redis: the next Get
// is answered by the L1 without a network call.
func TestWritesFillTheL1(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reader, mp := meter(t)
	c, _, _, _ := twoLevels(t, cache.Options{MeterProvider: mp})
	n := cache.Of[string](c)
	if err := n.Set(ctx, "a", "1", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := n.SetMany(ctx, map[string]string{"b": "2"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if v, err := n.Remember(ctx, "c", time.Hour, func(context.Context) (string, error) { return "3", nil }); err != nil || v != "3" {
		t.Fatalf("Remember: %q %v", v, err)
	}
	before := counters(t, reader)
	for k, want := range map[string]string{"a": "1", "b": "2", "c": "3"} {
		if v, ok, err := n.Get(ctx, k); !ok || err != nil || v != want {
			t.Fatalf("Get %s: %q %v %v", k, v, ok, err)
		}
	}
	after := counters(t, reader)
	if hits := after["brisk.cache.hits/l1/get"] - before["brisk.cache.hits/l1/get"]; hits != 3 {
		t.Errorf("%d of 3 reads after Set, SetMany and Remember answered by the L1 (all: %v)", hits, after)
	}
	if calls := after["brisk.cache.hits/redis/get"] - before["brisk.cache.hits/redis/get"]; calls != 0 {
		t.Errorf("%d reads went to Redis", calls)
	}
}

// A Remember whose key is cached answers from its first look: one read, counted once, no
// trip through the loader's single flight.
func TestRememberOfACachedKeyReadsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reader, mp := meter(t)
	c, err := cache.NewMemory(cache.MemoryOptions{Options: cache.Options{Logger: quiet, MeterProvider: mp}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n := cache.Of[string](c)
	loads := 0
	load := func(context.Context) (string, error) { loads++; return "v", nil }
	if _, err := n.Remember(ctx, "k", time.Hour, load); err != nil {
		t.Fatal(err)
	}
	before := counters(t, reader)["brisk.cache.hits/memory/get"]
	if v, err := n.Remember(ctx, "k", time.Hour, load); err != nil || v != "v" || loads != 1 {
		t.Fatalf("second Remember: %q %v, %d loads", v, err, loads)
	}
	if hits := counters(t, reader)["brisk.cache.hits/memory/get"] - before; hits != 1 {
		t.Errorf("a Remember of a cached key read it %d times, want 1", hits)
	}
}

// meter returns a meter provider whose metrics the test reads from reader.
func meter(t *testing.T) (*sdkmetric.ManualReader, *sdkmetric.MeterProvider) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return reader, mp
}

// While the broadcast is down the L1 may be stale and is bypassed, but Redis is not: GetMany
// still answers from Redis.
func TestGetManyAsksRedisWhileTheBroadcastIsDown(t *testing.T) {
	t.Parallel()
	url, opt, px, p := proxied(t)
	ch := channel(t)
	c, err := cache.NewRedis(context.Background(), cache.RedisOptions{
		Options: cache.Options{Logger: quiet, L1Size: 100, Broadcast: cache.RedisBroadcast{
			URL: fmt.Sprintf("redis://%s/%d", px.addr(), opt.DB), Channel: ch, Heartbeat: 50 * time.Millisecond,
		}},
		URL: url, Prefix: p, NoTracing: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(); dropPrefix(t, url, p) })
	waitUntil(t, "broadcast connected", c.Broadcasting)
	ctx := context.Background()
	n := cache.Of[string](c)
	if err := n.Set(ctx, "k", "v", time.Hour); err != nil {
		t.Fatal(err)
	}
	px.cut()
	waitUntil(t, "the broadcast notices the cut", func() bool { return !c.Broadcasting() })
	if got, err := n.GetMany(ctx, []string{"k"}); err != nil || got["k"] != "v" {
		t.Fatalf("GetMany with the broadcast down: %v %v, want Redis's k=v", got, err)
	}
}

// SetMany under an L1 writes Redis too: another instance, or this one after its L1 is
// dropped, reads the values there.
func TestSetManyUnderAnL1WritesRedis(t *testing.T) {
	t.Parallel()
	c, _, direct, p := twoLevels(t, cache.Options{})
	ctx := context.Background()
	if err := cache.Of[string](c).SetMany(ctx, map[string]string{"a": "1", "b": "2"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"a": `"1"`, "b": `"2"`} {
		if got, err := direct.Get(ctx, p+"v:"+k).Result(); err != nil || got != want {
			t.Errorf("Redis holds %s=%q (%v), want %s", k, got, err, want)
		}
	}
}

// Clearing a Redis cache with nothing under its prefix succeeds (the last batch of deletes is
// empty and must not be sent: DEL without keys is an error).
func TestClearingAnEmptyRedisCache(t *testing.T) {
	t.Parallel()
	c, _, _, _ := twoLevels(t, cache.Options{})
	if err := c.Clear(context.Background()); err != nil {
		t.Fatalf("Clear of an empty cache: %v", err)
	}
}

// The broadcast's view of the cool-down ends when the driver's does: at its deadline exactly,
// a delete goes to Redis and is broadcast.
func TestTheBroadcastUsesRedisAgainAtTheEndOfTheCooldown(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Unix(1000, 0).UnixNano())
	const cooldown = time.Minute
	c, px := coolingDownWithABroadcast(t, cooldown, quiet, func() time.Time { return time.Unix(0, now.Load()) })
	ctx := context.Background()
	px.restore()
	waitUntil(t, "broadcast reconnected", c.Broadcasting)
	now.Add(int64(cooldown)) // the failed Get's clock reading plus the cool-down: its deadline
	if err := c.Delete(ctx, "k"); err != nil {
		t.Fatalf("Delete at the end of the cool-down: %v, want it sent and broadcast", err)
	}
}
