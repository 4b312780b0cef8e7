// Package throttle counts failed attempts per key (an account, a client address) in fixed
// windows, and says how long a key that reached its limit must wait. Counts live in memory, or
// in Redis so that every instance of the API shares them.
package throttle

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store keeps the failure counts.
type Store interface {
	// Blocked reports how long key must still wait, or 0 when it may try: its failures in the
	// current window have reached limit.
	Blocked(ctx context.Context, key string, limit int) (time.Duration, error)
	// Fail counts one failure of key in the window that starts with its first failure.
	Fail(ctx context.Context, key string, window time.Duration) error
	// Reset forgets key's failures (after a success).
	Reset(ctx context.Context, key string) error
}

// Memory is a Store in this process. It holds at most MaxKeys keys; past that, windows that
// have ended are dropped, and if none has, the new key is not counted (a flood of distinct
// keys cannot grow memory without bound).
type Memory struct {
	MaxKeys int
	Now     func() time.Time

	mu   sync.Mutex
	keys map[string]window
}

// DefaultMaxKeys bounds a Memory store with MaxKeys 0.
const DefaultMaxKeys = 100_000

type window struct {
	failures int
	ends     time.Time
}

// NewMemory returns an empty in-process store with the given clock (time.Now when nil).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{Now: now, keys: map[string]window{}}
}

// Blocked answers how long key stays blocked: zero until limit failures fall in one window.
func (m *Memory) Blocked(_ context.Context, key string, limit int) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.keys[key]
	now := m.Now()
	if !ok || !now.Before(w.ends) {
		return 0, nil
	}
	if w.failures < limit {
		return 0, nil
	}
	return w.ends.Sub(now), nil
}

// Fail counts a failure for key, starting a window of d when none is running. At MaxKeys
// keys it drops the expired windows first, and counts nothing when none has expired.
func (m *Memory) Fail(_ context.Context, key string, d time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.Now()
	w, ok := m.keys[key]
	if !ok || !now.Before(w.ends) {
		maxKeys := m.MaxKeys
		if maxKeys <= 0 {
			maxKeys = DefaultMaxKeys
		}
		if !ok && len(m.keys) >= maxKeys {
			for k, old := range m.keys {
				if !now.Before(old.ends) {
					delete(m.keys, k)
				}
			}
			if len(m.keys) >= maxKeys {
				return nil
			}
		}
		w = window{ends: now.Add(d)}
	}
	w.failures++
	m.keys[key] = w
	return nil
}

// Reset forgets key's failures (after a successful login).
func (m *Memory) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.keys, key)
	return nil
}

// Redis is a Store shared by every instance using the same Redis: one counter per key with
// the window as its expiry.
type Redis struct {
	Client redis.UniversalClient
	Prefix string // prepended to every key; "brisk:throttle:" when empty
}

func (r Redis) key(k string) string {
	if r.Prefix == "" {
		return "brisk:throttle:" + k
	}
	return r.Prefix + k
}

// Blocked answers how long key stays blocked: the counter's remaining expiry once it has
// reached limit.
func (r Redis) Blocked(ctx context.Context, key string, limit int) (time.Duration, error) {
	pipe := r.Client.Pipeline()
	get := pipe.Get(ctx, r.key(key))
	ttl := pipe.PTTL(ctx, r.key(key))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("throttle: read %s: %w", key, err)
	}
	n, err := get.Int()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("throttle: read %s: %w", key, err)
	}
	if n < limit || ttl.Val() <= 0 {
		return 0, nil
	}
	return ttl.Val(), nil
}

// Fail increments key's counter, giving it the expiry d when it is new.
func (r Redis) Fail(ctx context.Context, key string, d time.Duration) error {
	pipe := r.Client.TxPipeline()
	pipe.Incr(ctx, r.key(key))
	pipe.ExpireNX(ctx, r.key(key), d) // the window starts at the first failure
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("throttle: count %s: %w", key, err)
	}
	return nil
}

// Reset deletes key's counter (after a successful login).
func (r Redis) Reset(ctx context.Context, key string) error {
	if err := r.Client.Del(ctx, r.key(key)).Err(); err != nil {
		return fmt.Errorf("throttle: reset %s: %w", key, err)
	}
	return nil
}

// ErrCoolingDown is what a Breaker answers, without asking its store, for a while after the
// store failed.
var ErrCoolingDown = errors.New("throttle: store failed recently; not asked during the cool-down")

// Breaker is a Store that stops asking Store for Cooldown after it fails, answering
// ErrCoolingDown at once instead: with Redis paused, every login would otherwise wait for the
// store's timeout (up to three of them: two checks and a count) before being admitted. The
// first call after the cool-down asks again; a success ends it. An error caused by the
// caller's own context ending does not start one.
type Breaker struct {
	Store    Store
	Cooldown time.Duration    // 0: one second
	Now      func() time.Time // nil: time.Now

	downUntil atomic.Int64 // unix nanoseconds; 0 while healthy
}

func (b *Breaker) now() time.Time {
	if b.Now == nil {
		return time.Now()
	}
	return b.Now()
}

func (b *Breaker) call(ctx context.Context, f func() error) error {
	if until := b.downUntil.Load(); until != 0 && b.now().UnixNano() < until {
		return ErrCoolingDown
	}
	err := f()
	switch {
	case err == nil:
		b.downUntil.Store(0)
	case ctx.Err() == nil:
		cool := b.Cooldown
		if cool <= 0 {
			cool = time.Second
		}
		b.downUntil.Store(b.now().Add(cool).UnixNano())
	}
	return err
}

// Blocked asks Store unless cooling down.
func (b *Breaker) Blocked(ctx context.Context, key string, limit int) (time.Duration, error) {
	var d time.Duration
	err := b.call(ctx, func() error {
		var err error
		d, err = b.Store.Blocked(ctx, key, limit)
		return err
	})
	return d, err
}

// Fail counts in Store unless cooling down.
func (b *Breaker) Fail(ctx context.Context, key string, window time.Duration) error {
	return b.call(ctx, func() error { return b.Store.Fail(ctx, key, window) })
}

// Reset resets in Store unless cooling down.
func (b *Breaker) Reset(ctx context.Context, key string) error {
	return b.call(ctx, func() error { return b.Store.Reset(ctx, key) })
}
