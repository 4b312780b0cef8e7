package pipeline

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/brisk-go/brisk/libs/perfcore/pool"
)

// sourceBuffer decouples the source goroutine from the first stage.
const sourceBuffer = 16

// ErrSkip is returned by a stage function to drop the item without stopping
// the pipeline (a validation stage filtering out bad input).
var ErrSkip = errors.New("pipeline: skip item")

// Stage is one typed step: fn runs on Workers goroutines, its outputs go
// to the next stage through a buffer of Buffer items.
type Stage[In, Out any] struct {
	name    string
	fn      func(context.Context, In) (Out, error)
	workers int
	buffer  int
	ordered bool
}

// StageOption configures a Stage.
type StageOption func(*stageConfig)

type stageConfig struct {
	workers, buffer int
	ordered         bool
}

// Workers sets how many goroutines run the stage function (fan-out);
// values below 1 mean 1.
func Workers(n int) StageOption { return func(c *stageConfig) { c.workers = max(n, 1) } }

// Buffer sets the capacity of the stage's output buffer; a full buffer
// makes the stage wait for the next one (back-pressure). Default 0.
func Buffer(n int) StageOption { return func(c *stageConfig) { c.buffer = max(n, 0) } }

// Ordered makes a stage with several workers emit its outputs in the order
// of its inputs. It holds at most Workers+Buffer items in flight.
func Ordered() StageOption { return func(c *stageConfig) { c.ordered = true } }

// NewStage returns a stage named name (used in metrics and errors).
func NewStage[In, Out any](name string, fn func(context.Context, In) (Out, error), opts ...StageOption) Stage[In, Out] {
	c := stageConfig{workers: 1}
	for _, o := range opts {
		o(&c)
	}
	return Stage[In, Out]{name: name, fn: fn, workers: c.workers, buffer: c.buffer, ordered: c.ordered}
}

// Name returns the stage's name.
func (s Stage[In, Out]) Name() string { return s.name }

// Pipeline is a composed chain of stages from In to Out. It holds no
// state between runs; Run it as often as needed, also concurrently.
type Pipeline[In, Out any] struct {
	name   string
	stages []string
	mp     metric.MeterProvider
	pool   *pool.Pool
	build  func(r *run, in <-chan In) <-chan Out
	err    error
	inst   *lazyMetrics
}

// lazyMetrics creates a pipeline's instruments on its first Run and shares
// them with later runs.
type lazyMetrics struct {
	once sync.Once
	m    *runMetrics
	err  error
}

func (p Pipeline[In, Out]) metrics() (*runMetrics, error) {
	p.inst.once.Do(func() { p.inst.m, p.inst.err = metricsFor(p.mp, p.name, p.stages) })
	return p.inst.m, p.inst.err
}

// From starts a pipeline named name with its first stage.
func From[In, Out any](name string, s Stage[In, Out]) Pipeline[In, Out] {
	p := Pipeline[In, Out]{name: name, stages: []string{s.name}, inst: &lazyMetrics{}}
	p.err = s.check()
	p.build = func(r *run, in <-chan In) <-chan Out { return s.start(r, 0, in) }
	return p
}

// Then appends a stage. (Go methods cannot add type parameters, so
// composition is a function.)
func Then[In, Mid, Out any](p Pipeline[In, Mid], s Stage[Mid, Out]) Pipeline[In, Out] {
	idx := len(p.stages)
	q := Pipeline[In, Out]{name: p.name, mp: p.mp, pool: p.pool, stages: append(append([]string(nil), p.stages...), s.name), err: p.err, inst: &lazyMetrics{}}
	if q.err == nil {
		q.err = s.check()
	}
	prev := p.build
	q.build = func(r *run, in <-chan In) <-chan Out { return s.start(r, idx, prev(r, in)) }
	return q
}

// WithMeterProvider returns the pipeline reporting to mp instead of the
// OTel global provider.
func (p Pipeline[In, Out]) WithMeterProvider(mp metric.MeterProvider) Pipeline[In, Out] {
	p.mp = mp
	p.inst = &lazyMetrics{}
	return p
}

// Stages returns the stage names in order.
func (p Pipeline[In, Out]) Stages() []string { return append([]string(nil), p.stages...) }

func (s Stage[In, Out]) check() error {
	if s.fn == nil {
		return fmt.Errorf("pipeline: stage %q: nil func", s.name)
	}
	return nil
}

// Run feeds src through the stages and hands every output to sink (on the
// calling goroutine). It returns the first error of any stage or of sink,
// wrapped with the stage name, or the context's error; either stops every
// stage. When Run returns, every goroutine it started has exited. src is
// iterated on its own goroutine and must stop when yield returns false.
func (p Pipeline[In, Out]) Run(ctx context.Context, src iter.Seq[In], sink func(context.Context, Out) error) error {
	if p.err != nil {
		return p.err
	}
	if src == nil || sink == nil {
		return fmt.Errorf("pipeline %q: run: nil source or sink", p.name)
	}
	if p.inst == nil {
		return fmt.Errorf("pipeline: run: pipeline not built with From")
	}
	m, err := p.metrics()
	if err != nil {
		return fmt.Errorf("pipeline %q: metrics: %w", p.name, err)
	}
	rctx, cancel := context.WithCancelCause(ctx)
	r := &run{ctx: rctx, cancel: cancel, metrics: m, pool: p.pool}
	defer cancel(nil)
	in := make(chan In, sourceBuffer)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(in)
		for v := range src {
			if !send(r, in, v) {
				return
			}
		}
	}()
	out := p.build(r, in)
	for {
		v, ok := recv(r, out)
		if !ok || rctx.Err() != nil {
			break
		}
		if err := sink(rctx, v); err != nil {
			r.fail(fmt.Errorf("pipeline %q: sink: %w", p.name, err))
			break
		}
	}
	cancel(nil)
	r.wg.Wait()
	if r.err != nil {
		return r.err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pipeline %q: %w", p.name, context.Cause(ctx))
	}
	return nil
}

// Collect runs the pipeline over in and returns the outputs (in input
// order when every stage is ordered or has one worker).
func (p Pipeline[In, Out]) Collect(ctx context.Context, in []In) ([]Out, error) {
	out := make([]Out, 0, len(in))
	err := p.Run(ctx, func(yield func(In) bool) {
		for _, v := range in {
			if !yield(v) {
				return
			}
		}
	}, func(_ context.Context, v Out) error { out = append(out, v); return nil })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// run is the state of one Run: the first error and every goroutine.
type run struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	wg      sync.WaitGroup
	errOnce sync.Once
	err     error
	metrics *runMetrics
	pool    *pool.Pool // nil: stage functions run on the stage goroutines
}

func (r *run) fail(err error) {
	r.errOnce.Do(func() {
		r.err = err
		r.cancel(err)
	})
}

func (r *run) spawn(f func()) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		f()
	}()
}

// call runs the stage function, timing 1 call in 16.
func (s Stage[In, Out]) call(r *run, c *stageCounts, v In) (Out, error) {
	c.in++
	if c.in%16 != 1 {
		return s.invoke(r, v)
	}
	t0 := time.Now()
	o, err := s.invoke(r, v)
	c.durations = append(c.durations, time.Since(t0))
	return o, err
}

func (s Stage[In, Out]) failed(r *run, c *stageCounts, err error) {
	c.errors++
	r.fail(fmt.Errorf("stage %q: %w", s.name, err))
}

func (s Stage[In, Out]) start(r *run, idx int, in <-chan In) <-chan Out {
	out := make(chan Out, s.buffer)
	if s.ordered && s.workers > 1 {
		s.startOrdered(r, idx, in, out)
		return out
	}
	var wg sync.WaitGroup
	wg.Add(s.workers)
	for range s.workers {
		r.spawn(func() {
			defer wg.Done()
			c := r.metrics.counts(idx)
			defer c.flush()
			for {
				v, ok := recv(r, in)
				if !ok {
					return
				}
				o, err := s.call(r, c, v)
				if errors.Is(err, ErrSkip) {
					c.skipped++
					continue
				}
				if err != nil {
					s.failed(r, c, err)
					return
				}
				if !send(r, out, o) {
					return
				}
				c.out++
				c.maybeFlush()
			}
		})
	}
	r.spawn(func() {
		wg.Wait()
		close(out)
	})
	return out
}

// recv and send try the channel without select first: a plain channel
// operation is much cheaper than a two-way select, and the context only
// matters when the channel would block.
func recv[T any](r *run, in <-chan T) (T, bool) {
	select {
	case v, ok := <-in:
		return v, ok
	default:
	}
	select {
	case v, ok := <-in:
		return v, ok
	case <-r.ctx.Done():
		var zero T
		return zero, false
	}
}

func send[T any](r *run, out chan<- T, v T) bool {
	select {
	case out <- v:
		return true
	default:
	}
	select {
	case out <- v:
		return true
	case <-r.ctx.Done():
		return false
	}
}

type seqIn[T any] struct {
	seq uint64
	v   T
}

type seqOut[T any] struct {
	seq  uint64
	v    T
	skip bool
}

// startOrdered fans out to the workers and restores input order: a
// dispatcher numbers the inputs and takes a token per item from a window
// of Workers+Buffer, a collector puts results in a ring by number and
// emits them in order, handing the token back. The window bounds memory
// and guarantees a free ring slot for every result.
func (s Stage[In, Out]) startOrdered(r *run, idx int, in <-chan In, out chan<- Out) {
	window := s.workers + s.buffer
	tokens := make(chan struct{}, window)
	jobs := make(chan seqIn[In], s.workers)
	results := make(chan seqOut[Out], window)
	r.spawn(func() {
		defer close(jobs)
		var seq uint64
		for {
			v, ok := recv(r, in)
			if !ok || !send(r, tokens, struct{}{}) || !send(r, jobs, seqIn[In]{seq, v}) {
				return
			}
			seq++
		}
	})
	var wg sync.WaitGroup
	wg.Add(s.workers)
	for range s.workers {
		r.spawn(func() {
			defer wg.Done()
			c := r.metrics.counts(idx)
			defer c.flush()
			for j := range jobs {
				o, err := s.call(r, c, j.v)
				res := seqOut[Out]{seq: j.seq, v: o}
				switch {
				case errors.Is(err, ErrSkip):
					c.skipped++
					res.skip = true
				case err != nil:
					s.failed(r, c, err)
					return
				}
				if !send(r, results, res) {
					return
				}
			}
		})
	}
	r.spawn(func() {
		wg.Wait()
		close(results)
	})
	r.spawn(func() {
		defer close(out)
		c := r.metrics.counts(idx)
		defer c.flush()
		ring := make([]seqOut[Out], window)
		full := make([]bool, window)
		var next uint64
		for res := range results {
			i := res.seq % uint64(window)
			ring[i], full[i] = res, true
			for j := next % uint64(window); full[j]; j = next % uint64(window) {
				v, skip := ring[j].v, ring[j].skip
				ring[j], full[j] = seqOut[Out]{}, false
				next++
				if !skip {
					if !send(r, out, v) {
						return
					}
					c.out++
					c.maybeFlush()
				}
				<-tokens
			}
		}
	})
}
