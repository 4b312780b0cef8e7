package observe

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type liveClock struct{ t time.Time }

func (c *liveClock) now() time.Time      { return c.t }
func (c *liveClock) add(d time.Duration) { c.t = c.t.Add(d) }
func near(a, b float64) bool             { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
func at(s *liveSource, p, i int) float64 { return s.value(p, i) }
func newTestSource(reg *prometheus.Registry, c *liveClock, plots []LivePlot, watching func() bool) *liveSource {
	return newLiveSource(reg, c.now, plots, time.Second, 10*time.Second, watching)
}

func TestLiveSourceRatesSharesAndGauges(t *testing.T) {
	reg := prometheus.NewRegistry()
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "req_total"}, []string{"code"})
	depth := prometheus.NewGauge(prometheus.GaugeOpts{Name: "depth"})
	reg.MustRegister(reqs, depth)
	reqs.WithLabelValues("200").Add(0)
	plots := []LivePlot{{Name: "p", Series: []LiveSeries{
		{Legend: "rate", Kind: Rate, Of: of("req_total")},
		{Legend: "5xx", Kind: Share, Of: of("req_total", LabelMatch{Label: "code", Value: "5", Op: Prefix}), Per: of("req_total")},
		{Legend: "ok", Kind: Rate, Of: of("req_total", LabelMatch{Label: "code", Value: "200"})},
		{Legend: "not ok", Kind: Rate, Of: of("req_total", LabelMatch{Label: "code", Value: "200", Op: NotEqual})},
		{Legend: "depth", Kind: Gauge, Scale: 2, Of: of("depth")},
	}}}
	c := &liveClock{t: time.Unix(1000, 0)}
	s := newTestSource(reg, c, plots, nil)
	if got := at(s, 0, 0); got != 0 {
		t.Fatalf("first reading has no base: rate %v, want 0", got)
	}
	reqs.WithLabelValues("200").Add(30)
	reqs.WithLabelValues("503").Add(10)
	depth.Set(7)
	c.add(2 * time.Second)
	want := []float64{20, 25, 15, 5, 14}
	for i, w := range want {
		if got := at(s, 0, i); !near(got, w) {
			t.Errorf("series %s = %v, want %v", plots[0].Series[i].Legend, got, w)
		}
	}
	// A call within half a send interval reuses the reading: one gather per tick.
	reqs.WithLabelValues("200").Add(1000)
	c.add(100 * time.Millisecond)
	if got := at(s, 0, 0); !near(got, 20) {
		t.Errorf("rate within the same tick = %v, want the tick's 20", got)
	}
	// Past the window the base moves on: only the increase inside the window counts.
	c.add(20 * time.Second)
	at(s, 0, 0)
	c.add(time.Second)
	if got := at(s, 0, 0); got != 0 {
		t.Errorf("rate with no new requests = %v, want 0", got)
	}
}

func TestLiveSourceQuantileFollowsHistogramQuantile(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "dur_seconds", Buckets: []float64{0.1, 0.2, 0.4}}, []string{"route"})
	reg.MustRegister(h)
	h.WithLabelValues("a").Observe(0.05) // before the base: must not count
	plots := []LivePlot{{Name: "lat", Series: []LiveSeries{
		{Legend: "p50", Kind: Quantile, Q: 0.5, Scale: 1000, Of: of("dur_seconds")},
		{Legend: "p99", Kind: Quantile, Q: 0.99, Of: of("dur_seconds")},
		{Legend: "count/s", Kind: Rate, Of: of("dur_seconds")},
	}}}
	c := &liveClock{t: time.Unix(1000, 0)}
	s := newTestSource(reg, c, plots, nil)
	at(s, 0, 0)
	// 10 observations in (0.1, 0.2] on two label sets, 10 above the last bound.
	for range 5 {
		h.WithLabelValues("a").Observe(0.15)
		h.WithLabelValues("b").Observe(0.15)
	}
	for range 10 {
		h.WithLabelValues("b").Observe(3)
	}
	c.add(time.Second)
	// p50: rank 10 of 20 is the last one in (0.1, 0.2]: 0.1 + 0.1*10/10 = 0.2 s.
	if got := at(s, 0, 0); !near(got, 200) {
		t.Errorf("p50 = %v ms, want 200", got)
	}
	// p99 falls in +Inf: the highest finite bound, as histogram_quantile answers.
	if got := at(s, 0, 1); !near(got, 0.4) {
		t.Errorf("p99 = %v, want 0.4", got)
	}
	if got := at(s, 0, 2); !near(got, 20) {
		t.Errorf("observations/s = %v, want 20", got)
	}
}

func TestLiveSourceReportsMissingFamiliesAndPlotsThemAsZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	here := prometheus.NewCounter(prometheus.CounterOpts{Name: "here_total"})
	reg.MustRegister(here)
	plots := []LivePlot{
		{Name: "fed", Title: "Fed", Series: []LiveSeries{{Legend: "x", Kind: Rate, Of: of("here_total")}}},
		{Name: "unfed", Title: "Unfed", Series: []LiveSeries{
			{Legend: "x", Kind: Share, Of: of("here_total"), Per: of("absent_total")}}},
	}
	c := &liveClock{t: time.Unix(1000, 0)}
	s := newTestSource(reg, c, plots, nil)
	st := s.status()
	if len(st.Plots) != 2 || len(st.Plots[0].Missing) != 0 || !slices.Equal(st.Plots[1].Missing, []string{"absent_total"}) {
		t.Fatalf("status = %+v, want fed with nothing missing and unfed missing absent_total", st.Plots)
	}
	here.Add(5)
	c.add(time.Second)
	if got := at(s, 1, 0); got != 0 {
		t.Errorf("share over a missing denominator = %v, want 0", got)
	}
}

func TestLiveSourceDoesNotGatherWhileNobodyWatches(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "g"})
	reg.MustRegister(g)
	g.Set(3)
	watching := false
	c := &liveClock{t: time.Unix(1000, 0)}
	s := newTestSource(reg, c, []LivePlot{{Name: "g", Series: []LiveSeries{{Legend: "g", Kind: Gauge, Of: of("g")}}}},
		func() bool { return watching })
	if got := at(s, 0, 0); got != 0 {
		t.Fatalf("unwatched value = %v, want 0 (no gather)", got)
	}
	watching = true
	if got := at(s, 0, 0); got != 3 {
		t.Fatalf("watched value = %v, want 3", got)
	}
}

func TestValidatePlotsRefusesWhatThePageCannotShow(t *testing.T) {
	if err := validatePlots(DefaultLivePlots()); err != nil {
		t.Fatalf("default plots: %v", err)
	}
	bad := [][]LivePlot{
		{{Name: ""}},
		{{Name: "a", Series: []LiveSeries{{Legend: "x", Of: of("m")}}}, {Name: "a", Series: []LiveSeries{{Legend: "x", Of: of("m")}}}},
		{{Name: "a"}},
		{{Name: "a", Series: []LiveSeries{{Legend: "x", Kind: Share, Of: of("m")}}}},
		{{Name: "a", Series: []LiveSeries{{Legend: "x", Kind: Quantile, Q: 1, Of: of("m")}}}},
	}
	for i, b := range bad {
		if err := validatePlots(b); err == nil {
			t.Errorf("case %d: %+v accepted", i, b)
		}
	}
}
