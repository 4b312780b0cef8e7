// Package cache is Brisk's cache-aside layer: one typed API over two drivers, an in-process
// memory cache (the embedded default, backed by otter) and Redis (shared by every instance,
// REDIS_URL).
//
// A *Cache holds the driver; Of[T] gives the typed view that the application uses:
//
//	articles := cache.Of[conduit.Article](c)
//	a, err := articles.Remember(ctx, "article:"+slug, time.Minute, func(ctx context.Context) (conduit.Article, error) {
//		return repo.BySlug(ctx, slug)
//	})
//
// # Semantics
//
//   - Remember runs the loader once for concurrent misses of one key in this process
//     (singleflight), stores its value and returns it.
//   - A cache failure is never the caller's failure in Remember: a Redis error is logged, counted
//     (brisk.cache.errors) and the loader's value is served. Get, Set and friends return the
//     error for callers that want to know, and also log and count it.
//   - After a Redis network error the driver stops calling Redis for a short cool-down
//     (RedisOptions.Cooldown) so a dead Redis does not add a timeout to every request; the next
//     call after the cool-down tries again, so the cache recovers by itself.
//   - RememberTagged is Remember for values whose tags are known once loaded (an article's id
//     and author).
//   - Tags group keys for invalidation: Of[T](c).Tags("article:42").Set(...) records the key
//     under the tag and c.Tags("article:42").Flush(ctx) deletes every key recorded under it.
//
// The memory driver keeps the value itself (no encoding, so a hit is a map lookup): values
// handed to Set and returned by Get are shared, and callers must not mutate them (slices and
// maps inside them included). The Redis driver stores JSON written through perfcore's pooled
// encoder (mempool.AppendJSON) and decodes with encoding/json.
//
// # Metrics
//
// Created on Options.MeterProvider (the OTel global provider when nil) under the meter name
// "github.com/brisk-go/brisk/libs/data/cache", every one with the attributes driver
// (memory | redis) and op (get | get_many | set | set_many | delete | flush):
//
//	brisk.cache.hits       Int64ObservableCounter  {hit}    keys found
//	brisk.cache.misses     Int64ObservableCounter  {miss}   keys not found
//	brisk.cache.errors     Int64ObservableCounter  {error}  failed driver calls (including calls skipped during a cool-down)
//	brisk.cache.duration   Float64Histogram        s        time of one Redis call (memory calls are not timed)
//
// The counters are atomics read when metrics are collected (a synchronous SDK counter's Add
// cost several times a memory hit); they are cumulative monotonic sums like any counter.
// The hit rate of a dashboard is hits / (hits + misses).
package cache
