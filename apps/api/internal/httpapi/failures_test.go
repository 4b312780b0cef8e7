package httpapi_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/brisk-go/brisk/apps/api/internal/httpapi"
	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/data/datatest"
	"github.com/brisk-go/brisk/libs/startup/starttest"
)

// logCapture collects a JSON slog log in memory, safe for concurrent requests.
type logCapture struct{ starttest.Buffer }

func (l *logCapture) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// lines returns the records at level (e.g. "ERROR"), decoded; every line must be JSON.
func (l *logCapture) lines(t testing.TB, level string) []map[string]any {
	t.Helper()
	records, other := l.Records()
	if len(other) > 0 {
		t.Fatalf("log lines that are not JSON: %q", other)
	}
	var out []map[string]any
	for _, m := range records {
		if m["level"] == level {
			out = append(out, m)
		}
	}
	return out
}

// defaultDeadlines are the app's defaults: deadlines on.
var defaultDeadlines = httpapi.Deadlines{Default: 5 * time.Second, Max: 30 * time.Second, Enabled: true}

// wantOneErrorLine fails unless exactly one ERROR record was written, for route, with status,
// the request id the response carried, a cause and a latency.
func wantOneErrorLine(t *testing.T, logs *logCapture, r *response, route string, status int, cause string) {
	t.Helper()
	errs := logs.lines(t, "ERROR")
	if len(errs) != 1 {
		t.Fatalf("%d ERROR lines, want 1: %v", len(errs), errs)
	}
	line := errs[0]
	if line["route"] != route || num(line["status"]) != status {
		t.Fatalf("logged route %v status %v, want %s %d: %v", line["route"], line["status"], route, status, line)
	}
	if id := r.Header.Get(httpapi.RequestIDHeader); id == "" || line["request_id"] != id {
		t.Fatalf("logged request_id %v, response says %q", line["request_id"], id)
	}
	if s, _ := line["err"].(string); !strings.Contains(s, cause) {
		t.Fatalf("logged err %q, want it to name %q", s, cause)
	}
	if _, ok := line["latency"]; !ok {
		t.Fatalf("no latency in %v", line)
	}
}

// An internal error with deadlines on is a 500 and one ERROR line, not a silent 503 "request
// was cancelled" (the deadline middleware's cleanup used to cancel the context the renderer
// then checked). Failed before the fix with 503 and no log line.
func TestInternalErrorIs500AndLoggedWithDeadlinesOn(t *testing.T) {
	t.Parallel()
	logs := &logCapture{}
	a := newAPI(t, func(d *deps) { d.http.Deadlines = defaultDeadlines; d.http.Logger = logs.logger() })
	a.h.(*gin.Engine).GET("/test/boom/:id", func(c *gin.Context) { _ = c.Error(errors.New("boom: a bug")) })
	r := a.do("GET", "/test/boom/7", "", nil)
	wantFieldError(t, r, http.StatusInternalServerError, "server")
	wantOneErrorLine(t, logs, r, "/test/boom/:id", http.StatusInternalServerError, "boom: a bug")
}

// A panic is a 500 with the same one ERROR line.
func TestPanicIs500AndLoggedOnce(t *testing.T) {
	t.Parallel()
	logs := &logCapture{}
	a := newAPI(t, func(d *deps) { d.http.Deadlines = defaultDeadlines; d.http.Logger = logs.logger() })
	a.h.(*gin.Engine).GET("/test/panic", func(c *gin.Context) { panic("kaboom") })
	r := a.do("GET", "/test/panic", "", nil)
	wantFieldError(t, r, http.StatusInternalServerError, "server")
	wantOneErrorLine(t, logs, r, "/test/panic", http.StatusInternalServerError, "kaboom")
}

// A passed deadline is a 504 and one ERROR line, whichever error the failed call returned.
func TestPassedDeadlineIs504AndLogged(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		err  func(ctx context.Context) error
	}{
		{"context error", func(ctx context.Context) error { return ctx.Err() }},
		{"driver's words", func(context.Context) error {
			return errorString("ERROR: canceling statement due to user request (SQLSTATE 57014)")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			logs := &logCapture{}
			a := newAPI(t, func(d *deps) { d.http.Deadlines = defaultDeadlines; d.http.Logger = logs.logger() })
			a.h.(*gin.Engine).GET("/test/wait", func(g *gin.Context) {
				<-g.Request.Context().Done()
				_ = g.Error(c.err(g.Request.Context()))
			})
			r := a.do("GET", "/test/wait", "", nil, httpapi.TimeoutHeader, "50ms")
			wantFieldError(t, r, http.StatusGatewayTimeout, "request")
			wantOneErrorLine(t, logs, r, "/test/wait", http.StatusGatewayTimeout, "")
		})
	}
}

// A client that went away gets no body (nobody reads it); the log says so at info, with the
// 499 of the convention, and no ERROR: it is not the server's failure.
func TestClientGoneIs499InfoAndNoBody(t *testing.T) {
	t.Parallel()
	logs := &logCapture{}
	a := newAPI(t, func(d *deps) { d.http.Deadlines = defaultDeadlines; d.http.Logger = logs.logger() })
	a.h.(*gin.Engine).GET("/test/wait", func(c *gin.Context) {
		<-c.Request.Context().Done()
		_ = c.Error(c.Request.Context().Err())
	})
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, "GET", "/test/wait", nil)
	rec := httptest.NewRecorder()
	cancel()
	a.h.ServeHTTP(rec, req)
	if rec.Code != httpapi.StatusClientClosedRequest || rec.Body.Len() != 0 {
		t.Fatalf("status %d body %q, want 499 and no body", rec.Code, rec.Body.Bytes())
	}
	if errs := logs.lines(t, "ERROR"); len(errs) != 0 {
		t.Fatalf("ERROR lines for a client that left: %v", errs)
	}
	var found bool
	for _, l := range logs.lines(t, "INFO") {
		if l["msg"] == "client closed request" && num(l["status"]) == httpapi.StatusClientClosedRequest {
			found = true
		}
	}
	if !found {
		t.Fatalf("no info line \"client closed request\" with status 499")
	}
}

// deadPostgres is a PostgreSQL URL on a loopback port where nothing listens.
func deadPostgres(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "postgres://postgres@" + addr + "/brisk?sslmode=disable&connect_timeout=2"
}

// A database that cannot be reached is a 503 with Retry-After on a real route, and one ERROR
// line naming the cause. Needs no PostgreSQL: the point is that there is none. Failed before
// the fix with 503 "request was cancelled", no Retry-After and no log line.
func TestDatabaseDownIs503WithRetryAfter(t *testing.T) {
	t.Parallel()
	target, err := data.ParseURL(deadPostgres(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	sqldb, err := data.OpenSQL(target)
	if err != nil {
		t.Fatal(err)
	}
	dead := bun.NewDB(sqldb, pgdialect.New())
	t.Cleanup(func() { _ = dead.Close() })
	logs := &logCapture{}
	a := newAPI(t, func(d *deps) {
		d.svc.DB = dead
		d.http.Deadlines = defaultDeadlines
		d.http.Logger = logs.logger()
	})
	r := a.do("GET", "/api/articles/some-slug", "", nil)
	wantFieldError(t, r, http.StatusServiceUnavailable, "database")
	if r.Header.Get("Retry-After") == "" {
		t.Fatalf("503 without Retry-After: %v", r.Header)
	}
	wantOneErrorLine(t, logs, r, "/api/articles/:slug", http.StatusServiceUnavailable, "connect")
}

// An unmigrated database (a new user's first request) is a 500 with the missing table in the
// log, on either dialect: not "request was cancelled" and not a 503 that invites retrying.
func TestUnmigratedDatabaseIs500AndLogged(t *testing.T) {
	t.Parallel()
	db, err := data.Open(context.Background(), data.Options{URL: datatest.URL(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	logs := &logCapture{}
	a := newAPI(t, func(d *deps) {
		d.svc.DB = db
		d.http.Deadlines = defaultDeadlines
		d.http.Logger = logs.logger()
	})
	r := a.do("GET", "/api/tags", "", nil)
	wantFieldError(t, r, http.StatusInternalServerError, "server")
	wantOneErrorLine(t, logs, r, "/api/tags", http.StatusInternalServerError, "tag")
}
