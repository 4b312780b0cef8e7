// Package cache is Brisk's cache-aside layer: one typed API over two drivers, an in-process
// memory cache (the embedded default, backed by otter) and Redis (shared by every instance,
// REDIS_URL), optionally as two levels: an in-process L1 in front of Redis (L2).
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
// # Two levels and the broadcast
//
// With Options.Broadcast set, every instance keeps values in process and the instances tell
// each other about deletes and tag flushes (Broadcaster: Redis pub/sub, PostgreSQL
// LISTEN/NOTIFY, or in-process). On Redis, Options.L1Size > 0 puts an L1 in front of Redis:
// a read looks in the L1, then in Redis (and keeps what it finds in the L1 for the time Redis
// has left on it), then runs the loader; the singleflight guard and tags work across both.
// Without Redis, the memory cache is the only level and the broadcast keeps the instances'
// copies coherent. A value read or loaded while an invalidation was being applied is not kept
// in process (an epoch counter moves with every invalidation), so a delete never loses a race
// with a fill. In Redis the same holds across instances: every delete, flush and wipe takes
// the next number of a counter and leaves it on what it invalidated (a mark that lives 30s),
// a Remember reads the counter with its miss, and its fill is refused by a script when a mark
// on the key, its tags or the prefix is newer, so a value loaded before another instance's
// write never lands after that write's invalidation. Set and SetMany broadcast a delete of
// their keys: the other instances reload.
//
// While the broadcast connection is down the in-process level is dropped and bypassed; it is
// dropped again when the connection is back (see Broadcaster). Cache.Broadcasting says which.
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
// (memory | redis | l1, the in-process level in front of Redis) and op (get | get_many | set |
// set_many | delete | flush). The L1 hit ratio is hits/(hits+misses) of driver="l1"; the L2's
// is the same ratio of driver="redis", which only L1 misses reach:
//
//	brisk.cache.hits       Int64ObservableCounter  {hit}    keys found
//	brisk.cache.misses     Int64ObservableCounter  {miss}   keys not found
//	brisk.cache.errors     Int64ObservableCounter  {error}  failed driver calls (including calls skipped during a cool-down)
//	brisk.cache.duration   Float64Histogram        s        time of one Redis call (memory calls are not timed)
//
// With a broadcast, also (attribute mode: redis | postgres | local):
//
//	brisk.cache.broadcast.lag     Float64Histogram  s        publish → applied on another instance (clocks of two hosts)
//	brisk.cache.broadcast.resets  Int64Counter      {reset}  in-process level dropped whole; reason lost | reconnected
//	brisk.cache.broadcast.errors  Int64Counter      {error}  invalidations that could not be published
//
// The counters are atomics read when metrics are collected (a synchronous SDK counter's Add
// cost several times a memory hit); they are cumulative monotonic sums like any counter.
// The hit rate of a dashboard is hits / (hits + misses).
package cache
