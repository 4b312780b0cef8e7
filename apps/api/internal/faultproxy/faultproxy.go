// Package faultproxy is a TCP proxy for fault tests: it sits between a process and a service
// (PostgreSQL, Redis) and can cut every connection, pause all traffic, or slow it down, then
// go back to passing bytes through. Tests use it in-process; it is not for production.
package faultproxy

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// Mode is what the proxy does to traffic.
type Mode int

// The modes.
const (
	Pass  Mode = iota // forward bytes as they come
	Cut               // close every connection, and each new one at once
	Pause             // accept, but forward nothing until the mode changes
	Slow              // forward each chunk after Delay
)

// Proxy forwards connections from its listener to Target.
type Proxy struct {
	Target string
	Delay  time.Duration // per chunk, in Slow

	ln    net.Listener
	life  context.Context // ends at Close: a dial to the target in progress is abandoned
	stop  context.CancelFunc
	mu    sync.Mutex
	mode  Mode
	wake  chan struct{} // closed and replaced on every mode change
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// Start listens on a free loopback port and forwards to target.
func Start(target string) (*Proxy, error) {
	life, stop := context.WithCancel(context.Background())
	var lc net.ListenConfig
	ln, err := lc.Listen(life, "tcp", "127.0.0.1:0")
	if err != nil {
		stop()
		return nil, err
	}
	p := &Proxy{Target: target, Delay: 50 * time.Millisecond, ln: ln, life: life, stop: stop,
		wake: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the address clients connect to instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Set changes the mode; Cut also closes every open connection.
func (p *Proxy) Set(m Mode) {
	p.mu.Lock()
	p.mode = m
	close(p.wake)
	p.wake = make(chan struct{})
	var doomed []net.Conn
	if m == Cut {
		for c := range p.conns {
			doomed = append(doomed, c)
		}
	}
	p.mu.Unlock()
	for _, c := range doomed {
		_ = c.Close()
	}
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.stop()
	p.Set(Cut)
	p.wg.Wait()
	return err
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == Cut {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	_ = c.Close()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(client) {
			_ = client.Close()
			continue
		}
		p.wg.Add(1)
		go p.serve(client)
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	defer p.untrack(client)
	d := net.Dialer{Timeout: 5 * time.Second}
	server, err := d.DialContext(p.life, "tcp", p.Target)
	if err != nil {
		return
	}
	if !p.track(server) {
		_ = server.Close()
		return
	}
	defer p.untrack(server)
	done := make(chan struct{}, 2)
	go func() { p.pipe(server, client); done <- struct{}{} }()
	go func() { p.pipe(client, server); done <- struct{}{} }()
	<-done
	// One direction ended: end the other.
	_ = client.Close()
	_ = server.Close()
	<-done
}

// pipe copies src to dst chunk by chunk, obeying the mode before each chunk.
func (p *Proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.gate() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return
			}
			return
		}
	}
}

// gate waits while paused, sleeps in Slow, and reports false in Cut.
func (p *Proxy) gate() bool {
	for {
		p.mu.Lock()
		mode, wake, delay := p.mode, p.wake, p.Delay
		p.mu.Unlock()
		switch mode {
		case Cut:
			return false
		case Pause:
			<-wake
		case Slow:
			select {
			case <-time.After(delay):
				return true
			case <-wake:
				// the mode changed while waiting: obey the new one
			}
		default:
			return true
		}
	}
}
