package optimizer

import (
	"errors"
	"sync"
	"time"
)

// fakeClock is moved by hand; its tickers fire only when the test sends.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	tickers []*fakeTicker
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) NewTicker(time.Duration) Ticker {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTicker{ch: make(chan time.Time)}
	c.tickers = append(c.tickers, t)
	return t
}

type fakeTicker struct {
	ch      chan time.Time
	mu      sync.Mutex
	stopped bool
}

func (t *fakeTicker) C() <-chan time.Time { return t.ch }
func (t *fakeTicker) Stop() {
	t.mu.Lock()
	t.stopped = true
	t.mu.Unlock()
}

// scriptSampler replays recorded samples, one per call.
type scriptSampler struct {
	mu      sync.Mutex
	samples []Sample
	err     error
	calls   int
	called  chan struct{} // optional: signalled on each call
}

func (s *scriptSampler) Sample() (Sample, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.called != nil {
		select {
		case s.called <- struct{}{}:
		default:
		}
	}
	if s.err != nil {
		return Sample{}, s.err
	}
	if len(s.samples) == 0 {
		return Sample{}, errors.New("script exhausted")
	}
	out := s.samples[0]
	s.samples = s.samples[1:]
	return out, nil
}

func (s *scriptSampler) push(x Sample) {
	s.mu.Lock()
	s.samples = append(s.samples, x)
	s.mu.Unlock()
}

// fakePool is a pool whose numbers the test sets; Resize clamps as the real
// pool does.
type fakePool struct {
	mu      sync.Mutex
	name    string
	lo, hi  int
	workers int
	waiting int
	resizes []int
}

func (p *fakePool) Name() string       { return p.name }
func (p *fakePool) Bounds() (int, int) { return p.lo, p.hi }
func (p *fakePool) Workers() int       { p.mu.Lock(); defer p.mu.Unlock(); return p.workers }
func (p *fakePool) Waiting() int       { p.mu.Lock(); defer p.mu.Unlock(); return p.waiting }
func (p *fakePool) setWaiting(n int)   { p.mu.Lock(); p.waiting = n; p.mu.Unlock() }
func (p *fakePool) Resize(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.resizes = append(p.resizes, n)
	p.workers = max(p.lo, min(p.hi, n))
}
