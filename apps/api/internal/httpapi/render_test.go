package httpapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/articles"
	"github.com/brisk-go/brisk/libs/perfcore/mempool"
)

// listingPage is a listing of n articles as the service returns it (no bodies, two tags).
func listingPage(n int) articles.Page {
	p := articles.Page{Count: 500}
	at := time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)
	for i := range n {
		p.Articles = append(p.Articles, conduit.ArticleView{
			Slug: fmt.Sprintf("how-to-train-your-dragon-%d", i), Title: fmt.Sprintf("How to train your dragon %d", i),
			Description: "Ever wonder how? A short description of the article that the listing shows.",
			TagList:     []string{"dragons", "training"}, CreatedAt: at, UpdatedAt: at, FavoritesCount: i,
			Author: conduit.ProfileView{Username: fmt.Sprintf("author%d", i%5), Bio: "I work at statefarm",
				Image: "https://api.realworld.io/images/smiley-cyrus.jpeg"},
		})
	}
	return p
}

// listingEngine serves the page at /plain (gin's c.JSON) and /pooled (the JSONPool).
func listingEngine(tb testing.TB, page articles.Page) *gin.Engine {
	tb.Helper()
	p, err := mempool.NewJSONPool(mempool.JSONPoolConfig{Name: "bench", Size: 64, Slab: 32 << 10})
	if err != nil {
		tb.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	plain, pooled := &handlers{}, &handlers{encoders: p}
	e.GET("/plain", func(c *gin.Context) { plain.writeArticles(c, page, nil) })
	e.GET("/pooled", func(c *gin.Context) { pooled.writeArticles(c, page, nil) })
	return e
}

// The pooled path writes the same body and Content-Type as gin's c.JSON, and a Content-Length.
func TestPooledJSONWritesWhatGinWrites(t *testing.T) {
	e := listingEngine(t, listingPage(20))
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w
	}
	plain, pooled := get("/plain"), get("/pooled")
	for range 2 { // again, from a reused encoder
		pooled = get("/pooled")
		if pooled.Body.String() != plain.Body.String() {
			t.Fatalf("pooled body\n%s\ndiffers from gin's\n%s", pooled.Body, plain.Body)
		}
	}
	if got, want := pooled.Header().Get("Content-Type"), plain.Header().Get("Content-Type"); got != want {
		t.Errorf("Content-Type %q, gin writes %q", got, want)
	}
	if got, want := pooled.Header().Get("Content-Length"), fmt.Sprint(plain.Body.Len()); got != want {
		t.Errorf("Content-Length %q, want %s", got, want)
	}
}

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark measures rendering.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkListingJSON renders a 20-article listing through gin with c.JSON (plain) and with
// the pooled encoders (pooled); gc-ns/op is the garbage collector's CPU per request, read from
// runtime/metrics. docs/benchmarks.md has the command and the figures.
func BenchmarkListingJSON(b *testing.B) {
	e := listingEngine(b, listingPage(20))
	for _, path := range []string{"/plain", "/pooled"} {
		b.Run(path[1:], func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			w := &discardWriter{h: http.Header{}}
			runtime.GC()
			gc := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
			metrics.Read(gc)
			before := gc[0].Value.Float64()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				e.ServeHTTP(w, req)
			}
			b.StopTimer()
			metrics.Read(gc)
			b.ReportMetric((gc[0].Value.Float64()-before)*1e9/float64(b.N), "gc-ns/op")
		})
	}
}
