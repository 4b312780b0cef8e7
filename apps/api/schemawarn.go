package main

import (
	"context"
	"log/slog"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/data"
)

// warnPendingMigrations says at start-up, not only on /readyz, that the database's schema is
// behind this build and what to run: otherwise every request fails on a missing table and
// the log says only "listening".
func warnPendingMigrations(ctx context.Context, db bun.IDB, log *slog.Logger) {
	st, err := data.CheckSchema(ctx, db)
	if err != nil {
		log.WarnContext(ctx, "could not read the schema version", "err", err)
		return
	}
	if !st.UpToDate() {
		log.WarnContext(ctx, "database schema is not up to date: run `api migrate up`", "schema", st.String(), "version", st.Version, "latest", st.Latest, "dirty", st.Dirty)
	}
}
