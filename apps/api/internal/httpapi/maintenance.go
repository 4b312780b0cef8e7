package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/brisk-go/brisk/libs/data/maintenance"
)

// MaintenanceState is what the maintenance middleware asks on each request
// (*maintenance.Watcher: the database's state, at most a second old).
type MaintenanceState interface {
	Current(ctx context.Context) maintenance.State
}

// Maintenance answers 503 with Retry-After and the operator's message on every route while
// the app is down (`api down`), except the health routes (/healthz, /readyz), so the load
// balancer still sees a live process. The admin listener is another server and never sees it.
func Maintenance(state MaintenanceState) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := c.Request.URL.Path
		if p == "/healthz" || p == "/readyz" || strings.HasPrefix(p, "/healthz/") {
			c.Next()
			return
		}
		st := state.Current(c.Request.Context())
		if !st.Active {
			c.Next()
			return
		}
		secs := int64(st.RetryAfter.Seconds())
		if secs < 1 {
			secs = 1
		}
		msg := st.Message
		if msg == "" {
			msg = "down for maintenance"
		}
		c.Header("Retry-After", strconv.FormatInt(secs, 10))
		writeError(c, http.StatusServiceUnavailable, map[string][]string{"maintenance": {msg}})
	}
}
