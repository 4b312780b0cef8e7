package events

import (
	"context"
	"time"
)

// Runner runs a function on another goroutine; *pool.Pool satisfies it. Go
// returns an error when the function will not run (pool closed or full).
type Runner interface {
	Go(f func()) error
}

// Queuer takes an event for a queued listener and stores it durably (for
// example as a River job, inside the transaction carried by ctx). It must not
// run the listener itself: a worker does that later through Deliver.
type Queuer[T any] interface {
	Enqueue(ctx context.Context, listener string, e T) error
}

// ListenOption configures one listener.
type ListenOption func(*listenConfig)

type mode uint8

const (
	modeSync mode = iota
	modeAsync
	modeQueued
	modeAfterCommit
)

type listenConfig struct {
	mode    mode
	timeout time.Duration
	guarded bool
	queuer  any // a Queuer[T]; checked against T in Listen
}

// AfterCommit runs the listener only once the unit of work the event was raised in has
// committed (see Defer): inline, on the goroutine that commits. Raised outside one, it runs at
// once, as a sync listener. Use it for what must never follow a rolled-back change, such as
// cache invalidation.
func AfterCommit() ListenOption { return func(c *listenConfig) { c.mode = modeAfterCommit } }

// Async runs the listener on the dispatcher's Runner after Dispatch returns (after the
// commit, when raised inside a unit of work; see Defer).
func Async() ListenOption { return func(c *listenConfig) { c.mode = modeAsync } }

// WithTimeout gives the listener its own timeout, capped by Config.MaxTimeout.
// It applies even when the caller's context already has a deadline (the
// earlier of the two wins) and even when Config.EnableDeadline is off.
func WithTimeout(d time.Duration) ListenOption {
	return func(c *listenConfig) { c.timeout = d }
}

// Guarded makes Dispatch stop waiting for a sync listener when its deadline
// passes, even if the listener ignores its context: the listener then runs on
// its own goroutine, and Close waits for it. It costs a goroutine per call,
// and only when the listener has a deadline.
func Guarded() ListenOption { return func(c *listenConfig) { c.guarded = true } }

// Queued hands the event to q instead of running the listener; the worker
// that consumes the queue calls Dispatcher.Deliver with the listener's name.
// q must be a Queuer of the dispatcher's event type, or Listen fails.
func Queued[T any](q Queuer[T]) ListenOption {
	return func(c *listenConfig) {
		c.mode = modeQueued
		c.queuer = q
	}
}
