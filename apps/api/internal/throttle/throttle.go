// Package throttle counts failed attempts per key (an account, a client address) in fixed
// windows, and says how long a key that reached its limit must wait. Counts live in memory, or
// in Redis so that every instance of the API shares them.
package throttle

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
