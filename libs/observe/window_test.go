package observe

import (
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestWindowStats(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Unix(1_000_000, 0)}
	w := NewWindow(clk.Now)
	if st := w.Stats(); st != (WindowStats{}) {
		t.Fatalf("empty window: %+v", st)
	}
	// 98 fast operations, one slow, one slow failure, spread over 10 seconds.
	for i := range 98 {
		if i%10 == 0 {
			clk.Add(time.Second)
		}
		w.Observe(time.Millisecond, false)
	}
	w.Observe(200*time.Millisecond, false)
	w.Observe(300*time.Millisecond, true)
	st := w.Stats()
	if st.Ops != 100 || st.Errors != 1 || st.ErrorRate != 0.01 {
		t.Fatalf("counts: %+v", st)
	}
	wantAvg := (98*time.Millisecond + 500*time.Millisecond) / 100
	if st.Avg != wantAvg {
		t.Fatalf("avg = %v, want %v", st.Avg, wantAvg)
	}
	// The 99th of 100 is the 200ms one; the bucket bound is at most 19% above it.
	if st.P99 < 200*time.Millisecond || st.P99 > 238*time.Millisecond {
		t.Fatalf("p99 = %v, want the bucket holding 200ms", st.P99)
	}

	// A minute later the early seconds have left the window; the slots are reused.
	clk.Add(WindowSpan - 5*time.Second)
	st = w.Stats()
	if st.Ops == 0 || st.Ops >= 100 {
		t.Fatalf("after 55s only the last seconds remain, got %d ops", st.Ops)
	}
	clk.Add(10 * time.Second)
	if st := w.Stats(); st.Ops != 0 {
		t.Fatalf("after the window nothing remains, got %+v", st)
	}
	w.Observe(time.Second, false)
	if st := w.Stats(); st.Ops != 1 || st.P99 < time.Second {
		t.Fatalf("reused slot: %+v", st)
	}
}

func TestBucketBounds(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{0, time.Microsecond, 3 * time.Microsecond, time.Millisecond, 7 * time.Second, time.Hour} {
		b := bucketOf(d)
		if b < 0 || b >= histBuckets {
			t.Fatalf("bucketOf(%v) = %d out of range", d, b)
		}
		if d <= 4*time.Minute && bucketUpper(b) < d {
			t.Fatalf("bucket %d upper %v is below %v", b, bucketUpper(b), d)
		}
		if b > 0 && bucketUpper(b-1) >= d {
			t.Fatalf("%v belongs in a lower bucket than %d", d, b)
		}
	}
}
