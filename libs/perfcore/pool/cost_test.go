package pool

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

// These tests pin down what the pool promises about its own cost and its
// internal bookkeeping: the searcher limit, the producer wake-up rule, the
// waiter count, counter publication, timers, the steal scan, the sampled
// timings and Await's allocations. Each answers a mutant of the first full
// mutation run that the behavioural tests let through (see docs/testing.md).

// At most one worker searches voluntarily, and none at GOMAXPROCS 1, where
// a searcher would only delay the submitter that shares its P.
func TestSearcherLimitFollowsGOMAXPROCS(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
	for _, c := range []struct{ procs, want int32 }{{1, 0}, {2, 1}, {8, 1}} {
		runtime.GOMAXPROCS(int(c.procs))
		p, err := New(Config{Name: "spin", Logger: quietLogger})
		if err != nil {
			t.Fatal(err)
		}
		if p.maxSpin != c.want {
			t.Errorf("GOMAXPROCS %d: %d voluntary searchers allowed, want %d", c.procs, p.maxSpin, c.want)
		}
	}
}

// A worker that finds the searcher quota taken parks instead of searching:
// it leaves a queued task to the searcher and the count alone.
func TestNoSearchBeyondTheQuota(t *testing.T) {
	p, err := New(Config{Name: "quota", MaxWorkers: 2, Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	p.maxSpin = 1
	p.nSpinning.Store(1)
	if !p.queues[Normal].push(item{r: funcTask(func() {})}) {
		t.Fatal("push to an empty queue failed")
	}
	w := &worker{p: p, wake: make(chan bool, 1)}
	if _, ok := w.spin(false); ok {
		t.Fatal("a worker searched past the quota and took the queued task")
	}
	if n := p.nSpinning.Load(); n != 1 {
		t.Fatalf("searcher count %d after a refused search, want 1", n)
	}
	if n := p.queues[Normal].length(); n != 1 {
		t.Fatalf("%d tasks queued after a refused search, want 1", n)
	}
}

// Blocked producers are woken once the queue they wait on is half empty,
// not at every pop (they would wake once per task) and not later.
func TestBlockedProducersWakeAtHalfQueue(t *testing.T) {
	p, err := New(Config{Name: "half", QueueSize: 8, Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	q := p.queues[Normal]
	for range q.capacity() {
		if !q.push(item{r: funcTask(func() {})}) {
			t.Fatal("push below capacity failed")
		}
	}
	p.spaceMu.Lock()
	ch := p.spaceCh
	p.spaceWaiters.Store(1) // one producer waits on ch
	p.spaceMu.Unlock()
	for i := 1; i <= q.capacity()/2; i++ {
		if _, ok := p.popGlobal(Normal); !ok {
			t.Fatalf("pop %d of a full queue failed", i)
		}
		select {
		case <-ch:
			if i < q.capacity()/2 {
				t.Fatalf("producers woken after %d pops, %d still queued (want at half: %d)", i, q.length(), q.capacity()/2)
			}
		default:
			if i == q.capacity()/2 {
				t.Fatalf("producers still waiting with the queue half empty (%d of %d)", q.length(), q.capacity())
			}
		}
	}
	if n := p.spaceWaiters.Load(); n != 0 {
		t.Fatalf("waiter count %d after the wake-up, want 0", n)
	}
}

// Freeing space when no producer waits costs nothing: no new channel.
func TestReleasingSpaceWithoutWaitersAllocatesNothing(t *testing.T) {
	p, err := New(Config{Name: "release", Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	ch := p.spaceCh
	if a := testing.AllocsPerRun(100, p.releaseSpace); a != 0 {
		t.Fatalf("releaseSpace without waiters allocated %.0f times per call", a)
	}
	if p.spaceCh != ch {
		t.Fatal("releaseSpace without waiters replaced the producers' channel")
	}
}

// The waiter count goes back to zero however a blocked producer leaves:
// its push went through, its context ended, or the pool stopped. A count
// left behind makes every later pop take the producers' lock.
func TestBlockedProducersLeaveNoWaiterCount(t *testing.T) {
	// full starts a one-worker pool whose worker is held by a blocker and whose queue is
	// full, so that the next producer blocks.
	full := func(t *testing.T) (*Pool, *blocker) {
		t.Helper()
		p := newStarted(t, Config{MinWorkers: 1, MaxWorkers: 1, QueueSize: 4, OnStop: CancelQueued})
		b := newBlocker(1)
		if err := p.Go(b.task); err != nil {
			t.Fatal(err)
		}
		b.wait(t, 1)
		for p.queues[Normal].length() < p.queues[Normal].capacity() {
			if err := p.Go(func() {}); err != nil {
				t.Fatal(err)
			}
		}
		return p, b
	}
	// blockedGo starts a producer and returns once it waits for room.
	blockedGo := func(t *testing.T, p *Pool, submit func() error) <-chan error {
		t.Helper()
		errc := make(chan error, 1)
		go func() { errc <- submit() }()
		eventually(t, "a producer blocked on the full queue", func() bool { return p.spaceWaiters.Load() == 1 })
		return errc
	}
	noWaiters := func(t *testing.T, p *Pool, after string) {
		t.Helper()
		if n := p.spaceWaiters.Load(); n != 0 {
			t.Fatalf("waiter count %d after %s, want 0", n, after)
		}
	}

	// The retry of a woken producer that finds room: the count it added
	// comes off at once, before any consumer looks at it.
	t.Run("retry finds room", func(t *testing.T) {
		p, err := New(Config{Name: "retry", QueueSize: 4, Logger: quietLogger})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.waitPush(context.Background(), p.queues[Normal], item{r: funcTask(func() {})}); err != nil {
			t.Fatal(err)
		}
		noWaiters(t, p, "a retry that pushed")
	})

	t.Run("pushed", func(t *testing.T) {
		p, b := full(t)
		errc := blockedGo(t, p, func() error { return p.Go(func() {}) })
		close(b.release)
		if err := recv(t, "the blocked producer's push", errc); err != nil {
			t.Fatal(err)
		}
		settled(t, p)
		noWaiters(t, p, "the producer pushed")
	})

	t.Run("context ended", func(t *testing.T) {
		p, b := full(t)
		defer close(b.release)
		ctx, cancel := context.WithCancel(context.Background())
		errc := blockedGo(t, p, func() error {
			_, err := Submit(ctx, p, func(context.Context) (int, error) { return 1, nil }).Await(bounded(t))
			return err
		})
		cancel()
		if err := recv(t, "the cancelled producer", errc); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled blocked submit: %v, want context.Canceled", err)
		}
		noWaiters(t, p, "the producer's context ended")
	})

	t.Run("pool stopped", func(t *testing.T) {
		p, b := full(t)
		errc := blockedGo(t, p, func() error { return p.Go(func() {}) })
		stopped := make(chan error, 1)
		go func() { stopped <- p.Stop(bounded(t)) }()
		if err := recv(t, "the producer blocked by a stopping pool", errc); !errors.Is(err, ErrStopped) {
			t.Fatalf("blocked Go during Stop: %v, want ErrStopped", err)
		}
		noWaiters(t, p, "Stop released the producer")
		close(b.release)
		if err := recv(t, "Stop", stopped); err != nil {
			t.Fatal(err)
		}
	})
}

// A busy worker publishes its counters every publishEvery tasks, so Stats
// is at most that far behind a worker that never parks.
func TestBusyWorkerPublishesEveryPublishEveryTasks(t *testing.T) {
	p := newStarted(t, Config{MinWorkers: 1, MaxWorkers: 1, QueueSize: 2 * publishEvery})
	first, last := newBlocker(1), newBlocker(1)
	if err := p.Go(first.task); err != nil {
		t.Fatal(err)
	}
	first.wait(t, 1)
	// Queued behind the first blocker, so the worker runs them back to back
	// without parking: the first blocker and publishEvery-1 tasks make
	// publishEvery, then the last blocker holds the worker.
	for range publishEvery - 1 {
		if err := p.Go(func() {}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Go(last.task); err != nil {
		t.Fatal(err)
	}
	close(first.release)
	last.wait(t, 1)
	defer close(last.release)
	if got := p.Stats().Completed; got != publishEvery {
		t.Fatalf("Stats.Completed = %d while the worker is busy after %d tasks, want %d", got, publishEvery, publishEvery)
	}
}

// A pool at its standing size arms no idle timer: its workers never retire,
// so a timer would be pure cost on every park.
func TestWorkersAtTheTargetArmNoTimer(t *testing.T) {
	clk := newFakeClock()
	p := newStarted(t, Config{MinWorkers: 2, MaxWorkers: 2, Clock: clk})
	for range 50 {
		if err := p.Go(func() {}); err != nil {
			t.Fatal(err)
		}
	}
	settled(t, p)
	clk.mu.Lock()
	n := len(clk.timers)
	clk.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d idle timers made by a pool at its standing size, want 0", n)
	}
}

// A thief scans every other worker's deque, wherever its scan starts.
func TestStealScansEveryWorker(t *testing.T) {
	p, err := New(Config{Name: "steal", MaxWorkers: 8, Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	thief := &worker{p: p, slot: 0}
	victim := &worker{p: p, slot: 7}
	p.slots[0].Store(thief)
	p.slots[7].Store(victim)
	const queued = 100
	for range queued {
		if !victim.local.push(item{r: funcTask(func() {})}) {
			t.Fatal("push to the victim's deque failed")
		}
		p.localQueued.Add(1)
	}
	for i := range queued {
		if _, ok := thief.steal(); !ok {
			t.Fatalf("steal %d of %d found nothing", i+1, queued)
		}
	}
	if thief.stolen != queued || p.localQueued.Load() != 0 {
		t.Fatalf("stolen %d (want %d), local count %d (want 0)", thief.stolen, queued, p.localQueued.Load())
	}
}

// The sampled wait and run times are clock differences: with a clock that
// moves only inside tasks (3 s each), every run lasts exactly 3 s and every
// wait is the 3 s of each task that ran before it.
func TestSampledTimingsAreClockDifferences(t *testing.T) {
	clk := newFakeClock()
	fp := &fakeProvider{observed: map[string]int64{}, values: map[string][]float64{}}
	const tasks = 1280 // one in 64 is sampled: P(no sample) = (63/64)^1280 < 1e-8
	p := newStarted(t, Config{MinWorkers: 1, MaxWorkers: 1, QueueSize: 2 * tasks, Clock: clk, MeterProvider: fp})
	step := func() { clk.Advance(3 * time.Second) }
	b := newBlocker(1)
	if err := p.Go(func() { b.task(); step() }); err != nil {
		t.Fatal(err)
	}
	b.wait(t, 1)
	var wg sync.WaitGroup
	for range tasks {
		wg.Add(1)
		if err := p.Go(func() { step(); wg.Done() }); err != nil {
			t.Fatal(err)
		}
	}
	close(b.release)
	waitGroup(t, "every task ran", &wg)
	settled(t, p)
	fp.mu.Lock()
	defer fp.mu.Unlock()
	runs, waits := fp.values[MetricTaskDuration], fp.values[MetricTaskWait]
	if len(runs) == 0 || len(runs) != len(waits) {
		t.Fatalf("%d runs and %d waits sampled, want the same number, at least one", len(runs), len(waits))
	}
	for i, r := range runs {
		if r != 3 {
			t.Fatalf("sampled run %d took %v s by a clock that moved 3 s during it", i, r)
		}
	}
	for i, w := range waits {
		if k := w / 3; k != float64(int(k)) || k < 0 || k > tasks {
			t.Fatalf("sampled wait %d is %v s, want a multiple of 3 s in [0, %d]", i, w, 3*tasks)
		}
	}
}

// Await on a pending future borrows a pooled signal instead of making the
// Done channel: awaiting costs no allocation beyond the future itself.
func TestAwaitOfAPendingFutureAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	p, err := New(Config{Name: "await", Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	todo := make(chan *Future[int])
	resolver := make(chan struct{})
	go func() {
		defer close(resolver)
		for f := range todo {
			for f.state.Load() != futWaited {
				runtime.Gosched()
			}
			f.val = 7
			f.resolve(nil)
		}
	}()
	defer func() { close(todo); <-resolver }()
	ctx := context.Background()
	allocs := testing.AllocsPerRun(200, func() {
		f := &Future[int]{pool: p}
		todo <- f
		if v, err := f.Await(ctx); v != 7 || err != nil {
			panic("await of a resolved future returned the wrong result")
		}
	})
	if allocs > 1 {
		t.Fatalf("awaiting a pending future allocated %.1f objects, want 1 (the future)", allocs)
	}
}

// Resize to the target the pool already has wakes nobody: a wake-up would count as work for
// every parked worker and put off the surplus's retirement by one IdleTimeout.
func TestResizeToTheSameTargetWakesNobody(t *testing.T) {
	clk := newFakeClock()
	p := newStarted(t, Config{MinWorkers: 1, MaxWorkers: 4, IdleTimeout: time.Second, Clock: clk})
	b := newBlocker(4)
	for range 4 {
		if err := p.Go(b.task); err != nil {
			t.Fatal(err)
		}
	}
	b.wait(t, 4)
	close(b.release)
	eventually(t, "four workers parked, each above the target with its idle timer", func() bool {
		return p.nIdle.Load() == 4 && clk.armed() == 4
	})
	p.Resize(1)
	clk.Advance(time.Second)
	eventually(t, "the surplus retired one IdleTimeout after it parked", func() bool { return p.Workers() == 1 })
}

// A worker that exits runs what its deque still holds (a task pushed there by a goroutine that
// kept an old task context), so no future is left unresolved.
func TestAnExitingWorkerRunsWhatItsDequeStillHolds(t *testing.T) {
	p, err := New(Config{Name: "exit", MaxWorkers: 2, Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	w := &worker{p: p, slot: 1, wake: make(chan bool, 1)}
	p.slots[1].Store(w)
	p.nWorkers.Add(1)
	p.live.Add(1)
	ran := 0
	for range 3 {
		if !w.local.push(item{r: funcTask(func() { ran++ })}) {
			t.Fatal("push to the worker's deque failed")
		}
		p.localQueued.Add(1)
	}
	w.exit(false)
	if ran != 3 || p.localQueued.Load() != 0 {
		t.Fatalf("exit ran %d of the 3 tasks left in its deque; %d still counted as queued", ran, p.localQueued.Load())
	}
	if s := p.Stats(); s.Completed != 3 || s.Workers != 0 || p.slots[1].Load() != nil {
		t.Fatalf("after exit: %d completed (want 3), %d workers (want 0), slot freed %v", s.Completed, s.Workers, p.slots[1].Load() == nil)
	}
}
