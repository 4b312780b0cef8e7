package optimizer_test

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brisk-go/brisk/libs/perfcore/optimizer"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
)

var spin atomic.Uint64

// cpuTask burns CPU for a bounded number of iterations.
func cpuTask() {
	var x uint64
	for i := range uint64(200_000) {
		x += i * i
	}
	spin.Add(x)
}

// TestRealLoadGrowsThenShrinksAPool runs CPU-bound tasks through a real
// pool, sampled by the real RuntimeSampler on the real clock, and watches
// the optimizer raise the pool's standing target while tasks wait and bring
// it back to the minimum once the load has stopped.
func TestRealLoadGrowsThenShrinksAPool(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real load for a few hundred milliseconds")
	}
	ctx := context.Background()
	// The pool's own logs are not the subject here; the optimizer's decisions
	// are printed with -v (docs/optimizer.md quotes them).
	logger := slog.New(slog.DiscardHandler)
	p, err := pool.New(pool.Config{Name: "cpu", MinWorkers: 1, MaxWorkers: 4, QueueSize: 4096,
		IdleTimeout: 20 * time.Millisecond, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := p.Stop(ctx); err != nil {
			t.Error(err)
		}
	}()

	var mu sync.Mutex
	var log []optimizer.Decision
	o, err := optimizer.New(optimizer.Config{
		SamplingInterval:     10 * time.Millisecond,
		OptimizationInterval: 100 * time.Millisecond,
		MaxOptimizations:     10,
		Logger:               slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
		// A CPU-bound load saturates the CPU, and with other test processes
		// sharing the machine the CPU share is not reproducible; the CPU gate
		// on growth is covered with recorded samples in optimizer_test.go.
		// Here it is opened so the test sees the real pool, sampler and
		// clock work together. The idle gate (CPU below 0.2) stays real.
		Policy: optimizer.Policy{CPUBusy: 1.01},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Register(p); err != nil {
		t.Fatal(err)
	}
	// Tick is driven here, on the real clock, so each decision can be read.
	tick := func() {
		d := o.Tick(ctx)
		mu.Lock()
		log = append(log, d)
		mu.Unlock()
	}

	// Load: keep tasks waiting until the target has grown to 3, bounded in count
	// and time.
	deadline := time.Now().Add(10 * time.Second)
	submitted := 0
	for p.Target() < 3 && time.Now().Before(deadline) && submitted < 200_000 {
		for range 200 {
			if err := p.Go(cpuTask); err != nil {
				t.Fatal(err)
			}
			submitted++
		}
		time.Sleep(10 * time.Millisecond)
		tick()
	}
	grown := p.Target()
	if grown < 3 {
		t.Fatalf("target stayed at %d after %d tasks; decisions: %+v", grown, submitted, log)
	}

	// Stop the load: let the queue drain, then keep sampling until the
	// optimizer brings the target back to the minimum.
	for p.Waiting() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	for p.Target() > 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		tick()
	}
	if p.Target() != 1 {
		t.Fatalf("after the load: target %d, want the minimum 1", p.Target())
	}
	// The pool retires the workers above the new target after IdleTimeout.
	retireBy := time.Now().Add(5 * time.Second)
	for p.Workers() > 1 && time.Now().Before(retireBy) {
		time.Sleep(5 * time.Millisecond)
	}
	if p.Workers() != 1 {
		t.Fatalf("after the load: %d live workers, want 1 (pool %q did not retire its surplus)", p.Workers(), p.Name())
	}
	var grew, shrank bool
	for _, d := range log {
		for _, a := range d.Actions {
			grew = grew || a.Kind == optimizer.ActionPoolGrow
			shrank = shrank || a.Kind == optimizer.ActionPoolShrink
		}
	}
	if !grew || !shrank {
		t.Fatalf("grew=%v shrank=%v", grew, shrank)
	}
	t.Logf("target grew to %d under %d tasks, then shrank to 1", grown, submitted)
}
