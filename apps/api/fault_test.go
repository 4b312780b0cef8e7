package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brisk-go/brisk/apps/api/internal/faultproxy"
	"github.com/brisk-go/brisk/libs/data/datatest"
)

// outcome is one request of the load: its status and request id, and the slug when a write
// was acknowledged.
type outcome struct {
	status    int
	requestID string
	slug      string
}

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

	logs := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, envOf(map[string]string{
			"DATABASE_URL":            dbURL.String(),
			"DATABASE_AUTO_MIGRATE":   "true",
			"JOBS_IN_PROCESS":         "false",
			"HTTP_ADDR":               "127.0.0.1:0",
			"ADMIN_ADDR":              "127.0.0.1:0",
			"LOG_FORMAT":              "json",
			"JWT_SECRET":              strings.Repeat("s", 32),
			"CONTEXT_DEFAULT_TIMEOUT": "2s",
		}), logs)
	}()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
	}()
	var base string
	for deadline := time.Now().Add(60 * time.Second); base == ""; {
		for _, l := range logs.records() {
			if l["msg"] == "listening" {
				base = "http://" + l["addr"].(string)
			}
		}
		if base != "" {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended before listening: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("not listening within 60s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	client := &http.Client{Timeout: 20 * time.Second}
	call := func(method, path, token string, body any) (int, http.Header, []byte) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Token "+token)
		} else if method == "POST" {
			req.Header.Set("X-Request-Timeout", "20s") // registering hashes a password: slow under -race
		}
		res, err := client.Do(req)
		if err != nil {
			return 0, nil, []byte(err.Error())
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, b
	}
	waitStatus := func(path string, want int, what string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; {
			if code, _, _ := call("GET", path, "", nil); code == want {
				return
			}
			if time.Now().After(deadline) {
				_, _, b := call("GET", path, "", nil)
				t.Fatalf("%s: %s never answered %d within 20s: %s", what, path, want, b)
			}
			time.Sleep(25 * time.Millisecond)
		}
	}
	waitStatus("/readyz", http.StatusOK, "start")
	code, _, body := call("POST", "/api/users", "", map[string]any{"user": map[string]any{"username": "load", "email": "load@example.com", "password": "password1"}})
	if code != http.StatusCreated {
		t.Fatalf("register: %d %s", code, body)
	}
	var reg struct {
		User struct{ Token string } `json:"user"`
	}
	_ = json.Unmarshal(body, &reg)

	// The load: 4 writers, at most 400 requests in all, until the faults are over.
	loadCtx, stopLoad := context.WithCancel(context.Background())
	var mu sync.Mutex
	var results []outcome
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; i < 100 && loadCtx.Err() == nil; i++ {
				title := fmt.Sprintf("load %d-%d", w, i)
				code, h, body := call("POST", "/api/articles", reg.User.Token, map[string]any{"article": map[string]any{
					"title": title, "description": "d", "body": "b", "tagList": []string{},
				}})
				o := outcome{status: code}
				if h != nil {
					o.requestID = h.Get("X-Request-ID")
				}
				if code == http.StatusCreated {
					var a struct {
						Article struct{ Slug string } `json:"article"`
					}
					_ = json.Unmarshal(body, &a)
					o.slug = a.Article.Slug
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
	waitStatus("/readyz", http.StatusServiceUnavailable, "cut")
	time.Sleep(700 * time.Millisecond)
	proxy.Set(faultproxy.Pass)
	waitStatus("/readyz", http.StatusOK, "after the cut")

	proxy.Set(faultproxy.Pause)
	time.Sleep(2500 * time.Millisecond)
	proxy.Set(faultproxy.Pass)
	waitStatus("/readyz", http.StatusOK, "after the pause")

	proxy.Set(faultproxy.Slow)
	time.Sleep(time.Second)
	proxy.Set(faultproxy.Pass)
	waitStatus("/readyz", http.StatusOK, "after the slow-down")

	stopLoad()
	wg.Wait()

	// Every acknowledged write is there.
	acked, failed := 0, map[int]int{}
	for _, o := range results {
		switch {
		case o.status == http.StatusCreated:
			acked++
			if code, _, body := call("GET", "/api/articles/"+o.slug, "", nil); code != http.StatusOK {
				t.Errorf("acknowledged article %s: GET %d %s", o.slug, code, body)
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
	errorLines := map[string][]map[string]any{}
	for _, l := range logs.records() {
		if l["level"] == "ERROR" {
			if id, _ := l["request_id"].(string); id != "" {
				errorLines[id] = append(errorLines[id], l)
			}
		}
	}
	for _, o := range results {
		if o.status < 500 {
			continue
		}
		if o.status != http.StatusServiceUnavailable && o.status != http.StatusGatewayTimeout {
			t.Errorf("request %s: status %d, want 503 or 504 for a database fault: %v", o.requestID, o.status, errorLines[o.requestID])
		}
		lines := errorLines[o.requestID]
		if len(lines) != 1 || int(lines[0]["status"].(float64)) != o.status {
			t.Errorf("request %s (%d): ERROR lines %v, want one with its status", o.requestID, o.status, lines)
		}
	}
	if failed[0] > 0 {
		t.Errorf("%d requests got no HTTP answer at all", failed[0])
	}

	// The process is up and serving; then it stops cleanly.
	if code, _, _ := call("GET", "/healthz", "", nil); code != http.StatusOK {
		t.Fatalf("/healthz %d after the faults", code)
	}
	cancel()
	stopped = true
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}
