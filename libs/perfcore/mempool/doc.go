// Package mempool reuses memory where measurements show it pays: typed
// object pools with a size cap, a size-classed buffer pool, a pooled JSON
// encoder for response writers and cache encoders, and an Allocator for
// many small values of one type with a heap, slab or pool strategy.
//
// Where it does not pay, say so: encoding/json already pools its internal
// state, so pooled encoding mainly saves the final copy; and when the
// number of values is known up front, make([]T, n) is already one
// allocation and beats every Allocator strategy. The benchmarks in the
// bench module and docs/benchmarks.md hold the figures.
//
// # JSONPool and the MEMORY_* settings
//
// JSONPool is the bounded encoder pool behind the API's response bodies:
// MEMORY_POOL_SIZE is the most idle encoders it keeps, MEMORY_SLAB_SIZE the
// capacity a new encoder's buffer starts with (and 8 slabs the most one may
// keep), MEMORY_CLEANUP_INTERVAL how often encoders left idle for a whole
// interval are released. It exports, under the meter name
// "github.com/brisk-go/brisk/libs/perfcore/mempool" with attribute pool:
//
//	perfcore.mempool.gets      Int64ObservableCounter  {encoder}  result=hit (reused) or miss (made)
//	perfcore.mempool.dropped   Int64ObservableCounter  {encoder}  reason=full or oversize, not kept on release
//	perfcore.mempool.released  Int64ObservableCounter  {encoder}  idle ones released by the cleanup sweep
//	perfcore.mempool.idle      Int64ObservableGauge    {encoder}  idle ones kept now
package mempool
