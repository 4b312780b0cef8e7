package httpapi

import (
	"context"
	"log/slog"
	"slices"

	"github.com/gin-gonic/gin"
)

// accessLog writes one info line per request once it is answered: method, route template
// (not the raw path: no ids or slugs, and bounded cardinality), status, bytes written,
// latency, request id and, when signed in, the user id. It runs outside recovery and the
// error renderer, so it sees the status they chose. quiet paths (health probes) are skipped.
func accessLog(log *slog.Logger, quiet []string) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if slices.Contains(quiet, c.Request.URL.Path) {
			return
		}
		// The request's context carries the trace for the log handler; its cancellation
		// (the client went away) must not drop the line.
		ctx := context.WithoutCancel(c.Request.Context())
		if !log.Enabled(ctx, slog.LevelInfo) {
			return
		}
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		// LogAttrs with typed attributes: no value is boxed into an interface.
		attrs := [7]slog.Attr{
			slog.String("method", c.Request.Method),
			slog.String("route", route),
			slog.Int("status", c.Writer.Status()),
			slog.Int("bytes", max(c.Writer.Size(), 0)),
			slog.Duration("latency", sinceStart(c)),
			slog.String("request_id", c.GetString(requestIDKey)),
		}
		n := 6
		if id := viewer(c); id != 0 {
			attrs[n] = slog.Int64("user_id", id)
			n++
		}
		log.LogAttrs(ctx, slog.LevelInfo, "request", attrs[:n]...)
	}
}
