// Command rename turns a fork of Brisk into a service of its own: it rewrites the Go module
// path everywhere (go.work, every go.mod, imports, the Dockerfile, compose, CI, docs) and the
// service's name (compose project, images, telemetry service names brisk-api/brisk-worker).
//
//	go run ./tools/rename example.com/acme/shop     (or: task rename -- example.com/acme/shop)
//
// The current path is read from apps/api/go.mod, so renaming twice works. Only files git
// tracks are touched (every text file under the root when it is not a git checkout).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "rename:", err)
		os.Exit(2)
	}
}

var modulePath = regexp.MustCompile(`^[a-z0-9.-]+(/[A-Za-z0-9._~-]+)+$`)

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fset := flag.NewFlagSet("rename", flag.ContinueOnError)
	fset.SetOutput(stdout)
	dir := fset.String("dir", ".", "the repository root")
	dry := fset.Bool("dry-run", false, "list the files that would change, change nothing")
	fset.Usage = func() {
		// flag's Usage returns nothing, and PrintDefaults below drops its write errors too.
		_, _ = fmt.Fprintln(stdout, "usage: rename [-dir ROOT] [-dry-run] NEW_MODULE_PATH\n\nexample: rename example.com/acme/shop")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		return err
	}
	if fset.NArg() != 1 || !modulePath.MatchString(fset.Arg(0)) {
		fset.Usage()
		return errors.New("want one module path such as example.com/acme/shop")
	}
	r, err := newRenamer(*dir, fset.Arg(0))
	if err != nil {
		return err
	}
	files, err := listFiles(ctx, *dir)
	if err != nil {
		return err
	}
	changed := 0
	for _, f := range files {
		ok, err := r.file(filepath.Join(*dir, f), *dry)
		if err != nil {
			return err
		}
		if ok {
			changed++
			if *dry {
				if _, err := fmt.Fprintln(stdout, "would change", f); err != nil {
					return err
				}
			}
		}
	}
	if _, err := fmt.Fprintf(stdout, "%s → %s, %s → %s: %d files changed\n", r.oldPath, r.newPath, r.oldName, r.newName, changed); err != nil {
		return err
	}
	if !*dry {
		_, err = fmt.Fprintln(stdout, "next: go build work && go test work; then read docs/template.md")
	}
	return err
}

// renamer holds the replacements, longest first.
type renamer struct {
	oldPath, newPath, oldName, newName string
	pairs                              []string
}

func newRenamer(dir, newPath string) (*renamer, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "apps", "api", "go.mod"))
	if err != nil {
		return nil, fmt.Errorf("read the current module path: %w", err)
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	mod, ok := strings.CutPrefix(strings.TrimSpace(first), "module ")
	oldPath, ok2 := strings.CutSuffix(mod, "/apps/api")
	if !ok || !ok2 {
		return nil, fmt.Errorf("apps/api/go.mod: want `module PATH/apps/api`, got %q", first)
	}
	r := &renamer{oldPath: oldPath, newPath: strings.TrimSuffix(newPath, "/"), oldName: serviceName(oldPath), newName: serviceName(newPath)}
	if r.oldPath == r.newPath {
		return nil, fmt.Errorf("the module path is %s already", r.oldPath)
	}
	r.pairs = []string{r.oldPath, r.newPath}
	if r.oldName != r.newName {
		r.pairs = append(r.pairs,
			r.oldName+"-api", r.newName+"-api",
			r.oldName+"-worker", r.newName+"-worker",
		)
	}
	return r, nil
}

var projectName = regexp.MustCompile(`(?m)^name: \S+$`)

// serviceName is the last element of a module path, lower-case, usable in image and compose
// names: example.com/acme/Shop_App → shop-app.
func serviceName(path string) string {
	name := strings.ToLower(path[strings.LastIndex(path, "/")+1:])
	name = regexp.MustCompile(`[^a-z0-9-]+`).ReplaceAllString(name, "-")
	return strings.Trim(name, "-")
}

// file rewrites one file; it reports whether anything changed. Binary files are left alone.
func (r *renamer) file(path string, dry bool) (bool, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil // tracked but deleted in the working tree
		}
		return false, err
	}
	if bytes.IndexByte(raw, 0) >= 0 {
		return false, nil
	}
	out := strings.NewReplacer(r.pairs...).Replace(string(raw))
	if filepath.Base(path) == "compose.yaml" {
		out = projectName.ReplaceAllString(out, "name: "+r.newName)
	}
	if out == string(raw) {
		return false, nil
	}
	if dry {
		return true, nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	return true, os.WriteFile(path, []byte(out), st.Mode().Perm())
}

// listFiles lists the files git tracks under dir, or every file when dir is no git checkout.
func listFiles(ctx context.Context, dir string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "git", "ls-files", "-z")
	cmd.Dir = dir
	if out, err := cmd.Output(); err == nil {
		var files []string
		for _, f := range strings.Split(string(out), "\x00") {
			if f != "" {
				files = append(files, f)
			}
		}
		return files, nil
	}
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "var" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			files = append(files, rel)
		}
		return nil
	})
	return files, err
}
