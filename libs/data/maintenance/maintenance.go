// Package maintenance keeps an app's maintenance mode in its database, so that one command
// (`api down`) takes every instance down and another (`api up`) brings them back. The state is
// one row of the maintenance table (migration 000005); a Watcher reads it at most once per
// refresh interval, so each request costs no query and every instance sees a change within
// that interval.
package maintenance

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"
)

// State is the maintenance mode: Active while the app is down.
type State struct {
	Active     bool
	Message    string
	RetryAfter time.Duration
	Since      time.Time
}

type row struct {
	bun.BaseModel `bun:"table:maintenance"`

	ID                int64  `bun:"id,pk"`
	Message           string `bun:"message"`
	RetryAfterSeconds int64  `bun:"retry_after_seconds"`
	SinceUnix         int64  `bun:"since_unix"`
}

// Get reads the state from db.
func Get(ctx context.Context, db bun.IDB) (State, error) {
	var rows []row
	if err := db.NewSelect().Model(&rows).Where("id = 1").Scan(ctx); err != nil {
		return State{}, fmt.Errorf("maintenance: read: %w", err)
	}
	if len(rows) == 0 {
		return State{}, nil
	}
	r := rows[0]
	return State{Active: true, Message: r.Message, RetryAfter: time.Duration(r.RetryAfterSeconds) * time.Second,
		Since: time.Unix(r.SinceUnix, 0).UTC()}, nil
}

// Down turns maintenance mode on (or changes its message and retry delay).
func Down(ctx context.Context, db bun.IDB, message string, retryAfter time.Duration, now time.Time) error {
	r := &row{ID: 1, Message: message, RetryAfterSeconds: int64(retryAfter.Round(time.Second) / time.Second), SinceUnix: now.Unix()}
	_, err := db.NewInsert().Model(r).
		On("CONFLICT (id) DO UPDATE").
		Set("message = EXCLUDED.message").
		Set("retry_after_seconds = EXCLUDED.retry_after_seconds").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("maintenance: down: %w", err)
	}
	return nil
}

// Up turns maintenance mode off; it is no error when it was off.
func Up(ctx context.Context, db bun.IDB) error {
	if _, err := db.NewDelete().Model((*row)(nil)).Where("id = 1").Exec(ctx); err != nil {
		return fmt.Errorf("maintenance: up: %w", err)
	}
	return nil
}

// Watcher serves the state from memory and re-reads it when it is older than the refresh
// interval. One caller refreshes while the others keep using the last state, so requests never
// queue behind the query; a failed read keeps the last state (and is logged).
type Watcher struct {
	db      bun.IDB
	every   time.Duration
	now     func() time.Time
	log     *slog.Logger
	state   atomic.Pointer[snapshot]
	refresh sync.Mutex
}

type snapshot struct {
	State
	read time.Time
}

// DefaultRefresh is how stale a Watcher's state may be: every instance sees `api down`
// within it.
const DefaultRefresh = time.Second

// NewWatcher returns a Watcher over db that re-reads every refresh (DefaultRefresh when 0).
// now and log may be nil.
func NewWatcher(db bun.IDB, refresh time.Duration, now func() time.Time, log *slog.Logger) *Watcher {
	if refresh <= 0 {
		refresh = DefaultRefresh
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watcher{db: db, every: refresh, now: now, log: log}
}

// Current returns the state, at most the refresh interval old.
func (w *Watcher) Current(ctx context.Context) State {
	s := w.state.Load()
	if s != nil && w.now().Sub(s.read) < w.every {
		return s.State
	}
	if !w.refresh.TryLock() {
		if s != nil {
			return s.State
		}
		w.refresh.Lock() // the very first read: wait for it
	}
	defer w.refresh.Unlock()
	if s2 := w.state.Load(); s2 != nil && s2 != s {
		return s2.State
	}
	st, err := Get(ctx, w.db)
	if err != nil {
		w.log.Warn("maintenance state unreadable; keeping the last one", "err", err)
		if s != nil {
			st = s.State
		}
	}
	w.state.Store(&snapshot{State: st, read: w.now()})
	return st
}
