package mempool_test

import (
	"bytes"
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
