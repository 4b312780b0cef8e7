package cache_test

import (
	"context"
	"fmt"
	"time"

	"github.com/brisk-go/brisk/libs/data/cache"
)

// Two caches on one in-process broadcast, as two instances would be on Redis or PostgreSQL: a
// delete through one removes the value from the other.
func ExampleLocalBroadcast() {
	ctx := context.Background()
	o := cache.MemoryOptions{Options: cache.Options{Broadcast: cache.LocalBroadcast{Hub: cache.NewHub()}}}
	a, err := cache.NewMemory(o)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close()
	b, err := cache.NewMemory(o)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()

	titles := cache.Of[string](b)
	_ = titles.Set(ctx, "article:42", "How to train your dragon", time.Minute)
	_, found, _ := titles.Get(ctx, "article:42")
	fmt.Println("b has it:", found)

	_ = a.Delete(ctx, "article:42") // instance a updated the article
	_, found, _ = titles.Get(ctx, "article:42")
	fmt.Println("b has it after a's delete:", found)
	// Output:
	// b has it: true
	// b has it after a's delete: false
}

func ExampleBroadcastFor() {
	for _, mode := range []string{"redis", "postgres", "local", "off"} {
		b, err := cache.BroadcastFor(mode, "redis://127.0.0.1:6379/0", "postgres://app@db:5432/app")
		switch {
		case err != nil:
			fmt.Println(mode, "error:", err)
		case b == nil:
			fmt.Println(mode, "→ no broadcast")
		default:
			fmt.Println(mode, "→", b.Mode())
		}
	}
	_, err := cache.BroadcastFor("postgres", "", "sqlite://var/brisk.db")
	fmt.Println(err)
	// Output:
	// redis → redis
	// postgres → postgres
	// local → local
	// off → no broadcast
	// cache: broadcast over postgres needs a postgres:// DATABASE_URL
}

// Remember loads a value once, however many callers miss it at the same time, and keeps it;
// tags group entries so that one write flushes every entry that shows what it changed.
func ExampleTyped_Remember() {
	ctx := context.Background()
	c, err := cache.NewMemory(cache.MemoryOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	loads := 0
	profile := func(ctx context.Context) (string, error) {
		loads++ // the database read
		return "jake: I work at statefarm", nil
	}
	profiles := cache.Of[string](c).Tags("user:7")
	for range 3 {
		v, _ := profiles.Remember(ctx, "profile:jake", time.Minute, profile)
		fmt.Println(v)
	}
	fmt.Println("loads:", loads)

	// User 7 changed their bio: flush everything tagged with them.
	_ = c.Tags("user:7").Flush(ctx)
	_, _ = profiles.Remember(ctx, "profile:jake", time.Minute, profile)
	fmt.Println("loads after the flush:", loads)
	// Output:
	// jake: I work at statefarm
	// jake: I work at statefarm
	// jake: I work at statefarm
	// loads: 1
	// loads after the flush: 2
}
