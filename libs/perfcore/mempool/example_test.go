package mempool_test

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/brisk-go/brisk/libs/perfcore/mempool"
)

func ExampleObjectPool() {
	type scratch struct{ ids []int }
	p, _ := mempool.NewObjectPool(mempool.ObjectPoolConfig[*scratch]{
		New:     func() *scratch { return &scratch{ids: make([]int, 0, 16)} },
		Reset:   func(s *scratch) { s.ids = s.ids[:0] },
		Size:    func(s *scratch) int { return cap(s.ids) },
		MaxSize: 1024, // a scratch that grew past this is dropped, not kept
	})
	s := p.Get()
	s.ids = append(s.ids, 1, 2, 3)
	fmt.Println(len(s.ids), p.Put(s))
	// Output: 3 true
}

func ExampleNewObjectPool() {
	_, err := mempool.NewObjectPool(mempool.ObjectPoolConfig[*bytes.Buffer]{})
	fmt.Println(err)
	// Output: mempool: new object pool: New must not be nil
}

func ExampleBufferPool() {
	p, _ := mempool.NewBufferPool(512, 4096)
	b := p.Get(1000) // from the 4096 class
	b.WriteString("hello")
	fmt.Println(b.Cap() >= 1000, b.String())
	p.Put(b)
	// Output: true hello
}

func ExampleBuffers() {
	b := mempool.Buffers().Get(100)
	defer mempool.Buffers().Put(b)
	fmt.Println(b.Len())
	// Output: 0
}

func ExampleEncodeJSON() {
	_ = mempool.EncodeJSON(os.Stdout, map[string]int{"articles": 2})
	// Output: {"articles":2}
}

func ExampleAppendJSON() {
	b, _ := mempool.AppendJSON(nil, []string{"go", "json"})
	fmt.Println(string(b))
	// Output: ["go","json"]
}

func ExampleEncoder() {
	e := mempool.GetEncoder()
	defer e.Release()
	_ = e.Encode(struct {
		Title string `json:"title"`
	}{"Brisk"})
	fmt.Println(e.Len(), string(e.Bytes())) // Len for a Content-Length header
	// Output: 17 {"title":"Brisk"}
}

func ExampleAllocator() {
	type row struct{ ID int }
	a, _ := mempool.NewAllocator[row](mempool.Slab, 256)
	rows := make([]*row, 0, 3)
	for i := range 3 {
		r := a.New()
		r.ID = i + 1
		rows = append(rows, r)
	}
	fmt.Println(rows[0].ID, rows[2].ID, a.Strategy())
	a.Reset() // the batch is done; rows must not be used any more
	// Output: 1 3 slab
}

func ExampleStrategy() {
	fmt.Println(mempool.Heap, mempool.Slab, mempool.Pool)
	// Output: heap slab pool
}

func ExampleGetEncoder() {
	e := mempool.GetEncoder()
	defer e.Release() // back to the pool; e must not be used after this
	if err := e.Encode(map[string]bool{"ok": true}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(e.Bytes()))
	// Output: {"ok":true}
}

func ExampleEncoder_WriteTo() {
	e := mempool.GetEncoder()
	defer e.Release()
	_ = e.Encode([]int{1, 2, 3})
	n, err := e.WriteTo(os.Stdout) // one Write of e.Len() bytes
	fmt.Println()
	fmt.Println(n, err)
	// Output:
	// [1,2,3]
	// 7 <nil>
}

func ExampleEncoder_Reset() {
	e := mempool.GetEncoder()
	defer e.Release()
	_ = e.Encode("first")
	e.Reset() // reuse the same buffer for another document
	_ = e.Encode("second")
	fmt.Println(string(e.Bytes()))
	// Output: "second"
}

func ExampleNewBufferPool() {
	p, err := mempool.NewBufferPool(256, 1024)
	fmt.Println(p != nil, err)
	_, err = mempool.NewBufferPool(1024, 256)
	fmt.Println(err)
	// Output:
	// true <nil>
	// mempool: new buffer pool: classes must be positive and ascending, got [1024 256]
}

func ExampleBufferPool_Put() {
	p, _ := mempool.NewBufferPool(512, 4096)
	fmt.Println(p.Put(bytes.NewBuffer(make([]byte, 0, 600))))   // kept in the 512 class
	fmt.Println(p.Put(bytes.NewBuffer(make([]byte, 0, 100))))   // smaller than every class
	fmt.Println(p.Put(bytes.NewBuffer(make([]byte, 0, 1<<20)))) // too large: dropped
	// Output:
	// true
	// false
	// false
}

func ExampleObjectPool_Put() {
	p, _ := mempool.NewObjectPool(mempool.ObjectPoolConfig[*[]byte]{
		New:     func() *[]byte { b := make([]byte, 0, 64); return &b },
		Reset:   func(b *[]byte) { *b = (*b)[:0] },
		Size:    func(b *[]byte) int { return cap(*b) },
		MaxSize: 1024,
	})
	small := p.Get()
	big := p.Get()
	*big = append(*big, make([]byte, 4096)...) // grew past MaxSize
	fmt.Println(p.Put(small), p.Put(big))
	// Output: true false
}

func ExampleNewAllocator() {
	_, err := mempool.NewAllocator[int](mempool.Slab, -1)
	fmt.Println(err)
	a, _ := mempool.NewAllocator[int](mempool.Heap, 0)
	fmt.Println(a.Strategy())
	// Output:
	// mempool: new allocator: slabSize must be >= 0, got -1
	// heap
}

func ExampleAllocator_Free() {
	type node struct{ Val int }
	a, _ := mempool.NewAllocator[node](mempool.Pool, 0)
	n := a.New()
	n.Val = 7
	a.Free(n) // zeroed and pooled; n must not be used any more
	fmt.Println(a.New().Val)
	// Output: 0
}

func ExampleAllocator_Release() {
	a, _ := mempool.NewAllocator[[64]byte](mempool.Slab, 128)
	for range 1000 {
		_ = a.New()
	}
	a.Release() // drop the slabs for the GC; the allocator stays usable
	fmt.Println(a.New()[0])
	// Output: 0
}

func ExampleJSONPool() {
	p, _ := mempool.NewJSONPool(mempool.JSONPoolConfig{Name: "api", Size: 100, Slab: 1024})
	defer func() { _ = p.Stop(context.Background()) }()
	e := p.Get()
	_ = e.Encode(map[string]int{"articlesCount": 0})
	fmt.Println(e.Len(), string(e.Bytes()))
	e.Release() // kept: fewer than Size encoders are idle
	fmt.Println(p.Stats().Idle)
	// Output:
	// 19 {"articlesCount":0}
	// 1
}

func ExampleJSONPool_Sweep() {
	p, _ := mempool.NewJSONPool(mempool.JSONPoolConfig{Size: 100, Slab: 1024})
	p.Get().Release()
	p.Sweep()              // starts the first interval
	fmt.Println(p.Sweep()) // nothing took the encoder for a whole interval
	// Output: 1
}
