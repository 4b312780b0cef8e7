package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// faultAPI is one API process of a fault test: run in this process, its JSON log kept in a
// buffer, its listeners on loopback ports.
type faultAPI struct {
	t      *testing.T
	base   string // http://host:port of the API listener
	admin  string // http://host:port of the admin listener, when ADMIN_ADDR is not "off"
	logs   *lockedBuffer
	client *http.Client
	cancel context.CancelFunc
	done   chan error
	ended  bool
}

// startFaultAPI serves the API with env (JSON logs are forced) and waits until it listens.
// The process is stopped at cleanup if the test has not stopped it.
func startFaultAPI(t *testing.T, env map[string]string) *faultAPI {
	t.Helper()
	env["LOG_FORMAT"] = "json"
	a := &faultAPI{t: t, logs: &lockedBuffer{}, client: &http.Client{Timeout: 20 * time.Second}, done: make(chan error, 1)}
	var ctx context.Context
	ctx, a.cancel = context.WithCancel(context.Background())
	go func() { a.done <- run(ctx, nil, envOf(env), a.logs) }()
	t.Cleanup(func() {
		if !a.ended {
			a.cancel()
			<-a.done
		}
	})
	for deadline := time.Now().Add(60 * time.Second); a.base == ""; {
		for _, l := range a.logs.records() {
			switch l["msg"] {
			case "listening":
				a.base = "http://" + l["addr"].(string)
			case "admin listening":
				a.admin = "http://" + l["addr"].(string)
			}
		}
		if a.base != "" {
			break
		}
		select {
		case err := <-a.done:
			a.ended = true
			t.Fatalf("serve ended before listening: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("not listening within 60s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return a
}

// stop ends the process and fails the test unless it stopped cleanly.
func (a *faultAPI) stop() {
	a.t.Helper()
	a.cancel()
	a.ended = true
	if err := <-a.done; err != nil {
		a.t.Fatalf("serve: %v", err)
	}
}

// reply is one HTTP answer; status 0 means none came (the error is in body).
type reply struct {
	status  int
	header  http.Header
	body    []byte
	latency time.Duration
}

// call sends one request; extra holds header name/value pairs.
func (a *faultAPI) call(method, path, token string, body any, extra ...string) reply {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	} else if method == "POST" {
		req.Header.Set("X-Request-Timeout", "20s") // registering hashes a password: slow under -race
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	began := time.Now()
	res, err := a.client.Do(req)
	if err != nil {
		return reply{body: []byte(err.Error()), latency: time.Since(began)}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return reply{status: res.StatusCode, header: res.Header, body: b, latency: time.Since(began)}
}

// waitStatus polls path until it answers want, for at most 20s.
func (a *faultAPI) waitStatus(path string, want int, what string) {
	a.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		if a.call("GET", path, "", nil).status == want {
			return
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("%s: %s never answered %d within 20s: %s", what, path, want, a.call("GET", path, "", nil).body)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// register signs up a user and returns its token.
func (a *faultAPI) register(name string) string {
	a.t.Helper()
	r := a.call("POST", "/api/users", "", map[string]any{"user": map[string]any{"username": name, "email": name + "@example.com", "password": "password1"}})
	if r.status != http.StatusCreated {
		a.t.Fatalf("register %s: %d %s", name, r.status, r.body)
	}
	var reg struct {
		User struct{ Token string } `json:"user"`
	}
	_ = json.Unmarshal(r.body, &reg)
	return reg.User.Token
}

// countLogs counts the log records whose msg starts with prefix.
func (a *faultAPI) countLogs(prefix string) int {
	n := 0
	for _, l := range a.logs.records() {
		if msg, _ := l["msg"].(string); strings.HasPrefix(msg, prefix) {
			n++
		}
	}
	return n
}

// metric sums the samples of a Prometheus series on the admin listener's /metrics whose
// labels include every one of labels (`name="value"`).
func (a *faultAPI) metric(name string, labels ...string) float64 {
	a.t.Helper()
	res, err := a.client.Get(a.admin + "/metrics")
	if err != nil {
		a.t.Fatalf("GET /metrics: %v", err)
	}
	defer res.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		if !all(labels, func(l string) bool { return strings.Contains(line, l) }) {
			continue
		}
		if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}

func all[T any](s []T, ok func(T) bool) bool {
	for _, v := range s {
		if !ok(v) {
			return false
		}
	}
	return true
}

// outcome is one request of a load: its status and request id, and the slug when a write
// was acknowledged.
type outcome struct {
	status    int
	requestID string
	slug      string
}

func outcomeOf(r reply) outcome {
	o := outcome{status: r.status}
	if r.header != nil {
		o.requestID = r.header.Get("X-Request-ID")
	}
	return o
}

// checkFailuresLogged fails the test for every 5xx that is not one of want, or that did not
// leave exactly one ERROR line with its request id and status in one of the processes' logs,
// and for every request that got no answer at all.
func checkFailuresLogged(t *testing.T, results []outcome, want []int, apis ...*faultAPI) {
	t.Helper()
	errorLines := map[string][]map[string]any{}
	for _, a := range apis {
		for _, l := range a.logs.records() {
			if l["level"] == "ERROR" {
				if id, _ := l["request_id"].(string); id != "" {
					errorLines[id] = append(errorLines[id], l)
				}
			}
		}
	}
	unanswered := 0
	for _, o := range results {
		if o.status == 0 {
			unanswered++
		}
		if o.status < 500 {
			continue
		}
		if !slices.Contains(want, o.status) {
			t.Errorf("request %s: status %d, want one of %v: %v", o.requestID, o.status, want, errorLines[o.requestID])
		}
		lines := errorLines[o.requestID]
		if len(lines) != 1 || int(lines[0]["status"].(float64)) != o.status {
			t.Errorf("request %s (%d): ERROR lines %v, want one with its status", o.requestID, o.status, lines)
		}
	}
	if unanswered > 0 {
		t.Errorf("%d requests got no HTTP answer at all", unanswered)
	}
}

// percentile returns the p-th percentile (0–100) of ds, or 0 for none.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

// slugOf reads the slug out of an article response.
func slugOf(body []byte) string {
	var a struct {
		Article struct{ Slug string } `json:"article"`
	}
	_ = json.Unmarshal(body, &a)
	return a.Article.Slug
}
