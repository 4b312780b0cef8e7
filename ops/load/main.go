// Command load sends a short, bounded mix of Conduit requests to a running API so the
// dashboards and the live page (/debug/statsviz/ on the admin listener, whose address it
// prints first) have something to show: `task load` (defaults: 30s, 4 workers, at most 20000
// requests). It only talks to loopback addresses.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	base := fs.String("url", "http://127.0.0.1:8080/api", "the API's base URL (loopback only)")
	duration := fs.Duration("duration", 30*time.Second, "how long to send requests")
	workers := fs.Int("workers", 4, "concurrent clients")
	maxReq := fs.Int64("max-requests", 20000, "stop after this many requests")
	admin := fs.String("admin", "http://127.0.0.1:9090", "the API's admin listener (ADMIN_ADDR), where the live page is")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for flagName, raw := range map[string]string{"url": *base, "admin": *admin} {
		u, err := url.Parse(raw)
		if err != nil {
			return fmt.Errorf("-%s: %w", flagName, err)
		}
		if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("-%s %s: only loopback addresses are load-tested", flagName, raw)
		}
	}
	if *workers < 1 || *workers > 64 || *duration <= 0 || *duration > 10*time.Minute || *maxReq < 1 {
		return errors.New("want 1–64 workers, a duration up to 10m and a positive -max-requests")
	}
	if _, err := fmt.Fprintln(out, livePageLine(ctx, strings.TrimRight(*admin, "/")+"/debug/statsviz/")); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()

	var (
		sent, failed atomic.Int64
		mu           sync.Mutex
		latencies    []time.Duration
		wg           sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second}
	do := func(method, path, token, body string) (map[string]any, bool) {
		if sent.Add(1) > *maxReq {
			cancel()
			return nil, false
		}
		req, err := http.NewRequestWithContext(ctx, method, *base+path, strings.NewReader(body))
		if err != nil {
			return nil, false
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Token "+token)
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				failed.Add(1)
			}
			return nil, false
		}
		defer func() { _ = resp.Body.Close() }()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		mu.Lock()
		latencies = append(latencies, time.Since(start))
		mu.Unlock()
		if resp.StatusCode >= 500 {
			failed.Add(1)
		}
		return m, resp.StatusCode < 400
	}
	began := time.Now()
	runID := began.UnixNano()
	for w := range *workers {
		wg.Go(func() {
			name := fmt.Sprintf("load-%d-%d", runID, w)
			m, ok := do("POST", "/users", "", fmt.Sprintf(`{"user":{"username":%q,"email":"%s@example.com","password":"load-password"}}`, name, name))
			if !ok {
				return
			}
			user, _ := m["user"].(map[string]any)
			token, _ := user["token"].(string)
			for i := 0; ctx.Err() == nil; i++ {
				a, ok := do("POST", "/articles", token, fmt.Sprintf(`{"article":{"title":"%s %d","description":"load","body":"load test","tagList":["load"]}}`, name, i))
				if !ok {
					continue
				}
				art, _ := a["article"].(map[string]any)
				slug, _ := art["slug"].(string)
				for range 5 {
					do("GET", "/articles?limit=10", "", "")
					do("GET", "/articles/"+slug, token, "")
					do("GET", "/articles/"+slug+"/comments", "", "")
					do("GET", "/tags", "", "")
				}
				do("POST", "/articles/"+slug+"/favorite", token, "")
				do("POST", "/articles/"+slug+"/comments", token, `{"comment":{"body":"load"}}`)
				do("GET", "/profiles/"+name, "", "")
				do("GET", "/articles/feed", token, "")
				do("GET", "/articles/no-such-"+slug, "", "") // a 404 now and then
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(began)
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]
	}
	_, err := fmt.Fprintf(out, "load: %d responses in %s (%.0f/s), %d failed (5xx or transport), p50 %s, p99 %s\n",
		len(latencies), elapsed.Round(time.Millisecond), float64(len(latencies))/elapsed.Seconds(), failed.Load(),
		pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond))
	return err
}

// livePageLine says where to watch the load: the live page on the API's admin listener, when
// it answers there.
func livePageLine(ctx context.Context, page string) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, page, nil)
	if err == nil {
		var resp *http.Response
		if resp, err = http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close() // only the status is wanted
			if resp.StatusCode == http.StatusOK {
				return "load: watch it live at " + page + " (requests, latency, pool, optimizer, cache, jobs; the admin listener only)"
			}
			err = errors.New(resp.Status)
		}
	}
	return fmt.Sprintf("load: the live page %s did not answer (%v); pass -admin with the API's ADMIN_ADDR to watch it", page, err)
}
