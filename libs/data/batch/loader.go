// Package batch coalesces concurrent single-key lookups into one multi-key fetch.
//
// A Loader sits in front of a "find many by ids" function. While a fetch slot is free and nothing
// is queued, a Load fetches its one key itself, on its own goroutine and context, so a lone caller
// pays only a mutex, not a waiting window. While fetches are running (at most MaxInFlight), new keys queue; when a fetch
// returns, everything queued leaves together as the next fetch. Under load, 64 callers become a
// few `WHERE id IN (...)` queries instead of 64 round trips; identical keys share one lookup.
//
// The switch is at run time (SetEnabled): the optimizer turns batching on from its aggressive
// level and off at conservative, where every Load is a direct fetch of one key.
package batch

import (
	"context"
	"sync"
	"sync/atomic"
)

// FetchFunc loads the values for keys; keys missing from the map are "not found".
type FetchFunc[K comparable, V any] func(ctx context.Context, keys []K) (map[K]V, error)

// Options tune a Loader.
type Options struct {
	// MaxBatch caps the keys in one fetch (default 500); a fuller queue leaves in several fetches.
	MaxBatch int
	// MaxInFlight caps concurrent fetches (default 2). While that many run, keys queue.
	MaxInFlight int
	// Disabled starts the loader in direct mode.
	Disabled bool
}

// Loader coalesces Load calls; the zero value is not usable, call New.
type Loader[K comparable, V any] struct {
	fetch       FetchFunc[K, V]
	maxBatch    int
	maxInFlight int
	enabled     atomic.Bool

	mu       sync.Mutex
	inFlight int
	queue    []*round[K, V] // batches waiting for a free fetch slot, oldest first

	// counters for tests and metrics
	fetches atomic.Int64
	keys    atomic.Int64
}

type round[K comparable, V any] struct {
	keys    []K
	seen    map[K]struct{}
	done    chan struct{}
	result  map[K]V
	err     error
	waiters int
	running bool
	ctx     context.Context
	cancel  context.CancelFunc // cancels the fetch once every waiter has gone
}

// New returns a Loader over fetch.
func New[K comparable, V any](fetch FetchFunc[K, V], opts Options) *Loader[K, V] {
	l := &Loader[K, V]{fetch: fetch, maxBatch: opts.MaxBatch, maxInFlight: opts.MaxInFlight}
	if l.maxBatch <= 0 {
		l.maxBatch = 500
	}
	if l.maxInFlight <= 0 {
		l.maxInFlight = 2
	}
	l.enabled.Store(!opts.Disabled)
	return l
}

// SetEnabled switches batching on or off; calls already waiting finish in their batch.
func (l *Loader[K, V]) SetEnabled(on bool) { l.enabled.Store(on) }

// Enabled reports whether Load batches.
func (l *Loader[K, V]) Enabled() bool { return l.enabled.Load() }

// Stats reports how many fetches ran and how many keys they carried in total.
func (l *Loader[K, V]) Stats() (fetches, keys int64) { return l.fetches.Load(), l.keys.Load() }

// Waiting reports how many callers sit in queued batches, waiting for a fetch slot.
func (l *Loader[K, V]) Waiting() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.queue {
		n += r.waiters
	}
	return n
}

// Load returns the value for key; found is false when the fetch did not return it. A caller whose
// ctx ends stops waiting for a batch at once with ctx's error; the others in its batch are not
// affected. A lone caller's fetch runs with its own ctx, so it ends when the fetch honours ctx.
func (l *Loader[K, V]) Load(ctx context.Context, key K) (v V, found bool, err error) {
	if !l.enabled.Load() {
		l.fetches.Add(1)
		l.keys.Add(1)
		m, err := l.fetch(ctx, []K{key})
		if err != nil {
			return v, false, err
		}
		v, found = m[key]
		return v, found, nil
	}
	if err := ctx.Err(); err != nil {
		return v, false, err
	}

	l.mu.Lock()
	if l.inFlight < l.maxInFlight && len(l.queue) == 0 {
		// A free slot and nobody waiting: fetch this key now, alone, on this goroutine and
		// with this caller's context. Nobody can join a running fetch, so it serves only this
		// caller, and a lone caller pays no goroutine, channel or context of its own.
		l.inFlight++
		l.mu.Unlock()
		l.fetches.Add(1)
		l.keys.Add(1)
		m, err := l.fetch(ctx, []K{key})
		l.release()
		if err != nil {
			return v, false, err
		}
		v, found = m[key]
		return v, found, nil
	}
	var r *round[K, V]
	if n := len(l.queue); n > 0 && len(l.queue[n-1].keys) < l.maxBatch {
		r = l.queue[n-1]
		r.add(key)
		r.waiters++
	} else {
		r = l.newRound(ctx, key)
		l.queue = append(l.queue, r)
	}
	l.mu.Unlock()
	return l.wait(ctx, r, key)
}

// newRound starts a batch holding key. Its fetch serves the whole batch, so it runs on a context
// of its own: it keeps the first caller's values (its trace) but not its deadline, and is
// cancelled when every waiter has left. Call with l.mu held.
func (l *Loader[K, V]) newRound(ctx context.Context, key K) *round[K, V] {
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r := &round[K, V]{seen: map[K]struct{}{}, done: make(chan struct{}), ctx: fctx, cancel: cancel, waiters: 1}
	r.add(key)
	return r
}

func (r *round[K, V]) add(key K) {
	if _, dup := r.seen[key]; dup {
		return
	}
	r.seen[key] = struct{}{}
	r.keys = append(r.keys, key)
}

// release hands a finished fetch's slot to the oldest queued batch, or frees it.
func (l *Loader[K, V]) release() {
	l.mu.Lock()
	if len(l.queue) == 0 {
		l.inFlight--
		l.mu.Unlock()
		return
	}
	r := l.queue[0]
	l.queue[0] = nil
	l.queue = l.queue[1:]
	r.running = true // no more joins: keys are fixed from here
	l.mu.Unlock()
	go l.run(r)
}

// run performs r's fetch, then keeps the slot busy with the oldest queued batch, if any.
func (l *Loader[K, V]) run(r *round[K, V]) {
	for r != nil {
		l.fetches.Add(1)
		l.keys.Add(int64(len(r.keys)))
		r.result, r.err = l.fetch(r.ctx, r.keys)
		r.cancel()
		close(r.done)

		l.mu.Lock()
		r = nil
		if len(l.queue) > 0 {
			r = l.queue[0]
			l.queue[0] = nil
			l.queue = l.queue[1:]
			r.running = true // no more joins: keys are fixed from here
		} else {
			l.inFlight--
		}
		l.mu.Unlock()
	}
}

func (l *Loader[K, V]) wait(ctx context.Context, r *round[K, V], key K) (v V, found bool, err error) {
	select {
	case <-r.done:
		if r.err != nil {
			return v, false, r.err
		}
		v, found = r.result[key]
		return v, found, nil
	case <-ctx.Done():
		l.mu.Lock()
		r.waiters--
		if r.waiters == 0 {
			if r.running {
				r.cancel() // nobody wants the answer any more
			} else {
				l.dequeue(r) // never ran: drop it so no one joins a dead batch
				r.cancel()
			}
		}
		l.mu.Unlock()
		return v, false, ctx.Err()
	}
}

func (l *Loader[K, V]) dequeue(r *round[K, V]) {
	for i, q := range l.queue {
		if q == r {
			l.queue = append(l.queue[:i], l.queue[i+1:]...)
			return
		}
	}
}
