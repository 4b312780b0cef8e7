package pool

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"empty name", Config{}, "Name"},
		{"negative min", Config{Name: "x", MinWorkers: -1}, "MinWorkers"},
		{"negative max", Config{Name: "x", MaxWorkers: -2}, "MaxWorkers"},
		{"min above max", Config{Name: "x", MinWorkers: 5, MaxWorkers: 2}, "MinWorkers (5) must be <= MaxWorkers (2)"},
		{"negative queue", Config{Name: "x", QueueSize: -1}, "QueueSize"},
		{"huge queue", Config{Name: "x", QueueSize: 1 << 30}, "QueueSize"},
		{"queue one past the largest", Config{Name: "x", QueueSize: maxQueueSize + 1}, "QueueSize"},
		{"negative idle", Config{Name: "x", IdleTimeout: -time.Second}, "IdleTimeout"},
		{"bad policy", Config{Name: "x", WhenFull: 9}, "WhenFull"},
		{"bad stop mode", Config{Name: "x", OnStop: 9}, "OnStop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("New(%+v) error = %v, want one naming %q", tt.cfg, err, tt.field)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	p, err := New(Config{Name: "d", MinWorkers: 1, MaxWorkers: 3})
	if err != nil {
		t.Fatal(err)
	}
	s := p.Stats()
	if s.QueueCapacity != defaultQueueSize || s.IdleTimeout != defaultIdleTimeout {
		t.Fatalf("defaults: queue %d idle %s", s.QueueCapacity, s.IdleTimeout)
	}
	if lo, hi := p.Bounds(); lo != 1 || hi != 3 || p.Name() != "d" {
		t.Fatalf("Bounds = %d,%d Name = %q", lo, hi, p.Name())
	}
	if err := p.Stop(bounded(t)); err != nil {
		t.Fatal(err)
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	p, err := New(Config{Name: "life", MinWorkers: 2, MaxWorkers: 2, Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := p.Go(func() {}); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("Go before Start = %v, want ErrNotStarted", err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatalf("second Start = %v", err)
	}
	if p.Workers() != 2 {
		t.Fatalf("Workers = %d, want MinWorkers 2", p.Workers())
	}
	var ran atomic.Int32
	for range 100 {
		if err := p.Go(func() { ran.Add(1) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatalf("second Stop = %v", err)
	}
	if ran.Load() != 100 {
		t.Fatalf("ran %d of 100 tasks before Stop returned", ran.Load())
	}
	if p.Workers() != 0 {
		t.Fatalf("Workers after Stop = %d", p.Workers())
	}
	if s := p.Stats(); s.Completed != 100 {
		t.Fatalf("Completed = %d, want 100", s.Completed)
	}
	if err := p.Go(func() {}); !errors.Is(err, ErrStopped) {
		t.Fatalf("Go after Stop = %v, want ErrStopped", err)
	}
	if err := p.Start(ctx); !errors.Is(err, ErrStopped) {
		t.Fatalf("Start after Stop = %v, want ErrStopped", err)
	}
	f := Submit(ctx, p, func(context.Context) (int, error) { return 1, nil })
	if _, err := f.Await(ctx); !errors.Is(err, ErrStopped) {
		t.Fatalf("Submit after Stop = %v, want ErrStopped", err)
	}
}

func TestStopNeverStarted(t *testing.T) {
	t.Parallel()
	p, err := New(Config{Name: "never"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(bounded(t)); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentStop(t *testing.T) {
	t.Parallel()
	p := newStarted(t, Config{MinWorkers: 2, MaxWorkers: 4})
	for range 50 {
		_ = p.Go(func() {})
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := p.Stop(bounded(t)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if s := p.Stats(); s.Completed != 50 || p.Workers() != 0 {
		t.Fatalf("after concurrent Stop: completed %d workers %d", s.Completed, p.Workers())
	}
}

func TestFailFast(t *testing.T) {
	t.Parallel()
	p := newStarted(t, Config{MinWorkers: 1, MaxWorkers: 1, QueueSize: 2, WhenFull: FailFast})
	b := newBlocker(1)
	t.Cleanup(func() { close(b.release) }) // before the pool's Stop, also when the test fails
	if err := p.Go(b.task); err != nil {
		t.Fatal(err)
	}
	b.wait(t, 1)
	for i := range 2 {
		if err := p.Go(func() {}); err != nil {
			t.Fatalf("Go %d into a queue with room: %v", i, err)
		}
	}
	// Each refusal must come at once: a pool that blocked instead would hang
	// the call, so it runs on a goroutine and the test fails if it does not return.
	if err := within(t, "Go into a full queue returns", func() error { return p.Go(func() {}) }); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Go into a full queue = %v, want ErrQueueFull", err)
	}
	var f *Future[int]
	_ = within(t, "Submit into a full queue returns", func() error {
		f = Submit(context.Background(), p, func(context.Context) (int, error) { return 0, nil })
		return nil
	})
	if _, err := f.Await(bounded(t)); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Submit into a full queue = %v, want ErrQueueFull", err)
	}
	// Other priorities have their own queue.
	if err := p.GoWith(High, func() {}); err != nil {
		t.Fatalf("GoWith(High) with a full normal queue: %v", err)
	}
	if p.Waiting() != 3 {
		t.Fatalf("Waiting = %d, want 3", p.Waiting())
	}
	if s := p.Stats(); s.Rejected != 2 {
		t.Fatalf("Rejected = %d, want 2", s.Rejected)
	}
}

func TestBlockWhenFull(t *testing.T) {
	t.Parallel()
	p := newStarted(t, Config{MinWorkers: 1, MaxWorkers: 1, QueueSize: 4})
	b := newBlocker(1)
	if err := p.Go(b.task); err != nil {
		t.Fatal(err)
	}
	b.wait(t, 1)
	var ran atomic.Int32
	for range 4 {
		if err := p.Go(func() { ran.Add(1) }); err != nil {
			t.Fatal(err)
		}
	}
	// The queue is full: a Submit blocks until its context ends, and then
	// its task is neither queued nor run.
	ctx, cancel := context.WithCancel(context.Background())
	var fnRan atomic.Bool
	submitted := make(chan *Future[int])
	go func() {
		submitted <- Submit(ctx, p, func(context.Context) (int, error) { fnRan.Store(true); return 1, nil })
	}()
	eventually(t, "Submit blocks on the full queue", func() bool { return p.spaceWaiters.Load() == 1 })
	cancel()
	f := <-submitted
	if _, err := f.Await(bounded(t)); !errors.Is(err, context.Canceled) {
		t.Fatalf("blocked Submit after cancel = %v, want context.Canceled", err)
	}
	// A blocked Go returns once the workers make room.
	goDone := make(chan error)
	go func() { goDone <- p.Go(func() { ran.Add(1) }) }()
	eventually(t, "Go blocks on the full queue", func() bool { return p.spaceWaiters.Load() == 1 })
	close(b.release)
	if err := recv(t, "the blocked Go returns", goDone); err != nil {
		t.Fatalf("blocked Go = %v", err)
	}
	eventually(t, "all tasks ran", func() bool { return ran.Load() == 5 })
	if fnRan.Load() {
		t.Fatal("the cancelled blocked submission ran")
	}
}

func TestBlockedGoReturnsOnStop(t *testing.T) {
	t.Parallel()
	p, err := New(Config{Name: "stopblock", MinWorkers: 1, MaxWorkers: 1, QueueSize: 2, OnStop: CancelQueued, Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := newBlocker(1)
	_ = p.Go(b.task)
	b.wait(t, 1)
	_ = p.Go(func() {})
	_ = p.Go(func() {})
	goDone := make(chan error)
	go func() { goDone <- p.Go(func() {}) }()
	eventually(t, "Go blocks", func() bool { return p.spaceWaiters.Load() == 1 })
	stopDone := make(chan error)
	go func() { stopDone <- p.Stop(bounded(t)) }()
	if err := recv(t, "the blocked Go returns", goDone); !errors.Is(err, ErrStopped) {
		t.Fatalf("Go blocked during Stop = %v, want ErrStopped", err)
	}
	close(b.release)
	if err := recv(t, "Stop returns", stopDone); err != nil {
		t.Fatal(err)
	}
}

func TestPriorities(t *testing.T) {
	t.Parallel()
	p := newStarted(t, Config{MinWorkers: 1, MaxWorkers: 1, QueueSize: 16})
	b := newBlocker(1)
	if err := p.Go(b.task); err != nil {
		t.Fatal(err)
	}
	b.wait(t, 1)
	var mu sync.Mutex
	var order []string
	rec := func(s string) func() {
		return func() { mu.Lock(); order = append(order, s); mu.Unlock() }
	}
	for _, s := range []string{"L1", "L2", "L3"} {
		if err := p.GoWith(Low, rec(s)); err != nil {
			t.Fatal(err)
		}
	}
	_ = p.Go(rec("N1"))
	_ = p.GoWith(High, rec("H1"))
	_ = p.GoWith(Low, rec("L4"))
	_ = p.GoWith(High, rec("H2"))
	f := Submit(context.Background(), p, func(context.Context) (int, error) { rec("H3")(); return 0, nil }, High)
	close(b.release)
	if _, err := f.Await(bounded(t)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "all ran", func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 8 })
	want := "H1 H2 H3 N1 L1 L2 L3 L4"
	if got := strings.Join(order, " "); got != want {
		t.Fatalf("order = %s, want %s", got, want)
	}
	if err := p.GoWith(Priority(7), func() {}); err == nil {
		t.Fatal("GoWith accepted an invalid priority")
	}
	if High.String() != "high" || Normal.String() != "normal" || Low.String() != "low" {
		t.Fatal("Priority.String")
	}
}

func TestCancelledBeforeStartIsNotRun(t *testing.T) {
	t.Parallel()
	p := newStarted(t, Config{MinWorkers: 1, MaxWorkers: 1})
	b := newBlocker(1)
	_ = p.Go(b.task)
	b.wait(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Bool
	f := Submit(ctx, p, func(context.Context) (int, error) { ran.Store(true); return 1, nil })
	cancel()
	close(b.release)
	recv(t, "the future resolves", f.Done())
	if _, err := f.Await(bounded(t)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Await = %v, want context.Canceled", err)
	}
	if ran.Load() {
		t.Fatal("task ran although its context was cancelled before it started")
	}
	// Already cancelled at Submit: never queued.
	f2 := Submit(ctx, p, func(context.Context) (int, error) { ran.Store(true); return 1, nil })
	if _, err := f2.Await(bounded(t)); !errors.Is(err, context.Canceled) || ran.Load() {
		t.Fatalf("Submit with a dead context = %v (ran %v)", err, ran.Load())
	}
	eventually(t, "canceled counted", func() bool { return p.Stats().Canceled == 1 })
}

func TestFutureResultAndAwaitContext(t *testing.T) {
	t.Parallel()
	p := newStarted(t, Config{MinWorkers: 1, MaxWorkers: 2})
	f := Submit(context.Background(), p, func(ctx context.Context) (string, error) { return "ok", nil })
	if v, err := f.Await(bounded(t)); v != "ok" || err != nil {
		t.Fatalf("Await = %q, %v", v, err)
	}
	// Awaiting again returns the same result.
	if v, err := f.Await(bounded(t)); v != "ok" || err != nil {
		t.Fatalf("second Await = %q, %v", v, err)
	}
	boom := errors.New("boom")
	fe := Submit(context.Background(), p, func(ctx context.Context) (int, error) { return 0, boom })
	if _, err := fe.Await(bounded(t)); !errors.Is(err, boom) {
		t.Fatalf("Await = %v, want boom", err)
	}
	// Await gives up when its own context ends; the task is unaffected.
	release := make(chan struct{})
	fs := Submit(context.Background(), p, func(ctx context.Context) (int, error) { <-release; return 7, nil })
	actx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := fs.Await(actx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Await with dead ctx = %v", err)
	}
	close(release)
	if v, err := fs.Await(bounded(t)); v != 7 || err != nil {
		t.Fatalf("Await after release = %d, %v", v, err)
	}
	if fn := Submit[int](context.Background(), p, nil); fn.err == nil {
		t.Fatal("Submit(nil) did not fail")
	}
	eventually(t, "failed counted", func() bool { return p.Stats().Failed == 1 })
}

func TestTaskContextCarriesValues(t *testing.T) {
	t.Parallel()
	p := newStarted(t, Config{MinWorkers: 1, MaxWorkers: 1})
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	f := Submit(ctx, p, func(ctx context.Context) (any, error) { return ctx.Value(key{}), nil })
	if v, _ := f.Await(bounded(t)); v != "v" {
		t.Fatalf("value in task ctx = %v", v)
	}
}

func TestPanics(t *testing.T) {
	t.Parallel()
	var logBuf syncBuffer
	p := newStarted(t, Config{MinWorkers: 1, MaxWorkers: 1, Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	f := Submit(context.Background(), p, func(context.Context) (int, error) { panic("kaboom") })
	_, err := f.Await(bounded(t))
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Value != "kaboom" || !bytes.Contains(pe.Stack, []byte("TestPanics")) {
		t.Fatalf("Await = %v, want *PanicError with the stack", err)
	}
	sentinel := errors.New("sentinel")
	f2 := Submit(context.Background(), p, func(context.Context) (int, error) { panic(sentinel) })
	if _, err := f2.Await(bounded(t)); !errors.Is(err, sentinel) {
		t.Fatalf("panic(error) does not unwrap: %v", err)
	}
	if err := p.Go(func() { panic("go-panic") }); err != nil {
		t.Fatal(err)
	}
	// The worker survived: it runs the next task.
	f3 := Submit(context.Background(), p, func(context.Context) (int, error) { return 3, nil })
	if v, err := f3.Await(bounded(t)); v != 3 || err != nil {
		t.Fatalf("after panics: %d, %v", v, err)
	}
	if !strings.Contains(logBuf.String(), "go-panic") {
		t.Fatalf("Go panic not logged: %q", logBuf.String())
	}
	eventually(t, "failed counted", func() bool { return p.Stats().Failed == 3 })
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestStopDrain(t *testing.T) {
	t.Parallel()
	p, _ := New(Config{Name: "drain", MinWorkers: 1, MaxWorkers: 1, QueueSize: 64, Logger: quietLogger})
	_ = p.Start(context.Background())
	b := newBlocker(1)
	_ = p.Go(b.task)
	b.wait(t, 1)
	var ran atomic.Int32
	futs := make([]*Future[int], 10)
	for i := range futs {
		futs[i] = Submit(context.Background(), p, func(context.Context) (int, error) { ran.Add(1); return 1, nil })
	}
	stopDone := make(chan error)
	go func() { stopDone <- p.Stop(bounded(t)) }()
	eventually(t, "stop started", func() bool { return p.Stats().StopStarted })
	close(b.release)
	if err := recv(t, "Stop returns", stopDone); err != nil {
		t.Fatal(err)
	}
	if ran.Load() != 10 {
		t.Fatalf("drain ran %d of 10", ran.Load())
	}
	for _, f := range futs {
		if _, err := f.Await(bounded(t)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStopCancelQueued(t *testing.T) {
	t.Parallel()
	p, _ := New(Config{Name: "cancel", MinWorkers: 1, MaxWorkers: 1, QueueSize: 64, OnStop: CancelQueued, Logger: quietLogger})
	_ = p.Start(context.Background())
	b := newBlocker(1)
	_ = p.Go(b.task)
	b.wait(t, 1)
	var ran atomic.Int32
	futs := make([]*Future[int], 10)
	for i := range futs {
		futs[i] = Submit(context.Background(), p, func(context.Context) (int, error) { ran.Add(1); return 1, nil })
		_ = p.GoWith(Low, func() { ran.Add(1) })
	}
	stopDone := make(chan error)
	go func() { stopDone <- p.Stop(bounded(t)) }()
	for _, f := range futs {
		if _, err := f.Await(bounded(t)); !errors.Is(err, ErrStopped) {
			t.Fatalf("queued future after Stop = %v, want ErrStopped", err)
		}
	}
	close(b.release)
	if err := recv(t, "Stop returns", stopDone); err != nil {
		t.Fatal(err)
	}
	if ran.Load() != 0 {
		t.Fatalf("%d queued tasks ran despite CancelQueued", ran.Load())
	}
	if s := p.Stats(); s.Canceled != 20 || s.Completed != 1 {
		t.Fatalf("Canceled = %d Completed = %d, want 20 and 1", s.Canceled, s.Completed)
	}
}

func TestStopContextExpires(t *testing.T) {
	t.Parallel()
	p, _ := New(Config{Name: "slowstop", MinWorkers: 1, MaxWorkers: 1, Logger: quietLogger})
	_ = p.Start(context.Background())
	b := newBlocker(1)
	_ = p.Go(b.task)
	b.wait(t, 1)
	f := Submit(context.Background(), p, func(context.Context) (int, error) { return 1, nil })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Stop(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Stop with a dead context = %v", err)
	}
	if _, err := f.Await(bounded(t)); !errors.Is(err, ErrStopped) {
		t.Fatalf("queued future after abandoned Stop = %v, want ErrStopped", err)
	}
	close(b.release)
	if err := p.Stop(bounded(t)); err != nil {
		t.Fatalf("second Stop = %v", err)
	}
}

func TestIdleTimeoutShrinksToTarget(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	p := newStarted(t, Config{MinWorkers: 1, MaxWorkers: 4, IdleTimeout: time.Minute, Clock: clk})
	b := newBlocker(4)
	for range 4 {
		if err := p.Go(b.task); err != nil {
			t.Fatal(err)
		}
	}
	b.wait(t, 4)
	if p.Workers() != 4 {
		t.Fatalf("Workers under load = %d, want 4", p.Workers())
	}
	close(b.release)
	eventually(t, "surplus workers park with a timer", func() bool { return clk.armed() == 4 && p.Stats().Idle == 4 })
	clk.Advance(30 * time.Second)
	if p.Workers() != 4 {
		t.Fatalf("Workers before IdleTimeout = %d, want 4", p.Workers())
	}
	clk.Advance(30 * time.Second)
	eventually(t, "workers above the target exit", func() bool { return p.Workers() == 1 })
	// The pool still works and grows again.
	f := Submit(context.Background(), p, func(context.Context) (int, error) { return 1, nil })
	if _, err := f.Await(bounded(t)); err != nil {
		t.Fatal(err)
	}
}

func TestResize(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	p := newStarted(t, Config{MinWorkers: 1, MaxWorkers: 6, IdleTimeout: time.Minute, Clock: clk})
	p.Resize(4)
	if p.Workers() != 4 || p.Target() != 4 {
		t.Fatalf("after Resize(4): workers %d target %d", p.Workers(), p.Target())
	}
	p.Resize(100)
	if p.Target() != 6 || p.Workers() != 6 {
		t.Fatalf("Resize(100) not clamped to max: target %d workers %d", p.Target(), p.Workers())
	}
	p.Resize(-3)
	if p.Target() != 1 {
		t.Fatalf("Resize(-3) not clamped to min: %d", p.Target())
	}
	eventually(t, "surplus workers re-park with a timer", func() bool { return clk.armed() == 6 })
	clk.Advance(time.Minute)
	eventually(t, "workers shrink to the new target", func() bool { return p.Workers() == 1 })
}

func TestStealing(t *testing.T) {
	t.Parallel()
	p := newStarted(t, Config{MinWorkers: 2, MaxWorkers: 2, QueueSize: 16})
	const n = 100
	var done sync.WaitGroup
	done.Add(n)
	release := make(chan struct{})
	parent := Submit(context.Background(), p, func(ctx context.Context) (int, error) {
		for range n {
			// ctx is the task's: these go to this worker's deque.
			Submit(ctx, p, func(context.Context) (int, error) { done.Done(); return 0, nil })
		}
		<-release // keep the owner busy: only a thief can run the children
		return 0, nil
	})
	waitGroup(t, "every child ran", &done)
	close(release)
	if _, err := parent.Await(bounded(t)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "stolen counted", func() bool { return p.Stats().Stolen == n })
}

func TestNestedMapDoesNotDeadlock(t *testing.T) {
	t.Parallel()
	// One worker: the children can only run because the waiting parent
	// helps with its own deque.
	p := newStarted(t, Config{MinWorkers: 1, MaxWorkers: 1})
	f := Submit(context.Background(), p, func(ctx context.Context) (int, error) {
		out, err := Map(ctx, p, []int{1, 2, 3}, func(_ context.Context, v int) (int, error) { return v * 10, nil })
		if err != nil {
			return 0, err
		}
		g := Submit(ctx, p, func(context.Context) (int, error) { return 4, nil })
		v, err := g.Await(ctx)
		return out[0] + out[1] + out[2] + v, err
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if v, err := f.Await(ctx); v != 64 || err != nil {
		t.Fatalf("nested = %d, %v", v, err)
	}
}

func TestWaitingAndStats(t *testing.T) {
	t.Parallel()
	p := newStarted(t, Config{MinWorkers: 1, MaxWorkers: 1})
	b := newBlocker(1)
	_ = p.Go(b.task)
	b.wait(t, 1)
	for range 3 {
		_ = p.GoWith(Low, func() {})
	}
	if p.Waiting() != 3 {
		t.Fatalf("Waiting = %d, want 3", p.Waiting())
	}
	s := p.Stats()
	if s.Queued != 3 || s.Workers != 1 || s.Running != 1 || s.Name != "test" {
		t.Fatalf("Stats = %+v", s)
	}
	close(b.release)
	eventually(t, "queue drained", func() bool { return p.Waiting() == 0 && p.Stats().Completed == 4 })
}

func TestGoNil(t *testing.T) {
	t.Parallel()
	p := newStarted(t, Config{})
	if err := p.Go(nil); err == nil {
		t.Fatal("Go(nil) accepted")
	}
}

// The largest queue is accepted (the bound is inclusive).
func TestLargestQueueIsAccepted(t *testing.T) {
	t.Parallel()
	if _, err := (Config{Name: "x", QueueSize: maxQueueSize}).withDefaults(); err != nil {
		t.Fatalf("QueueSize %d (the largest) refused: %v", maxQueueSize, err)
	}
}

// A priority past the last is refused by Go and by Submit, the last one is not.
func TestPriorityPastTheLastIsRefused(t *testing.T) {
	t.Parallel()
	p := newStarted(t, Config{})
	if err := p.GoWith(numPriorities, func() {}); err == nil {
		t.Fatal("GoWith(numPriorities) accepted")
	}
	if _, err := Submit(context.Background(), p, func(context.Context) (int, error) { return 1, nil }, numPriorities).Await(bounded(t)); err == nil {
		t.Fatal("Submit with priority numPriorities accepted")
	}
	last := numPriorities - 1
	done := make(chan struct{})
	if err := p.GoWith(last, func() { close(done) }); err != nil {
		t.Fatalf("GoWith(%v): %v", last, err)
	}
	recv(t, "the task at the last priority", done)
	if v, err := Submit(context.Background(), p, func(context.Context) (int, error) { return 1, nil }, last).Await(bounded(t)); err != nil || v != 1 {
		t.Fatalf("Submit at %v: %v, %v", last, v, err)
	}
}

// No more than MaxWorkers tasks run at once, however many are queued.
func TestNeverMoreWorkersThanMax(t *testing.T) {
	t.Parallel()
	p := newStarted(t, Config{MinWorkers: 1, MaxWorkers: 2, QueueSize: 64})
	release := make(chan struct{})
	var running, most atomic.Int32
	for range 20 {
		if err := p.Go(func() {
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			<-release
			running.Add(-1)
		}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "two tasks running", func() bool { return running.Load() == 2 })
	time.Sleep(50 * time.Millisecond) // room for a third worker to start, if the pool would
	if w := p.Workers(); w > 2 {
		t.Errorf("%d workers, MaxWorkers 2", w)
	}
	close(release)
	eventually(t, "queue drained", func() bool { return p.Waiting() == 0 && running.Load() == 0 })
	if m := most.Load(); m != 2 {
		t.Fatalf("at most %d tasks ran at once, want exactly MaxWorkers (2)", m)
	}
}

// Stats.Running counts the workers that are not idle: none in a pool with nothing to do.
func TestIdleWorkersAreNotRunning(t *testing.T) {
	t.Parallel()
	p := newStarted(t, Config{MinWorkers: 2, MaxWorkers: 2})
	eventually(t, "both workers idle", func() bool { s := p.Stats(); return s.Workers == 2 && s.Idle == 2 })
	if s := p.Stats(); s.Running != 0 {
		t.Fatalf("Stats %+v: Running %d with every worker idle", s, s.Running)
	}
}
