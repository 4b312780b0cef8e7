// Package data opens Brisk's database and runs its migrations. The same code paths serve
// PostgreSQL (production, through pgx) and SQLite (the embedded default, through the pure-Go
// modernc driver): the URL picks the driver, nothing else changes.
//
// Repositories, the cache and the job queue live in sub-packages; this package only knows how to
// reach a database and keep its schema current.
package data

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" database/sql driver
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/extra/bunotel"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/brisk-go/brisk/migrations"
)

// DefaultSQLitePath is where the embedded default keeps its database when DATABASE_URL is empty.
const DefaultSQLitePath = "var/brisk.db"

// Target is a parsed DATABASE_URL: which dialect, which database/sql driver, and its DSN.
type Target struct {
	Dialect string // migrations.Postgres or migrations.SQLite
	Driver  string // database/sql driver name
	DSN     string
	Path    string // SQLite only: the file
}

// ParseURL understands postgres://, postgresql://, sqlite://PATH, file:PATH, and "" (SQLite at
// DefaultSQLitePath). The error names what is accepted, for the config validator to show.
func ParseURL(raw string, busyTimeout time.Duration) (Target, error) {
	if busyTimeout <= 0 {
		busyTimeout = 5 * time.Second
	}
	switch {
	case raw == "":
		return sqliteTarget(DefaultSQLitePath, busyTimeout), nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		u, err := url.Parse(raw)
		if err != nil {
			return Target{}, fmt.Errorf("unparsable PostgreSQL URL: %w", err)
		}
		if u.Host == "" {
			return Target{}, errors.New("PostgreSQL URL has no host")
		}
		return Target{Dialect: migrations.Postgres, Driver: "pgx", DSN: raw}, nil
	case strings.HasPrefix(raw, "sqlite://"):
		path := strings.TrimPrefix(raw, "sqlite://")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if path == "" {
			return Target{}, errors.New("sqlite:// URL has no file path")
		}
		return sqliteTarget(path, busyTimeout), nil
	case strings.HasPrefix(raw, "file:"):
		path := strings.TrimPrefix(raw, "file:")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if path == "" {
			return Target{}, errors.New("file: URL has no file path")
		}
		return sqliteTarget(path, busyTimeout), nil
	default:
		return Target{}, errors.New("want postgres://…, sqlite://PATH, file:PATH or empty for the embedded SQLite")
	}
}

func sqliteTarget(path string, busy time.Duration) Target {
	// WAL lets readers run beside the single writer; immediate transactions take the write lock
	// up front so two writers queue on the busy timeout instead of failing with SQLITE_BUSY on
	// lock upgrade; foreign keys are off by default in SQLite.
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return Target{Dialect: migrations.SQLite, Driver: "sqlite", DSN: "file:" + path + "?" + q.Encode(), Path: path}
}

// Options configures Open.
type Options struct {
	// Target is the database to open, as ParseURL made it from DATABASE_URL (the apps parse it
	// once, in their configuration). When it is empty, URL is parsed instead (tests, tools).
	Target          Target
	URL             string
	MaxOpenConns    int           // 0: DefaultMaxOpenConns for the dialect
	MaxIdleConns    int           // 0: same as MaxOpenConns
	ConnMaxLifetime time.Duration // 0: DefaultConnMaxLifetime; negative: forever
	ConnMaxIdleTime time.Duration // 0: DefaultConnMaxIdleTime; negative: forever
	BusyTimeout     time.Duration // SQLite: how long a writer waits for the lock (default 5s)
	// Tracing adds the OpenTelemetry query hook (spans and query-duration metrics per query).
	Tracing bool
	// WrapConnector, when set, wraps the driver's connector: tests use it to see every
	// statement that reaches the database, whichever path sent it.
	WrapConnector func(driver.Connector) driver.Connector
	// QueryTracer, when set, sees every query pgx sends on PostgreSQL, whether through
	// database/sql or straight on pgx's connection (the repositories' fast path).
	QueryTracer pgx.QueryTracer
}

// OpenSQL opens a database/sql pool for target, creating the SQLite file's directory if needed.
func OpenSQL(t Target) (*sql.DB, error) { return openSQL(t, Options{}) }

func openSQL(t Target, opts Options) (*sql.DB, error) {
	wrap := opts.WrapConnector
	if t.Dialect == migrations.SQLite {
		if dir := filepath.Dir(t.Path); dir != "" && dir != "." {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("data: create directory for %s: %w", t.Path, err)
			}
		}
	}
	if t.Dialect == migrations.Postgres {
		cfg, err := pgx.ParseConfig(t.DSN)
		if err != nil {
			return nil, fmt.Errorf("data: parse PostgreSQL URL: %w", err)
		}
		// On a cancelled context pgx by default breaks the connection off with a socket
		// deadline, and the pool has to dial a new one. A cancel request stops the query on the
		// server and keeps the connection usable; the deadline stays as the fallback for a
		// server that does not answer it.
		cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
			return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 2 * time.Second}
		}
		if opts.QueryTracer != nil {
			cfg.Tracer = opts.QueryTracer
		}
		if wrap != nil {
			return sql.OpenDB(wrap(stdlib.GetConnector(*cfg))), nil
		}
		return stdlib.OpenDB(*cfg), nil
	}
	db, err := sql.Open(t.Driver, t.DSN)
	if err != nil {
		return nil, fmt.Errorf("data: open %s: %w", t.Dialect, err)
	}
	if wrap != nil {
		// sql.Open has no connector to wrap: build the one it would have used.
		drv := db.Driver()
		_ = db.Close()
		return sql.OpenDB(wrap(dsnConnector{dsn: t.DSN, driver: drv})), nil
	}
	return db, nil
}

// dsnConnector is what sql.Open builds for a driver without a connector of its own.
type dsnConnector struct {
	dsn    string
	driver driver.Driver
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.driver.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.driver }

// Pool defaults. database/sql's own defaults thrash under load: no bound on open connections
// and only 2 kept idle, so every burst above 2 concurrent queries dials new PostgreSQL sessions
// and closes them again (150 clients opened 1,430 sessions in 10 s, docs/benchmarks.md). A
// bounded pool that keeps every connection it may open never reconnects while busy; the idle
// time lets it shrink after a burst, and the lifetime lets connections move to a failed-over or
// re-balanced server.
const (
	DefaultConnMaxLifetime = 30 * time.Minute
	DefaultConnMaxIdleTime = 5 * time.Minute
	// SQLite serialises writers; more connections than this only queue on its lock.
	defaultSQLiteMaxOpen = 4
	// PostgreSQL: a connection per query in flight; queries wait on I/O about as long as they
	// compute, so a few per CPU keep the CPUs busy, and the floor serves small containers.
	postgresConnsPerProc = 4
	minPostgresMaxOpen   = 8
)

// DefaultMaxOpenConns is the bound on open connections when none is configured: 4 for SQLite,
// 4×GOMAXPROCS (at least 8) for PostgreSQL.
func DefaultMaxOpenConns(dialect string) int {
	if dialect == migrations.SQLite {
		return defaultSQLiteMaxOpen
	}
	return max(minPostgresMaxOpen, postgresConnsPerProc*runtime.GOMAXPROCS(0))
}

type limits struct {
	open, idle         int
	lifetime, idleTime time.Duration
}

// poolLimits resolves the zero values of opts to the defaults: idle follows open so that a
// busy pool never closes a connection it will need a moment later.
func poolLimits(dialect string, opts Options) limits {
	l := limits{open: opts.MaxOpenConns, idle: opts.MaxIdleConns, lifetime: opts.ConnMaxLifetime, idleTime: opts.ConnMaxIdleTime}
	if l.open <= 0 {
		l.open = DefaultMaxOpenConns(dialect)
	}
	if l.idle <= 0 || l.idle > l.open {
		l.idle = l.open
	}
	switch {
	case l.lifetime == 0:
		l.lifetime = DefaultConnMaxLifetime
	case l.lifetime < 0:
		l.lifetime = 0 // database/sql: forever
	}
	switch {
	case l.idleTime == 0:
		l.idleTime = DefaultConnMaxIdleTime
	case l.idleTime < 0:
		l.idleTime = 0
	}
	return l
}

// Open connects to the database opts.Target names (parsed from opts.URL when Target is
// empty) and checks that it answers.
func Open(ctx context.Context, opts Options) (*bun.DB, error) {
	t := opts.Target
	if t.Dialect == "" {
		var err error
		if t, err = ParseURL(opts.URL, opts.BusyTimeout); err != nil {
			return nil, fmt.Errorf("data: DATABASE_URL: %w", err)
		}
	}
	sqldb, err := openSQL(t, opts)
	if err != nil {
		return nil, err
	}
	p := poolLimits(t.Dialect, opts)
	sqldb.SetMaxOpenConns(p.open)
	sqldb.SetMaxIdleConns(p.idle)
	sqldb.SetConnMaxLifetime(p.lifetime)
	sqldb.SetConnMaxIdleTime(p.idleTime)

	var db *bun.DB
	if t.Dialect == migrations.Postgres {
		db = bun.NewDB(sqldb, pgdialect.New())
	} else {
		db = bun.NewDB(sqldb, sqlitedialect.New())
	}
	if opts.Tracing {
		// bun v1.3: WithQueryHook returns a copy that carries the hook.
		// Spans carry the query template, not the formatted query: formatted queries would put
		// emails, password hashes and tokens into every trace backend.
		db = db.WithQueryHook(bunotel.NewQueryHook(bunotel.WithFormattedQueries(false)))
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("data: reach %s database: %w", t.Dialect, err)
	}
	return db, nil
}

// Dialect reports migrations.Postgres or migrations.SQLite for an open database.
func Dialect(db bun.IDB) string {
	if db.Dialect().Name().String() == "pg" {
		return migrations.Postgres
	}
	return migrations.SQLite
}

// NewMigrator opens a connection pool of its own for the database t names (golang-migrate
// closes the pool it is given) and returns a Migrator over it. Close it when done.
func NewMigrator(t Target) (*migrations.Migrator, error) {
	sqldb, err := OpenSQL(t)
	if err != nil {
		return nil, err
	}
	sqldb.SetMaxOpenConns(1)
	m, err := migrations.New(t.Dialect, sqldb)
	if err != nil {
		_ = sqldb.Close()
		return nil, err
	}
	return m, nil
}

// MigrateUp applies every pending migration to the database t names.
func MigrateUp(ctx context.Context, t Target) error {
	m, err := NewMigrator(t)
	if err != nil {
		return err
	}
	upErr := m.Up(ctx)
	return errors.Join(upErr, m.Close())
}

// SchemaStatus compares a database's applied migration version with the embedded latest one.
type SchemaStatus struct {
	Dialect string
	Version uint // applied; 0 when never migrated
	Latest  uint // highest embedded version
	Dirty   bool // the last migration failed halfway
}

// UpToDate reports whether no migration is pending and none failed halfway.
func (s SchemaStatus) UpToDate() bool { return !s.Dirty && s.Version == s.Latest }

// String describes the state for /readyz and `migrate status`.
func (s SchemaStatus) String() string {
	switch {
	case s.Dirty:
		return fmt.Sprintf("%s schema dirty at version %d: fix it, then `migrate force %d`", s.Dialect, s.Version, s.Version)
	case s.Version < s.Latest:
		return fmt.Sprintf("%s schema at version %d, %d pending (latest %d)", s.Dialect, s.Version, s.Latest-s.Version, s.Latest)
	case s.Version > s.Latest:
		return fmt.Sprintf("%s schema at version %d, newer than this build (latest %d)", s.Dialect, s.Version, s.Latest)
	default:
		return fmt.Sprintf("%s schema at version %d (latest)", s.Dialect, s.Version)
	}
}

// CheckSchema reads the applied version straight from golang-migrate's bookkeeping table: one
// cheap query, fit for a readiness probe.
func CheckSchema(ctx context.Context, db bun.IDB) (SchemaStatus, error) {
	dialect := Dialect(db)
	st := SchemaStatus{Dialect: dialect}
	latest, err := migrations.Latest(dialect)
	if err != nil {
		return st, err
	}
	st.Latest = latest
	var rows []struct {
		Version int64 `bun:"version"`
		Dirty   bool  `bun:"dirty"`
	}
	if err := db.NewRaw("SELECT version, dirty FROM schema_migrations").Scan(ctx, &rows); err != nil {
		if isMissingTable(err) {
			return st, nil
		}
		return st, fmt.Errorf("data: read schema version: %w", err)
	}
	if len(rows) > 0 {
		st.Version, st.Dirty = uint(rows[0].Version), rows[0].Dirty
	}
	return st, nil
}

func isMissingTable(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "no such table") || strings.Contains(msg, "does not exist")
}
