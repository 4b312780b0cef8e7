package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/brisk-go/brisk/libs/data/datatest"
)

// serve runs the API's goroutine pool and optimizer: with DATABASE_PARALLEL_COUNT=on listings
// count on the pool, whose metrics (pool="api") and the optimizer's reach /metrics; shutdown
// drains and stops them and leaves no goroutine behind.
func TestServeRunsThePoolAndStopsClean(t *testing.T) {
	// Goroutines of earlier tests are not ours. Registered first, so it runs after every other
	// cleanup (the log reader's included); VerifyNone retries while goroutines wind down.
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
	url := datatest.URL(t)
	w, logs := logLines(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, envOf(map[string]string{
			"DATABASE_URL":              url,
			"DATABASE_AUTO_MIGRATE":     "true",
			"DATABASE_PARALLEL_COUNT":   "true",
			"GOROUTINE_MIN_WORKERS":     "2",
			"GOROUTINE_MAX_WORKERS":     "4",
			"MEMORY_POOL_SIZE":          "1",
			"PROFILE_SAMPLING_INTERVAL": "20ms", // the optimizer's metrics appear at its first sample
			"HTTP_ADDR":                 "127.0.0.1:0",
			"ADMIN_ADDR":                "127.0.0.1:0",
			"LOG_FORMAT":                "json",
			"JWT_SECRET":                strings.Repeat("s", 32),
		}), w)
	}()
	admin := waitFor(t, logs, "admin listening")["addr"].(string)
	addr := waitFor(t, logs, "listening")["addr"].(string)

	client := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	get := func(url string) string {
		t.Helper()
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
		}
		return string(body)
	}
	for range 3 {
		if body := get("http://" + addr + "/api/articles?limit=5"); !strings.Contains(body, `"articlesCount":0`) {
			t.Fatalf("listing: %s", body)
		}
	}
	// Workers publish their counts when they park and the optimizer's gauges appear at its first
	// sample: wait (boundedly) for both.
	completed := regexp.MustCompile(`(?m)^perfcore_pool_tasks_completed_total\{[^}]*pool="api"[^}]*\} 3$`)
	metrics := get("http://" + admin + "/metrics")
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) &&
		(!completed.MatchString(metrics) || !strings.Contains(metrics, "perfcore_optimizer_level{")); {
		time.Sleep(50 * time.Millisecond)
		metrics = get("http://" + admin + "/metrics")
	}
	if !completed.MatchString(metrics) {
		t.Errorf("the pool did not count the 3 listings; /metrics has:\n%s", grep(metrics, "perfcore_pool_tasks"))
	}
	// The three listings rendered through the response-body pool: the first made an encoder,
	// the next two reused it, and it is kept idle (MEMORY_POOL_SIZE=1).
	for _, want := range []string{
		`(?m)^perfcore_mempool_gets_total\{[^}]*pool="api_json"[^}]*result="miss"[^}]*\} 1$`,
		`(?m)^perfcore_mempool_gets_total\{[^}]*pool="api_json"[^}]*result="hit"[^}]*\} 2$`,
		`(?m)^perfcore_mempool_idle\{[^}]*pool="api_json"[^}]*\} 1$`,
	} {
		if !regexp.MustCompile(want).MatchString(metrics) {
			t.Errorf("/metrics lacks %s; it has:\n%s", want, grep(metrics, "perfcore_mempool"))
		}
	}
	for _, want := range []string{`perfcore_pool_workers{`, `perfcore_optimizer_level{`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	client.CloseIdleConnections()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return")
	}
}

// grep returns the lines of s that start with prefix.
func grep(s, prefix string) string {
	var out []string
	for l := range strings.Lines(s) {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// CPU_POOL_WORKERS=off (the comparison point of the login-flood benchmark) starts no CPU pool:
// registration and login still hash, on the request's goroutine, and /metrics has no pool="cpu".
func TestCPUPoolOffHashesInline(t *testing.T) {
	w, logs := logLines(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, envOf(map[string]string{
			"DATABASE_URL":          datatest.URL(t),
			"DATABASE_AUTO_MIGRATE": "true",
			"CPU_POOL_WORKERS":      "off",
			"HTTP_ADDR":             "127.0.0.1:0",
			"ADMIN_ADDR":            "127.0.0.1:0",
			"LOG_FORMAT":            "json",
			"JWT_SECRET":            strings.Repeat("s", 32),
		}), w)
	}()
	admin := waitFor(t, logs, "admin listening")["addr"].(string)
	addr := waitFor(t, logs, "listening")["addr"].(string)
	client := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	post := func(path, body string, want int) {
		t.Helper()
		resp, err := client.Post("http://"+addr+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
		}
	}
	post("/api/users", `{"user":{"username":"inline","email":"inline@example.com","password":"password-1"}}`, http.StatusCreated)
	post("/api/users/login", `{"user":{"email":"inline@example.com","password":"password-1"}}`, http.StatusOK)
	post("/api/users/login", `{"user":{"email":"inline@example.com","password":"wrong-password"}}`, http.StatusUnauthorized)
	resp, err := client.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(metrics), `pool="cpu"`) {
		t.Errorf("CPU_POOL_WORKERS=off still started the CPU pool:\n%s", grep(string(metrics), "perfcore_pool_workers"))
	}
	if !strings.Contains(string(metrics), `pool="api"`) {
		t.Errorf("/metrics lacks the api pool, so the absence of the cpu pool proves nothing:\n%s", grep(string(metrics), "perfcore_pool"))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return")
	}
}
