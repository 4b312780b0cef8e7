package cache

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestClearEmptiesTheMemoryCache(t *testing.T) {
	ctx := context.Background()
	c, err := NewMemory(MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := Of[string](c)
	if err := s.Tags("t").Set(ctx, "k", "v", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Get(ctx, "k"); !ok {
		t.Fatal("not stored")
	}
	if err := c.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Get(ctx, "k"); ok {
		t.Fatal("still there after Clear")
	}
}

// Redis: Clear deletes the keys under our prefix and nothing else.
func TestClearDeletesOnlyOurRedisKeys(t *testing.T) {
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		t.Skip("TEST_REDIS_URL not set")
	}
	ctx := context.Background()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	prefix := "brisk-clear-test:" + t.Name() + ":"
	c, err := NewRedis(ctx, RedisOptions{URL: url, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	other := "not-brisk-clear-test:" + t.Name()
	if err := rdb.Set(ctx, other, "keep", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	defer rdb.Del(ctx, other)
	if err := Of[string](c).Set(ctx, "k", "v", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := c.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.Exists(ctx, prefix+"v:k").Result(); n != 0 {
		t.Error("our key survived Clear")
	}
	if v, _ := rdb.Get(ctx, other).Result(); v != "keep" {
		t.Error("Clear deleted a key that is not ours")
	}
}
