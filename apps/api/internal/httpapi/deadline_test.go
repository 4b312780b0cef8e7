package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/brisk-go/brisk/apps/api/internal/httpapi"
	"github.com/brisk-go/brisk/libs/data/datatest"
)

// withDeadlines is newAPI with the given deadline settings and, only in this test binary, a
// route that reports the deadline its handler sees.
func withDeadlines(t *testing.T, d httpapi.Deadlines) *api {
	t.Helper()
	a := newAPI(t, func(x *deps) { x.http.Deadlines = d })
	a.h.(*gin.Engine).GET("/test/deadline", func(c *gin.Context) {
		dl, ok := c.Request.Context().Deadline()
		c.JSON(http.StatusOK, gin.H{"has": ok, "remaining_ns": time.Until(dl).Nanoseconds()})
	})
	return a
}

func seenDeadline(t *testing.T, a *api, header string) (has bool, remaining time.Duration) {
	t.Helper()
	var headers []string
	if header != "" {
		headers = []string{httpapi.TimeoutHeader, header}
	}
	r := a.do("GET", "/test/deadline", "", nil, headers...)
	if r.Code != http.StatusOK {
		t.Fatalf("status %d: %s", r.Code, r.Body)
	}
	m := r.json(t)
	return m["has"].(bool), time.Duration(m["remaining_ns"].(float64))
}

func TestRequestDeadlines(t *testing.T) {
	t.Parallel()
	on := withDeadlines(t, httpapi.Deadlines{Default: 5 * time.Second, Max: 20 * time.Second, Enabled: true})
	off := withDeadlines(t, httpapi.Deadlines{Default: 5 * time.Second, Max: 20 * time.Second, Enabled: false})
	for _, c := range []struct {
		name    string
		a       *api
		header  string
		has     bool
		atMost  time.Duration
		atLeast time.Duration // a lower bound well below the deadline, only to tell the cases apart
	}{
		{"default", on, "", true, 5 * time.Second, time.Second},
		{"client asks for less", on, "250ms", true, 250 * time.Millisecond, 0},
		{"client asks for more, up to the cap", on, "15s", true, 15 * time.Second, 10 * time.Second},
		{"capped", on, "1h", true, 20 * time.Second, 10 * time.Second},
		{"no default when disabled", off, "", false, 0, 0},
		{"client deadline when disabled", off, "2s", true, 2 * time.Second, 0},
		{"capped when disabled", off, "1h", true, 20 * time.Second, 10 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			has, remaining := seenDeadline(t, c.a, c.header)
			if has != c.has {
				t.Fatalf("handler sees a deadline: %v, want %v", has, c.has)
			}
			if has && (remaining <= c.atLeast || remaining > c.atMost) {
				t.Fatalf("deadline %v away, want in (%v, %v]", remaining, c.atLeast, c.atMost)
			}
		})
	}
	for _, bad := range []string{"soon", "250", "-1s", "0s"} {
		r := on.do("GET", "/test/deadline", "", nil, httpapi.TimeoutHeader, bad)
		wantFieldError(t, r, http.StatusBadRequest, httpapi.TimeoutHeader)
	}
}

// A handler whose calls fail because the deadline passed answers 504 with the RealWorld error
// body, and one whose client went away 499 with no body: never a 500.
func TestPassedDeadlineIs504(t *testing.T) {
	t.Parallel()
	a := newAPI(t, func(d *deps) {
		d.http.Deadlines = httpapi.Deadlines{Default: time.Minute, Max: time.Minute, Enabled: true}
	})
	e := a.h.(*gin.Engine)
	e.GET("/test/wait", func(c *gin.Context) {
		<-c.Request.Context().Done()
		_ = c.Error(c.Request.Context().Err())
	})
	e.GET("/test/query", func(c *gin.Context) {
		<-c.Request.Context().Done()
		// What a driver may say instead of the context's error.
		_ = c.Error(errorString("ERROR: canceling statement due to user request (SQLSTATE 57014)"))
	})
	for _, path := range []string{"/test/wait", "/test/query"} {
		r := a.do("GET", path, "", nil, httpapi.TimeoutHeader, "50ms")
		wantFieldError(t, r, http.StatusGatewayTimeout, "request")
	}

	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, "GET", "/test/wait", nil)
	rec := httptest.NewRecorder()
	cancel()
	a.h.ServeHTTP(rec, req)
	if rec.Code != httpapi.StatusClientClosedRequest || rec.Body.Len() != 0 {
		t.Fatalf("client gone: status %d body %q, want 499 and no body", rec.Code, rec.Body.Bytes())
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

// End to end over HTTP on PostgreSQL: a request whose deadline passes during a long query gets
// its 504, and the query stops on the server instead of running on for nobody.
func TestPassedDeadlineCancelsTheQueryOnTheServer(t *testing.T) {
	if datatest.Dialect() != "postgres" {
		t.Skip("needs TEST_DATABASE_URL")
	}
	t.Parallel()
	a := newAPI(t, func(d *deps) {
		d.http.Deadlines = httpapi.Deadlines{Default: time.Minute, Max: time.Minute, Enabled: true}
	})
	marker := "brisk_http_deadline_probe_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	a.h.(*gin.Engine).GET("/test/sleep", func(c *gin.Context) {
		if _, err := a.db.ExecContext(c.Request.Context(), "SELECT pg_sleep(30) /* "+marker+" */"); err != nil {
			_ = c.Error(err)
			return
		}
		c.Status(http.StatusOK)
	})
	srv := httptest.NewServer(a.h)
	defer srv.Close()

	running := func() (int, error) {
		var n int
		err := a.db.QueryRowContext(context.Background(),
			"SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%"+marker+"%' AND pid <> pg_backend_pid()").Scan(&n)
		return n, err
	}
	req, err := http.NewRequest("GET", srv.URL+"/test/sleep", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Long enough a deadline that the query is sure to be seen running before it passes; the
	// watcher looks until the answer is back, so it proves the query ran rather than guessing.
	req.Header.Set(httpapi.TimeoutHeader, "2s")
	answered := make(chan struct{})
	sawRunning := make(chan error, 1)
	go func() {
		for {
			n, err := running()
			switch {
			case err != nil:
				sawRunning <- err
				return
			case n > 0:
				sawRunning <- nil
				return
			}
			select {
			case <-answered:
				sawRunning <- errors.New("the query was never seen running while the request was in flight")
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	res, err := http.DefaultClient.Do(req)
	close(answered)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := <-sawRunning; err != nil {
		t.Fatal(err)
	}
	var body struct {
		Errors map[string][]string `json:"errors"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusGatewayTimeout || len(body.Errors["request"]) == 0 {
		t.Fatalf("status %d, body %v; want 504 with errors.request", res.StatusCode, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := running()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("pg_sleep still running on the server 10s after the request's deadline")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
