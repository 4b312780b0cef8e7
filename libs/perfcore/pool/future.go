package pool

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// PanicError is the error of a task that panicked.
type PanicError struct {
	Value any    // what the task passed to panic
	Stack []byte // the task's goroutine stack at the panic
}

func (e *PanicError) Error() string { return fmt.Sprintf("pool: task panicked: %v", e.Value) }

// Unwrap returns the panic value when it is an error, so errors.Is and
// errors.As see through the panic.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

func newPanicError(v any) *PanicError { return &PanicError{Value: v, Stack: debug.Stack()} }

// SubmitOption adjusts one Submit or Map call. A Priority is a
// SubmitOption: Submit(ctx, p, fn, pool.High).
type SubmitOption interface {
	applySubmit(submitOptions) submitOptions
}

type submitOptions struct{ prio Priority }

func applyOptions(opts []SubmitOption) (submitOptions, error) {
	var o submitOptions
	for _, op := range opts {
		if op != nil {
			o = op.applySubmit(o)
		}
	}
	if o.prio >= numPriorities {
		return o, fmt.Errorf("invalid priority %d", o.prio)
	}
	return o, nil
}

const (
	futPending uint32 = iota
	futWaited         // pending, and a waiter made ch
	futResolved
)

// Future is the result of a task started with Submit. It resolves exactly
// once: with the task's result, with a *PanicError, with the context's
// error when the task was not started because its context ended, or with
// the error that kept it from being queued.
type Future[T any] struct {
	tc    taskCtx
	fn    func(context.Context) (T, error)
	pool  *Pool
	val   T
	err   error
	state atomic.Uint32
	mu    sync.Mutex
	// ch (for Done) is made only when asked for. A single Await borrows a
	// signal channel from sigPool instead, so a future costs one
	// allocation (itself) whether it is awaited before or after it
	// resolves.
	ch  chan struct{}
	sig chan struct{}
}

// sigPool holds one-slot channels that Await borrows to be woken.
var sigPool = sync.Pool{New: func() any { return make(chan struct{}, 1) }}

// closedCh is returned by Done of resolved futures that never had a waiter.
var closedCh = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Submit queues fn on p and returns its future. fn receives ctx (plus the
// pool's worker, so that a Submit or Map from inside fn goes to this
// worker's deque). If ctx has ended when a worker picks the task up, fn is
// not run and the future resolves with ctx's error. When the queue is full
// and the pool blocks, Submit waits, bounded by ctx.
func Submit[T any](ctx context.Context, p *Pool, fn func(context.Context) (T, error), opts ...SubmitOption) *Future[T] {
	f := &Future[T]{fn: fn, pool: p}
	f.tc.Context = ctx
	o, err := applyOptions(opts)
	switch {
	case err != nil:
		f.resolve(fmt.Errorf("pool %q: submit: %w", p.cfg.Name, err))
		return f
	case fn == nil:
		f.resolve(fmt.Errorf("pool %q: submit: nil func", p.cfg.Name))
		return f
	}
	if err := ctx.Err(); err != nil {
		f.resolve(context.Cause(ctx))
		return f
	}
	if err := p.enqueue(ctx, o.prio, f); err != nil && !errors.Is(err, errSwept) {
		f.resolve(fmt.Errorf("pool %q: submit: %w", p.cfg.Name, err))
	}
	return f
}

func (f *Future[T]) run(w *worker) outcome {
	if err := f.tc.Err(); err != nil {
		f.resolve(context.Cause(f.tc.Context))
		return outCanceled
	}
	f.tc.w = w
	v, panicked, err := f.call()
	f.val = v
	f.resolve(err)
	switch {
	case panicked, err != nil:
		return outFailed
	default:
		return outCompleted
	}
}

func (f *Future[T]) call() (v T, panicked bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err, panicked = newPanicError(r), true
		}
	}()
	v, err = f.fn(&f.tc)
	return v, false, err
}

func (f *Future[T]) cancel(err error) { f.resolve(err) }

// resolve publishes f.val (already set) and err; it runs once per future.
func (f *Future[T]) resolve(err error) {
	f.err = err
	f.fn = nil
	if f.state.CompareAndSwap(futPending, futResolved) {
		return
	}
	f.mu.Lock()
	f.state.Store(futResolved)
	if f.ch != nil {
		close(f.ch)
	}
	if f.sig != nil {
		f.sig <- struct{}{}
		f.sig = nil
	}
	f.mu.Unlock()
}

// Done returns a channel closed when the future has resolved.
func (f *Future[T]) Done() <-chan struct{} {
	if f.state.Load() == futResolved {
		return closedCh
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ch != nil {
		return f.ch
	}
	if f.state.Load() == futPending && !f.state.CompareAndSwap(futPending, futWaited) {
		return closedCh
	}
	if f.state.Load() == futResolved {
		return closedCh
	}
	f.ch = make(chan struct{})
	return f.ch
}

// Await waits for the result. If ctx ends first it returns ctx's error
// and the task is left alone (it still runs, unless its own context
// ended). Awaiting from inside a task of the same pool runs tasks from
// that worker's deque meanwhile.
func (f *Future[T]) Await(ctx context.Context) (T, error) {
	if f.state.Load() == futResolved {
		return f.val, f.err
	}
	if w := f.pool.workerOf(ctx); w != nil {
		f.pool.help(w, f.Done())
	}
	f.mu.Lock()
	if f.sig != nil || f.ch != nil || !f.state.CompareAndSwap(futPending, futWaited) {
		// Resolved meanwhile, or another waiter: use the Done channel.
		f.mu.Unlock()
		select {
		case <-f.Done():
			return f.val, f.err
		case <-ctx.Done():
			var zero T
			return zero, fmt.Errorf("pool: await: %w", context.Cause(ctx))
		}
	}
	sig := sigPool.Get().(chan struct{})
	f.sig = sig
	f.mu.Unlock()
	select {
	case <-sig:
		sigPool.Put(sig)
		return f.val, f.err
	case <-ctx.Done():
		f.mu.Lock()
		mine := f.sig == sig
		if mine {
			f.sig = nil
		}
		f.mu.Unlock()
		if !mine {
			<-sig // resolve sent before we took it back
			sigPool.Put(sig)
			return f.val, f.err
		}
		sigPool.Put(sig)
		var zero T
		return zero, fmt.Errorf("pool: await: %w", context.Cause(ctx))
	}
}
