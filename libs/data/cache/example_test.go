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
