package mempool

import (
	"errors"
	"sync"
)

// ObjectPoolConfig configures an ObjectPool.
type ObjectPoolConfig[T any] struct {
	// New makes a fresh object when the pool is empty. Required.
	New func() T
	// Reset clears an object before it is pooled again. Optional.
	Reset func(T)
	// Size measures an object (for example the capacity of a slice it
	// holds). Optional; with MaxSize it keeps overgrown objects out of the
	// pool so that one huge request does not pin its memory forever.
	Size func(T) int
	// MaxSize: objects whose Size exceeds it are dropped on Put. 0 means
	// no cap.
	MaxSize int
}

// ObjectPool is a typed sync.Pool with reset and a size cap. T should be a
// pointer type: pooling non-pointer values allocates on every Put.
type ObjectPool[T any] struct {
	pool    sync.Pool
	reset   func(T)
	size    func(T) int
	maxSize int
}

// NewObjectPool returns an ObjectPool; it fails when cfg.New is nil or
// MaxSize is negative.
func NewObjectPool[T any](cfg ObjectPoolConfig[T]) (*ObjectPool[T], error) {
	if cfg.New == nil {
		return nil, errors.New("mempool: new object pool: New must not be nil")
	}
	if cfg.MaxSize < 0 {
		return nil, errors.New("mempool: new object pool: MaxSize must be >= 0")
	}
	p := &ObjectPool[T]{reset: cfg.Reset, size: cfg.Size, maxSize: cfg.MaxSize}
	p.pool.New = func() any { return cfg.New() }
	return p, nil
}

// Get returns a pooled object or a new one.
func (p *ObjectPool[T]) Get() T { return p.pool.Get().(T) }

// Put resets v and pools it, unless it is larger than MaxSize. It reports
// whether v was pooled.
func (p *ObjectPool[T]) Put(v T) bool {
	if p.maxSize > 0 && p.size != nil && p.size(v) > p.maxSize {
		return false
	}
	if p.reset != nil {
		p.reset(v)
	}
	p.pool.Put(v)
	return true
}
