// Package apperr is the API's one application error type. Services return it to say what
// went wrong in terms a client may see (invalid input, not found, forbidden, ...); the HTTP
// layer maps its Code to a status and its Fields to the RealWorld error body
// {"errors": {"field": ["message"]}}. Any other error is internal: logged with its cause,
// shown to the client only as a generic message.
package apperr

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Code classifies an Error.
type Code int

// The codes, each mapped to one HTTP status by the HTTP layer.
const (
	Internal     Code = iota // 500: a bug or an unavailable dependency
	Malformed                // 400: the request could not be parsed at all
	Unauthorized             // 401: no, bad or expired credentials
	Forbidden                // 403: authenticated, but not allowed
	NotFound                 // 404: the named resource does not exist
	TooLarge                 // 413: the body is over the limit
	Invalid                  // 422: well-formed but fails validation
	Unavailable              // 503: too busy right now; try again after RetryAfter
)

// Error is a client-safe failure: Fields holds the messages per field (or per topic, such as
// "article" or "token"), Err an optional cause kept for logs and errors.Is.
type Error struct {
	Code   Code
	Fields map[string][]string
	Err    error
	// RetryAfter, for Unavailable, is when the client may try again (the Retry-After header).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	keys := slices.Sorted(maps.Keys(e.Fields))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+" "+strings.Join(e.Fields[k], ", "))
	}
	msg := strings.Join(parts, "; ")
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an Error with one message for one field.
func New(code Code, field, message string) *Error {
	return &Error{Code: code, Fields: map[string][]string{field: {message}}}
}

// Wrap is New with a cause kept for logs.
func Wrap(code Code, field, message string, cause error) *Error {
	e := New(code, field, message)
	e.Err = cause
	return e
}

// NotFoundf reports that the named thing (e.g. "article") does not exist.
func NotFoundf(what string) *Error { return New(NotFound, what, "not found") }

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// CodeOf returns the Code of the *Error in err's chain, or Internal.
func CodeOf(err error) Code {
	if e, ok := As(err); ok {
		return e.Code
	}
	return Internal
}

// Problems collects validation messages per field; Err turns them into one Invalid error.
type Problems map[string][]string

// Add records a message for field.
func (p Problems) Add(field, format string, args ...any) {
	p[field] = append(p[field], fmt.Sprintf(format, args...))
}

// Err returns nil when nothing was added, otherwise an Invalid *Error carrying every message.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Fields: p}
}
