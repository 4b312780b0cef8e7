package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestRequestID(t *testing.T) {
	t.Parallel()
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Use(requestID)
	var seen string
	e.GET("/", func(c *gin.Context) { seen = c.GetString(requestIDKey) })
	do := func(given string) string {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if given != "" {
			req.Header.Set(RequestIDHeader, given)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		got := rec.Header().Get(RequestIDHeader)
		if got != seen {
			t.Fatalf("header %q and context %q differ", got, seen)
		}
		return got
	}
	for _, good := range []string{"abc-123.X_y", "azAZ09-_.", strings.Repeat("x", 64)} {
		if got := do(good); got != good {
			t.Errorf("a plain caller id (%d characters) must be kept, got %q", len(good), got)
		}
	}
	a, b := do(""), do("")
	if len(a) != 16 || a == b {
		t.Errorf("generated ids must be 16 hex and distinct: %q %q", a, b)
	}
	for _, bad := range []string{strings.Repeat("x", 65), "evil\nline", "a b", "ü", "a`", "a{", "A@", "A[", "0/", "9:"} {
		if got := do(bad); got == bad || !plainID(got) {
			t.Errorf("id %q must be replaced, got %q", bad, got)
		}
	}
}
