package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/data"
)

// IdempotencyKeyHeader names the key a client sends with a POST it may retry.
const IdempotencyKeyHeader = "Idempotency-Key"

// Idempotency stores the outcome of each POST sent with an Idempotency-Key (Stripe-style): a
// retry with the same key and the same request gets the stored answer instead of doing the
// write twice; the same key with a different request is a 422; while the first is still
// running, a 409. Keys are scoped per user (the token's subject; anonymous requests share
// scope 0) and kept for TTL. Outcomes that invite a retry (the client gone, 503, 504) are not
// stored, and the retry runs again — unless the request's change had committed: the key is
// marked saved inside the write's own transaction (a commit hook), so a retry after a
// commit-then-failure (the deadline passed while the answer was built, the database went away
// after the commit) gets a 409 saying the change was saved, never a second change.
type Idempotency struct {
	DB  bun.IDB
	TTL time.Duration    // 0: DefaultIdempotencyTTL
	Now func() time.Time // nil: time.Now
	// StaleAfter is how long a request may hold its key unfinished (a process that died
	// mid-request) before a retry may take the key over. 0: 5 minutes.
	StaleAfter time.Duration
}

// DefaultIdempotencyTTL is how long a stored outcome answers retries.
const DefaultIdempotencyTTL = 24 * time.Hour

// maxIdempotencyKey bounds the key's length.
const maxIdempotencyKey = 255

func (h *handlers) idempotency(cfg *Idempotency, maxBody int64, log *slog.Logger) gin.HandlerFunc {
	ttl := cmpOr(cfg.TTL, DefaultIdempotencyTTL)
	stale := cmpOr(cfg.StaleAfter, 5*time.Minute)
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return func(c *gin.Context) {
		key := c.GetHeader(IdempotencyKeyHeader)
		if c.Request.Method != http.MethodPost || key == "" || c.FullPath() == "" {
			c.Next()
			return
		}
		if len(key) > maxIdempotencyKey || !printableASCII(key) {
			writeError(c, http.StatusBadRequest, map[string][]string{IdempotencyKeyHeader: {"must be 1–255 printable ASCII characters"}})
			return
		}
		var body []byte
		if c.Request.Body != nil {
			b, err := io.ReadAll(io.LimitReader(c.Request.Body, maxBody+1))
			if err != nil {
				writeError(c, http.StatusBadRequest, map[string][]string{"body": {"could not be read"}})
				return
			}
			if int64(len(b)) > maxBody {
				c.Next() // over the limit: limitBody answers 413 and nothing is stored
				return
			}
			body = b
			c.Request.Body = io.NopCloser(bytes.NewReader(b))
		}
		sum := sha256.New()
		sum.Write([]byte(c.Request.Method + " " + c.Request.URL.Path + "\n"))
		sum.Write(body)
		hash := hex.EncodeToString(sum.Sum(nil))
		user := h.tokenSubject(c)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), 5*time.Second)
		defer cancel()

		st := idemStore{db: cfg.DB}
		outcome, err := st.claim(ctx, user, key, hash, now(), ttl, stale)
		if err != nil {
			storeFailed(c, log, err)
			return
		}
		switch outcome.state {
		case idemMismatch:
			writeError(c, http.StatusUnprocessableEntity, map[string][]string{IdempotencyKeyHeader: {"was already used with a different request"}})
			return
		case idemRunning:
			writeError(c, http.StatusConflict, map[string][]string{IdempotencyKeyHeader: {"is in use by a request still running; retry later"}})
			return
		case idemSaved:
			writeError(c, http.StatusConflict, map[string][]string{IdempotencyKeyHeader: {"was used by a request whose change was saved but whose answer was lost; read the resource instead of retrying"}})
			return
		case idemDone:
			if outcome.contentType != "" {
				c.Header("Content-Type", outcome.contentType)
			}
			c.Header("Idempotent-Replayed", "true")
			c.Status(outcome.status)
			_, _ = c.Writer.Write(outcome.body)
			c.Abort()
			return
		}

		c.Request = c.Request.WithContext(data.WithCommitHook(c.Request.Context(), func(ctx context.Context, tx bun.Tx) error {
			return st.markSaved(ctx, tx, user, key)
		}))
		w := &captureWriter{ResponseWriter: c.Writer}
		c.Writer = w
		c.Next()
		status := c.Writer.Status()
		var serr error
		switch status {
		case StatusClientClosedRequest, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			serr = st.release(ctx, user, key)
		default:
			serr = st.finish(ctx, user, key, status, c.Writer.Header().Get("Content-Type"), w.buf.Bytes())
		}
		if serr != nil {
			log.WarnContext(ctx, "idempotency: could not store the outcome; a retry will run again",
				"request_id", c.GetString(requestIDKey), "err", serr)
		}
	}
}

// tokenSubject is the user id of a valid token in the request, or 0: the key's scope. The
// route's own authentication still decides whether the request may run.
func (h *handlers) tokenSubject(c *gin.Context) int64 {
	token, ok := bearer(c)
	if !ok || token == "" {
		return 0
	}
	id, err := h.tokens.Verify(token)
	if err != nil {
		return 0
	}
	return id
}

// storeFailed answers a request whose key could not be read or claimed: the database is
// what both the store and the write need, so the same classes apply.
func storeFailed(c *gin.Context, log *slog.Logger, err error) {
	if data.Unavailable(err) {
		c.Header("Retry-After", strconv.Itoa(RetryAfterUnavailable))
		writeError(c, http.StatusServiceUnavailable, map[string][]string{"database": {"is unavailable, try again shortly"}})
		logFailure(c, log, "database unavailable", err)
		return
	}
	writeError(c, http.StatusInternalServerError, map[string][]string{"server": {"internal error"}})
	logFailure(c, log, "idempotency store failed", err)
}

type captureWriter struct {
	gin.ResponseWriter
	buf bytes.Buffer
}

func (w *captureWriter) Write(b []byte) (int, error) {
	w.buf.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *captureWriter) WriteString(s string) (int, error) {
	w.buf.WriteString(s)
	return w.ResponseWriter.WriteString(s)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

type idemState int

const (
	idemNew      idemState = iota // claimed: run the request
	idemRunning                   // another request holds the key
	idemMismatch                  // the key was used with another request
	idemDone                      // replay the stored outcome
	idemSaved                     // the change committed, its answer was not stored
)

// Status values of idempotency_keys rows besides the HTTP status of a stored answer.
const (
	idemStatusRunning = 0  // claimed, no change committed yet
	idemStatusSaved   = -1 // a change committed; the answer failed (503, 504, client gone)
)

type idemOutcome struct {
	state       idemState
	status      int
	contentType string
	body        []byte
}

type idemStore struct{ db bun.IDB }

// claim inserts the key as running, or reports what holds it. An expired row is removed
// and a stale running one taken over, each once.
func (s idemStore) claim(ctx context.Context, user int64, key, hash string, now time.Time, ttl, stale time.Duration) (idemOutcome, error) {
	for attempt := 0; attempt < 2; attempt++ {
		res, err := s.db.NewRaw(
			"INSERT INTO idempotency_keys (user_id, idem_key, request_hash, status, created_at, expires_at) VALUES (?, ?, ?, 0, ?, ?) ON CONFLICT DO NOTHING",
			user, key, hash, now.Unix(), now.Add(ttl).Unix()).Exec(ctx)
		if err != nil {
			return idemOutcome{}, err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return idemOutcome{state: idemNew}, nil
		}
		var row struct {
			RequestHash string `bun:"request_hash"`
			Status      int    `bun:"status"`
			ContentType string `bun:"content_type"`
			Body        []byte `bun:"body"`
			CreatedAt   int64  `bun:"created_at"`
			ExpiresAt   int64  `bun:"expires_at"`
		}
		err = s.db.NewRaw("SELECT request_hash, status, content_type, body, created_at, expires_at FROM idempotency_keys WHERE user_id = ? AND idem_key = ?",
			user, key).Scan(ctx, &row)
		if errors.Is(err, sql.ErrNoRows) {
			continue // released meanwhile: claim again
		}
		if err != nil {
			return idemOutcome{}, err
		}
		switch {
		case row.ExpiresAt <= now.Unix():
			if _, err := s.db.NewRaw("DELETE FROM idempotency_keys WHERE user_id = ? AND idem_key = ? AND expires_at <= ?", user, key, now.Unix()).Exec(ctx); err != nil {
				return idemOutcome{}, err
			}
			continue
		case row.RequestHash != hash:
			return idemOutcome{state: idemMismatch}, nil
		case row.Status == idemStatusRunning && row.CreatedAt <= now.Add(-stale).Unix():
			res, err := s.db.NewRaw("UPDATE idempotency_keys SET created_at = ? WHERE user_id = ? AND idem_key = ? AND status = 0 AND created_at = ?",
				now.Unix(), user, key, row.CreatedAt).Exec(ctx)
			if err != nil {
				return idemOutcome{}, err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				return idemOutcome{state: idemNew}, nil
			}
			return idemOutcome{state: idemRunning}, nil
		case row.Status == idemStatusRunning:
			return idemOutcome{state: idemRunning}, nil
		case row.Status == idemStatusSaved:
			return idemOutcome{state: idemSaved}, nil
		default:
			return idemOutcome{state: idemDone, status: row.Status, contentType: row.ContentType, body: row.Body}, nil
		}
	}
	return idemOutcome{state: idemRunning}, nil
}

func (s idemStore) finish(ctx context.Context, user int64, key string, status int, contentType string, body []byte) error {
	_, err := s.db.NewRaw("UPDATE idempotency_keys SET status = ?, content_type = ?, body = ? WHERE user_id = ? AND idem_key = ?",
		status, contentType, body, user, key).Exec(ctx)
	return err
}

// markSaved records, in the transaction of the request's change, that the change is saved:
// release then leaves the key in place.
func (s idemStore) markSaved(ctx context.Context, tx bun.Tx, user int64, key string) error {
	_, err := tx.NewRaw("UPDATE idempotency_keys SET status = ? WHERE user_id = ? AND idem_key = ? AND status = ?",
		idemStatusSaved, user, key, idemStatusRunning).Exec(ctx)
	return err
}

// release gives the key up after an answer that invites a retry, unless a change committed.
func (s idemStore) release(ctx context.Context, user int64, key string) error {
	_, err := s.db.NewRaw("DELETE FROM idempotency_keys WHERE user_id = ? AND idem_key = ? AND status = 0", user, key).Exec(ctx)
	return err
}
