package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// racingDriver is the memory driver with one interleaving forced: the first look at a key
// misses, and meanwhile another caller's flight stores the value (what happens when a caller
// misses just before a concurrent Remember finishes).
type racingDriver struct {
	*memory
	looks atomic.Int32
}

func (r *racingDriver) get(ctx context.Context, key string) (any, bool, error) {
	if r.looks.Add(1) == 1 {
		_ = r.set(ctx, []item{{key, "stored-by-another-flight"}}, time.Minute, nil)
		return nil, false, nil
	}
	return r.memory.get(ctx, key)
}

func TestRememberLooksAgainInsideItsFlight(t *testing.T) {
	m, err := newMemory(0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := newCache(&racingDriver{memory: m}, Options{}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, remember := range []func() (string, error){
		func() (string, error) {
			return Of[string](c).Remember(context.Background(), "k", time.Minute, func(context.Context) (string, error) {
				return "", fmt.Errorf("loader ran although the value was stored")
			})
		},
		func() (string, error) {
			return Of[string](c).RememberTagged(context.Background(), "k", time.Minute, func(context.Context) (string, []string, error) {
				return "", nil, fmt.Errorf("loader ran although the value was stored")
			})
		},
	} {
		_ = m.delete(context.Background(), []string{"k"})
		c.drv.(*racingDriver).looks.Store(0)
		if v, err := remember(); err != nil || v != "stored-by-another-flight" {
			t.Fatalf("Remember: %q %v", v, err)
		}
	}
}

// Keys evicted from the memory driver leave its tag sets once a set has grown: without the
// pruning a tag that is never flushed would grow without bound.
func TestMemoryTagSetsArePruned(t *testing.T) {
	m, err := newMemory(100)
	if err != nil {
		t.Fatal(err)
	}
	defer m.close()
	ctx := context.Background()
	const n = 5000
	for i := range n {
		if err := m.set(ctx, []item{{fmt.Sprint("k", i), i}}, time.Hour, []string{"t"}); err != nil {
			t.Fatal(err)
		}
	}
	m.mu.Lock()
	size := len(m.tags["t"])
	m.mu.Unlock()
	if size > 1024 {
		t.Fatalf("tag set holds %d keys for a cache of 100 entries after %d writes: not pruned", size, n)
	}
	// Pruning keeps the keys still held: a flush removes every one of them.
	if err := m.flush(ctx, []string{"t"}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, ok, _ := m.get(ctx, fmt.Sprint("k", i)); ok {
			t.Fatalf("k%d survived the flush of its tag", i)
		}
	}
}

// A Redis that accepts connections and never answers (paused): a call fails and trips the
// cool-down — the bound's own context expiring counts as Redis's fault, the caller's context
// being untouched — and the next call is refused at once. The client honours contexts'
// deadlines, which go-redis ignores unless told (without them a pipeline took twice the
// timeout with Redis paused, measured by apps/api's Redis fault test).
func TestPausedRedisTripsTheCooldown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			_ = c.Close()
		}
	})
	c, err := NewRedis(context.Background(), RedisOptions{URL: "redis://" + ln.Addr().String() + "/0", Timeout: 50 * time.Millisecond, NoTracing: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d := c.drv.(*redisDriver)
	if !d.rdb.Options().ContextTimeoutEnabled {
		t.Error("the cache's Redis client ignores contexts' deadlines")
	}
	if _, _, _, err := d.getTTL(context.Background(), "k", nil); err == nil {
		t.Fatal("a paused Redis answered")
	}
	if d.downUntil.Load() == 0 {
		t.Fatal("a paused Redis did not trip the cool-down")
	}
	if _, _, _, err := d.getTTL(context.Background(), "k", nil); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("during the cool-down: %v, want ErrUnavailable", err)
	}
}

// The wait between reconnection attempts doubles from 50ms up to the ceiling: a broken
// channel is retried at once neither in a tight loop nor ever more slowly than the ceiling.
func TestBackoffDoublesUpToTheCeiling(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{
		{0, 50 * time.Millisecond}, {1, 100 * time.Millisecond}, {3, 400 * time.Millisecond},
		{6, 3200 * time.Millisecond}, {7, 5 * time.Second}, {1000, 5 * time.Second},
	} {
		if got := backoff(tc.n, 5*time.Second); got != tc.want {
			t.Errorf("backoff(%d, 5s) = %v, want %v", tc.n, got, tc.want)
		}
	}
}

// The zero RedisOptions and RedisBroadcast get the documented defaults: the prefix, a 250ms
// bound on every call (dial, read, write, pool wait), a one-second cool-down, the channel and
// the heartbeat. Without them a call would wait for go-redis's own multi-second timeouts and
// an outage would be retried on every request.
func TestRedisDefaults(t *testing.T) {
	c, err := NewRedis(context.Background(), RedisOptions{URL: "redis://127.0.0.1:1/0", NoTracing: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d := c.drv.(*redisDriver)
	if d.prefix != "brisk:" || d.timeout != 250*time.Millisecond || d.cooldown != time.Second {
		t.Errorf("defaults: prefix %q timeout %v cooldown %v, want brisk: 250ms 1s", d.prefix, d.timeout, d.cooldown)
	}
	ro := d.rdb.Options()
	for name, got := range map[string]time.Duration{"dial": ro.DialTimeout, "read": ro.ReadTimeout, "write": ro.WriteTimeout, "pool": ro.PoolTimeout} {
		if got != 250*time.Millisecond {
			t.Errorf("%s timeout %v, want the cache's 250ms", name, got)
		}
	}
	if ro.MaxRetries > 0 || ro.DialerRetries != 1 { // go-redis stores "none" (-1) as 0
		t.Errorf("retries: %d, dialer %d; want none and one dial", ro.MaxRetries, ro.DialerRetries)
	}

	l, err := RedisBroadcast{URL: "redis://127.0.0.1:1/0"}.open(context.Background(), linkEnv{})
	if err != nil {
		t.Fatal(err)
	}
	rl := l.(*redisLink)
	defer rl.rdb.Close()
	if rl.channel != "brisk:cache:invalidate" || rl.heartbeat != time.Second || rl.rdb.Options().DialTimeout != 250*time.Millisecond {
		t.Errorf("broadcast defaults: channel %q heartbeat %v dial timeout %v", rl.channel, rl.heartbeat, rl.rdb.Options().DialTimeout)
	}
	if bo := rl.rdb.Options(); bo.MaxRetries > 0 || bo.DialerRetries != 1 {
		t.Errorf("broadcast retries: %d, dialer %d; want none and one dial", bo.MaxRetries, bo.DialerRetries)
	}
	if _, err := (RedisBroadcast{}).open(context.Background(), linkEnv{}); err == nil {
		t.Error("a Redis broadcast with no URL, client or cache Redis opened")
	}
}

// recordingBroadcast is a transport with a payload limit that records what it is asked to
// publish (the PostgreSQL link's NOTIFY limit, without PostgreSQL).
type recordingBroadcast struct {
	limit int
	sent  *[][]byte
	fail  error // returned by every publish, when set
}

func (recordingBroadcast) Mode() string { return "recording" }

func (rb recordingBroadcast) open(_ context.Context, env linkEnv) (link, error) {
	return &recordingLink{rb: rb, recv: env.recv}, nil
}

type recordingLink struct {
	rb   recordingBroadcast
	recv receiver
}

func (l *recordingLink) start() { l.recv.restored() }
func (l *recordingLink) publish(_ context.Context, payload []byte) error {
	*l.rb.sent = append(*l.rb.sent, payload)
	return l.rb.fail
}
func (l *recordingLink) maxPayload() int { return l.rb.limit }
func (l *recordingLink) stop() error     { return nil }

// An invalidation too large for the transport is sent as "drop everything"; one that fits,
// even exactly, is sent as it is; a transport without a limit takes any size.
func TestAnInvalidationTooLargeForTheLinkDropsEverything(t *testing.T) {
	ctx := context.Background()
	var sent [][]byte
	open := func(limit int) *Cache {
		t.Helper()
		sent = nil
		c, err := NewMemory(MemoryOptions{Options: Options{Broadcast: recordingBroadcast{limit: limit, sent: &sent}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	decode := func() message {
		t.Helper()
		if len(sent) != 1 {
			t.Fatalf("%d messages published, want 1", len(sent))
		}
		var m message
		if err := json.Unmarshal(sent[0], &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	long := strings.Repeat("k", 200)

	// Measure the exact size of the message for one key, then allow exactly that.
	if err := open(0).Delete(ctx, long); err != nil {
		t.Fatal(err)
	}
	size := len(sent[0])
	if m := decode(); m.All || len(m.Keys) != 1 {
		t.Fatalf("no limit: %+v, want the key", m)
	}
	if err := open(size).Delete(ctx, long); err != nil {
		t.Fatal(err)
	}
	if m := decode(); m.All || len(m.Keys) != 1 {
		t.Fatalf("a message of exactly the limit: %+v, want the key", m)
	}
	if err := open(size-1).Delete(ctx, long); err != nil {
		t.Fatal(err)
	}
	if m := decode(); !m.All || len(m.Keys) != 0 {
		t.Fatalf("a message one byte over the limit: %+v, want drop everything", m)
	}
}

// A publish that fails is logged once per failure while the caller waits for it, and not at
// all when the caller has gone (its context ended: the failure is the caller's, and a flood
// of cancelled requests must not flood the log). Either way it is returned and counted.
func TestAFailedPublishIsLoggedOnlyWhileTheCallerWaits(t *testing.T) {
	var logged strings.Builder
	var sent [][]byte
	c, err := NewMemory(MemoryOptions{Options: Options{
		Logger:    slog.New(slog.NewTextHandler(&logged, nil)),
		Broadcast: recordingBroadcast{sent: &sent, fail: errors.New("link down")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Delete(gone, "k"); err == nil {
		t.Fatal("a failed publish was not returned")
	}
	if strings.Contains(logged.String(), "not broadcast") {
		t.Fatalf("logged for a caller that had gone:\n%s", logged.String())
	}
	if err := c.Delete(context.Background(), "k"); err == nil {
		t.Fatal("a failed publish was not returned")
	}
	if !strings.Contains(logged.String(), "invalidation not broadcast") {
		t.Fatalf("a failed publish was not logged:\n%s", logged.String())
	}
}

// A memory store given no size is bounded by DefaultMaxEntries, not unbounded.
func TestMemoryWithoutASizeIsBounded(t *testing.T) {
	m, err := newMemory(0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.close()
	if got := m.c.GetMaximum(); got != DefaultMaxEntries {
		t.Fatalf("maximum %d entries, want DefaultMaxEntries (%d)", got, DefaultMaxEntries)
	}
}

// Up to maxLost lost keys and tags are replayed one by one; one more and the replay wipes the
// prefix instead (keys and tags count together).
func TestLostInvalidationsBeyondTheLimitBecomeAWipe(t *testing.T) {
	keys := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("k%d", i)
		}
		return out
	}
	for _, tc := range []struct {
		name       string
		keys, tags int
		whole      bool
	}{
		{"one key", 1, 0, false},
		{"the limit in keys", maxLost, 0, false},
		{"the limit in keys and one tag", maxLost, 1, true},
		{"one past the limit in keys", maxLost + 1, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d redisDriver
			var tags []string
			for i := range tc.tags {
				tags = append(tags, fmt.Sprintf("t%d", i))
			}
			d.remember(keys(tc.keys), tags)
			if !d.lost.Load() {
				t.Fatal("nothing recorded as lost")
			}
			if d.lostWhole != tc.whole {
				t.Fatalf("%d keys and %d tags lost: wipe %v, want %v", tc.keys, tc.tags, d.lostWhole, tc.whole)
			}
			if !tc.whole && len(d.lostKeys) != tc.keys {
				t.Fatalf("%d keys kept for the replay, want %d", len(d.lostKeys), tc.keys)
			}
		})
	}
}

// The cool-down ends at its deadline: a call at that instant goes to Redis again.
func TestTheCooldownEndsAtItsDeadline(t *testing.T) {
	until := time.Unix(1000, 0)
	now := until.Add(-time.Nanosecond)
	d := redisDriver{now: func() time.Time { return now }}
	d.downUntil.Store(until.UnixNano())
	if err := d.check(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("a nanosecond before the end: %v, want ErrUnavailable", err)
	}
	now = until
	if err := d.check(context.Background()); err != nil {
		t.Fatalf("at the end of the cool-down: %v, want nil", err)
	}
}

// A network error starts a cool-down and is reported once (the WARN "serving without it");
// more errors during it are not; a success ends it, so the next outage is reported again.
func TestEachOutageIsReportedOnce(t *testing.T) {
	now := time.Unix(1000, 0)
	var reported []error
	d := redisDriver{now: func() time.Time { return now }, cooldown: time.Second}
	d.tripped = func(err error) { reported = append(reported, err) }
	ctx := context.Background()
	netErr := &net.OpError{Op: "read", Err: errors.New("connection reset")}

	_ = d.result(ctx, netErr)
	_ = d.result(ctx, netErr)
	if len(reported) != 1 {
		t.Fatalf("after two errors of one outage: %d reports, want 1", len(reported))
	}
	if got := d.downUntil.Load(); got != now.Add(time.Second).UnixNano() {
		t.Fatalf("cool-down until %d, want now + 1s", got)
	}
	now = now.Add(2 * time.Second)
	if err := d.result(ctx, nil); err != nil || d.downUntil.Load() != 0 {
		t.Fatalf("a success: err %v, cool-down until %d, want it over (0)", err, d.downUntil.Load())
	}
	_ = d.result(ctx, netErr)
	if len(reported) != 2 {
		t.Fatalf("a second outage after a success: %d reports, want 2", len(reported))
	}
}
