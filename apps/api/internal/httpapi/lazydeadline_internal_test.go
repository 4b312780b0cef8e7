package httpapi

import (
	"context"
	"errors"
	"testing"
	"time"
)

type valueKey struct{}

// Unarmed, a lazyDeadline answers Deadline, Value and Err without a timer; the first Done
// arms it, and from then on it is context.WithDeadline: it ends at the deadline with
// DeadlineExceeded and its cause. Stopped, it reads as cancelled and keeps its values.
func TestLazyDeadlineArmsOnlyWhenWaitedOn(t *testing.T) {
	t.Parallel()
	parent := context.WithValue(context.Background(), valueKey{}, "v")
	l := newLazyDeadline(parent, time.Now().Add(50*time.Millisecond))
	if d, ok := l.Deadline(); !ok || time.Until(d) > 50*time.Millisecond {
		t.Fatalf("Deadline %v %v", d, ok)
	}
	if l.Err() != nil || l.Value(valueKey{}) != "v" {
		t.Fatalf("before the deadline: Err %v, Value %v", l.Err(), l.Value(valueKey{}))
	}
	if l.armed.Load() {
		t.Fatal("Deadline, Err or Value armed the timer")
	}
	select {
	case <-l.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done did not close at the deadline")
	}
	if !errors.Is(l.Err(), context.DeadlineExceeded) || !errors.Is(context.Cause(l), context.DeadlineExceeded) {
		t.Fatalf("after the deadline: Err %v, Cause %v", l.Err(), context.Cause(l))
	}
	if l.Value(valueKey{}) != "v" {
		t.Fatal("armed, the parent's values are lost")
	}
	l.stop()
	if !errors.Is(l.Err(), context.DeadlineExceeded) {
		t.Fatalf("stopped after the deadline: %v", l.Err())
	}
}

func TestLazyDeadlineNeverWaitedOnPassesByTheClock(t *testing.T) {
	t.Parallel()
	l := newLazyDeadline(context.Background(), time.Now().Add(10*time.Millisecond))
	time.Sleep(20 * time.Millisecond)
	if !errors.Is(l.Err(), context.DeadlineExceeded) {
		t.Fatalf("past the deadline, never waited on: Err %v, want DeadlineExceeded", l.Err())
	}
	select {
	case <-l.Done():
	default:
		t.Fatal("past the deadline, Done is open")
	}
}

func TestLazyDeadlineFollowsItsParentAndStops(t *testing.T) {
	t.Parallel()
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), valueKey{}, "v"))
	l := newLazyDeadline(parent, time.Now().Add(time.Hour))
	cancel()
	if !errors.Is(l.Err(), context.Canceled) {
		t.Fatalf("parent cancelled: Err %v", l.Err())
	}
	select {
	case <-l.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("parent cancelled: Done open")
	}

	l2 := newLazyDeadline(context.WithValue(context.Background(), valueKey{}, "v"), time.Now().Add(time.Hour))
	l2.stop()
	if l2.real.Load() {
		t.Fatal("stop armed a timer")
	}
	if !errors.Is(l2.Err(), context.Canceled) || l2.Value(valueKey{}) != "v" {
		t.Fatalf("stopped unarmed: Err %v, Value %v; want Canceled and the parent's values", l2.Err(), l2.Value(valueKey{}))
	}
	select {
	case <-l2.Done():
	default:
		t.Fatal("stopped: Done open")
	}
	// A child made before stop ends with it.
	l3 := newLazyDeadline(context.Background(), time.Now().Add(time.Hour))
	child, cancelChild := context.WithCancel(l3)
	defer cancelChild()
	l3.stop()
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a child context outlived stop")
	}
}
