package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/data/datatest"
	"github.com/brisk-go/brisk/libs/startup"
	"github.com/brisk-go/brisk/libs/startup/starttest"
)

// TestMain lets the test binary stand in for the real program: with BRISK_RUN_MAIN=1 it runs main,
// so exit codes are tested on the real main.
func TestMain(m *testing.M) { starttest.Main(m, "api", main) }

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestBadConfigExitsTwoNamingTheVariable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		env  []string
		name string
	}{
		{[]string{"HTTP_ADDR=nonsense"}, "HTTP_ADDR"},
		{[]string{"GOROUTINE_MIN_WORKERS=-1"}, "GOROUTINE_MIN_WORKERS"},
		{[]string{"GOROUTINE_MIN_WORKERS=9", "GOROUTINE_MAX_WORKERS=3"}, "GOROUTINE_MIN_WORKERS"},
		{[]string{"APP_PROFILE=turbo"}, "APP_PROFILE"},
	}
	for _, tc := range cases {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), append(tc.env, "BRISK_RUN_MAIN=1")...)
		cmd.Dir = t.TempDir()
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("%v: want exit status 2, got %v (%s)", tc.env, err, out)
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], tc.name) {
			t.Errorf("%v: want one line naming %s, got %q", tc.env, tc.name, out)
		}
	}
}

func TestUnknownCommandIsAUsageError(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"frobnicate"}, envOf(nil), io.Discard)
	var ue startup.UsageError
	if !errors.As(err, &ue) {
		t.Fatalf("want usageError, got %v", err)
	}
}

func TestVersionCommand(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	if err := run(context.Background(), []string{"version"}, envOf(nil), &out); err != nil || strings.TrimSpace(out.String()) == "" {
		t.Fatalf("version: %q %v", out.String(), err)
	}
}

// syncPipe lets the test read the app's log lines while run keeps writing.
func logLines(t *testing.T) (io.Writer, <-chan map[string]any) {
	pr, pw := io.Pipe()
	ch := make(chan map[string]any, 100)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				ch <- m
			}
		}
	}()
	t.Cleanup(func() { pw.Close() })
	return pw, ch
}

func waitFor(t *testing.T, logs <-chan map[string]any, msg string) map[string]any {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m, ok := <-logs:
			if !ok {
				t.Fatalf("log closed before %q", msg)
			}
			if m["msg"] == msg {
				return m
			}
		case <-timeout:
			t.Fatalf("no %q log line within 30s", msg)
		}
	}
}

// The embedded path end to end: serve migrates a fresh database, answers /readyz, serves the
// API, and returns nil once its context ends (SIGTERM).
func TestServeMigratesAnswersReadyAndStops(t *testing.T) {
	url := datatest.URL(t)
	w, logs := logLines(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, envOf(map[string]string{
			"DATABASE_URL":          url,
			"DATABASE_AUTO_MIGRATE": "true",
			"HTTP_ADDR":             "127.0.0.1:0",
			"ADMIN_ADDR":            "127.0.0.1:0", // an empty value would mean the default port
			"LOG_FORMAT":            "json",
			"JWT_SECRET":            strings.Repeat("s", 32),
		}), w)
	}()
	addr := waitFor(t, logs, "listening")["addr"].(string)
	for _, path := range []string{"/healthz", "/readyz", "/api/tags"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

// Without auto-migration a fresh database is not ready, and /readyz says why.
func TestReadyzReportsPendingMigrations(t *testing.T) {
	url := datatest.URL(t)
	w, logs := logLines(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, envOf(map[string]string{
			"DATABASE_URL": url, "DATABASE_AUTO_MIGRATE": "false", "HTTP_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0",
			"LOG_FORMAT": "json", "JWT_SECRET": strings.Repeat("s", 32),
		}), w)
	}()
	addr := waitFor(t, logs, "listening")["addr"].(string)
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "pending") {
		t.Fatalf("/readyz on an unmigrated database: %d %s", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestMigrateCommand(t *testing.T) {
	url := datatest.URL(t)
	env := envOf(map[string]string{"DATABASE_URL": url})
	ctx := context.Background()
	status := func() string {
		var out strings.Builder
		if err := run(ctx, []string{"migrate", "status"}, env, &out); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	if s := status(); !strings.Contains(s, "version 0") {
		t.Fatalf("fresh status: %q", s)
	}
	if err := run(ctx, []string{"migrate", "up"}, env, io.Discard); err != nil {
		t.Fatal(err)
	}
	if s := status(); !strings.Contains(s, "(latest)") {
		t.Fatalf("after up: %q", s)
	}
	if err := run(ctx, []string{"migrate", "down", "1"}, env, io.Discard); err != nil {
		t.Fatal(err)
	}
	if s := status(); !strings.Contains(s, "pending") {
		t.Fatalf("after down 1: %q", s)
	}
	var ue startup.UsageError
	if err := run(ctx, []string{"migrate", "down", "x"}, env, io.Discard); !errors.As(err, &ue) {
		t.Fatalf("migrate down x: want usageError, got %v", err)
	}
}

// Without JWT_SECRET the key is generated once and reused, never a constant.
func TestJWTSecretGeneratedOnceAndKept(t *testing.T) {
	t.Chdir(t.TempDir())
	cfg, _, err := config.Load(nil, envOf(nil), "api")
	if err != nil {
		t.Fatal(err)
	}
	log := startup.NewLogger(cfg, io.Discard)
	k1, err := jwtSecret(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := jwtSecret(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) < 32 || string(k1) != string(k2) {
		t.Fatalf("key not kept: %x vs %x", k1, k2)
	}
	if _, err := os.Stat(filepath.Join("var", "jwt.key")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	k3, _ := jwtSecret(cfg, log)
	if string(k3) == string(k1) {
		t.Fatal("two fresh installations got the same key")
	}
}
