package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/brisk-go/brisk/apps/api/internal/httpapi"
	"github.com/brisk-go/brisk/apps/api/internal/server"
	"github.com/brisk-go/brisk/libs/conduit/conduitjobs"
	"github.com/brisk-go/brisk/libs/conduit/seed"
	"github.com/brisk-go/brisk/libs/conduit/services"
	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/data/cache"
	"github.com/brisk-go/brisk/libs/observe"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
	"github.com/brisk-go/brisk/libs/startup"
	"github.com/brisk-go/brisk/migrations"
)

const usage = `usage: api [flags] [command]

commands:
  serve                      serve the API (default)
  migrate up|down N|status|force V
  seed --users N --articles M
  version

flags: --config FILE, and --KEY=VALUE for any key in docs/configuration.md`

// usageError is a wrong command line: main exits 2 for it, as for a bad configuration value.
func usageError(msg string) error { return startup.UsageError{Msg: msg, Usage: usage} }

// run is the whole program behind main: it reads configuration from args and getenv only, logs to
// stdout, and returns when ctx ends (serve) or the command is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var seedUsers, seedArticles *int
	var extra []func(*flag.FlagSet)
	if cmd == "seed" {
		extra = append(extra, func(fs *flag.FlagSet) {
			seedUsers = fs.Int("users", 100, "users to create")
			seedArticles = fs.Int("articles", 1000, "articles to create")
		})
	}
	cfg, rest, err := config.Load(args, getenv, config.API, extra...)
	if err != nil {
		return err
	}
	log := startup.NewLogger(cfg, stdout)

	switch cmd {
	case "serve":
		return serve(ctx, cfg, log, getenv)
	case "migrate":
		return migrateCmd(ctx, cfg, rest, stdout)
	case "seed":
		db, err := startup.OpenDatabase(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer db.Close()
		return seed.Run(ctx, db, *seedUsers, *seedArticles, stdout)
	case "version":
		_, err := fmt.Fprintln(stdout, startup.Version())
		return err
	case "help":
		_, err := fmt.Fprintln(stdout, usage)
		return err
	default:
		return usageError(fmt.Sprintf("unknown command %q", cmd))
	}
}

func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, getenv func(string) string) (err error) {
	// Every part is pushed once it is running and stopped in reverse order: the HTTP server
	// first (server.Serve drains it), then the pool its requests use, the job queue, the
	// cache, the database, and telemetry last so it records the rest stopping.
	stack := startup.NewStack(log, cfg.HTTP.ShutdownTimeout)
	defer func() { err = errors.Join(err, stack.Stop(ctx)) }()

	// Telemetry first: the database's query hook takes its providers when it is opened.
	tel, err := startup.Telemetry(ctx, "brisk-api", cfg, log, getenv)
	if err != nil {
		return err
	}
	stack.Push("telemetry", tel.Shutdown)
	db, err := startup.OpenDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	stack.Push("database", startup.Closer(db))
	tel.AddCheck(observe.Check{Name: "database", Probe: db.PingContext})

	appCache, err := cache.Open(ctx, cfg.RedisURL, cache.Options{DefaultTTL: cfg.Cache.TTL, Logger: log})
	if err != nil {
		return err
	}
	stack.Push("cache", startup.Closer(appCache))
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

	workers, opt, err := perfcore(ctx, cfg, log, stack)
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
	var parallel *pool.Pool
	if cfg.Database.ParallelCount {
		parallel = workers
	}
	svc, err := services.New(services.Deps{
		DB:         db,
		JWTSecret:  secret,
		TokenTTL:   cfg.Auth.TokenTTL,
		UserFinder: users,
		Cache:      appCache,
		CacheTTL:   cfg.Cache.TTL,
		Jobs:       conduitjobs.Enqueuer{Queue: queue},
		Pool:       parallel,
	})
	if err != nil {
		return err
	}
	engine, err := httpapi.New(httpapi.Deps{
		Services:           svc,
		Logger:             log,
		Deadlines:          deadlines(cfg),
		CORSAllowedOrigins: cfg.HTTP.CORSAllowedOrigins,
		MaxBodyBytes:       cfg.HTTP.MaxBodyBytes,
		Middleware:         tel.Middleware("/healthz", "/readyz"),
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
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on HTTP_ADDR %s: %w", cfg.HTTP.Addr, err)
	}
	if err := tel.Start(ctx); err != nil {
		_ = ln.Close()
		return err
	}
	log.Info("api starting", "version", startup.Version(), "profile", cfg.Profile, "database", cfg.Database.Target.Dialect)
	return server.Serve(ctx, ln, engine, cfg.HTTP.ShutdownTimeout, log)
}

// jwtSecretFile keeps the embedded default's signing key across restarts.
const jwtSecretFile = "var/jwt.key"

// jwtSecret returns JWT_SECRET, or on a setup without one a random key generated once and kept
// in var/jwt.key, so the embedded default needs no configuration and never ships a constant.
func jwtSecret(cfg *config.Config, log *slog.Logger) ([]byte, error) {
	if cfg.Auth.JWTSecret != "" {
		return []byte(cfg.Auth.JWTSecret), nil
	}
	if b, err := os.ReadFile(jwtSecretFile); err == nil {
		key, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err == nil && len(key) >= 32 {
			return key, nil
		}
		return nil, fmt.Errorf("%s is not a hex key of at least 32 bytes: delete it or set JWT_SECRET", jwtSecretFile)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", jwtSecretFile, err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate JWT key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(jwtSecretFile), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", filepath.Dir(jwtSecretFile), err)
	}
	if err := os.WriteFile(jwtSecretFile, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", jwtSecretFile, err)
	}
	log.Warn("JWT_SECRET not set: generated a signing key in "+jwtSecretFile+"; set JWT_SECRET (the same on every instance) in production", "file", jwtSecretFile)
	return key, nil
}

func migrateCmd(ctx context.Context, cfg *config.Config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError("migrate needs up, down N, status or force V")
	}
	t := cfg.Database.Target
	m, err := data.NewMigrator(t)
	if err != nil {
		return err
	}
	defer m.Close()
	latest, err := migrations.Latest(t.Dialect)
	if err != nil {
		return err
	}
	num := func() (int, error) {
		if len(args) != 2 {
			return 0, usageError(fmt.Sprintf("migrate %s needs one number", args[0]))
		}
		n, err := strconv.Atoi(args[1])
		if err != nil {
			return 0, usageError(fmt.Sprintf("migrate %s: %q is not a number", args[0], args[1]))
		}
		return n, nil
	}
	switch args[0] {
	case "up":
		if err := m.Up(ctx); err != nil {
			return err
		}
	case "down":
		n, err := num()
		if err != nil {
			return err
		}
		if err := m.Down(ctx, n); err != nil {
			return err
		}
	case "force":
		n, err := num()
		if err != nil {
			return err
		}
		if err := m.Force(n); err != nil {
			return err
		}
	case "status":
	default:
		return usageError(fmt.Sprintf("unknown migrate command %q", args[0]))
	}
	v, dirty, err := m.Version()
	if errors.Is(err, migrations.ErrNoVersion) {
		v, err = 0, nil
	}
	if err != nil {
		return err
	}
	st := data.SchemaStatus{Dialect: t.Dialect, Version: v, Latest: latest, Dirty: dirty}
	_, err = fmt.Fprintln(stdout, st.String())
	return err
}
