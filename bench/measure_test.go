package bench

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// processCPU is the user+system CPU time of the whole process: the cost of
// a pool includes its dispatch on every thread, not only the wall time of
// the submitting goroutine.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs fn(b.N) and reports CPU nanoseconds per task.
func measure(b *testing.B, fn func(n int)) {
	b.Helper()
	b.ReportAllocs()
	runtime.GC()
	b.ResetTimer()
	c0 := processCPU()
	fn(b.N)
	c1 := processCPU()
	b.StopTimer()
	b.ReportMetric(float64(c1-c0)/float64(b.N), "cpu-ns/task")
}

// spin is the CPU task: a xorshift loop. It is not inlined, so the
// compiler cannot drop it.
//
//go:noinline
func spin(iters int) uint64 {
	x := uint64(88172645463325252)
	for range iters {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

var (
	calOnce  sync.Once
	cpuIters int
)

// taskIters returns the loop count that makes spin take about 300 ns on
// this machine. BENCH_SPIN_ITERS fixes it instead: the calibration follows
// the machine's load at start-up, so binaries compared across processes
// (before/after a change) must use the same count.
func taskIters() int {
	calOnce.Do(func() {
		if n, err := strconv.Atoi(os.Getenv("BENCH_SPIN_ITERS")); err == nil && n > 0 {
			cpuIters = n
			return
		}
		const probe = 100_000
		best := time.Duration(1 << 62)
		for range 5 {
			t0 := time.Now()
			spin(probe)
			best = min(best, time.Since(t0))
		}
		cpuIters = max(1, int(float64(probe)*300/float64(best.Nanoseconds())))
	})
	return cpuIters
}

func TestCalibration(t *testing.T) {
	n := taskIters()
	t0 := time.Now()
	for range 1000 {
		spin(n)
	}
	t.Logf("spin(%d) takes %v", n, time.Since(t0)/1000)
}
