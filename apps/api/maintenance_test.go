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

	get := func(path string) *http.Response {
		t.Helper()
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// waitStatus polls until path answers want (every 100ms, at most 100 times).
	waitStatus := func(path string, want int) *http.Response {
		t.Helper()
		var resp *http.Response
		for range 100 {
			if resp = get(path); resp.StatusCode == want {
				return resp
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: still %d, want %d", path, resp.StatusCode, want)
		return nil
	}
	waitStatus("/api/tags", http.StatusOK)

	var out strings.Builder
	if err := run(context.Background(), []string{"down", "--retry-after", "90s", "--message", "upgrading"}, env, &out); err != nil {
		t.Fatal(err)
	}
	resp := waitStatus("/api/tags", http.StatusServiceUnavailable)
	if resp.Header.Get("Retry-After") != "90" {
		t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
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
	if r := get("/healthz"); r.StatusCode != http.StatusOK {
		t.Errorf("/healthz during maintenance: %d", r.StatusCode)
	}
	if err := run(context.Background(), []string{"up"}, env, io.Discard); err != nil {
		t.Fatal(err)
	}
	waitStatus("/api/tags", http.StatusOK)
}
