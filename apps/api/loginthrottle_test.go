package main

import (
	"testing"
	"time"
)

// The login throttle's Redis client fails fast whatever the URL leaves unset. Before, the
// limits were min(unset, limit) = 0, which go-redis reads as its defaults (5 s dials, five
// of them, 3 s reads): a login waited 16–20 s on a paused Redis.
func TestThrottleRedisOptionsBoundEveryWait(t *testing.T) {
	for _, tc := range []struct {
		url                     string
		dial, read, write, pool time.Duration
	}{
		{"redis://127.0.0.1:6379/0", time.Second, 500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond},
		{"redis://127.0.0.1:6379/0?dial_timeout=200ms&read_timeout=100ms&write_timeout=-1&pool_timeout=10s", 200 * time.Millisecond, 100 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond},
	} {
		o, err := throttleRedisOptions(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if o.DialTimeout != tc.dial || o.ReadTimeout != tc.read || o.WriteTimeout != tc.write || o.PoolTimeout != tc.pool {
			t.Errorf("%s: dial %v read %v write %v pool %v, want %v %v %v %v", tc.url,
				o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout, tc.dial, tc.read, tc.write, tc.pool)
		}
		if o.MaxRetries != -1 || o.DialerRetries != 1 {
			t.Errorf("%s: MaxRetries %d DialerRetries %d, want -1 and 1", tc.url, o.MaxRetries, o.DialerRetries)
		}
	}
	if _, err := throttleRedisOptions("nonsense://x"); err == nil {
		t.Error("a bad URL was accepted")
	}
}
