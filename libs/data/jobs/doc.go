// Package jobs is Brisk's durable job queue: River (github.com/riverqueue/river) on the same
// database as the data, PostgreSQL in production and SQLite on the embedded default.
//
// Jobs are inserted in the transaction of the write that causes them (InsertTx with the
// bun.Tx of the service's RunInTx), so a rolled-back write leaves no job and a committed one
// always has its jobs. Workers run them at least once, with River's retries (exponential
// backoff), a maximum attempt count per kind, unique jobs where a duplicate would be wrong,
// and discarded jobs kept for inspection (DiscardedRetention). Handlers are therefore written
// to be idempotent; one that must be exactly-once completes its job in its own transaction
// with CompleteTx.
//
// # Drivers
//
// One River client type serves both databases: River's database/sql drivers take the *sql.DB
// under Bun, so a bun.Tx (which wraps *sql.Tx) is a River transaction as is. On PostgreSQL
// riverdatabasesql works every job (a full client, not only inserts), and a one-connection
// pgx pool opened from the same URL carries LISTEN/NOTIFY so new jobs start without waiting
// for the next poll; SQLite has no LISTEN, and riversqlite polls.
//
// # Schema
//
// River's tables are created by our golang-migrate history (migrations/*/000002_river_queue),
// generated from the River module in go.mod by RiverMigrationFiles; a test fails when the
// committed files differ. River's own migrator is never run.
//
// # Telemetry
//
// Every client carries River's OpenTelemetry middleware (rivercontrib/otelriver) on
// Config.MeterProvider and TracerProvider, the OTel globals by default: a span per worked job
// linked to the span that inserted it, and the river.* metrics (jobs worked by kind, status and
// attempt; their duration in second-sized buckets; inserts; fetches). A client that works jobs
// also observes MetricJobs, the backlog by state and kind, with one grouped query per
// collection.
//
// # Queued event listeners
//
// EventQueuer implements perfcore's events.Queuer: a listener registered with
// events.Queued(jobs.EventQueuer[T]{...}) becomes an "event" job in the transaction carried by
// the context (WithTx), and EventWorker delivers it to the dispatcher in the worker.
package jobs
