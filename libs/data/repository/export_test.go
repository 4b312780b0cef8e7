package repository

import (
	"context"

	"github.com/uptrace/bun"
)

// The normal (Bun query builder) paths, for tests and benchmarks that compare the fast path
// against them.

func (r Repository[T]) BunFindByID(ctx context.Context, db bun.IDB, id int64) (*T, error) {
	s, err := shapeFor[T](db)
	if err != nil {
		return nil, err
	}
	return r.bunFindByID(ctx, db, s.table, id)
}

func (r Repository[T]) BunFindByIDs(ctx context.Context, db bun.IDB, ids []int64) ([]T, error) {
	s, err := shapeFor[T](db)
	if err != nil {
		return nil, err
	}
	return r.bunFindByIDs(ctx, db, s.table, ids)
}

func (r Repository[T]) BunDelete(ctx context.Context, db bun.IDB, id int64) error {
	s, err := shapeFor[T](db)
	if err != nil {
		return err
	}
	return r.bunDelete(ctx, db, s.table, id)
}

// Statements returns T's fast-path SQL on db's dialect.
func Statements[T any](db bun.IDB) (findOne, findMany, del string, fast bool) {
	s, err := shapeFor[T](db)
	if err != nil {
		return "", "", "", false
	}
	return s.findOne, s.findMany, s.delete, s.fast
}

// SetBeforeFetch makes f call fn at the start of every fetch; set it before the first Find.
func SetBeforeFetch[T any](f *Finder[T], fn func(ids []int64)) { f.beforeFetch = fn }
