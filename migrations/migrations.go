// Package migrations holds Brisk's database schema as golang-migrate SQL files, one folder per
// dialect (postgres/, sqlite/), embedded into the binary so a deployed app can migrate itself.
//
// Both folders carry the same version numbers: a change to the schema adds one file pair to each.
// The tests check that the dialects reach the same version and that down-then-up round-trips.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database"
	mpgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	msqlite "github.com/golang-migrate/migrate/v4/database/sqlite"
	"github.com/golang-migrate/migrate/v4/source/iofs"
)

// Dialect names accepted by New.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Source returns the migration files of one dialect.
func Source(dialect string) (fs.FS, error) {
	switch dialect {
	case Postgres, SQLite:
		return fs.Sub(files, dialect)
	default:
		return nil, fmt.Errorf("migrations: unknown dialect %q (want %q or %q)", dialect, Postgres, SQLite)
	}
}

// Latest is the highest version among the dialect's files: the version a fully migrated
// database reports.
func Latest(dialect string) (uint, error) {
	src, err := Source(dialect)
	if err != nil {
		return 0, err
	}
	entries, err := fs.ReadDir(src, ".")
	if err != nil {
		return 0, fmt.Errorf("migrations: list %s: %w", dialect, err)
	}
	var versions []uint64
	for _, e := range entries {
		head, _, ok := strings.Cut(e.Name(), "_")
		if !ok {
			continue
		}
		v, err := strconv.ParseUint(head, 10, 64)
		if err != nil {
			continue
		}
		versions = append(versions, v)
	}
	if len(versions) == 0 {
		return 0, nil
	}
	sort.Slice(versions, func(i, j int) bool { return versions[i] < versions[j] })
	return uint(versions[len(versions)-1]), nil
}

// ErrNoVersion is returned by Version for a database that has never been migrated.
var ErrNoVersion = errors.New("migrations: database has no schema version yet")

// Migrator applies the embedded migrations to one database. It owns the *sql.DB given to New
// (golang-migrate closes it), so callers hand it a connection pool of its own.
type Migrator struct {
	m       *migrate.Migrate
	dialect string
}

// New prepares a Migrator for db, which must be a database of the given dialect.
func New(dialect string, db *sql.DB) (*Migrator, error) {
	src, err := Source(dialect)
	if err != nil {
		return nil, err
	}
	source, err := iofs.New(src, ".")
	if err != nil {
		return nil, fmt.Errorf("migrations: open %s source: %w", dialect, err)
	}
	var driver database.Driver
	switch dialect {
	case Postgres:
		driver, err = mpgx.WithInstance(db, &mpgx.Config{})
	case SQLite:
		driver, err = msqlite.WithInstance(db, &msqlite.Config{})
	}
	if err != nil {
		return nil, fmt.Errorf("migrations: open %s database: %w", dialect, err)
	}
	m, err := migrate.NewWithInstance("iofs", source, dialect, driver)
	if err != nil {
		return nil, fmt.Errorf("migrations: prepare %s: %w", dialect, err)
	}
	return &Migrator{m: m, dialect: dialect}, nil
}

// run executes step and asks golang-migrate to stop after the current migration when ctx ends.
func (mg *Migrator) run(ctx context.Context, op string, step func() error) error {
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			select {
			case mg.m.GracefulStop <- true:
			default:
			}
		case <-done:
		}
	}()
	err := step()
	if errors.Is(err, migrate.ErrNoChange) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("migrations: %s %s: %w", op, mg.dialect, err)
	}
	return ctx.Err()
}

// Up applies every pending migration.
func (mg *Migrator) Up(ctx context.Context) error {
	return mg.run(ctx, "up", mg.m.Up)
}

// Down reverts the last n migrations.
func (mg *Migrator) Down(ctx context.Context, n int) error {
	if n <= 0 {
		return fmt.Errorf("migrations: down needs a positive step count, got %d", n)
	}
	return mg.run(ctx, "down", func() error { return mg.m.Steps(-n) })
}

// Force sets the recorded version without running anything, clearing the dirty flag; it is the
// way out after a failed migration has been repaired by hand.
func (mg *Migrator) Force(version int) error {
	if err := mg.m.Force(version); err != nil {
		return fmt.Errorf("migrations: force %s to %d: %w", mg.dialect, version, err)
	}
	return nil
}

// Version reports the applied version and whether the last migration failed halfway.
func (mg *Migrator) Version() (version uint, dirty bool, err error) {
	version, dirty, err = mg.m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return 0, false, ErrNoVersion
	}
	if err != nil {
		return 0, false, fmt.Errorf("migrations: version of %s: %w", mg.dialect, err)
	}
	return version, dirty, nil
}

// Close releases the database handed to New.
func (mg *Migrator) Close() error {
	srcErr, dbErr := mg.m.Close()
	return errors.Join(srcErr, dbErr)
}
