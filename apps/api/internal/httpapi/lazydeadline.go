package httpapi

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// lazyDeadline is a request's context with its deadline, whose timer is armed only when
// something waits on it (Done: a database query, a select on the context) or looks after it
// has passed (Err). A request answered from memory (a cached read) never does, and so never
// pays for a timer armed and stopped: that was 4.6 % of the API's CPU on the cached article.
// Once armed it is context.WithDeadline on the parent, so Done, Err, Value and context.Cause
// answer exactly as that would; before, Deadline is the deadline and Err reads the clock.
type lazyDeadline struct {
	parent   context.Context
	deadline time.Time

	once   sync.Once
	armed  atomic.Bool     // ctx is set: the real deadline context, or stoppedCtx
	real   atomic.Bool     // ctx is the real deadline context
	ctx    context.Context // set by once
	cancel context.CancelFunc
}

func newLazyDeadline(parent context.Context, deadline time.Time) *lazyDeadline {
	return &lazyDeadline{parent: parent, deadline: deadline}
}

func (l *lazyDeadline) arm() context.Context {
	l.once.Do(func() {
		l.ctx, l.cancel = context.WithDeadline(l.parent, l.deadline)
		l.real.Store(true)
		l.armed.Store(true)
	})
	return l.ctx
}

func (l *lazyDeadline) Deadline() (time.Time, bool) { return l.deadline, true }

func (l *lazyDeadline) Done() <-chan struct{} { return l.arm().Done() }

func (l *lazyDeadline) Err() error {
	if l.armed.Load() {
		return l.ctx.Err()
	}
	if err := l.parent.Err(); err != nil || !time.Now().Before(l.deadline) {
		return l.arm().Err() // armed now, the answer is the real context's (and its cause)
	}
	return nil
}

func (l *lazyDeadline) Value(key any) any {
	if l.real.Load() {
		return l.ctx.Value(key) // the timer context answers for itself (context.Cause)
	}
	return l.parent.Value(key)
}

// stop ends the context when the request is done, as the cancel of context.WithDeadline
// would: armed, it is cancelled; never armed, Done and Err read as cancelled from now on
// without a timer ever armed (a goroutine the handler left behind sees it ended), and values
// still come from the parent (the access log reads the request's trace after it).
func (l *lazyDeadline) stop() {
	l.once.Do(func() {
		l.ctx, l.cancel = stoppedCtx, func() {}
		l.armed.Store(true)
	})
	l.cancel()
}

// stoppedCtx is what a lazyDeadline never armed reads as once its request is done.
var stoppedCtx = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()
