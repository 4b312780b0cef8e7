package events

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by Listen, Dispatch and Deliver after Close.
var ErrClosed = errors.New("events: dispatcher closed")

// ErrOverran marks a listener that returned without an error but only after
// its deadline had passed: the work is done, yet it was slower than allowed,
// which an operator wants to see.
var ErrOverran = errors.New("listener overran its deadline")

// Kind says how a listener failed; it is the value of the kind attribute of
// perfcore.events.listener.errors.
type Kind string

// Listener failure kinds.
const (
	KindError    Kind = "error"    // the listener returned an error
	KindPanic    Kind = "panic"    // the listener panicked; Err holds the value and stack
	KindTimeout  Kind = "timeout"  // the listener's deadline passed before it finished
	KindRejected Kind = "rejected" // the Runner refused an async listener
	KindQueue    Kind = "queue"    // the Queuer failed to take a queued listener's event
)

// ListenerError is what the dispatcher reports for one failed listener run.
type ListenerError struct {
	Event    string // the dispatcher's name
	Listener string // the name given to Listen
	Kind     Kind
	Err      error
}

func (e *ListenerError) Error() string {
	return fmt.Sprintf("events: %s listener %q: %s: %v", e.Event, e.Listener, e.Kind, e.Err)
}

func (e *ListenerError) Unwrap() error { return e.Err }

// panicError carries a recovered panic value and the stack where it happened.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v\n%s", p.value, p.stack) }
