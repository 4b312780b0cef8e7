package repository

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/data/batch"
)

// FinderOptions tune a Finder.
type FinderOptions struct {
	// Batching starts the finder coalescing concurrent finds; off, every Find is one direct
	// query. SetEnabled flips it at run time (FollowOptimizer does so from the optimizer's level).
	Batching bool
	// MaxBatch caps the ids in one query (default 500).
	MaxBatch int
	// MaxInFlight caps the concurrent batch queries (default 2); while they run, ids queue.
	MaxInFlight int
}

// Finder finds rows of T by primary key on one database, coalescing concurrent finds into one
// `WHERE id = ANY(...)` query when batching is on: under load, 64 callers become a few
// queries instead of 64 round trips, identical ids share one lookup, and each caller's context
// is honoured on its own. A lone caller still goes straight to the database.
//
// Each caller gets its own copy of the row, so callers may change what they get.
type Finder[T any] struct {
	db     *bun.DB
	repo   Repository[T]
	loader *batch.Loader[int64, T]
	// beforeFetch, when set (tests), runs at the start of every fetch.
	beforeFetch func(ids []int64)
}

// NewFinder returns a Finder for T over db.
func NewFinder[T any](db *bun.DB, opts FinderOptions) (*Finder[T], error) {
	if db == nil {
		return nil, fmt.Errorf("repository: new finder for %s: no database", reflect.TypeFor[T]())
	}
	if _, err := shapeFor[T](db); err != nil {
		return nil, fmt.Errorf("repository: new finder: %w", err)
	}
	f := &Finder[T]{db: db}
	f.loader = batch.New(f.fetch, batch.Options{
		MaxBatch: opts.MaxBatch, MaxInFlight: opts.MaxInFlight, Disabled: !opts.Batching,
	})
	return f, nil
}

// SetEnabled switches batching on or off; finds already waiting finish in their batch.
func (f *Finder[T]) SetEnabled(on bool) { f.loader.SetEnabled(on) }

// Enabled reports whether finds are batched.
func (f *Finder[T]) Enabled() bool { return f.loader.Enabled() }

// Stats reports how many queries the finder sent and how many ids they carried in total.
func (f *Finder[T]) Stats() (queries, ids int64) { return f.loader.Stats() }

// Waiting reports how many finds sit queued for the next batch query.
func (f *Finder[T]) Waiting() int { return f.loader.Waiting() }

// Find returns the row whose primary key is id, or ErrNotFound.
func (f *Finder[T]) Find(ctx context.Context, id int64) (*T, error) {
	if !f.loader.Enabled() {
		// Direct: no loader bookkeeping at all, so switching batching off costs nothing.
		return f.repo.FindByID(ctx, f.db, id)
	}
	row, found, err := f.loader.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	if !found {
		s, _ := shapeFor[T](f.db)
		return nil, fmt.Errorf("find %s %d: %w", s.table.Name, id, ErrNotFound)
	}
	return &row, nil
}

// FindIn is Find on db: batched when db is the finder's own database, direct otherwise. A
// transaction must see its own writes and hold its own locks, so finds inside one are never
// coalesced with finds outside it.
func (f *Finder[T]) FindIn(ctx context.Context, db bun.IDB, id int64) (*T, error) {
	if d, ok := db.(*bun.DB); ok && d == f.db {
		return f.Find(ctx, id)
	}
	return f.repo.FindByID(ctx, db, id)
}

// fetch serves one batch. A batch of one uses the single-row statement, so a lone caller with
// batching on sends exactly the query it would send with batching off.
func (f *Finder[T]) fetch(ctx context.Context, ids []int64) (map[int64]T, error) {
	if f.beforeFetch != nil {
		f.beforeFetch(ids)
	}
	s, err := shapeFor[T](f.db)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]T, len(ids))
	if len(ids) == 1 {
		row, err := f.repo.FindByID(ctx, f.db, ids[0])
		if err == nil {
			out[ids[0]] = *row
			return out, nil
		}
		if errors.Is(err, ErrNotFound) {
			return out, nil
		}
		return nil, err
	}
	rows, err := f.repo.FindByIDs(ctx, f.db, ids)
	if err != nil {
		return nil, err
	}
	pk := s.table.PKs[0]
	for i := range rows {
		out[intOf(pk.Value(reflect.ValueOf(&rows[i]).Elem()))] = rows[i]
	}
	return out, nil
}

// intOf reads an integer primary key of any integer kind.
func intOf(v reflect.Value) int64 {
	if v.CanUint() {
		return int64(v.Uint())
	}
	return v.Int()
}
