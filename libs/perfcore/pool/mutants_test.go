package pool

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// A push that read the state as running just before Stop finished lands in a
// queue that Stop has already swept for the last time: the pusher must sweep
// it itself, or that future never resolves and its Await hangs. The
// interleaving is reproduced here step by step: Stop runs to the end, then the
// late push and its afterPush happen, as enqueue does them.
func TestPushThatRacesStopIsSwept(t *testing.T) {
	t.Parallel()
	for _, mode := range []StopMode{Drain, CancelQueued} {
		p, err := New(Config{Name: "late", MinWorkers: 1, MaxWorkers: 1, OnStop: mode, Logger: quietLogger})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := p.Stop(bounded(t)); err != nil {
			t.Fatal(err)
		}
		var ran bool
		f := &Future[int]{fn: func(context.Context) (int, error) { ran = true; return 1, nil }, pool: p}
		f.tc.Context = context.Background()
		if !p.queues[Normal].push(item{r: f}) {
			t.Fatal("push into an empty queue failed")
		}
		if err := p.afterPush(); !errors.Is(err, errSwept) {
			t.Errorf("%v: afterPush after Stop = %v, want errSwept", mode, err)
		}
		if _, err := f.Await(bounded(t)); !errors.Is(err, ErrStopped) {
			t.Errorf("%v: a push that raced Stop resolved with %v, want ErrStopped", mode, err)
		}
		if ran || p.Waiting() != 0 {
			t.Errorf("%v: ran %v, Waiting %d after the late push was swept", mode, ran, p.Waiting())
		}
	}
}

// settled waits until p has no task queued and every worker is parked: a
// queue count that never returns to zero means Waiting over-reports and the
// workers, which park only when nothing is queued, keep looking for work.
func settled(t *testing.T, p *Pool) {
	t.Helper()
	eventually(t, "nothing waiting and every worker parked", func() bool {
		return p.Waiting() == 0 && p.Stats().Queued == 0 && p.nIdle.Load() == p.nWorkers.Load()
	})
}

// Tasks queued on a worker's own deque (nested submissions) leave the count
// of waiting tasks by every way they are taken: popped by their worker,
// stolen by another, or run by a parent that awaits them.
func TestLocalQueueAccounting(t *testing.T) {
	t.Parallel()
	const n = 20
	t.Run("popped by the owner", func(t *testing.T) {
		t.Parallel()
		p := newStarted(t, Config{MinWorkers: 1, MaxWorkers: 1})
		var wg sync.WaitGroup
		wg.Add(n)
		parent := Submit(context.Background(), p, func(ctx context.Context) (int, error) {
			for range n {
				Submit(ctx, p, func(context.Context) (int, error) { wg.Done(); return 0, nil })
			}
			if got := p.Waiting(); got != n {
				t.Errorf("Waiting with %d children on the deque = %d", n, got)
			}
			return 0, nil // the children run after the parent, on its worker
		})
		if _, err := parent.Await(bounded(t)); err != nil {
			t.Fatal(err)
		}
		waitGroup(t, "every child ran", &wg)
		settled(t, p)
	})
	t.Run("stolen", func(t *testing.T) {
		t.Parallel()
		p := newStarted(t, Config{MinWorkers: 2, MaxWorkers: 2})
		var wg sync.WaitGroup
		wg.Add(n)
		release := make(chan struct{})
		parent := Submit(context.Background(), p, func(ctx context.Context) (int, error) {
			for range n {
				Submit(ctx, p, func(context.Context) (int, error) { wg.Done(); return 0, nil })
			}
			<-release // the owner is busy: only the other worker can run them
			return 0, nil
		})
		waitGroup(t, "every child was stolen and ran", &wg)
		if s := p.Stats(); s.Queued != 0 {
			t.Errorf("Queued with every child run and the parent still running = %d", s.Queued)
		}
		close(release)
		if _, err := parent.Await(bounded(t)); err != nil {
			t.Fatal(err)
		}
		settled(t, p)
	})
	t.Run("helped by the awaiting parent", func(t *testing.T) {
		t.Parallel()
		p := newStarted(t, Config{MinWorkers: 1, MaxWorkers: 1})
		parent := Submit(context.Background(), p, func(ctx context.Context) (int, error) {
			sum := 0
			for i := range n {
				v, err := Submit(ctx, p, func(context.Context) (int, error) { return i, nil }).Await(ctx)
				if err != nil {
					return 0, err
				}
				sum += v
			}
			return sum, nil
		})
		if v, err := parent.Await(bounded(t)); v != n*(n-1)/2 || err != nil {
			t.Fatalf("parent = %d, %v; want %d", v, err, n*(n-1)/2)
		}
		settled(t, p)
	})
}

// A Map that cannot queue all of its items (a full FailFast queue) returns
// that error once the queued ones are done, instead of waiting for items
// that were never queued.
func TestMapIntoAFullQueueFails(t *testing.T) {
	t.Parallel()
	p := newStarted(t, Config{MinWorkers: 1, MaxWorkers: 1, QueueSize: 1, WhenFull: FailFast})
	b := newBlocker(1)
	if err := p.Go(b.task); err != nil {
		t.Fatal(err)
	}
	b.wait(t, 1)
	var out []int
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		out, err = Map(context.Background(), p, []int{1, 2, 3}, func(_ context.Context, v int) (int, error) { return v, nil })
	}()
	// Release the worker only once Map was refused, so the queue was full when it tried.
	eventually(t, "Map's second item refused", func() bool { return p.Stats().Rejected == 1 })
	close(b.release) // the one queued item can run now
	recv(t, "Map returns", done)
	if !errors.Is(err, ErrQueueFull) || out != nil {
		t.Fatalf("Map into a full queue = %v, %v; want ErrQueueFull", out, err)
	}
}

// A worker that found nothing to do and is about to park can miss a push: the
// submitter pushed after the worker's last look at the queues but read nIdle
// before the worker registered as idle, so it woke nobody (and, at MaxWorkers,
// started nobody). park must look at the queues once more after registering,
// or the task waits, with a worker asleep beside it, until some later push.
// The interleaving is reproduced step by step: the push lands with no wake-up,
// then the worker parks.
func TestParkSeesAPushItsWakerMissed(t *testing.T) {
	t.Parallel()
	p, err := New(Config{Name: "park", MinWorkers: 1, MaxWorkers: 1, Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	p.state.Store(stateRunning) // as Start leaves it, without starting the worker
	w := &worker{p: p, wake: make(chan bool, 1)}
	f := &Future[int]{fn: func(context.Context) (int, error) { return 1, nil }, pool: p}
	f.tc.Context = context.Background()
	if !p.queues[Normal].push(item{r: f}) {
		t.Fatal("push into an empty queue failed")
	}
	parked := make(chan struct{})
	go func() {
		defer close(parked)
		w.park()
	}()
	select {
	case <-parked:
	case <-time.After(patience):
		w.wake <- false // let it go, so that the test ends without a leaked goroutine
		<-parked
		t.Fatalf("park slept for %v with a task queued and nobody to wake it: a lost wake-up", patience)
	}
	if n := p.nIdle.Load(); n != 0 || len(p.idle) != 0 {
		t.Errorf("the worker left park but is still listed idle (nIdle %d, idle list %d)", n, len(p.idle))
	}
	if it, ok := w.next(); !ok || it.r != f {
		t.Error("the queued task is not the next one the worker takes")
	}
}
