package events

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/goleak"

	"github.com/brisk-go/brisk/libs/perfcore/internal/metrictest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type article struct{ ID int }

// goRunner runs each function on a fresh goroutine, as the pool would.
type goRunner struct{ wg sync.WaitGroup }

func (r *goRunner) Go(f func()) error {
	r.wg.Add(1)
	go func() { defer r.wg.Done(); f() }()
	return nil
}

// heldRunner keeps submitted functions until the test runs them, so a test
// can observe what happens before an async listener runs.
type heldRunner struct {
	mu     sync.Mutex
	held   []func()
	reject error
}

func (r *heldRunner) Go(f func()) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reject != nil {
		return r.reject
	}
	r.held = append(r.held, f)
	return nil
}

func (r *heldRunner) runAll() int {
	r.mu.Lock()
	fs := r.held
	r.held = nil
	r.mu.Unlock()
	for _, f := range fs {
		f()
	}
	return len(fs)
}

type errSink struct {
	mu   sync.Mutex
	errs []*ListenerError
}

func (s *errSink) handle(_ context.Context, le *ListenerError) {
	s.mu.Lock()
	s.errs = append(s.errs, le)
	s.mu.Unlock()
}

func (s *errSink) kinds() []Kind {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Kind
	for _, e := range s.errs {
		out = append(out, e.Kind)
	}
	return out
}

func newDispatcher(t *testing.T, cfg Config) (*Dispatcher[article], *errSink, *metrictest.Meter) {
	t.Helper()
	sink := &errSink{}
	meter := metrictest.New()
	if cfg.OnError == nil {
		cfg.OnError = sink.handle
	}
	cfg.Meter = meter
	if cfg.Name == "" {
		cfg.Name = "article.created"
	}
	d, err := New[article](cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return d, sink, meter
}

func mustListen(t *testing.T, d *Dispatcher[article], name string, fn Listener[article], opts ...ListenOption) {
	t.Helper()
	if err := d.Listen(name, fn, opts...); err != nil {
		t.Fatal(err)
	}
}

func TestSyncListenersRunInOrderBeforeReturn(t *testing.T) {
	t.Parallel()
	d, sink, meter := newDispatcher(t, Config{})
	var got []string
	for _, n := range []string{"a", "b", "c"} {
		mustListen(t, d, n, func(_ context.Context, e article) error {
			got = append(got, n+":"+string(rune('0'+e.ID)))
			return nil
		})
	}
	if err := d.Dispatch(context.Background(), article{ID: 7}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a:7", "b:7", "c:7"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if len(sink.kinds()) != 0 {
		t.Fatalf("unexpected errors %v", sink.kinds())
	}
	if v, _ := meter.Value("perfcore.events.dispatched", attribute.String("event", "article.created")); v != 1 {
		t.Fatalf("dispatched = %v, want 1", v)
	}
}

func TestFailingListenersAreIsolatedReportedAndCounted(t *testing.T) {
	t.Parallel()
	d, sink, meter := newDispatcher(t, Config{})
	boom := errors.New("boom")
	ran := false
	mustListen(t, d, "fails", func(context.Context, article) error { return boom })
	mustListen(t, d, "panics", func(context.Context, article) error { panic("kaput") })
	mustListen(t, d, "ok", func(context.Context, article) error { ran = true; return nil })

	err := d.Dispatch(context.Background(), article{ID: 1})
	if !ran {
		t.Fatal("listener after the failing ones did not run")
	}
	if !errors.Is(err, boom) {
		t.Fatalf("Dispatch error %v does not wrap the listener's error", err)
	}
	var le *ListenerError
	if !errors.As(err, &le) || le.Listener != "fails" || le.Event != "article.created" {
		t.Fatalf("Dispatch error %v is not a ListenerError for 'fails'", err)
	}
	if !strings.Contains(err.Error(), "kaput") || !strings.Contains(err.Error(), "dispatcher_test.go") {
		t.Fatalf("panic error lacks the value or the stack: %v", err)
	}
	if got := sink.kinds(); !slices.Equal(got, []Kind{KindError, KindPanic}) {
		t.Fatalf("reported kinds %v", got)
	}
	for _, c := range []struct{ listener, kind string }{{"fails", "error"}, {"panics", "panic"}} {
		v, _ := meter.Value("perfcore.events.listener.errors", attribute.String("event", "article.created"),
			attribute.String("listener", c.listener), attribute.String("kind", c.kind))
		if v != 1 {
			t.Errorf("errors{listener=%s,kind=%s} = %v, want 1", c.listener, c.kind, v)
		}
	}
}

func TestDeadlineRules(t *testing.T) {
	t.Parallel()
	const def, max, own = time.Hour, 2 * time.Hour, 90 * time.Minute
	callerDeadline := 10 * time.Hour
	cases := []struct {
		name       string
		enable     bool
		callerHas  bool
		opts       []ListenOption
		wantBudget time.Duration // 0: the caller's context is passed unchanged
	}{
		{"disabled, no caller deadline: none added", false, false, nil, 0},
		{"enabled, no caller deadline: default added", true, false, nil, def},
		{"enabled, caller has deadline: caller's kept", true, true, nil, 0},
		{"own timeout applies even when disabled", false, false, []ListenOption{WithTimeout(own)}, own},
		{"own timeout applies over caller deadline", true, true, []ListenOption{WithTimeout(own)}, own},
		{"own timeout capped by max", false, false, []ListenOption{WithTimeout(5 * time.Hour)}, max},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d, _, _ := newDispatcher(t, Config{DefaultTimeout: def, MaxTimeout: max, EnableDeadline: c.enable})
			var seen context.Context
			var deadline time.Time
			var has bool
			mustListen(t, d, "l", func(ctx context.Context, _ article) error {
				seen = ctx
				deadline, has = ctx.Deadline()
				return nil
			}, c.opts...)
			ctx := context.Background()
			if c.callerHas {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, callerDeadline)
				defer cancel()
			}
			before := time.Now()
			if err := d.Dispatch(ctx, article{}); err != nil {
				t.Fatal(err)
			}
			after := time.Now()
			if c.wantBudget == 0 {
				if seen != ctx {
					t.Fatal("listener did not get the caller's context unchanged")
				}
				return
			}
			if !has || deadline.Before(before.Add(c.wantBudget)) || deadline.After(after.Add(c.wantBudget)) {
				t.Fatalf("deadline %v (has=%v) not within [%v, %v]", deadline, has, before.Add(c.wantBudget), after.Add(c.wantBudget))
			}
		})
	}
}

func TestNewRejectsBadTimeouts(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{{DefaultTimeout: -1}, {MaxTimeout: -1}, {DefaultTimeout: 2 * time.Second, MaxTimeout: time.Second}} {
		if _, err := New[article](cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestOverrunIsReportedAsTimeout(t *testing.T) {
	t.Parallel()
	d, sink, _ := newDispatcher(t, Config{})
	// Waits for its deadline and then claims success: the work was done too late.
	mustListen(t, d, "late", func(ctx context.Context, _ article) error { <-ctx.Done(); return nil }, WithTimeout(time.Millisecond))
	// Honours its context and returns its error.
	mustListen(t, d, "honest", func(ctx context.Context, _ article) error { <-ctx.Done(); return ctx.Err() }, WithTimeout(time.Millisecond))
	err := d.Dispatch(context.Background(), article{})
	if !errors.Is(err, ErrOverran) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dispatch error %v lacks the overrun and the deadline", err)
	}
	if got := sink.kinds(); !slices.Equal(got, []Kind{KindTimeout, KindTimeout}) {
		t.Fatalf("reported kinds %v", got)
	}
}

func TestGuardedListenerStopsBlockingAtItsDeadline(t *testing.T) {
	t.Parallel()
	d, sink, meter := newDispatcher(t, Config{})
	release := make(chan struct{})
	finished := make(chan struct{})
	mustListen(t, d, "stuck", func(context.Context, article) error {
		<-release // ignores its context on purpose
		close(finished)
		return nil
	}, WithTimeout(5*time.Millisecond), Guarded())
	ranNext := false
	mustListen(t, d, "next", func(context.Context, article) error { ranNext = true; return nil })

	err := d.Dispatch(context.Background(), article{})
	var le *ListenerError
	if !errors.As(err, &le) || le.Kind != KindTimeout || le.Listener != "stuck" {
		t.Fatalf("Dispatch returned %v, want a timeout of 'stuck'", err)
	}
	if !ranNext {
		t.Fatal("the listener after the stuck one did not run")
	}
	if v, _ := meter.Value("perfcore.events.async.inflight", attribute.String("event", "article.created"), attribute.String("listener", "stuck")); v != 1 {
		t.Fatalf("in-flight = %v while the stuck listener runs, want 1", v)
	}
	// Close must wait for the abandoned listener.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	if err := d.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close returned %v while a listener still runs", err)
	}
	close(release)
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-finished:
	default:
		t.Fatal("Close returned before the abandoned listener finished")
	}
	if got := sink.kinds(); !slices.Equal(got, []Kind{KindTimeout}) {
		t.Fatalf("reported kinds %v, want one timeout", got)
	}
}

type ctxKey struct{}

func TestAsyncRunsAfterDispatchDetachedFromCancellation(t *testing.T) {
	t.Parallel()
	r := &heldRunner{}
	d, sink, _ := newDispatcher(t, Config{Runner: r, DefaultTimeout: time.Hour, EnableDeadline: true})
	var gotErr error
	var gotVal any
	var hasDeadline bool
	ran := false
	mustListen(t, d, "mail", func(ctx context.Context, _ article) error {
		ran, gotErr, gotVal = true, ctx.Err(), ctx.Value(ctxKey{})
		_, hasDeadline = ctx.Deadline()
		return errors.New("smtp down")
	}, Async())

	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), ctxKey{}, "req-1"), time.Hour)
	if err := d.Dispatch(ctx, article{}); err != nil {
		t.Fatalf("Dispatch returned async listener failure: %v", err)
	}
	if ran {
		t.Fatal("async listener ran before Dispatch returned")
	}
	cancel() // the request ends before the listener runs
	if n := r.runAll(); n != 1 {
		t.Fatalf("runner got %d tasks, want 1", n)
	}
	if !ran || gotErr != nil || gotVal != "req-1" {
		t.Fatalf("ran=%v ctx.Err=%v value=%v: want run, not cancelled, value kept", ran, gotErr, gotVal)
	}
	if !hasDeadline {
		t.Fatal("async listener got no default deadline although the detached context has none")
	}
	if got := sink.kinds(); !slices.Equal(got, []Kind{KindError}) {
		t.Fatalf("async failure reported as %v", got)
	}
}

func TestAsyncRejectedByRunner(t *testing.T) {
	t.Parallel()
	full := errors.New("queue full")
	d, sink, meter := newDispatcher(t, Config{Runner: &heldRunner{reject: full}})
	mustListen(t, d, "mail", func(context.Context, article) error { return nil }, Async())
	err := d.Dispatch(context.Background(), article{})
	var le *ListenerError
	if !errors.As(err, &le) || le.Kind != KindRejected || !errors.Is(err, full) {
		t.Fatalf("Dispatch returned %v, want rejected wrapping the runner's error", err)
	}
	if got := sink.kinds(); !slices.Equal(got, []Kind{KindRejected}) {
		t.Fatalf("reported %v", got)
	}
	if v := meter.Sum("perfcore.events.async.inflight"); v != 0 {
		t.Fatalf("in-flight = %v after a rejection, want 0", v)
	}
}

func TestAsyncOnRealGoroutinesAndCloseWaits(t *testing.T) {
	t.Parallel()
	r := &goRunner{}
	d, err := New[article](Config{Runner: r})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []int
	mustListen(t, d, "collect", func(_ context.Context, e article) error {
		mu.Lock()
		got = append(got, e.ID)
		mu.Unlock()
		return nil
	}, Async())
	for i := range 20 {
		if err := d.Dispatch(context.Background(), article{ID: i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	n := len(got)
	mu.Unlock()
	if n != 20 {
		t.Fatalf("Close returned with %d of 20 async listener runs done", n)
	}
	r.wg.Wait()
}

type recordingQueue struct {
	mu   sync.Mutex
	got  []string
	vals []any
	err  error
}

func (q *recordingQueue) Enqueue(ctx context.Context, listener string, e article) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	q.got = append(q.got, listener+":"+string(rune('0'+e.ID)))
	q.vals = append(q.vals, ctx.Value(ctxKey{}))
	return nil
}

func TestQueuedListenerIsHandedToQueuerAndDelivered(t *testing.T) {
	t.Parallel()
	q := &recordingQueue{}
	d, _, _ := newDispatcher(t, Config{})
	var delivered []int
	mustListen(t, d, "index", func(_ context.Context, e article) error {
		delivered = append(delivered, e.ID)
		return nil
	}, Queued[article](q))

	ctx := context.WithValue(context.Background(), ctxKey{}, "tx")
	if err := d.Dispatch(ctx, article{ID: 3}); err != nil {
		t.Fatal(err)
	}
	if len(delivered) != 0 {
		t.Fatal("queued listener ran inline")
	}
	if !slices.Equal(q.got, []string{"index:3"}) || q.vals[0] != "tx" {
		t.Fatalf("queue got %v with ctx values %v", q.got, q.vals)
	}
	// The worker side.
	if err := d.Deliver(context.Background(), "index", article{ID: 3}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(delivered, []int{3}) {
		t.Fatalf("Deliver ran the listener with %v", delivered)
	}
	if err := d.Deliver(context.Background(), "nope", article{}); err == nil {
		t.Fatal("Deliver to an unknown listener succeeded")
	}
}

func TestQueuedEnqueueFailureIsReturned(t *testing.T) {
	t.Parallel()
	down := errors.New("db down")
	d, sink, _ := newDispatcher(t, Config{})
	mustListen(t, d, "index", func(context.Context, article) error { return nil }, Queued[article](&recordingQueue{err: down}))
	if err := d.Dispatch(context.Background(), article{}); !errors.Is(err, down) {
		t.Fatalf("Dispatch returned %v, want the enqueue error", err)
	}
	if got := sink.kinds(); !slices.Equal(got, []Kind{KindQueue}) {
		t.Fatalf("reported %v", got)
	}
}

type otherQueue struct{}

func (otherQueue) Enqueue(context.Context, string, string) error { return nil }

func TestListenValidation(t *testing.T) {
	t.Parallel()
	d, _, _ := newDispatcher(t, Config{})
	nop := func(context.Context, article) error { return nil }
	mustListen(t, d, "a", nop)
	bad := []struct {
		name string
		err  error
	}{
		{"duplicate", d.Listen("a", nop)},
		{"empty name", d.Listen("", nop)},
		{"nil func", d.Listen("b", nil)},
		{"async without runner", d.Listen("c", nop, Async())},
		{"queuer of another type", d.Listen("d", nop, Queued[string](otherQueue{}))},
		{"negative timeout", d.Listen("e", nop, WithTimeout(-time.Second))},
	}
	for _, b := range bad {
		if b.err == nil {
			t.Errorf("%s: Listen accepted", b.name)
		}
	}
}

func TestDispatchBatch(t *testing.T) {
	t.Parallel()
	r := &heldRunner{}
	d, _, meter := newDispatcher(t, Config{Runner: r})
	var syncGot, asyncGot []int
	mustListen(t, d, "sync", func(_ context.Context, e article) error { syncGot = append(syncGot, e.ID); return nil })
	mustListen(t, d, "async", func(_ context.Context, e article) error { asyncGot = append(asyncGot, e.ID); return nil }, Async())
	batch := []article{{1}, {2}, {3}}
	if err := d.DispatchBatch(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	batch[0].ID = 99 // the caller reuses its slice
	if !slices.Equal(syncGot, []int{1, 2, 3}) {
		t.Fatalf("sync listener saw %v", syncGot)
	}
	if n := r.runAll(); n != 1 {
		t.Fatalf("batch of 3 made %d runner submissions for one async listener, want 1", n)
	}
	if !slices.Equal(asyncGot, []int{1, 2, 3}) {
		t.Fatalf("async listener saw %v", asyncGot)
	}
	if v := meter.Sum("perfcore.events.dispatched"); v != 3 {
		t.Fatalf("dispatched = %v, want 3", v)
	}
	if err := d.DispatchBatch(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

func TestCloseStopsDispatchAndWaitsForAsync(t *testing.T) {
	t.Parallel()
	r := &heldRunner{}
	d, err := New[article](Config{Runner: r})
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	mustListen(t, d, "a", func(context.Context, article) error { ran = true; return nil }, Async())
	if err := d.Dispatch(context.Background(), article{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close returned %v with an async listener pending", err)
	}
	for _, err := range []error{
		d.Dispatch(context.Background(), article{}),
		d.DispatchBatch(context.Background(), []article{{}}),
		d.Deliver(context.Background(), "a", article{}),
		d.Listen("b", func(context.Context, article) error { return nil }),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("after Close got %v, want ErrClosed", err)
		}
	}
	r.runAll()
	if !ran {
		t.Fatal("pending async listener did not run")
	}
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(context.Background()); err != nil {
		t.Fatalf("third Close: %v", err)
	}
}

func TestDefaultErrorReportingLogsAndPanickingHandlerIsContained(t *testing.T) {
	t.Parallel()
	var buf strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &buf}, nil))
	d, err := New[article](Config{Name: "a.b", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	mustListen(t, d, "l", func(context.Context, article) error { return errors.New("nope") })
	_ = d.Dispatch(context.Background(), article{})
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	for _, want := range []string{"event listener failed", "event=a.b", "listener=l", "kind=error", "error=nope"} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q lacks %q", out, want)
		}
	}

	d2, err := New[article](Config{Logger: logger, OnError: func(context.Context, *ListenerError) { panic("handler bug") }})
	if err != nil {
		t.Fatal(err)
	}
	mustListen(t, d2, "l", func(context.Context, article) error { return errors.New("nope") })
	if err := d2.Dispatch(context.Background(), article{}); err == nil {
		t.Fatal("error lost")
	}
	if d2.Name() != "events.article" {
		t.Fatalf("default name %q", d2.Name())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestConcurrentListenAndDispatch(t *testing.T) {
	t.Parallel()
	d, _, _ := newDispatcher(t, Config{Runner: &goRunner{}})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			_ = d.Listen(string(rune('a'+i)), func(context.Context, article) error { return nil })
		})
		wg.Go(func() {
			for range 50 {
				_ = d.Dispatch(context.Background(), article{})
			}
		})
	}
	wg.Wait()
	if n := len(*d.listeners.Load()); n != 4 {
		t.Fatalf("%d listeners registered, want 4", n)
	}
}

// A batch listener is called once per DispatchBatch, in every mode but queued, and with a
// batch of one by Dispatch and Deliver; the caller may reuse its slice once DispatchBatch
// returns, even when an after-commit or async run is held.
func TestListenBatch(t *testing.T) {
	t.Parallel()
	r := &heldRunner{}
	d, sink, _ := newDispatcher(t, Config{Runner: r})
	var mu sync.Mutex
	calls := map[string][][]int{}
	record := func(name string) BatchListener[article] {
		return func(_ context.Context, es []article) error {
			ids := make([]int, len(es))
			for i, e := range es {
				ids[i] = e.ID
			}
			mu.Lock()
			calls[name] = append(calls[name], ids)
			mu.Unlock()
			if name == "sync" && ids[0] == 7 {
				return errors.New("boom")
			}
			return nil
		}
	}
	var perEvent []int
	mustListen(t, d, "each", func(_ context.Context, e article) error { perEvent = append(perEvent, e.ID); return nil })
	for name, opts := range map[string][]ListenOption{"sync": nil, "after": {AfterCommit()}, "async": {Async()}} {
		if err := d.ListenBatch(name, record(name), opts...); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.ListenBatch("queued", record("queued"), Queued[article](queuerFunc(func(context.Context, string, article) error { return nil }))); err == nil {
		t.Fatal("a queued batch listener was accepted")
	}
	if err := d.ListenBatch("nil", nil); err == nil {
		t.Fatal("a nil batch listener was accepted")
	}

	ctx, p := Defer(context.Background())
	batch := []article{{1}, {2}, {3}}
	if err := d.DispatchBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	batch[0].ID = 99
	if got := calls["sync"]; len(got) != 1 || !slices.Equal(got[0], []int{1, 2, 3}) {
		t.Fatalf("sync batch listener calls %v, want one with [1 2 3]", got)
	}
	if !slices.Equal(perEvent, []int{1, 2, 3}) {
		t.Fatalf("per-event listener saw %v", perEvent)
	}
	if len(calls["after"]) != 0 || len(calls["async"]) != 0 {
		t.Fatalf("held listeners ran before the commit: %v", calls)
	}
	if err := p.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := r.runAll(); n != 1 {
		t.Fatalf("async batch listener made %d submissions, want 1", n)
	}
	for _, name := range []string{"after", "async"} {
		if got := calls[name]; len(got) != 1 || !slices.Equal(got[0], []int{1, 2, 3}) {
			t.Fatalf("%s batch listener calls %v, want one with [1 2 3]", name, got)
		}
	}

	if err := d.Dispatch(context.Background(), article{5}); err != nil {
		t.Fatal(err)
	}
	r.runAll()
	if err := d.Deliver(context.Background(), "sync", article{6}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"sync": 3, "after": 2, "async": 2} {
		if got := calls[name]; len(got) != want || len(got[len(got)-1]) != 1 {
			t.Fatalf("%s: calls %v, want %d, the last a batch of one", name, got, want)
		}
	}
	err := d.DispatchBatch(context.Background(), []article{{7}, {8}})
	r.runAll() // the async listener's task, so Close does not wait for it
	var le *ListenerError
	if !errors.As(err, &le) || le.Listener != "sync" || len(sink.kinds()) != 1 {
		t.Fatalf("failing batch listener: err %v, reported %v", err, sink.kinds())
	}
}

type queuerFunc func(ctx context.Context, listener string, e article) error

func (f queuerFunc) Enqueue(ctx context.Context, listener string, e article) error {
	return f(ctx, listener, e)
}

// Dispatching a batch to sync listeners allocates nothing, inside a unit of work or not: the
// closures that hold after-commit and async runs must not move the events to the heap.
func TestDispatchBatchToSyncListenersDoesNotAllocate(t *testing.T) {
	d, err := New[article](Config{}) // no meter: a test meter allocates per count
	if err != nil {
		t.Fatal(err)
	}
	mustListen(t, d, "sync", func(context.Context, article) error { return nil })
	events := make([]article, 100)
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { _ = d.DispatchBatch(ctx, events) }); n != 0 {
		t.Errorf("DispatchBatch of 100 events to a sync listener: %v allocations, want 0", n)
	}
}
