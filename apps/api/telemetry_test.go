package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brisk-go/brisk/libs/data/datatest"
	"github.com/brisk-go/brisk/libs/observe/observetest"
)

// One request through the real serve path, exported over OTLP to an in-process receiver: the
// HTTP server span carries the route template, and the SQL it caused hangs under it as child
// spans. The admin listener serves the same request's RED metrics.
func TestRequestTraceHasSQLChildSpansAndMetrics(t *testing.T) {
	rcv := observetest.NewReceiver(t)
	url := datatest.URL(t)
	w, logs := logLines(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, envOf(map[string]string{
			"DATABASE_URL":                url,
			"DATABASE_AUTO_MIGRATE":       "true",
			"HTTP_ADDR":                   "127.0.0.1:0",
			"ADMIN_ADDR":                  "127.0.0.1:0",
			"LOG_FORMAT":                  "json",
			"JWT_SECRET":                  strings.Repeat("s", 32),
			"OTEL_EXPORTER_OTLP_ENDPOINT": rcv.URL(),
			// bcrypt under -race on a busy machine can outlast the default 5s request deadline.
			"CONTEXT_DEFAULT_TIMEOUT": "2m", "CONTEXT_MAX_TIMEOUT": "5m",
		}), w)
	}()
	admin := waitFor(t, logs, "admin listening")["addr"].(string)
	addr := waitFor(t, logs, "listening")["addr"].(string)

	resp, err := http.Post("http://"+addr+"/api/users", "application/json",
		strings.NewReader(`{"user":{"username":"traced","email":"traced@example.com","password":"secret-password"}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register: %d", resp.StatusCode)
	}

	resp, err = http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`http_route="/api/users"`, "go_sql_query_timing_milliseconds_bucket", "go_goroutine_count"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	cancel() // serve returns after flushing the exporters
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return")
	}

	spans := rcv.Spans()
	i := slices.IndexFunc(spans, func(s observetest.Span) bool {
		return s.Attributes["http.route"] == "/api/users" && s.Attributes["http.request.method"] == "POST"
	})
	if i < 0 {
		t.Fatalf("no server span for POST /api/users among %d spans", len(spans))
	}
	server := spans[i]
	if server.Service != "brisk-api" || server.ParentSpanID != "" {
		t.Fatalf("server span = %+v", server)
	}
	// bun runs a transaction's statements under its BEGIN span, so "under" means descendant.
	parent := map[string]string{}
	for _, s := range spans {
		parent[s.SpanID] = s.ParentSpanID
	}
	under := func(id string) bool {
		for n := 0; id != "" && n < 64; n++ {
			if id = parent[id]; id == server.SpanID {
				return true
			}
		}
		return false
	}
	var sqlChildren []string
	for _, s := range spans {
		if s.TraceID == server.TraceID && under(s.SpanID) && s.Attributes["db.statement"] != "" {
			sqlChildren = append(sqlChildren, s.Name+": "+s.Attributes["db.statement"])
		}
	}
	if !slices.ContainsFunc(sqlChildren, func(s string) bool { return strings.HasPrefix(s, "INSERT") && strings.Contains(s, "users") }) {
		t.Fatalf("the request's SQL spans lack the INSERT into users: %q", sqlChildren)
	}
}
