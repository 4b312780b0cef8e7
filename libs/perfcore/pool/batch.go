package pool

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// Map runs fn on every element of in on p and returns the results in the
// order of in. The first error (or panic, as *PanicError) cancels the
// context of the other tasks, so those not yet started are skipped, and is
// returned. Map returns once every submitted task has finished or been
// skipped. The whole batch costs a few allocations, not one per element.
func Map[In, Out any](ctx context.Context, p *Pool, in []In, fn func(context.Context, In) (Out, error), opts ...SubmitOption) ([]Out, error) {
	o, err := applyOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("pool %q: map: %w", p.cfg.Name, err)
	}
	if fn == nil {
		return nil, fmt.Errorf("pool %q: map: nil func", p.cfg.Name)
	}
	if len(in) == 0 {
		return []Out{}, ctx.Err()
	}
	bctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	b := &batch[In, Out]{
		ctx: bctx, cancel: cancel, fn: fn, in: in,
		out:   make([]Out, len(in)),
		tasks: make([]batchTask[In, Out], len(in)),
		done:  make(chan struct{}),
	}
	b.pending.Store(int64(len(in)))
	for i := range b.tasks {
		t := &b.tasks[i]
		t.b, t.i = b, i
		t.tc.Context = bctx
		if err := bctx.Err(); err != nil {
			b.settle(int64(len(in) - i))
			break
		}
		if err := p.enqueue(bctx, o.prio, t); err != nil && !errors.Is(err, errSwept) {
			b.fail(fmt.Errorf("pool %q: map: %w", p.cfg.Name, err))
			b.settle(int64(len(in) - i))
			break
		}
	}
	if w := p.workerOf(ctx); w != nil {
		p.help(w, b.done)
	}
	<-b.done
	if e := b.err.Load(); e != nil {
		return nil, e.error
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pool %q: map: %w", p.cfg.Name, context.Cause(ctx))
	}
	return b.out, nil
}

type batch[In, Out any] struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	fn      func(context.Context, In) (Out, error)
	in      []In
	out     []Out
	tasks   []batchTask[In, Out]
	pending atomic.Int64
	done    chan struct{}
	err     atomic.Pointer[errBox]
}

type errBox struct{ error }

func (b *batch[In, Out]) fail(err error) {
	if b.err.CompareAndSwap(nil, &errBox{err}) {
		b.cancel(err)
	}
}

func (b *batch[In, Out]) settle(n int64) {
	if b.pending.Add(-n) == 0 {
		close(b.done)
	}
}

type batchTask[In, Out any] struct {
	b  *batch[In, Out]
	i  int
	tc taskCtx
}

func (t *batchTask[In, Out]) run(w *worker) outcome {
	b := t.b
	defer b.settle(1)
	if b.ctx.Err() != nil {
		return outCanceled
	}
	t.tc.w = w
	v, err := t.call()
	if err != nil {
		b.fail(err)
		return outFailed
	}
	b.out[t.i] = v
	return outCompleted
}

func (t *batchTask[In, Out]) call() (v Out, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = newPanicError(r)
		}
	}()
	return t.b.fn(&t.tc, t.b.in[t.i])
}

func (t *batchTask[In, Out]) cancel(err error) {
	t.b.fail(err)
	t.b.settle(1)
}
