package pool

import "sync/atomic"

// item is one queued task. enq is the sampled enqueue time in nanoseconds
// since the pool's epoch, or 0 when this task's timings are not sampled.
type item struct {
	r   runner
	enq int64
}

// cacheLinePad keeps the hot indices of a ring on separate cache lines so
// that producers and consumers do not invalidate each other's line.
type cacheLinePad [64]byte

type cell struct {
	seq atomic.Uint64
	it  item
}

// ring is a bounded multi-producer multi-consumer FIFO (the classic
// sequence-numbered array queue): one CAS per push and per pop, no
// allocation, no lock. The sequence number of a cell says whose turn it is,
// and its atomic store/load publishes the item between goroutines.
type ring struct {
	_     cacheLinePad
	tail  atomic.Uint64
	_     cacheLinePad
	head  atomic.Uint64
	_     cacheLinePad
	mask  uint64
	cells []cell
}

func newRing(size int) *ring {
	n := 2 // the sequence scheme needs at least two cells
	for n < size {
		n <<= 1
	}
	r := &ring{mask: uint64(n - 1), cells: make([]cell, n)}
	for i := range r.cells {
		r.cells[i].seq.Store(uint64(i))
	}
	return r
}

func (r *ring) capacity() int { return len(r.cells) }

// push adds it at the tail; false means the ring is full.
func (r *ring) push(it item) bool {
	pos := r.tail.Load()
	for {
		c := &r.cells[pos&r.mask]
		seq := c.seq.Load()
		switch dif := int64(seq - pos); {
		case dif == 0:
			if r.tail.CompareAndSwap(pos, pos+1) {
				c.it = it
				c.seq.Store(pos + 1)
				return true
			}
			pos = r.tail.Load()
		case dif < 0:
			return false
		default:
			pos = r.tail.Load()
		}
	}
}

// pop removes the item at the head; false means the ring is empty.
func (r *ring) pop() (item, bool) {
	pos := r.head.Load()
	for {
		c := &r.cells[pos&r.mask]
		seq := c.seq.Load()
		switch dif := int64(seq - (pos + 1)); {
		case dif == 0:
			if r.head.CompareAndSwap(pos, pos+1) {
				it := c.it
				c.it = item{}
				c.seq.Store(pos + r.mask + 1)
				return it, true
			}
			pos = r.head.Load()
		case dif < 0:
			return item{}, false
		default:
			pos = r.head.Load()
		}
	}
}

// length is a snapshot; concurrent pushes and pops make it approximate.
func (r *ring) length() int {
	h := r.head.Load()
	t := r.tail.Load()
	if t <= h {
		return 0
	}
	return int(t - h)
}
