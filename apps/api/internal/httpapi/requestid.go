package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/gin-gonic/gin"
)

// RequestIDHeader carries the id that ties a response to its log lines. A caller's id (a proxy's
// or a client's) is kept when it is short and plain, so one id can follow a request across
// services; otherwise a new one is made.
const RequestIDHeader = "X-Request-ID"

const requestIDKey = "brisk.request_id"

func requestID(c *gin.Context) {
	c.Set(startKey, time.Now())
	id := c.GetHeader(RequestIDHeader)
	if !plainID(id) {
		var b [8]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
		id = hex.EncodeToString(b[:])
	}
	c.Set(requestIDKey, id)
	c.Header(RequestIDHeader, id)
	c.Next()
}

// plainID accepts 1–64 characters of letters, digits, '-', '_' and '.': nothing that could
// forge a log line or a header.
func plainID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}
