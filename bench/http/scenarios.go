package main

// Scenarios measure one perfcore mechanism of the API against the plain way, in the same run
// on the same seeded database, with every load bounded in time and requests:
//
//	go run ./bench/http scenario login-flood parallel-count shed
//
//	login-flood     GET /api/articles p50/p99 alone and while a bounded flood of logins runs,
//	                with the CPU pool (default) and with hashing inline (CPU_POOL_WORKERS=off)
//	parallel-count  listing p50 at 1 client and req/s at 64 with DATABASE_PARALLEL_COUNT
//	                off, auto and on
//	shed            goodput and p99 of admitted requests under an open-loop load at about 3×
//	                the measured saturation, SHED_ENABLED true (default and 0.3 CPU threshold)
//	                and false
//
// Each figure is printed with the 1-minute load average read when its load ended: the
// machine may be shared, and a figure taken under other work says so.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// scVariant is one API process of a scenario.
type scVariant struct{ name, env string }

type scenario struct {
	name, about string
	variants    []scVariant
	run         func(ctx context.Context, sc *scRun, urls map[string]string) error
}

// scRun is one scenario session: flags, the seeded data, and the printed lines.
type scRun struct {
	rounds   int
	duration time.Duration
	sd       *seeded
	users    int
	out      io.Writer
	outErr   error // the first failed write to out
}

// printf writes a line of the report to out, keeping the first write error for the end.
func (sc *scRun) printf(format string, a ...any) {
	if _, err := fmt.Fprintf(sc.out, format, a...); err != nil && sc.outErr == nil {
		sc.outErr = fmt.Errorf("write the report: %w", err)
	}
}

var scenarios = []scenario{
	{name: "login-flood", about: "p99 of GET /api/articles?limit=20 while logins flood the API: CPU pool vs hashing inline",
		// Shedding off in all three, so that only the CPU pool differs (the shedder would
		// otherwise refuse part of the inline variant's flood).
		variants: []scVariant{{"default", "SHED_ENABLED=false"}, {"percpu", fmt.Sprintf("CPU_POOL_WORKERS=%d,SHED_ENABLED=false", runtime.NumCPU())},
			{"inline", "CPU_POOL_WORKERS=off,SHED_ENABLED=false"}}, run: loginFlood},
	{name: "parallel-count", about: "listing count and page in parallel (DATABASE_PARALLEL_COUNT) vs sequential",
		variants: []scVariant{{"off", "DATABASE_PARALLEL_COUNT=off"}, {"auto", "DATABASE_PARALLEL_COUNT=auto"}, {"on", "DATABASE_PARALLEL_COUNT=on"}},
		run:      parallelCount},
	{name: "shed", about: "open-loop load at about 3× saturation on the listing, SHED_ENABLED true vs false",
		variants: []scVariant{{"shed", "SHED_ENABLED=true"}, {"shed-cpu30", "SHED_ENABLED=true,SHED_CPU_THRESHOLD=0.3"}, {"noshed", "SHED_ENABLED=false"}},
		run:      shedding},
}

func runScenarios(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench/http scenario", flag.ContinueOnError)
	dialect := fs.String("dialect", dialectPG, "postgres or sqlite")
	pg := fs.String("pg", envOr("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/brisk_bench_scenarios?sslmode=disable"),
		"PostgreSQL URL; the database named in it is DROPPED and made again")
	rounds := fs.Int("rounds", 3, "interleaved rounds per scenario")
	duration := fs.Duration("duration", 3*time.Second, "length of one load")
	users := fs.Int("users", 20, "users to seed")
	articles := fs.Int("articles", 200, "articles to seed")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("flags: %w", err)
	}
	var chosen []scenario
	for _, name := range fs.Args() {
		i := slices.IndexFunc(scenarios, func(s scenario) bool { return s.name == name })
		if i < 0 {
			return fmt.Errorf("unknown scenario %q (want login-flood, parallel-count, shed)", name)
		}
		chosen = append(chosen, scenarios[i])
	}
	if len(chosen) == 0 {
		chosen = scenarios
	}
	if *rounds < 1 || *duration <= 0 || *duration > time.Minute || *users < 2 || *articles < 1 {
		return fmt.Errorf("--rounds ≥ 1, 0 < --duration ≤ 1m, --users ≥ 2, --articles ≥ 1")
	}
	root, err := gitRoot(ctx)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "brisk-bench-scenarios-*")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer removeTemp(tmp)
	api := binary{name: "api", path: filepath.Join(tmp, "api")}
	fmt.Println("building the API from the working tree")
	if _, err := build(ctx, root, api.path); err != nil {
		return err
	}
	secret := randomHex(32)
	o := options{pgURL: *pg, users: *users, articles: *articles}
	dbURL, stats, sd, err := prepare(ctx, o, *dialect, api, secret, tmp)
	if err != nil {
		return err
	}
	if stats != nil {
		defer func() {
			if err := stats.Close(context.Background()); err != nil {
				fmt.Fprintln(os.Stderr, "close the sessions counter:", err)
			}
		}()
	}
	sc := &scRun{rounds: *rounds, duration: *duration, sd: sd, users: *users, out: os.Stdout}
	fmt.Printf("\n%s, %s, %d rounds of %s loads, %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), *dialect, *rounds, *duration, scMachine())
	for _, s := range chosen {
		if err := runOneScenario(ctx, sc, s, api, dbURL, secret, tmp); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return sc.outErr
}

func runOneScenario(ctx context.Context, sc *scRun, s scenario, api binary, dbURL, secret, tmp string) error {
	fmt.Printf("\n### %s: %s\n\n", s.name, s.about)
	urls := map[string]string{}
	var procs []*process
	defer func() {
		for _, p := range procs {
			p.stop()
		}
	}()
	for _, v := range s.variants {
		env := []string{"DATABASE_URL=" + dbURL, "JWT_SECRET=" + secret, "DATABASE_AUTO_MIGRATE=false",
			"JOBS_IN_PROCESS=false", "LOG_LEVEL=warn"}
		if v.env != "" {
			env = append(env, strings.Split(v.env, ",")...)
		}
		p, err := start(ctx, s.name+"-"+v.name, api.path, []string{"serve"}, env, tmp)
		if err != nil {
			return err
		}
		procs = append(procs, p)
		urls[v.name] = p.url
		sc.printf("- %s: %s\n", v.name, cmpOr(v.env, "defaults"))
	}
	pids := make([]int, len(procs))
	for i, p := range procs {
		pids[i] = p.cmd.Process.Pid
	}
	waitIdle(ctx, pids, 30*time.Second)
	sc.printf("\n")
	return s.run(ctx, sc, urls)
}

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// scMachine names the CPU count, for the report.
func scMachine() string {
	return fmt.Sprintf("%d CPUs seen by Go, loadavg at start %s", runtime.NumCPU(), loadavg())
}

// loadavg is the 1-minute load average from /proc/loadavg ("?" where there is none).
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// closed runs a closed-loop load of conns clients on url for the scenario's duration.
func (sc *scRun) closed(ctx context.Context, url, token string, conns int) (result, error) {
	return goLoader{o: options{conns: conns, duration: sc.duration, maxRequests: 200_000}}.load(ctx, url, token)
}

const listPath = "/api/articles?limit=20"

// loginFlood: per round and variant, the listing alone (4 clients), then the listing while 16
// clients log in (correct passwords: every login hashes; bounded by the duration and 5000
// logins). default: the CPU pool as configured by default (one worker per CPU but one);
// percpu: one worker per CPU; inline: no pool.
func loginFlood(ctx context.Context, sc *scRun, urls map[string]string) error {
	sc.printf("%s\n", "| round | variant | listing alone p50 / p99 | listing during flood p50 / p99 | listing req/s during flood | logins/s ok | logins 503 | load avg |")
	sc.printf("%s\n", "|---|---|---:|---:|---:|---:|---:|---:|")
	for round := range sc.rounds {
		for _, name := range []string{"default", "percpu", "inline"} {
			base := urls[name]
			alone, err := sc.closed(ctx, base+listPath, sc.sd.token, 4)
			if err != nil {
				return err
			}
			fctx, stop := context.WithCancel(ctx)
			var flood floodResult
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); flood = sc.flood(fctx, base, 16, 5000) }()
			during, err := sc.closed(ctx, base+listPath, sc.sd.token, 4)
			stop()
			wg.Wait()
			if err != nil {
				return err
			}
			sc.printf("| %d | %s | %s / %s | %s / %s | %.0f | %.1f | %d | %s |\n", round+1, name,
				describe(alone.p50), describe(alone.p99), describe(during.p50), describe(during.p99), during.rps,
				float64(flood.ok)/flood.elapsed.Seconds(), flood.unavailable, loadavg())
		}
	}
	return nil
}

type floodResult struct {
	ok, unavailable, other int64
	elapsed                time.Duration
}

// flood logs the seeded users in from clients goroutines until ctx ends or maxLogins logins were sent.
func (sc *scRun) flood(ctx context.Context, base string, clients int, maxLogins int64) floodResult {
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var sent, ok, unavailable, other atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; ctx.Err() == nil && sent.Add(1) <= maxLogins; i += clients {
				name := fmt.Sprintf("bench_user_%03d", i%sc.users)
				body := fmt.Sprintf(`{"user":{"email":"%s@bench.example","password":"bench-password-%s"}}`, name, name)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/users/login", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := hc.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					ok.Add(1)
				case http.StatusServiceUnavailable:
					unavailable.Add(1)
				default:
					other.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return floodResult{ok: ok.Load(), unavailable: unavailable.Load(), other: other.Load(), elapsed: time.Since(t0)}
}

// parallelCount: per round and variant, the signed-in listing at 1 client (p50) and at 64
// (req/s).
func parallelCount(ctx context.Context, sc *scRun, urls map[string]string) error {
	sc.printf("%s\n", "| round | DATABASE_PARALLEL_COUNT | 1 client p50 | load avg | 64 clients req/s | 64 clients p99 | load avg |")
	sc.printf("%s\n", "|---|---|---:|---:|---:|---:|---:|")
	for round := range sc.rounds {
		for _, name := range []string{"off", "auto", "on"} {
			one, err := sc.closed(ctx, urls[name]+listPath, sc.sd.token, 1)
			if err != nil {
				return err
			}
			la1 := loadavg()
			many, err := sc.closed(ctx, urls[name]+listPath, sc.sd.token, 64)
			if err != nil {
				return err
			}
			sc.printf("| %d | %s | %s | %s | %.0f | %s | %s |\n", round+1, name, describe(one.p50), la1, many.rps, describe(many.p99), loadavg())
		}
	}
	return nil
}

// shedding: per round, the unshedded maximum (closed loop, 64 clients, SHED_ENABLED=false) and
// the unloaded p99 (1 client); then, for each variant, an open-loop load at 3× that maximum.
// shed-cpu30 lowers SHED_CPU_THRESHOLD to 0.3: on a machine shared with the load generator and
// the database the API's own CPU share may never reach the default 0.8, and then the default
// shedder never judges the process saturated.
// Goodput is 2xx answers per second that came back within the deadline; admitted p99 is over
// the 2xx answers.
func shedding(ctx context.Context, sc *scRun, urls map[string]string) error {
	sc.printf("%s\n", "| round | unshedded max req/s | unloaded p99 | offered req/s | variant | goodput req/s (% of max) | admitted p99 (× unloaded) | 503 | late or failed | load avg |")
	sc.printf("%s\n", "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|")
	for round := range sc.rounds {
		// Signed in: the listing is not served from the cache, so the API (not the load
		// generator) is what saturates.
		peak, err := sc.closed(ctx, urls["noshed"]+listPath, sc.sd.token, 64)
		if err != nil {
			return err
		}
		idle, err := sc.closed(ctx, urls["noshed"]+listPath, sc.sd.token, 1)
		if err != nil {
			return err
		}
		rate := 3 * peak.rps
		for _, name := range []string{"shed", "shed-cpu30", "noshed"} {
			r := sc.open(ctx, urls[name]+listPath, sc.sd.token, rate, 2*time.Second)
			sc.printf("| %d | %.0f | %s | %.0f | %s | %.0f (%.0f%%) | %s (%.1f×) | %d | %d | %s |\n", round+1, peak.rps,
				describe(idle.p99), rate, name, r.goodput, 100*r.goodput/peak.rps, describe(r.p99), float64(r.p99)/float64(idle.p99),
				r.shed, r.failed, loadavg())
		}
	}
	return nil
}

type openResult struct {
	goodput      float64
	p99          time.Duration
	shed, failed int64
}

// openInFlightCap bounds the open-loop generator's goroutines: arrivals beyond it are counted
// as failed rather than piling up in the load generator.
const openInFlightCap = 2048

// open sends GETs at rate per second for the scenario's duration, each with deadline,
// whatever the answers (an open loop: arrivals do not wait for answers).
func (sc *scRun) open(ctx context.Context, url, token string, rate float64, deadline time.Duration) openResult {
	tr := &http.Transport{MaxIdleConnsPerHost: openInFlightCap} // reused, not redialled
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: deadline}
	var (
		mu           sync.Mutex
		lat          []time.Duration
		shed, failed atomic.Int64
		inflight     atomic.Int64
		wg           sync.WaitGroup
	)
	interval := time.Duration(float64(time.Second) / max(rate, 1))
	total := int(rate * sc.duration.Seconds())
	t0 := time.Now()
	for i := range total {
		if ctx.Err() != nil {
			break
		}
		if d := time.Until(t0.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		if inflight.Load() >= openInFlightCap {
			failed.Add(1)
			continue
		}
		inflight.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer inflight.Add(-1)
			s := time.Now()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			req.Header.Set("Authorization", "Token "+token)
			resp, err := hc.Do(req)
			if err != nil {
				failed.Add(1)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			d := time.Since(s)
			switch {
			case resp.StatusCode == http.StatusServiceUnavailable:
				shed.Add(1)
			case resp.StatusCode/100 == 2 && d <= deadline:
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			default:
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	r := openResult{shed: shed.Load(), failed: failed.Load()}
	if len(lat) > 0 {
		slices.Sort(lat)
		r.goodput = float64(len(lat)) / sc.duration.Seconds() // answers to the arrivals of the window
		r.p99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return r
}
