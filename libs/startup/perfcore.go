package startup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel"

	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/perfcore/events"
	"github.com/brisk-go/brisk/libs/perfcore/optimizer"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
)

// Perfcore starts the app's goroutine pool (GOROUTINE_*) and the runtime optimizer
// (PROFILE_*) that watches the process, resizes the pool and, once it knows the memory the
// process may use, sets a soft memory limit under heap pressure. PROFILE_MAX_OPTIMIZATIONS=0
// leaves it only measuring. Both report on the global meter provider, the one libs/observe
// serves on /metrics (perfcore.pool.*, perfcore.optimizer.*), and both are pushed on stack:
// the optimizer stops, then the pool drains, once nothing submits any more.
func Perfcore(ctx context.Context, name string, cfg *config.Config, log *slog.Logger, stack *Stack) (*pool.Pool, *optimizer.Optimizer, error) {
	p, err := pool.New(pool.Config{
		Name:          name,
		MinWorkers:    cfg.Pool.MinWorkers,
		MaxWorkers:    cfg.Pool.MaxWorkers,
		QueueSize:     cfg.Pool.QueueSize,
		IdleTimeout:   cfg.Pool.IdleTimeout,
		WhenFull:      pool.Block,
		OnStop:        pool.Drain,
		MeterProvider: otel.GetMeterProvider(),
		Logger:        log,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("goroutine pool: %w", err)
	}
	limit, source := MemoryLimit(cfg, os.Getenv, debug.SetMemoryLimit(-1))
	if limit > 0 {
		log.Info("memory limit known", "bytes", limit, "source", source)
	} else {
		log.Info("memory limit unknown: the optimizer's heap-pressure action stays off (set GOMEMLIMIT or MEMORY_LIMIT)")
	}
	opt, err := optimizer.New(optimizer.Config{
		SamplingInterval:     cfg.Optimizer.SamplingInterval,
		OptimizationInterval: cfg.Optimizer.OptimizationInterval,
		MaxOptimizations:     cfg.Optimizer.MaxOptimizations,
		MemoryLimit:          limit,
		Logger:               log,
		Meter:                otel.GetMeterProvider().Meter("github.com/brisk-go/brisk/libs/perfcore/optimizer"),
	})
	if err == nil {
		err = opt.Register(p)
	}
	if err == nil {
		err = p.Start(ctx)
	}
	if err != nil {
		// Stopping the pool also takes its instruments off the meter provider.
		return nil, nil, errors.Join(fmt.Errorf("goroutine pool and optimizer: %w", err), p.Stop(context.WithoutCancel(ctx)))
	}
	stack.Push("goroutine pool", p.Stop)
	if err := opt.Start(ctx); err != nil {
		return nil, nil, err
	}
	stack.Push("optimizer", opt.Stop)
	return p, opt, nil
}

// cgroupMemoryMax is where cgroup v2 says how much memory the container may use.
var cgroupMemoryMax = "/sys/fs/cgroup/memory.max"

// MemoryLimit is the memory the process may use, and where that came from: GOMEMLIMIT
// (runtimeLimit is the runtime's current limit, math.MaxInt64 when none is set), else the
// container's cgroup limit, else MEMORY_LIMIT; 0 and "" when none is known.
func MemoryLimit(cfg *config.Config, getenv func(string) string, runtimeLimit int64) (int64, string) {
	if getenv("GOMEMLIMIT") != "" && runtimeLimit > 0 && runtimeLimit < math.MaxInt64 {
		return runtimeLimit, "GOMEMLIMIT"
	}
	if b, err := os.ReadFile(cgroupMemoryMax); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 {
			return n, "cgroup " + cgroupMemoryMax
		}
	}
	if cfg.Memory.Limit > 0 {
		return cfg.Memory.Limit, "MEMORY_LIMIT"
	}
	return 0, ""
}

// EventsConfig is the dispatchers' configuration for an app: the CONTEXT_* deadline rules for
// every listener, async listeners on runner (the app's goroutine pool), counts on /metrics
// (perfcore.events.*), failures logged.
func EventsConfig(cfg *config.Config, log *slog.Logger, runner events.Runner) events.Config {
	return events.Config{
		DefaultTimeout: cfg.Context.DefaultTimeout,
		MaxTimeout:     cfg.Context.MaxTimeout,
		EnableDeadline: cfg.Context.EnableDeadline,
		Runner:         runner,
		Meter:          otel.GetMeterProvider().Meter("github.com/brisk-go/brisk/libs/perfcore/events"),
		Logger:         log,
	}
}
