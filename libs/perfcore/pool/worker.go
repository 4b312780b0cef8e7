package pool

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
)

// outcome is what running a task amounted to, for the counters.
type outcome uint8

const (
	outCompleted outcome = iota
	outFailed
	outCanceled
)

// runner is a queued task. Plain funcs (Go), futures (Submit) and batch
// items (Map) implement it, so queuing one costs no allocation of its own.
type runner interface {
	// run executes the task on w (nil when a helper runs it outside a
	// worker loop) and resolves it.
	run(w *worker) outcome
	// cancel resolves a task that will not run.
	cancel(err error)
}

// funcTask is a Go task. A func value is pointer-shaped, so storing it in
// the runner interface does not allocate.
type funcTask func()

func (f funcTask) run(w *worker) (out outcome) {
	defer func() {
		if r := recover(); r != nil {
			out = outFailed
			if w != nil {
				w.p.cfg.Logger.Error("pool: task panicked", "pool", w.p.cfg.Name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			}
		}
	}()
	f()
	return outCompleted
}

func (f funcTask) cancel(error) {}

// worker is one goroutine of the pool. Its counters are private to its
// goroutine and published to pub now and then, so that counting costs no
// shared cache line on the hot path.
type worker struct {
	p     *Pool
	slot  int
	wake  chan bool // true: woken as a searcher (see Pool.signalMore)
	timer Timer
	local deque

	ops                                 uint64
	wokenSinceArmed                     bool // see park
	completed, failed, canceled, stolen uint64
	pub                                 counters
}

// taskCtx is the context a task sees: the submitter's context plus the
// worker running it, so that a nested Submit or Map from inside the task
// goes to this worker's local deque. It lives inside the future, so it
// costs no allocation.
type taskCtx struct {
	context.Context
	w *worker
}

type workerKey struct{}

func (c *taskCtx) Value(key any) any {
	if _, ok := key.(workerKey); ok && c.w != nil {
		return c.w
	}
	return c.Context.Value(key)
}

// workerOf returns the worker of p whose task ctx belongs to, if any.
func (p *Pool) workerOf(ctx context.Context) *worker {
	if w, ok := ctx.Value(workerKey{}).(*worker); ok && w.p == p {
		return w
	}
	return nil
}

// loop runs tasks until the pool stops or the worker retires. spinning
// says whether the worker was started as a searcher (see Pool.signalMore).
func (w *worker) loop(spinning bool) {
	p := w.p
	for {
		if it, ok := w.next(); ok {
			if spinning {
				spinning = false
				p.stopSpinning()
			}
			w.exec(it)
			continue
		}
		it, ok := w.spin(spinning)
		spinning = false // spin has stopped searching either way
		if ok {
			w.exec(it)
			continue
		}
		if p.state.Load() != stateRunning {
			break
		}
		exit, woken := w.park()
		if exit {
			w.exit(true)
			return
		}
		spinning = woken
	}
	w.exit(false)
}

// next picks the next task: high-priority global work first, then this
// worker's own deque (nested tasks, cache-warm), then normal and low
// global work, then stealing from other workers.
func (w *worker) next() (item, bool) {
	p := w.p
	if it, ok := p.popGlobal(High); ok {
		return it, true
	}
	if p.localQueued.Load() > 0 {
		if it, ok := w.local.popNewest(); ok {
			p.localQueued.Add(-1)
			return it, true
		}
	}
	if it, ok := p.popGlobal(Normal); ok {
		return it, true
	}
	if it, ok := p.popGlobal(Low); ok {
		return it, true
	}
	if p.localQueued.Load() > 0 {
		return w.steal()
	}
	return item{}, false
}

// spinRounds bounds how long a worker looks for work before it parks (a
// few microseconds). With one searcher at a time, a longer search means
// fewer submissions that find nobody searching and pay for a wake-up.
const spinRounds = 64

// spin looks for work a little longer before parking. A worker woken as a
// searcher (spinning) always does; others join only while fewer than
// maxSpin (one) workers search. While one searches, submitters skip the wake-up
// (a mutex, a channel send and a goroutine switch each), which is most of
// the dispatch cost when the producer is about as fast as the workers. The
// spin is bounded and yields, so an idle pool burns no CPU. spin always
// leaves the searching state before it returns.
func (w *worker) spin(spinning bool) (item, bool) {
	p := w.p
	if !spinning {
		n := p.nSpinning.Load()
		if n >= p.maxSpin || !p.nSpinning.CompareAndSwap(n, n+1) {
			return item{}, false
		}
	}
	for i := range spinRounds {
		if it, ok := w.next(); ok {
			p.stopSpinning()
			return it, true
		}
		if i%4 == 3 {
			runtime.Gosched()
		}
	}
	p.nSpinning.Add(-1)
	return item{}, false
}

func (p *Pool) popGlobal(prio Priority) (item, bool) {
	q := p.queues[prio]
	it, ok := q.pop()
	if ok && p.spaceWaiters.Load() > 0 && q.length() <= q.capacity()/2 {
		p.releaseSpace()
	}
	return it, ok
}

func (w *worker) steal() (item, bool) {
	p := w.p
	n := len(p.slots)
	start := rand.IntN(n)
	for i := range n {
		v := p.slots[(start+i)%n].Load()
		if v == nil || v == w {
			continue
		}
		if it, ok := v.local.stealOldest(); ok {
			p.localQueued.Add(-1)
			w.stolen++
			return it, true
		}
	}
	return item{}, false
}

func (w *worker) exec(it item) {
	p := w.p
	var out outcome
	switch {
	case p.discard.Load():
		it.r.cancel(ErrStopped)
		out = outCanceled
	case it.enq != 0:
		out = p.runTimed(w, it)
	default:
		out = it.r.run(w)
	}
	switch out {
	case outCompleted:
		w.completed++
	case outFailed:
		w.failed++
	default:
		w.canceled++
	}
	w.ops++
	if w.ops%publishEvery == 0 {
		w.publish()
	}
}

func (p *Pool) runTimed(w *worker, it item) outcome {
	start := p.nanos()
	p.metrics.recordWait(start - it.enq)
	out := it.r.run(w)
	p.metrics.recordRun(p.nanos() - start)
	return out
}

func (w *worker) publish() {
	w.pub.completed.Store(w.completed)
	w.pub.failed.Store(w.failed)
	w.pub.canceled.Store(w.canceled)
	w.pub.stolen.Store(w.stolen)
}

// park waits for a wake-up. exit is true when the worker should exit
// because it stayed idle for IdleTimeout while above the standing target;
// spinning is true when it was woken as a searcher (see Pool.signalMore)
// and must leave that state through spin or stopSpinning.
func (w *worker) park() (exit, spinning bool) {
	p := w.p
	w.publish()
	p.idleMu.Lock()
	p.idle = append(p.idle, w)
	p.nIdle.Add(1)
	p.idleMu.Unlock()
	// A submitter pushes, then reads nIdle; we published nIdle, now read
	// the queues: one of the two sees the other, so no wake-up is lost.
	if p.hasWork() || p.state.Load() != stateRunning {
		if !p.removeIdle(w) {
			spinning = <-w.wake
			w.wokenSinceArmed = true
		}
		return false, spinning
	}
	if p.nWorkers.Load() <= p.target.Load() {
		spinning = <-w.wake
		w.wokenSinceArmed = true
		return false, spinning
	}
	// The timer is armed once per IdleTimeout, not once per park: when it
	// fires, the worker retires only if it has not been woken since the
	// timer was armed. A worker thus exits after between one and two
	// IdleTimeouts without work, and a busy pool pays no timer calls.
	if w.timer == nil {
		w.timer = p.cfg.Clock.NewTimer(p.cfg.IdleTimeout)
		w.wokenSinceArmed = false
	}
	for {
		select {
		case spinning = <-w.wake:
			w.wokenSinceArmed = true
			return false, spinning
		case <-w.timer.C():
			if w.wokenSinceArmed {
				w.wokenSinceArmed = false
				w.timer.Reset(p.cfg.IdleTimeout)
				continue
			}
			if !p.removeIdle(w) {
				// A waker took us off the idle list as the timer fired. The
				// timer's tick is spent: re-arm it, or the next park would
				// wait on a timer that never fires again and never retire.
				spinning = <-w.wake
				w.wokenSinceArmed = false
				w.timer.Reset(p.cfg.IdleTimeout)
				return false, spinning
			}
			if p.retire() {
				return true, false
			}
			// Still needed: stay, and the next IdleTimeout starts from now.
			w.wokenSinceArmed = false
			w.timer.Reset(p.cfg.IdleTimeout)
			return false, false
		}
	}
}

// retire reports whether a timed-out worker may exit, and if so counts it
// out while still holding the lock, so that two workers cannot both go
// below the target.
func (p *Pool) retire() bool {
	p.spawnMu.Lock()
	defer p.spawnMu.Unlock()
	if p.state.Load() != stateRunning || p.nWorkers.Load() <= p.target.Load() {
		return false
	}
	p.nWorkers.Add(-1)
	return true
}

// exit folds the worker's counters into the pool's and frees its slot.
// retired means retire already took it out of nWorkers.
func (w *worker) exit(retired bool) {
	p := w.p
	if w.timer != nil {
		w.timer.Stop()
	}
	// A goroutine holding an old task context may have pushed to the deque
	// after the last look; run what is there (exec cancels when stopping).
	if left := w.local.close(); len(left) > 0 {
		p.localQueued.Add(-int64(len(left)))
		for _, it := range left {
			w.exec(it)
		}
	}
	p.spawnMu.Lock()
	p.retired.completed.Add(w.completed)
	p.retired.failed.Add(w.failed)
	p.retired.canceled.Add(w.canceled)
	p.retired.stolen.Add(w.stolen)
	p.slots[w.slot].Store(nil)
	if !retired {
		p.nWorkers.Add(-1)
	}
	last := p.live.Add(-1) == 0 && p.state.Load() != stateRunning
	p.spawnMu.Unlock()
	if last {
		p.closeExited()
	}
}

// help runs tasks from w's deque on the calling goroutine until done is
// closed or the deque is empty. Await and Map call it when they are waiting
// inside a task of this pool, so that nested fork-join cannot deadlock a
// pool whose workers are all waiting for their children.
func (p *Pool) help(w *worker, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		default:
		}
		it, ok := w.local.popNewest()
		if !ok {
			return
		}
		p.localQueued.Add(-1)
		var out outcome
		if p.discard.Load() {
			it.r.cancel(ErrStopped)
			out = outCanceled
		} else {
			out = it.r.run(w)
		}
		switch out {
		case outCompleted:
			p.retired.completed.Add(1)
		case outFailed:
			p.retired.failed.Add(1)
		default:
			p.retired.canceled.Add(1)
		}
	}
}
