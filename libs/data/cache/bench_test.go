package cache_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/redis/go-redis/v9"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/brisk-go/brisk/libs/data/cache"
)

// Side by side: the memory driver (through the typed API, with metrics on the global — no-op
// unless configured — meter provider) against a plain sync.Map holding the same values; the
// Redis driver against raw go-redis calls on the same client doing the same work (JSON
// encode/decode included).

var benchArticle = article{Slug: "how-to-train-your-dragon", Title: "How to train your dragon", Tags: []string{"dragons", "training"}}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("article:%d", i)
	}
	return keys
}

func BenchmarkMemory(b *testing.B) {
	ctx := context.Background()
	c, err := cache.NewMemory(cache.MemoryOptions{Options: cache.Options{Logger: quiet}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	arts := cache.Of[article](c)
	keys := benchKeys(1000)
	for _, k := range keys {
		_ = arts.Set(ctx, k, benchArticle, time.Hour)
	}
	b.Run("get-hit", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, ok, _ := arts.Get(ctx, keys[i%len(keys)]); !ok {
				b.Fatal("miss")
			}
		}
	})
	b.Run("get-miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok, _ := arts.Get(ctx, "absent"); ok {
				b.Fatal("hit")
			}
		}
	})
	b.Run("set", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			_ = arts.Set(ctx, keys[i%len(keys)], benchArticle, time.Hour)
		}
	})
	b.Run("delete", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			_ = arts.Delete(ctx, keys[i%len(keys)])
		}
	})
	for _, k := range keys {
		_ = arts.Set(ctx, k, benchArticle, time.Hour)
	}
	b.Run("get-many-10", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			j := (i * 10) % (len(keys) - 10)
			if m, _ := arts.GetMany(ctx, keys[j:j+10]); len(m) != 10 {
				b.Fatal(len(m))
			}
		}
	})
	b.Run("get-hit-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				_, _, _ = arts.Get(ctx, keys[i%len(keys)])
				i++
			}
		})
	})
	// The same hit with the OTel SDK recording the counters (the app's set-up), to show what
	// the metrics cost on top of the no-op provider above.
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer mp.Shutdown(ctx)
	withSDK, err := cache.NewMemory(cache.MemoryOptions{Options: cache.Options{Logger: quiet, MeterProvider: mp}})
	if err != nil {
		b.Fatal(err)
	}
	defer withSDK.Close()
	sdkArts := cache.Of[article](withSDK)
	for _, k := range keys {
		_ = sdkArts.Set(ctx, k, benchArticle, time.Hour)
	}
	b.Run("get-hit-sdk-metrics", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, ok, _ := sdkArts.Get(ctx, keys[i%len(keys)]); !ok {
				b.Fatal("miss")
			}
		}
	})
}

// BenchmarkOtterRaw is the floor under the memory driver: otter itself, with the same options.
func BenchmarkOtterRaw(b *testing.B) {
	clock := otter.NewCoarseClock(time.Millisecond)
	defer clock.Stop()
	oc := otter.Must(&otter.Options[string, any]{
		MaximumSize: 100_000, Clock: clock,
		ExpiryCalculator: otter.ExpiryWriting[string, any](time.Hour),
	})
	defer oc.StopAllGoroutines()
	keys := benchKeys(1000)
	for _, k := range keys {
		oc.Set(k, benchArticle)
	}
	b.Run("get-hit", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			v, ok := oc.GetIfPresent(keys[i%len(keys)])
			if !ok {
				b.Fatal("miss")
			}
			_ = v.(article)
		}
	})
}

func BenchmarkSyncMap(b *testing.B) {
	var m sync.Map
	keys := benchKeys(1000)
	for _, k := range keys {
		m.Store(k, benchArticle)
	}
	b.Run("get-hit", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			v, ok := m.Load(keys[i%len(keys)])
			if !ok {
				b.Fatal("miss")
			}
			_ = v.(article)
		}
	})
	b.Run("get-miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := m.Load("absent"); ok {
				b.Fatal("hit")
			}
		}
	})
	b.Run("set", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			m.Store(keys[i%len(keys)], benchArticle)
		}
	})
	b.Run("delete", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			m.Delete(keys[i%len(keys)])
		}
	})
	for _, k := range keys {
		m.Store(k, benchArticle)
	}
	b.Run("get-many-10", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			j := (i * 10) % (len(keys) - 10)
			out := make(map[string]article, 10)
			for _, k := range keys[j : j+10] {
				if v, ok := m.Load(k); ok {
					out[k] = v.(article)
				}
			}
			if len(out) != 10 {
				b.Fatal(len(out))
			}
		}
	})
	b.Run("get-hit-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				v, _ := m.Load(keys[i%len(keys)])
				_ = v.(article)
				i++
			}
		})
	})
}

func benchRedis(b *testing.B) (*redis.Client, string) {
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		b.Skip("TEST_REDIS_URL not set")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		b.Fatal(err)
	}
	cl := redis.NewClient(opt)
	b.Cleanup(func() { _ = cl.Close() })
	p := prefix(b)
	b.Cleanup(func() { dropPrefix(b, url, p) })
	return cl, p
}

func BenchmarkRedisDriver(b *testing.B) {
	cl, p := benchRedis(b)
	ctx := context.Background()
	c, err := cache.NewRedis(ctx, cache.RedisOptions{Options: cache.Options{Logger: quiet}, Client: cl, Prefix: p})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	arts := cache.Of[article](c)
	_ = arts.Set(ctx, "hit", benchArticle, time.Hour)
	b.Run("get-hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok, err := arts.Get(ctx, "hit"); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("set", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := arts.Set(ctx, "set", benchArticle, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("get-miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok, err := arts.Get(ctx, "absent"); ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("delete", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := arts.Delete(ctx, "gone"); err != nil {
				b.Fatal(err)
			}
		}
	})
	keys := benchKeys(10)
	for _, k := range keys {
		_ = arts.Set(ctx, k, benchArticle, time.Hour)
	}
	b.Run("get-many-10", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if m, err := arts.GetMany(ctx, keys); len(m) != 10 || err != nil {
				b.Fatal(len(m), err)
			}
		}
	})
}

func BenchmarkRedisRaw(b *testing.B) {
	cl, p := benchRedis(b)
	ctx := context.Background()
	raw, _ := json.Marshal(benchArticle)
	_ = cl.Set(ctx, p+"v:hit", raw, time.Hour).Err()
	b.Run("get-hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bs, err := cl.Get(ctx, p+"v:hit").Bytes()
			if err != nil {
				b.Fatal(err)
			}
			var a article
			if err := json.Unmarshal(bs, &a); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("set", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bs, _ := json.Marshal(benchArticle)
			if err := cl.Set(ctx, p+"v:set", bs, time.Hour).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("get-miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := cl.Get(ctx, p+"v:absent").Err(); !errors.Is(err, redis.Nil) {
				b.Fatal(err)
			}
		}
	})
	b.Run("delete", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := cl.Del(ctx, p+"v:gone").Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	keys := make([]string, 10)
	for i := range keys {
		keys[i] = fmt.Sprintf("%sv:many%d", p, i)
		_ = cl.Set(ctx, keys[i], raw, time.Hour).Err()
	}
	b.Run("get-many-10", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			vs, err := cl.MGet(ctx, keys...).Result()
			if err != nil || len(vs) != 10 {
				b.Fatal(len(vs), err)
			}
			for _, v := range vs {
				var a article
				if err := json.Unmarshal([]byte(v.(string)), &a); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// BenchmarkLevels compares one cached read three ways in one process: the memory cache alone,
// two levels (an L1 in front of Redis, kept coherent by a Redis broadcast) and Redis alone.
// The two-level hit should cost what the memory hit costs (target ≥ 0.95× its throughput).
func BenchmarkLevels(b *testing.B) {
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		b.Skip("TEST_REDIS_URL not set")
	}
	ctx := context.Background()
	mem, err := cache.NewMemory(cache.MemoryOptions{Options: cache.Options{Logger: quiet}})
	if err != nil {
		b.Fatal(err)
	}
	defer mem.Close()
	p1, p2 := prefix(b), prefix(b)
	defer dropPrefix(b, url, p1)
	defer dropPrefix(b, url, p2)
	var ch [6]byte
	_, _ = rand.Read(ch[:])
	two, err := cache.NewRedis(ctx, cache.RedisOptions{Options: cache.Options{Logger: quiet, L1Size: 100_000,
		Broadcast: cache.RedisBroadcast{Channel: "brisk_bench_" + hex.EncodeToString(ch[:])}}, URL: url, Prefix: p1, NoTracing: true})
	if err != nil {
		b.Fatal(err)
	}
	defer two.Close()
	for !two.Broadcasting() {
		time.Sleep(time.Millisecond)
	}
	rc, err := cache.NewRedis(ctx, cache.RedisOptions{Options: cache.Options{Logger: quiet}, URL: url, Prefix: p2, NoTracing: true})
	if err != nil {
		b.Fatal(err)
	}
	defer rc.Close()
	keys := benchKeys(1000)
	for _, c := range []*cache.Cache{mem, two, rc} {
		arts := cache.Of[article](c)
		for _, k := range keys {
			if err := arts.Set(ctx, k, benchArticle, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, lv := range []struct {
		name string
		c    *cache.Cache
	}{{"memory", mem}, {"l1+redis", two}, {"redis", rc}} {
		arts := cache.Of[article](lv.c)
		b.Run(lv.name+"/get-hit", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, ok, _ := arts.Get(ctx, keys[i%len(keys)]); !ok {
					b.Fatal("miss")
				}
			}
		})
	}
}
