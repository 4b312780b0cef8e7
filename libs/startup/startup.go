// Package startup is what both apps do to start and to stop: the logger, the version string,
// telemetry, the database (migrated first when configured), the job queue, and one ordered
// list of things to stop. Each app's run function calls these in order and hands the finished
// parts to the code that needs them; nothing here reads the environment (config did that).
package startup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/data/cache"
	"github.com/brisk-go/brisk/libs/data/jobs"
	"github.com/brisk-go/brisk/libs/observe"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
	"github.com/brisk-go/brisk/migrations"
)

// version is set at build time:
// -ldflags "-X github.com/brisk-go/brisk/libs/startup.version=v1.2.3".
var version = ""

// Version is the build's version: the one set at link time, else the VCS revision Go recorded,
// else the module version, else "devel".
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return "devel+" + s.Value
			}
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return "devel"
}

// NewLogger is the process's logger as LOG_LEVEL and LOG_FORMAT say, writing to w, with the
// trace and span ids on lines logged inside a span.
func NewLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Log.Level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.Log.Format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(observe.NewLogHandler(h))
}

// Telemetry sets up OpenTelemetry and the admin listener for service (brisk-api,
// brisk-worker). Call it before OpenDatabase: the query hook takes its providers when the
// database is opened. Start it once the app's checks are added.
func Telemetry(ctx context.Context, service string, cfg *config.Config, log *slog.Logger, getenv func(string) string) (*observe.Telemetry, error) {
	return observe.New(ctx, observe.Options{
		Service: service, Version: Version(), AdminAddr: cfg.AdminAddr, Getenv: getenv, Logger: log,
	})
}

// Base is what both apps open first, in this order: the ordered stop list, telemetry (the
// database's query hook takes its providers when the database is opened) and the database,
// whose ping is a readiness check of the admin listener.
type Base struct {
	Stack     *Stack
	Telemetry *observe.Telemetry
	DB        *bun.DB
}

// OpenBase opens the Base of service (brisk-api, brisk-worker); each part it stops is given
// stopTimeout. On error it stops what it had opened. Otherwise the caller stops b.Stack when
// it is done, after everything it pushed on it since (reverse order). Telemetry is not
// started: start it once the app's checks and admin handlers are added.
func OpenBase(ctx context.Context, service string, cfg *config.Config, log *slog.Logger, getenv func(string) string, stopTimeout time.Duration) (*Base, error) {
	b := &Base{Stack: NewStack(log, stopTimeout)}
	var err error
	if b.Telemetry, err = Telemetry(ctx, service, cfg, log, getenv); err != nil {
		return nil, err
	}
	b.Stack.Push("telemetry", b.Telemetry.Shutdown)
	if b.DB, err = OpenDatabase(ctx, cfg, log); err != nil {
		return nil, errors.Join(err, b.Stack.Stop(ctx))
	}
	b.Stack.Push("database", Closer(b.DB))
	b.Telemetry.AddCheck(observe.Check{Name: "database", Probe: b.DB.PingContext})
	return b, nil
}

// OpenDatabase opens the configured database, migrating it first when DATABASE_AUTO_MIGRATE
// says so (by default on the embedded SQLite only).
func OpenDatabase(ctx context.Context, cfg *config.Config, log *slog.Logger) (*bun.DB, error) {
	t := cfg.Database.Target
	if cfg.MigrateOnStart() {
		if err := data.MigrateUp(ctx, t); err != nil {
			return nil, err
		}
		latest, _ := migrations.Latest(t.Dialect)
		log.Info("database migrated", "dialect", t.Dialect, "latest", latest)
	}
	return data.Open(ctx, data.Options{
		Target: t, Tracing: true,
		MaxOpenConns: cfg.Database.MaxOpenConns, MaxIdleConns: cfg.Database.MaxIdleConns,
		ConnMaxLifetime: cfg.Database.ConnMaxLifetime, ConnMaxIdleTime: cfg.Database.ConnMaxIdleTime,
	})
}

// Work is what a queue that works jobs runs: the job kinds and the periodic jobs.
type Work struct {
	Workers  *river.Workers
	Periodic []*river.PeriodicJob
	// Pool, when set, runs every job's work as one of its tasks (see jobs.Config.Pool).
	Pool *pool.Pool
	// ObserveJob, when set, hears every job run (see jobs.Config.ObserveJob).
	ObserveJob func(d time.Duration, failed bool)
}

// OpenQueue builds the job queue over db. With work nil it only inserts and manages jobs (the
// API without in-process workers, the worker's commands); with work it also runs them once
// started. The caller starts and stops it.
func OpenQueue(ctx context.Context, cfg *config.Config, db *bun.DB, log *slog.Logger, work *Work) (*jobs.Queue, error) {
	qc := jobs.Config{
		DB: db, URL: cfg.Database.Target.DSN, Logger: log,
		Concurrency: cfg.Jobs.Concurrency, JobTimeout: cfg.Jobs.JobTimeout, RescueAfter: cfg.Jobs.RescueAfter,
	}
	if work != nil {
		qc.Workers, qc.PeriodicJobs, qc.Pool, qc.ObserveJob = work.Workers, work.Periodic, work.Pool, work.ObserveJob
	}
	return jobs.New(ctx, qc)
}

// Stack is the ordered list of things a process stops: Stop runs them in the reverse of the
// order they were pushed (the HTTP server before the pool that serves it, the pool before the
// database its tasks use), each within its own timeout. It is safe to stop twice; the second
// call does nothing.
type Stack struct {
	log     *slog.Logger
	timeout time.Duration

	mu      sync.Mutex
	items   []stackItem
	stopped bool
}

type stackItem struct {
	name    string
	stop    func(context.Context) error
	timeout time.Duration
}

// NewStack returns an empty stack whose items each get timeout to stop, unless pushed with
// their own.
func NewStack(log *slog.Logger, timeout time.Duration) *Stack {
	return &Stack{log: log, timeout: timeout}
}

// Push adds a part to stop; the last pushed is the first stopped.
func (s *Stack) Push(name string, stop func(context.Context) error) {
	s.PushTimeout(name, 0, stop)
}

// PushTimeout is Push with a timeout of the part's own (0: the stack's).
func (s *Stack) PushTimeout(name string, timeout time.Duration, stop func(context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = append(s.items, stackItem{name: name, stop: stop, timeout: timeout})
}

// Stop stops every part, last pushed first, and returns their errors joined. ctx's values are
// kept but not its cancellation: a process stops after its signal context has ended.
func (s *Stack) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	items := s.items
	s.items = nil
	s.mu.Unlock()

	base := context.WithoutCancel(ctx)
	var errs []error
	for i := len(items) - 1; i >= 0; i-- {
		it := items[i]
		timeout := it.timeout
		if timeout <= 0 {
			timeout = s.timeout
		}
		sctx, cancel := context.WithTimeout(base, timeout)
		began := time.Now()
		err := it.stop(sctx)
		cancel()
		if err != nil {
			s.log.Warn("stop "+it.name, "err", err, "took", time.Since(began))
			errs = append(errs, fmt.Errorf("stop %s: %w", it.name, err))
			continue
		}
		s.log.Debug("stopped "+it.name, "took", time.Since(began))
	}
	return errors.Join(errs...)
}

// Closer adapts Close() error to the stack's stop function.
func Closer(c interface{ Close() error }) func(context.Context) error {
	return func(context.Context) error { return c.Close() }
}

// UsageError is a wrong command line. Main exits 2 for it, as for a bad configuration value.
type UsageError struct {
	Msg   string
	Usage string // the command's usage text, printed after the message
}

func (e UsageError) Error() string {
	if e.Usage == "" {
		return e.Msg
	}
	return e.Msg + "\n" + e.Usage
}

// Main runs an app's run function with a context that ends at SIGINT or SIGTERM, the
// process's arguments, environment and standard output, and exits: 0 when run returns nil, 2
// for a bad configuration value or command line, 1 for any other error, printed once on
// standard error after the program's name.
func Main(name string, run func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	os.Exit(exitCode(name, err, os.Stderr))
}

func exitCode(name string, err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	// The process exits next: a failed write to stderr has nowhere left to be reported.
	_, _ = fmt.Fprintln(stderr, name+":", err)
	var ce *config.Error
	var ue UsageError
	if errors.As(err, &ce) || errors.As(err, &ue) {
		return 2
	}
	return 1
}

// OpenCache opens the cache the configuration describes: an in-process level (CACHE_L1_SIZE)
// in front of Redis when REDIS_URL is set, and the invalidation broadcast CACHE_BROADCAST
// picks (auto: Redis pub/sub with Redis, PostgreSQL LISTEN/NOTIFY on PostgreSQL, in-process on
// the embedded default), so every instance drops what another one's write changed. Close it
// when done; that stops the broadcast too.
func OpenCache(ctx context.Context, cfg *config.Config, log *slog.Logger) (*cache.Cache, error) {
	bc, err := cache.BroadcastFor(cfg.CacheBroadcast(), cfg.RedisURL, cfg.Database.URL)
	if err != nil {
		return nil, fmt.Errorf("cache broadcast: %w", err)
	}
	c, err := cache.Open(ctx, cfg.RedisURL, cache.Options{
		DefaultTTL: cfg.Cache.TTL, Logger: log, L1Size: cfg.Cache.L1Size, Broadcast: bc,
	})
	if err != nil {
		return nil, err
	}
	log.Info("cache ready", "driver", c.Driver(), "broadcast", cfg.CacheBroadcast())
	return c, nil
}
