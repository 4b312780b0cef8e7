package mempool

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

type obj struct{ data []byte }

func TestObjectPool(t *testing.T) {
	made := 0
	p, err := NewObjectPool(ObjectPoolConfig[*obj]{
		New:     func() *obj { made++; return &obj{} },
		Reset:   func(o *obj) { o.data = o.data[:0] },
		Size:    func(o *obj) int { return cap(o.data) },
		MaxSize: 64,
	})
	if err != nil {
		t.Fatal(err)
	}
	o := p.Get()
	o.data = append(o.data, "hello"...)
	if !p.Put(o) {
		t.Fatal("small object not pooled")
	}
	big := &obj{data: make([]byte, 0, 1024)}
	if p.Put(big) {
		t.Fatal("object above MaxSize pooled")
	}
	// sync.Pool may drop objects at any GC, so only check what Get
	// returns when it does reuse: a reset object, never the big one.
	for range 10 {
		g := p.Get()
		if len(g.data) != 0 || cap(g.data) > 64 {
			t.Fatalf("Get returned an unreset or oversized object: len %d cap %d", len(g.data), cap(g.data))
		}
	}
	if _, err := NewObjectPool(ObjectPoolConfig[*obj]{}); err == nil {
		t.Fatal("nil New accepted")
	}
	if _, err := NewObjectPool(ObjectPoolConfig[*obj]{New: func() *obj { return nil }, MaxSize: -1}); err == nil {
		t.Fatal("negative MaxSize accepted")
	}
}

func TestBufferPool(t *testing.T) {
	p, err := NewBufferPool(64, 1024)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ hint, minCap int }{{0, 64}, {10, 64}, {64, 64}, {65, 1024}, {1024, 1024}, {5000, 5000}} {
		b := p.Get(tc.hint)
		if b.Cap() < tc.minCap || b.Len() != 0 {
			t.Fatalf("Get(%d): cap %d len %d, want cap >= %d and empty", tc.hint, b.Cap(), b.Len(), tc.minCap)
		}
		b.WriteString("x")
		p.Put(b)
	}
	if p.Put(bytes.NewBuffer(make([]byte, 0, 1<<20))) {
		t.Fatal("huge buffer pooled")
	}
	if p.Put(bytes.NewBuffer(make([]byte, 0, 8))) {
		t.Fatal("buffer below the smallest class pooled")
	}
	if !p.Put(bytes.NewBuffer(make([]byte, 0, 2000))) {
		t.Fatal("buffer between classes not pooled")
	}
	if p.Put(nil) {
		t.Fatal("nil pooled")
	}
	for _, bad := range [][]int{{0}, {64, 64}, {128, 64}} {
		if _, err := NewBufferPool(bad...); err == nil {
			t.Fatalf("classes %v accepted", bad)
		}
	}
	if Buffers() == nil {
		t.Fatal("no default pool")
	}
}

func TestEncodeJSONMatchesMarshal(t *testing.T) {
	vals := []any{
		map[string]any{"a": 1, "b": "<tag>&"},
		[]int{1, 2, 3},
		struct {
			Name string `json:"name"`
		}{"x"},
		nil,
	}
	for _, v := range vals {
		want, _ := json.Marshal(v)
		var buf bytes.Buffer
		if err := EncodeJSON(&buf, v); err != nil {
			t.Fatal(err)
		}
		if buf.String() != string(want) {
			t.Fatalf("EncodeJSON = %q, json.Marshal = %q", buf.String(), want)
		}
		got, err := AppendJSON([]byte("prefix:"), v)
		if err != nil || string(got) != "prefix:"+string(want) {
			t.Fatalf("AppendJSON = %q, %v", got, err)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestEncodeJSONErrors(t *testing.T) {
	var buf bytes.Buffer
	if err := EncodeJSON(&buf, math.Inf(1)); err == nil || buf.Len() != 0 {
		t.Fatalf("unsupported value: err %v, wrote %q", err, buf.String())
	}
	if err := EncodeJSON(failWriter{}, 1); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("write error lost: %v", err)
	}
	e := GetEncoder()
	defer e.Release()
	_ = e.Encode(1)
	if err := e.Encode(make(chan int)); err == nil || string(e.Bytes()) != "1" {
		t.Fatalf("failed Encode changed the buffer: %q", e.Bytes())
	}
	e.Reset()
	if e.Len() != 0 {
		t.Fatal("Reset kept bytes")
	}
}

func TestAllocatorStrategies(t *testing.T) {
	type row struct{ ID, N int }
	for _, s := range []Strategy{Heap, Slab, Pool} {
		a, err := NewAllocator[row](s, 4)
		if err != nil {
			t.Fatal(err)
		}
		if a.Strategy() != s {
			t.Fatal("Strategy")
		}
		seen := map[*row]bool{}
		for i := range 10 {
			r := a.New()
			if *r != (row{}) {
				t.Fatalf("%s: New returned non-zero %+v", s, *r)
			}
			if seen[r] {
				t.Fatalf("%s: New returned a live value twice", s)
			}
			seen[r] = true
			r.ID = i
		}
		for r := range seen {
			a.Free(r)
		}
		a.Reset()
		for range 10 {
			if r := a.New(); *r != (row{}) {
				t.Fatalf("%s: value after Reset/Free not zeroed: %+v", s, *r)
			}
		}
		a.Release()
	}
}

func TestSlabReusesMemory(t *testing.T) {
	a, _ := NewAllocator[int](Slab, 8)
	first := a.New()
	for range 20 {
		a.New()
	}
	a.Reset()
	if a.New() != first {
		t.Fatal("Reset did not reuse the first slab")
	}
	allocs := testing.AllocsPerRun(10, func() {
		a.Reset()
		for range 21 {
			a.New()
		}
	})
	if allocs != 0 {
		t.Fatalf("a warm slab allocator allocated %v times per batch", allocs)
	}
}

func TestAllocatorConfig(t *testing.T) {
	if _, err := NewAllocator[int](Strategy(9), 0); err == nil {
		t.Fatal("bad strategy accepted")
	}
	if _, err := NewAllocator[int](Slab, -1); err == nil {
		t.Fatal("negative slab size accepted")
	}
	if Heap.String() != "heap" || Slab.String() != "slab" || Pool.String() != "pool" {
		t.Fatal("Strategy.String")
	}
}
