package mempool

import (
	"fmt"
	"sync"
)

// Strategy selects how an Allocator makes values.
type Strategy uint8

// The strategies.
const (
	// Heap: new(T) per value; the baseline and the right choice when
	// values outlive the batch or their count is known (use make([]T, n)).
	Heap Strategy = iota
	// Slab: values are carved out of slabs of SlabSize; one allocation per
	// slab instead of one per value, and Reset reuses the slabs for the
	// next batch. Values must not be used after Reset.
	Slab
	// Pool: values come from a sync.Pool and go back with Free. Pays only
	// when values are freed one by one at a high rate; see the benchmarks.
	Pool
)

// String names the strategy.
func (s Strategy) String() string {
	switch s {
	case Heap:
		return "heap"
	case Slab:
		return "slab"
	case Pool:
		return "pool"
	default:
		return fmt.Sprintf("strategy(%d)", uint8(s))
	}
}

// DefaultSlabSize is the number of values per slab (a count, unlike
// MEMORY_SLAB_SIZE, which sizes JSONPool buffers in bytes).
const DefaultSlabSize = 256

// Allocator hands out *T for many small values of one type, for example
// the rows of a batch find. It is not safe for concurrent use: use one per
// batch or per goroutine.
type Allocator[T any] struct {
	strategy Strategy
	slabSize int
	slabs    [][]T
	slab     int // index of the slab being carved
	next     int // next free index in slabs[slab]
	pool     *sync.Pool
}

// NewAllocator returns an Allocator. slabSize 0 means DefaultSlabSize; it
// only matters for Slab.
func NewAllocator[T any](s Strategy, slabSize int) (*Allocator[T], error) {
	if s > Pool {
		return nil, fmt.Errorf("mempool: new allocator: unknown strategy %d", s)
	}
	if slabSize < 0 {
		return nil, fmt.Errorf("mempool: new allocator: slabSize must be >= 0, got %d", slabSize)
	}
	if slabSize == 0 {
		slabSize = DefaultSlabSize
	}
	a := &Allocator[T]{strategy: s, slabSize: slabSize}
	if s == Pool {
		a.pool = &sync.Pool{New: func() any { return new(T) }}
	}
	return a, nil
}

// Strategy returns the allocator's strategy.
func (a *Allocator[T]) Strategy() Strategy { return a.strategy }

// New returns a pointer to a zero T.
func (a *Allocator[T]) New() *T {
	switch a.strategy {
	case Slab:
		if a.slab == len(a.slabs) {
			a.slabs = append(a.slabs, make([]T, a.slabSize))
		}
		v := &a.slabs[a.slab][a.next]
		if a.next++; a.next == a.slabSize {
			a.slab, a.next = a.slab+1, 0
		}
		return v
	case Pool:
		return a.pool.Get().(*T)
	default:
		return new(T)
	}
}

// Free gives v back. Only the Pool strategy reuses it (zeroed); for Heap
// and Slab it is a no-op.
func (a *Allocator[T]) Free(v *T) {
	if a.strategy == Pool && v != nil {
		var zero T
		*v = zero
		a.pool.Put(v)
	}
}

// Reset ends a batch. For Slab every value handed out so far becomes
// invalid and the slabs are zeroed and reused; for the others it is a
// no-op.
func (a *Allocator[T]) Reset() {
	if a.strategy != Slab {
		return
	}
	for i := 0; i <= a.slab && i < len(a.slabs); i++ {
		clear(a.slabs[i])
	}
	a.slab, a.next = 0, 0
}

// Release drops the slabs so their memory can be collected.
func (a *Allocator[T]) Release() {
	a.slabs, a.slab, a.next = nil, 0, 0
}
