package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brisk-go/brisk/libs/data/datatest"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestWorkerRunsUntilStopped(t *testing.T) {
	url := datatest.URL(t)
	out := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"run"}, func(k string) string {
			return map[string]string{"DATABASE_URL": url, "DATABASE_AUTO_MIGRATE": "true"}[k]
		}, out)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "worker started") {
		select {
		case err := <-done:
			t.Fatalf("worker exited early: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker did not start:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestWorkerBadConfigAndCommand(t *testing.T) {
	var ue usageError
	if err := run(context.Background(), []string{"dance"}, func(string) string { return "" }, io.Discard); !errors.As(err, &ue) {
		t.Fatalf("unknown command: %v", err)
	}
	err := run(context.Background(), nil, func(k string) string {
		if k == "GOROUTINE_MAX_WORKERS" {
			return "zero"
		}
		return ""
	}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "GOROUTINE_MAX_WORKERS") {
		t.Fatalf("bad config: %v", err)
	}
}
