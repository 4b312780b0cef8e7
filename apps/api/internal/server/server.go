// Package server runs the API's HTTP listener with a graceful stop, and answers the health
// probes. It knows nothing of the Conduit routes; it serves whatever handler it is given.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// Timeouts bound how long a client may hold a connection without making progress. Zero fields
// take the defaults (DefaultTimeouts).
type Timeouts struct {
	// ReadHeader bounds reading a request's headers.
	ReadHeader time.Duration
	// Read bounds reading a whole request, headers and body: a client trickling its body one
	// byte a second is cut off here instead of holding a connection and a goroutine for ever.
	Read time.Duration
	// Write bounds the time from the end of the request's headers to the end of the response;
	// keep it above the longest request deadline (CONTEXT_MAX_TIMEOUT).
	Write time.Duration
	// Idle bounds how long a kept-alive connection waits for its next request.
	Idle time.Duration
	// Shutdown is how long a stopping server lets in-flight requests finish.
	Shutdown time.Duration
}

// DefaultTimeouts are the settings table's defaults.
var DefaultTimeouts = Timeouts{
	ReadHeader: 10 * time.Second,
	Read:       30 * time.Second,
	Write:      90 * time.Second,
	Idle:       2 * time.Minute,
	Shutdown:   15 * time.Second,
}

func (t Timeouts) withDefaults() Timeouts {
	d := DefaultTimeouts
	for _, f := range []struct{ v, def *time.Duration }{
		{&t.ReadHeader, &d.ReadHeader}, {&t.Read, &d.Read}, {&t.Write, &d.Write}, {&t.Idle, &d.Idle}, {&t.Shutdown, &d.Shutdown},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return t
}

// Serve serves h on ln until ctx ends, then stops accepting, gives in-flight requests up to
// shutdownTimeout to finish, and closes what is left. It returns nil after a clean stop.
// The other timeouts are the defaults; ServeWith takes them all.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, shutdownTimeout time.Duration, log *slog.Logger) error {
	return ServeWith(ctx, ln, h, Timeouts{Shutdown: shutdownTimeout}, log)
}

// ServeWith is Serve with every timeout given.
func ServeWith(ctx context.Context, ln net.Listener, h http.Handler, timeouts Timeouts, log *slog.Logger) error {
	timeouts = timeouts.withDefaults()
	shutdownTimeout := timeouts.Shutdown
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: timeouts.ReadHeader,
		ReadTimeout:       timeouts.Read,
		WriteTimeout:      timeouts.Write,
		IdleTimeout:       timeouts.Idle,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// Requests keep their own context tree: the server's shutdown must not cancel the
		// in-flight requests it is waiting for.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("server: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	log.Info("shutting down: no new connections, waiting for in-flight requests", "timeout", shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		log.Warn("shutdown timeout reached: closing remaining connections")
		err = errors.Join(err, srv.Close())
	}
	if serveErr := <-errc; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	if err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	log.Info("server stopped")
	return nil
}

// ReadinessCheck reports why the app cannot serve traffic yet, or nil.
type ReadinessCheck func(ctx context.Context) error

// RegisterHealth adds the probes: /healthz answers 200 while the process runs (liveness, no I/O);
// /readyz runs ready with a short deadline and answers 503 with the reason when it fails.
func RegisterHealth(r gin.IRoutes, ready ReadinessCheck) {
	r.GET("/healthz", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"status": "ok"})
	})
	r.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "reason": err.Error()})
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	})
}
