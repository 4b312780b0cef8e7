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
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		attrs := []any{
			"method", c.Request.Method,
			"route", route,
			"status", c.Writer.Status(),
			"bytes", max(c.Writer.Size(), 0),
			"latency", sinceStart(c),
			"request_id", c.GetString(requestIDKey),
		}
		if id := viewer(c); id != 0 {
			attrs = append(attrs, "user_id", id)
		}
		log.InfoContext(context.WithoutCancel(c.Request.Context()), "request", attrs...)
	}
}
