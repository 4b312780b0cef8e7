package observe

// Brisk's own plots on the live page. Each series names the Prometheus families it reads from
// the registry behind /metrics, with the same arithmetic as the Grafana panels in ops/grafana
// (rate of a counter, histogram quantile over bucket increases, share of two rates), so the page
// and the dashboards cannot disagree about a number.

// Metric families the default plots read (Prometheus names, as /metrics shows them).
const (
	MetricHTTPDuration   = "http_server_request_duration_seconds" // otelgin, histogram
	MetricPoolWorkers    = "perfcore_pool_workers"
	MetricPoolTarget     = "perfcore_pool_workers_target"
	MetricPoolQueued     = "perfcore_pool_tasks_queued"
	MetricPoolCompleted  = "perfcore_pool_tasks_completed_total"
	MetricPoolRejected   = "perfcore_pool_tasks_rejected_total"
	MetricOptimizerLevel = "perfcore_optimizer_level"
	MetricOptimizerLoad  = "perfcore_optimizer_load_ratio"
	MetricCacheHits      = "brisk_cache_hits_total"
	MetricCacheMisses    = "brisk_cache_misses_total"
	MetricJobs           = "brisk_jobs" // gauge by state and kind (libs/data/jobs)
	MetricJobsWorked     = "river_work_count_total"
	MetricJobsInserted   = "river_insert_count_total"
	// MetricShed counts requests refused by overload shedding (libs/perfcore/shed, the API's
	// SHED_* settings); a process without a shedder does not export it.
	MetricShed = "perfcore_shed_dropped_total"
	// MetricEventsDispatched is perfcore's events.Dispatcher counter; it appears once the
	// apps dispatch their domain events through a Dispatcher built with the meter provider.
	MetricEventsDispatched = "perfcore_events_dispatched_total"
)

// SeriesKind says how a series turns the summed samples into the value plotted.
type SeriesKind int

const (
	// Gauge plots the sum of the matching samples as they are now.
	Gauge SeriesKind = iota
	// Rate plots the per-second increase of the summed counters over the rate window (for a
	// histogram family, of its observation count), like PromQL's rate().
	Rate
	// Share plots rate(Of) / rate(Per) as a percentage, 0 when Per did not move.
	Share
	// Quantile plots the Q quantile of the histogram observations made in the rate window,
	// interpolated within a bucket like PromQL's histogram_quantile; 0 when there were none.
	Quantile
)

// MatchOp compares a label's value.
type MatchOp int

// Label comparisons.
const (
	Equal MatchOp = iota
	NotEqual
	Prefix
)

// LabelMatch keeps only the samples whose label compares true.
type LabelMatch struct {
	Label, Value string
	Op           MatchOp
}

// Selector picks the samples of one metric family; samples of several selectors are summed.
type Selector struct {
	Metric string
	Where  []LabelMatch
}

// LiveSeries is one line of a plot.
type LiveSeries struct {
	Legend string
	Kind   SeriesKind
	Q      float64    // for Quantile, in (0, 1)
	Of     []Selector // summed
	Per    []Selector // for Share: the denominator, summed
	Scale  float64    // the value is multiplied by it (seconds to milliseconds); 0 means 1
}

// LivePlot is one of our plots on the live page.
type LivePlot struct {
	Name  string // unique; the id of the plot's element on the page
	Title string
	Info  string // what the plot means, shown behind the plot's info button
	Unit  string // y-axis tick suffix
	// Series are the plot's lines, in legend order.
	Series []LiveSeries
}

// Metrics lists the families the plot reads, each once, in order.
func (p LivePlot) Metrics() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range p.Series {
		for _, sel := range append(append([]Selector(nil), s.Of...), s.Per...) {
			if !seen[sel.Metric] {
				seen[sel.Metric] = true
				out = append(out, sel.Metric)
			}
		}
	}
	return out
}

func of(metric string, where ...LabelMatch) []Selector {
	return []Selector{{Metric: metric, Where: where}}
}

// DefaultLivePlots are the plots both apps show: each reads series one of the Grafana
// dashboards reads, so a plot stays empty exactly when its dashboard panel would.
func DefaultLivePlots() []LivePlot {
	jobStates := []string{"available", "running", "retryable", "scheduled", "pending", "discarded", "cancelled"}
	var jobs []LiveSeries
	for _, s := range jobStates {
		jobs = append(jobs, LiveSeries{Legend: s, Kind: Gauge, Of: of(MetricJobs, LabelMatch{Label: "state", Value: s})})
	}
	var inputs []LiveSeries
	for _, in := range []string{"cpu", "gc_cpu", "heap", "sched_latency"} {
		inputs = append(inputs, LiveSeries{Legend: in, Kind: Gauge, Scale: 100,
			Of: of(MetricOptimizerLoad, LabelMatch{Label: "input", Value: in})})
	}
	return []LivePlot{
		{Name: "brisk_requests", Title: "HTTP requests per second", Unit: "/s",
			Info:   "Requests the API answered per second (otelgin's http.server.request.duration count), as on the Brisk API dashboard. Health probes are not counted.",
			Series: []LiveSeries{{Legend: "requests/s", Kind: Rate, Of: of(MetricHTTPDuration)}}},
		{Name: "brisk_latency", Title: "HTTP latency p50 / p99", Unit: "ms",
			Info: "Median and 99th percentile of the request duration over the rate window, from the same histogram buckets as the dashboard's latency panels.",
			Series: []LiveSeries{
				{Legend: "p50", Kind: Quantile, Q: 0.5, Scale: 1000, Of: of(MetricHTTPDuration)},
				{Legend: "p99", Kind: Quantile, Q: 0.99, Scale: 1000, Of: of(MetricHTTPDuration)}}},
		{Name: "brisk_errors", Title: "HTTP server errors (5xx share)", Unit: "%",
			Info: "Share of the answers with a 5xx status over the rate window; 4xx answers (validation, auth, not found) are the client's and not counted.",
			Series: []LiveSeries{{Legend: "5xx", Kind: Share,
				Of:  of(MetricHTTPDuration, LabelMatch{Label: "http_response_status_code", Value: "5", Op: Prefix}),
				Per: of(MetricHTTPDuration)}}},
		{Name: "brisk_shed", Title: "Shed requests per second", Unit: "/s",
			Info:   "Requests refused with 503 by overload shedding before any work was done. Reported as not exported while the process has no shedder.",
			Series: []LiveSeries{{Legend: "shed/s", Kind: Rate, Of: of(MetricShed)}}},
		{Name: "brisk_pool", Title: "Goroutine pool: workers and queue",
			Info: "Live worker goroutines of perfcore's pools, the standing target the optimizer sets, and tasks queued and not started (summed over the process's pools).",
			Series: []LiveSeries{
				{Legend: "workers", Kind: Gauge, Of: of(MetricPoolWorkers)},
				{Legend: "target", Kind: Gauge, Of: of(MetricPoolTarget)},
				{Legend: "queued", Kind: Gauge, Of: of(MetricPoolQueued)}}},
		{Name: "brisk_pool_tasks", Title: "Goroutine pool: tasks per second", Unit: "/s",
			Info: "Tasks the pools completed, and tasks rejected because a queue was full or the pool stopped.",
			Series: []LiveSeries{
				{Legend: "completed", Kind: Rate, Of: of(MetricPoolCompleted)},
				{Legend: "rejected", Kind: Rate, Of: of(MetricPoolRejected)}}},
		{Name: "brisk_optimizer_level", Title: "Optimizer level",
			Info:   "perfcore's optimizer level: 0 conservative, 1 moderate, 2 aggressive, 3 maximum.",
			Series: []LiveSeries{{Legend: "level", Kind: Gauge, Of: of(MetricOptimizerLevel)}}},
		{Name: "brisk_optimizer_inputs", Title: "Optimizer inputs", Unit: "%",
			Info:   "The normalised inputs the optimizer picks its level from, as last sampled: CPU, GC CPU, heap against its limit, scheduler latency against its threshold.",
			Series: inputs},
		{Name: "brisk_cache", Title: "Cache hit rate", Unit: "%",
			Info: "hits / (hits + misses) of cache lookups over the rate window (memory, or Redis with REDIS_URL).",
			Series: []LiveSeries{{Legend: "hit rate", Kind: Share,
				Of:  of(MetricCacheHits),
				Per: append(of(MetricCacheHits), of(MetricCacheMisses)...)}}},
		{Name: "brisk_jobs", Title: "Jobs by state",
			Info:   "Jobs in River's table by state, completed ones excepted. Growing available means the workers cannot keep up; retryable and discarded are failing jobs.",
			Series: jobs},
		{Name: "brisk_jobs_rate", Title: "Jobs per second", Unit: "/s",
			Info: "Jobs inserted (mostly by the API inside its write transactions), worked, and worked with an error, per second, wherever this process runs them.",
			Series: []LiveSeries{
				{Legend: "inserted", Kind: Rate, Of: of(MetricJobsInserted)},
				{Legend: "worked", Kind: Rate, Of: of(MetricJobsWorked)},
				{Legend: "failed", Kind: Rate, Of: of(MetricJobsWorked, LabelMatch{Label: "status", Value: "ok", Op: NotEqual})}}},
		{Name: "brisk_events", Title: "Events dispatched per second", Unit: "/s",
			Info:   "Domain events dispatched through perfcore's Dispatcher per second. Reported as not exported while the process dispatches none through an instrumented Dispatcher.",
			Series: []LiveSeries{{Legend: "events/s", Kind: Rate, Of: of(MetricEventsDispatched)}}},
	}
}
