package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// TimeoutHeader lets a client ask for a shorter (or, up to the cap, longer) deadline than the
// default, as a Go duration: "X-Request-Timeout: 250ms".
const TimeoutHeader = "X-Request-Timeout"

// Deadlines is how long a request may run (CONTEXT_DEFAULT_TIMEOUT, CONTEXT_MAX_TIMEOUT,
// CONTEXT_ENABLE_DEADLINE). The deadline rides on the request's context into every database,
// cache and event call, so work for a request nobody waits for any more stops, down to the
// query on the database server.
type Deadlines struct {
	Default time.Duration // given to every request that asks for none; 0: none
	Max     time.Duration // cap on any deadline, asked for or default; 0: no cap
	// Enabled adds Default where the request's context has no deadline yet. Off, a request
	// runs without one unless the client asks for one.
	Enabled bool
}

// deadline gives each request its deadline. It does not answer for the handler when the
// deadline passes: the handler's calls fail with the context's error, and renderErrors turns
// that into a 504.
func deadline(d Deadlines) gin.HandlerFunc {
	return func(c *gin.Context) {
		timeout := time.Duration(0)
		if d.Enabled {
			timeout = d.Default
		}
		if raw := c.GetHeader(TimeoutHeader); raw != "" {
			asked, err := time.ParseDuration(raw)
			if err != nil || asked <= 0 {
				writeError(c, http.StatusBadRequest, map[string][]string{
					TimeoutHeader: {"must be a positive duration such as 250ms or 2s"},
				})
				return
			}
			timeout = asked
		}
		if d.Max > 0 && timeout > d.Max {
			timeout = d.Max
		}
		if timeout <= 0 {
			c.Next()
			return
		}
		ctx := c.Request.Context()
		if have, ok := ctx.Deadline(); ok && time.Until(have) <= timeout {
			c.Next() // an earlier, tighter deadline stands
			return
		}
		// The timer is armed only if something waits on the deadline (lazyDeadline).
		lazy := newLazyDeadline(ctx, time.Now().Add(timeout))
		defer lazy.stop()
		c.Request = c.Request.WithContext(lazy)
		c.Next()
		// Recorded before stop runs: afterwards every request would look cut short.
		if errors.Is(lazy.Err(), context.DeadlineExceeded) {
			c.Set(deadlinePassedKey, true)
		}
	}
}
