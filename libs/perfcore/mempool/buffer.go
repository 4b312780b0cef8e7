package mempool

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
)

// DefaultBufferClasses are the capacities of the default buffer pool.
var DefaultBufferClasses = []int{512, 4 << 10, 32 << 10, 256 << 10}

// BufferPool pools *bytes.Buffer in size classes, so that a small response
// never pins a large buffer and a large one does not regrow from scratch.
// Buffers that grew beyond the largest class are dropped.
type BufferPool struct {
	classes []int
	pools   []sync.Pool
}

// NewBufferPool returns a pool with the given class capacities (ascending,
// positive); none means DefaultBufferClasses.
func NewBufferPool(classes ...int) (*BufferPool, error) {
	if len(classes) == 0 {
		classes = DefaultBufferClasses
	}
	for i, c := range classes {
		if c <= 0 || (i > 0 && c <= classes[i-1]) {
			return nil, fmt.Errorf("mempool: new buffer pool: classes must be positive and ascending, got %v", classes)
		}
	}
	return &BufferPool{classes: slices.Clone(classes), pools: make([]sync.Pool, len(classes))}, nil
}

var defaultBuffers, _ = NewBufferPool()

// Buffers returns the process-wide buffer pool with DefaultBufferClasses.
func Buffers() *BufferPool { return defaultBuffers }

// Get returns an empty buffer with capacity of at least sizeHint (if the
// hint is within the largest class).
func (p *BufferPool) Get(sizeHint int) *bytes.Buffer {
	i, _ := slices.BinarySearch(p.classes, sizeHint)
	if i == len(p.classes) {
		return bytes.NewBuffer(make([]byte, 0, sizeHint))
	}
	if b, ok := p.pools[i].Get().(*bytes.Buffer); ok {
		return b
	}
	return bytes.NewBuffer(make([]byte, 0, p.classes[i]))
}

// Put resets b and pools it in the largest class it can serve. It reports
// whether b was pooled (too small or too large buffers are dropped).
func (p *BufferPool) Put(b *bytes.Buffer) bool {
	if b == nil {
		return false
	}
	c := b.Cap()
	if c > 2*p.classes[len(p.classes)-1] {
		return false
	}
	i, found := slices.BinarySearch(p.classes, c)
	if !found {
		i--
	}
	if i < 0 {
		return false
	}
	b.Reset()
	p.pools[i].Put(b)
	return true
}
