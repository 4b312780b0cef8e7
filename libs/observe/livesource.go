package observe

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// liveSource computes the live plots' values from the registry behind /metrics. One Gather
// serves every series of one tick; the previous gathers of the rate window give the rates and
// quantiles. It gathers only while someone watches the page (watching reports it), so an
// unwatched page costs nothing.
type liveSource struct {
	gather   prometheus.Gatherer
	now      func() time.Time
	plots    []LivePlot
	every    time.Duration // how often the page asks for values
	window   time.Duration // how far back rates and quantiles look
	watching func() bool

	mu      sync.Mutex
	last    time.Time    // of the latest refresh; zero before the first
	snaps   []liveSnap   // oldest first, none older than window
	values  [][]float64  // [plot][series] as of the latest refresh
	missing [][]string   // [plot] metric families absent at the latest refresh
	err     error        // of the latest Gather
	index   [][2]int     // flat series number -> plot, series
	flat    []LiveSeries // every series, in index order
}

// liveSnap is one gather reduced to what the series need.
type liveSnap struct {
	at      time.Time
	of, per []float64  // per flat series: summed samples
	buckets [][]bucket // per flat series, Quantile only: merged cumulative buckets
}

type bucket struct{ upper, count float64 }

func newLiveSource(g prometheus.Gatherer, now func() time.Time, plots []LivePlot, every, window time.Duration, watching func() bool) *liveSource {
	s := &liveSource{gather: g, now: now, plots: plots, every: every, window: window, watching: watching}
	s.values = make([][]float64, len(plots))
	s.missing = make([][]string, len(plots))
	for p, pl := range plots {
		s.values[p] = make([]float64, len(pl.Series))
		s.missing[p] = pl.Metrics() // until the first gather says otherwise
		for i, ser := range pl.Series {
			s.index = append(s.index, [2]int{p, i})
			s.flat = append(s.flat, ser)
		}
	}
	return s
}

// value is what the page plots for one series now. It refreshes at most once per half send
// interval, so the series of one tick share one gather.
func (s *liveSource) value(plot, series int) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watching == nil || s.watching() {
		s.refreshLocked(false)
	}
	return s.values[plot][series]
}

// LivePlotStatus is one plot's entry in the page's status (brisk.json).
type LivePlotStatus struct {
	Name    string   `json:"name"`
	Title   string   `json:"title"`
	Metrics []string `json:"metrics"`
	// Missing are the families this process does not export (yet): their series are plotted
	// as 0 because the page cannot draw a gap.
	Missing []string `json:"missing"`
}

// LiveStatus is the page's status: which of our plots are fed.
type LiveStatus struct {
	Error string           `json:"error,omitempty"` // of the latest gather
	Plots []LivePlotStatus `json:"plots"`
}

// status refreshes when the latest values are stale and reports each plot.
func (s *liveSource) status() LiveStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshLocked(false)
	st := LiveStatus{Plots: make([]LivePlotStatus, len(s.plots))}
	if s.err != nil {
		st.Error = s.err.Error()
	}
	for p, pl := range s.plots {
		st.Plots[p] = LivePlotStatus{Name: pl.Name, Title: pl.Title, Metrics: pl.Metrics(),
			Missing: append([]string{}, s.missing[p]...)}
	}
	return st
}

func (s *liveSource) refreshLocked(force bool) {
	now := s.now()
	if !force && !s.last.IsZero() && now.Sub(s.last) < s.every/2 && !now.Before(s.last) {
		return
	}
	s.last = now
	mfs, err := s.gather.Gather()
	s.err = err
	if err != nil && len(mfs) == 0 {
		return // keep the last values; status reports the error
	}
	fams := make(map[string]*dto.MetricFamily, len(mfs))
	for _, mf := range mfs {
		fams[mf.GetName()] = mf
	}
	for p, pl := range s.plots {
		s.missing[p] = s.missing[p][:0]
		for _, m := range pl.Metrics() {
			if fams[m] == nil {
				s.missing[p] = append(s.missing[p], m)
			}
		}
	}
	cur := liveSnap{at: now, of: make([]float64, len(s.flat)), per: make([]float64, len(s.flat)),
		buckets: make([][]bucket, len(s.flat))}
	for i, ser := range s.flat {
		if ser.Kind == Quantile {
			cur.buckets[i] = mergeBuckets(fams, ser.Of)
			continue
		}
		cur.of[i] = sumSamples(fams, ser.Of)
		cur.per[i] = sumSamples(fams, ser.Per)
	}
	// The base is the oldest gather still inside the window; older ones are dropped.
	keep := s.snaps[:0]
	for _, sn := range s.snaps {
		if now.Sub(sn.at) <= s.window && sn.at.Before(now) {
			keep = append(keep, sn)
		}
	}
	s.snaps = keep
	var base *liveSnap
	if len(s.snaps) > 0 {
		base = &s.snaps[0]
	}
	for i, ser := range s.flat {
		p, k := s.index[i][0], s.index[i][1]
		s.values[p][k] = seriesValue(ser, cur, base, i)
	}
	s.snaps = append(s.snaps, cur)
}

func seriesValue(ser LiveSeries, cur liveSnap, base *liveSnap, i int) float64 {
	scale := ser.Scale
	if scale == 0 {
		scale = 1
	}
	var v float64
	switch ser.Kind {
	case Gauge:
		v = cur.of[i]
	case Rate:
		if base != nil {
			if dt := cur.at.Sub(base.at).Seconds(); dt > 0 {
				v = max(cur.of[i]-base.of[i], 0) / dt
			}
		}
	case Share:
		if base != nil {
			if d := cur.per[i] - base.per[i]; d > 0 {
				v = 100 * max(cur.of[i]-base.of[i], 0) / d
			}
		}
	case Quantile:
		if base != nil {
			v = quantile(ser.Q, bucketIncrease(cur.buckets[i], base.buckets[i]))
		}
	}
	v *= scale
	// The page's JSON cannot carry NaN or ±Inf (one would stop the page's updates).
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

func matches(m *dto.Metric, where []LabelMatch) bool {
	for _, w := range where {
		val := ""
		for _, lp := range m.GetLabel() {
			if lp.GetName() == w.Label {
				val = lp.GetValue()
				break
			}
		}
		var ok bool
		switch w.Op {
		case Equal:
			ok = val == w.Value
		case NotEqual:
			ok = val != w.Value
		case Prefix:
			ok = strings.HasPrefix(val, w.Value)
		}
		if !ok {
			return false
		}
	}
	return true
}

// sumSamples adds the matching samples: counter and gauge values, a histogram's count.
func sumSamples(fams map[string]*dto.MetricFamily, sels []Selector) float64 {
	var sum float64
	for _, sel := range sels {
		mf := fams[sel.Metric]
		if mf == nil {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !matches(m, sel.Where) {
				continue
			}
			switch {
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			case m.Histogram != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			case m.Untyped != nil:
				sum += m.GetUntyped().GetValue()
			}
		}
	}
	return sum
}

// mergeBuckets adds the cumulative buckets of the matching histograms by upper bound, with
// the total count as the +Inf bucket.
func mergeBuckets(fams map[string]*dto.MetricFamily, sels []Selector) []bucket {
	byUpper := map[float64]float64{}
	for _, sel := range sels {
		mf := fams[sel.Metric]
		if mf == nil {
			continue
		}
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			if h == nil || !matches(m, sel.Where) {
				continue
			}
			for _, b := range h.GetBucket() {
				byUpper[b.GetUpperBound()] += float64(b.GetCumulativeCount())
			}
			byUpper[math.Inf(1)] += float64(h.GetSampleCount())
		}
	}
	out := make([]bucket, 0, len(byUpper))
	for u, c := range byUpper {
		out = append(out, bucket{upper: u, count: c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].upper < out[j].upper })
	return out
}

// bucketIncrease is cur minus base, bucket by bucket (a bucket new since base counts whole).
func bucketIncrease(cur, base []bucket) []bucket {
	out := slices.Clone(cur)
	for i := range out {
		j := sort.Search(len(base), func(j int) bool { return base[j].upper >= out[i].upper })
		if j < len(base) && base[j].upper == out[i].upper {
			out[i].count = max(out[i].count-base[j].count, 0)
		}
	}
	return out
}

// quantile interpolates linearly within the bucket that holds the q-th observation, as
// PromQL's histogram_quantile does; an answer in the +Inf bucket is the highest finite bound.
func quantile(q float64, bs []bucket) float64 {
	if len(bs) == 0 || q <= 0 || q >= 1 {
		return 0
	}
	total := bs[len(bs)-1].count
	if total <= 0 {
		return 0
	}
	rank := q * total
	i := sort.Search(len(bs), func(i int) bool { return bs[i].count >= rank })
	if i >= len(bs) {
		i = len(bs) - 1
	}
	if math.IsInf(bs[i].upper, 1) {
		if i == 0 {
			return 0
		}
		return bs[i-1].upper
	}
	lower, below := 0.0, 0.0
	if i > 0 {
		lower, below = bs[i-1].upper, bs[i-1].count
	} else if bs[i].upper <= 0 {
		return bs[i].upper
	}
	in := bs[i].count - below
	if in <= 0 {
		return bs[i].upper
	}
	return lower + (bs[i].upper-lower)*(rank-below)/in
}

// validate refuses a plot list the page could not show.
func validatePlots(plots []LivePlot) error {
	names := map[string]bool{}
	for _, p := range plots {
		if p.Name == "" || names[p.Name] {
			return fmt.Errorf("observe: live plot name %q is empty or used twice", p.Name)
		}
		names[p.Name] = true
		if len(p.Series) == 0 {
			return fmt.Errorf("observe: live plot %s has no series", p.Name)
		}
		for _, s := range p.Series {
			if len(s.Of) == 0 || (s.Kind == Share && len(s.Per) == 0) || (s.Kind == Quantile && (s.Q <= 0 || s.Q >= 1)) {
				return fmt.Errorf("observe: live plot %s, series %q: want Of (and Per for a share, Q in (0,1) for a quantile)", p.Name, s.Legend)
			}
		}
	}
	return nil
}
