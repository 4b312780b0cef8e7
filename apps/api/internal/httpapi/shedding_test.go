package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/brisk-go/brisk/libs/perfcore/shed"
)

// An overloaded API refuses /api requests at once with 503, Retry-After and the RealWorld
// error body; the refusal is the shedder's, not a handler's.
func TestOverloadedAPIShedsWithRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	s, err := shed.New(shed.Config{MinInFlight: 1, MaxQueueDelay: -1, CPU: func() float64 { return 1 }, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	// One 100ms request finishes every 100ms: the capacity is one in flight.
	for range 20 {
		done, err := s.Allow()
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(100 * time.Millisecond)
		done()
	}
	a := newAPI(t, func(d *deps) { d.http.Shedder = s })
	hold, err := s.Allow() // the one request the process can serve is in flight
	if err != nil {
		t.Fatal(err)
	}
	r := a.do("GET", "/api/tags", "", nil)
	if r.Code != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("overloaded: %d %v %s", r.Code, r.Header, r.Body)
	}
	if errs := r.json(t)["errors"].(map[string]any); errs["server"] == nil {
		t.Errorf("body %s is not the RealWorld error body", r.Body)
	}
	hold()
	now = now.Add(2 * time.Second) // past the cool-off, with room again
	if r := a.do("GET", "/api/tags", "", nil); r.Code != http.StatusOK {
		t.Fatalf("with room again: %d %s", r.Code, r.Body)
	}
}
