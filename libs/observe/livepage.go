package observe

import (
	"bufio"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/arl/statsviz"
)

// LivePagePath is where the admin listener serves the live page.
const LivePagePath = "/debug/statsviz/"

const (
	// liveSendEvery is how often the page receives a point: statsviz's own default, which
	// its runtime plots are drawn for.
	liveSendEvery = time.Second
	// liveRateWindow is how far back the page's rates and quantiles look. Grafana's
	// $__rate_interval is four scrapes; ten one-second points smooth a burst as much while
	// still showing a load start within seconds.
	liveRateWindow = 10 * time.Second
)

//go:embed livepage.js
var livePageJS []byte

// livePage is the statsviz page with Brisk's plots. The statsviz server (which owns a ticker
// goroutine) is built by the first Handler call and closed by close; the websockets it
// hijacked are tracked here, because neither http.Server.Shutdown nor statsviz closes them.
type livePage struct {
	src *liveSource

	mu     sync.Mutex
	srv    *statsviz.Server
	index  []byte // statsviz's index.html with our script added
	conns  map[net.Conn]struct{}
	closed bool
}

func newLivePage(t *Telemetry, plots []LivePlot) (*livePage, error) {
	if err := validatePlots(plots); err != nil {
		return nil, err
	}
	lp := &livePage{conns: map[net.Conn]struct{}{}}
	lp.src = newLiveSource(t.registry, t.now, plots, liveSendEvery, liveRateWindow, lp.watched)
	return lp, nil
}

// watched reports whether a page is connected.
func (lp *livePage) watched() bool {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	return len(lp.conns) > 0
}

// register mounts the page on mux; it builds the statsviz server once.
func (lp *livePage) register(mux *http.ServeMux) error {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	if lp.closed {
		return errors.New("observe: live page after shutdown")
	}
	if lp.srv == nil {
		opts := []statsviz.Option{statsviz.Root(strings.TrimSuffix(LivePagePath, "/")), statsviz.SendFrequency(liveSendEvery)}
		for p, pl := range lp.src.plots {
			cfg := statsviz.TimeSeriesPlotConfig{
				Name: pl.Name, Title: pl.Title, Type: statsviz.Scatter, YAxisTickSuffix: pl.Unit,
				InfoText: pl.Info + "\nReads: " + strings.Join(pl.Metrics(), ", ") + " (as on /metrics).",
			}
			for i, s := range pl.Series {
				cfg.Series = append(cfg.Series, statsviz.TimeSeries{
					Name: s.Legend, Unitfmt: ".3~s", HoverOn: statsviz.HoverOnPoints,
					GetValue: func() float64 { return lp.src.value(p, i) },
				})
			}
			tsp, err := cfg.Build()
			if err != nil {
				return fmt.Errorf("observe: live plot %s: %w", pl.Name, err)
			}
			opts = append(opts, statsviz.TimeseriesPlot(tsp))
		}
		srv, err := statsviz.NewServer(opts...)
		if err != nil {
			return fmt.Errorf("observe: live page: %w", err)
		}
		lp.srv = srv
	}
	index, ws := lp.srv.Index(), lp.srv.Ws()
	mux.HandleFunc("GET "+LivePagePath+"{$}", func(w http.ResponseWriter, r *http.Request) {
		lp.serveIndex(w, r, index)
	})
	mux.HandleFunc(LivePagePath, index)
	mux.HandleFunc(LivePagePath+"ws", func(w http.ResponseWriter, r *http.Request) {
		ws(&trackingWriter{ResponseWriter: w, lp: lp}, r)
	})
	mux.HandleFunc("GET "+LivePagePath+"brisk.json", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, lp.src.status())
	})
	mux.HandleFunc("GET "+LivePagePath+"brisk.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = w.Write(livePageJS)
	})
	return nil
}

// serveIndex serves statsviz's page with our script added (brisk.js): it shows which of our
// plots this process does not feed (from brisk.json), gives our plots the category and search
// names statsviz leaves out, and keeps the points the page received for the browser test.
func (lp *livePage) serveIndex(w http.ResponseWriter, r *http.Request, index http.HandlerFunc) {
	lp.mu.Lock()
	page := lp.index
	lp.mu.Unlock()
	if page == nil {
		rec := httptest.NewRecorder()
		index(rec, r.Clone(r.Context()))
		if rec.Code != http.StatusOK {
			index(w, r)
			return
		}
		body := rec.Body.String()
		const tag = `<script src="brisk.js"></script>`
		if i := strings.LastIndex(body, "</body>"); i >= 0 {
			body = body[:i] + tag + "\n" + body[i:]
		} else {
			body += tag
		}
		page = []byte(body)
		lp.mu.Lock()
		lp.index = page
		lp.mu.Unlock()
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(page)
}

// close stops the statsviz server and closes the websockets it holds. Safe to call twice.
func (lp *livePage) close() error {
	lp.mu.Lock()
	if lp.closed {
		lp.mu.Unlock()
		return nil
	}
	lp.closed = true
	srv := lp.srv
	conns := make([]net.Conn, 0, len(lp.conns))
	for c := range lp.conns {
		conns = append(conns, c)
	}
	lp.mu.Unlock()
	var errs []error
	if srv != nil {
		errs = append(errs, srv.Close())
	}
	for _, c := range conns {
		if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("observe: close live page socket: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (lp *livePage) track(c net.Conn) bool {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	if lp.closed {
		return false
	}
	lp.conns[c] = struct{}{}
	return true
}

func (lp *livePage) untrack(c net.Conn) {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	delete(lp.conns, c)
}

// trackingWriter records the connection the websocket upgrade hijacks.
type trackingWriter struct {
	http.ResponseWriter
	lp *livePage
}

func (w *trackingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("observe: live page: connection cannot be hijacked")
	}
	c, rw, err := h.Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("observe: live page: hijack: %w", err)
	}
	tc := &trackedConn{Conn: c, lp: w.lp}
	if !w.lp.track(tc) {
		_ = c.Close()
		return nil, nil, errors.New("observe: live page is shut down")
	}
	return tc, rw, nil
}

// trackedConn closes itself when a write fails: statsviz stops sending to such a socket but
// leaves it open.
type trackedConn struct {
	net.Conn
	lp   *livePage
	once sync.Once
}

func (c *trackedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if err != nil {
		_ = c.Close()
	}
	return n, err
}

func (c *trackedConn) Close() error {
	err := net.ErrClosed
	c.once.Do(func() {
		c.lp.untrack(c)
		err = c.Conn.Close()
	})
	return err
}
