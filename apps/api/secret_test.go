package main

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brisk-go/brisk/libs/config"
)

// On PostgreSQL, serving without JWT_SECRET (or JWT_SECRET_FILE) exits 2 with one line naming
// JWT_SECRET, before anything is opened: two instances that each made up a key refused each
// other's tokens. Before, the key was generated per instance without a word.
func TestJWTSecretRequiredOffTheEmbeddedDatabase(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0])
	env := []string{"BRISK_RUN_MAIN=1", "DATABASE_URL=postgres://postgres@127.0.0.1:1/brisk?sslmode=disable", "HTTP_ADDR=127.0.0.1:0", "ADMIN_ADDR=127.0.0.1:0"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "JWT_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("want exit status 2, got %v (%s)", err, out)
	}
	if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "JWT_SECRET") {
		t.Fatalf("want one line naming JWT_SECRET, got %q", out)
	}
}

func loadAPI(t *testing.T, env map[string]string) *config.Config {
	t.Helper()
	cfg, _, err := config.Load(nil, envOf(env), config.API)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// JWT_SECRET_FILE supplies the key on PostgreSQL; a file others may read is loaded with a
// warning naming it, a short key is a configuration error naming JWT_SECRET_FILE.
func TestJWTSecretFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := strings.Repeat("k", 40)
	private := filepath.Join(dir, "private.key")
	shared := filepath.Join(dir, "shared.key")
	short := filepath.Join(dir, "short.key")
	for path, c := range map[string]struct {
		body string
		mode os.FileMode
	}{private: {key + "\n", 0o600}, shared: {key, 0o644}, short: {"tiny", 0o600}} {
		if err := os.WriteFile(path, []byte(c.body), c.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, c.mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	pg := "postgres://postgres@127.0.0.1:1/brisk"
	for _, c := range []struct {
		file     string
		wantWarn bool
		wantErr  string
	}{
		{private, false, ""},
		{shared, true, ""},
		{short, false, "JWT_SECRET_FILE"},
		{filepath.Join(dir, "missing.key"), false, "JWT_SECRET_FILE"},
	} {
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		got, err := jwtSecret(loadAPI(t, map[string]string{"DATABASE_URL": pg, "JWT_SECRET_FILE": c.file}), log)
		if c.wantErr != "" {
			var ce *config.Error
			if !errors.As(err, &ce) || ce.Env != c.wantErr {
				t.Errorf("%s: want a config error naming %s, got %v", c.file, c.wantErr, err)
			}
			continue
		}
		if err != nil || string(got) != key {
			t.Errorf("%s: key %q, err %v; want the file's key", c.file, got, err)
		}
		if warned := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), c.file); warned != c.wantWarn {
			t.Errorf("%s: warned %v, want %v: %s", c.file, warned, c.wantWarn, logs.String())
		}
	}
}
