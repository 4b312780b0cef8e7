// Package repository holds the generic, table-agnostic data access every model gets for free:
// find by id, find many by ids, create, update, delete and paginate. Every method takes a
// bun.IDB, so the same call runs on the pool or inside a transaction that a service composes
// with RunInTx. Queries that only make sense for one table live beside that table's model.
//
// The lookups by primary key take a fast path (prepared, fixed-shape SQL; see fast.go), and a
// Finder coalesces concurrent finds by id into one query when batching is switched on.
package repository

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"
)

// ErrNotFound reports that no row matched. Callers test it with errors.Is.
var ErrNotFound = errors.New("repository: not found")

// Page selects a window of rows. A Limit of 0 or less means no rows are fetched (only the
// total is counted); callers clamp user input before building a Page.
type Page struct {
	Limit  int
	Offset int
}

// Repository gives generic CRUD over the table that T (a bun model struct) maps to. T must
// have exactly one primary-key column holding an int64-compatible id.
type Repository[T any] struct{}

// New returns the repository for T. It holds no state: one value can serve any number of
// goroutines and databases.
func New[T any]() Repository[T] { return Repository[T]{} }

func (Repository[T]) table(db bun.IDB) (*schema.Table, error) {
	t := db.Dialect().Tables().Get(reflect.TypeFor[T]())
	if len(t.PKs) != 1 {
		return nil, fmt.Errorf("repository: %s needs exactly one primary key, has %d", t.Name, len(t.PKs))
	}
	return t, nil
}

// FindByID returns the row whose primary key is id, or ErrNotFound.
func (r Repository[T]) FindByID(ctx context.Context, db bun.IDB, id int64) (*T, error) {
	s, err := shapeFor[T](db)
	if err != nil {
		return nil, err
	}
	q, ok := runnerOf(db)
	if !ok || !s.fast {
		return r.bunFindByID(ctx, db, s.table, id)
	}
	row, found, err := fastFindOne[T](ctx, s, q, id)
	if err != nil {
		return nil, fmt.Errorf("find %s %d: %w", s.table.Name, id, err)
	}
	if !found {
		return nil, fmt.Errorf("find %s %d: %w", s.table.Name, id, ErrNotFound)
	}
	return row, nil
}

// bunFindByID is FindByID through Bun's query builder.
func (Repository[T]) bunFindByID(ctx context.Context, db bun.IDB, t *schema.Table, id int64) (*T, error) {
	row := new(T)
	err := db.NewSelect().Model(row).
		Where("?TableAlias.? = ?", bun.Ident(t.PKs[0].Name), id).
		Limit(1).
		Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("find %s %d: %w", t.Name, id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("find %s %d: %w", t.Name, id, err)
	}
	return row, nil
}

// FindByIDs returns the rows whose primary keys are in ids, in one query, in no particular
// order; ids that match nothing are simply absent. It exists so callers resolve a page of
// references without one query per row.
func (r Repository[T]) FindByIDs(ctx context.Context, db bun.IDB, ids []int64) ([]T, error) {
	s, err := shapeFor[T](db)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return []T{}, nil
	}
	q, ok := runnerOf(db)
	if !ok || !s.fast {
		return r.bunFindByIDs(ctx, db, s.table, ids)
	}
	rows, err := fastFindMany[T](ctx, s, q, ids)
	if err != nil {
		return nil, fmt.Errorf("find many %s: %w", s.table.Name, err)
	}
	return rows, nil
}

// bunFindByIDs is FindByIDs through Bun's query builder.
func (Repository[T]) bunFindByIDs(ctx context.Context, db bun.IDB, t *schema.Table, ids []int64) ([]T, error) {
	rows := make([]T, 0, len(ids))
	err := db.NewSelect().Model(&rows).
		Where("?TableAlias.? IN (?)", bun.Ident(t.PKs[0].Name), bun.List(ids)).
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("find many %s: %w", t.Name, err)
	}
	return rows, nil
}

// Create inserts row and fills in its generated primary key.
func (r Repository[T]) Create(ctx context.Context, db bun.IDB, row *T) error {
	t, err := r.table(db)
	if err != nil {
		return err
	}
	if _, err := db.NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("create %s: %w", t.Name, err)
	}
	return nil
}

// CreateMany inserts rows in one statement and fills in their primary keys.
func (r Repository[T]) CreateMany(ctx context.Context, db bun.IDB, rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	t, err := r.table(db)
	if err != nil {
		return err
	}
	if _, err := db.NewInsert().Model(&rows).Exec(ctx); err != nil {
		return fmt.Errorf("create many %s: %w", t.Name, err)
	}
	return nil
}

// Update writes row back by primary key. With columns it writes only those (the columns'
// SQL names); without, every column. It returns ErrNotFound when no row has that key.
func (r Repository[T]) Update(ctx context.Context, db bun.IDB, row *T, columns ...string) error {
	t, err := r.table(db)
	if err != nil {
		return err
	}
	q := db.NewUpdate().Model(row).WherePK()
	if len(columns) > 0 {
		q = q.Column(columns...)
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return fmt.Errorf("update %s: %w", t.Name, err)
	}
	return affectedOne(res, "update", t.Name)
}

// Delete removes the row whose primary key is id, or returns ErrNotFound.
func (r Repository[T]) Delete(ctx context.Context, db bun.IDB, id int64) error {
	s, err := shapeFor[T](db)
	if err != nil {
		return err
	}
	q, ok := runnerOf(db)
	if !ok || !s.fast {
		return r.bunDelete(ctx, db, s.table, id)
	}
	res, err := fastDelete(ctx, s, q, id)
	if err != nil {
		return fmt.Errorf("delete %s %d: %w", s.table.Name, id, err)
	}
	return affectedOne(res, "delete", s.table.Name)
}

// bunDelete is Delete through Bun's query builder.
func (Repository[T]) bunDelete(ctx context.Context, db bun.IDB, t *schema.Table, id int64) error {
	res, err := db.NewDelete().Model((*T)(nil)).
		Where("? = ?", bun.Ident(t.PKs[0].Name), id).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete %s %d: %w", t.Name, id, err)
	}
	return affectedOne(res, "delete", t.Name)
}

// Paginate returns one page of rows and the total number of rows that match. filter may be
// nil; it receives the count query and the page query alike, so it should only add
// conditions and ordering. The page is ordered by filter's order, then by primary key
// descending, so pages never overlap even when the filter's order has ties.
func (r Repository[T]) Paginate(ctx context.Context, db bun.IDB, page Page, filter func(*bun.SelectQuery) *bun.SelectQuery) ([]T, int, error) {
	t, err := r.table(db)
	if err != nil {
		return nil, 0, err
	}
	if filter == nil {
		filter = func(q *bun.SelectQuery) *bun.SelectQuery { return q }
	}
	total64, err := filter(db.NewSelect().Model((*T)(nil))).Count(ctx)
	total := int(total64)
	if err != nil {
		return nil, 0, fmt.Errorf("count %s: %w", t.Name, err)
	}
	rows := make([]T, 0, max(page.Limit, 0))
	if page.Limit <= 0 || page.Offset >= total {
		return rows, total, nil
	}
	q := filter(db.NewSelect().Model(&rows)).
		OrderExpr("?TableAlias.? DESC", bun.Ident(t.PKs[0].Name))
	if err := q.Limit(int64(page.Limit)).Offset(int64(max(page.Offset, 0))).Scan(ctx); err != nil {
		return nil, 0, fmt.Errorf("paginate %s: %w", t.Name, err)
	}
	return rows, total, nil
}

func affectedOne(res sql.Result, op, table string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s %s: rows affected: %w", op, table, err)
	}
	if n == 0 {
		return fmt.Errorf("%s %s: %w", op, table, ErrNotFound)
	}
	return nil
}
