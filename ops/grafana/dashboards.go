// Package grafana describes Brisk's Grafana dashboards as code and renders them to the JSON
// files under ops/grafana/dashboards, which Grafana loads through the provisioning in
// ops/grafana/provisioning (datasource uid "prometheus").
//
// Every query uses only series the apps export today; a test starts the apps and a real
// Prometheus and fails on any panel whose query returns nothing. Run
// `go run ./ops/grafana/dashgen` after changing a board; a test fails while the committed JSON
// differs from what this package renders.
package grafana

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// DatasourceUID is the fixed uid of the Prometheus datasource (provisioning/datasources).
const DatasourceUID = "prometheus"

// Jobs are the Prometheus job names the scrape configurations give the two apps.
const (
	APIJob    = "brisk-api"
	WorkerJob = "brisk-worker"
)

// Board is one dashboard: its file, uid and rows of panels.
type Board struct {
	File, UID, Title, Description string
	// JobVariable adds a "job" selector (both apps) used as job=~"$job" in the queries.
	JobVariable bool
	Rows        []Row
}

// Row is a titled row of panels.
type Row struct {
	Title  string
	Panels []Panel
}

// Panel is a time series (or, with Stat, a single value) over one or more queries.
type Panel struct {
	Title, Description, Unit string
	Stat                     bool
	Width                    uint32 // grid columns of 24; 0 means 12
	Queries                  []Query
}

// Query is one PromQL expression and its legend.
type Query struct{ Expr, Legend string }

const rate = "$__rate_interval"

// Boards returns every dashboard.
func Boards() []Board {
	return []Board{apiBoard(), runtimeBoard(), dataBoard(), workerBoard(), perfcoreBoard()}
}

func apiBoard() Board {
	sel := fmt.Sprintf(`job="%s"`, APIJob)
	count := func(extra string) string {
		return fmt.Sprintf(`http_server_request_duration_seconds_count{%s%s}[%s]`, sel, extra, rate)
	}
	quantile := func(q string) string {
		return fmt.Sprintf(`histogram_quantile(%s, sum by (le, http_route) (rate(http_server_request_duration_seconds_bucket{%s}[%s])))`, q, sel, rate)
	}
	// "or … * 0" keeps a route with no errors on the graph at zero instead of dropping it.
	errShare := func(codes string) string {
		return fmt.Sprintf(`(sum by (http_route) (rate(%s)) or sum by (http_route) (rate(%s)) * 0) / sum by (http_route) (rate(%s))`,
			count(`,http_response_status_code=~"`+codes+`"`), count(""), count(""))
	}
	return Board{
		File: "api.json", UID: "brisk-api", Title: "Brisk API",
		Description: "Requests, errors and latency of the Conduit API per route (RED), from otelgin's http.server.request.duration.",
		Rows: []Row{
			{Title: "Overview", Panels: []Panel{
				{Title: "Requests per second", Unit: "reqps", Stat: true, Width: 6, Queries: []Query{
					{Expr: fmt.Sprintf(`sum(rate(%s))`, count("")), Legend: "requests/s"}}},
				{Title: "Server errors (5xx share)", Unit: "percentunit", Stat: true, Width: 6, Queries: []Query{
					{Expr: fmt.Sprintf(`(sum(rate(%s)) or vector(0)) / sum(rate(%s))`, count(`,http_response_status_code=~"5.."`), count("")), Legend: "5xx"}}},
				{Title: "p99 latency (all routes)", Unit: "s", Stat: true, Width: 6, Queries: []Query{
					{Expr: fmt.Sprintf(`histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket{%s}[%s])))`, sel, rate), Legend: "p99"}}},
				{Title: "Responses by status code", Unit: "reqps", Width: 6, Queries: []Query{
					{Expr: fmt.Sprintf(`sum by (http_response_status_code) (rate(%s))`, count("")), Legend: "{{http_response_status_code}}"}}},
			}},
			{Title: "Rate and errors per route", Panels: []Panel{
				{Title: "Request rate by route", Unit: "reqps", Queries: []Query{
					{Expr: fmt.Sprintf(`sum by (http_request_method, http_route) (rate(%s))`, count("")), Legend: "{{http_request_method}} {{http_route}}"}}},
				{Title: "Server error ratio (5xx) by route", Unit: "percentunit", Queries: []Query{
					{Expr: errShare("5.."), Legend: "{{http_route}}"}}},
				{Title: "Client error ratio (4xx) by route", Unit: "percentunit", Width: 24,
					Description: "Refused requests: validation (422), missing or bad tokens (401), unknown resources (404).",
					Queries:     []Query{{Expr: errShare("4.."), Legend: "{{http_route}}"}}},
			}},
			{Title: "Latency per route", Panels: []Panel{
				{Title: "p50 latency by route", Unit: "s", Width: 8, Queries: []Query{{Expr: quantile("0.5"), Legend: "{{http_route}}"}}},
				{Title: "p95 latency by route", Unit: "s", Width: 8, Queries: []Query{{Expr: quantile("0.95"), Legend: "{{http_route}}"}}},
				{Title: "p99 latency by route", Unit: "s", Width: 8, Queries: []Query{{Expr: quantile("0.99"), Legend: "{{http_route}}"}}},
			}},
		},
	}
}

func runtimeBoard() Board {
	j := `job=~"$job"`
	return Board{
		File: "go-runtime.json", UID: "brisk-go-runtime", Title: "Brisk Go runtime", JobVariable: true,
		Description: "Memory, GC, goroutines and scheduler latency of the api and worker processes.",
		Rows: []Row{
			{Title: "Memory", Panels: []Panel{
				{Title: "Memory used by the Go runtime", Unit: "bytes", Queries: []Query{
					{Expr: fmt.Sprintf(`sum by (job, instance, go_memory_type) (go_memory_used_bytes{%s})`, j), Legend: "{{job}} {{instance}} {{go_memory_type}}"},
					{Expr: fmt.Sprintf(`go_memory_gc_goal_bytes{%s}`, j), Legend: "{{job}} {{instance}} heap goal"}}},
				{Title: "Resident memory (RSS)", Unit: "bytes", Queries: []Query{
					{Expr: fmt.Sprintf(`process_resident_memory_bytes{%s}`, j), Legend: "{{job}} {{instance}}"}}},
				{Title: "Heap allocation rate", Unit: "Bps", Queries: []Query{
					{Expr: fmt.Sprintf(`rate(go_memory_allocated_bytes_total{%s}[%s])`, j, rate), Legend: "{{job}} {{instance}}"}}},
				{Title: "CPU used", Unit: "short", Description: "CPU seconds per second (1 = one full core).", Queries: []Query{
					{Expr: fmt.Sprintf(`rate(process_cpu_seconds_total{%s}[%s])`, j, rate), Legend: "{{job}} {{instance}}"}}},
			}},
			{Title: "Garbage collector", Panels: []Panel{
				{Title: "GC cycles per second", Unit: "short", Queries: []Query{
					{Expr: fmt.Sprintf(`rate(go_gc_cycles_total_gc_cycles_total{%s}[%s])`, j, rate), Legend: "{{job}} {{instance}}"}}},
				{Title: "GC stop-the-world pause (p99)", Unit: "s", Queries: []Query{
					{Expr: fmt.Sprintf(`histogram_quantile(0.99, sum by (le, job, instance) (rate(go_gc_pauses_seconds_bucket{%s}[%s])))`, j, rate), Legend: "{{job}} {{instance}}"}}},
			}},
			{Title: "Goroutines and scheduler", Panels: []Panel{
				{Title: "Goroutines", Unit: "short", Queries: []Query{
					{Expr: fmt.Sprintf(`go_goroutine_count{%s}`, j), Legend: "{{job}} {{instance}}"}}},
				{Title: "Scheduler latency (runnable to running)", Unit: "s", Queries: []Query{
					{Expr: fmt.Sprintf(`histogram_quantile(0.99, sum by (le, job, instance) (rate(go_schedule_duration_seconds_bucket{%s}[%s])))`, j, rate), Legend: "{{job}} {{instance}} p99"},
					{Expr: fmt.Sprintf(`histogram_quantile(0.5, sum by (le, job, instance) (rate(go_schedule_duration_seconds_bucket{%s}[%s])))`, j, rate), Legend: "{{job}} {{instance}} p50"}}},
				{Title: "GOMAXPROCS and OS threads", Unit: "short", Width: 24, Queries: []Query{
					{Expr: fmt.Sprintf(`go_processor_limit{%s}`, j), Legend: "{{job}} {{instance}} GOMAXPROCS"},
					{Expr: fmt.Sprintf(`go_threads{%s}`, j), Legend: "{{job}} {{instance}} threads"}}},
			}},
		},
	}
}

func dataBoard() Board {
	j := `job=~"$job"`
	return Board{
		File: "data.json", UID: "brisk-data", Title: "Brisk data", JobVariable: true,
		Description: "SQL through Bun (bunotel's go.sql.query_timing, whole milliseconds), the cache (libs/data/cache) and the database/sql connection pool.",
		Rows: []Row{
			{Title: "Queries", Panels: []Panel{
				{Title: "Queries per second by operation", Unit: "ops", Queries: []Query{
					{Expr: fmt.Sprintf(`sum by (job, db_operation) (rate(go_sql_query_timing_milliseconds_count{%s}[%s]))`, j, rate), Legend: "{{job}} {{db_operation}}"}}},
				{Title: "Query latency p95 by operation", Unit: "ms", Queries: []Query{
					{Expr: fmt.Sprintf(`histogram_quantile(0.95, sum by (le, db_operation) (rate(go_sql_query_timing_milliseconds_bucket{%s}[%s])))`, j, rate), Legend: "{{db_operation}}"}}},
				{Title: "Average query time by table", Unit: "ms", Width: 24, Queries: []Query{
					{Expr: fmt.Sprintf(`sum by (db_sql_table) (rate(go_sql_query_timing_milliseconds_sum{%s}[%s])) / sum by (db_sql_table) (rate(go_sql_query_timing_milliseconds_count{%s}[%s]))`, j, rate, j, rate), Legend: "{{db_sql_table}}"}}},
			}},
			cacheRow(j),
			{Title: "Connection pool", Panels: []Panel{
				{Title: "Connections", Unit: "short", Queries: []Query{
					{Expr: fmt.Sprintf(`sum by (job) (go_sql_connections_in_use{%s})`, j), Legend: "{{job}} in use"},
					{Expr: fmt.Sprintf(`sum by (job) (go_sql_connections_idle{%s})`, j), Legend: "{{job}} idle"},
					{Expr: fmt.Sprintf(`sum by (job) (go_sql_connections_max_open{%s})`, j), Legend: "{{job}} max open"}}},
				{Title: "Waits for a free connection", Unit: "short", Description: "Requests that found every connection busy; rising waits mean DATABASE_MAX_OPEN_CONNS is the bottleneck.", Queries: []Query{
					{Expr: fmt.Sprintf(`sum by (job) (rate(go_sql_connections_wait_count_total{%s}[%s]))`, j, rate), Legend: "{{job}} waits/s"}}},
			}},
		},
	}
}

// orZero keeps a series at zero when its own counter has not appeared yet: counters such as
// errors are created on the first error, and a panel should read "0 errors" for every
// driver, stage or kind that is working rather than go blank. base must have the same labels.
func orZero(expr, base string) string { return fmt.Sprintf(`%s or %s * 0`, expr, base) }

func cacheRow(j string) Row {
	sum := func(metric string) string {
		return fmt.Sprintf(`sum by (job, driver) (rate(%s{%s}[%s]))`, metric, j, rate)
	}
	hits, misses := sum("brisk_cache_hits_total"), sum("brisk_cache_misses_total")
	h, m := "("+orZero(hits, misses)+")", "("+orZero(misses, hits)+")"
	return Row{Title: "Cache", Panels: []Panel{
		{Title: "Cache hit rate by driver", Unit: "percentunit", Width: 8,
			Description: "hits / (hits + misses) of cache lookups (memory, or Redis with REDIS_URL).",
			Queries:     []Query{{Expr: fmt.Sprintf(`%s / (%s + %s)`, h, h, m), Legend: "{{job}} {{driver}}"}}},
		{Title: "Cache lookups per second by operation", Unit: "ops", Width: 8, Queries: []Query{
			{Expr: fmt.Sprintf(`sum by (job, op) (rate(brisk_cache_hits_total{%s}[%s]))`, j, rate), Legend: "{{job}} {{op}} hits"},
			{Expr: fmt.Sprintf(`sum by (job, op) (rate(brisk_cache_misses_total{%s}[%s]))`, j, rate), Legend: "{{job}} {{op}} misses"}}},
		{Title: "Cache errors per second by driver", Unit: "short", Width: 8,
			Description: "Failed driver calls (a Redis timeout or refused connection); the request falls back to the database.",
			Queries:     []Query{{Expr: orZero(sum("brisk_cache_errors_total"), "("+orZero(hits, misses)+")"), Legend: "{{job}} {{driver}}"}}},
		{Title: "Invalidation broadcast lag", Unit: "s", Width: 12,
			Description: "Publish on one instance → applied to another's in-process level (CACHE_BROADCAST over Redis pub/sub or PostgreSQL LISTEN/NOTIFY), p50 and p99; measured with the two hosts' clocks. Empty with one instance or without a cross-process broadcast.",
			Queries: []Query{
				{Expr: fmt.Sprintf(`histogram_quantile(0.5, sum by (le, job, mode) (rate(brisk_cache_broadcast_lag_seconds_bucket{%s}[%s])))`, j, rate), Legend: "{{job}} {{mode}} p50"},
				{Expr: fmt.Sprintf(`histogram_quantile(0.99, sum by (le, job, mode) (rate(brisk_cache_broadcast_lag_seconds_bucket{%s}[%s])))`, j, rate), Legend: "{{job}} {{mode}} p99"}}},
		{Title: "In-process level dropped, invalidations lost", Unit: "short", Width: 12,
			Description: "resets: an instance dropped its whole L1 because its broadcast connection was lost (or came back); errors: invalidations that could not be published. Either means other instances served from L2 or the database for a while, never stale data.",
			Queries: []Query{
				{Expr: orZero(fmt.Sprintf(`sum by (job, mode) (rate(brisk_cache_broadcast_resets_total{%s}[%s]))`, j, rate), broadcasting(j)), Legend: "{{job}} {{mode}} resets"},
				{Expr: orZero(fmt.Sprintf(`sum by (job, mode) (rate(brisk_cache_broadcast_errors_total{%s}[%s]))`, j, rate), broadcasting(j)), Legend: "{{job}} {{mode}} publish errors"}}},
	}}
}

// broadcasting is a zero-able base series for every instance that receives invalidations
// from another (its lag histogram exists), by job and mode.
func broadcasting(j string) string {
	return fmt.Sprintf(`(sum by (job, mode) (rate(brisk_cache_broadcast_lag_seconds_count{%s}[%s])))`, j, rate)
}

func workerBoard() Board {
	j := `job=~"$job"`
	work := func(extra string) string {
		return fmt.Sprintf(`sum by (kind) (rate(river_work_count_total{%s%s}[%s]))`, j, extra, rate)
	}
	quantile := func(q string) string {
		return fmt.Sprintf(`histogram_quantile(%s, sum by (le, kind) (rate(river_work_duration_histogram_seconds_bucket{%s}[%s])))`, q, j, rate)
	}
	return Board{
		File: "worker.json", UID: "brisk-worker", Title: "Brisk worker", JobVariable: true,
		Description: "River jobs: backlog by state, throughput, latency, failures and retries (otelriver's river.* metrics and brisk.jobs). Jobs run in the worker, and in the API too when JOBS_IN_PROCESS runs them there.",
		Rows: []Row{
			{Title: "Queue", Panels: []Panel{
				{Title: "Jobs by state", Unit: "short",
					Description: "Jobs in River's table by state, completed ones excepted. Growing available means workers cannot keep up; retryable and discarded are failing jobs (worker jobs list).",
					// Every working process reports the same table: max, not sum, across them.
					Queries: []Query{{Expr: fmt.Sprintf(`sum by (state) (max by (state, kind) (brisk_jobs{%s}))`, j), Legend: "{{state}}"}}},
				{Title: "Jobs inserted per second", Unit: "ops",
					Description: "Jobs enqueued, mostly by the API inside its write transactions.",
					Queries:     []Query{{Expr: fmt.Sprintf(`sum by (job) (rate(river_insert_count_total{%s}[%s]))`, j, rate), Legend: "{{job}}"}}},
			}},
			{Title: "Throughput and latency", Panels: []Panel{
				{Title: "Jobs worked per second by kind", Unit: "ops", Queries: []Query{{Expr: work(""), Legend: "{{kind}}"}}},
				{Title: "Job duration by kind (p50, p95)", Unit: "s", Queries: []Query{
					{Expr: quantile("0.5"), Legend: "{{kind}} p50"},
					{Expr: quantile("0.95"), Legend: "{{kind}} p95"}}},
				{Title: "Fetch time (p95)", Unit: "s", Width: 24,
					Description: "Time for a worker to lock the next batch of available jobs; rising means the queue table or database is the bottleneck.",
					Queries:     []Query{{Expr: fmt.Sprintf(`histogram_quantile(0.95, sum by (le, job) (rate(river_job_get_available_duration_seconds_bucket{%s}[%s])))`, j, rate), Legend: "{{job}}"}}},
			}},
			{Title: "Failures and retries", Panels: []Panel{
				{Title: "Failed job runs per second by kind", Unit: "ops",
					Description: "Runs that returned an error or panicked; River retries them with backoff until the kind's attempt limit, then discards them.",
					Queries:     []Query{{Expr: orZero(work(`,status!="ok"`), work("")), Legend: "{{kind}}"}}},
				{Title: "Retried runs per second by kind", Unit: "ops",
					Description: "Runs after the first attempt of a job.",
					Queries:     []Query{{Expr: orZero(work(`,attempt!="1"`), work("")), Legend: "{{kind}}"}}},
			}},
		},
	}
}

func perfcoreBoard() Board {
	j := `job=~"$job"`
	stage := func(metric string) string {
		return fmt.Sprintf(`sum by (pipeline, stage) (rate(%s{%s}[%s]))`, metric, j, rate)
	}
	return Board{
		File: "perfcore.json", UID: "brisk-perfcore", Title: "Brisk perfcore", JobVariable: true,
		Description: "The goroutine pools and the runtime optimizer that watches them, domain events, overload shedding, response buffers, and the pipelines of the background jobs (perfcore.pool.*, perfcore.optimizer.*, perfcore.events.*, perfcore.shed.*, perfcore.mempool.*, perfcore.pipeline.*).",
		Rows: []Row{
			{Title: "Optimizer", Panels: []Panel{
				{Title: "Optimizer level", Unit: "short", Width: 8,
					Description: "0 conservative, 1 moderate, 2 aggressive, 3 maximum. Batching of finds by id is on from aggressive.",
					Queries:     []Query{{Expr: fmt.Sprintf(`perfcore_optimizer_level{%s}`, j), Legend: "{{job}} {{instance}}"}}},
				{Title: "Optimizer load inputs", Unit: "percentunit", Width: 8,
					Description: "Normalised inputs (0..1) the level is decided from: CPU, GC CPU, heap, scheduler latency.",
					Queries:     []Query{{Expr: fmt.Sprintf(`perfcore_optimizer_load_ratio{%s}`, j), Legend: "{{job}} {{input}}"}}},
				{Title: "Optimizer actions by kind", Unit: "short", Width: 8,
					Description: "Actions in the interval (level changes, throttling, memory limit). Zero while the load stays at one level.",
					Queries: []Query{{Expr: orZero(
						fmt.Sprintf(`sum by (job, kind) (increase(perfcore_optimizer_actions_total{%s}[%s]))`, j, rate),
						fmt.Sprintf(`sum by (job) (perfcore_optimizer_level{%s})`, j)), Legend: "{{job}} {{kind}}"}}},
			}},
			{Title: "Goroutine pool", Panels: []Panel{
				{Title: "Pool queue depth", Unit: "short", Width: 6,
					Description: "Tasks queued and not started. Growing means the workers (GOROUTINE_MAX_WORKERS) cannot keep up; at GOROUTINE_QUEUE_SIZE submitters wait.",
					Queries:     []Query{{Expr: fmt.Sprintf(`perfcore_pool_tasks_queued{%s}`, j), Legend: "{{job}} {{pool}}"}}},
				{Title: "Pool workers", Unit: "short", Width: 6,
					Description: "Live worker goroutines, the standing target (GOROUTINE_MIN_WORKERS, or what the optimizer set) and the cap.",
					Queries: []Query{
						{Expr: fmt.Sprintf(`perfcore_pool_workers{%s}`, j), Legend: "{{job}} {{pool}} live"},
						{Expr: fmt.Sprintf(`perfcore_pool_workers_target{%s}`, j), Legend: "{{job}} {{pool}} target"},
						{Expr: fmt.Sprintf(`perfcore_pool_workers_max{%s}`, j), Legend: "{{job}} {{pool}} max"}}},
				{Title: "Pool task wait (p95)", Unit: "s", Width: 6,
					Description: "Time from submission to a worker starting the task, sampled 1 in 64 tasks.",
					Queries:     []Query{{Expr: fmt.Sprintf(`histogram_quantile(0.95, sum by (le, job, pool) (rate(perfcore_pool_task_wait_seconds_bucket{%s}[%s])))`, j, rate), Legend: "{{job}} {{pool}}"}}},
				{Title: "Pool tasks per second", Unit: "ops", Width: 6,
					Description: "Completed tasks (in the API: async event listeners such as cache warming, and listing counts with DATABASE_PARALLEL_COUNT; in the worker: every job and the notify_followers pipeline's stage calls), tasks stolen from another worker's deque, failed (errors and panics) and rejected (queue full or stopped).",
					Queries: []Query{
						{Expr: fmt.Sprintf(`sum by (job, pool) (rate(perfcore_pool_tasks_completed_total{%s}[%s]))`, j, rate), Legend: "{{job}} {{pool}} completed"},
						{Expr: fmt.Sprintf(`sum by (job, pool) (rate(perfcore_pool_tasks_stolen_total{%s}[%s]))`, j, rate), Legend: "{{job}} {{pool}} stolen"},
						{Expr: fmt.Sprintf(`sum by (job, pool) (rate(perfcore_pool_tasks_failed_total{%s}[%s]))`, j, rate), Legend: "{{job}} {{pool}} failed"},
						{Expr: fmt.Sprintf(`sum by (job, pool) (rate(perfcore_pool_tasks_rejected_total{%s}[%s]))`, j, rate), Legend: "{{job}} {{pool}} rejected"}}},
			}},
			{Title: "Domain events, shedding, response buffers", Panels: []Panel{
				{Title: "Listener calls per second", Unit: "ops", Width: 8,
					Description: "Calls of each domain event's listeners (perfcore.events): cache invalidation after commit, job inserts in the transaction, cache warming on the pool.",
					Queries:     []Query{{Expr: fmt.Sprintf(`sum by (job, event, listener) (rate(perfcore_events_listener_calls_total{%s}[%s]))`, j, rate), Legend: "{{job}} {{event}} → {{listener}}"}}},
				{Title: "Admitted and shed per second", Unit: "ops", Width: 8,
					Description: "Requests the overload shedder admitted and refused with 503 (SHED_*); shed stays 0 until the CPU saturates.",
					Queries: []Query{
						{Expr: fmt.Sprintf(`sum by (job) (rate(perfcore_shed_admitted_total{%s}[%s]))`, j, rate), Legend: "{{job}} admitted"},
						{Expr: fmt.Sprintf(`sum by (job) (rate(perfcore_shed_dropped_total{%s}[%s]))`, j, rate), Legend: "{{job}} shed"}}},
				{Title: "Response buffers per second", Unit: "ops", Width: 8,
					Description: "JSON encoders taken from the response-body pool (MEMORY_*): hit reuses an idle one, miss makes one; a steady miss rate means MEMORY_POOL_SIZE is below the concurrency.",
					Queries:     []Query{{Expr: fmt.Sprintf(`sum by (job, result) (rate(perfcore_mempool_gets_total{%s}[%s]))`, j, rate), Legend: "{{job}} {{result}}"}}},
			}},
			{Title: "Pipelines", Panels: []Panel{
				{Title: "Items per second by stage", Unit: "ops", Queries: []Query{
					{Expr: stage("perfcore_pipeline_items_in_total"), Legend: "{{pipeline}}/{{stage}} in"},
					{Expr: stage("perfcore_pipeline_items_out_total"), Legend: "{{pipeline}}/{{stage}} out"}}},
				{Title: "Stage errors per second", Unit: "ops",
					Description: "Each error stops its run (the job fails and River retries it).",
					Queries:     []Query{{Expr: orZero(stage("perfcore_pipeline_errors_total"), stage("perfcore_pipeline_items_in_total")), Legend: "{{pipeline}}/{{stage}}"}}},
				{Title: "Stage call time (p95)", Unit: "s", Width: 24,
					Description: "One stage function call, sampled 1 in 16 calls; a slow write stage is the database.",
					Queries:     []Query{{Expr: fmt.Sprintf(`histogram_quantile(0.95, sum by (le, pipeline, stage) (rate(perfcore_pipeline_stage_duration_seconds_bucket{%s}[%s])))`, j, rate), Legend: "{{pipeline}}/{{stage}}"}}},
			}},
		},
	}
}

var promRef = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr(DatasourceUID)}

// Render builds one board's dashboard JSON.
func Render(b Board) ([]byte, error) {
	//lint:ignore SA1019 Grafana 11's provisioning reads the v1 dashboard model this builder writes
	db := dashboard.NewDashboardBuilder(b.Title).
		Uid(b.UID).
		Description(b.Description).
		Tags([]string{"brisk"}).
		Refresh("10s").
		Time("now-15m", "now").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Editable()
	if b.JobVariable {
		db = db.WithVariable(dashboard.NewQueryVariableBuilder("job").
			Label("Service").
			Datasource(promRef).
			Query(dashboard.StringOrMap{String: cog.ToPtr("label_values(go_goroutine_count, job)")}).
			Definition("label_values(go_goroutine_count, job)").
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
			Multi(true).
			IncludeAll(true).
			AllValue(".+").
			Current(dashboard.VariableOption{
				Text:  dashboard.StringOrArrayOfString{ArrayOfString: []string{"All"}},
				Value: dashboard.StringOrArrayOfString{ArrayOfString: []string{"$__all"}},
			}))
	}
	// Explicit, stable ids: Grafana keys panel state and links on them.
	var id uint32
	next := func() uint32 { id++; return id }
	for _, r := range b.Rows {
		db = db.WithRow(dashboard.NewRowBuilder(r.Title).Id(next()))
		for _, p := range r.Panels {
			w := p.Width
			if w == 0 {
				w = 12
			}
			var targets []cog.Builder[variants.Dataquery]
			for i, q := range p.Queries {
				targets = append(targets, prometheus.NewDataqueryBuilder().
					Datasource(promRef).
					RefId(string(rune('A'+i))).
					Expr(q.Expr).
					LegendFormat(q.Legend))
			}
			if p.Stat {
				db = db.WithPanel(stat.NewPanelBuilder().Id(next()).Title(p.Title).Description(p.Description).
					Datasource(promRef).Unit(p.Unit).Height(5).Span(w).Targets(targets))
			} else {
				db = db.WithPanel(timeseries.NewPanelBuilder().Id(next()).Title(p.Title).Description(p.Description).
					Datasource(promRef).Unit(p.Unit).Height(8).Span(w).Targets(targets).
					FillOpacity(10).ShowPoints(common.VisibilityModeNever))
			}
		}
	}
	d, err := db.Build()
	if err != nil {
		return nil, fmt.Errorf("grafana: build %s: %w", b.File, err)
	}
	out, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("grafana: encode %s: %w", b.File, err)
	}
	return append(out, '\n'), nil
}

// RenderAll renders every board, keyed by file name.
func RenderAll() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, b := range Boards() {
		js, err := Render(b)
		if err != nil {
			return nil, err
		}
		out[b.File] = js
	}
	return out, nil
}
