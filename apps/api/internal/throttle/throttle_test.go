package throttle_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/brisk-go/brisk/apps/api/internal/throttle"
)

// failing is a Store whose calls fail while down, counting the calls that reach it.
type failing struct {
	down  bool
	calls int
}

var errDown = errors.New("store down")

func (f *failing) result() error {
	f.calls++
	if f.down {
		return errDown
	}
	return nil
}

func (f *failing) Blocked(context.Context, string, int) (time.Duration, error) {
	return 0, f.result()
}
func (f *failing) Fail(context.Context, string, time.Duration) error { return f.result() }
func (f *failing) Reset(context.Context, string) error               { return f.result() }

// After its store fails, a Breaker answers ErrCoolingDown without asking it until the
// cool-down ends, then asks again; a call whose own context ended starts no cool-down.
func TestBreakerSkipsAFailedStoreDuringItsCoolDown(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	inner := &failing{down: true}
	b := &throttle.Breaker{Store: inner, Cooldown: time.Second, Now: func() time.Time { return now }}
	ctx := context.Background()
	if _, err := b.Blocked(ctx, "k", 5); !errors.Is(err, errDown) {
		t.Fatalf("first call: %v, want the store's error", err)
	}
	for _, call := range []func() error{
		func() error { _, err := b.Blocked(ctx, "k", 5); return err },
		func() error { return b.Fail(ctx, "k", time.Minute) },
		func() error { return b.Reset(ctx, "k") },
	} {
		if err := call(); !errors.Is(err, throttle.ErrCoolingDown) {
			t.Fatalf("during the cool-down: %v, want ErrCoolingDown", err)
		}
	}
	if inner.calls != 1 {
		t.Fatalf("the store was asked %d times, want once (then skipped)", inner.calls)
	}
	now = now.Add(1100 * time.Millisecond)
	inner.down = false
	if err := b.Fail(ctx, "k", time.Minute); err != nil {
		t.Fatalf("after the cool-down, with the store back: %v", err)
	}
	if err := b.Reset(ctx, "k"); err != nil || inner.calls != 3 {
		t.Fatalf("healthy again: %v, %d calls, want every call to reach the store", err, inner.calls)
	}
	// The caller gave up: not the store's fault, no cool-down.
	inner.down = true
	gone, cancel := context.WithCancel(ctx)
	cancel()
	_ = b.Reset(gone, "k")
	inner.down = false
	if err := b.Reset(ctx, "k"); err != nil {
		t.Fatalf("after a call whose context had ended: %v, want the store asked", err)
	}
}
