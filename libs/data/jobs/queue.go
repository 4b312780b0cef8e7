package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
	"github.com/brisk-go/brisk/migrations"
)

// Config configures a Queue.
type Config struct {
	// DB is the application's database; River shares its *sql.DB.
	DB *bun.DB
	// URL is DB's DATABASE_URL. On PostgreSQL a one-connection pgx pool is opened from it for
	// LISTEN; empty there means polling only.
	URL string
	// Workers registers the job kinds this process works; nil makes an insert-only queue
	// (Start does nothing).
	Workers *river.Workers
	// Concurrency is how many jobs run at once in the default queue (default 10); River calls
	// it the queue's MaxWorkers.
	Concurrency int
	// PeriodicJobs are enqueued on their schedule by whichever worker is the leader.
	PeriodicJobs []*river.PeriodicJob
	// Pool, when set, runs the work of every job as a task of this perfcore pool (in River
	// priority order, bounded by the pool's size); it must outlive the queue.
	Pool *pool.Pool
	// ObserveJob, when set, is told every job run's duration and whether it failed (the
	// worker feeds its /debug/perf with it); it must be fast and safe for concurrent use.
	ObserveJob func(d time.Duration, failed bool)
	// JobTimeout bounds one job run (default 1 minute; a worker may set its own).
	JobTimeout time.Duration
	// RescueAfter is how long a job may stay running before it is considered lost (its worker
	// died) and retried (default 1 hour; must exceed JobTimeout).
	RescueAfter time.Duration
	// DiscardedRetention is how long discarded jobs stay for inspection (default 30 days).
	DiscardedRetention time.Duration
	// PollInterval is how often workers look for jobs without a notification (default 1s).
	PollInterval time.Duration
	// ID names this client in River's tables (default: River's, from host name and time).
	ID     string
	Logger *slog.Logger
	// MeterProvider and TracerProvider receive River's job metrics and spans and the
	// brisk.jobs gauge (default: the OTel global providers, which libs/observe sets).
	MeterProvider  metric.MeterProvider
	TracerProvider trace.TracerProvider
}

// Queue is a River client for Brisk's database.
type Queue struct {
	client   *river.Client[*sql.Tx]
	dialect  string
	listener *pgxpool.Pool
	working  bool
	gauge    metric.Registration
	log      *slog.Logger

	mu      sync.Mutex
	started bool
	stopped bool
}

// New prepares a queue; call Start to work jobs, Stop to end.
func New(ctx context.Context, cfg Config) (*Queue, error) {
	if cfg.DB == nil {
		return nil, errors.New("jobs: Config.DB is nil")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	q := &Queue{dialect: data.Dialect(cfg.DB), working: cfg.Workers != nil, log: cfg.Logger}
	rc := &river.Config{
		Logger:                      riverLogger(cfg.Logger),
		ErrorHandler:                failureLog{log: cfg.Logger},
		DiscardedJobRetentionPeriod: cmpOr(cfg.DiscardedRetention, 30*24*time.Hour),
		JobTimeout:                  cfg.JobTimeout,
		RescueStuckJobsAfter:        cfg.RescueAfter,
		FetchPollInterval:           cfg.PollInterval,
		ID:                          cfg.ID,
	}
	if cfg.MeterProvider == nil {
		cfg.MeterProvider = otel.GetMeterProvider()
	}
	if cfg.TracerProvider == nil {
		cfg.TracerProvider = otel.GetTracerProvider()
	}
	rc.Plugins = []rivertype.Plugin{otelPlugin(cfg.MeterProvider, cfg.TracerProvider)}
	if cfg.ObserveJob != nil { // outside the pool: a job's time includes its wait for a worker
		rc.Middleware = append(rc.Middleware, &observeJobs{observe: cfg.ObserveJob, now: time.Now})
	}
	if cfg.Pool != nil {
		rc.Middleware = append(rc.Middleware, &runOnPool{p: cfg.Pool})
	}
	if q.dialect == migrations.SQLite && cfg.PollInterval == 0 {
		// SQLite has no LISTEN: without a shorter poll a new job waits up to a second. A fetch
		// is a local query, so polling more often costs little, and a short cool-down lets a
		// few workers keep busy (each fetch takes at most as many jobs as there are free workers).
		cfg.PollInterval = 250 * time.Millisecond
		rc.FetchPollInterval = cfg.PollInterval
		rc.FetchCooldown = 20 * time.Millisecond
	}
	if cfg.PollInterval > 0 && cfg.PollInterval < river.FetchCooldownDefault {
		rc.FetchCooldown = cfg.PollInterval
	}
	if cfg.Workers != nil {
		rc.Workers = cfg.Workers
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cmpOr(cfg.Concurrency, 10)}}
		rc.PeriodicJobs = cfg.PeriodicJobs
	}
	var drv riverdriver.Driver[*sql.Tx]
	switch q.dialect {
	case migrations.Postgres:
		if cfg.URL != "" && cfg.Workers != nil {
			pc, err := pgxpool.ParseConfig(cfg.URL)
			if err != nil {
				return nil, fmt.Errorf("jobs: DATABASE_URL for the listener: %w", err)
			}
			pc.MinConns, pc.MaxConns = 0, 1
			if q.listener, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
				return nil, fmt.Errorf("jobs: open listener pool: %w", err)
			}
			drv = riverdatabasesql.NewWithPgxListener(cfg.DB.DB, q.listener)
		} else {
			drv = riverdatabasesql.New(cfg.DB.DB)
		}
	default:
		drv = riversqlite.New(cfg.DB.DB)
	}
	client, err := river.NewClient(drv, rc)
	if err != nil {
		q.closeListener()
		return nil, fmt.Errorf("jobs: new river client: %w", err)
	}
	q.client = client
	if q.working {
		// Only a working client reports the backlog: an insert-only one (the API without
		// in-process workers, the CLI) would report the same table twice.
		if q.gauge, err = backlogGauge(cfg.MeterProvider, cfg.DB); err != nil {
			q.closeListener()
			return nil, err
		}
	}
	return q, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// riverLogger keeps River's per-start chatter out of the info log.
func riverLogger(l *slog.Logger) *slog.Logger {
	return slog.New(levelFloor{l.Handler(), slog.LevelWarn}).With("component", "river")
}

type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}
func (h levelFloor) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFloor{h.Handler.WithAttrs(a), h.min}
}
func (h levelFloor) WithGroup(n string) slog.Handler {
	return levelFloor{h.Handler.WithGroup(n), h.min}
}

// Client is the River client, for what this package does not wrap.
func (q *Queue) Client() *river.Client[*sql.Tx] { return q.client }

// Working reports whether the queue works jobs (it was given workers), not only inserts them.
func (q *Queue) Working() bool { return q.working }

// Start works jobs until Stop. An insert-only queue has nothing to start.
func (q *Queue) Start(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.working || q.started || q.stopped {
		return nil
	}
	if err := q.client.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	q.started = true
	return nil
}

// Stop stops fetching jobs and waits for the running ones to finish until ctx ends; then it
// cancels them, and River records them for a retry, so no job is lost either way. Safe to
// call more than once.
func (q *Queue) Stop(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped {
		return nil
	}
	q.stopped = true
	var err error
	if q.started {
		err = q.client.Stop(ctx)
		if err != nil && ctx.Err() != nil {
			q.log.Warn("jobs: running jobs did not finish in time; cancelling them (they will be retried)")
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			err = q.client.StopAndCancel(cctx)
			cancel()
		}
	}
	q.closeListener()
	if q.gauge != nil {
		err = errors.Join(err, q.gauge.Unregister())
		q.gauge = nil
	}
	if err != nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	return nil
}

func (q *Queue) closeListener() {
	if q.listener != nil {
		q.listener.Close()
		q.listener = nil
	}
}

// InsertTx inserts a job in tx: it exists if and only if tx commits.
func (q *Queue) InsertTx(ctx context.Context, tx bun.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := q.client.InsertTx(ctx, tx.Tx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("jobs: insert %s: %w", args.Kind(), err)
	}
	return res, nil
}

// InsertManyTx inserts several jobs in tx in one statement.
func (q *Queue) InsertManyTx(ctx context.Context, tx bun.Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	res, err := q.client.InsertManyTx(ctx, tx.Tx, params)
	if err != nil {
		return nil, fmt.Errorf("jobs: insert %d jobs: %w", len(params), err)
	}
	return res, nil
}

// Insert inserts a job on its own (no surrounding write).
func (q *Queue) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := q.client.Insert(ctx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("jobs: insert %s: %w", args.Kind(), err)
	}
	return res, nil
}

// List returns up to limit jobs in any of states, newest first.
func (q *Queue) List(ctx context.Context, limit int, states ...rivertype.JobState) ([]*rivertype.JobRow, error) {
	p := river.NewJobListParams().First(limit).OrderBy(river.JobListOrderByID, river.SortOrderDesc)
	if len(states) > 0 {
		p = p.States(states...)
	}
	res, err := q.client.JobList(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("jobs: list: %w", err)
	}
	return res.Jobs, nil
}

// Retry makes a job (discarded, cancelled, completed or waiting to retry) available now.
func (q *Queue) Retry(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	row, err := q.client.JobRetry(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("jobs: retry %d: %w", id, err)
	}
	return row, nil
}

// Cancel cancels a job that has not finished; a running one is cancelled when its worker
// next sees its context.
func (q *Queue) Cancel(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	row, err := q.client.JobCancel(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("jobs: cancel %d: %w", id, err)
	}
	return row, nil
}

// CompleteTx marks job completed inside tx, so the job's effect and its completion commit
// together: a worker killed before the commit leaves neither, and the retry does the work once.
func CompleteTx[T river.JobArgs](ctx context.Context, tx bun.Tx, job *river.Job[T]) error {
	var err error
	if data.Dialect(tx) == migrations.Postgres {
		_, err = river.JobCompleteTx[*riverdatabasesql.Driver](ctx, tx.Tx, job)
	} else {
		_, err = river.JobCompleteTx[*riversqlite.Driver](ctx, tx.Tx, job)
	}
	if err != nil {
		return fmt.Errorf("jobs: complete %s %d in transaction: %w", job.Kind, job.ID, err)
	}
	return nil
}
