package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLoadNamesTheLivePage(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/statsviz/", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var out bytes.Buffer
	if err := run(context.Background(), []string{"-url", srv.URL + "/api", "-admin", srv.URL, "-duration", "5s", "-workers", "1", "-max-requests", "3"}, &out); err != nil {
		t.Fatal(err)
	}
	if want := "watch it live at " + srv.URL + "/debug/statsviz/"; !strings.Contains(out.String(), want) {
		t.Fatalf("output %q does not contain %q", out.String(), want)
	}

	out.Reset()
	srv.Close() // nothing answers now
	if err := run(context.Background(), []string{"-url", srv.URL + "/api", "-admin", srv.URL, "-duration", "5s", "-workers", "1", "-max-requests", "3"}, &out); err != nil {
		t.Fatal(err)
	}
	if want := "the live page " + srv.URL + "/debug/statsviz/ did not answer"; !strings.Contains(out.String(), want) {
		t.Fatalf("output %q does not contain %q", out.String(), want)
	}
}

func TestLoadRefusesANonLoopbackAdmin(t *testing.T) {
	err := run(context.Background(), []string{"-admin", "http://192.0.2.1:9090"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "-admin") {
		t.Fatalf("err = %v, want a refusal naming -admin", err)
	}
}
