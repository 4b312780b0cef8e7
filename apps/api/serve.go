package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/brisk-go/brisk/apps/api/internal/httpapi"
	"github.com/brisk-go/brisk/apps/api/internal/server"
	"github.com/brisk-go/brisk/libs/conduit/services"
	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/startup"
)

func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, getenv func(string) string) (err error) {
	// Before anything is opened: a missing JWT_SECRET is a configuration error (exit 2).
	if err := requireJWTSecret(cfg); err != nil {
		return err
	}
	// Every part is pushed once it is running and stopped in reverse order: the HTTP server
	// first (server.Serve drains it), then the pool its requests use, the job queue, the
	// cache, the database, and telemetry last so it records the rest stopping.
	base, err := startup.OpenBase(ctx, "brisk-api", cfg, log, getenv, cfg.HTTP.ShutdownTimeout)
	if err != nil {
		return err
	}
	stack, tel, db := base.Stack, base.Telemetry, base.DB
	defer func() { err = errors.Join(err, stack.Stop(ctx)) }()
	warnPendingMigrations(ctx, db, log)

	appCache, err := startup.OpenCache(ctx, cfg, log)
	if err != nil {
		return err
	}
	stack.Push("cache", startup.Closer(appCache))
	tel.AddAdminHandler("POST "+cacheClearPath, clearCacheHandler(appCache, log))
	queue, err := jobQueue(ctx, cfg, db, log)
	if err != nil {
		return err
	}
	// Running jobs get JOBS_JOB_TIMEOUT to finish; River retries what is cut off.
	stack.PushTimeout("job queue", cfg.Jobs.JobTimeout, queue.Stop)
	if err := queue.Start(ctx); err != nil {
		return err
	}
	log.Info("background ready", "cache", appCache.Driver(), "jobs_in_process", queue.Working())

	workers, opt, err := startup.Perfcore(ctx, "api", cfg, log, stack)
	if err != nil {
		return err
	}
	users, err := userFinder(cfg, db, opt, log, stack)
	if err != nil {
		return err
	}
	secret, err := jwtSecret(cfg, log)
	if err != nil {
		return err
	}
	parallel, parallelNow := parallelCount(cfg, workers, opt, log)
	ev, err := domainEvents(cfg, log, workers)
	if err != nil {
		return err
	}
	// Closed after the HTTP server stops (nothing dispatches any more) and before the pool
	// drains the async listeners it waits for.
	stack.Push("domain events", ev.Close)
	cpu, err := cpuPool(ctx, cfg, log, stack)
	if err != nil {
		return err
	}
	svc, err := services.New(services.Deps{
		DB:          db,
		JWTSecret:   secret,
		TokenTTL:    cfg.Auth.TokenTTL,
		CPU:         cpu,
		UserFinder:  users,
		Events:      ev,
		Cache:       appCache,
		CacheTTL:    cfg.Cache.TTL,
		Pool:        parallel,
		ParallelNow: parallelNow,
	})
	if err != nil {
		return err
	}
	if err := registerListeners(ev, queue, appCache, svc); err != nil {
		return err
	}
	if err := svc.Tokens.AcceptPrevious(previousKeys(cfg)...); err != nil {
		return err
	}
	logins, err := loginThrottle(cfg, log, stack)
	if err != nil {
		return err
	}
	shedder, err := shedder(cfg, opt)
	if err != nil {
		return err
	}
	encoders, err := jsonEncoders(ctx, cfg, stack)
	if err != nil {
		return err
	}
	engine, err := httpapi.New(httpapi.Deps{
		Encoders:           encoders,
		Shedder:            shedder,
		LoginThrottle:      logins,
		Idempotency:        &httpapi.Idempotency{DB: db},
		AccessLog:          cfg.Log.Requests,
		QuietPaths:         []string{"/healthz", "/readyz"},
		Services:           svc,
		Logger:             log,
		Deadlines:          deadlines(cfg),
		CORSAllowedOrigins: cfg.HTTP.CORSAllowedOrigins,
		MaxBodyBytes:       cfg.HTTP.MaxBodyBytes,
		Middleware:         append(tel.Middleware("/healthz", "/readyz"), maintenanceGate(db, log)),
	})
	if err != nil {
		return err
	}
	server.RegisterHealth(engine, func(ctx context.Context) error {
		st, err := data.CheckSchema(ctx, db)
		if err != nil {
			return err
		}
		if !st.UpToDate() {
			return errors.New(st.String())
		}
		return nil
	})
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on HTTP_ADDR %s: %w", cfg.HTTP.Addr, err)
	}
	if err := tel.Start(ctx); err != nil {
		_ = ln.Close()
		return err
	}
	log.Info("api starting", "version", startup.Version(), "profile", cfg.Profile, "database", cfg.Database.Target.Dialect)
	return server.ServeWith(ctx, ln, engine, server.Timeouts{
		ReadHeader: cfg.HTTP.ReadHeaderTimeout, Read: cfg.HTTP.ReadTimeout, Write: cfg.HTTP.WriteTimeout,
		Idle: cfg.HTTP.IdleTimeout, Shutdown: cfg.HTTP.ShutdownTimeout,
	}, log)
}
