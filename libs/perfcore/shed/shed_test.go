package shed_test

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/brisk-go/brisk/libs/perfcore/shed"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// warm fills the window: per 100ms bucket, perBucket requests of rt each, one at a time.
func warm(t *testing.T, s *shed.Shedder, clk *fakeClock, buckets, perBucket int, rt time.Duration) {
	t.Helper()
	for range buckets {
		for range perBucket {
			done, err := s.Allow()
			if err != nil {
				t.Fatalf("warming: %v", err)
			}
			clk.Add(rt)
			done()
		}
		clk.Add(100*time.Millisecond - time.Duration(perBucket)*rt)
	}
}

func newShedder(t *testing.T, cpu *float64) (*shed.Shedder, *fakeClock) {
	t.Helper()
	clk := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	s, err := shed.New(shed.Config{Window: 5 * time.Second, Buckets: 50, MinInFlight: 1, MaxQueueDelay: -1, Now: clk.Now, CPU: func() float64 { return *cpu }})
	if err != nil {
		t.Fatal(err)
	}
	return s, clk
}

func TestSaturatedRefusesBeyondThroughputTimesLatency(t *testing.T) {
	t.Parallel()
	cpu := 0.1
	s, clk := newShedder(t, &cpu)
	// 20 requests of 5ms per 100ms: throughput × latency = 1 in flight.
	warm(t, s, clk, 10, 20, 5*time.Millisecond)
	var dones []func()
	for range 50 {
		done, err := s.Allow()
		if err != nil {
			t.Fatalf("refused while the CPU is not saturated: %v", err)
		}
		dones = append(dones, done)
	}
	for _, d := range dones {
		d()
	}
	clk.Add(time.Millisecond)
	cpu = 0.95
	var admitted int
	var refused int
	for range 10 {
		done, err := s.Allow()
		switch {
		case errors.Is(err, shed.ErrOverloaded):
			refused++
		case err == nil:
			admitted++
			defer done()
		default:
			t.Fatal(err)
		}
	}
	// capacity = ceil(20 × 5ms / 100ms) = 1 (the 1ms the clock moved may add one).
	if admitted == 0 || admitted > 2 || refused != 10-admitted {
		t.Fatalf("saturated: admitted %d, refused %d; want 1 or 2 admitted", admitted, refused)
	}
	if s.Saturation() < 1 {
		t.Errorf("saturation %v with the capacity in flight", s.Saturation())
	}
}

func TestCoolOffKeepsJudgingAfterARefusal(t *testing.T) {
	t.Parallel()
	cpu := 1.0
	s, clk := newShedder(t, &cpu)
	warm(t, s, clk, 10, 10, 10*time.Millisecond)
	done, err := s.Allow()
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	if _, err := s.Allow(); !errors.Is(err, shed.ErrOverloaded) {
		t.Fatalf("second request at capacity 1: %v", err)
	}
	cpu = 0 // refusing work lowers the CPU; the shedder must not flap at once
	if _, err := s.Allow(); !errors.Is(err, shed.ErrOverloaded) {
		t.Fatalf("within the cool-off: %v", err)
	}
	clk.Add(2 * time.Second)
	d2, err := s.Allow()
	if err != nil {
		t.Fatalf("after the cool-off, with the CPU idle: %v", err)
	}
	d2()
}

// At light load the window's best throughput is the offered load, so throughput × latency
// says 1; below MinInFlight nothing is refused however busy the CPU, at it the estimate rules.
func TestNothingIsRefusedBelowTheFloor(t *testing.T) {
	t.Parallel()
	cpu := 1.0
	clk := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	s, err := shed.New(shed.Config{MinInFlight: 6, MaxQueueDelay: -1, Now: clk.Now, CPU: func() float64 { return cpu }})
	if err != nil {
		t.Fatal(err)
	}
	warm(t, s, clk, 10, 10, 5*time.Millisecond) // capacity ceil(10 × 5ms / 100ms) = 1
	var dones []func()
	defer func() {
		for _, d := range dones {
			d()
		}
	}()
	for i := range 6 {
		done, err := s.Allow()
		if err != nil {
			t.Fatalf("request %d of 6 refused with %d in flight, under the floor of 6", i+1, i)
		}
		dones = append(dones, done)
	}
	if _, err := s.Allow(); !errors.Is(err, shed.ErrOverloaded) {
		t.Fatalf("7th request with 6 in flight, at the floor and over capacity 1: %v", err)
	}
}

func TestTheDefaultFloorIsEightPerProc(t *testing.T) {
	t.Parallel()
	cpu := 1.0
	clk := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	s, err := shed.New(shed.Config{MaxQueueDelay: -1, Now: clk.Now, CPU: func() float64 { return cpu }})
	if err != nil {
		t.Fatal(err)
	}
	warm(t, s, clk, 10, 10, 5*time.Millisecond)
	floor := 8 * runtime.GOMAXPROCS(0)
	var dones []func()
	defer func() {
		for _, d := range dones {
			d()
		}
	}()
	for i := range floor {
		done, err := s.Allow()
		if err != nil {
			t.Fatalf("request %d refused under the default floor of %d", i+1, floor)
		}
		dones = append(dones, done)
	}
	if _, err := s.Allow(); !errors.Is(err, shed.ErrOverloaded) {
		t.Fatalf("request %d, at the default floor: %v", floor+1, err)
	}
}

func TestAnEmptyWindowRefusesNothing(t *testing.T) {
	t.Parallel()
	cpu := 1.0
	s, _ := newShedder(t, &cpu)
	for range 100 {
		if _, err := s.Allow(); err != nil {
			t.Fatalf("refused with nothing measured yet: %v", err)
		}
	}
}

// Admitted work may wait MaxQueueDelay behind the rest: a saturated server keeps admitting
// up to throughput × (latency + MaxQueueDelay) in flight, 50ms by default.
func TestTheQueueAllowanceAdmitsWorkThatWaitsBriefly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		delay time.Duration
		want  int
	}{
		{45 * time.Millisecond, 10}, // ceil(200/s × (5ms + 45ms))
		{0, 11},                     // the default 50ms: ceil(200/s × 55ms)
		{-1, 1},                     // none: ceil(200/s × 5ms)
	} {
		cpu := 1.0
		clk := &fakeClock{now: time.Unix(1_800_000_000, 0)}
		s, err := shed.New(shed.Config{MinInFlight: 1, MaxQueueDelay: tc.delay, Now: clk.Now, CPU: func() float64 { return cpu }})
		if err != nil {
			t.Fatal(err)
		}
		warm(t, s, clk, 10, 20, 5*time.Millisecond) // 200 requests/s of 5ms
		var dones []func()
		admitted := 0
		for range 30 {
			done, err := s.Allow()
			if err != nil {
				break
			}
			admitted++
			dones = append(dones, done)
		}
		for _, d := range dones {
			d()
		}
		if admitted != tc.want {
			t.Errorf("MaxQueueDelay %v: %d admitted before the first refusal, want %d", tc.delay, admitted, tc.want)
		}
		if sat := s.Saturation(); tc.want > 1 && sat != 0 {
			t.Errorf("saturation %v with nothing in flight", sat)
		}
	}
}

func ExampleShedder() {
	cpu := 1.0 // a saturated CPU
	now := time.Unix(0, 0)
	// MinInFlight 1: judge by the estimate alone (the default floor, 8 per core, would admit
	// more). MaxQueueDelay 100ms: a request may wait up to 100ms behind the others.
	s, _ := shed.New(shed.Config{MinInFlight: 1, MaxQueueDelay: 100 * time.Millisecond,
		CPU: func() float64 { return cpu }, Now: func() time.Time { return now }})
	// One request of 100ms finishes every 100ms: 10/s × (100ms + 100ms) = 2 in flight.
	for range 20 {
		done, _ := s.Allow()
		now = now.Add(100 * time.Millisecond)
		done()
	}
	for _, name := range []string{"first", "second", "third"} {
		_, err := s.Allow()
		fmt.Println(name+":", err)
	}
	// Output:
	// first: <nil>
	// second: <nil>
	// third: shed: overloaded
}
