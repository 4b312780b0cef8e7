package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const wrkOutput = `Running 5s test @ http://127.0.0.1:8080/api/user
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.10ms    1.20ms  40.00ms   90.00%
    Req/Sec    20.1k     1.1k    22.0k    70.00%
  Latency Distribution
     50%    2.91ms
     75%    3.50ms
     90%    4.20ms
     99%  812.00us
  100000 requests in 5.00s, 30.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  20000.50
Transfer/sec:      6.00MB
`

func TestParseWrk(t *testing.T) {
	t.Parallel()
	r, err := parseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	if r.rps != 20000.50 || r.reqs != 100000 || r.p50 != 2910*time.Microsecond || r.p99 != 812*time.Microsecond || r.bad != 7 {
		t.Errorf("parsed %+v", r)
	}
	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused"); err == nil {
		t.Error("output without figures parsed without error")
	}
	// Nothing answered within wrk's timeout: zero, with every connection's timeout failed.
	none := `Running 3s test @ http://127.0.0.1:8080/api/articles?limit=20
  1 threads and 64 connections
  Latency Distribution
     50%    0.00us
     99%    0.00us
  0 requests in 3.04s, 0.00B read
  Socket errors: connect 0, read 0, write 0, timeout 64
Requests/sec:      0.00
Transfer/sec:       0.00B
`
	if r, err := parseWrk(none); err != nil || r.rps != 0 || r.reqs != 0 || r.bad != 64 {
		t.Errorf("a load with no answer: %+v, %v; want zero requests and 64 failed", r, err)
	}
	if _, err := parseWrk(strings.Replace(none, "  0 requests in 3.04s, 0.00B read\n", "", 1)); err == nil {
		t.Error("zero latencies without a request count parsed without error")
	}
}

func TestWriteSectionReplacesOnlyTheMarkedBlock(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	if err := os.WriteFile(path, []byte("# Benchmarks\n\n## other\n\nkept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"first run\n", "second run\n"} {
		if err := writeSection(path, markBegin+"\n"+body+markEnd+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(path)
	got := string(b)
	if strings.Contains(got, "first run") || strings.Count(got, markBegin) != 1 || !strings.Contains(got, "second run") {
		t.Errorf("page after two writes:\n%s", got)
	}
	if !strings.HasPrefix(got, "# Benchmarks\n\n"+markBegin) || !strings.HasSuffix(got, "## other\n\nkept\n") {
		t.Errorf("block not under the title, or the rest of the page changed:\n%s", got)
	}
}

func TestShapeIgnoresValuesNotKeys(t *testing.T) {
	t.Parallel()
	a := shapeOf(map[string]any{"user": map[string]any{"name": "x", "n": 1.0, "tags": []any{"a"}}})
	b := shapeOf(map[string]any{"user": map[string]any{"name": "y", "n": 2.0, "tags": []any{"b", "c"}}})
	c := shapeOf(map[string]any{"user": map[string]any{"name": "y", "tags": []any{"b"}}})
	if !equalShapes(a, b) || equalShapes(a, c) {
		t.Errorf("shapes: %v %v %v", a, b, c)
	}
}

func TestChartAndTables(t *testing.T) {
	t.Parallel()
	s := &session{o: options{dialects: []string{dialectPG, dialectSQLite}, endpoints: []string{"article", "list"}, rounds: 2}}
	for r := 1; r <= 2; r++ {
		for _, x := range []struct {
			d, e, target string
			rps          float64
		}{
			{dialectPG, "article", "api", 600}, {dialectPG, "article", "limit", 1000},
			{dialectPG, "list", "api", 90}, {dialectPG, "list", "limit", 100},
			{dialectSQLite, "article", "api", 700}, {dialectSQLite, "list", "api", 80},
		} {
			s.samples = append(s.samples, sample{dialect: x.d, endpoint: x.e, target: x.target, round: r,
				res: result{rps: x.rps * float64(r), p50: time.Millisecond, p99: time.Duration(r) * 10 * time.Millisecond}})
		}
	}
	// Ratios are taken per round: 600/1000 and 1200/2000 are both 0.60.
	if c := s.cell(dialectPG, "article", "api"); !c.hasRatio || c.ratio != 0.6 || c.rps != 900 {
		t.Errorf("cell %+v", c)
	}
	if c := s.cell(dialectSQLite, "list", "api"); c.hasRatio {
		t.Errorf("SQLite has no limit server, got a ratio: %+v", c)
	}
	md := s.markdown()
	if !strings.Contains(md, "| GET /api/articles/:slug (anonymous, cached) | api | 900 | 1.00 ms | 15.00 ms | 0.60× | 0 |") {
		t.Errorf("markdown:\n%s", md)
	}
	path := filepath.Join(t.TempDir(), "chart.png")
	if err := drawChart(s, path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 300 {
		t.Errorf("chart is %v", b)
	}
}

func TestParseBenchAndPattern(t *testing.T) {
	out := "goos: linux\nBenchmarkWrite/create/pgx-2   \t 200\t 3913771 ns/op\t 116240 cpu-ns/op\t 512 B/op\t 9 allocs/op\n" +
		"BenchmarkMemory/get-hit-16 1000 52.5 ns/op 0 B/op 0 allocs/op\nPASS\n"
	got := parseBench(out)
	if r := got["BenchmarkWrite/create/pgx"]; r.nsOp != 3913771 || !r.hasCPU || r.cpuNsOp != 116240 || r.allocsOp != 9 {
		t.Errorf("create/pgx: %+v", r)
	}
	if r := got["BenchmarkMemory/get-hit"]; r.nsOp != 52.5 || r.hasCPU {
		t.Errorf("get-hit: %+v (of %v)", r, got)
	}
	if p := benchPattern([]string{"BenchmarkWrite/create/pgx", "BenchmarkFindByID/many100/pgx"}); p != "(^BenchmarkWrite$|^BenchmarkFindByID$)/(^create$|^many100$)/(^pgx$)" {
		t.Errorf("pattern %s", p)
	}
}
