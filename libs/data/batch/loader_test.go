package batch_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/brisk-go/brisk/libs/data/batch"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// gatedFetch records every call and blocks each one until the test releases it.
type gatedFetch struct {
	mu    sync.Mutex
	calls [][]int
	gate  chan struct{}
	fail  error
}

func (g *gatedFetch) fetch(ctx context.Context, keys []int) (map[int]string, error) {
	g.mu.Lock()
	g.calls = append(g.calls, append([]int(nil), keys...))
	g.mu.Unlock()
	if g.gate != nil {
		select {
		case <-g.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if g.fail != nil {
		return nil, g.fail
	}
	out := map[int]string{}
	for _, k := range keys {
		if k >= 0 { // negative ids do not exist
			out[k] = fmt.Sprint("v", k)
		}
	}
	return out, nil
}

func (g *gatedFetch) snapshot() [][]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([][]int(nil), g.calls...)
}

func TestLoneCallerFetchesAtOnce(t *testing.T) {
	g := &gatedFetch{}
	l := batch.New(g.fetch, batch.Options{})
	v, found, err := l.Load(context.Background(), 7)
	if err != nil || !found || v != "v7" {
		t.Fatalf("Load: %q %v %v", v, found, err)
	}
	if _, found, _ := l.Load(context.Background(), -1); found {
		t.Fatal("missing key reported as found")
	}
	if calls := g.snapshot(); len(calls) != 2 || len(calls[0]) != 1 {
		t.Fatalf("want two single-key fetches, got %v", calls)
	}
}

func TestDisabledIsDirect(t *testing.T) {
	g := &gatedFetch{}
	l := batch.New(g.fetch, batch.Options{Disabled: true})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() { _, _, _ = l.Load(context.Background(), i) })
	}
	wg.Wait()
	for _, c := range g.snapshot() {
		if len(c) != 1 {
			t.Fatalf("disabled loader batched %v", c)
		}
	}
	if f, _ := l.Stats(); f != 20 {
		t.Fatalf("want 20 fetches, got %d", f)
	}
}

// loadAll starts n callers asking for keys(i) while every fetch is held, waits until the
// ones that cannot get a slot have queued, then releases the fetches.
func loadAll(t *testing.T, l *batch.Loader[int, string], g *gatedFetch, n, slots int, key func(int) int) []string {
	t.Helper()
	got := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			v, found, err := l.Load(context.Background(), key(i))
			if err != nil || !found {
				t.Errorf("Load(%d): %v %v", key(i), found, err)
			}
			got[i] = v
		})
	}
	waitUntil(t, func() bool { return l.Waiting() == n-slots }) // all queued behind the held fetches
	close(g.gate)
	wg.Wait()
	return got
}

func TestConcurrentCallersShareFetches(t *testing.T) {
	g := &gatedFetch{gate: make(chan struct{})}
	l := batch.New(g.fetch, batch.Options{MaxInFlight: 2})
	got := loadAll(t, l, g, 64, 2, func(i int) int { return i })
	for i, v := range got {
		if v != fmt.Sprint("v", i) {
			t.Fatalf("caller %d got %q", i, v)
		}
	}
	calls := g.snapshot()
	if len(calls) > 4 {
		t.Fatalf("64 concurrent callers with 2 fetch slots made %d fetches: %v", len(calls), calls)
	}
	fetches, keys := l.Stats()
	if keys != 64 || fetches != int64(len(calls)) {
		t.Fatalf("stats: %d fetches, %d keys", fetches, keys)
	}
}

func TestIdenticalKeysShareOneLookup(t *testing.T) {
	g := &gatedFetch{gate: make(chan struct{})}
	l := batch.New(g.fetch, batch.Options{MaxInFlight: 1})
	loadAll(t, l, g, 30, 1, func(i int) int { return 1 + i%3 })
	total := 0
	for _, c := range g.snapshot() {
		seen := map[int]bool{}
		for _, k := range c {
			if seen[k] {
				t.Fatalf("key %d fetched twice in one batch: %v", k, c)
			}
			seen[k] = true
		}
		total += len(c)
	}
	if total > 4 { // the first caller's fetch, then one batch of the three distinct keys
		t.Fatalf("30 callers for 3 keys fetched %d keys: %v", total, g.snapshot())
	}
}

func TestMaxBatchSplitsLargeQueues(t *testing.T) {
	g := &gatedFetch{gate: make(chan struct{})}
	l := batch.New(g.fetch, batch.Options{MaxInFlight: 1, MaxBatch: 10})
	loadAll(t, l, g, 41, 1, func(i int) int { return i })
	for _, c := range g.snapshot() {
		if len(c) > 10 {
			t.Fatalf("batch of %d exceeds MaxBatch 10", len(c))
		}
	}
}

func TestErrorReachesEveryCallerInTheBatch(t *testing.T) {
	boom := errors.New("database down")
	g := &gatedFetch{gate: make(chan struct{}), fail: boom}
	l := batch.New(g.fetch, batch.Options{MaxInFlight: 1})
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range 10 {
		wg.Go(func() { _, _, errs[i] = l.Load(context.Background(), i) })
	}
	waitUntil(t, func() bool { return l.Waiting() == 9 })
	close(g.gate)
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, boom) {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
}

func TestCancelledCallerLeavesWithoutHurtingOthers(t *testing.T) {
	g := &gatedFetch{gate: make(chan struct{})}
	l := batch.New(g.fetch, batch.Options{MaxInFlight: 1})
	first := make(chan error, 1)
	go func() { _, _, err := l.Load(context.Background(), 1); first <- err }() // holds the slot
	waitUntil(t, func() bool { return len(g.snapshot()) == 1 })

	ctx, cancel := context.WithCancel(context.Background())
	quitter := make(chan error, 1)
	go func() { _, _, err := l.Load(ctx, 2); quitter <- err }()
	stayer := make(chan string, 1)
	go func() { v, _, _ := l.Load(context.Background(), 3); stayer <- v }()
	waitUntil(t, func() bool { return l.Waiting() == 2 })
	cancel()
	select {
	case err := <-quitter:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled caller: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelled caller kept waiting for the batch")
	}
	close(g.gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if v := <-stayer; v != "v3" {
		t.Fatalf("caller in the same batch got %q", v)
	}
}

func TestAbandonedQueuedBatchIsDropped(t *testing.T) {
	g := &gatedFetch{gate: make(chan struct{})}
	l := batch.New(g.fetch, batch.Options{MaxInFlight: 1})
	first := make(chan error, 1)
	go func() { _, _, err := l.Load(context.Background(), 1); first <- err }()
	waitUntil(t, func() bool { return len(g.snapshot()) == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() { _, _, err := l.Load(ctx, 2); left <- err }()
	waitUntil(t, func() bool { return l.Waiting() == 1 })
	cancel()
	<-left
	// A caller arriving now must not join the abandoned (cancelled) batch.
	late := make(chan error, 1)
	go func() { _, _, err := l.Load(context.Background(), 5); late <- err }()
	waitUntil(t, func() bool { return l.Waiting() == 1 })
	close(g.gate)
	if err := <-late; err != nil {
		t.Fatalf("late caller inherited a cancelled batch: %v", err)
	}
	<-first
	for _, c := range g.snapshot() {
		for _, k := range c {
			if k == 2 {
				t.Fatalf("abandoned key 2 was still fetched: %v", g.snapshot())
			}
		}
	}
}

func TestSetEnabledSwitchesAtRunTime(t *testing.T) {
	g := &gatedFetch{}
	l := batch.New(g.fetch, batch.Options{Disabled: true})
	if l.Enabled() {
		t.Fatal("Disabled option ignored")
	}
	l.SetEnabled(true)
	if !l.Enabled() {
		t.Fatal("SetEnabled(true) ignored")
	}
	if v, _, _ := l.Load(context.Background(), 4); v != "v4" {
		t.Fatal(v)
	}
}

// waitUntil polls cond; it synchronises on state, so it never asserts on timing.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
