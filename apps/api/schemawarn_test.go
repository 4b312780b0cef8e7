package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// records returns every JSON log record.
func (l *lockedBuffer) records() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range bytes.Split(l.b.Bytes(), []byte("\n")) {
		var m map[string]any
		if json.Unmarshal(line, &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// find returns the first JSON log record whose msg contains part.
func (l *lockedBuffer) find(part string) map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range bytes.Split(l.b.Bytes(), []byte("\n")) {
		var m map[string]any
		if json.Unmarshal(line, &m) == nil && strings.Contains(m["msg"].(string), part) {
			return m
		}
	}
	return nil
}

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
