package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel"

	"github.com/brisk-go/brisk/apps/api/internal/httpapi"
	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/data/conduit"
	"github.com/brisk-go/brisk/libs/data/repository"
	"github.com/brisk-go/brisk/libs/perfcore/optimizer"
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
// auto mode it starts the runtime optimizer and lets its level switch batching (on from
// aggressive); stop undoes whatever was started.
func userFinder(ctx context.Context, cfg *config.Config, db *bun.DB, log *slog.Logger) (f *repository.Finder[conduit.User], stop func(context.Context) error, err error) {
	f, err = repository.NewFinder[conduit.User](db, repository.FinderOptions{Batching: cfg.Database.BatchFinds == "on"})
	if err != nil {
		return nil, nil, err
	}
	if cfg.Database.BatchFinds != "auto" {
		log.Info("batching of finds by id fixed", "batch_finds", cfg.Database.BatchFinds)
		return f, func(context.Context) error { return nil }, nil
	}
	opt, err := optimizer.New(optimizer.Config{
		SamplingInterval:     cfg.Optimizer.SamplingInterval,
		OptimizationInterval: cfg.Optimizer.OptimizationInterval,
		MaxOptimizations:     cfg.Optimizer.MaxOptimizations,
		Logger:               log,
		// The global provider is the one libs/observe serves on /metrics (perfcore.optimizer.*).
		Meter: otel.GetMeterProvider().Meter("github.com/brisk-go/brisk/libs/perfcore/optimizer"),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("batching of finds: %w", err)
	}
	unfollow := repository.FollowOptimizer(opt, f)
	unlog := opt.Subscribe(func(from, to optimizer.Level) {
		log.Info("batching of finds by id follows the optimizer", "from", from, "to", to, "batching", repository.BatchingAt(to))
	})
	if err := opt.Start(ctx); err != nil {
		unfollow()
		unlog()
		return nil, nil, fmt.Errorf("batching of finds: %w", err)
	}
	return f, func(ctx context.Context) error {
		unfollow()
		unlog()
		return opt.Stop(ctx)
	}, nil
}
