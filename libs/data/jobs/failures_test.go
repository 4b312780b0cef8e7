package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/brisk-go/brisk/libs/data/datatest"
	"github.com/brisk-go/brisk/libs/data/jobs"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) records() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, line := range bytes.Split(s.b.Bytes(), []byte("\n")) {
		var m map[string]any
		if json.Unmarshal(line, &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// Every failed attempt of a job is logged with its kind, id, attempt and error: WARN while it
// will be retried, ERROR when it is discarded. Before, River's lines about it were filtered
// out and a failing job left no trace in the log.
func TestJobFailuresAreLogged(t *testing.T) {
	t.Parallel()
	db, url := datatest.NewWithURL(t)
	var buf syncBuffer
	w := river.NewWorkers()
	river.AddWorker(w, failWorker{})
	q, err := jobs.New(context.Background(), jobs.Config{
		DB: db, URL: url, Workers: w, PollInterval: 50 * time.Millisecond,
		Logger: slog.New(slog.NewJSONHandler(&buf, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Stop(context.Background()) })
	ctx := context.Background()
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := q.Insert(ctx, failArgs{}, &river.InsertOpts{MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	waitFor(t, "a log line for the failed job", func() bool {
		for _, r := range buf.records() {
			if r["msg"] == "job failed" {
				line = r
				return true
			}
		}
		return false
	})
	if line["level"] != "ERROR" || line["job_kind"] != "always_fails" || int64(line["job_id"].(float64)) != res.Job.ID ||
		line["attempt"].(float64) != 1 || line["err"] != "broken on purpose" || line["discarded"] != true {
		t.Fatalf("log line %v", line)
	}
}
