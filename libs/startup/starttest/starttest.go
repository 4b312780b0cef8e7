// Package starttest holds what the apps' tests share: running the real main in a child process
// (the test binary stands in for the program), walking a cobra command tree, and a buffer that
// concurrent loggers can write into and tests can read JSON records from.
package starttest

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"
)

// The child process runs main when runMainEnv is 1, with argsEnv's words as its arguments.
const (
	runMainEnv = "BRISK_RUN_MAIN"
	argsEnv    = "BRISK_ARGS"
)

// AskedToRunMain reports whether this test binary was started by RunMain to stand in for the
// program (TestMain may then prepare hooks before calling Main).
func AskedToRunMain() bool { return os.Getenv(runMainEnv) == "1" }

// Main is the body of an app's TestMain: started by RunMain, the test binary runs the real
// program's main as name (exit 0 when main returns; main exits by itself otherwise);
// otherwise it runs the tests.
func Main(m *testing.M, name string, main func()) {
	if AskedToRunMain() {
		os.Args = append([]string{name}, strings.Fields(os.Getenv(argsEnv))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// RunMain runs the real main (see Main) with args and extra environment in a temporary
// directory, and returns its exit code, standard output and standard error.
func RunMain(t testing.TB, args []string, env ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0])
	cmd.Env = append(os.Environ(), append(env, runMainEnv+"=1", argsEnv+"="+strings.Join(args, " "))...)
	cmd.Dir = t.TempDir()
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

// CommandPaths lists every command of the tree below root (root itself first, as the empty
// path), each as the arguments that name it.
func CommandPaths(root *cobra.Command) [][]string {
	var out [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		out = append(out, path)
		for _, sub := range c.Commands() {
			walk(sub, append(slices.Clone(path), sub.Name()))
		}
	}
	walk(root, nil)
	return out
}

// Buffer is an io.Writer safe for concurrent use (loggers of several goroutines, a child
// process's output) that tests read back whole.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Records decodes the lines written so far as JSON log records; lines that are not JSON
// objects (a library's plain text, a partial last line) are returned apart, so a test can
// require there be none.
func (b *Buffer) Records() (records []map[string]any, other []string) {
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			other = append(other, line)
			continue
		}
		records = append(records, m)
	}
	return records, other
}

// Find returns the first JSON record whose msg contains part, or nil.
func (b *Buffer) Find(part string) map[string]any {
	records, _ := b.Records()
	for _, r := range records {
		if msg, _ := r["msg"].(string); strings.Contains(msg, part) {
			return r
		}
	}
	return nil
}

// CheckHelp runs the real main (see Main) once per command of root's tree with --help, with
// -h and as `help COMMAND`, and fails unless each exits 0 and prints its usage; every
// runnable command (help and completion aside) must also carry examples. want is the least
// number of commands the tree must have, so that a tree that failed to build is not passed.
func CheckHelp(t *testing.T, name string, root *cobra.Command, want int) {
	t.Helper()
	paths := CommandPaths(root)
	if len(paths) < want {
		t.Fatalf("%s: only %d commands found, want %d or more: %v", name, len(paths), want, paths)
	}
	for _, p := range paths {
		runs := [][]string{append(slices.Clone(p), "--help"), append(slices.Clone(p), "-h")}
		if len(p) > 0 && p[0] != "help" {
			runs = append(runs, append([]string{"help"}, p...))
		}
		for _, args := range runs {
			if code, out, errOut := RunMain(t, args); code != 0 || !strings.Contains(out, "Usage:") {
				t.Errorf("%s %s: exit %d, stdout %q, stderr %q", name, strings.Join(args, " "), code, out, errOut)
			}
		}
		c, _, err := root.Find(p)
		if err != nil {
			t.Fatal(err)
		}
		if c.Runnable() && c.Example == "" && len(p) > 0 && p[0] != "help" && p[0] != "completion" {
			t.Errorf("%s %s has no examples", name, strings.Join(p, " "))
		}
	}
}
