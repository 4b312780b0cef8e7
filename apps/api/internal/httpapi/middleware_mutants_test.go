package httpapi

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
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
