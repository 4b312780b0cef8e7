package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"runtime"

	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel"

	"github.com/brisk-go/brisk/apps/api/internal/httpapi"
	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/data/repository"
	"github.com/brisk-go/brisk/libs/perfcore/mempool"
	"github.com/brisk-go/brisk/libs/perfcore/optimizer"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
	"github.com/brisk-go/brisk/libs/perfcore/shed"
	"github.com/brisk-go/brisk/libs/startup"
)

// deadlines turns the CONTEXT_* settings into the API's request deadlines.
func deadlines(cfg *config.Config) httpapi.Deadlines {
	return httpapi.Deadlines{
		Default: cfg.Context.DefaultTimeout,
		Max:     cfg.Context.MaxTimeout,
		Enabled: cfg.Context.EnableDeadline,
	}
}

// userFinder builds the finder of users by id with batching as DATABASE_BATCH_FINDS says. In
// auto mode batching follows opt's level (on from aggressive) until the stack stops.
func userFinder(cfg *config.Config, db *bun.DB, opt *optimizer.Optimizer, log *slog.Logger, stack *startup.Stack) (*repository.Finder[conduit.User], error) {
	f, err := repository.NewFinder[conduit.User](db, repository.FinderOptions{Batching: cfg.Database.BatchFinds == "on"})
	if err != nil {
		return nil, err
	}
	if cfg.Database.BatchFinds != "auto" {
		log.Info("batching of finds by id fixed", "batch_finds", cfg.Database.BatchFinds)
		return f, nil
	}
	stopFollowing := repository.FollowOptimizer(opt, f)
	stopLogging := opt.Subscribe(func(from, to optimizer.Level) {
		log.Info("batching of finds by id follows the optimizer", "from", from, "to", to, "batching", repository.BatchingAt(to))
	})
	stack.Push("batching follower", func(context.Context) error {
		stopFollowing()
		stopLogging()
		return nil
	})
	return f, nil
}

// cpuPool starts the bounded pool for CPU-heavy request work (password hashing): at most
// CPU_POOL_WORKERS of it at once, logins before registrations, and a full queue refused at
// once (503 + Retry-After) rather than left to wait into the request's deadline.
func cpuPool(ctx context.Context, cfg *config.Config, log *slog.Logger, stack *startup.Stack) (*pool.Pool, error) {
	if cfg.CPU.Inline {
		log.Warn("CPU_POOL_WORKERS=off: password hashing runs on each request's goroutine, unbounded")
		return nil, nil
	}
	p, err := pool.New(pool.Config{
		Name:       "cpu",
		MinWorkers: 1,
		// One core stays free for every other request: with one worker per core a login flood
		// still raised the listing's p99 22×, with one fewer about 4× (docs/benchmarks.md).
		MaxWorkers:    cmp.Or(cfg.CPU.Workers, max(1, runtime.GOMAXPROCS(0)-1)),
		QueueSize:     cfg.CPU.QueueSize,
		IdleTimeout:   cfg.Pool.IdleTimeout,
		WhenFull:      pool.FailFast,
		OnStop:        pool.Drain,
		MeterProvider: otel.GetMeterProvider(),
		Logger:        log,
	})
	if err != nil {
		return nil, fmt.Errorf("cpu pool: %w", err)
	}
	if err := p.Start(ctx); err != nil {
		return nil, fmt.Errorf("cpu pool: %w", err)
	}
	stack.Push("cpu pool", p.Stop)
	return p, nil
}

// jsonEncoders builds the pool of response-body encoders the MEMORY_* settings size, with its
// cleanup loop (MEMORY_CLEANUP_INTERVAL) stopped after the HTTP server.
func jsonEncoders(ctx context.Context, cfg *config.Config, stack *startup.Stack) (*mempool.JSONPool, error) {
	p, err := mempool.NewJSONPool(mempool.JSONPoolConfig{
		Name:            "api_json",
		Size:            cfg.Memory.PoolSize,
		Slab:            cfg.Memory.SlabSize,
		CleanupInterval: cfg.Memory.CleanupInterval,
		MeterProvider:   otel.GetMeterProvider(),
	})
	if err != nil {
		return nil, fmt.Errorf("json encoders: %w", err)
	}
	if err := p.Start(ctx); err != nil {
		return nil, fmt.Errorf("json encoders: %w", err)
	}
	stack.Push("json encoders", p.Stop)
	return p, nil
}

// shedder builds the overload shedder SHED_* describe, or nil when SHED_ENABLED=false. The
// share of its capacity in flight is also an input of the optimizer: what the requests
// experience, which the CPU share alone misses on a machine shared with the database.
func shedder(cfg *config.Config, opt *optimizer.Optimizer) (*shed.Shedder, error) {
	if !cfg.Shed.Enabled {
		return nil, nil
	}
	s, err := shed.New(shed.Config{
		Name:          "http",
		Window:        cfg.Shed.Window,
		CPUThreshold:  cfg.Shed.CPUThreshold,
		MaxQueueDelay: cfg.Shed.MaxQueueDelay,
		Meter:         otel.GetMeterProvider().Meter("github.com/brisk-go/brisk/libs/perfcore/shed"),
	})
	if err != nil {
		return nil, fmt.Errorf("overload shedder: %w", err)
	}
	opt.AddInput("requests", s.Saturation)
	return s, nil
}

// parallelCount resolves DATABASE_PARALLEL_COUNT: the pool that runs listings' counts (nil:
// never in parallel) and, in auto mode, the optimizer's say on each listing — in parallel
// while its level is conservative (cores are free and one request's latency is what
// matters), in sequence above (every core already serves some request: throughput).
func parallelCount(cfg *config.Config, workers *pool.Pool, opt *optimizer.Optimizer, log *slog.Logger) (*pool.Pool, func() bool) {
	switch cfg.Database.ParallelCount {
	case "on":
		return workers, nil
	case "auto":
		log.Info("listing counts run in parallel while the optimizer's level is conservative")
		return workers, func() bool { return opt.Level() == optimizer.Conservative }
	default:
		return nil, nil
	}
}
