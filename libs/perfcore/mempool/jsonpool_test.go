package mempool_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/brisk-go/brisk/libs/perfcore/mempool"
)

func newJSONPool(t *testing.T, cfg mempool.JSONPoolConfig) *mempool.JSONPool {
	t.Helper()
	p, err := mempool.NewJSONPool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop(context.Background()) })
	return p
}

// Size bounds the idle encoders: releasing three into a pool of two keeps two and counts one
// drop as full; the next two Gets are hits, the third a miss.
func TestJSONPoolKeepsAtMostSize(t *testing.T) {
	p := newJSONPool(t, mempool.JSONPoolConfig{Size: 2, Slab: 1024})
	es := []*mempool.Encoder{p.Get(), p.Get(), p.Get()}
	for _, e := range es {
		e.Release()
	}
	if s := p.Stats(); s.Idle != 2 || s.Full != 1 || s.Misses != 3 || s.Hits != 0 {
		t.Fatalf("after 3 releases into Size 2: %+v", s)
	}
	for range 3 {
		p.Get()
	}
	if s := p.Stats(); s.Idle != 0 || s.Hits != 2 || s.Misses != 4 {
		t.Fatalf("after 3 more gets: %+v", s)
	}
}

// Slab is the starting capacity; an encoder that grew beyond 8 slabs is not kept.
func TestJSONPoolSlabAndOversize(t *testing.T) {
	p := newJSONPool(t, mempool.JSONPoolConfig{Size: 4, Slab: 2048})
	e := p.Get()
	if err := e.Encode(strings.Repeat("x", 100)); err != nil {
		t.Fatal(err)
	}
	if c := cap(e.Bytes()); c != 2048 {
		t.Fatalf("a new encoder's buffer has capacity %d, want the slab 2048", c)
	}
	e.Release()
	big := p.Get()
	if err := big.Encode(strings.Repeat("x", 9*2048)); err != nil {
		t.Fatal(err)
	}
	big.Release()
	if s := p.Stats(); s.Oversize != 1 || s.Idle != 0 {
		t.Fatalf("an encoder beyond 8 slabs was kept: %+v", s)
	}
}

// The pooled encoder writes what json.Marshal writes.
func TestJSONPoolEncodesLikeMarshal(t *testing.T) {
	p := newJSONPool(t, mempool.JSONPoolConfig{Size: 1, Slab: 1024})
	v := map[string]any{"title": "<b>&", "n": 3}
	want, _ := json.Marshal(v)
	for range 2 { // the second round reuses the released encoder
		e := p.Get()
		if err := e.Encode(v); err != nil {
			t.Fatal(err)
		}
		if string(e.Bytes()) != string(want) {
			t.Fatalf("pooled %s, Marshal %s", e.Bytes(), want)
		}
		e.Release()
	}
}

// Sweep releases only what stayed idle since the previous sweep: of three idle encoders, two
// are taken and returned in between, so the next sweep releases one and the one after that
// (nothing taken) the remaining two.
func TestJSONPoolSweepReleasesIdle(t *testing.T) {
	p := newJSONPool(t, mempool.JSONPoolConfig{Size: 8, Slab: 1024})
	a, b, c := p.Get(), p.Get(), p.Get()
	a.Release()
	b.Release()
	c.Release()
	if n := p.Sweep(); n != 0 {
		t.Fatalf("the first sweep released %d; nothing was idle for a whole interval yet", n)
	}
	x, y := p.Get(), p.Get()
	x.Release()
	y.Release()
	if n := p.Sweep(); n != 1 {
		t.Fatalf("sweep released %d, want the 1 encoder no Get took", n)
	}
	if n := p.Sweep(); n != 2 {
		t.Fatalf("sweep released %d, want the 2 left idle", n)
	}
	if s := p.Stats(); s.Idle != 0 || s.Released != 3 {
		t.Fatalf("after the sweeps: %+v", s)
	}
}

// Start's loop sweeps every CleanupInterval until Stop, which may be called twice and leaves
// no goroutine behind.
func TestJSONPoolCleanupLoop(t *testing.T) {
	defer goleak.VerifyNone(t)
	p, err := mempool.NewJSONPool(mempool.JSONPoolConfig{Size: 8, Slab: 1024, CleanupInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Get().Release()
	for deadline := time.Now().Add(10 * time.Second); p.Stats().Idle != 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if s := p.Stats(); s.Idle != 0 || s.Released != 1 {
		t.Fatalf("the cleanup loop did not release the idle encoder: %+v", s)
	}
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestJSONPoolConfig(t *testing.T) {
	for _, cfg := range []mempool.JSONPoolConfig{{Size: -1, Slab: 1}, {Size: 1, Slab: 0}, {Slab: 1, CleanupInterval: -1}} {
		if _, err := mempool.NewJSONPool(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}
