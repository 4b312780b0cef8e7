package startup

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/brisk-go/brisk/libs/config"
)

func TestStackStopsInReverseOrderOnceEachWithinItsTimeout(t *testing.T) {
	t.Parallel()
	var order []string
	s := NewStack(slog.New(slog.DiscardHandler), time.Second)
	push := func(name string, err error) {
		s.Push(name, func(ctx context.Context) error {
			if _, ok := ctx.Deadline(); !ok {
				t.Errorf("%s: stopped without a deadline", name)
			}
			order = append(order, name)
			return err
		})
	}
	push("database", nil)
	push("queue", errors.New("queue stuck"))
	push("server", nil)
	var seen time.Duration
	s.PushTimeout("pool", time.Hour, func(ctx context.Context) error {
		dl, _ := ctx.Deadline()
		seen = time.Until(dl)
		order = append(order, "pool")
		return nil
	})

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a process stops after its signal context ended
	err := s.Stop(ctx)
	if got := strings.Join(order, ","); got != "pool,server,queue,database" {
		t.Errorf("stop order %s", got)
	}
	if err == nil || !strings.Contains(err.Error(), "stop queue: queue stuck") {
		t.Errorf("error %v does not name the part that failed", err)
	}
	if seen < 59*time.Minute {
		t.Errorf("a part's own timeout was not used: %v left", seen)
	}
	if err := s.Stop(ctx); err != nil || len(order) != 4 {
		t.Errorf("second Stop did something: %v, %v", err, order)
	}
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	cases := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("boom"), 1},
		{UsageError{Msg: "unknown command"}, 2},
		{&config.Error{Env: "HTTP_ADDR", Value: "x"}, 2},
	}
	for _, c := range cases {
		if got := exitCode("api", c.err, &stderr); got != c.want {
			t.Errorf("%v: exit %d, want %d", c.err, got, c.want)
		}
	}
	if !strings.HasPrefix(stderr.String(), "api: boom\n") {
		t.Errorf("stderr %q", stderr.String())
	}
}

func TestNewLoggerFollowsTheFormat(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	cfg := &config.Config{}
	cfg.Log.Format = "json"
	NewLogger(cfg, &b).Info("hello", "k", 1)
	if !strings.HasPrefix(b.String(), `{"time"`) || !strings.Contains(b.String(), `"msg":"hello"`) {
		t.Errorf("not a JSON line: %q", b.String())
	}
}
