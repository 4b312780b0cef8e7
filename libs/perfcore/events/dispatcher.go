package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/brisk-go/brisk/libs/perfcore/presets"
)

// Listener reacts to one event. It should honour ctx: its deadline is the
// listener's timeout.
type Listener[T any] func(ctx context.Context, e T) error

// BatchListener reacts to several events at once (see [Dispatcher.ListenBatch]).
// It must not keep es after it returns.
type BatchListener[T any] func(ctx context.Context, es []T) error

// Config is the dispatcher's wiring and its share of the context settings.
// The zero value is usable: no deadlines, no async listeners, no metrics, and
// errors dropped after being counted.
type Config struct {
	// Name identifies the event type in metrics, logs and errors; it
	// defaults to the Go type name of T.
	Name string
	// DefaultTimeout, MaxTimeout and EnableDeadline are
	// CONTEXT_DEFAULT_TIMEOUT, CONTEXT_MAX_TIMEOUT and CONTEXT_ENABLE_DEADLINE;
	// see the package documentation for how they combine. Zero MaxTimeout
	// means no cap.
	DefaultTimeout time.Duration
	MaxTimeout     time.Duration
	EnableDeadline bool
	// Runner runs async listeners; required only if one is registered.
	Runner Runner
	// Meter creates the perfcore.events.* instruments; nil means none.
	Meter metric.Meter
	// Logger receives failed listener runs when OnError is nil.
	Logger *slog.Logger
	// OnError is called once for every failed listener run, on the goroutine
	// that ran the listener. It must not block for long.
	OnError func(ctx context.Context, err *ListenerError)
}

// ConfigFrom fills the deadline fields from a profile's settings
// (CONTEXT_DEFAULT_TIMEOUT, CONTEXT_MAX_TIMEOUT, CONTEXT_ENABLE_DEADLINE).
func ConfigFrom(s presets.Settings) Config {
	return Config{
		DefaultTimeout: s.ContextDefaultTimeout,
		MaxTimeout:     s.ContextMaxTimeout,
		EnableDeadline: s.ContextEnableDeadline,
	}
}

// Dispatcher delivers events of type T to its listeners. It is safe for
// concurrent use; listeners may be added while events are dispatched.
type Dispatcher[T any] struct {
	name    string
	cfg     Config
	onError func(context.Context, *ListenerError)

	// listeners is copied on write so that Dispatch reads it without a lock.
	listeners atomic.Pointer[[]*listener[T]]
	listenMu  sync.Mutex
	closed    atomic.Bool
	track     tracker

	dispatched metric.Int64Counter
	calls      metric.Int64Counter
	failures   metric.Int64Counter
	inflight   metric.Int64UpDownCounter
	eventOpts  []metric.AddOption // precomputed so the hot path does not allocate
}

type listener[T any] struct {
	name     string
	fn       Listener[T]
	batch    BatchListener[T] // set by ListenBatch; fn then calls it with one event
	mode     mode
	timeout  time.Duration // effective, already capped; 0 means none
	explicit bool          // the timeout came from WithTimeout
	guarded  bool
	queuer   Queuer[T]
	flowOpts []metric.AddOption // event + listener, for the in-flight counter
}

// New returns a dispatcher for events of type T.
func New[T any](cfg Config) (*Dispatcher[T], error) {
	if cfg.DefaultTimeout < 0 || cfg.MaxTimeout < 0 {
		return nil, fmt.Errorf("events: new dispatcher: negative timeout (default %v, max %v)", cfg.DefaultTimeout, cfg.MaxTimeout)
	}
	if cfg.MaxTimeout > 0 && cfg.DefaultTimeout > cfg.MaxTimeout {
		return nil, fmt.Errorf("events: new dispatcher: default timeout %v exceeds max timeout %v", cfg.DefaultTimeout, cfg.MaxTimeout)
	}
	d := &Dispatcher[T]{name: cfg.Name, cfg: cfg, onError: cfg.OnError}
	if d.name == "" {
		var zero T
		d.name = fmt.Sprintf("%T", zero)
	}
	if d.cfg.Logger == nil {
		d.cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if d.onError == nil {
		d.onError = d.logError
	}
	meter := cfg.Meter
	if meter == nil {
		meter = noop.NewMeterProvider().Meter("")
	}
	var err error
	if d.dispatched, err = meter.Int64Counter("perfcore.events.dispatched",
		metric.WithDescription("Events dispatched."), metric.WithUnit("{event}")); err != nil {
		return nil, fmt.Errorf("events: new dispatcher: create counter: %w", err)
	}
	if d.calls, err = meter.Int64Counter("perfcore.events.listener.calls",
		metric.WithDescription("Listener runs started (sync, after-commit and async) or queued, by listener."), metric.WithUnit("{call}")); err != nil {
		return nil, fmt.Errorf("events: new dispatcher: create counter: %w", err)
	}
	if d.failures, err = meter.Int64Counter("perfcore.events.listener.errors",
		metric.WithDescription("Failed listener runs, by kind."), metric.WithUnit("{error}")); err != nil {
		return nil, fmt.Errorf("events: new dispatcher: create counter: %w", err)
	}
	if d.inflight, err = meter.Int64UpDownCounter("perfcore.events.async.inflight",
		metric.WithDescription("Async and abandoned guarded listener runs not yet finished."), metric.WithUnit("{listener}")); err != nil {
		return nil, fmt.Errorf("events: new dispatcher: create up-down counter: %w", err)
	}
	d.eventOpts = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("event", d.name)))}
	empty := []*listener[T]{}
	d.listeners.Store(&empty)
	return d, nil
}

// Name returns the name the dispatcher reports in metrics and errors.
func (d *Dispatcher[T]) Name() string { return d.name }

// Listen registers fn under name, which must be unique in this dispatcher
// (queued events are delivered back by it). Listeners run in registration
// order.
func (d *Dispatcher[T]) Listen(name string, fn Listener[T], opts ...ListenOption) error {
	if fn == nil {
		return fmt.Errorf("events: listen on %s: name and function are required", d.name)
	}
	return d.listen(name, fn, nil, opts)
}

// ListenBatch registers fn as Listen does, for a listener that does its work for many events
// at once (one multi-row insert instead of one per event): DispatchBatch calls it once with
// the whole batch — sync and after-commit ones before the per-event listeners of the batch,
// async ones in the batch's single pool task — and Dispatch and Deliver call it with a batch
// of one. It cannot be Queued: a queue stores events one at a time.
func (d *Dispatcher[T]) ListenBatch(name string, fn BatchListener[T], opts ...ListenOption) error {
	if fn == nil {
		return fmt.Errorf("events: listen on %s: name and function are required", d.name)
	}
	one := func(ctx context.Context, e T) error { return fn(ctx, []T{e}) }
	return d.listen(name, one, fn, opts)
}

func (d *Dispatcher[T]) listen(name string, fn Listener[T], batch BatchListener[T], opts []ListenOption) error {
	if name == "" {
		return fmt.Errorf("events: listen on %s: name and function are required", d.name)
	}
	var lc listenConfig
	for _, o := range opts {
		o(&lc)
	}
	if batch != nil && lc.mode == modeQueued {
		return fmt.Errorf("events: listen %q on %s: a batch listener cannot be queued", name, d.name)
	}
	if lc.timeout < 0 {
		return fmt.Errorf("events: listen %q on %s: negative timeout %v", name, d.name, lc.timeout)
	}
	l := &listener[T]{name: name, fn: fn, batch: batch, mode: lc.mode, guarded: lc.guarded}
	l.timeout, l.explicit = d.cfg.DefaultTimeout, lc.timeout > 0
	if l.explicit {
		l.timeout = lc.timeout
	}
	if d.cfg.MaxTimeout > 0 && l.timeout > d.cfg.MaxTimeout {
		l.timeout = d.cfg.MaxTimeout
	}
	switch l.mode {
	case modeAsync:
		if d.cfg.Runner == nil {
			return fmt.Errorf("events: listen %q on %s: async listener needs Config.Runner", name, d.name)
		}
	case modeQueued:
		q, ok := lc.queuer.(Queuer[T])
		if !ok || q == nil {
			return fmt.Errorf("events: listen %q on %s: queued listener needs a Queuer[%s], got %T", name, d.name, d.name, lc.queuer)
		}
		l.queuer = q
	}
	l.flowOpts = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(
		attribute.String("event", d.name), attribute.String("listener", name)))}

	d.listenMu.Lock()
	defer d.listenMu.Unlock()
	if d.closed.Load() {
		return fmt.Errorf("events: listen %q on %s: %w", name, d.name, ErrClosed)
	}
	cur := *d.listeners.Load()
	for _, other := range cur {
		if other.name == name {
			return fmt.Errorf("events: listen %q on %s: name already registered", name, d.name)
		}
	}
	next := append(slices.Clip(cur), l)
	d.listeners.Store(&next)
	return nil
}

// Dispatch delivers e to every listener: sync ones before it returns, async
// ones handed to the Runner, queued ones handed to their Queuer. It returns
// the failures it saw itself (sync listeners, refused async submissions,
// failed enqueues), joined; async listener failures reach only OnError.
func (d *Dispatcher[T]) Dispatch(ctx context.Context, e T) error {
	if d.closed.Load() {
		return fmt.Errorf("events: dispatch %s: %w", d.name, ErrClosed)
	}
	d.dispatched.Add(ctx, 1, d.eventOpts...)
	var errs []error
	pending := pendingFrom(ctx)
	for _, l := range *d.listeners.Load() {
		var err error
		switch l.mode {
		case modeSync:
			err = runSync(ctx, d, l, l.fn, e)
		case modeAfterCommit:
			if pending != nil && pending.hold(func(ctx context.Context) error { return runSync(ctx, d, l, l.fn, e) }) {
				continue
			}
			err = runSync(ctx, d, l, l.fn, e)
		case modeAsync:
			if pending != nil && pending.hold(func(ctx context.Context) error { return d.startAsync(ctx, l, e) }) {
				continue
			}
			err = d.startAsync(ctx, l, e)
		case modeQueued:
			err = d.enqueue(ctx, l, e)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return joinErrs(errs)
}

// DispatchBatch delivers each event in order, as Dispatch would, but hands
// each async listener the whole batch as one task, so a batch of n events
// costs one pool submission per async listener instead of n. It keeps its own
// copy of events for async listeners, so the caller may reuse the slice.
func (d *Dispatcher[T]) DispatchBatch(ctx context.Context, events []T) error {
	if d.closed.Load() {
		return fmt.Errorf("events: dispatch batch %s: %w", d.name, ErrClosed)
	}
	if len(events) == 0 {
		return nil
	}
	d.dispatched.Add(ctx, int64(len(events)), d.eventOpts...)
	ls := *d.listeners.Load()
	pending := pendingFrom(ctx)
	var errs []error
	var batch []T // copied once, shared by all async listeners
	for _, l := range ls {
		if l.mode != modeAsync {
			continue
		}
		if batch == nil {
			batch = slices.Clone(events)
		}
		if pending != nil {
			held := batch // captured only here, so batch stays off the heap without async listeners
			if pending.hold(func(ctx context.Context) error { return d.startAsyncBatch(ctx, l, held) }) {
				continue
			}
		}
		if err := d.startAsyncBatch(ctx, l, batch); err != nil {
			errs = append(errs, err)
		}
	}
	for _, l := range ls {
		if l.batch == nil || l.mode == modeAsync {
			continue
		}
		if l.mode == modeAfterCommit && pending != nil {
			held := slices.Clone(events)
			if pending.hold(func(ctx context.Context) error { return runSync(ctx, d, l, Listener[[]T](l.batch), held) }) {
				continue
			}
		}
		if err := runSync(ctx, d, l, Listener[[]T](l.batch), events); err != nil {
			errs = append(errs, err)
		}
	}
	for _, e := range events {
		for _, l := range ls {
			if l.batch != nil {
				continue
			}
			var err error
			switch l.mode {
			case modeSync:
				err = runSync(ctx, d, l, l.fn, e)
			case modeAfterCommit:
				if pending != nil {
					// A copy for the held run, made only here: capturing e itself would move
					// every event of the loop to the heap, held or not.
					held := e
					if pending.hold(func(ctx context.Context) error { return runSync(ctx, d, l, l.fn, held) }) {
						continue
					}
				}
				err = runSync(ctx, d, l, l.fn, e)
			case modeQueued:
				err = d.enqueue(ctx, l, e)
			default:
				continue
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	return joinErrs(errs)
}

// Deliver runs the listener called name for e now, whatever its kind, with
// the same deadline, panic and error handling as a sync listener. It is how a
// queue worker runs a queued listener; the returned error tells the queue
// whether to retry.
func (d *Dispatcher[T]) Deliver(ctx context.Context, name string, e T) error {
	if d.closed.Load() {
		return fmt.Errorf("events: deliver %s to %q: %w", d.name, name, ErrClosed)
	}
	for _, l := range *d.listeners.Load() {
		if l.name == name {
			return runSync(ctx, d, l, l.fn, e)
		}
	}
	return fmt.Errorf("events: deliver %s: no listener %q", d.name, name)
}

// Close stops new dispatches and waits, until ctx ends, for async listeners
// and abandoned guarded listeners still running. It is safe to call twice.
func (d *Dispatcher[T]) Close(ctx context.Context) error {
	d.listenMu.Lock()
	d.closed.Store(true)
	d.listenMu.Unlock()
	select {
	case <-d.track.close():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("events: close %s: waiting for listeners: %w", d.name, ctx.Err())
	}
}

// listenerContext applies the deadline rules of the package documentation.
// It returns ctx itself, with a nil cancel, when no deadline is added, which
// keeps the common path free of allocations.
func (d *Dispatcher[T]) listenerContext(ctx context.Context, l *listener[T]) (context.Context, context.CancelFunc) {
	if l.timeout <= 0 {
		return ctx, nil
	}
	if !l.explicit {
		if !d.cfg.EnableDeadline {
			return ctx, nil
		}
		if _, has := ctx.Deadline(); has {
			return ctx, nil
		}
	}
	return context.WithTimeout(ctx, l.timeout)
}

// runSync runs fn, l's function for one event or for a batch (E is T or []T), on the caller's
// goroutine (or, when guarded, waits for it no longer than its deadline) and reports a failure.
func runSync[T, E any](ctx context.Context, d *Dispatcher[T], l *listener[T], fn Listener[E], e E) error {
	d.calls.Add(ctx, 1, l.flowOpts...)
	lctx, cancel := d.listenerContext(ctx, l)
	var le *ListenerError
	if l.guarded && hasDeadline(lctx) && d.track.add() {
		le = runGuarded(lctx, d, l, fn, e)
	} else {
		panicked, err := call(lctx, fn, e)
		le = d.classify(lctx, l, err, panicked)
	}
	if cancel != nil {
		cancel()
	}
	if le != nil {
		d.report(ctx, le)
		return le
	}
	return nil
}

func runGuarded[T, E any](lctx context.Context, d *Dispatcher[T], l *listener[T], fn Listener[E], e E) *ListenerError {
	type result struct {
		err      error
		panicked bool
	}
	done := make(chan result, 1)
	d.inflight.Add(lctx, 1, l.flowOpts...)
	go func() {
		defer d.track.done()
		defer d.inflight.Add(context.WithoutCancel(lctx), -1, l.flowOpts...)
		panicked, err := call(lctx, fn, e)
		done <- result{err, panicked}
	}()
	select {
	case r := <-done:
		return d.classify(lctx, l, r.err, r.panicked)
	case <-lctx.Done():
		return &ListenerError{Event: d.name, Listener: l.name, Kind: KindTimeout,
			Err: fmt.Errorf("stopped waiting: %w", context.Cause(lctx))}
	}
}

// startAsync submits one async listener run to the Runner.
func (d *Dispatcher[T]) startAsync(ctx context.Context, l *listener[T], e T) error {
	if !d.track.add() {
		return fmt.Errorf("events: dispatch %s to %q: %w", d.name, l.name, ErrClosed)
	}
	actx := detach(ctx)
	d.inflight.Add(actx, 1, l.flowOpts...)
	err := d.cfg.Runner.Go(func() {
		defer d.asyncDone(actx, l)
		runDetached(actx, d, l, l.fn, e)
	})
	return d.submitted(ctx, actx, l, err)
}

// startAsyncBatch submits one task that runs l for every event of batch.
func (d *Dispatcher[T]) startAsyncBatch(ctx context.Context, l *listener[T], batch []T) error {
	if !d.track.add() {
		return fmt.Errorf("events: dispatch %s to %q: %w", d.name, l.name, ErrClosed)
	}
	actx := detach(ctx)
	d.inflight.Add(actx, 1, l.flowOpts...)
	err := d.cfg.Runner.Go(func() {
		defer d.asyncDone(actx, l)
		if l.batch != nil {
			runDetached(actx, d, l, Listener[[]T](l.batch), batch)
			return
		}
		for _, e := range batch {
			runDetached(actx, d, l, l.fn, e)
		}
	})
	return d.submitted(ctx, actx, l, err)
}

func (d *Dispatcher[T]) asyncDone(actx context.Context, l *listener[T]) {
	d.inflight.Add(actx, -1, l.flowOpts...)
	d.track.done()
}

// submitted undoes the bookkeeping of a submission the Runner refused.
func (d *Dispatcher[T]) submitted(ctx, actx context.Context, l *listener[T], err error) error {
	if err == nil {
		return nil
	}
	d.asyncDone(actx, l)
	le := &ListenerError{Event: d.name, Listener: l.name, Kind: KindRejected, Err: err}
	d.report(ctx, le)
	return le
}

// detach keeps ctx's values but not its cancellation, so an async listener
// outlives the request that raised its event. A context that can never be
// cancelled is already detached, which saves an allocation.
func detach(ctx context.Context) context.Context {
	if ctx.Done() == nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

// runDetached runs an async listener for one event (or a batch); failures go to OnError.
func runDetached[T, E any](actx context.Context, d *Dispatcher[T], l *listener[T], fn Listener[E], e E) {
	d.calls.Add(actx, 1, l.flowOpts...)
	lctx, cancel := d.listenerContext(actx, l)
	panicked, err := call(lctx, fn, e)
	le := d.classify(lctx, l, err, panicked)
	if cancel != nil {
		cancel()
	}
	if le != nil {
		d.report(actx, le)
	}
}

func (d *Dispatcher[T]) enqueue(ctx context.Context, l *listener[T], e T) error {
	d.calls.Add(ctx, 1, l.flowOpts...)
	if err := l.queuer.Enqueue(ctx, l.name, e); err != nil {
		le := &ListenerError{Event: d.name, Listener: l.name, Kind: KindQueue, Err: err}
		d.report(ctx, le)
		return le
	}
	return nil
}

// call runs fn, turning a panic into an error so one listener cannot take
// down the caller or the pool worker.
func call[T any](ctx context.Context, fn Listener[T], e T) (panicked bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err, panicked = &panicError{value: r, stack: debug.Stack()}, true
		}
	}()
	return false, fn(ctx, e)
}

func (d *Dispatcher[T]) classify(lctx context.Context, l *listener[T], err error, panicked bool) *ListenerError {
	switch {
	case panicked:
		return &ListenerError{Event: d.name, Listener: l.name, Kind: KindPanic, Err: err}
	case err != nil && errors.Is(err, context.DeadlineExceeded):
		return &ListenerError{Event: d.name, Listener: l.name, Kind: KindTimeout, Err: err}
	case err != nil:
		return &ListenerError{Event: d.name, Listener: l.name, Kind: KindError, Err: err}
	case errors.Is(lctx.Err(), context.DeadlineExceeded):
		return &ListenerError{Event: d.name, Listener: l.name, Kind: KindTimeout, Err: ErrOverran}
	}
	return nil
}

func (d *Dispatcher[T]) report(ctx context.Context, le *ListenerError) {
	d.failures.Add(ctx, 1, metric.WithAttributes(
		attribute.String("event", le.Event),
		attribute.String("listener", le.Listener),
		attribute.String("kind", string(le.Kind))))
	defer func() {
		// A broken error handler must not turn one failed listener into a
		// crashed process.
		if r := recover(); r != nil {
			d.cfg.Logger.LogAttrs(ctx, slog.LevelError, "event error handler panicked",
				slog.String("event", le.Event), slog.Any("panic", r))
		}
	}()
	d.onError(ctx, le)
}

func (d *Dispatcher[T]) logError(ctx context.Context, le *ListenerError) {
	d.cfg.Logger.LogAttrs(ctx, slog.LevelError, "event listener failed",
		slog.String("event", le.Event), slog.String("listener", le.Listener),
		slog.String("kind", string(le.Kind)), slog.String("error", le.Err.Error()))
}

func hasDeadline(ctx context.Context) bool {
	_, ok := ctx.Deadline()
	return ok
}

func joinErrs(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}

// tracker counts listener runs that outlive Dispatch so Close can wait for
// them without a goroutine of its own.
type tracker struct {
	mu     sync.Mutex
	n      int
	closed bool
	idle   chan struct{}
	fired  bool
}

func (t *tracker) add() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.n++
	return true
}

func (t *tracker) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n--
	if t.n == 0 && t.idle != nil && !t.fired {
		close(t.idle)
		t.fired = true
	}
}

func (t *tracker) close() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	if t.idle == nil {
		t.idle = make(chan struct{})
		if t.n == 0 {
			close(t.idle)
			t.fired = true
		}
	}
	return t.idle
}
