package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/apperr"
)

var statusOf = map[apperr.Code]int{
	apperr.Internal:     http.StatusInternalServerError,
	apperr.Malformed:    http.StatusBadRequest,
	apperr.Unauthorized: http.StatusUnauthorized,
	apperr.Forbidden:    http.StatusForbidden,
	apperr.NotFound:     http.StatusNotFound,
	apperr.TooLarge:     http.StatusRequestEntityTooLarge,
	apperr.Invalid:      http.StatusUnprocessableEntity,
	apperr.Unavailable:  http.StatusServiceUnavailable,
}

type errorBody struct {
	Errors map[string][]string `json:"errors"`
}

func writeError(c *gin.Context, status int, fields map[string][]string) {
	c.AbortWithStatusJSON(status, errorBody{Errors: fields})
}

// recovery turns a panic into a logged 500, so one bad request cannot take the process down.
func recovery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			if err, ok := r.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(r)
			}
			if !c.Writer.Written() {
				writeError(c, http.StatusInternalServerError, map[string][]string{"server": {"internal error"}})
			}
			logFailure(c, log, "panic serving request", fmt.Errorf("panic: %v", r))
		}()
		c.Next()
	}
}

// cors lets browsers on the allowed origins call the API. Preflight requests are answered
// here, before routing, so no OPTIONS route is needed.
func cors(allowed []string) gin.HandlerFunc {
	anyOrigin := slices.Contains(allowed, "*")
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		if origin == "" {
			c.Next()
			return
		}
		h := c.Writer.Header()
		h.Add("Vary", "Origin")
		if !anyOrigin && !slices.Contains(allowed, origin) {
			c.Next()
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", RequestIDHeader)
		if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Requested-With, "+RequestIDHeader+", "+TimeoutHeader)
			h.Set("Access-Control-Max-Age", "600")
			c.AbortWithStatus(http.StatusNoContent)
			return
		}
		c.Next()
	}
}

// limitBody refuses bodies over limit bytes: at once when Content-Length says so, otherwise
// when the decoder reads past the limit.
func limitBody(limit int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > limit {
			writeError(c, http.StatusRequestEntityTooLarge, map[string][]string{"body": {fmt.Sprintf("is too large (maximum is %d bytes)", limit)}})
			return
		}
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		}
		c.Next()
	}
}

// refuseNUL answers 400 for a path or query carrying a NUL character: no lookup could match
// it, and the databases reject it in text.
func refuseNUL(c *gin.Context) {
	bad := strings.IndexByte(c.Request.URL.Path, 0) >= 0
	for _, vs := range c.Request.URL.Query() {
		for _, v := range vs {
			bad = bad || strings.IndexByte(v, 0) >= 0
		}
	}
	if bad {
		writeError(c, http.StatusBadRequest, map[string][]string{"url": {"must not contain NUL characters"}})
		return
	}
	c.Next()
}

const (
	userIDKey = "brisk.userID"
	userKey   = "brisk.user" // *conduit.User, resolved by authenticate
)

// bearer extracts the token from "Authorization: Token <jwt>" (the RealWorld scheme) or
// "Bearer <jwt>".
func bearer(c *gin.Context) (string, bool) {
	h := c.GetHeader("Authorization")
	if h == "" {
		return "", false
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || (!strings.EqualFold(scheme, "Token") && !strings.EqualFold(scheme, "Bearer")) {
		return "", true
	}
	return strings.TrimSpace(token), true
}

func (h *handlers) authenticate(c *gin.Context, required bool) {
	token, present := bearer(c)
	if !present {
		if required {
			writeError(c, http.StatusUnauthorized, map[string][]string{"token": {"is missing"}})
			return
		}
		c.Next()
		return
	}
	// A token that is sent must be valid even where none is needed: a client holding a bad
	// one should learn so rather than silently see the anonymous view.
	id, err := h.tokens.Verify(token)
	if err != nil {
		e, _ := apperr.As(err)
		writeError(c, http.StatusUnauthorized, e.Fields)
		return
	}
	// Resolved once, here: a token that outlived its account is a 401 on every route, not a
	// foreign-key failure on the writes.
	u, err := h.users.Resolve(c.Request.Context(), id)
	if err != nil {
		if e, ok := apperr.As(err); ok && e.Code == apperr.Unauthorized {
			writeError(c, http.StatusUnauthorized, e.Fields)
			return
		}
		_ = c.Error(err)
		c.Abort()
		return
	}
	c.Set(userIDKey, id)
	c.Set(userKey, u)
	c.Next()
}

func (h *handlers) requireUser(c *gin.Context)  { h.authenticate(c, true) }
func (h *handlers) optionalUser(c *gin.Context) { h.authenticate(c, false) }

// resolvedUser is the authenticated user as authenticate found it, or nil.
func resolvedUser(c *gin.Context) *conduit.User {
	u, _ := c.Get(userKey)
	v, _ := u.(*conduit.User)
	return v
}

// viewer is the authenticated user's id, or 0.
func viewer(c *gin.Context) int64 {
	id, _ := c.Get(userIDKey)
	v, _ := id.(int64)
	return v
}
