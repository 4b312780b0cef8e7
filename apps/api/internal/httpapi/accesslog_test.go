package httpapi_test

import (
	"net/http"
	"testing"
)

// Each request leaves one info line with its method, route template, status, bytes, latency,
// request id and user id; health probes none; off, nothing. Before there was no access log.
func TestAccessLog(t *testing.T) {
	t.Parallel()
	logs := &logCapture{}
	a := newAPI(t, func(d *deps) {
		d.http.Logger = logs.logger()
		d.http.AccessLog = true
		d.http.QuietPaths = []string{"/healthz"}
		d.http.Deadlines = defaultDeadlines
	})
	token := a.register("jake")
	slug := a.createArticle(token, "Logged")
	r := a.do("GET", "/api/articles/"+slug, token, nil, "X-Request-ID", "req-42")
	a.do("GET", "/api/nowhere", "", nil)
	a.do("GET", "/healthz", "", nil)

	var lines []map[string]any
	for _, l := range logs.lines(t, "INFO") {
		if l["msg"] == "request" {
			lines = append(lines, l)
		}
	}
	if len(lines) != 4 {
		t.Fatalf("%d access lines, want 4 (register, create, get, unmatched): %v", len(lines), lines)
	}
	get := lines[2]
	if get["method"] != "GET" || get["route"] != "/api/articles/:slug" || num(get["status"]) != 200 ||
		num(get["bytes"]) != len(r.Body) || get["request_id"] != "req-42" || num(get["user_id"]) == 0 {
		t.Fatalf("access line %v", get)
	}
	if _, ok := get["latency"]; !ok {
		t.Fatalf("no latency: %v", get)
	}
	if lines[3]["route"] != "unmatched" || num(lines[3]["status"]) != http.StatusNotFound {
		t.Fatalf("unmatched line %v", lines[3])
	}
	if _, ok := lines[0]["user_id"]; ok {
		t.Fatalf("anonymous request logged a user: %v", lines[0])
	}

	quiet := &logCapture{}
	off := newAPI(t, func(d *deps) { d.http.Logger = quiet.logger() })
	off.do("GET", "/api/tags", "", nil)
	if n := len(quiet.lines(t, "INFO")); n != 0 {
		t.Fatalf("access log off wrote %d lines", n)
	}
}
