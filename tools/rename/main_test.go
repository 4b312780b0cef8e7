package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestServiceName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"example.com/acme/shop": "shop",
		"github.com/x/Shop_App": "shop-app",
		"github.com/x/Brisk":    "brisk",
	} {
		if got := serviceName(in); got != want {
			t.Errorf("serviceName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRefusesBadPaths(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{nil, {"shop"}, {"Example.com/x y"}, {"a/b", "c/d"}} {
		if err := run(context.Background(), append([]string{"-dir", "../.."}, args...), &strings.Builder{}); err == nil {
			t.Errorf("rename %v succeeded", args)
		}
	}
}

// The CI test of forking: copy the repository, rename it, and the copy builds, vets and passes
// a few packages' tests with no trace of the old path left in the files git tracks. Slow (it
// compiles the whole workspace under new import paths): skipped with -short.
func TestRenamedCopyBuildsAndPassesTests(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the whole workspace")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	ls := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	ls.Dir = root
	out, err := ls.Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	dst := t.TempDir()
	for _, f := range strings.Split(string(out), "\x00") {
		if f == "" {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(root, f))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var log strings.Builder
	if err := run(context.Background(), []string{"-dir", dst, "example.com/acme/shop"}, &log); err != nil {
		t.Fatalf("rename: %v\n%s", err, log.String())
	}
	oldPath := "github.com/brisk-go/" + "brisk"
	err = filepath.WalkDir(dst, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(raw), oldPath) {
			t.Errorf("%s still names %s", p, oldPath)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := os.ReadFile(filepath.Join(dst, "compose.yaml")); !strings.Contains(string(raw), "name: shop\n") || !strings.Contains(string(raw), "shop-api:local") {
		t.Error("compose.yaml: project or image not renamed")
	}
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOWORK=") && !strings.HasPrefix(kv, "GOFLAGS=") {
			env = append(env, kv)
		}
	}
	for _, args := range [][]string{
		{"build", "work"},
		{"vet", "./apps/api/...", "./libs/config/..."},
		{"test", "-count=1", "./libs/config/", "./migrations/", "./apps/api/internal/httpapi/"},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir, cmd.Env = dst, append(env, "GOFLAGS=-buildvcs=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s in the renamed copy: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
