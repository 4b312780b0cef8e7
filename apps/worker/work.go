package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/conduit/conduitjobs"
	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/data/jobs"
	"github.com/brisk-go/brisk/libs/observe"
	"github.com/brisk-go/brisk/libs/startup"
)

// queue opens the job queue; with work it also works every Conduit job kind (and the
// periodic clean-up), the same set the API runs in-process on the embedded default.
func queue(ctx context.Context, cfg *config.Config, db *bun.DB, log *slog.Logger, work bool) (*jobs.Queue, error) {
	if !work {
		return startup.OpenQueue(ctx, cfg, db, log, nil)
	}
	workers, periodic, err := conduitjobs.Work(conduitjobs.Deps{DB: db, Logger: log})
	if err != nil {
		return nil, err
	}
	if extraWorkers != nil {
		extraWorkers(workers, db)
	}
	return startup.OpenQueue(ctx, cfg, db, log, &startup.Work{Workers: workers, Periodic: periodic})
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
	q, err := queue(ctx, cfg, db, log, true)
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
