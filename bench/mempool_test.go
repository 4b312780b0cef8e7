package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"

	"github.com/brisk-go/brisk/libs/perfcore/mempool"
)

type row struct {
	ID        int64
	Slug      string
	Title     string
	Favorited bool
	Count     int64
	Author    *string
	Tags      []string
}

var gcSample = []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}

func gcCPU() float64 {
	metrics.Read(gcSample)
	return gcSample[0].Value.Float64()
}

// measureGC reports GC CPU per op next to allocations.
func measureGC(b *testing.B, fn func()) {
	b.ReportAllocs()
	runtime.GC()
	g0 := gcCPU()
	b.ResetTimer()
	for range b.N {
		fn()
	}
	b.StopTimer()
	b.ReportMetric((gcCPU()-g0)*1e9/float64(b.N), "gc-cpu-ns/op")
}

var keep []*row

// BenchmarkAllocRows: a batch of 1000 rows referenced by pointer, as a
// batch find returns them, kept alive until the next batch.
func BenchmarkAllocRows(b *testing.B) {
	const n = 1000
	b.Run("new-per-row", func(b *testing.B) {
		measureGC(b, func() {
			keep = keep[:0]
			for i := range n {
				r := new(row)
				r.ID = int64(i)
				keep = append(keep, r)
			}
		})
	})
	b.Run("make-slice", func(b *testing.B) {
		measureGC(b, func() {
			rows := make([]row, n)
			keep = keep[:0]
			for i := range rows {
				rows[i].ID = int64(i)
				keep = append(keep, &rows[i])
			}
		})
	})
	for _, s := range []mempool.Strategy{mempool.Heap, mempool.Slab, mempool.Pool} {
		b.Run("allocator-"+s.String(), func(b *testing.B) {
			a, _ := mempool.NewAllocator[row](s, 256)
			measureGC(b, func() {
				for _, r := range keep {
					a.Free(r)
				}
				a.Reset()
				keep = keep[:0]
				for i := range n {
					r := a.New()
					r.ID = int64(i)
					keep = append(keep, r)
				}
			})
		})
	}
	b.Run("sync.Pool-per-row", func(b *testing.B) {
		p := sync.Pool{New: func() any { return new(row) }}
		measureGC(b, func() {
			for _, r := range keep {
				*r = row{}
				p.Put(r)
			}
			keep = keep[:0]
			for i := range n {
				r := p.Get().(*row)
				r.ID = int64(i)
				keep = append(keep, r)
			}
		})
	})
}

type article struct {
	Slug        string   `json:"slug"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Body        string   `json:"body"`
	TagList     []string `json:"tagList"`
	Favorited   bool     `json:"favorited"`
	Count       int      `json:"favoritesCount"`
}

func articles(n int) map[string]any {
	as := make([]article, n)
	for i := range as {
		as[i] = article{Slug: "how-to-train-your-dragon", Title: "How to train your dragon", Description: "Ever wonder how?", Body: "It takes a Jacobian", TagList: []string{"dragons", "training"}, Count: i}
	}
	return map[string]any{"articles": as, "articlesCount": n}
}

// BenchmarkJSONResponse: writing a JSON body the three common ways.
func BenchmarkJSONResponse(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"1-article", 1}, {"20-articles", 20}} {
		v := articles(size.n)
		b.Run(size.name+"/json.Marshal+Write", func(b *testing.B) {
			measureGC(b, func() {
				out, _ := json.Marshal(v)
				_, _ = io.Discard.Write(out)
			})
		})
		b.Run(size.name+"/json.NewEncoder", func(b *testing.B) {
			measureGC(b, func() { _ = json.NewEncoder(io.Discard).Encode(v) })
		})
		b.Run(size.name+"/mempool.EncodeJSON", func(b *testing.B) {
			measureGC(b, func() { _ = mempool.EncodeJSON(io.Discard, v) })
		})
	}
}

// BenchmarkBuffers: a scratch buffer of ~3 KiB per op.
func BenchmarkBuffers(b *testing.B) {
	payload := bytes.Repeat([]byte("x"), 3000)
	b.Run("new-buffer", func(b *testing.B) {
		measureGC(b, func() {
			var buf bytes.Buffer
			buf.Write(payload)
			_, _ = io.Discard.Write(buf.Bytes())
		})
	})
	b.Run("mempool.BufferPool", func(b *testing.B) {
		p := mempool.Buffers()
		measureGC(b, func() {
			buf := p.Get(len(payload))
			buf.Write(payload)
			_, _ = io.Discard.Write(buf.Bytes())
			p.Put(buf)
		})
	})
}
