package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

const (
	markBegin = "<!-- bench:http:begin (written by `go run ./bench/http`; edits inside are replaced) -->"
	markEnd   = "<!-- bench:http:end -->"
)

// cell is one server's medians over the rounds for one endpoint.
type cell struct {
	rps, ratio     float64 // ratio: median over rounds of rps / the limit's rps in the same round
	p50, p99       time.Duration
	bad            int64 // summed over rounds
	hasRatio, seen bool
}

func median[T int64 | float64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// targetsOf lists the servers of a dialect in the order they were loaded.
func (s *session) targetsOf(dialect string) []string {
	var out []string
	for _, x := range s.samples {
		if x.dialect == dialect && !slices.Contains(out, x.target) {
			out = append(out, x.target)
		}
	}
	return out
}

func (s *session) cell(dialect, endpoint, target string) cell {
	var c cell
	var rps, ratios []float64
	var p50, p99 []time.Duration
	limitByRound := map[int]float64{}
	for _, x := range s.samples {
		if x.dialect == dialect && x.endpoint == endpoint && x.target == "limit" {
			limitByRound[x.round] = x.res.rps
		}
	}
	for _, x := range s.samples {
		if x.dialect != dialect || x.endpoint != endpoint || x.target != target {
			continue
		}
		c.seen = true
		rps = append(rps, x.res.rps)
		p50 = append(p50, x.res.p50)
		p99 = append(p99, x.res.p99)
		c.bad += x.res.bad
		if l, ok := limitByRound[x.round]; ok && l > 0 {
			ratios = append(ratios, x.res.rps/l)
		}
	}
	c.rps, c.p50, c.p99 = median(rps), median(p50), median(p99)
	if len(ratios) > 0 {
		c.ratio, c.hasRatio = median(ratios), true
	}
	return c
}

func mib(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

// markdown is the tables: one per dialect, then memory and binary sizes.
func (s *session) markdown() string {
	var b strings.Builder
	for _, d := range s.o.dialects {
		targets := s.targetsOf(d)
		if len(targets) == 0 {
			continue
		}
		title := map[string]string{dialectPG: "PostgreSQL", dialectSQLite: "SQLite (the embedded default; the limit server is pgx only, so no ratio)"}[d]
		fmt.Fprintf(&b, "\n#### %s\n\n", title)
		b.WriteString("| endpoint | server | req/s | p50 | p99 | × limit | failed |\n")
		b.WriteString("|---|---|---:|---:|---:|---:|---:|\n")
		for _, name := range s.o.endpoints {
			e, _ := endpointByName(name)
			for _, t := range targets {
				c := s.cell(d, name, t)
				if !c.seen {
					continue
				}
				ratio := "—"
				if c.hasRatio && t != "limit" {
					ratio = fmt.Sprintf("%.2f×", c.ratio)
				}
				fmt.Fprintf(&b, "| %s | %s | %.0f | %s | %s | %s | %d |\n", e.label, t, c.rps, describe(c.p50), describe(c.p99), ratio, c.bad)
			}
		}
	}
	if len(s.sessions) > 0 {
		e, _ := endpointByName(s.sessions[0].endpoint)
		fmt.Fprintf(&b, "\n#### PostgreSQL sessions opened by one more load of %s per server\n\n", e.label)
		b.WriteString("Read from `pg_stat_database.sessions` 12 s after the load (PostgreSQL flushes the count late); every other server idle meanwhile.\n\n")
		b.WriteString("| server | sessions opened | req/s in that load | p99 |\n|---|---:|---:|---:|\n")
		for _, r := range s.sessions {
			fmt.Fprintf(&b, "| %s | %d | %.0f | %s |\n", r.target, r.opened, r.res.rps, describe(r.res.p99))
		}
	}
	if len(s.memory) > 0 {
		b.WriteString("\n#### Memory (MiB, from /proc/PID/smaps_rollup: anonymous + file-backed = RSS; peak: VmHWM)\n\n")
		fmt.Fprintf(&b, "Idle: started, seeded, left alone. Low load: after %s at one connection. High load: after every round at %d connections. "+
			"Peak: the most the process held at any moment, read after the high load. The limit server is the plain server beside the API.\n\n",
			s.memoryLowLabel(), s.o.conns)
		b.WriteString("| database | server | idle RSS | idle anon | idle file | low load RSS | high load RSS | high load anon | high load file | peak RSS |\n")
		b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, m := range s.memory {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", m.dialect, m.target,
				mib(m.idle.rss), mib(m.idle.anon), mib(m.idle.file), mib(m.low.rss),
				mib(m.loaded.rss), mib(m.loaded.anon), mib(m.loaded.file), mib(m.loaded.peak))
		}
	}
	if len(s.binaries) > 0 {
		b.WriteString("\n#### Binaries (`go build -trimpath -ldflags=\"-s -w\"`, CGO_ENABLED=0)\n\n| binary | size (MiB) |\n|---|---:|\n")
		for _, x := range s.binaries {
			fmt.Fprintf(&b, "| %s | %s |\n", x.name, mib(x.size))
		}
	}
	for _, n := range s.notes {
		fmt.Fprintf(&b, "\nNote: %s\n", n)
	}
	return b.String()
}

// section is the whole marked block of docs/benchmarks.md.
func (s *session) section(docs, chart string) string {
	var b strings.Builder
	b.WriteString(markBegin + "\n")
	b.WriteString("## HTTP: Brisk's API beside a hand-written limit server\n\n")
	rel, err := filepath.Rel(filepath.Dir(docs), chart)
	if err != nil {
		rel = chart
	}
	fmt.Fprintf(&b, "![req/s and p99 per endpoint, Brisk beside the limit server](%s)\n\n", filepath.ToSlash(rel))
	fmt.Fprintf(&b, "Measured %s on %s. Command (from the repository root):\n\n```\n%s\n```\n\n",
		s.started.Format("2006-01-02 15:04 UTC"), machine(), commandLine())
	fmt.Fprintf(&b, "Load: %s per server and endpoint, %d interleaved rounds (every server once per endpoint per round, in turn); "+
		"figures are medians over the rounds and `× limit` is the median of the per-round ratios. "+
		"Seeded through the API: %d users, %d articles with 3 tags each; the reader follows half the users and has favorited every third article%s. "+
		"The limit server (`bench/http/limit`: gin + pgx, hand-written SQL, no middleware, pool of 4×GOMAXPROCS connections) verifies the same JWT, "+
		"computes the same following/favorited flags and tags, and answers the anonymous article from JSON built once per slug. "+
		"Every server runs at once on the same database; the API runs with its defaults (plus the variants' settings).\n",
		s.loader, s.o.rounds, s.o.users, s.o.articles, bulkNote(s.o.bulk))
	b.WriteString(s.markdown())
	b.WriteString(markEnd + "\n")
	return b.String()
}

func commandLine() string {
	args := []string{"go run ./bench/http"}
	for _, a := range os.Args[1:] {
		if strings.ContainsAny(a, " '\"$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		args = append(args, a)
	}
	return strings.Join(args, " ")
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			load = fmt.Sprintf(", load average at the end %s %s %s", f[0], f[1], f[2])
		}
	}
	return fmt.Sprintf("%s/%s, %d CPUs (%s), %s%s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), model, runtime.Version(), load)
}

// writeSection replaces the marked block of the page at path, or puts it right under the
// page's title when the page has none yet.
func writeSection(path, block string) error { return writeMarked(path, markBegin, markEnd, block) }

// writeMarked replaces the block of the page at path that starts with begin and ends with
// end, or puts block right under the page's title when the page has none yet.
func writeMarked(path, markBegin, markEnd, block string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	var out []byte
	i, j := bytes.Index(old, []byte(markBegin)), bytes.Index(old, []byte(markEnd))
	switch {
	case i >= 0 && j > i:
		rest := old[j+len(markEnd):]
		rest = bytes.TrimPrefix(rest, []byte("\n"))
		out = append(append(append([]byte{}, old[:i]...), block...), rest...)
	default:
		nl := bytes.IndexByte(old, '\n')
		if nl < 0 {
			nl = len(old) - 1
		}
		out = append(append(append([]byte{}, old[:nl+1]...), "\n"+block+"\n"...), old[nl+1:]...)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// memoryLowLabel says what the low load was: the first endpoint, for up to 3 s.
func (s *session) memoryLowLabel() string {
	e, _ := endpointByName(s.o.endpoints[0])
	return fmt.Sprintf("%s of %s", min(s.o.duration, 3*time.Second), e.label)
}

// bulkNote says what --bulk-articles added to the seed, if anything.
func bulkNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("; then %d more articles by the same users through `worker import`", n)
}
