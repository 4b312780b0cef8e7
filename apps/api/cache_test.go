package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/brisk-go/brisk/libs/data/datatest"
)

// `api seed` against a running API with the memory cache: the next GET /api/tags shows the
// seeded tags at once (seed asks the API, through its admin listener, to clear its cache).
func TestSeedClearsTheRunningAPIsMemoryCache(t *testing.T) {
	url := datatest.URL(t)
	serveEnv := map[string]string{
		"DATABASE_URL": url, "DATABASE_AUTO_MIGRATE": "true", "JOBS_IN_PROCESS": "false", "CACHE_TTL": "1h",
		"HTTP_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0", "LOG_FORMAT": "json", "JWT_SECRET": strings.Repeat("s", 32),
	}
	ctx, cancel := context.WithCancel(context.Background())
	w, logs := logLines(t)
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, envOf(serveEnv), w) }()
	admin := waitFor(t, logs, "admin listening")["addr"].(string)
	addr := waitFor(t, logs, "listening")["addr"].(string)
	t.Cleanup(func() {
		cancel()
		<-done
	})
	tags := func() []string {
		t.Helper()
		resp, err := http.Get("http://" + addr + "/api/tags")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Tags []string }
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return body.Tags
	}
	if got := tags(); len(got) != 0 {
		t.Fatalf("tags before seeding: %v", got)
	}
	seedEnv := map[string]string{"DATABASE_URL": url, "ADMIN_ADDR": admin}
	var out strings.Builder
	if err := run(context.Background(), []string{"seed", "--users", "3", "--articles", "10"}, envOf(seedEnv), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "cleared the memory cache") {
		t.Fatalf("seed did not clear the cache:\n%s", out.String())
	}
	if got := tags(); len(got) == 0 {
		t.Fatal("the API still serves the cached empty tag list after seeding")
	}
	out.Reset()
	if err := run(context.Background(), []string{"cache", "clear"}, envOf(seedEnv), &out); err != nil || !strings.Contains(out.String(), "cleared") {
		t.Fatalf("cache clear: %v %q", err, out.String())
	}
	if err := run(context.Background(), []string{"cache", "clear"}, envOf(map[string]string{"ADMIN_ADDR": "off"}), io.Discard); err == nil {
		t.Fatal("cache clear with the admin listener off succeeded")
	}
}
