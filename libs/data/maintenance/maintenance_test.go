package maintenance_test

import (
	"context"
	"testing"
	"time"

	"github.com/brisk-go/brisk/libs/data/datatest"
	"github.com/brisk-go/brisk/libs/data/maintenance"
)

// Down and Up round-trip through the table, and a Watcher re-reads only once its state is
// older than the refresh interval (the clock is the test's).
func TestDownUpAndTheWatchersRefresh(t *testing.T) {
	db := datatest.New(t)
	ctx := context.Background()
	now := time.Unix(1_000_000, 0)
	clock := func() time.Time { return now }
	w := maintenance.NewWatcher(db, time.Second, clock, nil)
	if w.Current(ctx).Active {
		t.Fatal("active on a fresh database")
	}
	if err := maintenance.Down(ctx, db, "upgrading", 90*time.Second, now); err != nil {
		t.Fatal(err)
	}
	if w.Current(ctx).Active {
		t.Fatal("the watcher re-read before its interval passed")
	}
	now = now.Add(time.Second)
	st := w.Current(ctx)
	if !st.Active || st.Message != "upgrading" || st.RetryAfter != 90*time.Second || !st.Since.Equal(time.Unix(1_000_000, 0)) {
		t.Fatalf("after the interval: %+v", st)
	}
	if err := maintenance.Down(ctx, db, "still upgrading", time.Minute, now); err != nil {
		t.Fatal(err)
	}
	if st, _ := maintenance.Get(ctx, db); st.Message != "still upgrading" || st.RetryAfter != time.Minute {
		t.Fatalf("second down: %+v", st)
	}
	if err := maintenance.Up(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := maintenance.Up(ctx, db); err != nil {
		t.Fatalf("up twice: %v", err)
	}
	now = now.Add(time.Second)
	if w.Current(ctx).Active {
		t.Fatal("still active after up")
	}
}
