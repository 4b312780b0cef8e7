// Package pool is a bounded goroutine pool for CPU- and I/O-bound tasks:
// cheap dispatch, reused worker stacks, priorities, back-pressure and
// futures, with its own metrics.
//
// The Go runtime already balances goroutines between threads; the pool
// earns its place by bounding memory and concurrency, reusing grown worker
// stacks, refusing or delaying work when full, and letting urgent work
// overtake bulk work.
//
// # Design
//
//   - Three global queues, one per Priority, each a bounded lock-free ring
//     of Config.QueueSize slots. A worker always takes High before Normal
//     before Low, so a high-priority task never waits behind a low one.
//     Separate queues mean a flood of low-priority work cannot make a
//     high-priority submission block or fail.
//   - Each worker has a local deque. Submit and Map called with the context
//     a task received (nested work) push to the running worker's deque;
//     idle workers steal the oldest entries before they park. Await and Map
//     waiting inside a task run tasks from that deque meanwhile, so
//     fork-join inside the pool cannot deadlock it.
//   - A worker without work searches for a few microseconds, then parks on
//     a channel; an idle pool burns no CPU. One worker at most searches on
//     its own. A submitter that finds nobody searching wakes one parked
//     worker, or starts one while below MaxWorkers; that worker counts as
//     searching until it finds a task, and then wakes another only if work
//     remains (the Go scheduler's rule for spinning threads). So a fast
//     submitter does not pay a wake-up per task, and a pool with a high
//     MaxWorkers grows only as far as the work needs. Workers above the
//     standing target (MinWorkers, or what Resize set) exit after
//     IdleTimeout without work.
//   - When a queue is full, Go and Submit block (Block) or fail with
//     ErrQueueFull (FailFast). Blocked submitters are woken when the queue
//     is half empty again, not once per task.
//   - Futures cost one allocation (the future itself; its wait channel is
//     made only if someone waits before it resolves). Go costs none beyond
//     the caller's closure. Map costs a few allocations per batch.
//   - A panic in a task becomes a *PanicError (with the stack) on its future;
//     a panic in a Go task is logged and counted. Neither reaches the caller.
//
// # Lifecycle
//
// New validates the Config; Start starts MinWorkers workers; Go, Submit
// and Map queue work; Stop stops accepting work, drains or cancels the
// queue (Config.OnStop) and waits for every worker to exit. Start and Stop
// are safe to call twice.
//
// # Metrics
//
// Instruments are created on Config.MeterProvider (the OTel global one when
// nil) under the meter name "github.com/brisk-go/brisk/libs/perfcore/pool".
// Every measurement carries the attribute pool=<Config.Name>. The counters
// and gauges are observed at collection time from the pool's own counters,
// so they cost nothing per task; the histograms sample 1 task in 64.
//
//	perfcore.pool.tasks.queued     Int64ObservableGauge    {task}    tasks queued, not started
//	perfcore.pool.tasks.running    Int64ObservableGauge    {task}    workers not parked (running or looking for a task)
//	perfcore.pool.tasks.completed  Int64ObservableCounter  {task}    returned without error or panic
//	perfcore.pool.tasks.failed     Int64ObservableCounter  {task}    returned an error or panicked
//	perfcore.pool.tasks.canceled   Int64ObservableCounter  {task}    not run: context ended first, or dropped by Stop
//	perfcore.pool.tasks.stolen     Int64ObservableCounter  {task}    taken from another worker's deque
//	perfcore.pool.tasks.rejected   Int64ObservableCounter  {task}    refused: queue full, stopped, context ended while blocked
//	perfcore.pool.workers          Int64ObservableGauge    {worker}  live worker goroutines
//	perfcore.pool.workers.target   Int64ObservableGauge    {worker}  standing target (MinWorkers or Resize)
//	perfcore.pool.workers.max      Int64ObservableGauge    {worker}  MaxWorkers
//	perfcore.pool.task.wait        Float64Histogram        s         queueing to start (sampled)
//	perfcore.pool.task.duration    Float64Histogram        s         run time (sampled)
//
// A Prometheus exporter renders them with underscores and unit suffixes,
// for example perfcore_pool_tasks_completed_total and
// perfcore_pool_task_wait_seconds.
package pool
