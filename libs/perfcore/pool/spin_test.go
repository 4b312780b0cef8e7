package pool

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A worker woken or started to look for work counts as searching until it
// finds a task or gives up; submitters skip their wake-up while anyone
// searches. A searcher count left behind by any path (wake, spawn, park
// race, Stop) would make every later submission skip its wake-up, and a
// pool whose workers are all parked would never run the task.
var spinSink atomic.Uint64

func TestSearcherCountReturnsToZero(t *testing.T) {
	p := newStarted(t, Config{MaxWorkers: 64, QueueSize: 64})
	for round := range 20 {
		var wg sync.WaitGroup
		var done sync.WaitGroup
		for producer := range 4 {
			wg.Go(func() {
				for i := range 2000 {
					done.Add(1)
					n := (round*7 + producer*3 + i) % 300
					if err := p.Go(func() {
						var x int
						for j := range n {
							x += j
						}
						spinSink.Add(uint64(x))
						done.Done()
					}); err != nil {
						t.Error(err)
						done.Done()
						return
					}
				}
			})
		}
		waitGroup(t, "every producer queued its tasks", &wg)
		waitGroup(t, "every task ran", &done)
		eventually(t, "every worker parked and no searcher counted", func() bool {
			return p.nSpinning.Load() == 0 && p.nIdle.Load() == p.nWorkers.Load()
		})
		ran := make(chan struct{})
		if err := p.Go(func() { close(ran) }); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ran:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: a task submitted to an idle pool never ran", round)
		}
	}
}
