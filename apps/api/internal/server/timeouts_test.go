package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/brisk-go/brisk/apps/api/internal/server"
)

// A client that sends its headers and then trickles (here: stops sending) its body is cut off
// by the read timeout: the handler's read fails and the connection is closed. Before the read
// timeout existed the connection stayed open for as long as the client liked.
func TestSlowBodyIsCutOff(t *testing.T) {
	bodyErr := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		bodyErr <- err
		if err != nil {
			http.Error(w, "body too slow", http.StatusRequestTimeout)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- server.ServeWith(ctx, ln, h, server.Timeouts{Read: 300 * time.Millisecond, Shutdown: time.Second}, slog.New(slog.DiscardHandler))
	}()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	// Bounded wait only so a regression fails instead of hanging.
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.ReadAll(conn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("connection with a stalled body still open after 10s; want it closed by the read timeout")
	}
	select {
	case err := <-bodyErr:
		if err == nil {
			t.Fatal("handler read a whole body the client never sent")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("handler never finished reading")
	}
}

// Zero timeouts take the defaults, which are all set: no connection is unbounded by default.
func TestDefaultTimeoutsAreAllSet(t *testing.T) {
	d := server.DefaultTimeouts
	for name, v := range map[string]time.Duration{"read header": d.ReadHeader, "read": d.Read, "write": d.Write, "idle": d.Idle, "shutdown": d.Shutdown} {
		if v <= 0 {
			t.Errorf("default %s timeout is %v", name, v)
		}
	}
}
