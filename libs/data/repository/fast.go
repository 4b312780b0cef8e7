package repository

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// The fast path. Bun formats every argument into the SQL text, so every find is a new statement
// that the server parses and plans anew (and that pgx, in its default mode, prepares in an extra
// round trip). The lookups by primary key have a fixed shape, so their SQL is built once per
// model from Bun's table metadata with real placeholders: pgx prepares each statement once per
// connection (its statement cache) and sends only the arguments after that.
//
// Inside a transaction (bun.Tx) or on a bun.Conn the statement runs on the *sql.Tx / *sql.Conn
// under it. On the pool of a PostgreSQL database it runs on the pgx connection itself (see
// pgxQuery). Rows are scanned with Bun's own per-field scanners, except NOT NULL scalar columns on
// PostgreSQL, which the driver scans straight into the field: the same values either way (the
// tests compare both paths on both dialects).
//
// Bun's query hooks cannot run here (they are private to *bun.DB), so the fast path starts the
// same kind of OpenTelemetry span as bunotel's hook itself; bunotel's query-duration histogram
// is not recorded for it. Models with Bun model hooks or a soft-delete column keep the normal
// path, whose semantics the fast path does not reproduce.

// tracer names our spans; it follows the global provider, as bunotel's does.
var tracer = otel.Tracer("github.com/brisk-go/brisk/libs/data/repository")

// shape is one model's fixed SQL on one dialect.
type shape struct {
	table    *schema.Table
	direct   []bool // per field: scanned straight into the struct field (see directField)
	fast     bool   // false: use Bun's normal path
	system   string // db.system: postgresql or sqlite
	postgres bool
	findOne  string // by primary key, one placeholder
	findMany string // by a list of primary keys, one placeholder (an array on PostgreSQL, JSON on SQLite)
	delete   string // by primary key
}

type shapeKey struct {
	dialect schema.Dialect
	typ     reflect.Type
}

var shapes sync.Map // shapeKey → *shape

// shapeFor returns T's shape on db's dialect, building it on first use.
func shapeFor[T any](db bun.IDB) (*shape, error) {
	key := shapeKey{db.Dialect(), reflect.TypeFor[T]()}
	if s, ok := shapes.Load(key); ok {
		return s.(*shape), nil
	}
	t := db.Dialect().Tables().Get(key.typ)
	if len(t.PKs) != 1 {
		return nil, fmt.Errorf("repository: %s needs exactly one primary key, has %d", t.Name, len(t.PKs))
	}
	s := buildShape(t, db.Dialect().Name().String() == "pg", hasModelHooks(key.typ))
	actual, _ := shapes.LoadOrStore(key, s)
	return actual.(*shape), nil
}

// hasModelHooks reports whether a pointer to typ implements any Bun query hook that a select or
// delete would call: the fast path skips Bun's query builder, so it would skip them too.
func hasModelHooks(typ reflect.Type) bool {
	p := reflect.PointerTo(typ)
	for _, hook := range []reflect.Type{
		reflect.TypeFor[bun.BeforeSelectHook](), reflect.TypeFor[bun.AfterSelectHook](),
		reflect.TypeFor[bun.BeforeDeleteHook](), reflect.TypeFor[bun.AfterDeleteHook](),
		reflect.TypeFor[bun.BeforeScanRowHook](), reflect.TypeFor[bun.AfterScanRowHook](),
	} {
		if p.Implements(hook) {
			return true
		}
	}
	return false
}

func buildShape(t *schema.Table, postgres, hooks bool) *shape {
	s := &shape{table: t, postgres: postgres, system: "sqlite"}
	if postgres {
		s.system = "postgresql"
	}
	s.fast = !hooks && t.SoftDeleteField == nil && !t.HasBeforeScanRowHook() && !t.HasAfterScanRowHook()
	s.direct = make([]bool, len(t.Fields))
	for i, f := range t.Fields {
		s.direct[i] = postgres && directField(f)
	}

	var cols strings.Builder
	for i, f := range t.Fields {
		if i > 0 {
			cols.WriteString(", ")
		}
		cols.WriteString(string(t.SQLAlias) + "." + string(f.SQLName))
	}
	pk := string(t.SQLAlias) + "." + string(t.PKs[0].SQLName)
	sel := "SELECT " + cols.String() + " FROM " + string(t.SQLNameForSelects) + " AS " + string(t.SQLAlias)
	if postgres {
		s.findOne = sel + " WHERE " + pk + " = $1"
		s.findMany = sel + " WHERE " + pk + " = ANY($1)"
		s.delete = "DELETE FROM " + string(t.SQLName) + " WHERE " + string(t.PKs[0].SQLName) + " = $1"
	} else {
		// SQLite has no arrays: one JSON text argument keeps a single statement shape for any
		// number of ids.
		s.findOne = sel + " WHERE " + pk + " = ?"
		s.findMany = sel + " WHERE " + pk + " IN (SELECT value FROM json_each(?))"
		s.delete = "DELETE FROM " + string(t.SQLName) + " WHERE " + string(t.PKs[0].SQLName) + " = ?"
	}
	return s
}

// sqlRunner is what *sql.DB, *sql.Tx and *sql.Conn share.
type sqlRunner interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// runnerOf returns the database/sql handle under db, or false for an IDB we do not know (the
// caller then uses Bun's normal path).
func runnerOf(db bun.IDB) (sqlRunner, bool) {
	switch d := db.(type) {
	case *bun.DB:
		return d.DB, true
	case bun.Tx:
		return d.Tx, d.Tx != nil
	case *bun.Tx:
		return d.Tx, d.Tx != nil
	case bun.Conn:
		return d.Conn, d.Conn != nil
	}
	return nil, false
}

// span starts a client span shaped like bunotel's: named after the operation, with
// db.system, db.operation, db.sql.table and db.statement.
func (s *shape) span(ctx context.Context, op, stmt string) (context.Context, trace.Span) {
	ctx, span := tracer.Start(ctx, op, trace.WithSpanKind(trace.SpanKindClient))
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("db.system", s.system),
			attribute.String("db.operation", op),
			attribute.String("db.sql.table", s.table.Name),
			attribute.String("db.statement", stmt),
		)
	}
	return ctx, span
}

func endSpan(span trace.Span, err error) {
	if err != nil && !errors.Is(err, sql.ErrNoRows) && span.IsRecording() {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// fieldScanner hands one column to Bun's scanner for its field.
type fieldScanner struct {
	field *schema.Field
	strct reflect.Value
}

func (f *fieldScanner) Scan(src any) error { return f.field.ScanValue(f.strct, src) }

// scanTarget is a reusable set of scan destinations aimed at one struct value.
type scanTarget struct {
	scanners []fieldScanner
	dest     []any
}

func (s *shape) target(strct reflect.Value) *scanTarget {
	st := &scanTarget{scanners: make([]fieldScanner, len(s.table.Fields)), dest: make([]any, len(s.table.Fields))}
	for i, f := range s.table.Fields {
		if s.direct[i] {
			st.dest[i] = strct.Field(f.Index[0]).Addr().Interface()
			continue
		}
		st.scanners[i] = fieldScanner{field: f, strct: strct}
		st.dest[i] = &st.scanners[i]
	}
	return st
}

// directTypes are the field types the driver can scan into as they are, giving what Bun's
// scanner would: the value itself.
var directTypes = map[reflect.Type]bool{
	reflect.TypeFor[int64](): true, reflect.TypeFor[int](): true, reflect.TypeFor[int32](): true,
	reflect.TypeFor[string](): true, reflect.TypeFor[bool](): true, reflect.TypeFor[float64](): true,
	reflect.TypeFor[time.Time](): true,
}

// directField reports whether f can skip Bun's scanner on PostgreSQL: a plain scalar field of
// the struct itself, in a column that cannot be NULL (Bun's scanner turns NULL into the zero
// value; a plain pointer would be an error). Scanning through Bun costs an interface value and
// a reflective set per column, which a batch of 100 rows feels.
func directField(f *schema.Field) bool {
	return len(f.Index) == 1 && !f.IsPtr && (f.NotNull || f.IsPK) && directTypes[f.StructField.Type]
}

// fastFindOne reads the row with primary key id into a new T; found is false when none matched.
func fastFindOne[T any](ctx context.Context, s *shape, q sqlRunner, id int64) (row *T, found bool, err error) {
	ctx, span := s.span(ctx, "SELECT", s.findOne)
	defer func() { endSpan(span, err) }()
	row = new(T)
	dest := s.target(reflect.ValueOf(row).Elem()).dest
	n, err := s.query(ctx, q, s.findOne, id, func(next func() bool, scan func(...any) error) (int, error) {
		if !next() {
			return 0, nil
		}
		return 1, scan(dest...)
	})
	if err != nil || n == 0 {
		return nil, false, err
	}
	return row, true, nil
}

// fastFindMany reads every row whose primary key is in ids.
func fastFindMany[T any](ctx context.Context, s *shape, q sqlRunner, ids []int64) (out []T, err error) {
	ctx, span := s.span(ctx, "SELECT", s.findMany)
	defer func() { endSpan(span, err) }()
	var arg any = ids
	if !s.postgres {
		arg = jsonInts(ids)
	}
	out = make([]T, 0, len(ids))
	var row T
	dest := s.target(reflect.ValueOf(&row).Elem()).dest
	_, err = s.query(ctx, q, s.findMany, arg, func(next func() bool, scan func(...any) error) (int, error) {
		for next() {
			row = *new(T)
			if err := scan(dest...); err != nil {
				return 0, err
			}
			out = append(out, row)
		}
		return len(out), nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// query runs stmt with arg and hands its rows to read. On the pool of a PostgreSQL database it
// talks to pgx directly (see pgxQuery); anywhere else through database/sql.
func (s *shape) query(ctx context.Context, q sqlRunner, stmt string, arg any,
	read func(next func() bool, scan func(...any) error) (int, error)) (int, error) {
	if pool, ok := q.(*sql.DB); ok && s.postgres {
		n, err := pgxQuery(ctx, pool, stmt, arg, read)
		if !errors.Is(err, errNotPgx) {
			return n, err
		}
	}
	rows, err := q.QueryContext(ctx, stmt, arg)
	if err != nil {
		return 0, err
	}
	defer func() { _ = rows.Close() }() // on the error paths; the last Close below is checked
	n, err := read(rows.Next, rows.Scan)
	if err != nil {
		return 0, err
	}
	// Next reports a driver error (a row the server failed to produce, a cancelled context) only
	// as false: without Err that would read as the end of the rows, a short result.
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return n, rows.Close()
}

// errNotPgx: the pool's driver connection is not pgx's, so database/sql it is.
var errNotPgx = errors.New("repository: not a pgx connection")

// pgxConnGetter is pgx's database/sql connection (*stdlib.Conn), which lends its *pgx.Conn.
type pgxConnGetter interface{ Conn() *pgx.Conn }

// pgxQuery runs stmt on a pgx connection borrowed from pool. database/sql watches a cancellable
// context with one goroutine per result set; pgx watches it with context.AfterFunc. Every
// request's context is cancellable (it has a deadline), and on a busy machine that goroutine's
// wake-ups cost as much as the query itself, so the pool path skips it. Cancellation is
// pgx's own: a cancel request to the server when ctx ends, as everywhere else.
func pgxQuery(ctx context.Context, pool *sql.DB, stmt string, arg any,
	read func(next func() bool, scan func(...any) error) (int, error)) (n int, err error) {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, conn.Close()) }()
	err = conn.Raw(func(dc any) error {
		g, ok := dc.(pgxConnGetter)
		if !ok {
			return errNotPgx
		}
		rows, err := g.Conn().Query(ctx, stmt, arg)
		if err != nil {
			return err
		}
		defer rows.Close()
		if n, err = read(rows.Next, rows.Scan); err != nil {
			return err
		}
		rows.Close()
		return rows.Err()
	})
	return n, err
}

// pgxExec is pgxQuery for a statement without rows.
func pgxExec(ctx context.Context, pool *sql.DB, stmt string, arg any) (res sql.Result, err error) {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, conn.Close()) }()
	err = conn.Raw(func(dc any) error {
		g, ok := dc.(pgxConnGetter)
		if !ok {
			return errNotPgx
		}
		tag, err := g.Conn().Exec(ctx, stmt, arg)
		if err != nil {
			return err
		}
		res = driver.RowsAffected(tag.RowsAffected())
		return nil
	})
	return res, err
}

// fastDelete removes the row with primary key id and returns the driver's result.
func fastDelete(ctx context.Context, s *shape, q sqlRunner, id int64) (res sql.Result, err error) {
	ctx, span := s.span(ctx, "DELETE", s.delete)
	defer func() {
		if res != nil && span.IsRecording() {
			if n, err := res.RowsAffected(); err == nil {
				span.SetAttributes(attribute.Int64("db.rows_affected", n))
			}
		}
		endSpan(span, err)
	}()
	if pool, ok := q.(*sql.DB); ok && s.postgres {
		res, err := pgxExec(ctx, pool, s.delete, id)
		if !errors.Is(err, errNotPgx) {
			return res, err
		}
	}
	return q.ExecContext(ctx, s.delete, id)
}

func jsonInts(ids []int64) string {
	b := make([]byte, 0, 2+len(ids)*8)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}
