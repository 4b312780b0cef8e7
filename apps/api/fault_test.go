package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brisk-go/brisk/apps/api/internal/faultproxy"
	"github.com/brisk-go/brisk/libs/data/datatest"
)

// The API over PostgreSQL through a fault-injecting proxy, under a bounded concurrent write
// load: the database connection is cut, paused and slowed in turn. Throughout, no
// acknowledged write goes missing, every 5xx is a 503 or 504 (the database's fault or the
// deadline, never a 500) with exactly one ERROR line of the same request id and status,
// /readyz goes 503 during the cut and back to 200 after, and the process stays up.
func TestFaultsUnderLoadPostgres(t *testing.T) {
	if datatest.Dialect() != "postgres" {
		t.Skip("fault tests need PostgreSQL: set TEST_DATABASE_URL")
	}
	dbURL, err := url.Parse(datatest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := faultproxy.Start(dbURL.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	dbURL.Host = proxy.Addr()

	api := startFaultAPI(t, map[string]string{
		"DATABASE_URL":            dbURL.String(),
		"DATABASE_AUTO_MIGRATE":   "true",
		"JOBS_IN_PROCESS":         "false",
		"HTTP_ADDR":               "127.0.0.1:0",
		"ADMIN_ADDR":              "127.0.0.1:0",
		"JWT_SECRET":              strings.Repeat("s", 32),
		"CONTEXT_DEFAULT_TIMEOUT": "2s",
	})
	api.waitStatus("/readyz", http.StatusOK, "start")
	token := api.register("load")

	// The load: 4 writers, at most 400 requests in all, until the faults are over.
	loadCtx, stopLoad := context.WithCancel(context.Background())
	var mu sync.Mutex
	var results []outcome
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; i < 100 && loadCtx.Err() == nil; i++ {
				title := fmt.Sprintf("load %d-%d", w, i)
				r := api.call("POST", "/api/articles", token, map[string]any{"article": map[string]any{
					"title": title, "description": "d", "body": "b", "tagList": []string{},
				}})
				o := outcomeOf(r)
				if r.status == http.StatusCreated {
					o.slug = slugOf(r.body)
				}
				mu.Lock()
				results = append(results, o)
				mu.Unlock()
				time.Sleep(10 * time.Millisecond)
			}
		})
	}

	time.Sleep(300 * time.Millisecond)
	proxy.Set(faultproxy.Cut)
	api.waitStatus("/readyz", http.StatusServiceUnavailable, "cut")
	time.Sleep(700 * time.Millisecond)
	proxy.Set(faultproxy.Pass)
	api.waitStatus("/readyz", http.StatusOK, "after the cut")

	proxy.Set(faultproxy.Pause)
	time.Sleep(2500 * time.Millisecond)
	proxy.Set(faultproxy.Pass)
	api.waitStatus("/readyz", http.StatusOK, "after the pause")

	proxy.Set(faultproxy.Slow)
	time.Sleep(time.Second)
	proxy.Set(faultproxy.Pass)
	api.waitStatus("/readyz", http.StatusOK, "after the slow-down")

	stopLoad()
	wg.Wait()

	// Every acknowledged write is there.
	acked, failed := 0, map[int]int{}
	for _, o := range results {
		switch {
		case o.status == http.StatusCreated:
			acked++
			if r := api.call("GET", "/api/articles/"+o.slug, "", nil); r.status != http.StatusOK {
				t.Errorf("acknowledged article %s: GET %d %s", o.slug, r.status, r.body)
			}
		case o.status >= 500 || o.status == 0:
			failed[o.status]++
		}
	}
	t.Logf("%d requests: %d acknowledged, failures by status %v", len(results), acked, failed)
	if acked == 0 {
		t.Fatal("no write was acknowledged: the load did not run")
	}

	// Every 5xx is a 503 or 504, logged once at ERROR with its request id and status.
	checkFailuresLogged(t, results, []int{http.StatusServiceUnavailable, http.StatusGatewayTimeout}, api)

	// The process is up and serving; then it stops cleanly.
	if r := api.call("GET", "/healthz", "", nil); r.status != http.StatusOK {
		t.Fatalf("/healthz %d after the faults", r.status)
	}
	api.stop()
}
