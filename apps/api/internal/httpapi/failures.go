package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/brisk-go/brisk/libs/conduit/apperr"
	"github.com/brisk-go/brisk/libs/data"
)

// StatusClientClosedRequest is the status logged (nginx's 499) for a request whose client went
// away before the answer: nobody reads a body, so none is written.
const StatusClientClosedRequest = 499

// RetryAfterUnavailable is the Retry-After, in seconds, of a 503 for a database that is down
// or refusing connections: long enough for a restart or a failover to be under way.
const RetryAfterUnavailable = 2

const (
	startKey          = "brisk.start"
	deadlinePassedKey = "brisk.deadline_passed"
)

// renderErrors answers the last error a handler recorded with c.Error, with the status that
// tells the truth about it:
//
//   - the client went away: 499 in the log at info, and no body;
//   - the request's deadline passed: 504;
//   - the database is down or unreachable: 503 with Retry-After;
//   - anything else not coded by the domain: 500.
//
// Every 5xx is logged once, at ERROR, with its request id, route, status, cause and latency.
//
// The client's context is taken before the deadline middleware runs: that middleware cancels
// its own context when it returns, and a check made on c.Request afterwards would see every
// request as cancelled.
func renderErrors(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		client := c.Request.Context()
		c.Next()
		if len(c.Errors) == 0 || c.Writer.Written() {
			return
		}
		err := c.Errors.Last().Err
		if e, ok := apperr.As(err); ok && e.Code != apperr.Internal {
			status := statusOf[e.Code]
			if e.RetryAfter > 0 {
				c.Header("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
			}
			writeError(c, status, e.Fields)
			if status >= 500 {
				logFailure(c, log, "request failed", err)
			}
			return
		}
		switch classify(client, err, c.GetBool(deadlinePassedKey)) {
		case classClientGone:
			c.AbortWithStatus(StatusClientClosedRequest)
			log.InfoContext(client, "client closed request", requestAttrs(c, StatusClientClosedRequest, err)...)
		case classDeadline:
			writeError(c, http.StatusGatewayTimeout, map[string][]string{"request": {"timed out"}})
			logFailure(c, log, "request timed out", err)
		case classUnavailable:
			c.Header("Retry-After", strconv.Itoa(RetryAfterUnavailable))
			writeError(c, http.StatusServiceUnavailable, map[string][]string{"database": {"is unavailable, try again shortly"}})
			logFailure(c, log, "database unavailable", err)
		default:
			writeError(c, http.StatusInternalServerError, map[string][]string{"server": {"internal error"}})
			logFailure(c, log, "request failed", err)
		}
	}
}

type failureClass int

const (
	classInternal failureClass = iota
	classClientGone
	classDeadline
	classUnavailable
)

// classify names why an uncoded error happened. client is the request's context as the server
// gave it (before this API's own deadline); deadlinePassed is what the deadline middleware saw.
func classify(client context.Context, err error, deadlinePassed bool) failureClass {
	switch {
	case errors.Is(client.Err(), context.Canceled):
		return classClientGone
	case deadlinePassed, errors.Is(client.Err(), context.DeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return classDeadline
	case data.Unavailable(err):
		return classUnavailable
	}
	return classInternal
}

// logFailure writes the one ERROR line of a 5xx answer.
func logFailure(c *gin.Context, log *slog.Logger, msg string, cause error) {
	log.ErrorContext(context.WithoutCancel(c.Request.Context()), msg, requestAttrs(c, c.Writer.Status(), cause)...)
}

func requestAttrs(c *gin.Context, status int, cause error) []any {
	route := c.FullPath()
	if route == "" {
		route = c.Request.URL.Path
	}
	attrs := []any{
		"request_id", c.GetString(requestIDKey),
		"method", c.Request.Method,
		"route", route,
		"status", status,
		"latency", sinceStart(c),
	}
	if cause != nil {
		attrs = append(attrs, "err", cause.Error())
	}
	return attrs
}

func sinceStart(c *gin.Context) time.Duration {
	if t, ok := c.Get(startKey); ok {
		if start, ok := t.(time.Time); ok {
			return time.Since(start)
		}
	}
	return 0
}
