package pool

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestStress: 1e6 futures (fewer under -race or -short) from several
// goroutines, random priorities, random cancellations and random panics.
// Every future must resolve, every task must run at most once, a task must
// not run when its context was cancelled before Submit, and the pool's
// counters must account for every task exactly once.
func TestStress(t *testing.T) {
	total := 1_000_000
	switch {
	case testing.Short():
		total = 50_000
	case raceEnabled:
		total = 200_000
	}
	const submitters = 4
	const window = 512
	p := newStarted(t, Config{MinWorkers: 1, MaxWorkers: 8, QueueSize: 256})
	runs := make([]atomic.Int32, total)
	var okN, errN, panicN, cancelN atomic.Int64
	var wg sync.WaitGroup
	dead, kill := context.WithCancel(context.Background())
	// patient bounds every Await: a future that never resolves fails the test, not hangs it.
	patient, stopWaiting := context.WithTimeout(context.Background(), 5*time.Minute)
	defer stopWaiting()
	kill()
	errTask := errors.New("task error")
	for s := range submitters {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(s), 42))
			type pending struct {
				i      int
				f      *Future[int]
				cancel context.CancelFunc
				mode   int
			}
			var ps []pending
			check := func() {
				for _, q := range ps {
					v, err := q.f.Await(patient)
					n := runs[q.i].Load()
					var pe *PanicError
					switch {
					case n > 1:
						t.Errorf("task %d ran %d times", q.i, n)
					case err == nil:
						if v != q.i || n != 1 {
							t.Errorf("task %d: value %d runs %d", q.i, v, n)
						}
						okN.Add(1)
					case errors.As(err, &pe):
						if n != 1 || q.mode != 2 {
							t.Errorf("task %d: unexpected panic (mode %d)", q.i, q.mode)
						}
						panicN.Add(1)
					case errors.Is(err, errTask):
						errN.Add(1)
					case errors.Is(err, context.Canceled):
						if n != 0 {
							t.Errorf("task %d ran but resolved as canceled", q.i)
						}
						if q.mode == 4 {
							t.Errorf("task %d resolved as canceled without cancellation", q.i)
						}
						cancelN.Add(1)
					default:
						t.Errorf("task %d: unexpected error %v", q.i, err)
					}
					if q.cancel != nil {
						q.cancel()
					}
				}
				ps = ps[:0]
			}
			for i := s; i < total; i += submitters {
				mode := rng.IntN(5) // 0 ok, 1 error, 2 panic, 3 cancel, 4 ok again
				prio := Priority(rng.IntN(3))
				ctx := context.Background()
				var cancel context.CancelFunc
				switch {
				case mode == 3 && rng.IntN(2) == 0:
					ctx = dead
				case mode == 3:
					ctx, cancel = context.WithCancel(ctx)
				}
				f := Submit(ctx, p, func(ctx context.Context) (int, error) {
					runs[i].Add(1)
					switch mode {
					case 1:
						return 0, fmt.Errorf("task %d: %w", i, errTask)
					case 2:
						panic(i)
					}
					return i, nil
				}, prio)
				if cancel != nil {
					cancel() // may land before or after the task starts
				}
				ps = append(ps, pending{i: i, f: f, mode: mode})
				if len(ps) == window {
					check()
				}
			}
			check()
		})
	}
	wg.Wait()
	got := okN.Load() + errN.Load() + panicN.Load() + cancelN.Load()
	if got != int64(total) {
		t.Fatalf("resolved %d futures, want %d", got, total)
	}
	ctx := context.Background()
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	s := p.Stats()
	// Futures created with an already dead context never reach a worker;
	// all others are counted exactly once by the pool.
	notQueued := int64(total) - int64(s.Completed+s.Failed+s.Canceled)
	if s.Completed != uint64(okN.Load()) || s.Failed != uint64(errN.Load()+panicN.Load()) || notQueued < 0 || int64(s.Canceled)+notQueued != cancelN.Load() {
		t.Fatalf("stats %+v disagree with results ok=%d err=%d panic=%d canceled=%d", s, okN.Load(), errN.Load(), panicN.Load(), cancelN.Load())
	}
	t.Logf("%d tasks: ok %d, error %d, panic %d, canceled %d (%d before queueing)", total, okN.Load(), errN.Load(), panicN.Load(), cancelN.Load(), notQueued)
}
