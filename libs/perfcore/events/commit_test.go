package events_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/brisk-go/brisk/libs/perfcore/events"
)

// runNow is a Runner that runs the task on the caller's goroutine.
type runNow struct{ started atomic.Int32 }

func (r *runNow) Go(f func()) error { r.started.Add(1); f(); return nil }

func TestDeferHoldsAfterCommitAndAsyncUntilCommit(t *testing.T) {
	t.Parallel()
	r := &runNow{}
	d, err := events.New[int](events.Config{Runner: r})
	if err != nil {
		t.Fatal(err)
	}
	var sync, after, async atomic.Int32
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(d.Listen("sync", func(context.Context, int) error { sync.Add(1); return nil }))
	must(d.Listen("after", func(context.Context, int) error { after.Add(1); return nil }, events.AfterCommit()))
	must(d.Listen("async", func(context.Context, int) error { async.Add(1); return nil }, events.Async()))

	ctx, p := events.Defer(context.Background())
	must(d.Dispatch(ctx, 1))
	must(d.DispatchBatch(ctx, []int{2, 3}))
	if sync.Load() != 3 || after.Load() != 0 || async.Load() != 0 || r.started.Load() != 0 {
		t.Fatalf("inside the unit of work: sync %d, after %d, async %d (started %d)", sync.Load(), after.Load(), async.Load(), r.started.Load())
	}
	if p.Len() != 5 { // after ×3, async ×1 + async batch ×1
		t.Fatalf("held %d runs, want 5", p.Len())
	}
	p.Discard()
	if after.Load() != 0 || async.Load() != 0 {
		t.Fatal("a discarded unit of work ran its after-commit or async listeners")
	}

	ctx, p = events.Defer(context.Background())
	must(d.Dispatch(ctx, 4))
	must(p.Commit(context.Background()))
	if after.Load() != 1 || async.Load() != 1 {
		t.Fatalf("after commit: after %d, async %d", after.Load(), async.Load())
	}
	// Raised after the unit of work ended (or outside one), they run at once.
	must(d.Dispatch(ctx, 5))
	must(d.Dispatch(context.Background(), 6))
	if after.Load() != 3 || async.Load() != 3 {
		t.Fatalf("outside a unit of work: after %d, async %d", after.Load(), async.Load())
	}
}
