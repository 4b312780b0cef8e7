package httpapi_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/brisk-go/brisk/apps/api/internal/httpapi"
	"github.com/brisk-go/brisk/apps/api/internal/throttle"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func login(a *api, email, password string) *response {
	return a.do("POST", "/api/users/login", "", map[string]any{"user": map[string]any{"email": email, "password": password}})
}

func want429(t *testing.T, r *response) {
	t.Helper()
	wantFieldError(t, r, http.StatusTooManyRequests, "login")
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("429 with Retry-After %q", r.Header.Get("Retry-After"))
	}
}

// Failed logins are limited per account and per client address: past the limit a login is a
// 429 with Retry-After, even with the right password, until the window ends. Before there
// was no limit: 1,000 wrong passwords in a row were all 401.
func TestLoginThrottleInMemory(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	const perAccount, perAddress = 3, 5
	a := newAPI(t, func(d *deps) {
		d.http.LoginThrottle = &httpapi.LoginThrottle{
			Store: throttle.NewMemory(clock.Now), PerAccount: perAccount, PerAddress: perAddress, Window: time.Minute,
		}
	})
	a.register("jake")
	a.register("anne")
	for range perAccount {
		wantFieldError(t, login(a, "jake@example.com", "wrong-password"), http.StatusUnauthorized, "email or password")
	}
	want429(t, login(a, "jake@example.com", "password1"))
	want429(t, login(a, "JAKE@example.com ", "password1")) // the same account, spelt otherwise

	// Another account from the same address still may, up to the address's limit.
	a.must(http.StatusOK, "POST", "/api/users/login", "", map[string]any{"user": map[string]any{"email": "anne@example.com", "password": "password1"}})
	for range perAddress - perAccount {
		wantFieldError(t, login(a, "nobody@example.com", "wrong-password"), http.StatusUnauthorized, "email or password")
	}
	want429(t, login(a, "anne@example.com", "password1"))

	// After the window, both may try again; a success clears the account's count.
	clock.advance(time.Minute)
	a.must(http.StatusOK, "POST", "/api/users/login", "", map[string]any{"user": map[string]any{"email": "jake@example.com", "password": "password1"}})
}

// A limit of 0 is no limit: failures counted earlier under a limit (a store that outlived a
// restart with new settings) block nothing, and failures made while unlimited are not counted
// against a limit set later. The same for accounts and for addresses; none of it logs.
func TestLoginThrottleZeroLimitIsUnlimited(t *testing.T) {
	t.Parallel()
	store := throttle.NewMemory(nil)
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
	withLimits := func(perAccount, perAddress int) *api {
		a := newAPI(t, func(d *deps) {
			d.http.LoginThrottle = &httpapi.LoginThrottle{Store: store, PerAccount: perAccount, PerAddress: perAddress, Window: time.Hour, Logger: logger}
		})
		for _, name := range []string{"jake", "anne", "bob", "cleo"} {
			a.register(name)
		}
		return a
	}
	ok := func(a *api, name string) {
		t.Helper()
		a.must(http.StatusOK, "POST", "/api/users/login", "", map[string]any{"user": map[string]any{"email": name + "@example.com", "password": "password1"}})
	}
	fail := func(a *api, name string, n int) {
		t.Helper()
		for range n {
			wantFieldError(t, login(a, name+"@example.com", "wrong-password"), http.StatusUnauthorized, "email or password")
		}
	}

	// Per account.
	limited := withLimits(2, 0)
	fail(limited, "jake", 2)
	want429(t, login(limited, "jake@example.com", "password1"))
	unlimited := withLimits(0, 0)
	ok(unlimited, "jake")
	fail(unlimited, "anne", 2)
	ok(withLimits(2, 0), "anne")

	// Per address (every request of these tests comes from one address): the failures above
	// were not counted against it, and a limit of 0 ignores the ones counted now.
	byAddress := withLimits(0, 2)
	ok(byAddress, "bob")
	fail(byAddress, "bob", 2)
	want429(t, login(byAddress, "cleo@example.com", "password1"))
	ok(withLimits(0, 0), "cleo")

	mu.Lock()
	defer mu.Unlock()
	if logs.Len() != 0 {
		t.Fatalf("the throttle logged with a working store: %s", logs.String())
	}
}

// With Redis, instances share the counts: failures counted by one API are seen by another.
func TestLoginThrottleSharedThroughRedis(t *testing.T) {
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		t.Skip("TEST_REDIS_URL not set")
	}
	t.Parallel()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })
	prefix := "brisk:test:throttle:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	t.Cleanup(func() {
		keys, _ := client.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			client.Del(context.Background(), keys...)
		}
	})
	store := throttle.Redis{Client: client, Prefix: prefix}
	a := newAPI(t, func(d *deps) {
		d.http.LoginThrottle = &httpapi.LoginThrottle{Store: store, PerAccount: 2, PerAddress: 100, Window: time.Minute}
	})
	// The second API has its own database: only the shared counts connect them.
	b := newAPI(t, func(d *deps) {
		d.http.LoginThrottle = &httpapi.LoginThrottle{Store: store, PerAccount: 2, PerAddress: 100, Window: time.Minute}
	})
	b.register("jake")
	for range 2 {
		wantFieldError(t, login(a, "jake@example.com", "wrong-password"), http.StatusUnauthorized, "email or password")
	}
	want429(t, login(b, "jake@example.com", "password1"))
}
