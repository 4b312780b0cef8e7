package observe_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/brisk-go/brisk/libs/observe"
)

// liveMsg is what statsviz sends on its websocket: the plots' layout once, then values.
type liveMsg struct {
	Event string `json:"event"`
	Data  struct {
		Series json.RawMessage `json:"series"`
	} `json:"data"`
}

func TestLivePageServesOurPlotsFromTheRegistryAndClosesItsSockets(t *testing.T) {
	ctx := context.Background()
	tel, err := observe.New(ctx, observe.Options{Service: "brisk-test", AdminAddr: "127.0.0.1:0", SampleEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := tel.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = tel.Shutdown(ctx)
		}
	})
	admin := "http://" + tel.AdminAddr()
	api := httptest.NewServer(engine(tel, slog.New(slog.DiscardHandler)))
	defer api.Close()

	for _, path := range []string{"/debug/statsviz/", "/debug/statsviz"} {
		code, body := get(t, admin+path)
		if code != http.StatusOK || !strings.Contains(string(body), `<script src="brisk.js"></script>`) {
			t.Fatalf("GET %s: %d, want 200 and the page with brisk.js\n%.300s", path, code, body)
		}
	}
	if code, body := get(t, admin+"/debug/statsviz/brisk.js"); code != http.StatusOK || !strings.Contains(string(body), "brisk.json") {
		t.Fatalf("GET brisk.js: %d %.200s", code, body)
	}

	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(admin, "http")+"/debug/statsviz/ws", nil)
	if resp != nil { // the handshake's response: its body is empty, closed for form's sake
		resp.Body.Close()
	}
	if err != nil {
		t.Fatalf("dial the page's websocket: %v", err)
	}
	defer ws.Close()
	var cfg struct {
		Event string `json:"event"`
		Data  struct {
			Series []struct {
				Name     string `json:"name"`
				Subplots []struct {
					Name string `json:"name"`
				} `json:"subplots"`
			} `json:"series"`
		} `json:"data"`
	}
	if err := ws.ReadJSON(&cfg); err != nil || cfg.Event != "config" {
		t.Fatalf("first message: %v, event %q; want the config", err, cfg.Event)
	}
	var names []string
	for _, s := range cfg.Data.Series {
		names = append(names, s.Name)
	}
	for _, p := range observe.DefaultLivePlots() {
		if !slices.Contains(names, p.Name) {
			t.Errorf("the page's config lacks our plot %s (has %v)", p.Name, names)
		}
	}
	if !slices.Contains(names, "goroutines") {
		t.Errorf("the page's config lacks statsviz's runtime plots (has %v)", names)
	}

	// Requests between the page's points must show as a rate above zero: the values come
	// from the same registry /metrics serves.
	deadline := time.Now().Add(30 * time.Second)
	var requests []float64
	for {
		for range 5 {
			get(t, api.URL+"/items/1")
		}
		var m liveMsg
		_ = ws.SetReadDeadline(deadline)
		if err := ws.ReadJSON(&m); err != nil {
			t.Fatalf("reading the page's points: %v", err)
		}
		var series map[string][]float64
		if err := json.Unmarshal(m.Data.Series, &series); err != nil {
			// statsviz's own heatmaps are not flat lists; ours are.
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(m.Data.Series, &raw); err != nil {
				t.Fatal(err)
			}
			series = map[string][]float64{}
			for _, p := range observe.DefaultLivePlots() {
				var v []float64
				if err := json.Unmarshal(raw[p.Name], &v); err != nil {
					t.Fatalf("plot %s: %v in %s", p.Name, err, raw[p.Name])
				}
				series[p.Name] = v
			}
		}
		for _, p := range observe.DefaultLivePlots() {
			if len(series[p.Name]) != len(p.Series) {
				t.Fatalf("plot %s sent %v, want %d values", p.Name, series[p.Name], len(p.Series))
			}
		}
		requests = series["brisk_requests"]
		if requests[0] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("requests/s stayed %v while requests were served", requests)
		}
	}

	var st observe.LiveStatus
	code, body := get(t, admin+"/debug/statsviz/brisk.json")
	if err := json.Unmarshal(body, &st); code != http.StatusOK || err != nil {
		t.Fatalf("brisk.json: %d %v %s", code, err, body)
	}
	missing := map[string][]string{}
	for _, p := range st.Plots {
		missing[p.Name] = p.Missing
	}
	if len(missing["brisk_requests"]) != 0 || len(missing["brisk_latency"]) != 0 {
		t.Errorf("the HTTP plots report missing metrics %v %v; the middleware exports them", missing["brisk_requests"], missing["brisk_latency"])
	}
	if !slices.Contains(missing["brisk_shed"], observe.MetricShed) {
		t.Errorf("brisk_shed reports missing %v; nothing exports %s here", missing["brisk_shed"], observe.MetricShed)
	}

	stopped = true
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	// Shutdown closes the page's socket: the next read ends instead of waiting for points.
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		var m liveMsg
		if err := ws.ReadJSON(&m); err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				t.Fatal("the page's socket stayed open after Shutdown")
			}
			break
		}
	}
}
