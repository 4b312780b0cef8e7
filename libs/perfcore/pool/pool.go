package pool

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Errors returned by Go, GoWith, Submit and Map (wrapped; test with
// errors.Is).
var (
	// ErrQueueFull: the queue of the task's priority is full and the pool
	// is configured with FailFast.
	ErrQueueFull = errors.New("pool: queue full")
	// ErrStopped: the pool is stopping or stopped; also the error of
	// futures whose task was dropped by Stop.
	ErrStopped = errors.New("pool: stopped")
	// ErrNotStarted: Start has not been called yet.
	ErrNotStarted = errors.New("pool: not started")
	// errSwept is internal: the task was queued while Stop finished and
	// has already been resolved by the final sweep.
	errSwept = errors.New("pool: swept")
)

const (
	stateNew int32 = iota
	stateRunning
	stateStopping
	stateStopped
)

// sampleMask: one task in 64 gets its wait and run time measured, because
// reading the clock twice per task would cost more than the whole dispatch.
const sampleMask = 63

// publishEvery: workers publish their private counters this often (and
// whenever they park or exit), so the hot path touches no shared counter.
const publishEvery = 64

// Pool is a bounded goroutine pool with per-priority global queues,
// per-worker local deques with stealing, futures and back-pressure. Create
// it with New, then Start it; Stop it when done.
type Pool struct {
	cfg    Config
	maxW   int32
	queues [numPriorities]*ring
	epoch  time.Time

	_ cacheLinePad
	// Read on every submit, written rarely.
	state        atomic.Int32
	discard      atomic.Bool
	nIdle        atomic.Int32
	nWorkers     atomic.Int32
	target       atomic.Int32
	spaceWaiters atomic.Int32
	localQueued  atomic.Int64
	nSpinning    atomic.Int32 // workers searching for work (see signalMore)
	_            cacheLinePad
	maxSpin      int32

	// live counts worker goroutines that have not finished exiting; Stop
	// waits for it to reach zero. It differs from nWorkers, which a
	// retiring worker leaves before it has finished.
	live atomic.Int32

	idleMu sync.Mutex
	idle   []*worker

	// spawnMu orders worker start and exit against Stop and Stats.
	spawnMu sync.Mutex
	slots   []atomic.Pointer[worker]

	spaceMu sync.Mutex
	spaceCh chan struct{}

	stopCh    chan struct{}
	exited    chan struct{}
	exitOnce  sync.Once
	finalOnce sync.Once

	// Counters of exited workers, helpers and submitters.
	retired  counters
	rejected atomic.Uint64

	metrics *poolMetrics
}

type counters struct {
	completed, failed, canceled, stolen atomic.Uint64
}

// New validates cfg and returns a pool that is not yet started.
func New(cfg Config) (*Pool, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Pool{
		cfg:     cfg,
		maxW:    int32(cfg.MaxWorkers),
		epoch:   cfg.Clock.Now(),
		slots:   make([]atomic.Pointer[worker], cfg.MaxWorkers),
		spaceCh: make(chan struct{}),
		stopCh:  make(chan struct{}),
		exited:  make(chan struct{}),
		// One voluntary searcher at most (none at GOMAXPROCS 1, where it
		// would only delay the submitter). Measured on 16 cores with 1000
		// workers: GOMAXPROCS/2 spinners (8) cost 1.7x the CPU per task of
		// one, because each burns a P that the submitter's wake-ups then
		// have to compete with.
		maxSpin: int32(min(runtime.GOMAXPROCS(0)/2, 1)),
	}
	for i := range p.queues {
		p.queues[i] = newRing(cfg.QueueSize)
	}
	p.target.Store(int32(cfg.MinWorkers))
	if p.metrics, err = newPoolMetrics(p); err != nil {
		return nil, fmt.Errorf("pool %q: register metrics: %w", cfg.Name, err)
	}
	return p, nil
}

// Name returns Config.Name.
func (p *Pool) Name() string { return p.cfg.Name }

// Bounds returns the configured minimum and maximum worker counts.
func (p *Pool) Bounds() (lo, hi int) { return p.cfg.MinWorkers, p.cfg.MaxWorkers }

// Workers returns the number of live worker goroutines.
func (p *Pool) Workers() int { return int(p.nWorkers.Load()) }

// Target returns the standing worker target (see Resize).
func (p *Pool) Target() int { return int(p.target.Load()) }

// Waiting returns the number of tasks queued and not yet started.
func (p *Pool) Waiting() int {
	n := int(p.localQueued.Load())
	for _, q := range p.queues {
		n += q.length()
	}
	return max(n, 0)
}

// Start starts MinWorkers workers. The pool runs until Stop; ctx only
// bounds the start itself. Calling Start again is a no-op; starting a
// stopped pool returns ErrStopped.
func (p *Pool) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pool %q: start: %w", p.cfg.Name, err)
	}
	p.spawnMu.Lock()
	switch p.state.Load() {
	case stateRunning:
		p.spawnMu.Unlock()
		return nil
	case stateStopping, stateStopped:
		p.spawnMu.Unlock()
		return fmt.Errorf("pool %q: start: %w", p.cfg.Name, ErrStopped)
	}
	p.state.Store(stateRunning)
	for range p.cfg.MinWorkers {
		p.spawnLocked(false)
	}
	p.spawnMu.Unlock()
	p.cfg.Logger.Debug("pool started", "pool", p.cfg.Name, "min_workers", p.cfg.MinWorkers, "max_workers", p.cfg.MaxWorkers)
	return nil
}

// Resize sets the standing worker target, clamped to [min, max]: the pool
// starts workers up to it at once, and workers above it exit after
// IdleTimeout without work. Under load the pool still grows to MaxWorkers.
func (p *Pool) Resize(n int) {
	n = min(max(n, p.cfg.MinWorkers), p.cfg.MaxWorkers)
	old := p.target.Swap(int32(n))
	if int32(n) > old {
		p.spawnMu.Lock()
		for p.state.Load() == stateRunning && int(p.nWorkers.Load()) < n {
			if !p.spawnLocked(false) {
				break
			}
		}
		p.spawnMu.Unlock()
		return
	}
	if int32(n) < old {
		// Parked workers wait without a timer while they are within the
		// target; wake them so that the surplus re-parks with one.
		p.wakeAllIdle()
	}
}

// Go runs f on the pool at Normal priority. It returns ErrQueueFull
// (FailFast) or ErrStopped/ErrNotStarted without running f. A panic in f is
// logged and counted as failed; it never reaches the caller.
func (p *Pool) Go(f func()) error { return p.GoWith(Normal, f) }

// GoWith is Go with a priority.
func (p *Pool) GoWith(prio Priority, f func()) error {
	if f == nil {
		return fmt.Errorf("pool %q: go: nil func", p.cfg.Name)
	}
	if prio >= numPriorities {
		return fmt.Errorf("pool %q: go: invalid priority %d", p.cfg.Name, prio)
	}
	//lint:ignore SA1012 enqueue takes nil for "no context": a task given by Go has none to honour
	switch err := p.enqueue(nil, prio, funcTask(f)); {
	case err == nil:
		return nil
	case errors.Is(err, errSwept):
		return fmt.Errorf("pool %q: go: %w", p.cfg.Name, ErrStopped)
	default:
		return fmt.Errorf("pool %q: go: %w", p.cfg.Name, err)
	}
}

// enqueue queues r. ctx is nil for Go; for Submit it selects the local
// deque of the worker running the caller (nested submit) and bounds a
// blocking wait.
func (p *Pool) enqueue(ctx context.Context, prio Priority, r runner) error {
	if st := p.state.Load(); st != stateRunning {
		if st == stateNew {
			return ErrNotStarted
		}
		return ErrStopped
	}
	it := item{r: r}
	if rand.Uint32()&sampleMask == 0 {
		it.enq = p.nanos()
	}
	if ctx != nil && prio == Normal {
		if w := p.workerOf(ctx); w != nil && w.local.push(it) {
			p.localQueued.Add(1)
			return p.afterPush()
		}
	}
	q := p.queues[prio]
	if !q.push(it) {
		if p.cfg.WhenFull == FailFast {
			p.rejected.Add(1)
			return ErrQueueFull
		}
		if err := p.waitPush(ctx, q, it); err != nil {
			p.rejected.Add(1)
			return err
		}
	}
	return p.afterPush()
}

func (p *Pool) afterPush() error {
	// Stop's final sweep runs after it stores stateStopped; a push seen
	// before that store is swept by Stop, a push after it must sweep here.
	if p.state.Load() == stateStopped {
		p.sweepGlobal()
		return errSwept
	}
	if p.nSpinning.Load() > 0 {
		return nil
	}
	p.signalMore()
	return nil
}

// signalMore gets one more worker looking for work, unless one already is:
// a parked one, or a new one while below MaxWorkers. The worker it wakes
// counts as searching (spinning) from the moment it is chosen, so that the
// submitters that follow skip their wake-ups until it has found a task;
// the searcher that finds one hands the search on only if work remains.
// This is the Go scheduler's rule for spinning threads: without it a fast
// submitter wakes a parked worker for every task in the time one wake-up
// takes to land, and with many workers and idle Ps nearly every task pays
// a park and an unpark.
func (p *Pool) signalMore() {
	if !p.nSpinning.CompareAndSwap(0, 1) {
		return
	}
	if p.nIdle.Load() > 0 && p.wakeOne(true) {
		return
	}
	if p.nWorkers.Load() < p.maxW && p.spawn(true) {
		return
	}
	// Nobody to wake: every worker is running, or parking, and a parking
	// worker looks at the queues after it has registered as idle.
	p.nSpinning.Add(-1)
}

// stopSpinning is called by a searching worker that found a task. The last
// searcher to stop hands the search on if work remains, because submitters
// skipped their wake-ups while it searched.
func (p *Pool) stopSpinning() {
	if p.nSpinning.Add(-1) == 0 && p.hasWork() {
		p.signalMore()
	}
}

// waitPush blocks until q has room, ctx ends or the pool stops. Consumers
// wake waiters only once the queue is half empty, so a producer that keeps
// the queue full is woken once per half queue, not once per task.
func (p *Pool) waitPush(ctx context.Context, q *ring, it item) error {
	var done <-chan struct{}
	if ctx != nil {
		done = ctx.Done()
	}
	for {
		p.spaceMu.Lock()
		ch := p.spaceCh
		p.spaceWaiters.Add(1)
		p.spaceMu.Unlock()
		if q.push(it) {
			p.spaceMu.Lock()
			if p.spaceCh == ch {
				p.spaceWaiters.Add(-1)
			}
			p.spaceMu.Unlock()
			return nil
		}
		select {
		case <-ch:
		case <-done:
			p.leaveSpace(ch)
			return context.Cause(ctx)
		case <-p.stopCh:
			p.leaveSpace(ch)
			return ErrStopped
		}
	}
}

func (p *Pool) leaveSpace(ch chan struct{}) {
	p.spaceMu.Lock()
	if p.spaceCh == ch {
		p.spaceWaiters.Add(-1)
	}
	p.spaceMu.Unlock()
}

func (p *Pool) releaseSpace() {
	p.spaceMu.Lock()
	if p.spaceWaiters.Load() > 0 {
		close(p.spaceCh)
		p.spaceCh = make(chan struct{})
		p.spaceWaiters.Store(0)
	}
	p.spaceMu.Unlock()
}

func (p *Pool) nanos() int64 {
	return int64(p.cfg.Clock.Now().Sub(p.epoch)) | 1
}

// wakeOne hands a wake-up to the most recently parked worker (its stack
// and caches are the warmest); spinning says whether the worker starts as
// a searcher (see signalMore). False means no worker was parked.
func (p *Pool) wakeOne(spinning bool) bool {
	p.idleMu.Lock()
	n := len(p.idle)
	if n == 0 {
		p.idleMu.Unlock()
		return false
	}
	w := p.idle[n-1]
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	p.nIdle.Add(-1)
	p.idleMu.Unlock()
	w.wake <- spinning
	return true
}

func (p *Pool) wakeAllIdle() {
	p.idleMu.Lock()
	ws := p.idle
	p.idle = nil
	p.nIdle.Store(0)
	p.idleMu.Unlock()
	for _, w := range ws {
		w.wake <- false
	}
}

// removeIdle takes w off the idle list; false means a waker already took it
// and a wake-up is on its way.
func (p *Pool) removeIdle(w *worker) bool {
	p.idleMu.Lock()
	defer p.idleMu.Unlock()
	for i := len(p.idle) - 1; i >= 0; i-- {
		if p.idle[i] == w {
			copy(p.idle[i:], p.idle[i+1:])
			p.idle[len(p.idle)-1] = nil
			p.idle = p.idle[:len(p.idle)-1]
			p.nIdle.Add(-1)
			return true
		}
	}
	return false
}

// spawn starts a worker; spinning as for wakeOne.
func (p *Pool) spawn(spinning bool) bool {
	p.spawnMu.Lock()
	ok := p.state.Load() == stateRunning && p.spawnLocked(spinning)
	p.spawnMu.Unlock()
	return ok
}

func (p *Pool) spawnLocked(spinning bool) bool {
	if p.nWorkers.Load() >= p.maxW {
		return false
	}
	for i := range p.slots {
		if p.slots[i].Load() == nil {
			w := &worker{p: p, slot: i, wake: make(chan bool, 1)}
			p.slots[i].Store(w)
			p.nWorkers.Add(1)
			p.live.Add(1)
			go w.loop(spinning)
			return true
		}
	}
	return false
}

func (p *Pool) hasWork() bool {
	if p.localQueued.Load() > 0 {
		return true
	}
	for _, q := range p.queues {
		if q.length() > 0 {
			return true
		}
	}
	return false
}

// sweepGlobal resolves every task still in the global queues with
// ErrStopped.
func (p *Pool) sweepGlobal() {
	for _, q := range p.queues {
		for {
			it, ok := q.pop()
			if !ok {
				break
			}
			it.r.cancel(ErrStopped)
			p.retired.canceled.Add(1)
		}
	}
	if p.spaceWaiters.Load() > 0 {
		p.releaseSpace()
	}
}

// Stop stops accepting tasks, drains or cancels the queued ones (Config
// OnStop) and waits for the workers to exit. If ctx ends first, queued
// tasks are cancelled and Stop returns ctx's error while running tasks
// finish on their own; call Stop again to wait for them. Stop is safe to
// call more than once and from several goroutines.
func (p *Pool) Stop(ctx context.Context) error {
	p.spawnMu.Lock()
	switch p.state.Load() {
	case stateNew:
		p.state.Store(stateStopping)
		close(p.stopCh)
		p.closeExited()
	case stateRunning:
		p.state.Store(stateStopping)
		if p.cfg.OnStop == CancelQueued {
			p.discard.Store(true)
		}
		close(p.stopCh)
		if p.live.Load() == 0 {
			p.closeExited()
		}
	}
	p.spawnMu.Unlock()
	p.wakeAllIdle()
	if p.discard.Load() {
		p.sweepGlobal()
	}
	select {
	case <-p.exited:
	case <-ctx.Done():
		p.discard.Store(true)
		p.sweepGlobal()
		return fmt.Errorf("pool %q: stop: %w", p.cfg.Name, context.Cause(ctx))
	}
	p.finalOnce.Do(func() {
		p.state.Store(stateStopped)
		p.sweepGlobal()
		p.metrics.unregister()
		p.cfg.Logger.Debug("pool stopped", "pool", p.cfg.Name)
	})
	return nil
}

func (p *Pool) closeExited() { p.exitOnce.Do(func() { close(p.exited) }) }

// Stats is a snapshot of a pool's state and cumulative counters.
type Stats struct {
	Name                 string
	Workers, Idle        int
	Target, Min, Max     int
	Queued               int    // tasks waiting (global queues and local deques)
	Running              int    // workers not parked: running or looking for a task
	Completed            uint64 // tasks that returned without error or panic
	Failed               uint64 // tasks that returned an error or panicked
	Canceled             uint64 // tasks not run: context ended before start, or dropped by Stop
	Stolen               uint64 // tasks a worker took from another worker's deque
	Rejected             uint64 // submissions refused (queue full, stopped, context ended while blocked)
	QueueCapacity        int    // capacity of each priority's global queue
	WhenFull             FullPolicy
	OnStop               StopMode
	IdleTimeout          time.Duration
	Started, StopStarted bool
}

// Stats returns a snapshot. Worker counters are published every 64 tasks
// and whenever a worker parks, so counts of a busy pool may lag slightly;
// an idle or stopped pool's counts are exact.
func (p *Pool) Stats() Stats {
	s := Stats{
		Name: p.cfg.Name, Min: p.cfg.MinWorkers, Max: p.cfg.MaxWorkers,
		QueueCapacity: p.queues[0].capacity(), WhenFull: p.cfg.WhenFull,
		OnStop: p.cfg.OnStop, IdleTimeout: p.cfg.IdleTimeout,
	}
	p.spawnMu.Lock()
	s.Completed = p.retired.completed.Load()
	s.Failed = p.retired.failed.Load()
	s.Canceled = p.retired.canceled.Load()
	s.Stolen = p.retired.stolen.Load()
	for i := range p.slots {
		if w := p.slots[i].Load(); w != nil {
			s.Completed += w.pub.completed.Load()
			s.Failed += w.pub.failed.Load()
			s.Canceled += w.pub.canceled.Load()
			s.Stolen += w.pub.stolen.Load()
		}
	}
	st := p.state.Load()
	p.spawnMu.Unlock()
	s.Rejected = p.rejected.Load()
	s.Workers = p.Workers()
	s.Idle = int(p.nIdle.Load())
	s.Running = max(s.Workers-s.Idle, 0)
	s.Target = p.Target()
	s.Queued = p.Waiting()
	s.Started = st != stateNew
	s.StopStarted = st >= stateStopping
	return s
}
