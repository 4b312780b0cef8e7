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
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/apps/api/internal/httpapi"
	"github.com/brisk-go/brisk/libs/conduit/seed"
	"github.com/brisk-go/brisk/apps/api/internal/server"
	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/conduit/conduitjobs"
	"github.com/brisk-go/brisk/libs/observe"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
	"github.com/brisk-go/brisk/migrations"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = ""

const usage = `usage: api [flags] [command]

commands:
  serve                      serve the API (default)
  migrate up|down N|status|force V
  seed --users N --articles M
  version

flags: --config FILE, and --KEY=VALUE for any key in docs/configuration.md`

// usageError is a wrong command line: main exits 2 for it, as for a bad configuration value.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg + "\n" + usage }

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
	cfg, rest, err := config.Load(args, getenv, "api", extra...)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stdout)

	switch cmd {
	case "serve":
		return serve(ctx, cfg, log, getenv)
	case "migrate":
		return migrateCmd(ctx, cfg, rest, stdout)
	case "seed":
		db, err := openDB(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer db.Close()
		return seed.Run(ctx, db, *seedUsers, *seedArticles, stdout)
	case "version":
		_, err := fmt.Fprintln(stdout, buildVersion())
		return err
	case "help":
		_, err := fmt.Fprintln(stdout, usage)
		return err
	default:
		return usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Log.Level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.Log.Format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(observe.NewLogHandler(h))
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return "devel+" + s.Value
			}
		}
		if bi.Main.Version != "" {
			return bi.Main.Version
		}
	}
	return "devel"
}

// openDB opens the configured database, migrating it first when configured to.
func openDB(ctx context.Context, cfg *config.Config, log *slog.Logger) (*bun.DB, error) {
	if cfg.MigrateOnStart() {
		if err := data.MigrateUp(ctx, cfg.Database.URL, 0); err != nil {
			return nil, err
		}
		log.Info("database migrated", "latest", latestVersion(cfg))
	}
	db, err := data.Open(ctx, data.Options{URL: cfg.Database.URL, MaxOpenConns: cfg.Database.MaxOpenConns, Tracing: true})
	if err != nil {
		return nil, err
	}
	return db, nil
}

func latestVersion(cfg *config.Config) uint {
	t, err := data.ParseURL(cfg.Database.URL, 0)
	if err != nil {
		return 0
	}
	v, _ := migrations.Latest(t.Dialect)
	return v
}

func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, getenv func(string) string) error {
	// Telemetry first: the database's query hook takes its providers when it is opened.
	tel, err := observe.New(ctx, observe.Options{
		Service: "brisk-api", Version: buildVersion(), AdminAddr: cfg.AdminAddr, Getenv: getenv, Logger: log,
	})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tel.Shutdown(sctx); err != nil {
			log.Warn("flush telemetry", "err", err)
		}
	}()
	db, err := openDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := db.Close(); err != nil {
			log.Warn("close database", "err", err)
		}
	}()
	tel.AddCheck(observe.Check{Name: "database", Probe: db.PingContext})
	appCache, queue, stopBackground, err := background(ctx, cfg, db, log)
	if err != nil {
		return err
	}
	defer stopBackground()
	secret, err := jwtSecret(cfg, log)
	if err != nil {
		return err
	}
	// Stopped after the HTTP server (deferred calls run last-in first-out) and before the
	// database closes: queued tasks may still query it while the pool drains.
	workers, opt, stopPerfcore, err := perfcore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := stopPerfcore(sctx); err != nil {
			log.Warn("stop goroutine pool and optimizer", "err", err)
		}
	}()
	users, unfollow, err := userFinder(cfg, db, opt, log)
	if err != nil {
		return err
	}
	defer unfollow()
	var parallel *pool.Pool
	if cfg.Database.ParallelCount {
		parallel = workers
	}
	engine, err := httpapi.New(httpapi.Deps{
		DB:                 db,
		Deadlines:          deadlines(cfg),
		UserFinder:         users,
		Logger:             log,
		JWTSecret:          secret,
		TokenTTL:           cfg.Auth.TokenTTL,
		CORSAllowedOrigins: cfg.HTTP.CORSAllowedOrigins,
		MaxBodyBytes:       cfg.HTTP.MaxBodyBytes,
		Middleware:         tel.Middleware("/healthz", "/readyz"),
		Cache:              appCache,
		CacheTTL:           cfg.Cache.TTL,
		Jobs:               conduitjobs.Enqueuer{Queue: queue},
		Pool:               parallel,
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
	log.Info("api starting", "version", buildVersion(), "profile", cfg.Profile, "database", data.Dialect(db))
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
		return usageError{"migrate needs up, down N, status or force V"}
	}
	m, err := data.NewMigrator(cfg.Database.URL, 0)
	if err != nil {
		return err
	}
	defer m.Close()
	t, _ := data.ParseURL(cfg.Database.URL, 0)
	latest, err := migrations.Latest(t.Dialect)
	if err != nil {
		return err
	}
	num := func() (int, error) {
		if len(args) != 2 {
			return 0, usageError{fmt.Sprintf("migrate %s needs one number", args[0])}
		}
		n, err := strconv.Atoi(args[1])
		if err != nil {
			return 0, usageError{fmt.Sprintf("migrate %s: %q is not a number", args[0], args[1])}
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
		return usageError{fmt.Sprintf("unknown migrate command %q", args[0])}
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
