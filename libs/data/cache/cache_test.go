package cache_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"

	"github.com/brisk-go/brisk/libs/data/cache"
)

func TestMain(m *testing.M) {
	cache.SetRedisLogger(quiet) // the outage tests make go-redis complain
	goleak.VerifyTestMain(m)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type article struct {
	Slug  string   `json:"slug"`
	Title string   `json:"title"`
	Tags  []string `json:"tags"`
}

func prefix(t testing.TB) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "test:" + t.Name() + ":" + hex.EncodeToString(b[:]) + ":"
}

// drivers returns a fresh cache of every driver available to this run.
func drivers(t *testing.T, mp *sdkmetric.MeterProvider) map[string]*cache.Cache {
	t.Helper()
	out := map[string]*cache.Cache{}
	o := cache.Options{Logger: quiet}
	if mp != nil {
		o.MeterProvider = mp
	}
	mem, err := cache.NewMemory(cache.MemoryOptions{Options: o})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mem.Close() })
	out["memory"] = mem
	if mp == nil {
		// The memory cache on an in-process broadcast must behave like the plain one.
		lo := o
		lo.Broadcast = cache.LocalBroadcast{}
		local, err := cache.NewMemory(cache.MemoryOptions{Options: lo})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = local.Close() })
		out["memory+local"] = local
	}
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" && os.Getenv("BRISK_REQUIRE_REDIS") == "1" {
		t.Fatal("TEST_REDIS_URL not set and BRISK_REQUIRE_REDIS=1")
	}
	if url != "" {
		p := prefix(t)
		rc, err := cache.NewRedis(context.Background(), cache.RedisOptions{Options: o, URL: url, Prefix: p, NoTracing: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rc.Close(); dropPrefix(t, url, p) })
		out["redis"] = rc
		if mp == nil {
			// Two levels: every behaviour of the API holds with an L1 in front of Redis.
			lo := o
			lo.L1Size, lo.Broadcast = 1000, cache.RedisBroadcast{Channel: channel(t)}
			p2 := prefix(t)
			two, err := cache.NewRedis(context.Background(), cache.RedisOptions{Options: lo, URL: url, Prefix: p2, NoTracing: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = two.Close(); dropPrefix(t, url, p2) })
			waitUntil(t, "two-level cache's broadcast connected", two.Broadcasting)
			out["l1+redis"] = two
		}
	}
	return out
}

// dropPrefix removes what a test left in the shared Redis.
func dropPrefix(t testing.TB, url, p string) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Error(err)
		return
	}
	cl := redis.NewClient(opt)
	defer cl.Close()
	ctx := context.Background()
	var keys []string
	it := cl.Scan(ctx, 0, p+"*", 1000).Iterator()
	for it.Next(ctx) {
		keys = append(keys, it.Val())
	}
	if len(keys) > 0 {
		_ = cl.Del(ctx, keys...).Err()
	}
}

func TestGetSetDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, c := range drivers(t, nil) {
		t.Run(name, func(t *testing.T) {
			arts := cache.Of[article](c)
			if _, ok, err := arts.Get(ctx, "a"); ok || err != nil {
				t.Fatalf("empty cache: ok=%v err=%v", ok, err)
			}
			want := article{Slug: "a", Title: "A", Tags: []string{"x"}}
			if err := arts.Set(ctx, "a", want, time.Minute); err != nil {
				t.Fatal(err)
			}
			got, ok, err := arts.Get(ctx, "a")
			if !ok || err != nil || got.Title != "A" || len(got.Tags) != 1 {
				t.Fatalf("after set: %+v %v %v", got, ok, err)
			}
			if err := arts.Delete(ctx, "a", "never-set"); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := arts.Get(ctx, "a"); ok {
				t.Fatal("found after delete")
			}
		})
	}
}

func TestTTLExpires(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, c := range drivers(t, nil) {
		t.Run(name, func(t *testing.T) {
			n := cache.Of[int](c)
			if err := n.Set(ctx, "short", 1, 30*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if err := n.Set(ctx, "long", 2, time.Hour); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				if _, ok, _ := n.Get(ctx, "short"); !ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("entry with a 30ms TTL still there after 10s")
				}
				time.Sleep(10 * time.Millisecond)
			}
			if v, ok, _ := n.Get(ctx, "long"); !ok || v != 2 {
				t.Fatal("long-lived entry expired with the short one")
			}
		})
	}
}

func TestGetManySetMany(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, c := range drivers(t, nil) {
		t.Run(name, func(t *testing.T) {
			n := cache.Of[int](c)
			if err := n.SetMany(ctx, map[string]int{"a": 1, "b": 2, "c": 3}, time.Minute); err != nil {
				t.Fatal(err)
			}
			got, err := n.GetMany(ctx, []string{"a", "x", "c"})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got["a"] != 1 || got["c"] != 3 {
				t.Fatalf("GetMany: %v", got)
			}
		})
	}
}

func TestRememberRunsTheLoaderOnceForConcurrentMisses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, c := range drivers(t, nil) {
		t.Run(name, func(t *testing.T) {
			n := cache.Of[string](c)
			var calls atomic.Int32
			release := make(chan struct{})
			load := func(context.Context) (string, error) {
				calls.Add(1)
				<-release
				return "loaded", nil
			}
			var wg sync.WaitGroup
			results := make([]string, 20)
			for i := range results {
				wg.Add(1)
				go func() {
					defer wg.Done()
					v, err := n.Remember(ctx, "k", time.Minute, load)
					if err != nil {
						t.Error(err)
					}
					results[i] = v
				}()
			}
			// The loader stores the value before any waiter returns, so callers arriving
			// after the first load find the cache filled: exactly one load either way.
			for calls.Load() == 0 {
				time.Sleep(time.Millisecond)
			}
			close(release)
			wg.Wait()
			if calls.Load() != 1 {
				t.Fatalf("loader ran %d times", calls.Load())
			}
			for _, r := range results {
				if r != "loaded" {
					t.Fatalf("results: %v", results)
				}
			}
			if v, ok, _ := n.Get(ctx, "k"); !ok || v != "loaded" {
				t.Fatal("Remember did not store the value")
			}
		})
	}
}

func TestRememberReturnsLoaderErrorAndStoresNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, c := range drivers(t, nil) {
		t.Run(name, func(t *testing.T) {
			n := cache.Of[int](c)
			boom := errors.New("db down")
			if _, err := n.Remember(ctx, "k", time.Minute, func(context.Context) (int, error) { return 0, boom }); !errors.Is(err, boom) {
				t.Fatalf("want loader error, got %v", err)
			}
			if _, ok, _ := n.Get(ctx, "k"); ok {
				t.Fatal("a failed load was cached")
			}
		})
	}
}

func TestTagsFlushOnlyTheirKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, c := range drivers(t, nil) {
		t.Run(name, func(t *testing.T) {
			n := cache.Of[int](c)
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(n.Tags("article:1").Set(ctx, "a", 1, time.Minute))
			must(n.Tags("article:1", "profile:bob").Set(ctx, "b", 2, time.Minute))
			must(n.Tags("profile:bob").SetMany(ctx, map[string]int{"c": 3}, time.Minute))
			if _, err := n.Tags("profile:ann").Remember(ctx, "e", time.Minute, func(context.Context) (int, error) { return 5, nil }); err != nil {
				t.Fatal(err)
			}
			must(n.Set(ctx, "d", 4, time.Minute))
			if _, err := n.RememberTagged(ctx, "f", time.Minute, func(context.Context) (int, []string, error) {
				return 6, []string{"article:1"}, nil
			}); err != nil {
				t.Fatal(err)
			}
			must(c.Tags("article:1").Flush(ctx))
			present := func(k string) bool { _, ok, _ := n.Get(ctx, k); return ok }
			if present("f") {
				t.Fatal("RememberTagged's tags were not recorded")
			}
			if present("a") || present("b") || !present("c") || !present("d") || !present("e") {
				t.Fatalf("after flush article:1: a=%v b=%v c=%v d=%v e=%v", present("a"), present("b"), present("c"), present("d"), present("e"))
			}
			must(n.Tags("profile:bob").Flush(ctx))
			must(n.Tags("profile:ann").Flush(ctx))
			if present("c") || present("e") || !present("d") {
				t.Fatal("second flush")
			}
			must(c.Tags("never-used").Flush(ctx))
		})
	}
}

func TestWrongTypeIsAMissAndAnError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, c := range drivers(t, nil) {
		t.Run(name, func(t *testing.T) {
			if err := cache.Of[string](c).Set(ctx, "k", "text", time.Minute); err != nil {
				t.Fatal(err)
			}
			if _, ok, err := cache.Of[int](c).Get(ctx, "k"); ok || err == nil {
				t.Fatalf("read as another type: ok=%v err=%v", ok, err)
			}
			// Remember falls through to the loader.
			v, err := cache.Of[int](c).Remember(ctx, "k", time.Minute, func(context.Context) (int, error) { return 7, nil })
			if err != nil || v != 7 {
				t.Fatalf("Remember over a bad value: %v %v", v, err)
			}
		})
	}
}

func TestClosedCache(t *testing.T) {
	c, err := cache.NewMemory(cache.MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if err := cache.Of[int](c).Set(context.Background(), "k", 1, 0); !errors.Is(err, cache.ErrClosed) {
		t.Fatalf("Set after Close: %v", err)
	}
}

// counters reads the cache counters as name/driver/op → value.
func counters(t *testing.T, r *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					drv, _ := p.Attributes.Value("driver")
					op, _ := p.Attributes.Value("op")
					out[fmt.Sprintf("%s/%s/%s", m.Name, drv.AsString(), op.AsString())] += p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					drv, _ := p.Attributes.Value("driver")
					out[m.Name+"/"+drv.AsString()] += int64(p.Count)
				}
			}
		}
	}
	return out
}

func TestMetricsCountHitsMissesAndErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	for name, c := range drivers(t, mp) {
		n := cache.Of[int](c)
		_ = n.Set(ctx, "k", 1, time.Minute)
		_, _, _ = n.Get(ctx, "k")
		_, _, _ = n.Get(ctx, "k")
		_, _, _ = n.Get(ctx, "nope")
		_, _ = n.GetMany(ctx, []string{"k", "nope", "nope2"})
		_ = cache.Of[string](c).Set(ctx, "s", "x", time.Minute)
		_, _, _ = n.Get(ctx, "s") // wrong type: an error
		got := counters(t, reader)
		for metric, want := range map[string]int64{
			"brisk.cache.hits/" + name + "/get":        2,
			"brisk.cache.misses/" + name + "/get":      2,
			"brisk.cache.hits/" + name + "/get_many":   1,
			"brisk.cache.misses/" + name + "/get_many": 2,
			"brisk.cache.errors/" + name + "/get":      1,
		} {
			if got[metric] != want {
				t.Errorf("%s = %d, want %d (all: %v)", metric, got[metric], want, got)
			}
		}
		if name == "redis" && got["brisk.cache.duration/redis"] == 0 {
			t.Error("no redis call timed")
		}
	}
}

// ownRedis runs a redis-server of the test's own on a free loopback port.
type ownRedis struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

func startOwnRedis(t *testing.T, port int) *ownRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("BRISK_REQUIRE_REDIS") == "1" {
			t.Fatal("redis-server not installed and BRISK_REQUIRE_REDIS=1")
		}
		t.Skip("redis-server not installed")
	}
	if port == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
	}
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &ownRedis{t: t, port: port, cmd: cmd}
	t.Cleanup(r.stop)
	cl := redis.NewClient(&redis.Options{Addr: r.addr()})
	defer cl.Close()
	deadline := time.Now().Add(10 * time.Second)
	for cl.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("own redis-server did not answer within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return r
}

func (r *ownRedis) addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

func (r *ownRedis) stop() {
	if r.cmd.ProcessState != nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGCONT)
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 15s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Redis stopped mid-test: Remember keeps serving from the loader without errors; once Redis
// is back, the cache is used again with nothing done by hand.
func TestRedisOutageFallsThroughAndRecovers(t *testing.T) {
	srv := startOwnRedis(t, 0)
	ctx := context.Background()
	c, err := cache.NewRedis(ctx, cache.RedisOptions{
		Options: cache.Options{Logger: quiet}, URL: "redis://" + srv.addr() + "/0",
		Timeout: 100 * time.Millisecond, Cooldown: 20 * time.Millisecond, NoTracing: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n := cache.Of[string](c)
	var loads atomic.Int32
	load := func(context.Context) (string, error) { loads.Add(1); return "from-db", nil }
	remember := func() string {
		t.Helper()
		v, err := n.Remember(ctx, "k", time.Minute, load)
		if err != nil || v != "from-db" {
			t.Fatalf("Remember: %q %v", v, err)
		}
		return v
	}
	remember()
	remember()
	if loads.Load() != 1 {
		t.Fatalf("healthy redis: %d loads for two calls", loads.Load())
	}

	srv.stop()
	for range 5 {
		remember()
	}
	if loads.Load() != 6 {
		t.Fatalf("redis down: want every call served by the loader (6 loads), got %d", loads.Load())
	}

	startOwnRedis(t, srv.port)
	waitUntil(t, "cache used again after restart", func() bool {
		before := loads.Load()
		remember()
		remember()
		return loads.Load()-before <= 1 // the second call was a hit
	})
}

// A slow Redis (process stopped, connections open) is a miss after the timeout, and no stale
// value is served once it answers again. (The DEL sent to the stopped process runs when it
// resumes, so this does not show the replay: TestLostInvalidationIsReplayed does.)
func TestSlowRedisIsAMissAndNothingStaleAfter(t *testing.T) {
	srv := startOwnRedis(t, 0)
	ctx := context.Background()
	c, err := cache.NewRedis(ctx, cache.RedisOptions{
		Options: cache.Options{Logger: quiet}, URL: "redis://" + srv.addr() + "/0",
		Timeout: 100 * time.Millisecond, Cooldown: 20 * time.Millisecond, NoTracing: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n := cache.Of[string](c)
	value := "v1"
	load := func(context.Context) (string, error) { return value, nil }
	if v, _ := n.Tags("t").Remember(ctx, "tagged", time.Minute, load); v != "v1" {
		t.Fatal(v)
	}
	if v, _ := n.Remember(ctx, "plain", time.Minute, load); v != "v1" {
		t.Fatal(v)
	}

	if err := srv.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	value = "v2" // the database changes while Redis hangs
	if err := c.Delete(ctx, "plain"); err == nil {
		t.Fatal("Delete on a hung redis reported success")
	}
	if err := c.Tags("t").Flush(ctx); err == nil {
		t.Fatal("Flush on a hung redis reported success")
	}
	if v, err := n.Remember(ctx, "plain", time.Minute, load); err != nil || v != "v2" {
		t.Fatalf("hung redis: %q %v", v, err)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "redis answering again", func() bool {
		_, _, err := n.Get(ctx, "plain")
		return err == nil
	})
	for _, k := range []string{"plain", "tagged"} {
		if v, err := n.Remember(ctx, k, time.Minute, load); err != nil || v != "v2" {
			t.Fatalf("%s after recovery: %q %v (stale value served)", k, v, err)
		}
	}
}

func TestRememberTaggedReturnsLoaderErrorAndStoresNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, c := range drivers(t, nil) {
		t.Run(name, func(t *testing.T) {
			n := cache.Of[int](c)
			boom := errors.New("db down")
			v, err := n.RememberTagged(ctx, "k", time.Minute, func(context.Context) (int, []string, error) { return 0, []string{"t"}, boom })
			if !errors.Is(err, boom) || v != 0 {
				t.Fatalf("want the loader's error, got %v %v", v, err)
			}
			if _, ok, _ := n.Get(ctx, "k"); ok {
				t.Fatal("a failed load was cached")
			}
		})
	}
}

// ttl 0 means Options.DefaultTTL: neither "never expires" nor "expired at once".
func TestZeroTTLMeansTheDefault(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o := cache.Options{Logger: quiet, DefaultTTL: 3 * time.Second} // long enough to be there at once on a loaded machine
	caches := map[string]*cache.Cache{}
	mem, err := cache.NewMemory(cache.MemoryOptions{Options: o})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mem.Close() })
	caches["memory"] = mem
	if url := os.Getenv("TEST_REDIS_URL"); url != "" {
		p := prefix(t)
		rc, err := cache.NewRedis(ctx, cache.RedisOptions{Options: o, URL: url, Prefix: p, NoTracing: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rc.Close(); dropPrefix(t, url, p) })
		caches["redis"] = rc
	}
	for name, c := range caches {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			zeroTTL(t, name, c)
		})
	}
}

func zeroTTL(t *testing.T, name string, c *cache.Cache) {
	ctx := context.Background()
	n := cache.Of[int](c)
	if err := n.Set(ctx, "k", 1, 0); err != nil {
		t.Fatal(name, err)
	}
	if _, err := n.Remember(ctx, "r", 0, func(context.Context) (int, error) { return 2, nil }); err != nil {
		t.Fatal(name, err)
	}
	for _, k := range []string{"k", "r"} {
		if _, ok, err := n.Get(ctx, k); !ok || err != nil {
			t.Fatalf("%s: %s stored with ttl 0 is not there at once (%v)", name, k, err)
		}
	}
	for _, k := range []string{"k", "r"} {
		waitUntil(t, name+": "+k+" stored with ttl 0 expires after the default TTL", func() bool {
			_, ok, _ := n.Get(ctx, k)
			return !ok
		})
	}
}

// viaProxy returns a Redis cache that reaches TEST_REDIS_URL through a proxy the test can cut,
// with a clock the test moves.
func viaProxy(t *testing.T, now *atomic.Int64) (*cache.Cache, *proxy, string, string) {
	t.Helper()
	url, opt, px, p := proxied(t)
	c, err := cache.NewRedis(context.Background(), cache.RedisOptions{
		Options: cache.Options{Logger: quiet}, URL: fmt.Sprintf("redis://%s/%d", px.addr(), opt.DB), Prefix: p,
		Timeout: time.Second, Cooldown: time.Minute, NoTracing: true, // cuts fail at once; the timeout only has to survive a loaded machine
		Now: func() time.Time { return time.Unix(0, now.Load()) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(); dropPrefix(t, url, p) })
	return c, px, url, p
}

// proxied returns TEST_REDIS_URL parsed, a proxy in front of it and a fresh key prefix.
func proxied(t *testing.T) (string, *redis.Options, *proxy, string) {
	t.Helper()
	url := needRedis(t)
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	return url, opt, startProxy(t, opt.Addr), prefix(t)
}

// After a network error the driver leaves Redis alone for the cool-down, even once it could
// answer; the first call after it uses Redis again.
func TestRedisCoolDownSkipsRedisAfterAnError(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Unix(1000, 0).UnixNano())
	c, px, _, _ := viaProxy(t, &now)
	ctx := context.Background()
	n := cache.Of[string](c)
	if err := n.Set(ctx, "k", "v", time.Hour); err != nil {
		t.Fatal(err)
	}
	px.cut()
	if _, _, err := n.Get(ctx, "k"); err == nil || errors.Is(err, cache.ErrUnavailable) {
		t.Fatalf("Redis unreachable: want the network error, got %v", err)
	}
	px.restore()
	if _, ok, err := n.Get(ctx, "k"); ok || !errors.Is(err, cache.ErrUnavailable) {
		t.Fatalf("inside the cool-down: want ErrUnavailable without calling Redis, got ok=%v %v", ok, err)
	}
	now.Add(int64(2 * time.Minute))
	if v, ok, err := n.Get(ctx, "k"); !ok || err != nil || v != "v" {
		t.Fatalf("after the cool-down: %q %v %v", v, ok, err)
	}
}

// The connection is killed (not paused): the DEL and the tag flush never reach Redis, the
// stale values stay there, and only the replay after the outage removes them.
func TestLostInvalidationIsReplayed(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Unix(1000, 0).UnixNano())
	c, px, url, p := viaProxy(t, &now)
	ctx := context.Background()
	n := cache.Of[string](c)
	var value atomic.Value
	value.Store("v1")
	load := func(context.Context) (string, error) { return value.Load().(string), nil }
	if v, _ := n.Tags("t").Remember(ctx, "tagged", time.Hour, load); v != "v1" {
		t.Fatal(v)
	}
	if v, _ := n.Remember(ctx, "plain", time.Hour, load); v != "v1" {
		t.Fatal(v)
	}
	px.cut()
	value.Store("v2") // the database changes during the outage
	if err := c.Delete(ctx, "plain"); err == nil {
		t.Fatal("Delete with the connection cut reported success")
	}
	if err := c.Tags("t").Flush(ctx); err == nil {
		t.Fatal("Flush with the connection cut reported success")
	}
	if v, err := n.Remember(ctx, "plain", time.Hour, load); err != nil || v != "v2" {
		t.Fatalf("during the outage: %q %v", v, err)
	}
	px.restore()
	// Nothing reached Redis: both stale values are still there.
	opt, _ := redis.ParseURL(url)
	direct := redis.NewClient(opt)
	defer direct.Close()
	if k, err := direct.Exists(ctx, p+"v:plain", p+"v:tagged").Result(); err != nil || k != 2 {
		t.Fatalf("stale values in Redis: %d (%v), want 2: the invalidations were not really lost", k, err)
	}
	now.Add(int64(2 * time.Minute)) // the cool-down is over
	for _, k := range []string{"plain", "tagged"} {
		if v, err := n.Remember(ctx, k, time.Hour, load); err != nil || v != "v2" {
			t.Fatalf("%s after the outage: %q %v (stale value served: no replay)", k, v, err)
		}
	}
}

// More lost invalidations than the driver remembers one by one: the replay wipes every key
// under the prefix instead, the ones never invalidated included.
func TestTooManyLostInvalidationsWipeThePrefix(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Unix(1000, 0).UnixNano())
	c, px, _, _ := viaProxy(t, &now)
	ctx := context.Background()
	n := cache.Of[int](c)
	if err := n.SetMany(ctx, map[string]int{"kept-1": 1, "kept-2": 2}, time.Hour); err != nil {
		t.Fatal(err)
	}
	px.cut()
	for i := range cache.MaxLost + 1 {
		_ = c.Delete(ctx, fmt.Sprint("gone-", i))
	}
	px.restore()
	now.Add(int64(2 * time.Minute))
	got, err := n.GetMany(ctx, []string{"kept-1", "kept-2"})
	if err != nil || len(got) != 0 {
		t.Fatalf("after the wipe: %v %v, want nothing", got, err)
	}
}

// Options without a DefaultTTL give ttl 0 a default of 5 minutes: a zero Options must not
// mean "never expires" (Redis keeps a key set with expiry 0 for ever).
func TestDefaultTTLIsFiveMinutes(t *testing.T) {
	t.Parallel()
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		if os.Getenv("BRISK_REQUIRE_REDIS") == "1" {
			t.Fatal("TEST_REDIS_URL not set and BRISK_REQUIRE_REDIS=1")
		}
		t.Skip("TEST_REDIS_URL not set: the expiry is read from Redis")
	}
	ctx := context.Background()
	p := prefix(t)
	rc, err := cache.NewRedis(ctx, cache.RedisOptions{Options: cache.Options{Logger: quiet}, URL: url, Prefix: p, NoTracing: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rc.Close(); dropPrefix(t, url, p) })
	if err := cache.Of[int](rc).Set(ctx, "k", 1, 0); err != nil {
		t.Fatal(err)
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	raw := redis.NewClient(opt)
	defer raw.Close()
	ttl, err := raw.PTTL(ctx, p+"v:k").Result() // the Redis driver keeps values under PREFIX v:
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 4*time.Minute || ttl > 5*time.Minute {
		t.Fatalf("a key set with ttl 0 and no DefaultTTL expires in %v, want 5m (a little less by now)", ttl)
	}
}

// A failed call is logged on the cache's own Logger, unless the caller's context has ended
// (the caller gave up: its cancellation is no cache failure worth a WARN).
func TestFailuresAreLoggedUnlessTheCallerGaveUp(t *testing.T) {
	var logs strings.Builder
	c, err := cache.NewMemory(cache.MemoryOptions{Options: cache.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	if err := cache.Of[string](c).Set(ctx, "k", "text", time.Minute); err != nil {
		t.Fatal(err)
	}
	// Read as an int, the stored string is a failure of the call.
	if _, _, err := cache.Of[int](c).Get(ctx, "k"); err == nil {
		t.Fatal("reading a string as an int did not fail")
	}
	if !strings.Contains(logs.String(), "cache call failed") || !strings.Contains(logs.String(), "key=k") {
		t.Fatalf("the failure is not on the cache's Logger; it logged %q", logs.String())
	}
	logs.Reset()
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := cache.Of[int](c).Get(gone, "k"); err == nil {
		t.Fatal("reading a string as an int did not fail")
	}
	if logs.Len() != 0 {
		t.Fatalf("a call whose caller had gone was logged: %q", logs.String())
	}
}

// A Remember whose load raced a write: the load read the old value, the write committed and
// invalidated (on another instance: no broadcast, no shared process), and only then the load
// stores. The invalidation must win, or the old value is served until its TTL. Each way of
// invalidating is tried: deleting the key, flushing one of its tags (the key is not under the
// tag yet: only the tag's mark can tell), and on a two-level cache too.
func TestAFillNeverOutlivesAnInvalidationThatRacedIt(t *testing.T) {
	t.Parallel()
	url := needRedis(t)
	ctx := context.Background()
	open := func(p string, l1 bool) *cache.Cache {
		o := cache.Options{Logger: quiet}
		if l1 {
			o.L1Size, o.Broadcast = 100, cache.RedisBroadcast{Channel: channel(t)}
		}
		c, err := cache.NewRedis(ctx, cache.RedisOptions{Options: o, URL: url, Prefix: p, NoTracing: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		if l1 {
			waitUntil(t, "broadcast connected", c.Broadcasting)
		}
		return c
	}
	invalidations := map[string]func(*cache.Cache) error{
		"delete": func(c *cache.Cache) error { return c.Delete(ctx, "k") },
		"flush":  func(c *cache.Cache) error { return c.Tags("t1").Flush(ctx) },
	}
	for _, l1 := range []bool{false, true} {
		for name, invalidate := range invalidations {
			t.Run(fmt.Sprintf("%s/l1=%v", name, l1), func(t *testing.T) {
				p := prefix(t)
				t.Cleanup(func() { dropPrefix(t, url, p) })
				loader, writer := open(p, l1), open(p, false)
				reads := cache.Of[string](loader)
				started, release := make(chan struct{}), make(chan struct{})
				done := make(chan string)
				go func() {
					v, _ := reads.RememberTagged(ctx, "k", time.Minute, func(context.Context) (string, []string, error) {
						close(started)
						<-release
						return "old", []string{"t1", "t2"}, nil
					})
					done <- v
				}()
				<-started
				if err := invalidate(writer); err != nil {
					t.Fatal(err)
				}
				close(release)
				if v := <-done; v != "old" {
					t.Fatalf("Remember returned %q, want the loader's value", v)
				}
				if v, ok, err := cache.Of[string](writer).Get(ctx, "k"); ok || err != nil {
					t.Fatalf("after a %s that raced the load, Redis holds %q (%v): the fill outlived the invalidation", name, v, err)
				}
				if v, ok, _ := reads.Get(ctx, "k"); ok {
					t.Fatalf("after a %s that raced the load, the loading instance serves %q", name, v)
				}
				// Without a race the same Remember stores, for every instance.
				if _, err := reads.RememberTagged(ctx, "k", time.Minute, func(context.Context) (string, []string, error) {
					return "new", []string{"t1", "t2"}, nil
				}); err != nil {
					t.Fatal(err)
				}
				if v, ok, err := cache.Of[string](writer).Get(ctx, "k"); !ok || err != nil || v != "new" {
					t.Fatalf("a fill with no invalidation since its miss: %q %v %v, want \"new\" stored", v, ok, err)
				}
				// And it is still under its tags: flushing one removes it.
				if err := writer.Tags("t2").Flush(ctx); err != nil {
					t.Fatal(err)
				}
				if v, ok, _ := cache.Of[string](writer).Get(ctx, "k"); ok {
					t.Fatalf("flushing t2 left %q", v)
				}
			})
		}
	}
}
