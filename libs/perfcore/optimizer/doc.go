// Package optimizer watches the Go runtime and tunes what perfcore owns:
// it samples runtime/metrics, judges how loaded the process is (a Level from
// Conservative to Maximum), resizes registered goroutine pools and, when the
// operator has given a memory limit, sets a soft memory limit under heap
// pressure. It never changes GOMAXPROCS: since Go 1.25 the runtime follows
// container CPU limits itself.
//
// # Inputs
//
// Every SamplingInterval the [Sampler] (by default [RuntimeSampler]) reads:
// CPU use as a share of GOMAXPROCS (/cpu/classes/..., or the process CPU time
// when those counters have not advanced since the last GC), GC CPU share,
// heap objects (/memory/classes/heap/objects:bytes) against the configured
// limit or /gc/gomemlimit:bytes, goroutines, and the p99 scheduler latency
// (/sched/latencies:seconds). Each is normalised to 0..1 and the highest is
// the load; its name is the reason given in logs.
//
// # Decisions
//
//   - Level: rises to the highest level whose threshold the load reaches,
//     falls only once the load is Policy.Hysteresis below the threshold, and
//     in both directions only after Policy.Confirm consecutive samples agree.
//     [Optimizer.Subscribe] tells other code (the data layer turns repository
//     batching on at Aggressive and above).
//   - Pools: a pool with waiting tasks while CPU is below Policy.CPUBusy grows
//     by half (at least one worker) up to its max: the workers, not the CPU,
//     are the bottleneck. A pool with nothing waiting while CPU is below
//     Policy.CPUIdle for Confirm samples shrinks by half, down to its min.
//   - Memory: with Config.MemoryLimit set, heap above Policy.HeapHigh of it
//     sets debug.SetMemoryLimit to Policy.SoftLimitFraction of it; heap below
//     Policy.HeapLow puts the previous limit back (so does Stop).
//
// Pool and memory actions share a budget of Config.MaxOptimizations
// (PROFILE_MAX_OPTIMIZATIONS) per Config.OptimizationInterval
// (PROFILE_OPTIMIZATION_INTERVAL); actions over it are deferred, logged and
// counted as throttled. Level changes are judgements, not actions on the
// process, and do not use the budget.
//
// # Telemetry
//
// Every decision is an Info log line ("optimizer level changed",
// "optimizer resized pool", "optimizer set memory limit",
// "optimizer restored memory limit", "optimizer deferred action"); each
// sample is a Debug line ("optimizer sample"). Instruments, on Config.Meter:
//
//   - perfcore.optimizer.level (gauge): 0 conservative … 3 maximum.
//   - perfcore.optimizer.load (gauge, attribute input = cpu, sched_latency,
//     gc_cpu, heap): the normalised inputs of the last sample.
//   - perfcore.optimizer.pool.target (gauge, {worker}, attribute pool): the
//     worker target last set on each pool.
//   - perfcore.optimizer.actions (counter, attribute kind = level_change,
//     pool_grow, pool_shrink, memory_limit_set, memory_limit_restore,
//     throttled).
//   - perfcore.optimizer.memory.limit (gauge, By): the soft limit set, 0
//     after restoring.
//   - perfcore.optimizer.sample.errors (counter): failed samples.
//
// See docs/optimizer.md for a walk through real log lines.
package optimizer
