package grafana_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/data/datatest"
	"github.com/brisk-go/brisk/ops/grafana"
)

// The dashboards are real: build and start the API and the worker, drive bounded traffic
// through the API, let a real Prometheus scrape both admin listeners every second, then run
// every panel's query through Prometheus' HTTP API. A query that does not parse, or that
// returns no series, fails the test with the panel's title.
//
// Needs the prometheus binary (Debian's package; .ci/run installs it). Without it the test
// skips, unless BRISK_REQUIRE_PROMETHEUS is set (CI sets it, so it cannot pass by skipping).
func TestDashboardsQueriesReturnSeries(t *testing.T) {
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("BRISK_REQUIRE_PROMETHEUS") != "" {
			t.Fatal("BRISK_REQUIRE_PROMETHEUS is set but no prometheus binary is on PATH (apt-get install prometheus)")
		}
		t.Skip("no prometheus binary on PATH (apt-get install prometheus); .ci/run installs it")
	}
	if testing.Short() {
		t.Skip("builds both apps and runs Prometheus")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	for _, app := range []string{"api", "worker"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, app), "./apps/"+app)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", app, err, out)
		}
	}

	// SQLite in the temporary directory. BRISK_DASHBOARDS_ON_TEST_DATABASE=1 moves the apps to a
	// fresh schema on TEST_DATABASE_URL's server instead. (Its notify-followers series once
	// came late on PostgreSQL: driveTraffic removed the article and its follower before the
	// worker got to the job; it no longer does.)
	dbURL := "sqlite://" + filepath.Join(dir, "brisk.db")
	if os.Getenv("BRISK_DASHBOARDS_ON_TEST_DATABASE") != "" {
		dbURL = datatest.URL(t)
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"DATABASE_URL=" + dbURL,
		"HTTP_ADDR=127.0.0.1:0", "ADMIN_ADDR=127.0.0.1:0",
		"LOG_FORMAT=json", "LOG_LEVEL=info", "JWT_SECRET=" + strings.Repeat("k", 32),
		// Password hashing on a busy CI machine must not hit the 5s default request deadline.
		"CONTEXT_DEFAULT_TIMEOUT=1m", "CONTEXT_MAX_TIMEOUT=2m",
	}
	// The API only enqueues (JOBS_IN_PROCESS=false, as in the compose stack), so the worker's
	// own River and pipeline metrics are the ones the worker and perfcore boards show.
	// DATABASE_PARALLEL_COUNT gives the API's goroutine pool work (each listing's count), so the
	// pool panels have series.
	// With Redis (TEST_REDIS_URL; CI sets it and BRISK_REQUIRE_REDIS) the API runs as it does
	// scaled out: two instances, each with its in-process level in front of Redis, invalidations
	// broadcast over Redis pub/sub. The traffic goes to the first; the second applies its
	// invalidations, so the broadcast panels (lag, resets) have series. Without Redis those
	// panels are excused: one instance has no cross-process broadcast to show.
	redisURL := os.Getenv("TEST_REDIS_URL")
	if redisURL == "" && os.Getenv("BRISK_REQUIRE_REDIS") != "" {
		t.Fatal("BRISK_REQUIRE_REDIS is set but TEST_REDIS_URL is not")
	}
	if redisURL != "" {
		env = append(env, "REDIS_URL="+redisURL)
	}
	apiEnv := append(slices.Clone(env), "JOBS_IN_PROCESS=false", "DATABASE_PARALLEL_COUNT=on")
	api := startApp(t, filepath.Join(bin, "api"), dir, append(apiEnv, "DATABASE_AUTO_MIGRATE=true"), "serve")
	apiTargets := []string{api.admin}
	if redisURL != "" {
		second := startApp(t, filepath.Join(bin, "api"), dir, append(apiEnv, "DATABASE_AUTO_MIGRATE=false"), "serve")
		apiTargets = append(apiTargets, second.admin)
	}
	worker := startApp(t, filepath.Join(bin, "worker"), dir, append(env, "DATABASE_AUTO_MIGRATE=false"), "run")

	promAddr := freeAddr(t)
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: %s
    static_configs: [{targets: [%s]}]
  - job_name: %s
    static_configs: [{targets: [%q]}]
`, grafana.APIJob, quoteList(apiTargets), grafana.WorkerJob, worker.admin)
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	start(t, "prometheus", dir, []string{"PATH=" + os.Getenv("PATH")}, nil, promBin,
		"--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr)
	prom := promClient{base: "http://" + promAddr, t: t}
	waitUntil(t, "Prometheus ready", func() bool {
		resp, err := http.Get(prom.base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	for _, job := range []string{grafana.APIJob, grafana.WorkerJob} {
		waitUntil(t, job+" scraped", func() bool {
			r, _ := prom.query(fmt.Sprintf(`up{job=%q} == 1`, job))
			return len(r) > 0
		})
	}

	// Two bounded rounds of traffic with scrapes between them, so rate() has samples that rise.
	for round := range 2 {
		driveTraffic(t, "http://"+api.http+"/api", round)
		waitScrapes(t, prom, 3)
	}

	// The worker has run the fan-out of every published article through its pipeline: the
	// zero-filled failure panels cannot pass on the API's series alone.
	workerDone := func() bool {
		a, _ := prom.query(fmt.Sprintf(`river_work_count_total{job=%q,kind="notify_followers",status="ok"}`, grafana.WorkerJob))
		b, _ := prom.query(fmt.Sprintf(`perfcore_pipeline_items_out_total{job=%q,pipeline="notify_followers",stage="write"} > 0`, grafana.WorkerJob))
		return len(a) > 0 && len(b) > 0
	}
	// Generous: on a loaded CI machine the worker shares 2 cores with other test packages.
	waitStart := time.Now()
	for deadline := time.Now().Add(4 * time.Minute); !workerDone(); time.Sleep(250 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("worker notified followers through the pipeline: not within 4m; jobs in the database:\n%s", jobStates(dbURL))
			t.FailNow()
		}
	}
	t.Logf("the worker's fan-out series appeared %s after the traffic", time.Since(waitStart).Round(time.Millisecond))
	waitScrapes(t, prom, 2)
	requireActivity(t, prom)

	files, _ := filepath.Glob(filepath.Join("dashboards", "*.json"))
	if len(files) == 0 {
		t.Fatal("no dashboards")
	}
	var queries int
	for _, f := range files {
		var d struct {
			Title  string
			Panels []struct {
				Type, Title string
				Targets     []struct{ Expr, RefID string }
			}
			Templating struct {
				List []struct {
					Name       string
					Definition string
				}
			}
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, v := range d.Templating.List {
			// label_values(METRIC, LABEL): both apps must appear.
			inner := strings.TrimSuffix(strings.TrimPrefix(v.Definition, "label_values("), ")")
			metric, label, ok := strings.Cut(inner, ",")
			if !ok {
				t.Errorf("%s: variable %s: unexpected definition %q", d.Title, v.Name, v.Definition)
				continue
			}
			values := prom.labelValues(strings.TrimSpace(label), strings.TrimSpace(metric))
			for _, job := range []string{grafana.APIJob, grafana.WorkerJob} {
				if !strings.Contains(strings.Join(values, ","), job) {
					t.Errorf("%s: variable %s lacks %s (values %v)", d.Title, v.Name, job, values)
				}
			}
		}
		for _, p := range d.Panels {
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", d.Title, p.Title)
			}
			if redisURL == "" && needsTwoInstances[p.Title] {
				t.Logf("%s: panel %q not checked: one instance without Redis has no broadcast", d.Title, p.Title)
				continue
			}
			for _, q := range p.Targets {
				queries++
				expr := strings.NewReplacer("$__rate_interval", "30s", "$job", ".+").Replace(q.Expr)
				res, err := prom.query(expr)
				switch {
				case err != nil:
					t.Errorf("%s: panel %q, query %s: %v\n  %s", d.Title, p.Title, q.RefID, err, expr)
				case len(res) == 0:
					t.Errorf("%s: panel %q, query %s returns no series\n  %s", d.Title, p.Title, q.RefID, expr)
				}
			}
		}
	}
	t.Logf("%d queries over %d dashboards returned series", queries, len(files))
}

// requireActivity fails unless the perfcore panels show work, not only a zero-filled base
// series: each expression keeps only series above zero over the whole run, and every app named
// must have one. The worker dispatches no domain events and sheds nothing (it serves no
// requests), so those are the API's alone.
func requireActivity(t *testing.T, prom promClient) {
	t.Helper()
	both, api := []string{grafana.APIJob, grafana.WorkerJob}, []string{grafana.APIJob}
	for _, c := range []struct {
		what, expr string
		jobs       []string
	}{
		{"pool tasks completed", `sum by (job) (increase(perfcore_pool_tasks_completed_total[10m])) > 0`, both},
		{"listener calls (events dispatched per listener)", `sum by (job) (increase(perfcore_events_listener_calls_total[10m])) > 0`, api},
		{"events dispatched", `sum by (job) (increase(perfcore_events_dispatched_total[10m])) > 0`, api},
		{"requests admitted by the shedder", `sum by (job) (increase(perfcore_shed_admitted_total[10m])) > 0`, api},
		{"response buffers taken", `sum by (job) (increase(perfcore_mempool_gets_total[10m])) > 0`, api},
		{"pipeline items (notify_followers)", `sum by (job) (increase(perfcore_pipeline_items_out_total{pipeline="notify_followers"}[10m])) > 0`, []string{grafana.WorkerJob}},
		// The level is a gauge and may rightly stay 0 (conservative) on an idle machine: what
		// must be non-zero is what it is decided from.
		{"optimizer load inputs", `max by (job) (max_over_time(perfcore_optimizer_load_ratio[10m])) > 0`, both},
	} {
		res, err := prom.query(c.expr)
		if err != nil {
			t.Errorf("%s: %v\n  %s", c.what, err, c.expr)
			continue
		}
		seen := map[string]bool{}
		for _, r := range res {
			seen[r.Metric["job"]] = true
		}
		for _, job := range c.jobs {
			if !seen[job] {
				t.Errorf("%s: no non-zero series for %s after the load\n  %s", c.what, job, c.expr)
			}
		}
	}
}

type app struct{ http, admin string }

// startApp runs one of the built binaries and reads its listen addresses from its log.
// needsTwoInstances are the panels that only have series with two API instances sharing a
// cross-process invalidation broadcast.
var needsTwoInstances = map[string]bool{
	"Invalidation broadcast lag":                   true,
	"In-process level dropped, invalidations lost": true,
}

// quoteList writes addrs as a YAML flow sequence's items.
func quoteList(addrs []string) string {
	q := make([]string, len(addrs))
	for i, a := range addrs {
		q[i] = strconv.Quote(a)
	}
	return strings.Join(q, ", ")
}

func startApp(t *testing.T, binPath, dir string, env []string, args ...string) app {
	t.Helper()
	name := filepath.Base(binPath)
	lines := make(chan map[string]any, 64)
	start(t, name, dir, env, lines, binPath, args...)
	var a app
	deadline := time.After(60 * time.Second)
	for a.admin == "" || (name == "api" && a.http == "") {
		select {
		case m, ok := <-lines:
			if !ok {
				t.Fatalf("%s exited before it was listening", name)
			}
			switch m["msg"] {
			case "admin listening":
				a.admin, _ = m["addr"].(string)
			case "listening":
				a.http, _ = m["addr"].(string)
			}
		case <-deadline:
			t.Fatalf("%s did not log its listen addresses within 60s", name)
		}
	}
	return a
}

// start runs a process for the rest of the test, stopping it with SIGTERM at the end. Its
// output is kept for the failure report; JSON lines are also sent to lines when not nil.
func start(t *testing.T, name, dir string, env []string, lines chan<- map[string]any, path string, args ...string) {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	var (
		mu  sync.Mutex
		log bytes.Buffer
	)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		if lines != nil {
			defer close(lines)
		}
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			mu.Lock()
			log.Write(sc.Bytes())
			log.WriteByte('\n')
			mu.Unlock()
			var m map[string]any
			if lines != nil && json.Unmarshal(sc.Bytes(), &m) == nil {
				select {
				case lines <- m:
				default: // nobody is reading any more
				}
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { <-copied; done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("--- %s output (last 3000 bytes):\n%s", name, tail(log.String(), 3000))
			mu.Unlock()
		}
	})
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
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

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 60s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitScrapes waits until Prometheus has scraped the API n more times.
func waitScrapes(t *testing.T, prom promClient, n int) {
	t.Helper()
	count := func() float64 {
		r, _ := prom.query(fmt.Sprintf(`count_over_time(up{job=%q}[10m])`, grafana.APIJob))
		if len(r) == 0 {
			return 0
		}
		return r[0].value()
	}
	base := count()
	waitUntil(t, "scrapes", func() bool { return count() >= base+float64(n) })
}

type promClient struct {
	base string
	t    *testing.T
}

type sample struct {
	Metric map[string]string
	Value  [2]any
}

func (s sample) value() float64 {
	var f float64
	if str, ok := s.Value[1].(string); ok {
		fmt.Sscan(str, &f)
	}
	return f
}

// query runs an instant query; the error carries Prometheus' own message (parse errors).
func (c promClient) query(expr string) ([]sample, error) {
	resp, err := http.Get(c.base + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status, ErrorType, Error string
		Data                     struct {
			ResultType string
			Result     json.RawMessage
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("decode answer (HTTP %d): %w", resp.StatusCode, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("%s: %s", body.ErrorType, body.Error)
	}
	switch body.Data.ResultType {
	case "vector":
		var v []sample
		err := json.Unmarshal(body.Data.Result, &v)
		return v, err
	case "scalar":
		return []sample{{}}, nil
	default:
		return nil, fmt.Errorf("unexpected result type %s", body.Data.ResultType)
	}
}

func (c promClient) labelValues(label, match string) []string {
	resp, err := http.Get(c.base + "/api/v1/label/" + url.PathEscape(label) + "/values?match[]=" + url.QueryEscape(match))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Data []string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return body.Data
}

// driveTraffic exercises the API's routes once per round: a bounded, fixed set of requests
// (successes, client errors, authenticated and anonymous), all to loopback.
func driveTraffic(t *testing.T, base string, round int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	do := func(method, path, token, body string) map[string]any {
		req, _ := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Token "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	var tokens []string
	for i := range 3 {
		name := fmt.Sprintf("user%d-%d", round, i)
		u := do("POST", "/users", "", fmt.Sprintf(`{"user":{"username":%q,"email":"%s@example.com","password":"password-%d"}}`, name, name, i))
		user, _ := u["user"].(map[string]any)
		token, _ := user["token"].(string)
		if token == "" {
			t.Fatalf("register %s: %v", name, u)
		}
		do("POST", "/users/login", "", fmt.Sprintf(`{"user":{"email":"%s@example.com","password":"password-%d"}}`, name, i))
		tokens = append(tokens, token)
	}
	// Each author has a follower before publishing, so the notify_followers job has someone
	// to notify and its pipeline moves items. The follower is not the user who follows and
	// unfollows the author below, and the round's last article is not deleted: the job runs
	// whenever the worker gets to it, and it finds nobody to tell once the article is gone or
	// its only follower has left. (Both happened within a dozen requests of publishing; on
	// PostgreSQL, where the worker took longer to fetch the job, every fan-out of a round could
	// find nothing, so the pipeline series appeared late or not at all.)
	for i := range tokens {
		do("POST", fmt.Sprintf("/profiles/user%d-%d/follow", round, i), tokens[(i+2)%len(tokens)], "")
	}
	for i, tok := range tokens {
		do("GET", "/user", tok, "")
		do("PUT", "/user", tok, `{"user":{"bio":"observability"}}`)
		a := do("POST", "/articles", tok, fmt.Sprintf(`{"article":{"title":"Round %d article %d","description":"d","body":"b","tagList":["metrics","r%d"]}}`, round, i, round))
		art, _ := a["article"].(map[string]any)
		slug, _ := art["slug"].(string)
		if slug == "" {
			t.Fatalf("create article: %v", a)
		}
		other := tokens[(i+1)%len(tokens)]
		// Anonymous reads are cached: the second is a hit (the cache row of the data board).
		do("GET", "/articles/"+slug, "", "")
		do("GET", "/articles/"+slug, "", "")
		do("PUT", "/articles/"+slug, tok, `{"article":{"body":"edited"}}`)
		do("POST", "/articles/"+slug+"/favorite", other, "")
		do("DELETE", "/articles/"+slug+"/favorite", other, "")
		c := do("POST", "/articles/"+slug+"/comments", other, `{"comment":{"body":"nice"}}`)
		do("GET", "/articles/"+slug+"/comments", "", "")
		if cm, ok := c["comment"].(map[string]any); ok {
			do("DELETE", fmt.Sprintf("/articles/%s/comments/%v", slug, cm["id"]), other, "")
		}
		author := fmt.Sprintf("user%d-%d", round, i)
		do("GET", "/profiles/"+author, other, "")
		do("POST", "/profiles/"+author+"/follow", other, "")
		do("GET", "/articles/feed", other, "")
		do("DELETE", "/profiles/"+author+"/follow", other, "")
		if i < len(tokens)-1 {
			do("DELETE", "/articles/"+slug, tok, "")
		}
	}
	// Each listing is one task on the API's pool, whose wait histogram samples 1 task in 64:
	// 300 per round leave it empty with a chance of (63/64)^600 < 1e-4 over the two rounds.
	for range 300 {
		do("GET", "/articles?limit=5", "", "")
	}
	do("GET", "/tags", "", "")
	do("GET", "/tags", "", "")
	// Client errors: invalid body (422), no token (401), unknown article (404).
	do("POST", "/users", "", `{"user":{}}`)
	do("GET", "/user", "", "")
	do("GET", "/articles/no-such-article", "", "")
}

// jobStates lists River's jobs by kind, state and attempt, for a failure message.
func jobStates(dbURL string) string {
	db, err := data.Open(context.Background(), data.Options{URL: dbURL, MaxOpenConns: 1})
	if err != nil {
		return "(cannot open the database: " + err.Error() + ")"
	}
	defer db.Close()
	var rows []struct {
		Kind    string `bun:"kind"`
		State   string `bun:"state"`
		Attempt int    `bun:"attempt"`
		N       int    `bun:"n"`
	}
	if err := db.NewRaw("SELECT kind, state, attempt, count(*) AS n FROM river_job GROUP BY kind, state, attempt ORDER BY kind, state").
		Scan(context.Background(), &rows); err != nil {
		return "(cannot read river_job: " + err.Error() + ")"
	}
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "  %s %s attempt=%d: %d\n", r.Kind, r.State, r.Attempt, r.N)
	}
	return b.String()
}
