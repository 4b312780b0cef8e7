package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/conduit/conduitjobs"
	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/data/jobs"
	"github.com/brisk-go/brisk/libs/observe"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
	"github.com/brisk-go/brisk/libs/startup"
)

// queue opens the job queue; with a pool it also works every Conduit job kind (and the
// periodic clean-up) as tasks of that pool, the same set the API runs in-process on the
// embedded default. observe, when set, hears every job run (the worker's /debug/perf).
func queue(ctx context.Context, cfg *config.Config, db *bun.DB, log *slog.Logger, workers *pool.Pool, observe func(time.Duration, bool)) (*jobs.Queue, error) {
	if workers == nil {
		return startup.OpenQueue(ctx, cfg, db, log, nil)
	}
	kinds, periodic, err := conduitjobs.Work(conduitjobs.Deps{DB: db, Logger: log, Pool: workers})
	if err != nil {
		return nil, err
	}
	if extraWorkers != nil {
		extraWorkers(kinds, db)
	}
	return startup.OpenQueue(ctx, cfg, db, log, &startup.Work{Workers: kinds, Periodic: periodic, Pool: workers, ObserveJob: observe})
}

// work runs the queues until ctx ends, then stops fetching and gives running jobs
// JOBS_JOB_TIMEOUT to finish before cancelling them (River then retries them).
func work(ctx context.Context, cfg *config.Config, log *slog.Logger, getenv func(string) string) (err error) {
	stack := startup.NewStack(log, cfg.Jobs.JobTimeout)
	defer func() { err = errors.Join(err, stack.Stop(ctx)) }()
	tel, err := startup.Telemetry(ctx, "brisk-worker", cfg, log, getenv)
	if err != nil {
		return err
	}
	stack.Push("telemetry", tel.Shutdown)
	if err := tel.Start(ctx); err != nil {
		return err
	}
	db, err := startup.OpenDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	stack.Push("database", startup.Closer(db))
	tel.AddCheck(observe.Check{Name: "database", Probe: db.PingContext})
	// The pool is pushed before the queue, so it drains after the queue has stopped fetching
	// and its running jobs have finished.
	workers, _, err := startup.Perfcore(ctx, "worker", cfg, log, stack)
	if err != nil {
		return err
	}
	q, err := queue(ctx, cfg, db, log, workers, tel.ObserveOp)
	if err != nil {
		return err
	}
	stack.Push("job queue", q.Stop)
	if err := q.Start(ctx); err != nil {
		return err
	}
	log.Info("worker started", "version", startup.Version(), "profile", cfg.Profile, "database", cfg.Database.Target.Dialect, "max_workers", cfg.Jobs.MaxWorkers)
	<-ctx.Done()
	log.Info("worker stopping", "grace", cfg.Jobs.JobTimeout)
	if err := stack.Stop(ctx); err != nil {
		return err
	}
	log.Info("worker stopped")
	return nil
}
