package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// binary is one built API.
type binary struct {
	name string // api, base, api-nopgo
	path string
	size int64
}

// build compiles ./apps/api from dir into out with extra go build flags.
func build(ctx context.Context, dir, out string, flags ...string) (int64, error) {
	return buildApp(ctx, dir, out, "./apps/api", flags...)
}

// buildApp compiles the package app (./apps/api, ./apps/worker) from dir into out.
func buildApp(ctx context.Context, dir, out, app string, flags ...string) (int64, error) {
	args := append([]string{"build", "-trimpath", "-ldflags=-s -w"}, flags...)
	args = append(args, "-o", out, app)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go %s in %s: %w\n%s", strings.Join(args, " "), dir, err, b)
	}
	st, err := os.Stat(out)
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", out, err)
	}
	return st.Size(), nil
}

// buildBase builds the API at ref in a temporary git worktree, removed afterwards.
func buildBase(ctx context.Context, root, ref, out string) (int64, error) {
	return buildBaseApp(ctx, root, ref, out, "./apps/api")
}

// buildBaseApp builds the package app at ref in a temporary git worktree, removed afterwards.
func buildBaseApp(ctx context.Context, root, ref, out, app string) (int64, error) {
	dir, err := os.MkdirTemp("", "brisk-base-*")
	if err != nil {
		return 0, fmt.Errorf("base worktree: %w", err)
	}
	_ = os.Remove(dir) // git worktree add wants to create it
	add := exec.CommandContext(ctx, "git", "worktree", "add", "--detach", dir, ref)
	add.Dir = root
	if b, err := add.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("git worktree add %s: %w\n%s", ref, err, b)
	}
	defer func() {
		// Clean up even when ctx has ended (interrupted run).
		rm := exec.CommandContext(context.WithoutCancel(ctx), "git", "worktree", "remove", "--force", dir)
		rm.Dir = root
		_ = rm.Run()
	}()
	return buildApp(ctx, dir, out, app)
}

// process is a started server.
type process struct {
	name  string
	cmd   *exec.Cmd
	url   string // http://127.0.0.1:port
	admin string // admin listener, API only
	log   string
	done  chan error
}

func freeAddr(ctx context.Context) (string, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	return addr, nil
}

// start runs path with args and env (on top of a minimal environment), logging to logDir, and
// waits until GET /api/tags answers 200.
func start(ctx context.Context, name, path string, args, env []string, logDir string) (*process, error) {
	addr, err := freeAddr(ctx)
	if err != nil {
		return nil, err
	}
	admin, err := freeAddr(ctx)
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(logDir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("log for %s: %w", name, err)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	// When ctx ends, stop it as stop does (SIGTERM), not with exec's default SIGKILL.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"HTTP_ADDR=" + addr, "ADMIN_ADDR=" + admin, "LIMIT_ADDR=" + addr}, env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, url: "http://" + addr, admin: "http://" + admin, log: logPath, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); _ = logf.Close() }()
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case err := <-p.done:
			p.done <- err
			return nil, fmt.Errorf("%s exited before it was ready (%w); log %s:\n%s", name, err, logPath, tail(logPath))
		case <-ctx.Done():
			p.stop()
			return nil, fmt.Errorf("start %s: %w", name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/api/tags", nil)
		if err != nil {
			p.stop()
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s not ready after 90s; log %s:\n%s", name, logPath, tail(logPath))
		}
	}
}

// stop sends SIGTERM and waits up to 10 s, then kills.
func (p *process) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// memory is a process's resident memory split by kind, from /proc/PID/smaps_rollup, and the
// most it has held since it started (VmHWM, /proc/PID/status).
type memory struct {
	rss, anon, file int64 // bytes; file = rss - anon (mapped binary and libraries)
	peak            int64 // bytes
}

func readMemory(pid int) (memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return memory{}, fmt.Errorf("smaps_rollup: %w", err)
	}
	defer func() { _ = f.Close() }() // read-only
	var m memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 || fields[2] != "kB" {
			continue
		}
		n, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			continue
		}
		switch fields[0] {
		case "Rss:":
			m.rss = n << 10
		case "Anonymous:":
			m.anon = n << 10
		}
	}
	if err := sc.Err(); err != nil {
		return memory{}, fmt.Errorf("smaps_rollup: %w", err)
	}
	if m.rss == 0 {
		return memory{}, errors.New("smaps_rollup: no Rss line")
	}
	m.file = m.rss - m.anon
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, fmt.Errorf("status: %w", err)
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if n, err := strconv.ParseInt(f[0], 10, 64); err == nil && len(f) == 2 && f[1] == "kB" {
				m.peak = n << 10
			}
		}
	}
	if m.peak == 0 {
		return memory{}, errors.New("status: no VmHWM line")
	}
	return m, nil
}

// cpuTicks is the user+system CPU time of pid in clock ticks, from /proc/PID/stat.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("stat: %w", err)
	}
	// The command name may hold spaces; the fields after it are fixed.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("stat: no command name")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("stat: short line")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	k, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("stat: unparsable utime/stime")
	}
	return u + k, nil
}

// waitIdle waits until each process uses at most 5 % of one CPU over a second on average
// (the background jobs the seeding queued have run; an idle API still wakes up for its timers),
// at most limit. It reports whether they went idle.
func waitIdle(ctx context.Context, pids []int, limit time.Duration) bool {
	total := func() int64 {
		var n int64
		for _, p := range pids {
			t, err := cpuTicks(p)
			if err == nil {
				n += t
			}
		}
		return n
	}
	deadline := time.Now().Add(limit)
	prev := total()
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Second):
		}
		now := total()
		if now-prev <= int64(5*len(pids)) { // clock ticks are 10 ms: ≤ 50 ms of CPU a second each
			return true
		}
		prev = now
	}
	return false
}
