package cache

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/maypok86/otter/v2"
)

// MemoryOptions configure the in-process driver.
type MemoryOptions struct {
	Options
	// MaxEntries bounds the number of entries (default 100,000); otter evicts the least
	// likely to be used again (W-TinyLFU).
	MaxEntries int
}

type memEntry struct {
	v   any
	ttl time.Duration
}

// memory keeps values in otter. Tags live in a map beside it: tag → keys stored under it.
// Keys that expired or were evicted stay in a tag's set until the tag is flushed or the set
// is pruned (when it has doubled since the last prune), so the sets stay bounded.
type memory struct {
	c     *otter.Cache[string, memEntry]
	clock *otter.CoarseClock

	// mu serialises tagged writes against flushes, so that a flush never misses a key whose
	// value was stored under the tag before the flush began.
	mu        sync.Mutex
	tags      map[string]map[string]struct{}
	pruneSize map[string]int
}

// NewMemory returns a cache held in this process. With Options.Broadcast set, deletes and
// flushes reach the memory caches of every other instance on the same broadcast.
func NewMemory(o MemoryOptions) (*Cache, error) {
	m, err := newMemory(o.MaxEntries)
	if err != nil {
		return nil, err
	}
	c, err := newCache(m, o.Options, false)
	if err != nil {
		_ = m.close()
		return nil, err
	}
	if err := c.startBroadcast(context.Background(), nil, nil); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// DefaultMaxEntries bounds the memory driver (and the L1 level) when no size is given.
const DefaultMaxEntries = 100_000

func newMemory(maxEntries int) (*memory, error) {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	// A coarse clock (1ms) makes a hit about as cheap as a map read: the precise clock read on
	// every access was a third of its cost. TTLs are minutes; a millisecond does not matter.
	clock := otter.NewCoarseClock(time.Millisecond)
	oc, err := otter.New(&otter.Options[string, memEntry]{
		MaximumSize: maxEntries,
		Clock:       clock,
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, memEntry]) time.Duration {
			return e.Value.ttl
		}),
	})
	if err != nil {
		clock.Stop()
		return nil, fmt.Errorf("cache: memory driver: %w", err)
	}
	return &memory{c: oc, clock: clock, tags: map[string]map[string]struct{}{}, pruneSize: map[string]int{}}, nil
}

func (m *memory) name() string  { return "memory" }
func (m *memory) encodes() bool { return false }

func (m *memory) get(_ context.Context, key string) (any, bool, error) {
	e, ok := m.c.GetIfPresent(key)
	return e.v, ok, nil
}

func (m *memory) getMany(_ context.Context, keys []string) ([]any, []bool, error) {
	vals := make([]any, len(keys))
	found := make([]bool, len(keys))
	for i, k := range keys {
		e, ok := m.c.GetIfPresent(k)
		vals[i], found[i] = e.v, ok
	}
	return vals, found, nil
}

func (m *memory) set(_ context.Context, items []item, ttl time.Duration, tags []string) error {
	if len(tags) == 0 {
		for _, it := range items {
			m.c.Set(it.key, memEntry{v: it.val, ttl: ttl})
		}
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// Values first: a prune below must find them held, or it would drop their keys from the
	// tag and a flush would miss them.
	for _, it := range items {
		m.c.Set(it.key, memEntry{v: it.val, ttl: ttl})
	}
	for _, tag := range tags {
		set := m.tags[tag]
		if set == nil {
			set = map[string]struct{}{}
			m.tags[tag] = set
		}
		for _, it := range items {
			set[it.key] = struct{}{}
		}
		m.maybePrune(tag, set)
	}
	return nil
}

// maybePrune drops keys the cache no longer holds once a tag's set has doubled. m.mu is held.
func (m *memory) maybePrune(tag string, set map[string]struct{}) {
	limit := max(m.pruneSize[tag]*2, 1024)
	if len(set) < limit {
		return
	}
	for k := range set {
		if _, ok := m.c.GetEntryQuietly(k); !ok {
			delete(set, k)
		}
	}
	m.pruneSize[tag] = len(set)
}

func (m *memory) delete(_ context.Context, keys []string) error {
	for _, k := range keys {
		m.c.Invalidate(k)
	}
	return nil
}

func (m *memory) flush(_ context.Context, tags []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, tag := range tags {
		for k := range m.tags[tag] {
			m.c.Invalidate(k)
		}
		delete(m.tags, tag)
		delete(m.pruneSize, tag)
	}
	return nil
}

// clear drops every entry and tag: what an instance does when it may have missed
// invalidations.
func (m *memory) clear() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.c.InvalidateAll()
	clear(m.tags)
	clear(m.pruneSize)
}

func (m *memory) close() error {
	m.c.StopAllGoroutines()
	m.clock.Stop()
	return nil
}
