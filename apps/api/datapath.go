package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel"

	"github.com/brisk-go/brisk/apps/api/internal/httpapi"
	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/data/repository"
	"github.com/brisk-go/brisk/libs/perfcore/optimizer"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
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

// perfcore starts the API's goroutine pool (GOROUTINE_*) and the runtime optimizer (PROFILE_*)
// that watches the process and resizes the pool; PROFILE_MAX_OPTIMIZATIONS=0 leaves it only
// measuring. Both report on the global meter provider, the one libs/observe serves on /metrics
// (perfcore.pool.*, perfcore.optimizer.*). Both are pushed on stack: the optimizer stops, then
// the pool drains, once nothing submits any more (after the HTTP server has stopped).
func perfcore(ctx context.Context, cfg *config.Config, log *slog.Logger, stack *startup.Stack) (p *pool.Pool, opt *optimizer.Optimizer, err error) {
	p, err = pool.New(pool.Config{
		Name:          "api",
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
	opt, err = optimizer.New(optimizer.Config{
		SamplingInterval:     cfg.Optimizer.SamplingInterval,
		OptimizationInterval: cfg.Optimizer.OptimizationInterval,
		MaxOptimizations:     cfg.Optimizer.MaxOptimizations,
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
	// Drained after the HTTP server stops and before the database closes: queued tasks may
	// still query it.
	stack.Push("goroutine pool", p.Stop)
	if err := opt.Start(ctx); err != nil {
		return nil, nil, err
	}
	stack.Push("optimizer", opt.Stop)
	return p, opt, nil
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
