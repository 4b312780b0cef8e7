package optimizer

import (
	"math"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

func TestLatencyQuantileUsesOnlyNewEvents(t *testing.T) {
	t.Parallel()
	h := &metrics.Float64Histogram{
		Buckets: []float64{0, 0.001, 0.002, 0.004, math.Inf(1)},
		Counts:  []uint64{1000, 10, 0, 5},
	}
	prev := []uint64{1000, 0, 0, 0} // the old events were all fast
	got, err := latencyQuantile(h, prev, 0.99)
	if err != nil {
		t.Fatal(err)
	}
	// 15 new events: rank 15 falls in the last bucket, reported at its lower
	// bound because its upper one is +Inf.
	if got != 4*time.Millisecond {
		t.Fatalf("p99 = %v, want 4ms", got)
	}
	got, _ = latencyQuantile(h, prev, 0.5)
	if got != 2*time.Millisecond { // the upper bound of [1ms, 2ms)
		t.Fatalf("p50 = %v, want 2ms", got)
	}
	if got, _ := latencyQuantile(h, h.Counts, 0.99); got != 0 {
		t.Fatalf("no new events gave %v", got)
	}
	if _, err := latencyQuantile(h, []uint64{1}, 0.99); err == nil {
		t.Fatal("shape change not reported")
	}
}

var spinSink uint64

func TestRuntimeSamplerReadsTheProcess(t *testing.T) {
	s, err := NewRuntimeSampler(SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU on this goroutine for a bounded number of iterations so the
	// process CPU time must have advanced.
	start := time.Now()
	for i := 0; i < 50_000_000 && time.Since(start) < 200*time.Millisecond; i++ {
		spinSink += uint64(i) * 7
	}
	keep := make([][]byte, 0, 64)
	for range 64 {
		keep = append(keep, make([]byte, 64<<10))
	}
	got, err := s.Sample()
	if err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(keep)
	if got.CPUSource == "none" || got.CPU <= 0 || got.CPU > 1 {
		t.Fatalf("CPU %v from %q after spinning", got.CPU, got.CPUSource)
	}
	if got.GOMAXPROCS < 1 || got.Goroutines < 1 || got.HeapBytes < 64*64<<10 {
		t.Fatalf("implausible reading %+v", got)
	}
	if got.MemoryLimit <= 0 {
		t.Fatalf("memory limit %d", got.MemoryLimit)
	}
	if got.GCCPU < 0 || got.GCCPU > 1 {
		t.Fatalf("GC CPU %v", got.GCCPU)
	}
}
