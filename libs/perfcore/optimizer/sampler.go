package optimizer

import (
	"errors"
	"fmt"
	"math"
	"runtime/metrics"
	"sync"
	"time"
)

// Sample is one reading of the process, already turned into rates over the
// time since the previous reading.
type Sample struct {
	// CPU is the share of the CPU available to Go (GOMAXPROCS) that the
	// process used, 0..1.
	CPU float64
	// CPUSource says where CPU came from: "cpu/classes" when the runtime's
	// /cpu/classes counters advanced since the last reading, "rusage" when
	// they did not (they are refreshed only at the end of a GC cycle) and the
	// process CPU time was used instead, "none" when neither was available.
	CPUSource string
	// GCCPU is the share of CPU time spent in the garbage collector, 0..1.
	GCCPU float64
	// HeapBytes is the memory held by heap objects
	// (/memory/classes/heap/objects:bytes).
	HeapBytes uint64
	// MemoryLimit is the runtime's soft memory limit (/gc/gomemlimit:bytes);
	// math.MaxInt64 means none.
	MemoryLimit int64
	// Goroutines and Runnable count all goroutines and those waiting for a
	// thread (/sched/goroutines:goroutines, /sched/goroutines/runnable).
	Goroutines uint64
	Runnable   uint64
	// SchedLatencyP99 is the 99th percentile of the time goroutines spent
	// runnable before running, over the scheduling events since the last
	// reading (/sched/latencies:seconds). Zero when there were none.
	SchedLatencyP99 time.Duration
	// GOMAXPROCS as the runtime reports it (/sched/gomaxprocs:threads).
	GOMAXPROCS int
}

// Sampler reads the process; the optimizer calls it once per sampling
// interval, from one goroutine at a time.
type Sampler interface {
	Sample() (Sample, error)
}

const (
	mCPUTotal   = "/cpu/classes/total:cpu-seconds"
	mCPUIdle    = "/cpu/classes/idle:cpu-seconds"
	mCPUGC      = "/cpu/classes/gc/total:cpu-seconds"
	mMemLimit   = "/gc/gomemlimit:bytes"
	mHeap       = "/memory/classes/heap/objects:bytes"
	mGoroutines = "/sched/goroutines:goroutines"
	mRunnable   = "/sched/goroutines/runnable:goroutines"
	mLatencies  = "/sched/latencies:seconds"
	mGOMAXPROCS = "/sched/gomaxprocs:threads"
)

// RuntimeSampler reads runtime/metrics (and, when the runtime's CPU counters
// are stale, the process CPU time). Every value it returns is a reading.
type RuntimeSampler struct {
	clock Clock

	mu          sync.Mutex
	samples     []metrics.Sample
	prevTotal   float64
	prevIdle    float64
	prevGC      float64
	prevBuckets []uint64
	prevProcCPU time.Duration
	prevWall    time.Time
	haveProcCPU bool
}

// NewRuntimeSampler takes a first reading as the baseline, so the first
// Sample covers the time since this call rather than since process start.
func NewRuntimeSampler(clock Clock) (*RuntimeSampler, error) {
	if clock == nil {
		clock = SystemClock{}
	}
	names := []string{mCPUTotal, mCPUIdle, mCPUGC, mMemLimit, mHeap, mGoroutines, mRunnable, mLatencies, mGOMAXPROCS}
	s := &RuntimeSampler{clock: clock, samples: make([]metrics.Sample, len(names))}
	for i, n := range names {
		s.samples[i].Name = n
	}
	metrics.Read(s.samples)
	for _, m := range s.samples {
		if m.Value.Kind() == metrics.KindBad {
			return nil, fmt.Errorf("optimizer: new runtime sampler: metric %s not supported by this Go runtime", m.Name)
		}
	}
	s.prevTotal = s.samples[0].Value.Float64()
	s.prevIdle = s.samples[1].Value.Float64()
	s.prevGC = s.samples[2].Value.Float64()
	s.prevBuckets = append([]uint64(nil), s.samples[7].Value.Float64Histogram().Counts...)
	s.prevWall = clock.Now()
	s.prevProcCPU, s.haveProcCPU = processCPU()
	return s, nil
}

// Sample reads the runtime and returns rates since the previous call.
func (s *RuntimeSampler) Sample() (Sample, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	metrics.Read(s.samples)
	now := s.clock.Now()
	total := s.samples[0].Value.Float64()
	idle := s.samples[1].Value.Float64()
	gc := s.samples[2].Value.Float64()
	hist := s.samples[7].Value.Float64Histogram()

	out := Sample{
		MemoryLimit: int64(s.samples[3].Value.Uint64()),
		HeapBytes:   s.samples[4].Value.Uint64(),
		Goroutines:  s.samples[5].Value.Uint64(),
		Runnable:    s.samples[6].Value.Uint64(),
		GOMAXPROCS:  int(s.samples[8].Value.Uint64()),
		CPUSource:   "none",
	}
	if dTotal := total - s.prevTotal; dTotal > 0 {
		out.CPU = clamp01((dTotal - (idle - s.prevIdle)) / dTotal)
		out.GCCPU = clamp01((gc - s.prevGC) / dTotal)
		out.CPUSource = "cpu/classes"
		s.prevTotal, s.prevIdle, s.prevGC = total, idle, gc
	}
	procCPU, ok := processCPU()
	if wall := now.Sub(s.prevWall); ok && s.haveProcCPU && wall > 0 {
		if out.CPUSource == "none" && out.GOMAXPROCS > 0 {
			out.CPU = clamp01(float64(procCPU-s.prevProcCPU) / (float64(wall) * float64(out.GOMAXPROCS)))
			out.CPUSource = "rusage"
		}
	}
	s.prevProcCPU, s.haveProcCPU, s.prevWall = procCPU, ok, now

	p99, err := latencyQuantile(hist, s.prevBuckets, 0.99)
	if err != nil {
		return Sample{}, fmt.Errorf("optimizer: sample: %w", err)
	}
	out.SchedLatencyP99 = p99
	s.prevBuckets = append(s.prevBuckets[:0], hist.Counts...)
	return out, nil
}

// latencyQuantile returns quantile q of the events added to h since prev.
// It reports the upper bound of the bucket holding the quantile, the
// pessimistic choice for a latency.
func latencyQuantile(h *metrics.Float64Histogram, prev []uint64, q float64) (time.Duration, error) {
	if len(prev) != len(h.Counts) {
		return 0, errors.New("scheduler latency histogram changed shape")
	}
	var n uint64
	for i, c := range h.Counts {
		n += c - prev[i]
	}
	if n == 0 {
		return 0, nil
	}
	rank := uint64(math.Ceil(q * float64(n)))
	var seen uint64
	for i, c := range h.Counts {
		seen += c - prev[i]
		if seen >= rank {
			upper := h.Buckets[i+1]
			if math.IsInf(upper, 1) {
				upper = h.Buckets[i]
			}
			return time.Duration(upper * float64(time.Second)), nil
		}
	}
	return 0, nil
}

func clamp01(v float64) float64 { return max(0, min(1, v)) }
