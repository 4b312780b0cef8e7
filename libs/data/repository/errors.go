package repository

import "errors"

// Driver error shapes, matched by method rather than by type so this package does not import
// any database driver: pgx's *pgconn.PgError has SQLState, bun's pgdriver.Error has Field, and
// modernc.org/sqlite's *Error has Code.
type (
	sqlStater   interface{ SQLState() string }
	fieldGetter interface{ Field(byte) string }
	coder       interface{ Code() int }
)

const (
	pgUniqueViolation     = "23505"
	sqliteConstraintPK    = 1555 // SQLITE_CONSTRAINT_PRIMARYKEY
	sqliteConstraintUniqe = 2067 // SQLITE_CONSTRAINT_UNIQUE
)

// IsUniqueViolation reports whether err comes from a unique index or primary key rejecting a
// duplicate, on PostgreSQL or SQLite. Services use it to turn a lost race on a unique value
// (a slug, a username) into a retry or a validation error instead of an internal one.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var s sqlStater
	if errors.As(err, &s) {
		return s.SQLState() == pgUniqueViolation
	}
	var f fieldGetter
	if errors.As(err, &f) {
		return f.Field('C') == pgUniqueViolation
	}
	var c coder
	if errors.As(err, &c) {
		code := c.Code()
		return code == sqliteConstraintUniqe || code == sqliteConstraintPK
	}
	return false
}
