// Command http is Brisk's HTTP benchmark harness. It builds the API from the working tree
// (and, with --base, from a git ref), starts it beside the limit server of bench/http/limit on
// the same freshly made database, seeds identical data through the API, and loads each server
// in interleaved rounds (API, limit, base, API, limit, base, ...) so that every figure can be
// read as a ratio taken in one session on one machine. It prints a table of req/s, p50, p99
// and the ratio to the limit server, writes it into docs/benchmarks.md between markers, and
// draws the chart shown at the top of that page.
//
//	go run ./bench/http                       # PostgreSQL and the embedded SQLite default
//	go run ./bench/http --base main           # the same, with main's API beside the working tree's
//	go run ./bench/http --profile apps/api/default.pgo   # record a PGO profile under load
//	go run ./bench/http --import 20000 --rounds 2       # bulk import beside COPY / multi-row INSERT
//	go run ./bench/http --tables                        # database, events, cache beside the plain way
//
// The load generator is wrk when it is on PATH, else a Go one; every load is bounded in time
// and (for the Go one) in requests.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "limit-serve" {
		// The harness runs its own binary again as the limit server, so that the server is
		// a process of its own (its CPU and memory apart from the load generator's).
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := serveLimit(ctx, os.Args[2:])
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "limit:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "scenario" {
		// go run ./bench/http scenario [login-flood] [parallel-count] [shed] (scenarios.go)
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := runScenarios(ctx, os.Args[2:])
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench/http scenario:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/http:", err)
		os.Exit(1)
	}
}

// options are the harness's flags.
type options struct {
	pgURL       string
	dialects    []string
	base        string
	rounds      int
	duration    time.Duration
	conns       int
	threads     int
	users       int
	articles    int
	bulk        int
	endpoints   []string
	docs        string
	chart       string
	noDocs      bool
	loader      string
	maxRequests int
	profile     string
	pgoCompare  bool
	variants    []variant
	apiEnv      []string
	keep        bool
	sessions    bool
	importLines int
	workerPGO   string
	tables      bool
	benchtime   string
}

// variant is one more API process from the working tree's binary with extra environment,
// for hand-picked settings (--variant 'conns20:DATABASE_MAX_OPEN_CONNS=20').
type variant struct {
	name string
	env  []string
}

type variantsFlag struct{ v *[]variant }

func (f variantsFlag) String() string { return "" }
func (f variantsFlag) Set(s string) error {
	name, envs, ok := strings.Cut(s, ":")
	if !ok || name == "" {
		return fmt.Errorf("want NAME:KEY=VALUE[,KEY=VALUE], got %q", s)
	}
	var env []string
	for _, kv := range strings.Split(envs, ",") {
		if !strings.Contains(kv, "=") {
			return fmt.Errorf("want KEY=VALUE in %q", s)
		}
		env = append(env, kv)
	}
	*f.v = append(*f.v, variant{name: name, env: env})
	return nil
}

type listFlag struct{ v *[]string }

func (f listFlag) String() string { return "" }
func (f listFlag) Set(s string) error {
	*f.v = append(*f.v, s)
	return nil
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench/http", flag.ContinueOnError)
	dialects := fs.String("dialects", "postgres,sqlite", "comma-separated: postgres, sqlite")
	endpoints := fs.String("endpoints", strings.Join(defaultEndpoints(), ","), "comma-separated endpoints to load ("+strings.Join(allEndpoints(), ", ")+")")
	fs.StringVar(&o.pgURL, "pg", envOr("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/brisk_bench_http?sslmode=disable"),
		"PostgreSQL URL; the database named in it is DROPPED and made again (env BENCH_DATABASE_URL)")
	fs.StringVar(&o.base, "base", "", "git ref whose API (with --import: worker) runs beside the working tree's (built in a temporary git worktree)")
	fs.IntVar(&o.rounds, "rounds", 3, "interleaved rounds per endpoint")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "length of one load")
	fs.IntVar(&o.conns, "connections", 64, "concurrent connections of the load generator")
	fs.IntVar(&o.threads, "threads", 1, "wrk threads")
	fs.IntVar(&o.users, "users", 20, "users to seed")
	fs.IntVar(&o.articles, "articles", 200, "articles to seed (3 tags each)")
	fs.IntVar(&o.bulk, "bulk-articles", 0, "PostgreSQL only: after the seed, this many more articles by the seeded users through `worker import` (for listings over a large table)")
	fs.StringVar(&o.docs, "docs", "docs/benchmarks.md", "page whose marked section receives the table")
	fs.StringVar(&o.chart, "chart", "docs/bench-http.png", "PNG chart of the table")
	fs.BoolVar(&o.noDocs, "no-docs", false, "print only; do not touch the docs page or the chart")
	fs.StringVar(&o.loader, "loader", "auto", "load generator: auto (wrk when on PATH), wrk, go")
	fs.IntVar(&o.maxRequests, "max-requests", 2_000_000, "the Go load generator stops after this many requests per load")
	fs.StringVar(&o.profile, "profile", "", "record a CPU profile of the working tree's API on PostgreSQL under load into this file (for PGO), then stop")
	fs.BoolVar(&o.pgoCompare, "pgo-compare", false, "also build the working tree's API with -pgo=off and load it as api-nopgo")
	fs.Var(variantsFlag{&o.variants}, "variant", "another API process with extra env: NAME:KEY=VALUE[,KEY=VALUE] (repeatable)")
	fs.Var(listFlag{&o.apiEnv}, "api-env", "KEY=VALUE given to every API process (repeatable)")
	fs.BoolVar(&o.sessions, "sessions", true, "on PostgreSQL, count the sessions each server opens during one more load of the first endpoint that reaches the database")
	fs.IntVar(&o.importLines, "import", 0, "instead of the HTTP table: time `worker import` of this many generated articles beside a plain load of the same rows (docs section bench:import)")
	fs.StringVar(&o.workerPGO, "worker-profile", "", "with --import: record a CPU profile of the first worker import into this file (for the worker's PGO)")
	fs.BoolVar(&o.tables, "tables", false, "instead of the HTTP table: run the Go benchmarks of the original design document's tables (database, events, cache) beside the plain way (docs section bench:tables; task bench)")
	fs.StringVar(&o.benchtime, "benchtime", "1s", "with --tables: go test -benchtime for each benchmark")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (binaries, logs, SQLite files)")
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("flags: %w", err)
	}
	o.dialects = splitList(*dialects)
	o.endpoints = splitList(*endpoints)
	for _, d := range o.dialects {
		if d != dialectPG && d != dialectSQLite {
			return o, fmt.Errorf("--dialects: unknown %q (want postgres, sqlite)", d)
		}
	}
	for _, e := range o.endpoints {
		if _, ok := endpointByName(e); !ok {
			return o, fmt.Errorf("--endpoints: unknown %q (want %s)", e, strings.Join(allEndpoints(), ", "))
		}
	}
	if o.rounds < 1 || o.duration <= 0 || o.conns < 1 || o.threads < 1 || o.users < 2 || o.articles < 1 {
		return o, fmt.Errorf("--rounds, --duration, --connections, --threads, --articles must be positive and --users at least 2")
	}
	if o.bulk < 0 || (o.bulk > 0 && slices.Contains(o.dialects, dialectSQLite)) {
		// On SQLite the measured APIs run the import's jobs in-process, during the loads.
		return o, fmt.Errorf("--bulk-articles must not be negative, and needs --dialects postgres")
	}
	return o, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
