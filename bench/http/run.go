package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// sample is one load of one server in one round.
type sample struct {
	dialect, endpoint, target string
	round                     int
	res                       result
}

// session is everything one run measured, for the report.
type session struct {
	o        options
	started  time.Time
	loader   string
	binaries []binary
	samples  []sample
	memory   []memRow
	sessions []sessionRow
	notes    []string
}

// statsFlushWait is how long after a load PostgreSQL's session count is read: idle backends
// flush their statistics every 10 s.
const statsFlushWait = 12 * time.Second

type sessionRow struct {
	dialect, endpoint, target string
	opened                    int64
	res                       result
}

// memRow is one server's memory: idle, after a load of one connection (low), after the
// rounds at --connections (high), and the peak over its life.
type memRow struct {
	dialect, target   string
	idle, low, loaded memory
}

func run(ctx context.Context, args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	if o.importLines > 0 {
		return runImport(ctx, o, o.importLines)
	}
	if o.tables {
		return runTables(ctx, o)
	}
	root, err := gitRoot(ctx)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "brisk-bench-http-*")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	if o.keep {
		fmt.Println("temporary files in", tmp)
	} else {
		defer removeTemp(tmp)
	}
	ld, err := pickLoader(o)
	if err != nil {
		return err
	}
	s := &session{o: o, started: time.Now().UTC(), loader: ld.name()}

	fmt.Println("building the API from the working tree")
	bins := []binary{{name: "api", path: filepath.Join(tmp, "api")}}
	if bins[0].size, err = build(ctx, root, bins[0].path); err != nil {
		return err
	}
	if o.pgoCompare {
		b := binary{name: "api-nopgo", path: filepath.Join(tmp, "api-nopgo")}
		if b.size, err = build(ctx, root, b.path, "-pgo=off"); err != nil {
			return err
		}
		bins = append(bins, b)
	}
	if o.base != "" {
		fmt.Println("building the API at", o.base)
		b := binary{name: "base", path: filepath.Join(tmp, "base")}
		if b.size, err = buildBase(ctx, root, o.base, b.path); err != nil {
			return err
		}
		bins = append(bins, b)
	}
	s.binaries = bins
	secret := randomHex(32)

	if o.profile != "" {
		return recordProfile(ctx, o, ld, bins[0], secret, tmp)
	}
	for _, dialect := range o.dialects {
		if err := s.runDialect(ctx, dialect, ld, secret, tmp); err != nil {
			return fmt.Errorf("%s: %w", dialect, err)
		}
	}
	fmt.Print(s.markdown())
	if o.noDocs {
		return nil
	}
	if err := drawChart(s, filepath.Join(root, o.chart)); err != nil {
		return err
	}
	return writeSection(filepath.Join(root, o.docs), s.section(o.docs, o.chart))
}

func gitRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", fmt.Errorf("find the repository root (run inside the checkout): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// freshDatabase drops and creates the database named in pgURL (connecting to "postgres" on
// the same server) and returns a connection to the new one, kept for reading statistics.
func freshDatabase(ctx context.Context, pgURL string) (*pgx.Conn, error) {
	u, err := url.Parse(pgURL)
	if err != nil {
		return nil, fmt.Errorf("--pg: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" || name == "postgres" {
		return nil, fmt.Errorf("--pg must name a database of its own (it is dropped), got %q", name)
	}
	admin := *u
	admin.Path = "/postgres"
	c, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer func() { _ = c.Close(ctx) }() // the admin session only made the database: nothing to lose
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
		return nil, fmt.Errorf("drop %s: %w", name, err)
	}
	if _, err := c.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", name, err)
	}
	return conn, nil
}

func sessionsOpened(ctx context.Context, c *pgx.Conn) int64 {
	if c == nil {
		return -1
	}
	var n int64
	if err := c.QueryRow(ctx, `SELECT sessions FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
		return -1
	}
	return n
}

// prepare makes a fresh database for dialect, migrates and seeds it through a first API
// process (then stopped, so the measured processes start idle), and returns the URL.
func prepare(ctx context.Context, o options, dialect string, api binary, secret, tmp string) (string, *pgx.Conn, *seeded, error) {
	var dbURL string
	var stats *pgx.Conn
	if dialect == dialectPG {
		c, err := freshDatabase(ctx, o.pgURL)
		if err != nil {
			return "", nil, nil, err
		}
		dbURL, stats = o.pgURL, c
	} else {
		dbURL = "sqlite://" + filepath.Join(tmp, "sqlite", "brisk.db")
	}
	env := append([]string{"DATABASE_URL=" + dbURL, "JWT_SECRET=" + secret, "DATABASE_AUTO_MIGRATE=true"}, o.apiEnv...)
	p, err := start(ctx, "seeder-"+dialect, api.path, []string{"serve"}, env, tmp)
	if err != nil {
		return "", nil, nil, err
	}
	defer p.stop()
	fmt.Printf("%s: seeding %d users and %d articles through the API\n", dialect, o.users, o.articles)
	t0 := time.Now()
	sd, err := seed(ctx, p.url, o.users, o.articles)
	if err != nil {
		return "", nil, nil, err
	}
	fmt.Printf("%s: seeded in %s\n", dialect, time.Since(t0).Round(time.Millisecond))
	if o.bulk > 0 {
		if err := bulkImport(ctx, dbURL, secret, tmp, o.bulk, o.users); err != nil {
			return "", nil, nil, err
		}
	}
	if stats != nil {
		// Fresh planner statistics now, so autovacuum does not change the plans mid-run.
		if _, err := stats.Exec(ctx, "ANALYZE"); err != nil {
			return "", nil, nil, fmt.Errorf("analyze: %w", err)
		}
	}
	return dbURL, stats, sd, nil
}

func (s *session) runDialect(ctx context.Context, dialect string, ld loader, secret, tmp string) error {
	o := s.o
	dbURL, stats, sd, err := prepare(ctx, o, dialect, s.binaries[0], secret, tmp)
	if err != nil {
		return err
	}
	if stats != nil {
		defer func() { _ = stats.Close(context.WithoutCancel(ctx)) }() // a read-only session
	}
	type target struct {
		name string
		p    *process
		api  bool
	}
	var targets []target
	defer func() {
		for _, t := range targets {
			t.p.stop()
		}
	}()
	base := []string{"DATABASE_URL=" + dbURL, "JWT_SECRET=" + secret, "DATABASE_AUTO_MIGRATE=false"}
	startAPI := func(name string, b binary, extra []string) error {
		env := append(append(append([]string{}, base...), o.apiEnv...), extra...)
		p, err := start(ctx, dialect+"-"+name, b.path, []string{"serve"}, env, tmp)
		if err != nil {
			return err
		}
		targets = append(targets, target{name: name, p: p, api: true})
		return nil
	}
	for _, b := range s.binaries {
		if err := startAPI(b.name, b, nil); err != nil {
			return err
		}
	}
	for _, v := range o.variants {
		if err := startAPI(v.name, s.binaries[0], v.env); err != nil {
			return err
		}
	}
	if dialect == dialectPG {
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find own binary for the limit server: %w", err)
		}
		p, err := start(ctx, dialect+"-limit", self, []string{"limit-serve", "--db", dbURL}, []string{"JWT_SECRET=" + secret}, tmp)
		if err != nil {
			return err
		}
		targets = append(targets, target{name: "limit", p: p})
	}
	// Idle: started, answered one readiness probe, ran what the seeding queued (the API runs
	// jobs in-process by default), then left alone for a few seconds.
	pids := make([]int, len(targets))
	for i, t := range targets {
		pids[i] = t.p.cmd.Process.Pid
	}
	if !waitIdle(ctx, pids, time.Minute) {
		s.notes = append(s.notes, dialect+": the servers were still busy a minute after start; idle figures are not idle")
	}
	time.Sleep(2 * time.Second)
	idle := map[string]memory{}
	for _, t := range targets {
		m, err := readMemory(t.p.cmd.Process.Pid)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		idle[t.name] = m
	}
	// Every server must answer every endpoint with the API's shape before any figure counts.
	for _, name := range o.endpoints {
		e, _ := endpointByName(name)
		want, err := fetchShape(ctx, targets[0].p.url+e.path(sd), tokenFor(e, sd))
		if err != nil {
			return fmt.Errorf("%s on %s: %w", e.name, targets[0].name, err)
		}
		for _, t := range targets[1:] {
			got, err := fetchShape(ctx, t.p.url+e.path(sd), tokenFor(e, sd))
			if err != nil {
				return fmt.Errorf("%s on %s: %w", e.name, t.name, err)
			}
			if !equalShapes(got, want) {
				note := fmt.Sprintf("%s: %s answers %s with a different JSON shape than the API (%v vs %v)", dialect, t.name, e.label, got, want)
				if t.name == "limit" {
					return fmt.Errorf("%s", note)
				}
				s.notes = append(s.notes, note)
			}
		}
	}
	// Low load: one connection on the first endpoint, for each server in turn.
	lowOpts := o
	lowOpts.conns, lowOpts.threads, lowOpts.duration = 1, 1, min(o.duration, 3*time.Second)
	lowLoader, err := pickLoader(lowOpts)
	if err != nil {
		return err
	}
	low := map[string]memory{}
	first, _ := endpointByName(o.endpoints[0])
	for _, t := range targets {
		if _, err := loadRetrying(ctx, lowLoader, t.p.url+first.path(sd), tokenFor(first, sd)); err != nil {
			return fmt.Errorf("low load of %s on %s: %w", first.name, t.name, err)
		}
		m, err := readMemory(t.p.cmd.Process.Pid)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		low[t.name] = m
	}
	for r := 1; r <= o.rounds; r++ {
		for _, name := range o.endpoints {
			e, _ := endpointByName(name)
			for _, t := range targets {
				res, err := loadRetrying(ctx, ld, t.p.url+e.path(sd), tokenFor(e, sd))
				if err != nil {
					return fmt.Errorf("%s round %d on %s: %w", e.name, r, t.name, err)
				}
				fmt.Printf("%s round %d %-9s %-9s %9.0f req/s  p50 %-9s p99 %-9s failed %d\n",
					dialect, r, e.name, t.name, res.rps, describe(res.p50), describe(res.p99), res.bad)
				s.samples = append(s.samples, sample{dialect: dialect, endpoint: e.name, target: t.name, round: r, res: res})
			}
		}
	}
	if stats != nil && o.sessions {
		// PostgreSQL counts a session when the backend flushes its statistics: at once when it
		// ends, within about 10 s when it stays open and goes idle. So each server gets one
		// more load of the first endpoint that reaches the database (the cached article does
		// not), on its own, and the count is read after that wait.
		e, _ := endpointByName(o.endpoints[0])
		for _, name := range o.endpoints {
			if c, _ := endpointByName(name); c.signed {
				e = c
				break
			}
		}
		for _, t := range targets {
			before := sessionsOpened(ctx, stats)
			res, err := ld.load(ctx, t.p.url+e.path(sd), tokenFor(e, sd))
			if err != nil {
				return fmt.Errorf("%s sessions load on %s: %w", e.name, t.name, err)
			}
			time.Sleep(statsFlushWait)
			after := sessionsOpened(ctx, stats)
			if before < 0 || after < 0 {
				return fmt.Errorf("read pg_stat_database.sessions")
			}
			fmt.Printf("%s sessions %-9s %-9s %9.0f req/s, %d sessions opened\n", dialect, e.name, t.name, res.rps, after-before)
			s.sessions = append(s.sessions, sessionRow{dialect: dialect, endpoint: e.name, target: t.name, opened: after - before, res: res})
		}
	}
	for _, t := range targets {
		m, err := readMemory(t.p.cmd.Process.Pid)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		s.memory = append(s.memory, memRow{dialect: dialect, target: t.name, idle: idle[t.name], low: low[t.name], loaded: m})
	}
	return nil
}

// loadRetrying runs one load, and again (twice at most) when the load generator itself failed,
// for instance killed from outside on a shared machine: one lost load should not lose a run.
func loadRetrying(ctx context.Context, ld loader, url, token string) (result, error) {
	var err error
	for try := 0; try < 3; try++ {
		var res result
		if res, err = ld.load(ctx, url, token); err == nil || ctx.Err() != nil {
			return res, err
		}
		fmt.Println("load failed, retrying:", err)
	}
	return result{}, err
}

func tokenFor(e endpoint, sd *seeded) string {
	if e.signed {
		return sd.token
	}
	return ""
}

// fetchShape GETs url and returns its JSON shape: objects as sorted key → shape, arrays as the
// shape of their first element, scalars as their JSON type.
func fetchShape(ctx context.Context, url, token string) (any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("request: %w", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end below; a close error loses nothing
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d: %s", url, resp.StatusCode, b)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return shapeOf(v), nil
}

func equalShapes(a, b any) bool { return reflect.DeepEqual(a, b) }

func shapeOf(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out[k] = shapeOf(x[k])
		}
		return out
	case []any:
		if len(x) == 0 {
			return []any{}
		}
		return []any{shapeOf(x[0])}
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// recordProfile loads the working tree's API on PostgreSQL with every endpoint in turn while
// its admin listener records one CPU profile over the whole load, and writes it to o.profile.
func recordProfile(ctx context.Context, o options, ld loader, api binary, secret, tmp string) error {
	dbURL, stats, sd, err := prepare(ctx, o, dialectPG, api, secret, tmp)
	if err != nil {
		return err
	}
	if err := stats.Close(ctx); err != nil {
		return fmt.Errorf("close the statistics session: %w", err)
	}
	env := append([]string{"DATABASE_URL=" + dbURL, "JWT_SECRET=" + secret, "DATABASE_AUTO_MIGRATE=false"}, o.apiEnv...)
	p, err := start(ctx, "profiled-api", api.path, []string{"serve"}, env, tmp)
	if err != nil {
		return err
	}
	defer p.stop()
	total := time.Duration(o.rounds*len(o.endpoints)) * o.duration
	secs := int(total.Seconds()) + 1
	type got struct {
		b   []byte
		err error
	}
	done := make(chan got, 1)
	go func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", p.admin, secs), nil)
		if err != nil {
			done <- got{err: fmt.Errorf("profile: %w", err)}
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- got{err: fmt.Errorf("profile: %w", err)}
			return
		}
		defer func() { _ = resp.Body.Close() }() // read to the end below
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("profile: status %d: %s", resp.StatusCode, b)
		}
		done <- got{b: b, err: err}
	}()
	fmt.Printf("recording a %d s CPU profile of the API under load\n", secs)
	for r := 0; r < o.rounds; r++ {
		for _, name := range o.endpoints {
			e, _ := endpointByName(name)
			if _, err := ld.load(ctx, p.url+e.path(sd), tokenFor(e, sd)); err != nil {
				return err
			}
		}
	}
	g := <-done
	if g.err != nil {
		return g.err
	}
	if err := os.WriteFile(o.profile, g.b, 0o644); err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	fmt.Printf("wrote %s (%d bytes)\n", o.profile, len(g.b))
	return nil
}

// removeTemp removes a run's temporary directory, saying so when it cannot (a deferred
// clean-up has no error to return into).
func removeTemp(dir string) {
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, "remove temporary files:", err)
	}
}
