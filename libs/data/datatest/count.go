package datatest

import (
	"context"
	"database/sql/driver"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/data"
)

// Counter counts the statements sent to the database: queries, executions, BEGIN, COMMIT and
// ROLLBACK, whether Bun's query builder, a repository's fast path or raw database/sql sent them.
// Counting below Bun is the point: Bun's query hooks see only what Bun sends, and a test that
// bounds the queries per request must not miss any. On PostgreSQL it is pgx's query tracer
// (the fast path talks to pgx directly); on SQLite a wrapper around the driver's connections.
type Counter struct{ n atomic.Int64 }

// TraceQueryStart counts one statement (pgx.QueryTracer).
func (c *Counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (c *Counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// Load returns the count.
func (c *Counter) Load() int64 { return c.n.Load() }

// Reset sets the count to zero.
func (c *Counter) Reset() { c.n.Store(0) }

// NewCounted is New with every statement on the returned database counted.
func NewCounted(t testing.TB) (*bun.DB, *Counter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	u := URL(t)
	target, err := data.ParseURL(u, 0)
	if err != nil {
		t.Fatalf("datatest: %v", err)
	}
	if err := data.MigrateUp(ctx, target); err != nil {
		t.Fatalf("datatest: migrate: %v", err)
	}
	c := &Counter{}
	opts := data.Options{URL: u, MaxOpenConns: 8, WrapConnector: c.wrap}
	if Dialect() == "postgres" {
		opts.WrapConnector, opts.QueryTracer = nil, c
	}
	db, err := data.Open(ctx, opts)
	if err != nil {
		t.Fatalf("datatest: open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, c
}

func (c *Counter) wrap(inner driver.Connector) driver.Connector {
	return &countingConnector{inner: inner, c: c}
}

type countingConnector struct {
	inner driver.Connector
	c     *Counter
}

func (cc *countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := cc.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, c: cc.c}, nil
}

func (cc *countingConnector) Driver() driver.Driver { return cc.inner.Driver() }

// countingConn passes everything to the driver's connection, counting what runs a statement.
// Where the driver lacks an optional interface it answers as database/sql expects of a driver
// without it (driver.ErrSkip, or the neutral answer).
type countingConn struct {
	driver.Conn
	c *Counter
}

func (cc *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := cc.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	rows, err := q.QueryContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		cc.c.n.Add(1)
	}
	return rows, err
}

func (cc *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := cc.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	res, err := e.ExecContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		cc.c.n.Add(1)
	}
	return res, err
}

func (cc *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var st driver.Stmt
	var err error
	if p, ok := cc.Conn.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, query)
	} else {
		st, err = cc.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &countingStmt{Stmt: st, c: cc.c}, nil
}

func (cc *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	cc.c.n.Add(1)
	var tx driver.Tx
	var err error
	if b, ok := cc.Conn.(driver.ConnBeginTx); ok {
		tx, err = b.BeginTx(ctx, opts)
	} else {
		//lint:ignore SA1019 the fallback database/sql itself uses
		tx, err = cc.Conn.Begin()
	}
	if err != nil {
		return nil, err
	}
	return &countingTx{Tx: tx, c: cc.c}, nil
}

func (cc *countingConn) Ping(ctx context.Context) error {
	if p, ok := cc.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (cc *countingConn) ResetSession(ctx context.Context) error {
	if r, ok := cc.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (cc *countingConn) IsValid() bool {
	if v, ok := cc.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (cc *countingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if c, ok := cc.Conn.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

type countingTx struct {
	driver.Tx
	c *Counter
}

func (t *countingTx) Commit() error {
	t.c.n.Add(1)
	return t.Tx.Commit()
}

func (t *countingTx) Rollback() error {
	t.c.n.Add(1)
	return t.Tx.Rollback()
}

type countingStmt struct {
	driver.Stmt
	c *Counter
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.c.n.Add(1)
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	//lint:ignore SA1019 drivers without StmtExecContext
	return s.Stmt.Exec(values(args))
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.c.n.Add(1)
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	//lint:ignore SA1019 drivers without StmtQueryContext
	return s.Stmt.Query(values(args))
}

func (s *countingStmt) CheckNamedValue(nv *driver.NamedValue) error {
	if c, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func values(args []driver.NamedValue) []driver.Value {
	out := make([]driver.Value, len(args))
	for i, a := range args {
		out[i] = a.Value
	}
	return out
}
