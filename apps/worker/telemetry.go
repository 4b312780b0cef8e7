package main

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/observe"
)

// telemetry is the worker's OpenTelemetry set-up (libs/observe) and admin listener
// (ADMIN_ADDR: /metrics, /debug/pprof, /debug/perf, /debug/health).
type telemetry struct {
	*observe.Telemetry
	log *slog.Logger // the worker's logger, with trace ids on lines logged inside a span
	bg  context.Context
}

// startTelemetry runs before the database is opened, so the query hook reports to it.
func startTelemetry(ctx context.Context, cfg *config.Config, log *slog.Logger, getenv func(string) string) (*telemetry, error) {
	log = slog.New(observe.NewLogHandler(log.Handler()))
	version := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		version = bi.Main.Version
	}
	tel, err := observe.New(ctx, observe.Options{
		Service: "brisk-worker", Version: version, AdminAddr: cfg.AdminAddr, Getenv: getenv, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	if err := tel.Start(ctx); err != nil {
		_ = tel.Shutdown(context.WithoutCancel(ctx))
		return nil, err
	}
	return &telemetry{Telemetry: tel, log: log, bg: context.WithoutCancel(ctx)}, nil
}

// watchDatabase adds the database to the health report.
func (t *telemetry) watchDatabase(db *bun.DB) {
	t.AddCheck(observe.Check{Name: "database", Probe: db.PingContext})
}

// stop flushes the exporters and closes the admin listener.
func (t *telemetry) stop() {
	ctx, cancel := context.WithTimeout(t.bg, 5*time.Second)
	defer cancel()
	if err := t.Shutdown(ctx); err != nil {
		t.log.Warn("flush telemetry", "err", err)
	}
}
