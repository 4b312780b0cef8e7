package pipeline

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/brisk-go/brisk/libs/perfcore/pool"
)

// PoolGrace is how long a stage call waits for a pool worker to start it
// before the stage's own goroutine runs it instead.
const PoolGrace = 2 * time.Millisecond

// OnPool returns the pipeline running every stage function call as a task
// of p (High priority), so the calls are counted in the pool's metrics and
// bounded by its size, which the runtime optimizer tunes. The stage
// goroutines still move the items; each waits for its call.
//
// A call that no worker has started within PoolGrace (or that the pool
// refuses: full, stopped) runs on the stage goroutine instead, exactly once:
// a pipeline Run from inside a task of p, with every worker busy running
// such tasks, therefore cannot deadlock waiting for a worker.
func (p Pipeline[In, Out]) OnPool(wp *pool.Pool) Pipeline[In, Out] {
	p.pool = wp
	return p
}

// invoke runs the stage function for v, on the pool when the run has one.
func (s Stage[In, Out]) invoke(r *run, v In) (Out, error) {
	if r.pool == nil {
		return s.fn(r.ctx, v)
	}
	var claimed atomic.Bool // whoever sets it runs fn: a pool worker or this goroutine
	f := pool.Submit(r.ctx, r.pool, func(ctx context.Context) (Out, error) {
		if !claimed.CompareAndSwap(false, true) {
			var zero Out
			return zero, nil // run inline already; nothing left to do
		}
		return s.fn(ctx, v)
	}, pool.High) // not Normal: that would push onto the local deque of the worker running Run's caller, from a foreign goroutine
	t := time.NewTimer(PoolGrace)
	select {
	case <-f.Done():
	case <-t.C:
	case <-r.ctx.Done():
	}
	t.Stop()
	if claimed.CompareAndSwap(false, true) {
		return s.fn(r.ctx, v)
	}
	// A worker runs the call: wait for it even when the run is cancelled (the call sees the
	// cancellation), so that nothing of a Run is still running when it returns.
	<-f.Done()
	return f.Await(context.Background())
}
