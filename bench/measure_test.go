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
		cpuIters = calibrate(os.Getenv, func(iters int) time.Duration {
			t0 := time.Now()
			spin(iters)
			return time.Since(t0)
		})
	})
	return cpuIters
}

// spinProbe is the loop count calibrate times.
const spinProbe = 100_000

// calibrate returns BENCH_SPIN_ITERS when it is a positive number, else the loop count that
// makes spin take 300 ns going by the fastest of five timings (timeSpin) of spinProbe iterations.
func calibrate(getenv func(string) string, timeSpin func(iters int) time.Duration) int {
	if n, err := strconv.Atoi(getenv("BENCH_SPIN_ITERS")); err == nil && n > 0 {
		return n
	}
	best := time.Duration(1 << 62)
	for range 5 {
		best = min(best, timeSpin(spinProbe))
	}
	return max(1, int(float64(spinProbe)*300/float64(best.Nanoseconds())))
}

// The calibration's arithmetic, on given timings (no clock, so no timing assertion): the
// fastest probe decides, a fixed BENCH_SPIN_ITERS wins, and the count never drops to zero.
func TestCalibration(t *testing.T) {
	timings := func(ds ...time.Duration) func(int) time.Duration {
		return func(iters int) time.Duration {
			if iters != spinProbe {
				t.Errorf("probe of %d iterations, want %d", iters, spinProbe)
			}
			d := ds[0]
			ds = append(ds[1:], d)
			return d
		}
	}
	env := func(v string) func(string) string { return func(string) string { return v } }
	for _, tc := range []struct {
		name  string
		env   string
		times []time.Duration
		want  int
	}{
		{"100k iterations in 100µs: 300 ns is 300 iterations", "", []time.Duration{100 * time.Microsecond}, 300},
		{"the fastest of five decides", "", []time.Duration{900 * time.Microsecond, 200 * time.Microsecond, 100 * time.Microsecond, 300 * time.Microsecond, 400 * time.Microsecond}, 300},
		{"a slow machine still spins once", "", []time.Duration{time.Hour}, 1},
		{"BENCH_SPIN_ITERS fixes the count", "77", []time.Duration{100 * time.Microsecond}, 77},
		{"a BENCH_SPIN_ITERS of 0 is ignored", "0", []time.Duration{50 * time.Microsecond}, 600},
		{"a BENCH_SPIN_ITERS that is no number is ignored", "many", []time.Duration{50 * time.Microsecond}, 600},
	} {
		if got := calibrate(env(tc.env), timings(tc.times...)); got != tc.want {
			t.Errorf("%s: calibrate = %d, want %d", tc.name, got, tc.want)
		}
	}
	// spin's result depends on its count, so the compiler cannot drop or shorten the loop.
	if spin(1000) == spin(1001) || spin(0) == spin(1) {
		t.Error("spin's result does not depend on its iteration count")
	}
}
