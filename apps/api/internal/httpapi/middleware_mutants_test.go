package httpapi

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/brisk-go/brisk/libs/conduit/apperr"
)

// These tests build a bare gin engine around one middleware at a time, so each rule of
// middleware.go is checked on its own, apart from the routes.

func bareEngine(middleware ...gin.HandlerFunc) *gin.Engine {
	gin.SetMode(gin.TestMode)
	e := gin.New()
	e.Use(middleware...)
	return e
}

func serve(e http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	return w
}

// Every answer to a request with an Origin varies by Origin, whether or not the origin is
// allowed: a shared cache that stored one origin's answer (with or without its
// Access-Control-Allow-Origin) must not serve it to another origin.
func TestCORSAnswersVaryByOrigin(t *testing.T) {
	t.Parallel()
	e := bareEngine(cors([]string{"https://app.example.com"}))
	e.GET("/x", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	for _, origin := range []string{"https://app.example.com", "https://evil.example.com"} {
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		r.Header.Set("Origin", origin)
		w := serve(e, r)
		if !slices.Contains(w.Header().Values("Vary"), "Origin") {
			t.Errorf("Origin %s: Vary = %q, want it to include Origin", origin, w.Header().Values("Vary"))
		}
		allowed := w.Header().Get("Access-Control-Allow-Origin")
		if (origin == "https://app.example.com") != (allowed == origin) {
			t.Errorf("Origin %s: Access-Control-Allow-Origin = %q", origin, allowed)
		}
	}
	// A preflight varies by what it was asked too.
	r := httptest.NewRequest(http.MethodOptions, "/x", nil)
	r.Header.Set("Origin", "https://app.example.com")
	r.Header.Set("Access-Control-Request-Method", http.MethodPut)
	w := serve(e, r)
	if w.Code != http.StatusNoContent {
		t.Fatalf("preflight = %d, want 204", w.Code)
	}
	for _, v := range []string{"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"} {
		if !slices.Contains(w.Header().Values("Vary"), v) {
			t.Errorf("preflight Vary = %q, want it to include %s", w.Header().Values("Vary"), v)
		}
	}
}

// http.ErrAbortHandler is how a handler aborts a response on purpose (net/http closes the
// connection and logs nothing): recovery must let it through, not turn it into a logged 500.
func TestRecoveryLetsErrAbortHandlerThrough(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	e := bareEngine(recovery(slog.New(slog.NewTextHandler(&logs, nil))))
	e.GET("/abort", func(*gin.Context) { panic(http.ErrAbortHandler) })
	w := httptest.NewRecorder()
	got := func() (r any) {
		defer func() { r = recover() }()
		e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/abort", nil))
		return nil
	}()
	if err, _ := got.(error); !errors.Is(err, http.ErrAbortHandler) {
		t.Errorf("recovery swallowed http.ErrAbortHandler: the panic that left it was %v", got)
	}
	if w.Body.Len() != 0 || logs.Len() != 0 {
		t.Errorf("an aborted handler got a body %q and a log %q; want neither", w.Body.String(), logs.String())
	}
}

// A handler that panics after it started its answer keeps that answer: the status is sent,
// and an error body appended to a half-written one would only corrupt it. The panic is still
// logged.
func TestRecoveryAfterAPartialResponseWritesNothingMore(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	e := bareEngine(recovery(slog.New(slog.NewTextHandler(&logs, nil))))
	e.GET("/partial", func(c *gin.Context) {
		c.Status(http.StatusOK)
		_, _ = c.Writer.WriteString(`{"articles":[`)
		panic("boom")
	})
	e.GET("/early", func(*gin.Context) { panic("boom") })

	w := serve(e, httptest.NewRequest(http.MethodGet, "/partial", nil))
	if w.Code != http.StatusOK || w.Body.String() != `{"articles":[` {
		t.Errorf("partial response then panic = %d %q, want the 200 and the partial body untouched", w.Code, w.Body.String())
	}
	if !strings.Contains(logs.String(), "panic serving request") || !strings.Contains(logs.String(), "boom") {
		t.Errorf("the panic was not logged: %q", logs.String())
	}

	// Before anything was written, the client gets the 500 and the JSON error body.
	w = serve(e, httptest.NewRequest(http.MethodGet, "/early", nil))
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), `"internal error"`) {
		t.Errorf("panic before writing = %d %q, want 500 with the error body", w.Code, w.Body.String())
	}
}

// The same for an error recorded after the handler started its answer.
func TestRenderErrorsAfterAPartialResponseWritesNothingMore(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	e := bareEngine(renderErrors(slog.New(slog.NewTextHandler(&logs, nil))))
	e.GET("/partial", func(c *gin.Context) {
		c.Status(http.StatusOK)
		_, _ = c.Writer.WriteString(`{"articles":[`)
		_ = c.Error(errors.New("database went away"))
	})
	w := serve(e, httptest.NewRequest(http.MethodGet, "/partial", nil))
	if w.Code != http.StatusOK || w.Body.String() != `{"articles":[` {
		t.Errorf("partial response then an error = %d %q, want the 200 and the partial body untouched", w.Code, w.Body.String())
	}
}

// deadlineSeen serves one request through deadline(d), whose incoming context ends at outer
// (none when zero), and returns the deadline the handler sees.
func deadlineSeen(t *testing.T, d Deadlines, outer time.Duration, header string) (time.Duration, bool) {
	t.Helper()
	var left time.Duration
	var has bool
	e := bareEngine(deadline(d))
	e.GET("/d", func(c *gin.Context) {
		var at time.Time
		at, has = c.Request.Context().Deadline()
		left = time.Until(at)
	})
	r := httptest.NewRequest(http.MethodGet, "/d", nil)
	if outer > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), outer)
		defer cancel()
		r = r.WithContext(ctx)
	}
	if header != "" {
		r.Header.Set(TimeoutHeader, header)
	}
	if w := serve(e, r); w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	return left, has
}

// A deadline the request already carries stands when it is tighter, and is tightened when it
// is looser; a zero Max caps nothing.
func TestDeadlineKeepsTheTighterOfTwo(t *testing.T) {
	t.Parallel()
	d := Deadlines{Default: 2 * time.Second, Max: time.Minute, Enabled: true}
	if left, has := deadlineSeen(t, d, time.Hour, ""); !has || left > 2*time.Second {
		t.Errorf("outer deadline an hour away, default 2s: handler sees %v (has %v), want at most 2s", left, has)
	}
	if left, has := deadlineSeen(t, d, 300*time.Millisecond, ""); !has || left > 300*time.Millisecond {
		t.Errorf("outer deadline 300ms away, default 2s: handler sees %v (has %v), want the outer 300ms", left, has)
	}
	uncapped := Deadlines{Default: 2 * time.Second, Enabled: true}
	if left, has := deadlineSeen(t, uncapped, 0, "1h"); !has || left <= 50*time.Minute || left > time.Hour {
		t.Errorf("no cap, client asks 1h: handler sees %v (has %v), want about an hour", left, has)
	}
}

// renderErrors turns an apperr's RetryAfter into a Retry-After header in whole seconds,
// rounded up, and sends none when the error has no RetryAfter; it logs the 5xx answers, not
// the client's mistakes.
func TestRenderErrorsRetryAfterAndLogging(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	e := bareEngine(renderErrors(slog.New(slog.NewTextHandler(&logs, nil))))
	e.GET("/busy", func(c *gin.Context) {
		err := apperr.New(apperr.Unavailable, "password", "too many checks at once")
		err.RetryAfter = 1500 * time.Millisecond
		_ = c.Error(err)
	})
	e.GET("/invalid", func(c *gin.Context) { _ = c.Error(apperr.New(apperr.Invalid, "id", "must be positive")) })
	w := serve(e, httptest.NewRequest(http.MethodGet, "/busy", nil))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "2" {
		t.Errorf("busy: %d with Retry-After %q, want 503 and 2 (1.5 s rounded up)", w.Code, w.Header().Get("Retry-After"))
	}
	if !strings.Contains(logs.String(), "request failed") {
		t.Errorf("a 503 was not logged: %q", logs.String())
	}
	logs.Reset()
	w = serve(e, httptest.NewRequest(http.MethodGet, "/invalid", nil))
	if w.Code != http.StatusUnprocessableEntity || w.Header().Get("Retry-After") != "" {
		t.Errorf("invalid: %d with Retry-After %q, want 422 and none", w.Code, w.Header().Get("Retry-After"))
	}
	if logs.Len() != 0 {
		t.Errorf("a 422 was logged: %q", logs.String())
	}
}
