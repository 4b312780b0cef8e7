package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"

	"sync"
	"time"
)

// result is one load's outcome.
type result struct {
	reqs     int64
	rps      float64
	p50, p99 time.Duration
	bad      int64 // non-2xx answers and socket errors
}

// loader runs one bounded load against url.
type loader interface {
	name() string
	load(ctx context.Context, url, token string) (result, error)
}

func pickLoader(o options) (loader, error) {
	wrk, err := exec.LookPath("wrk")
	switch {
	case o.loader == "wrk" && err != nil:
		return nil, fmt.Errorf("--loader wrk: %w", err)
	case o.loader == "wrk" || (o.loader == "auto" && err == nil):
		return wrkLoader{path: wrk, o: o}, nil
	case o.loader == "go" || o.loader == "auto":
		return goLoader{o: o}, nil
	}
	return nil, fmt.Errorf("--loader: unknown %q (want auto, wrk, go)", o.loader)
}

type wrkLoader struct {
	path string
	o    options
}

func (w wrkLoader) name() string {
	return fmt.Sprintf("wrk -t%d -c%d -d%s --latency", w.o.threads, w.o.conns, w.o.duration)
}

var (
	wrkRPS      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkTotal    = regexp.MustCompile(`(\d+) requests in`)
	wrkPct      = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.000)?%\s+([0-9.]+)(us|ms|s)\s*$`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSockErrs = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

func (w wrkLoader) load(ctx context.Context, url, token string) (result, error) {
	secs := int(w.o.duration.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	args := []string{"-t" + strconv.Itoa(w.o.threads), "-c" + strconv.Itoa(w.o.conns), "-d" + strconv.Itoa(secs) + "s", "--latency", "--timeout", "10s"}
	if token != "" {
		args = append(args, "-H", "Authorization: Token "+token)
	}
	args = append(args, url)
	ctx, cancel := context.WithTimeout(ctx, w.o.duration+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, w.path, args...).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk %s: %w\n%s", url, err, out)
	}
	return parseWrk(string(out))
}

func parseWrk(out string) (result, error) {
	var r result
	m := wrkRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("wrk output has no Requests/sec:\n%s", out)
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	counted := false
	if m := wrkTotal.FindStringSubmatch(out); m != nil {
		r.reqs, _ = strconv.ParseInt(m[1], 10, 64)
		counted = true
	}
	for _, m := range wrkPct.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		unit := map[string]float64{"us": 1e3, "ms": 1e6, "s": 1e9}[m[3]]
		d := time.Duration(v * unit)
		if m[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	// No request answered in the load (each took longer than wrk's 2 s timeout, as a count of
	// a million rows per request does at 64 connections): a result of zero, not a failure.
	if (r.p50 == 0 || r.p99 == 0) && (!counted || r.reqs != 0) {
		return r, fmt.Errorf("wrk output has no 50%%/99%% latency lines:\n%s", out)
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		r.bad += n
	}
	if m := wrkSockErrs.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			r.bad += n
		}
	}
	return r, nil
}

// goLoader is the fallback when wrk is not installed: o.conns goroutines, each with a kept-alive
// connection, sending one request after another until the duration or the request cap.
type goLoader struct{ o options }

func (g goLoader) name() string {
	return fmt.Sprintf("Go load generator, %d connections, %s, ≤%d requests", g.o.conns, g.o.duration, g.o.maxRequests)
}

func (g goLoader) load(ctx context.Context, url, token string) (result, error) {
	tr := &http.Transport{MaxIdleConns: g.o.conns, MaxIdleConnsPerHost: g.o.conns, MaxConnsPerHost: g.o.conns}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, g.o.duration)
	defer cancel()
	var (
		mu     sync.Mutex
		lat    []time.Duration
		bad    int64
		issued int64
		wg     sync.WaitGroup
	)
	startAt := time.Now()
	for c := 0; c < g.o.conns; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 4096)
			var myBad int64
			for ctx.Err() == nil {
				mu.Lock()
				if issued >= int64(g.o.maxRequests) {
					mu.Unlock()
					break
				}
				issued++
				mu.Unlock()
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				if token != "" {
					req.Header.Set("Authorization", "Token "+token)
				}
				t0 := time.Now()
				resp, err := hc.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						myBad++
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				mine = append(mine, time.Since(t0))
				if resp.StatusCode/100 != 2 {
					myBad++
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			bad += myBad
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(startAt)
	if len(lat) == 0 {
		return result{}, fmt.Errorf("load %s: no request completed", url)
	}
	slices.Sort(lat)
	return result{
		reqs: int64(len(lat)),
		rps:  float64(len(lat)) / elapsed.Seconds(),
		p50:  lat[len(lat)*50/100],
		p99:  lat[min(len(lat)-1, len(lat)*99/100)],
		bad:  bad,
	}, nil
}

// describe renders a duration compactly for the table.
func describe(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	}
}
