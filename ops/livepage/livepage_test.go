package livepage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/brisk-go/brisk/libs/observe"
)

// expect says what each of Brisk's plots must show under the load. Every plot the page
// defines must be listed: a new plot without an expectation fails the test.
type expect int

const (
	// moves: exported, with points, and at least one point above zero under the load.
	moves expect = iota
	// present: exported and with points; zero is a right answer under this load (no 5xx, the
	// optimizer may stay conservative, the job backlog may be empty at each reading).
	present
	// notExportedYet: the page must report the plot's metric as not exported by this process.
	// Flip it to moves once the app exports the metric (the test then says so).
	notExportedYet
)

var expectations = map[string]expect{
	"brisk_requests":         moves,
	"brisk_latency":          moves,
	"brisk_errors":           present,
	"brisk_shed":             present, // the bounded load does not saturate the CPU: 0 shed, but exported
	"brisk_pool":             moves,
	"brisk_pool_tasks":       moves, // async listeners (cache warming) and, with DATABASE_PARALLEL_COUNT=on, listing counts
	"brisk_optimizer_level":  present,
	"brisk_optimizer_inputs": moves,
	"brisk_cache":            moves,
	"brisk_jobs":             present,
	"brisk_jobs_rate":        moves,
	"brisk_events":           moves,
}

func (e expect) String() string {
	return [...]string{"moves", "present", "not exported yet"}[e]
}

// plotState is what the page holds for one plot: the points its socket delivered and their
// largest value (kept by brisk.js as window.briskLive.received) and the not-exported note
// brisk.js keeps on the plot's element.
type plotState struct {
	Exists  bool    `json:"exists"`
	Points  int     `json:"points"`
	Max     float64 `json:"max"`
	Missing *string `json:"missing"` // nil until brisk.js has read brisk.json
}

const readPlot = `((name) => {
  const el = document.getElementById(name);
  const r = (window.briskLive && window.briskLive.received[name]) || {points: 0, max: 0};
  return {exists: !!el, points: r.points, max: r.max, missing: el ? el.getAttribute("data-brisk-missing") : null};
})`

// drawnPoints is how many points Plotly drew on the plot (the most of any of its lines). A
// plot draws only while it is in view, so it is scrolled there first.
const drawnPoints = `(async (name) => {
  const el = document.getElementById(name);
  if (!el) return 0;
  el.scrollIntoView({block: "center"});
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  let n = 0;
  for (const tr of (el.data || [])) n = Math.max(n, Array.from(tr.y || []).length);
  return n;
})`

// screenshotPoints is how many points the first plot has before the kept screenshot: about
// half of the page's one-minute view.
const screenshotPoints = 30

func (s plotState) satisfies(e expect) bool {
	if !s.Exists || s.Points < 2 || s.Missing == nil {
		return false
	}
	switch e {
	case moves:
		return *s.Missing == "" && s.Max > 0
	case present:
		return *s.Missing == ""
	default:
		return *s.Missing != ""
	}
}

func (s plotState) String() string {
	m := "<not read yet>"
	if s.Missing != nil {
		m = fmt.Sprintf("%q", *s.Missing)
	}
	return fmt.Sprintf("element=%v points=%d max=%g not-exported=%s", s.Exists, s.Points, s.Max, m)
}

// TestLivePageShowsEveryPlotUnderLoad runs the API on SQLite, drives ops/load at it and opens
// the admin listener's live page in headless Chromium. It fails naming each plot that stayed
// empty. Without a browser it skips, unless BRISK_REQUIRE_BROWSER is set (CI sets it).
func TestLivePageShowsEveryPlotUnderLoad(t *testing.T) {
	browser := findBrowser()
	if browser == "" {
		if os.Getenv("BRISK_REQUIRE_BROWSER") != "" {
			t.Fatal("BRISK_REQUIRE_BROWSER is set but no chromium on PATH (apt-get install chromium)")
		}
		t.Skip("no chromium on PATH (apt-get install chromium); .ci/run installs it")
	}
	if testing.Short() {
		t.Skip("builds the API and runs a browser")
	}
	for _, p := range observe.DefaultLivePlots() {
		if _, ok := expectations[p.Name]; !ok {
			t.Fatalf("plot %s has no expectation in this test: add it", p.Name)
		}
	}
	if len(expectations) != len(observe.DefaultLivePlots()) {
		t.Fatalf("the test expects %d plots, the page defines %d", len(expectations), len(observe.DefaultLivePlots()))
	}

	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, pkg := range []string{"./apps/api", "./ops/load"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, filepath.Base(pkg)), pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, out)
		}
	}

	httpAddr, adminAddr := freeAddr(t), freeAddr(t)
	start(t, "api", dir, []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"DATABASE_URL=sqlite://" + filepath.Join(dir, "brisk.db"), "DATABASE_AUTO_MIGRATE=true",
		"HTTP_ADDR=" + httpAddr, "ADMIN_ADDR=" + adminAddr,
		"JWT_SECRET=" + strings.Repeat("k", 32), "LOG_LEVEL=warn",
		// The listing's count runs on the goroutine pool, so the pool's tasks move.
		"DATABASE_PARALLEL_COUNT=on",
		// Password hashing on a busy CI machine must not hit the default request deadline.
		"CONTEXT_DEFAULT_TIMEOUT=1m", "CONTEXT_MAX_TIMEOUT=2m",
	}, filepath.Join(dir, "api"), "serve")
	waitOK(t, "http://"+httpAddr+"/readyz")
	page := "http://" + adminAddr + observe.LivePagePath
	waitOK(t, page)

	// A bounded load for the whole test: ops/load stops at its duration or request cap, or
	// when the test ends (SIGTERM).
	start(t, "load", dir, []string{"PATH=" + os.Getenv("PATH")}, filepath.Join(dir, "load"),
		"-url", "http://"+httpAddr+"/api", "-admin", "http://"+adminAddr, "-duration", "3m", "-workers", "2", "-max-requests", "100000")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox, // CI runs as root
		chromedp.Flag("disable-gpu", true),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(filepath.Join(dir, "chromium")),
	)...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	var (
		jsMu     sync.Mutex
		jsErrors []string
	)
	if err := chromedp.Listen(bctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			jsMu.Lock()
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			jsErrors = append(jsErrors, fmt.Sprintf("%s (%s:%d)", msg, d.URL, d.LineNumber))
			jsMu.Unlock()
		}
	}); err != nil {
		t.Fatalf("start chromium (%s): %v", browser, err)
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.ID("plots"))); err != nil {
		t.Fatalf("open %s: %v", page, err)
	}

	states := map[string]plotState{}
	pending := func() []string {
		var out []string
		for _, p := range observe.DefaultLivePlots() {
			if !states[p.Name].satisfies(expectations[p.Name]) {
				out = append(out, p.Name)
			}
		}
		return out
	}
	deadline := time.Now().Add(2 * time.Minute)
	for left := pending(); len(left) > 0; left = pending() {
		if time.Now().After(deadline) {
			jsMu.Lock()
			defer jsMu.Unlock()
			for _, name := range left {
				t.Errorf("plot %s (want %s) stayed empty or wrong: %s", name, expectations[name], states[name])
			}
			t.Fatalf("page %s: %d of %d plots never got their data; page errors: %v", page, len(left), len(expectations), jsErrors)
		}
		for _, name := range left {
			st, err := chromedp.Run(bctx, chromedp.Evaluate[plotState](readPlot+"("+quote(name)+")"))
			if err != nil {
				t.Fatalf("read plot %s: %v", name, err)
			}
			states[name] = st
			if e := expectations[name]; e == notExportedYet && st.Missing != nil && *st.Missing == "" && st.Points >= 2 {
				t.Fatalf("plot %s is exported now: flip it from %q to moves in this test's expectations", name, e)
			}
		}
		if len(pending()) > 0 {
			time.Sleep(500 * time.Millisecond) // the page gets one point a second
		}
	}
	for _, p := range observe.DefaultLivePlots() {
		t.Logf("%-24s %-16s %s", p.Name, expectations[p.Name], states[p.Name])
	}
	jsMu.Lock()
	if len(jsErrors) > 0 {
		t.Errorf("the page threw: %v", jsErrors)
	}
	jsMu.Unlock()

	// A picture of our plots under load. BRISK_LIVEPAGE_SCREENSHOT=path keeps a copy (that is
	// how docs/img/livepage.png is made); it first waits until the load has drawn a longer
	// stretch of the first plot.
	keep := os.Getenv("BRISK_LIVEPAGE_SCREENSHOT")
	deadline = time.Now().Add(2 * time.Minute)
	if keep != "" {
		first := observe.DefaultLivePlots()[0].Name
		for {
			st, err := chromedp.Run(bctx, chromedp.Evaluate[plotState](readPlot+"("+quote(first)+")"))
			if err != nil {
				t.Fatalf("read plot %s: %v", first, err)
			}
			if st.Points >= screenshotPoints {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("plot %s has %d points, want %d for the screenshot", first, st.Points, screenshotPoints)
			}
			time.Sleep(time.Second) // one point a second
		}
	}
	// Only our plots, below the page's banner: statsviz's runtime plots are hidden for the
	// picture (they are the same on every Go program).
	if err := chromedp.Do(bctx,
		chromedp.Evaluate[chromedp.Void](`document.querySelectorAll(".plot-card").forEach(el => { if (!el.id.startsWith("brisk_")) el.style.display = "none"; })`),
		chromedp.EmulateViewport(1280, 2950), // the banner and six rows of two plots
	); err != nil {
		t.Fatalf("arrange the page for the screenshot: %v", err)
	}
	// Every plot must also be drawn: Plotly holds the points on the plot's element.
	drawn := map[string]int{}
	for _, p := range observe.DefaultLivePlots() {
		for {
			n, err := chromedp.Run(bctx, chromedp.Evaluate[int](drawnPoints+"("+quote(p.Name)+")", chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatalf("read the drawing of %s: %v", p.Name, err)
			}
			if drawn[p.Name] = n; n >= 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("plot %s received its points but drew %d of them", p.Name, n)
			}
			time.Sleep(500 * time.Millisecond) // the page draws on each point, once a second
		}
	}
	if err := chromedp.Do(bctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("brisk-live-status").scrollIntoView({block: "start"})`)); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shot := filepath.Join(t.TempDir(), "livepage.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))
	if keep != "" {
		if err := os.WriteFile(keep, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWorkerServesTheLivePage runs the worker (it builds its telemetry with observe.New as
// the API does) and reads the page and its status from the worker's admin listener.
func TestWorkerServesTheLivePage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the worker")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "worker"), "./apps/worker")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build worker: %v\n%s", err, out)
	}
	adminAddr := freeAddr(t)
	start(t, "worker", dir, []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"DATABASE_URL=sqlite://" + filepath.Join(dir, "brisk.db"), "DATABASE_AUTO_MIGRATE=true",
		"ADMIN_ADDR=" + adminAddr, "LOG_LEVEL=warn",
	}, filepath.Join(dir, "worker"), "run")
	base := "http://" + adminAddr + observe.LivePagePath
	waitOK(t, base)
	resp, err := http.Get(base)
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !strings.Contains(string(page), `<script src="brisk.js"></script>`) {
		t.Fatalf("the worker's %s is not the live page (%v):\n%.300s", base, err, page)
	}
	resp, err = http.Get(base + "brisk.json")
	if err != nil {
		t.Fatal(err)
	}
	var st observe.LiveStatus
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the worker's brisk.json: %d %v", resp.StatusCode, err)
	}
	if len(st.Plots) != len(observe.DefaultLivePlots()) {
		t.Fatalf("the worker's page lists %d plots, want %d", len(st.Plots), len(observe.DefaultLivePlots()))
	}
	for _, p := range st.Plots {
		t.Logf("worker %-24s not exported: %v", p.Name, p.Missing)
	}
}

func quote(s string) string {
	return "\"" + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + "\""
}

// findBrowser is the first Chromium-like binary on PATH.
func findBrowser() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitOK polls url until it answers 200.
func waitOK(t *testing.T, url string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not 200 within 60s: %v", url, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// start runs a process for the rest of the test and stops it with SIGTERM at the end; its
// output is shown when the test fails.
func start(t *testing.T, name, dir string, env []string, path string, args ...string) {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Env = env
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("--- %s output (last 3000 bytes):\n%s", name, out.tail(3000))
		}
	})
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.b.String()
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
