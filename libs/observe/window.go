package observe

import (
	"math"
	"sync"
	"time"
)

// WindowSpan is how far back /debug/perf looks.
const WindowSpan = time.Minute

const (
	windowSlots = int(WindowSpan / time.Second)
	// Latency buckets grow by 2^(1/4) (19%) from 1µs; 112 of them reach past four minutes, so
	// the p99 reported is at most 19% above the true one.
	bucketsPerDoubling = 4
	histBuckets        = 28 * bucketsPerDoubling
)

// Window counts operations (requests, jobs) over the last minute in one-second slots, with a
// latency histogram per slot, so the view answers "now" and not "since start". Observe is a
// mutex and a few adds; it never allocates.
type Window struct {
	mu    sync.Mutex
	now   func() time.Time
	slots [windowSlots]windowSlot
}

type windowSlot struct {
	sec       int64
	n, errs   uint64
	sumNanos  int64
	histogram [histBuckets]uint32
}

// WindowStats summarises a Window.
type WindowStats struct {
	Ops       uint64        // operations finished in the window
	Errors    uint64        // of which failed
	Avg, P99  time.Duration // zero when Ops is zero
	ErrorRate float64       // Errors/Ops, zero when Ops is zero
}

// NewWindow returns an empty window reading time from now (time.Now when nil).
func NewWindow(now func() time.Time) *Window {
	if now == nil {
		now = time.Now
	}
	return &Window{now: now}
}

func bucketOf(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us <= 1 {
		return 0
	}
	b := int(math.Ceil(math.Log2(us) * bucketsPerDoubling))
	return min(b, histBuckets-1)
}

// bucketUpper is the largest latency counted in bucket b.
func bucketUpper(b int) time.Duration {
	return time.Duration(math.Exp2(float64(b)/bucketsPerDoubling) * float64(time.Microsecond))
}

// Observe records one operation that took d.
func (w *Window) Observe(d time.Duration, failed bool) {
	if d < 0 {
		d = 0
	}
	sec := w.now().Unix()
	b := bucketOf(d)
	w.mu.Lock()
	s := &w.slots[sec%int64(windowSlots)]
	if s.sec != sec {
		*s = windowSlot{sec: sec}
	}
	s.n++
	if failed {
		s.errs++
	}
	s.sumNanos += int64(d)
	s.histogram[b]++
	w.mu.Unlock()
}

// Stats sums the slots of the last minute.
func (w *Window) Stats() WindowStats {
	now := w.now().Unix()
	var (
		st   WindowStats
		sum  int64
		hist [histBuckets]uint64
	)
	w.mu.Lock()
	for i := range w.slots {
		s := &w.slots[i]
		if s.n == 0 || s.sec <= now-int64(windowSlots) || s.sec > now {
			continue
		}
		st.Ops += s.n
		st.Errors += s.errs
		sum += s.sumNanos
		for b, c := range s.histogram {
			hist[b] += uint64(c)
		}
	}
	w.mu.Unlock()
	if st.Ops == 0 {
		return st
	}
	st.Avg = time.Duration(sum / int64(st.Ops))
	st.ErrorRate = float64(st.Errors) / float64(st.Ops)
	rank := uint64(math.Ceil(0.99 * float64(st.Ops)))
	var seen uint64
	for b, c := range hist {
		seen += c
		if seen >= rank {
			st.P99 = bucketUpper(b)
			break
		}
	}
	return st
}
