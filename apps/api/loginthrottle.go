package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/brisk-go/brisk/apps/api/internal/httpapi"
	"github.com/brisk-go/brisk/apps/api/internal/throttle"
	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/startup"
)

// loginThrottle builds the failed-login limits: counted in Redis when REDIS_URL is set, so
// every instance sees the same counts, in memory otherwise.
func loginThrottle(cfg *config.Config, log *slog.Logger, stack *startup.Stack) (*httpapi.LoginThrottle, error) {
	t := &httpapi.LoginThrottle{
		PerAccount: cfg.Login.MaxFailuresPerAccount,
		PerAddress: cfg.Login.MaxFailuresPerAddress,
		Window:     cfg.Login.FailureWindow,
		Logger:     log,
	}
	if cfg.RedisURL == "" {
		t.Store = throttle.NewMemory(nil)
		return t, nil
	}
	opts, err := throttleRedisOptions(cfg.RedisURL)
	if err != nil {
		return nil, err
	}
	client := redis.NewClient(opts)
	stack.Push("login throttle", func(context.Context) error { return client.Close() })
	// A Redis that fails is not asked again for a second: the logins meanwhile are admitted
	// at once instead of each waiting for the timeouts below.
	t.Store = &throttle.Breaker{Store: throttle.Redis{Client: client}}
	return t, nil
}

// throttleRedisOptions are the login throttle's Redis client options: a login waits on these
// calls, so they fail fast (the attempt is then admitted) rather than retry. A timeout the
// URL sets lower is kept. (Unset, go-redis's defaults would apply: 5 s to dial, five dials,
// 3 s to read — a login took 16–20 s with Redis paused.)
func throttleRedisOptions(redisURL string) (*redis.Options, error) {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, fmt.Errorf("login throttle: REDIS_URL: %w", err)
	}
	opts.MaxRetries = -1
	opts.DialerRetries = 1
	opts.DialTimeout = atMost(opts.DialTimeout, time.Second)
	opts.ReadTimeout = atMost(opts.ReadTimeout, 500*time.Millisecond)
	opts.WriteTimeout = atMost(opts.WriteTimeout, 500*time.Millisecond)
	opts.PoolTimeout = atMost(opts.PoolTimeout, 500*time.Millisecond)
	return opts, nil
}

// atMost is d when it is a timeout no longer than limit, else limit (go-redis reads 0 as
// its default and a negative value as no timeout).
func atMost(d, limit time.Duration) time.Duration {
	if d <= 0 || d > limit {
		return limit
	}
	return d
}
