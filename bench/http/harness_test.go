package main

import (
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
