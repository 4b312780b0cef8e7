package pool

import (
	"sync"
	"sync/atomic"
)

const localCap = 256

// deque is a worker's local queue for tasks submitted from inside its own
// tasks (nested Submit/Map): the owner pops the newest (its data is still in
// cache), thieves take the oldest. A context can leak to other goroutines,
// so any goroutine may push; a small mutex keeps that safe, and the atomic
// count lets everyone skip an empty deque without taking the lock.
type deque struct {
	mu     sync.Mutex
	buf    []item // made on first push: most workers never get nested work
	head   int    // index of the oldest item
	size   int
	closed bool // the owner exited; pushes must go to the global queue
	n      atomic.Int32
}

func (d *deque) push(it item) bool {
	d.mu.Lock()
	if d.closed || d.size == localCap {
		d.mu.Unlock()
		return false
	}
	if d.buf == nil {
		d.buf = make([]item, localCap)
	}
	d.buf[(d.head+d.size)%localCap] = it
	d.size++
	d.n.Store(int32(d.size))
	d.mu.Unlock()
	return true
}

// popNewest is the owner's end.
func (d *deque) popNewest() (item, bool) {
	if d.n.Load() == 0 {
		return item{}, false
	}
	d.mu.Lock()
	if d.size == 0 {
		d.mu.Unlock()
		return item{}, false
	}
	d.size--
	i := (d.head + d.size) % localCap
	it := d.buf[i]
	d.buf[i] = item{}
	d.n.Store(int32(d.size))
	d.mu.Unlock()
	return it, true
}

// stealOldest is the thieves' end.
func (d *deque) stealOldest() (item, bool) {
	if d.n.Load() == 0 {
		return item{}, false
	}
	d.mu.Lock()
	if d.size == 0 {
		d.mu.Unlock()
		return item{}, false
	}
	it := d.buf[d.head]
	d.buf[d.head] = item{}
	d.head = (d.head + 1) % localCap
	d.size--
	d.n.Store(int32(d.size))
	d.mu.Unlock()
	return it, true
}

// close refuses further pushes and returns what is left.
func (d *deque) close() []item {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	var left []item
	for d.size > 0 {
		left = append(left, d.buf[d.head])
		d.buf[d.head] = item{}
		d.head = (d.head + 1) % localCap
		d.size--
	}
	d.n.Store(0)
	return left
}
