// Package events is the in-process event dispatcher: a service raises an
// event once and every interested part of the application reacts to it,
// without the service knowing who listens.
//
// A [Dispatcher] carries one event type. Each listener is one of four kinds:
//
//   - sync (the default): runs inline on the caller's goroutine, in order of
//     registration, before Dispatch returns. Use it for work that must be done
//     before the caller goes on (cache invalidation, in-transaction checks).
//   - async ([Async]): handed to a [Runner] (the perfcore goroutine pool) and
//     run after Dispatch returns, with a context that keeps the caller's values
//     but not its cancellation, so the end of an HTTP request does not cancel
//     the e-mail it triggered.
//   - after-commit ([AfterCommit]): like sync, but raised inside a unit of
//     work (a database transaction, see [Defer]) it runs only once that
//     commits, and never for one that rolls back. Async listeners raised
//     inside one are held the same way.
//   - queued ([Queued]): handed to a [Queuer] with the caller's context, so a
//     durable queue can store it in the caller's transaction; a worker later
//     runs the listener through [Dispatcher.Deliver]. This package stores
//     nothing itself: the queue belongs to libs/data.
//
// # Deadlines
//
// Each listener call gets its own context:
//
//   - a listener registered [WithTimeout] always gets that timeout;
//   - otherwise, when Config.EnableDeadline is set (CONTEXT_ENABLE_DEADLINE)
//     and the caller's context has no deadline, it gets Config.DefaultTimeout
//     (CONTEXT_DEFAULT_TIMEOUT);
//   - otherwise the caller's context is used unchanged (no allocation).
//
// Every timeout the dispatcher adds is capped by Config.MaxTimeout
// (CONTEXT_MAX_TIMEOUT). Async listeners never inherit the caller's
// cancellation, so the same rules apply to them as to a caller with no
// deadline.
//
// # Failure isolation
//
// A listener that returns an error, panics, or overruns its deadline is
// reported to Config.OnError (by default logged on Config.Logger) and counted,
// and the next listener still runs. A sync listener runs inline and so can
// delay the ones after it; register it [Guarded] to have the dispatcher stop
// waiting for it at its deadline (it then runs on its own goroutine).
//
// # Metrics
//
// Instruments created on Config.Meter (all carry the attribute event):
//
//   - perfcore.events.dispatched (counter, {event}): events dispatched.
//   - perfcore.events.listener.calls (counter, {call}): listener runs started
//     or queued, with attribute listener.
//   - perfcore.events.listener.errors (counter, {error}): failed listener
//     runs, with attributes listener and kind (error, panic, timeout,
//     rejected, queue).
//   - perfcore.events.async.inflight (up-down counter, {listener}): async and
//     abandoned guarded listener runs not yet finished.
package events
