package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brisk-go/brisk/libs/data/datatest"
	"github.com/brisk-go/brisk/libs/startup"
	"github.com/brisk-go/brisk/libs/startup/starttest"
)

// runMain runs the real main (see TestMain) with args and returns its exit code and output.
func runMain(t *testing.T, args []string, env ...string) (int, string, string) {
	t.Helper()
	return starttest.RunMain(t, args, env...)
}

// Every command and subcommand answers --help, -h and help COMMAND with exit 0 and its usage,
// over the real main, and shows examples.
func TestEveryCommandAnswersHelp(t *testing.T) {
	starttest.CheckHelp(t, "api", newCLI(func(string) string { return "" }, io.Discard).Root, 15)
}

// Unknown commands and flags exit 2 with a suggestion.
func TestWrongCommandLinesExitTwoWithASuggestion(t *testing.T) {
	cases := []struct {
		args    []string
		suggest string
	}{
		{[]string{"migrat"}, "migrate"},
		{[]string{"migrate", "stauts"}, "status"},
		{[]string{"--htp.addr=:1"}, "--http.addr"},
		{[]string{"seed", "--user=3"}, "--users"},
		{[]string{"migrate"}, "status"},
		{[]string{"migrate", "down"}, "migrate down --help"},
		{[]string{"version", "extra"}, "version --help"},
	}
	for _, tc := range cases {
		code, _, errOut := runMain(t, tc.args)
		if code != 2 || !strings.Contains(errOut, tc.suggest) {
			t.Errorf("api %s: exit %d, stderr %q; want 2 and %q", strings.Join(tc.args, " "), code, errOut, tc.suggest)
		}
	}
}

func TestCompletionBash(t *testing.T) {
	code, out, errOut := runMain(t, []string{"completion", "bash"})
	if code != 0 || !strings.Contains(out, "__start_api") {
		t.Fatalf("completion bash: exit %d, %q %q", code, out[:min(len(out), 200)], errOut)
	}
}

// `api config` shows each value's source for one value set in every layer, and masks secrets.
func TestConfigShowsEachLayer(t *testing.T) {
	dir := t.TempDir()
	yamlPath := filepath.Join(dir, "brisk.yaml")
	if err := os.WriteFile(yamlPath, []byte("log:\n  format: json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	envPath := filepath.Join(dir, "x.env")
	if err := os.WriteFile(envPath, []byte("JOBS_CONCURRENCY=7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	secret := strings.Repeat("q", 40)
	var out strings.Builder
	err := run(context.Background(), []string{"config", "show", "--config", yamlPath, "--env-file", envPath, "--http.addr=127.0.0.1:7001"},
		envOf(map[string]string{"JWT_SECRET": secret, "APP_PROFILE": "web", "DATABASE_URL": "postgres://u:pw1234@db:5432/x"}), &out)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(line); len(f) >= 4 {
			rows[f[0]] = f
		}
	}
	want := map[string][2]string{
		"http.addr":             {"127.0.0.1:7001", "flag"},
		"app.profile":           {"web", "env"},
		"jobs.concurrency":      {"7", ".env"},
		"log.format":            {"json", "file"},
		"goroutine.max_workers": {"", "profile"},
		"jwt.ttl":               {"72h0m0s", "default"},
		"jwt.secret":            {"****", "env"},
	}
	for key, w := range want {
		r := rows[key]
		if r == nil || r[3] != w[1] || (w[0] != "" && r[2] != w[0]) {
			t.Errorf("%s: row %v, want value %q source %q", key, r, w[0], w[1])
		}
	}
	if strings.Contains(out.String(), secret) || strings.Contains(out.String(), "pw1234") {
		t.Errorf("a secret is shown:\n%s", out.String())
	}
	if rows["http.addr"] == nil || rows["database.url"] == nil || len(rows) < 30 {
		t.Errorf("settings missing:\n%s", out.String())
	}
}

// `api routes` lists exactly the router's routes.
func TestRoutesListsTheRouter(t *testing.T) {
	rows, err := routeTable()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := run(context.Background(), []string{"routes"}, envOf(nil), &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(rows)+1 {
		t.Fatalf("%d lines for %d routes:\n%s", len(lines), len(rows), out.String())
	}
	want := map[string]string{
		"POST /api/users":                  "none",
		"GET /api/user":                    "required",
		"GET /api/articles":                "optional",
		"GET /api/articles/feed":           "required",
		"DELETE /api/articles/:slug":       "required",
		"GET /api/tags":                    "none",
		"GET /healthz":                     "none",
		"GET /api/articles/:slug/comments": "optional",
	}
	got := map[string]string{}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		got[f[0]+" "+f[1]] = f[3]
	}
	for k, auth := range want {
		if got[k] != auth {
			t.Errorf("%s: auth %q, want %q", k, got[k], auth)
		}
	}
	// The same set as gin reports for the engine serve builds.
	engineRoutes := 0
	for _, r := range rows {
		if _, ok := got[r.Method+" "+r.Path]; !ok {
			t.Errorf("%s %s missing from the output", r.Method, r.Path)
		}
		engineRoutes++
	}
	if engineRoutes != len(got) {
		t.Errorf("output has %d routes, router %d", len(got), engineRoutes)
	}
}

func TestAboutCommand(t *testing.T) {
	url := datatest.URL(t)
	var out strings.Builder
	if err := run(context.Background(), []string{"about"}, envOf(map[string]string{"DATABASE_URL": url}), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"version", "go1.", "profile", "pending migrations", "driver", "memory", "goroutine pool", "optimizer", "admin address"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("about lacks %q:\n%s", want, out.String())
		}
	}
}

func TestMigrateFreshRollbackAndCreate(t *testing.T) {
	url := datatest.URL(t)
	env := envOf(map[string]string{"DATABASE_URL": url})
	ctx := context.Background()
	var out strings.Builder
	if err := run(ctx, []string{"migrate", "up"}, env, io.Discard); err != nil {
		t.Fatal(err)
	}
	var ue startup.UsageError
	if err := run(ctx, []string{"migrate", "fresh"}, env, io.Discard); !errors.As(err, &ue) {
		t.Fatalf("fresh without --force on a configured database: %v", err)
	}
	if err := run(ctx, []string{"migrate", "rollback"}, env, &out); err != nil || !strings.Contains(out.String(), "pending") {
		t.Fatalf("rollback: %v %q", err, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"migrate", "fresh", "--force"}, env, &out); err != nil || !strings.Contains(out.String(), "(latest)") {
		t.Fatalf("fresh --force: %v %q", err, out.String())
	}

	dir := t.TempDir()
	for _, d := range []string{"postgres", "sqlite"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "sqlite", "000007_x.up.sql"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"migrate", "create", "add-bookmarks", "--dir", dir}, env, &out); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"postgres", "sqlite"} {
		for _, way := range []string{"up", "down"} {
			if _, err := os.Stat(filepath.Join(dir, d, "000008_add_bookmarks."+way+".sql")); err != nil {
				t.Error(err)
			}
		}
	}
	if err := run(ctx, []string{"migrate", "create", "Bad Name", "--dir", dir}, env, io.Discard); !errors.As(err, &ue) {
		t.Errorf("a bad name was accepted: %v", err)
	}
}
