package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/brisk-go/brisk/libs/perfcore/shed"
)

// shedding admits a request through s or answers 503 with Retry-After at once: a refused
// request costs microseconds, where queueing it would cost everyone their deadline.
func shedding(s *shed.Shedder) gin.HandlerFunc {
	return func(c *gin.Context) {
		done, err := s.Allow()
		if err != nil {
			c.Header("Retry-After", "1")
			writeError(c, http.StatusServiceUnavailable, map[string][]string{"server": {"is overloaded, try again shortly"}})
			return
		}
		defer done()
		c.Next()
	}
}
