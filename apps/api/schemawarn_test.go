package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brisk-go/brisk/libs/startup/starttest"
)

// lockedBuffer collects the JSON log of an API run in this process or a child.
type lockedBuffer struct{ starttest.Buffer }

// records returns every JSON log record.
func (l *lockedBuffer) records() []map[string]any { r, _ := l.Records(); return r }

// find returns the first JSON log record whose msg contains part.
func (l *lockedBuffer) find(part string) map[string]any { return l.Find(part) }

// Serving a database whose migrations have not run logs a WARN naming `api migrate up` at
// start-up. Before, the log said "listening" and nothing else.
func TestServeWarnsOfPendingMigrations(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, envOf(map[string]string{
			"DATABASE_URL":          "sqlite://" + filepath.Join(t.TempDir(), "unmigrated.db"),
			"DATABASE_AUTO_MIGRATE": "false",
			"JOBS_IN_PROCESS":       "false",
			"HTTP_ADDR":             "127.0.0.1:0",
			"ADMIN_ADDR":            "127.0.0.1:0",
			"LOG_FORMAT":            "json",
			"JWT_SECRET":            strings.Repeat("s", 32),
		}), logs)
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for logs.find("listening") == nil {
		if time.Now().After(deadline) {
			t.Fatal("not listening within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	w := logs.find("api migrate up")
	if w == nil || w["level"] != "WARN" {
		t.Fatalf("no WARN naming `api migrate up`: %v", w)
	}
}
