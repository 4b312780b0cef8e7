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
	"github.com/brisk-go/brisk/libs/startup"
)

// queue opens the job queue as a client only (insert, inspect, retry), working no job.
func queue(ctx context.Context, cfg *config.Config, db *bun.DB, log *slog.Logger) (*jobs.Queue, error) {
	return startup.OpenQueue(ctx, cfg, db, log, nil)
}

// workingQueue opens the job queue that works every Conduit job kind (and the periodic
// clean-up), the same set the API runs in-process on the embedded default, each job as a task
// of the perfcore pool it starts on stack (with the optimizer, GOROUTINE_* and PROFILE_*);
// the notify-followers pipeline's stages run on that pool too. observe hears every job run
// (the worker's /debug/perf).
// The pool is pushed before the caller pushes the queue, so it drains after the queue has
// stopped fetching and its running jobs have finished.
func workingQueue(ctx context.Context, cfg *config.Config, db *bun.DB, log *slog.Logger, stack *startup.Stack, observe func(time.Duration, bool)) (*jobs.Queue, error) {
	workers, _, err := startup.Perfcore(ctx, "worker", cfg, log, stack)
	if err != nil {
		return nil, err
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
	base, err := startup.OpenBase(ctx, "brisk-worker", cfg, log, getenv, cfg.Jobs.JobTimeout)
	if err != nil {
		return err
	}
	stack, db := base.Stack, base.DB
	defer func() { err = errors.Join(err, stack.Stop(ctx)) }()
	if err := base.Telemetry.Start(ctx); err != nil {
		return err
	}
	q, err := workingQueue(ctx, cfg, db, log, stack, base.Telemetry.ObserveOp)
	if err != nil {
		return err
	}
	stack.Push("job queue", q.Stop)
	if err := q.Start(ctx); err != nil {
		return err
	}
	log.Info("worker started", "version", startup.Version(), "profile", cfg.Profile, "database", cfg.Database.Target.Dialect, "job_concurrency", cfg.Jobs.Concurrency)
	<-ctx.Done()
	log.Info("worker stopping", "grace", cfg.Jobs.JobTimeout)
	if err := stack.Stop(ctx); err != nil {
		return err
	}
	log.Info("worker stopped")
	return nil
}
