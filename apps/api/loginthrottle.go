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
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("login throttle: REDIS_URL: %w", err)
	}
	// A login waits on these calls: fail fast and admit the attempt rather than retry.
	opts.MaxRetries = -1
	opts.DialTimeout = min(opts.DialTimeout, time.Second)
	opts.ReadTimeout = min(opts.ReadTimeout, 500*time.Millisecond)
	opts.WriteTimeout = min(opts.WriteTimeout, 500*time.Millisecond)
	client := redis.NewClient(opts)
	stack.Push("login throttle", func(context.Context) error { return client.Close() })
	t.Store = throttle.Redis{Client: client}
	return t, nil
}
