package repository_test

import (
	"context"
	"errors"
	"flag"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/brisk-go/brisk/libs/data/datatest"
	"github.com/brisk-go/brisk/libs/data/repository"
)

// spans records every span of the process: the fast path traces through the global provider,
// as bunotel does. Tests find their own spans by the parent they started.
var (
	spans    = tracetest.NewSpanRecorder()
	provider = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
)

// tracing is whether the recorder is installed: not while benchmarking, where recording every
// span would measure the SDK (and grow its memory) instead of the query path.
var tracing bool

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		otel.SetTracerProvider(provider)
		tracing = true
	}
	goleak.VerifyTestMain(m)
}

func seedUsers(t *testing.T, db bun.IDB, n int) []testUser {
	t.Helper()
	users := make([]testUser, n)
	for i := range users {
		users[i] = user(i)
	}
	if err := repository.New[testUser]().CreateMany(t.Context(), db, users); err != nil {
		t.Fatal(err)
	}
	return users
}

func byID(us []testUser) []testUser {
	out := slices.Clone(us)
	slices.SortFunc(out, func(a, b testUser) int { return int(a.ID - b.ID) })
	return out
}

// The fast path gives exactly what Bun's query builder gives, on the pool and in a transaction.
func TestFastPathMatchesBun(t *testing.T) {
	t.Parallel()
	db := datatest.New(t)
	ctx := t.Context()
	repo := repository.New[testUser]()
	users := seedUsers(t, db, 5)
	users[2].Bio, users[2].Image = "bio with 'quotes' and ünïcode", "https://example.com/a.png"
	if err := repo.Update(ctx, db, &users[2]); err != nil {
		t.Fatal(err)
	}

	check := func(t *testing.T, db bun.IDB) {
		for _, u := range users {
			fast, err := repo.FindByID(ctx, db, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			slow, err := repo.BunFindByID(ctx, db, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Fatalf("fast path %+v, Bun %+v", fast, slow)
			}
		}
		if _, err := repo.FindByID(ctx, db, 987654); !errors.Is(err, repository.ErrNotFound) {
			t.Fatalf("missing id: %v", err)
		}
		ids := []int64{users[4].ID, users[0].ID, 987654, users[2].ID, users[0].ID}
		fast, err := repo.FindByIDs(ctx, db, ids)
		if err != nil {
			t.Fatal(err)
		}
		slow, err := repo.BunFindByIDs(ctx, db, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(fast) != 3 || !reflect.DeepEqual(byID(fast), byID(slow)) {
			t.Fatalf("FindByIDs: fast path %+v, Bun %+v", fast, slow)
		}
	}
	t.Run("pool", func(t *testing.T) { check(t, db) })
	t.Run("transaction", func(t *testing.T) {
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			// A row only this transaction can see: the fast path must run on the transaction.
			extra := user(77)
			if err := repo.Create(ctx, tx, &extra); err != nil {
				return err
			}
			got, err := repo.FindByID(ctx, tx, extra.ID)
			if err != nil || got.Username != "user77" {
				t.Fatalf("uncommitted row in the transaction: %+v, %v", got, err)
			}
			many, err := repo.FindByIDs(ctx, tx, []int64{extra.ID})
			if err != nil || len(many) != 1 {
				t.Fatalf("uncommitted row by FindByIDs: %+v, %v", many, err)
			}
			check(t, tx)
			return errors.New("roll back")
		})
		if err == nil || err.Error() != "roll back" {
			t.Fatal(err)
		}
	})
	t.Run("connection", func(t *testing.T) {
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		check(t, conn)
	})

	// Delete: the fast path and Bun's both report a missing row as ErrNotFound.
	if err := repo.Delete(ctx, db, users[1].ID); err != nil {
		t.Fatal(err)
	}
	if err := repo.Delete(ctx, db, users[1].ID); !errors.Is(err, repository.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if err := repo.BunDelete(ctx, db, users[1].ID); !errors.Is(err, repository.ErrNotFound) {
		t.Fatalf("Bun delete of the deleted row: %v", err)
	}
	if _, err := repo.BunFindByID(ctx, db, users[1].ID); !errors.Is(err, repository.ErrNotFound) {
		t.Fatalf("row still there after the fast delete: %v", err)
	}
}

// The statements carry placeholders, not the ids, so one statement serves every id; on
// PostgreSQL pgx prepares it once per connection.
func TestFastPathIsPreparedOncePerConnection(t *testing.T) {
	t.Parallel()
	db := datatest.New(t)
	ctx := t.Context()
	repo := repository.New[testUser]()
	users := seedUsers(t, db, 3)
	findOne, findMany, del, fast := repository.Statements[testUser](db)
	if !fast {
		t.Fatal("users should take the fast path")
	}
	ph := "?"
	if datatest.Dialect() == "postgres" {
		ph = "$1"
	}
	for _, s := range []string{findOne, findMany, del} {
		if strings.Count(s, ph) != 1 {
			t.Fatalf("statement %q should have exactly one %s placeholder", s, ph)
		}
	}
	if datatest.Dialect() != "postgres" {
		return
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, u := range users {
		if _, err := repo.FindByID(ctx, conn, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := repo.FindByIDs(ctx, conn, []int64{u.ID, users[0].ID}); err != nil {
			t.Fatal(err)
		}
	}
	var prepared []string
	if err := conn.NewRaw("SELECT statement FROM pg_prepared_statements").Scan(ctx, &prepared); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{findOne, findMany} {
		if n := slices.Index(prepared, want); n < 0 {
			t.Fatalf("%q is not prepared on the connection; prepared: %q", want, prepared)
		}
	}
}

// Each fast-path query is one statement at the driver, and the counter that tests use to bound
// queries per request sees it.
func TestFastPathIsCounted(t *testing.T) {
	t.Parallel()
	db, counter := datatest.NewCounted(t)
	ctx := t.Context()
	repo := repository.New[testUser]()
	users := seedUsers(t, db, 2)
	counter.Reset()
	if _, err := repo.FindByID(ctx, db, users[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.FindByIDs(ctx, db, []int64{users[0].ID, users[1].ID}); err != nil {
		t.Fatal(err)
	}
	if err := repo.Delete(ctx, db, users[1].ID); err != nil {
		t.Fatal(err)
	}
	if n := counter.Load(); n != 3 {
		t.Fatalf("counted %d statements, want 3", n)
	}
}

// The fast path traces like bunotel: a client span per query, named after the operation, with
// the database system, operation, table and statement.
func TestFastPathTraces(t *testing.T) {
	if !tracing {
		t.Skip("no span recorder while benchmarking")
	}
	t.Parallel()
	db := datatest.New(t)
	repo := repository.New[testUser]()
	users := seedUsers(t, db, 1)
	ctx, parent := provider.Tracer("test").Start(t.Context(), "parent")
	if _, err := repo.FindByID(ctx, db, users[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := repo.Delete(ctx, db, 987654); !errors.Is(err, repository.ErrNotFound) {
		t.Fatal(err)
	}
	parent.End()
	var mine []sdktrace.ReadOnlySpan
	for _, s := range spans.Ended() {
		if s.Parent().SpanID() == parent.SpanContext().SpanID() {
			mine = append(mine, s)
		}
	}
	if len(mine) != 2 {
		t.Fatalf("want 2 query spans under the parent, got %d", len(mine))
	}
	system := "sqlite"
	if datatest.Dialect() == "postgres" {
		system = "postgresql"
	}
	findOne, _, del, _ := repository.Statements[testUser](db)
	for i, want := range []struct{ op, stmt string }{{"SELECT", findOne}, {"DELETE", del}} {
		s := mine[i]
		attrs := map[string]string{}
		for _, kv := range s.Attributes() {
			attrs[string(kv.Key)] = kv.Value.String()
		}
		if s.Name() != want.op || s.SpanKind() != trace.SpanKindClient || attrs["db.system"] != system ||
			attrs["db.operation"] != want.op || attrs["db.statement"] != want.stmt || attrs["db.sql.table"] != "users" {
			t.Fatalf("span %q kind %v attrs %v", s.Name(), s.SpanKind(), attrs)
		}
	}
	if attrs := mine[1].Attributes(); !slices.ContainsFunc(attrs, func(kv attribute.KeyValue) bool {
		return kv.Key == "db.rows_affected" && kv.Value.AsInt64() == 0
	}) {
		t.Fatalf("delete span lacks db.rows_affected: %v", attrs)
	}
}
