package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The tables mode (--tables, `task bench`) regenerates the original design document's
// benchmark tables from the Go benchmarks that sit next to the code they measure: each row
// is one of Brisk's operations beside the plain way of doing the same thing (raw pgx, a loop
// of function calls, go-redis, sync.Map), run in the same process, one after the other.

const (
	tablesBegin = "<!-- bench:tables:begin (written by `go run ./bench/http --tables`, `task bench`; edits inside are replaced) -->"
	tablesEnd   = "<!-- bench:tables:end -->"
)

// tableRow pairs two benchmarks of one package.
type tableRow struct {
	table, op      string
	brisk, plain   string // benchmark names as printed, without the -GOMAXPROCS suffix
	plainName, pkg string
}

var tableRows = []tableRow{
	{"Database (PostgreSQL, one caller)", "find by id", "BenchmarkFindByID/one/repository", "BenchmarkFindByID/one/pgx", "raw pgx", "./libs/data/repository"},
	{"Database (PostgreSQL, one caller)", "batch find 100", "BenchmarkFindByID/many100/repository", "BenchmarkFindByID/many100/pgx", "raw pgx", "./libs/data/repository"},
	{"Database (PostgreSQL, one caller)", "create", "BenchmarkWrite/create/repository", "BenchmarkWrite/create/pgx", "raw pgx", "./libs/data/repository"},
	{"Database (PostgreSQL, one caller)", "update", "BenchmarkWrite/update/repository", "BenchmarkWrite/update/pgx", "raw pgx", "./libs/data/repository"},
	{"Database (PostgreSQL, one caller)", "delete", "BenchmarkWrite/delete/repository", "BenchmarkWrite/delete/pgx", "raw pgx", "./libs/data/repository"},
	{"Events", "single (1 sync listener)", "BenchmarkDispatchSync/listeners=1/dispatcher", "BenchmarkDispatchSync/listeners=1/plain-loop", "a function call", "./libs/perfcore/events"},
	{"Events", "listeners (10 sync)", "BenchmarkDispatchSync/listeners=10/dispatcher", "BenchmarkDispatchSync/listeners=10/plain-loop", "a loop of 10 calls", "./libs/perfcore/events"},
	{"Events", "batch 100", "BenchmarkDispatchBatch100/dispatcher", "BenchmarkDispatchBatch100/plain-loop", "a loop", "./libs/perfcore/events"},
	{"Events", "async (goroutine pool)", "BenchmarkDispatchAsync/dispatcher-pool", "BenchmarkDispatchAsync/plain-go", "`go f()`", "./libs/perfcore/events"},
	{"Cache, memory", "get (hit)", "BenchmarkMemory/get-hit", "BenchmarkSyncMap/get-hit", "sync.Map", "./libs/data/cache"},
	{"Cache, memory", "get (miss)", "BenchmarkMemory/get-miss", "BenchmarkSyncMap/get-miss", "sync.Map", "./libs/data/cache"},
	{"Cache, memory", "set", "BenchmarkMemory/set", "BenchmarkSyncMap/set", "sync.Map", "./libs/data/cache"},
	{"Cache, memory", "delete", "BenchmarkMemory/delete", "BenchmarkSyncMap/delete", "sync.Map", "./libs/data/cache"},
	{"Cache, memory", "multi-get 10", "BenchmarkMemory/get-many-10", "BenchmarkSyncMap/get-many-10", "sync.Map", "./libs/data/cache"},
	{"Cache, Redis", "get (hit)", "BenchmarkRedisDriver/get-hit", "BenchmarkRedisRaw/get-hit", "go-redis + encoding/json", "./libs/data/cache"},
	{"Cache, Redis", "get (miss)", "BenchmarkRedisDriver/get-miss", "BenchmarkRedisRaw/get-miss", "go-redis", "./libs/data/cache"},
	{"Cache, Redis", "set", "BenchmarkRedisDriver/set", "BenchmarkRedisRaw/set", "go-redis + encoding/json", "./libs/data/cache"},
	{"Cache, Redis", "delete", "BenchmarkRedisDriver/delete", "BenchmarkRedisRaw/delete", "go-redis", "./libs/data/cache"},
	{"Cache, Redis", "multi-get 10", "BenchmarkRedisDriver/get-many-10", "BenchmarkRedisRaw/get-many-10", "go-redis MGET + encoding/json", "./libs/data/cache"},
}

// benchResult is one benchmark line's figures.
type benchResult struct {
	nsOp, cpuNsOp, bytesOp, allocsOp float64
	hasCPU                           bool
}

// parseBench reads `go test -bench` output into results by name (the -N suffix removed).
func parseBench(out string) map[string]benchResult {
	res := map[string]benchResult{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		var r benchResult
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				r.nsOp = v
			case "cpu-ns/op", "cpu-ns/task":
				r.cpuNsOp, r.hasCPU = v, true
			case "B/op":
				r.bytesOp = v
			case "allocs/op":
				r.allocsOp = v
			}
		}
		res[name] = r
	}
	return res
}

// benchPattern is the -bench regexp that selects exactly names (split on / per level).
func benchPattern(names []string) string {
	levels := [][]string{}
	for _, n := range names {
		for i, part := range strings.Split(n, "/") {
			if i == len(levels) {
				levels = append(levels, nil)
			}
			q := "^" + regexpQuote(part) + "$"
			if !slices.Contains(levels[i], q) {
				levels[i] = append(levels[i], q)
			}
		}
	}
	parts := make([]string, len(levels))
	for i, l := range levels {
		parts[i] = "(" + strings.Join(l, "|") + ")"
	}
	return strings.Join(parts, "/")
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func runTables(ctx context.Context, o options) error {
	root, err := gitRoot(ctx)
	if err != nil {
		return err
	}
	c, err := freshDatabase(ctx, o.pgURL)
	if err != nil {
		return err
	}
	if err := c.Close(ctx); err != nil {
		return fmt.Errorf("close the set-up connection: %w", err)
	}
	redisURL := envOr("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
	started := time.Now().UTC()
	// One go test per package and name depth: a pattern with more levels than a benchmark's
	// name does not run it.
	type group struct {
		pkg   string
		depth int
	}
	var groups []group
	byGroup := map[group][]string{}
	for _, r := range tableRows {
		g := group{r.pkg, strings.Count(r.brisk, "/")}
		if _, ok := byGroup[g]; !ok {
			groups = append(groups, g)
		}
		byGroup[g] = append(byGroup[g], r.brisk, r.plain)
	}
	results := map[string]benchResult{}
	var cmds []string
	for _, g := range groups {
		pkg := g.pkg
		args := []string{"test", "-run", "^$", "-bench", benchPattern(byGroup[g]), "-benchtime", o.benchtime, "-benchmem", "-count", "1", pkg}
		cmds = append(cmds, "go "+strings.Join(quoteArgs(args), " "))
		fmt.Println("go", strings.Join(quoteArgs(args), " "))
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "TEST_DATABASE_URL="+o.pgURL, "TEST_REDIS_URL="+redisURL)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", pkg, err, out)
		}
		for k, v := range parseBench(string(out)) {
			results[k] = v
		}
	}
	md := tablesMarkdown(results)
	fmt.Print(md)
	if o.noDocs {
		return nil
	}
	var b strings.Builder
	b.WriteString(tablesBegin + "\n## The original design document's tables, regenerated\n\n")
	fmt.Fprintf(&b, "Measured %s on %s. Command (from the repository root): `%s` (or `task bench`), which runs:\n\n```\n%s\n```\n\n",
		started.Format("2006-01-02 15:04 UTC"), machine(), commandLine(), strings.Join(cmds, "\n"))
	b.WriteString("Each pair runs in one `go test` process, one after the other, with TEST_DATABASE_URL (a fresh database, 1,000 users) and " +
		"TEST_REDIS_URL (BENCH_REDIS_URL, keys under a random prefix, removed afterwards). Time is wall time per operation; " +
		"CPU is the process's user+system time per operation where the benchmark reports it (database rows: it moves far less than " +
		"wall time with the load of other processes). A database write commits one transaction, so its wall time is mostly the " +
		"WAL flush of a shared disk. Memory (idle, low, high and peak RSS, the API beside the plain limit server) needs the servers " +
		"running: it is the HTTP section's memory table (`go run ./bench/http`, `task bench:http`).\n\n")
	b.WriteString(md)
	b.WriteString(tablesEnd + "\n")
	return writeMarked(filepath.Join(root, o.docs), tablesBegin, tablesEnd, b.String())
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, "^$|()*?[] ") {
			a = "'" + a + "'"
		}
		out[i] = a
	}
	return out
}

func fmtNs(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.1f ns", ns)
}

func tablesMarkdown(results map[string]benchResult) string {
	var b strings.Builder
	table := ""
	for _, r := range tableRows {
		if r.table != table {
			table = r.table
			fmt.Fprintf(&b, "\n#### %s\n\n| operation | Brisk | the plain way | plain | Brisk ÷ plain (time) | Brisk ÷ plain (CPU) | allocs/op Brisk / plain |\n|---|---|---|---|---|---|---|\n", table)
		}
		br, okB := results[r.brisk]
		pr, okP := results[r.plain]
		if !okB || !okP {
			fmt.Fprintf(&b, "| %s | not run | %s | not run | | | |\n", r.op, r.plainName)
			continue
		}
		cpu := ""
		if br.hasCPU && pr.hasCPU && pr.cpuNsOp > 0 {
			cpu = fmt.Sprintf("%.2f× (%s vs %s)", br.cpuNsOp/pr.cpuNsOp, fmtNs(br.cpuNsOp), fmtNs(pr.cpuNsOp))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.2f× | %s | %.0f / %.0f |\n",
			r.op, fmtNs(br.nsOp), r.plainName, fmtNs(pr.nsOp), br.nsOp/pr.nsOp, cpu, br.allocsOp, pr.allocsOp)
	}
	return b.String()
}
