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
package mempool
