package events

import (
	"context"
	"errors"
	"sync"
)

// Pending holds the listener runs a unit of work (a database transaction) raised until it
// ends: after-commit listeners, and async ones, whose effects must not be seen for a change
// that is rolled back — or before the change is visible to others. Make one with Defer,
// dispatch on its context, then Commit it when the transaction committed or Discard it when
// it did not. A Pending is used once.
type Pending struct {
	mu   sync.Mutex
	runs []func(context.Context) error
	done bool
}

type pendingKey struct{}

// Defer returns ctx carrying a new Pending: dispatches on the returned context (and on any
// context made from it) hold their after-commit and async listener runs there instead of
// running them. Sync and queued listeners run as usual, inside the unit of work.
func Defer(ctx context.Context) (context.Context, *Pending) {
	p := &Pending{}
	return context.WithValue(ctx, pendingKey{}, p), p
}

func pendingFrom(ctx context.Context) *Pending {
	p, _ := ctx.Value(pendingKey{}).(*Pending)
	return p
}

// hold adds a run; it reports false when p already ended (a dispatch after Commit or
// Discard runs at once instead).
func (p *Pending) hold(run func(context.Context) error) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return false
	}
	p.runs = append(p.runs, run)
	return true
}

func (p *Pending) take() []func(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	runs := p.runs
	p.runs, p.done = nil, true
	return runs
}

// Len reports how many listener runs are held.
func (p *Pending) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.runs)
}

// Commit runs the held listener runs in the order they were raised: after-commit listeners
// inline on ctx, async ones handed to their Runner. Failures are reported as any listener's
// are (Config.OnError) and returned joined; the unit of work itself has committed.
func (p *Pending) Commit(ctx context.Context) error {
	var errs []error
	for _, run := range p.take() {
		if err := run(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Discard drops the held listener runs: the unit of work did not happen.
func (p *Pending) Discard() { p.take() }
