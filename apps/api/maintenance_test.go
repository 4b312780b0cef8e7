package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/brisk-go/brisk/libs/data/datatest"
)

// `api down` on one instance makes another on the same database answer 503 with Retry-After
// and the message (health routes excepted); `api up` ends it. SQLite here, PostgreSQL too when
// TEST_DATABASE_URL is set.
func TestDownAndUpReachEveryInstance(t *testing.T) {
	url := datatest.URL(t)
	env := envOf(map[string]string{
		"DATABASE_URL": url, "DATABASE_AUTO_MIGRATE": "true", "JOBS_IN_PROCESS": "false",
		"HTTP_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "off", "LOG_FORMAT": "json", "JWT_SECRET": strings.Repeat("s", 32),
	})
	if err := run(context.Background(), []string{"migrate", "up"}, env, io.Discard); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w, logs := logLines(t)
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, env, w) }()
	addr := waitFor(t, logs, "listening")["addr"].(string)
	t.Cleanup(func() {
		cancel()
		<-done
	})

	// get answers path's status and headers; the body is read by the test below only.
	get := func(path string) (int, http.Header) {
		t.Helper()
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	// waitStatus polls until path answers want (every 100ms, at most 100 times).
	waitStatus := func(path string, want int) http.Header {
		t.Helper()
		var status int
		var header http.Header
		for range 100 {
			if status, header = get(path); status == want {
				return header
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: still %d, want %d", path, status, want)
		return nil
	}
	waitStatus("/api/tags", http.StatusOK)

	var out strings.Builder
	if err := run(context.Background(), []string{"down", "--retry-after", "90s", "--message", "upgrading"}, env, &out); err != nil {
		t.Fatal(err)
	}
	header := waitStatus("/api/tags", http.StatusServiceUnavailable)
	if header.Get("Retry-After") != "90" {
		t.Errorf("Retry-After %q", header.Get("Retry-After"))
	}
	full, err := http.Get("http://" + addr + "/api/articles")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(full.Body)
	full.Body.Close()
	if full.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "upgrading") {
		t.Errorf("during maintenance: %d %s", full.StatusCode, body)
	}
	if status, _ := get("/healthz"); status != http.StatusOK {
		t.Errorf("/healthz during maintenance: %d", status)
	}
	if err := run(context.Background(), []string{"up"}, env, io.Discard); err != nil {
		t.Fatal(err)
	}
	waitStatus("/api/tags", http.StatusOK)
}
